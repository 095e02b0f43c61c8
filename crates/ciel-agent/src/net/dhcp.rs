//! One dnsmasq per network, inside the network's DHCP namespace: static leases only (each
//! local port's MAC gets its fixed IP and hostname), the subnet's gateway, DNS servers and
//! host routes, the MTU, and on subnets without a router a route to the metadata address
//! through the DHCP port (routed subnets reach metadata through their router). DHCP only: `--port=0` turns DNS off.
//!
//! dnsmasq daemonizes (VMs keep their leases across agent restarts); changed leases or
//! options reach it with SIGHUP, a changed set of subnets restarts it.

use super::metadata;
use anyhow::{bail, Context};
use ciel_proto::DhcpSpec;
use std::path::Path;

const LEASE: &str = "86400s";

/// Writes the files and (re)starts or reloads dnsmasq as needed.
pub async fn ensure(dir: &Path, netns: &str, dev: &str, mtu: u32, spec: &DhcpSpec) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (hosts, opts) = (dir.join("hosts"), dir.join("opts"));
    let mut args = vec![
        "--no-hosts".to_string(),
        "--no-resolv".into(),
        "--port=0".into(),
        "--bind-interfaces".into(),
        format!("--interface={dev}"),
        "--except-interface=lo".into(),
        format!("--pid-file={}", dir.join("dnsmasq.pid").display()),
        format!("--dhcp-hostsfile={}", hosts.display()),
        format!("--dhcp-optsfile={}", opts.display()),
        "--leasefile-ro".into(),
        "--dhcp-authoritative".into(),
        "--conf-file=/dev/null".into(),
        // It re-reads its files on SIGHUP, and they live in the agent's private state
        // directory: it keeps the agent's user, confined to the DHCP namespace.
        "--user=root".into(),
    ];
    let mut options = String::new();
    for (i, s) in spec.subnets.iter().enumerate() {
        let net: ipnet::Ipv4Net = s
            .cidr
            .parse()
            .with_context(|| format!("subnet {} has no IPv4 CIDR", s.id))?;
        let tag = format!("s{i}");
        args.push(format!(
            "--dhcp-range=set:{tag},{},static,{},{LEASE}",
            net.network(),
            net.netmask()
        ));
        options.push_str(&format!("tag:{tag},option:mtu,{mtu}\n"));
        options.push_str(&format!("tag:{tag},option:domain-name,openstacklocal\n"));
        // Classless routes replace the router option in clients, so the default route is
        // repeated among them.
        let mut routes = vec![];
        if !s.routed {
            routes.push(format!("{}/32,{}", metadata::ADDRESS, s.server_ip));
        }
        routes.extend(s.host_routes.iter().map(|(d, h)| format!("{d},{h}")));
        if let Some(gw) = &s.gateway_ip {
            options.push_str(&format!("tag:{tag},option:router,{gw}\n"));
            routes.push(format!("0.0.0.0/0,{gw}"));
        }
        if !routes.is_empty() {
            options.push_str(&format!(
                "tag:{tag},option:classless-static-route,{}\n",
                routes.join(",")
            ));
        }
        if !s.dns_nameservers.is_empty() {
            options.push_str(&format!(
                "tag:{tag},option:dns-server,{}\n",
                s.dns_nameservers.join(",")
            ));
        }
    }
    let leases: String = spec
        .hosts
        .iter()
        .map(|h| format!("{},{},{}\n", h.mac, h.ip, h.hostname))
        .collect();
    // dnsmasq keeps the lease of a host entry that is gone until it expires, and would not
    // give its address to the next port holding it: a removed entry means a restart (which
    // forgets leases: the lease file is read-only), an added one only a reload.
    let before = std::fs::read_to_string(&hosts).unwrap_or_default();
    let removed = before.lines().any(|l| !leases.lines().any(|n| n == l));
    let files_changed = replace_if_changed(&hosts, &leases)? | replace_if_changed(&opts, &options)?;
    let args_changed = replace_if_changed(&dir.join("args"), &args.join("\n"))? || removed;
    match running(dir) {
        Some(pid) if !args_changed => {
            if files_changed {
                signal(pid, libc::SIGHUP);
                tracing::debug!(%netns, "dnsmasq reloaded");
            }
            return Ok(());
        }
        Some(_) => stop(dir).await,
        None => {}
    }
    let out = tokio::process::Command::new("ip")
        .args(["netns", "exec", netns, "dnsmasq"])
        .args(&args)
        .output()
        .await
        .context("cannot run dnsmasq (apt-get install dnsmasq-base)")?;
    if !out.status.success() {
        bail!("dnsmasq failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    tracing::info!(%netns, "dnsmasq started");
    Ok(())
}

/// Stops the dnsmasq of `dir`, if it runs.
pub async fn stop(dir: &Path) {
    let Some(pid) = running(dir) else { return };
    signal(pid, libc::SIGTERM);
    for _ in 0..50 {
        if running(dir).is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    signal(pid, libc::SIGKILL);
}

/// The pid of the dnsmasq serving `dir` (checked against /proc: a stale pid file from before
/// a reboot does not count).
fn running(dir: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(dir.join("dnsmasq.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains(&dir.display().to_string())
        .then_some(pid)
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) has no memory effects; the pid was just checked to be our dnsmasq.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Writes `content` unless the file already holds it; tells whether it wrote.
fn replace_if_changed(path: &Path, content: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(content) {
        return Ok(false);
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)?;
    Ok(true)
}

//! One dnsmasq per network, inside the network's DHCP namespace: static leases only (each
//! local port's MAC gets its fixed IP and hostname), the subnet's gateway, DNS servers and
//! host routes, the MTU, and on subnets without a router a route to the metadata address
//! through the DHCP port (routed subnets reach metadata through their router). DHCP only: `--port=0` turns DNS off.
//!
//! dnsmasq daemonizes (VMs keep their leases across agent restarts); changed leases or
//! options reach it with SIGHUP, a changed set of subnets restarts it.
//!
//! Its hosts and options files are written only from parsed values (MACs, addresses, CIDRs)
//! printed back in canonical form, and hostnames checked against RFC 1123 label characters,
//! so no value can carry a newline, comma or option of its own: an entry that does not parse
//! is skipped (that host or route only), with a warning.

use super::kernel::Kernel;
use super::metadata;
use super::values;
use anyhow::{bail, Context};
use ciel_proto::{DhcpHost, DhcpSpec, DhcpSubnet};
use std::net::IpAddr;
use std::path::Path;

const LEASE: &str = "86400s";

/// Writes the files and (re)starts or reloads dnsmasq as needed.
pub async fn ensure(
    k: &dyn Kernel,
    dir: &Path,
    netns: &str,
    dev: &str,
    mtu: u32,
    spec: &DhcpSpec,
) -> anyhow::Result<()> {
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
        options.push_str(&subnet_options(&tag, mtu, s));
    }
    let leases: String = spec.hosts.iter().filter_map(host_line).collect();
    // dnsmasq keeps the lease of a host entry that is gone until it expires, and would not
    // give its address to the next port holding it: a removed entry means a restart (which
    // forgets leases: the lease file is read-only), an added one only a reload.
    let before = std::fs::read_to_string(&hosts).unwrap_or_default();
    let removed = before.lines().any(|l| !leases.lines().any(|n| n == l));
    let files_changed = replace_if_changed(&hosts, &leases)? | replace_if_changed(&opts, &options)?;
    let args_changed = replace_if_changed(&dir.join("args"), &args.join("\n"))? || removed;
    match k.dnsmasq_pid(dir) {
        Some(pid) if !args_changed => {
            if files_changed {
                k.signal(pid, libc::SIGHUP);
                tracing::debug!(%netns, "dnsmasq reloaded");
            }
            return Ok(());
        }
        Some(_) => stop(k, dir).await,
        None => {}
    }
    k.start_dnsmasq(netns, &args).await?;
    tracing::info!(%netns, "dnsmasq started");
    Ok(())
}

/// Starts dnsmasq inside `netns` (it daemonizes).
pub async fn run_dnsmasq(netns: &str, args: &[String]) -> anyhow::Result<()> {
    let out = tokio::process::Command::new("ip")
        .args(["netns", "exec", netns, "dnsmasq"])
        .args(args)
        .output()
        .await
        .context("cannot run dnsmasq (apt-get install dnsmasq-base)")?;
    if !out.status.success() {
        bail!("dnsmasq failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// The options of one subnet (tagged `tag`); values that do not parse are left out.
fn subnet_options(tag: &str, mtu: u32, s: &DhcpSubnet) -> String {
    let v4 = |what: &str, a: &str| match values::addr(a) {
        Ok(IpAddr::V4(a)) => Some(a),
        Ok(IpAddr::V6(_)) => {
            tracing::warn!(subnet = %s.id, "{what} {a} is not IPv4; left out of DHCP");
            None
        }
        Err(e) => {
            tracing::warn!(subnet = %s.id, error = %e, "{what} left out of DHCP");
            None
        }
    };
    let mut o = String::new();
    o.push_str(&format!("tag:{tag},option:mtu,{mtu}\n"));
    o.push_str(&format!("tag:{tag},option:domain-name,openstacklocal\n"));
    // Classless routes replace the router option in clients, so the default route is
    // repeated among them.
    let mut routes: Vec<String> = vec![];
    if !s.routed {
        if let Some(server) = v4("DHCP server address", &s.server_ip) {
            routes.push(format!("{}/32,{server}", metadata::ADDRESS));
        }
    }
    for (dest, hop) in &s.host_routes {
        let dest = match values::net(dest) {
            Ok(ipnet::IpNet::V4(d)) => d,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(subnet = %s.id, error = %e, "host route left out of DHCP");
                continue;
            }
        };
        if let Some(hop) = v4("host route next hop", hop) {
            routes.push(format!("{dest},{hop}"));
        }
    }
    if let Some(gw) = s.gateway_ip.as_deref().and_then(|g| v4("gateway", g)) {
        o.push_str(&format!("tag:{tag},option:router,{gw}\n"));
        routes.push(format!("0.0.0.0/0,{gw}"));
    }
    if !routes.is_empty() {
        o.push_str(&format!(
            "tag:{tag},option:classless-static-route,{}\n",
            routes.join(",")
        ));
    }
    let dns: Vec<String> = s
        .dns_nameservers
        .iter()
        .filter_map(|d| v4("DNS server", d))
        .map(|a| a.to_string())
        .collect();
    if !dns.is_empty() {
        o.push_str(&format!("tag:{tag},option:dns-server,{}\n", dns.join(",")));
    }
    o
}

/// The static lease line of a host (`MAC,IP,hostname`), or None when its MAC or address
/// does not parse. A hostname that is not an RFC 1123 label gives way to one made of the
/// address (`host-10-0-0-5`, as Neutron names ports without a DNS name).
fn host_line(h: &DhcpHost) -> Option<String> {
    let (mac, ip) = match (values::mac(&h.mac), values::addr(&h.ip)) {
        (Ok(m), Ok(a)) => (m, a),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "DHCP host entry skipped");
            return None;
        }
    };
    let first = h.hostname.split('.').next().unwrap_or_default();
    let name = if values::is_host_label(&h.hostname) {
        h.hostname.clone()
    } else if h.hostname.len() <= 253 && h.hostname.split('.').all(values::is_host_label) {
        first.to_string()
    } else {
        if !h.hostname.is_empty() {
            tracing::warn!(hostname = %h.hostname.escape_debug(), "DHCP hostname replaced: not a valid host name");
        }
        format!("host-{}", ip.to_string().replace(['.', ':'], "-"))
    };
    Some(match ip {
        IpAddr::V4(a) => format!("{mac},{a},{name}\n"),
        IpAddr::V6(a) => format!("{mac},[{a}],{name}\n"),
    })
}

/// Stops the dnsmasq of `dir`, if it runs.
pub async fn stop(k: &dyn Kernel, dir: &Path) {
    let Some(pid) = k.dnsmasq_pid(dir) else { return };
    k.signal(pid, libc::SIGTERM);
    for _ in 0..50 {
        if k.dnsmasq_pid(dir).is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    k.signal(pid, libc::SIGKILL);
}

/// The pid of the dnsmasq serving `dir` (checked against /proc: a stale pid file from before
/// a reboot does not count).
pub(crate) fn running(dir: &Path) -> Option<i32> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn host(mac: &str, ip: &str, name: &str) -> DhcpHost {
        DhcpHost {
            mac: mac.into(),
            ip: ip.into(),
            hostname: name.into(),
        }
    }

    #[test]
    fn host_lines_from_parsed_values() {
        assert_eq!(
            host_line(&host("FA:16:3E:00:00:01", "10.0.0.5", "vm-1")).unwrap(),
            "fa:16:3e:00:00:01,10.0.0.5,vm-1\n"
        );
        assert_eq!(
            host_line(&host("fa:16:3e:00:00:01", "10.0.0.5", "vm1.example.org")).unwrap(),
            "fa:16:3e:00:00:01,10.0.0.5,vm1\n"
        );
        for bad in ["vm\ndhcp-option=3,6.6.6.6", "a,b", "", "x y", &"a".repeat(64)] {
            assert_eq!(
                host_line(&host("fa:16:3e:00:00:01", "10.0.0.5", bad)).unwrap(),
                "fa:16:3e:00:00:01,10.0.0.5,host-10-0-0-5\n",
                "{bad:?}"
            );
        }
        assert_eq!(host_line(&host("fa:16:3e:00:00:01", "10.0.0.5\n", "vm")), None);
        assert_eq!(host_line(&host("zz", "10.0.0.5", "vm")), None);
        assert_eq!(host_line(&host("fa:16:3e:00:00:01,x", "10.0.0.5", "vm")), None);
    }

    #[test]
    fn options_leave_out_what_does_not_parse() {
        let s = DhcpSubnet {
            id: "s".into(),
            cidr: "10.0.0.0/24".into(),
            server_ip: "10.0.0.2".into(),
            gateway_ip: Some("10.0.0.1".into()),
            dns_nameservers: vec![
                "8.8.8.8".into(),
                "1.1.1.1\ndhcp-option=6,6.6.6.6".into(),
                "2001:db8::1".into(),
            ],
            host_routes: vec![
                ("192.168.0.0/16".into(), "10.0.0.254".into()),
                ("bad".into(), "10.0.0.254".into()),
                ("172.16.0.0/12".into(), "10.0.0.254,6.6.6.6".into()),
            ],
            routed: false,
        };
        assert_eq!(
            subnet_options("s0", 1450, &s),
            "tag:s0,option:mtu,1450\n\
             tag:s0,option:domain-name,openstacklocal\n\
             tag:s0,option:router,10.0.0.1\n\
             tag:s0,option:classless-static-route,169.254.169.254/32,10.0.0.2,192.168.0.0/16,10.0.0.254,0.0.0.0/0,10.0.0.1\n\
             tag:s0,option:dns-server,8.8.8.8\n"
        );
    }
}

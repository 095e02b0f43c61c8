//! Routers as network namespaces (`ciel-r-<router id>`): a veth leg into the bridge of each
//! attached network carrying the router port's MAC and addresses (`qr-…` inside), a leg into
//! the external network's bridge (`qg-…`) with the router's external address and its
//! floating IPs, forwarding on, the default route via the external gateway plus the router's
//! extra routes, and in nftables SNAT to the external address and 1:1 NAT for floating IPs.
//! Like the rest of the network plane, what is right is left alone and what is stale goes.

use super::ip::{self, ip, Link};
use ciel_proto::{HostConfig, NetworkSpec, RouterPort, RouterSpec};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

pub const NETNS: &str = "ciel-r-";
/// Outer ends of router legs (in the network's bridge): interfaces and gateways.
pub const LEG: &str = "crq";
pub const GATEWAY_LEG: &str = "crg";

fn hex(port_id: &str) -> String {
    port_id.chars().filter(|c| *c != '-').take(11).collect()
}

/// Outer and inner device names of a router port.
fn leg_names(p: &RouterPort, gateway: bool) -> (String, String) {
    let h = hex(&p.port_id);
    if gateway {
        (format!("{GATEWAY_LEG}{h}"), format!("qg-{h}"))
    } else {
        (format!("{LEG}{h}"), format!("qr-{h}"))
    }
}

/// Brings the host's routers to `cfg.routers`; returns the outer legs it wants (the caller
/// removes other stale devices) and removes stale router namespaces itself.
pub async fn reconcile(cfg: &HostConfig, links: &[Link], state_dir: &Path) -> HashSet<String> {
    let mut wanted = HashSet::new();
    for r in &cfg.routers {
        wanted.extend(r.legs().map(|(p, gw)| leg_names(p, gw).0));
        if let Err(e) = ensure(r, cfg, links, state_dir).await {
            tracing::warn!(router = %r.id, error = %format!("{e:#}"), "router not ready");
        }
    }
    let want_ns: HashSet<String> = cfg.routers.iter().map(|r| format!("{NETNS}{}", r.id)).collect();
    for ns in ip::namespaces().await.unwrap_or_default() {
        if ns.starts_with(NETNS) && !want_ns.contains(&ns) {
            match ip(&["netns", "del", &ns]).await {
                Ok(_) => tracing::info!(netns = %ns, "stale router removed"),
                Err(e) => tracing::warn!(netns = %ns, error = %e, "cannot remove a stale router"),
            }
            std::fs::remove_file(state_dir.join(format!("{ns}.nft"))).ok();
        }
    }
    wanted
}

async fn ensure(r: &RouterSpec, cfg: &HostConfig, links: &[Link], state_dir: &Path) -> anyhow::Result<()> {
    let ns = format!("{NETNS}{}", r.id);
    if !ip::namespaces().await?.contains(&ns) {
        ip(&["netns", "add", &ns]).await?;
        ip(&["-n", &ns, "link", "set", "lo", "up"]).await?;
        tracing::info!(router = %r.id, "router namespace created");
    }
    let forward = "f=/proc/sys/net/ipv4/ip_forward; [ \"$(cat $f)\" = 1 ] || echo 1 > $f";
    ip(&["netns", "exec", &ns, "sh", "-c", forward]).await?;
    let inside = ip::links(Some(&ns)).await?;
    let mut wanted_inner = HashSet::new();
    for (p, gw) in r.legs() {
        let Some(net) = cfg.networks.iter().find(|n| n.id == p.network_id) else {
            continue;
        };
        let (outer, inner) = leg_names(p, gw);
        wanted_inner.insert(inner.clone());
        ensure_leg(&ns, net, p, &outer, &inner, links, &inside).await?;
        if !gw {
            super::l2pop::sync_neighbours(Some(&ns), &inner, &known_ports(cfg, p), true).await?;
        }
    }
    for l in inside
        .iter()
        .filter(|l| l.ifname.starts_with("qr-") || l.ifname.starts_with("qg-"))
    {
        if !wanted_inner.contains(&l.ifname) {
            ip(&["-n", &ns, "link", "del", &l.ifname]).await.ok();
        }
    }
    // The metadata address, answered by the router's own listener: VMs on its subnets
    // send there through their default gateway.
    let metadata = if r.interfaces.is_empty() {
        vec![]
    } else {
        vec![format!("{}/32", super::metadata::ADDRESS)]
    };
    ip::sync_addresses(&ns, "lo", &metadata, |a| a.ends_with("/32")).await?;
    ensure_routes(&ns, r).await?;
    ensure_nat(&ns, r, state_dir).await
}

/// A leg: the veth pair, the outer end in the network's bridge, the inner end with the
/// port's MAC, MTU and addresses.
async fn ensure_leg(
    ns: &str,
    net: &NetworkSpec,
    p: &RouterPort,
    outer: &str,
    inner: &str,
    links: &[Link],
    inside: &[Link],
) -> anyhow::Result<()> {
    let bridge = super::bridge_name(net);
    let mtu = net.mtu.to_string();
    if !links.iter().any(|l| l.ifname == outer) {
        ip(&["-n", ns, "link", "del", inner]).await.ok();
        ip(&["link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns]).await?;
    }
    let o = links.iter().find(|l| l.ifname == outer);
    if o.is_none_or(|l| l.master.as_deref() != Some(bridge.as_str()) || !l.is_up() || l.mtu != net.mtu) {
        ip(&["link", "set", outer, "master", &bridge, "mtu", &mtu, "up"]).await?;
    }
    let i = inside.iter().find(|l| l.ifname == inner);
    if i.is_none_or(|l| l.address.as_deref() != Some(p.mac.as_str()) || !l.is_up() || l.mtu != net.mtu) {
        ip(&["-n", ns, "link", "set", inner, "address", &p.mac, "mtu", &mtu, "up"]).await?;
    }
    // The gateway leg's /32s are its floating IPs, kept by `ensure_routes`.
    ip::sync_addresses(ns, inner, &p.addresses, |a| !a.ends_with("/32")).await
}

/// The neighbours of an interface leg: every port of its network this host knows (its own
/// VMs' NICs, and the other hosts' ports from l2 population) as permanent entries. A new VM
/// that takes a deleted one's address is then reached at its own MAC at once, not after the
/// router's cached entry for the old MAC goes stale.
fn known_ports(cfg: &HostConfig, leg: &RouterPort) -> BTreeSet<(String, String)> {
    let own: Vec<&str> = leg.addresses.iter().map(|a| a.split('/').next().unwrap_or(a)).collect();
    let local = cfg
        .vms
        .iter()
        .flat_map(|vm| vm.nics.iter())
        .filter(|n| n.network_id == leg.network_id)
        .flat_map(|n| n.fixed_ips.iter().map(move |ip| (ip.clone(), n.mac.to_lowercase())));
    let remote = cfg
        .networks
        .iter()
        .filter(|n| n.id == leg.network_id)
        .flat_map(|n| n.remote_ports.iter())
        .flat_map(|p| p.ips.iter().map(move |ip| (ip.clone(), p.mac.to_lowercase())));
    local
        .chain(remote)
        .filter(|(ip, _)| !own.contains(&ip.as_str()))
        .collect()
}

/// The default route via the external gateway, the router's extra routes, and the
/// floating IPs as /32 addresses of the gateway leg (so the router answers ARP for them).
async fn ensure_routes(ns: &str, r: &RouterSpec) -> anyhow::Result<()> {
    if let Some(g) = &r.gateway {
        let (_, qg) = leg_names(&g.port, true);
        let want: Vec<String> = g.floating_ips.iter().map(|f| format!("{}/32", f.floating_ip)).collect();
        ip::sync_addresses(ns, &qg, &want, |a| a.ends_with("/32")).await?;
        if let Some(gw) = &g.gateway_ip {
            ip(&["-n", ns, "route", "replace", "default", "via", gw, "dev", &qg]).await?;
        }
    }
    for (dest, via) in &r.routes {
        ip(&["-n", ns, "route", "replace", dest, "via", via]).await?;
    }
    Ok(())
}

/// SNAT and floating IPs in the router's own nftables, replaced atomically when changed.
async fn ensure_nat(ns: &str, r: &RouterSpec, state_dir: &Path) -> anyhow::Result<()> {
    let mut script = String::from("table ip ciel_nat {\n");
    let mut pre = String::new();
    let mut post = String::new();
    if let Some(g) = &r.gateway {
        let (_, qg) = leg_names(&g.port, true);
        for f in &g.floating_ips {
            pre.push_str(&format!("    ip daddr {} dnat to {}\n", f.floating_ip, f.fixed_ip));
            post.push_str(&format!(
                "    oifname \"{qg}\" ip saddr {} snat to {}\n",
                f.fixed_ip, f.floating_ip
            ));
        }
        let external = g
            .port
            .addresses
            .iter()
            .find(|a| !a.contains(':'))
            .and_then(|a| a.split('/').next());
        if let (true, Some(ext)) = (g.snat, external) {
            post.push_str(&format!("    oifname \"{qg}\" snat to {ext}\n"));
        }
    }
    script.push_str(&format!(
        "  chain pre {{ type nat hook prerouting priority -100; policy accept;\n{pre}  }}\n"
    ));
    script.push_str(&format!(
        "  chain post {{ type nat hook postrouting priority 100; policy accept;\n{post}  }}\n}}\n"
    ));
    let applied = state_dir.join(format!("{ns}.nft"));
    let exists = super::firewall::nft(Some(ns), &["list", "table", "ip", "ciel_nat"], None)
        .await
        .is_ok();
    if exists && std::fs::read_to_string(&applied).ok().as_deref() == Some(script.as_str()) {
        return Ok(());
    }
    let tx = format!("table ip ciel_nat {{}}\ndelete table ip ciel_nat\n{script}");
    super::firewall::nft(Some(ns), &["-f", "-"], Some(&tx)).await?;
    std::fs::write(&applied, &script)?;
    tracing::info!(router = %r.id, "router NAT applied");
    Ok(())
}

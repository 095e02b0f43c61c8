//! Routers as network namespaces (`ciel-r-<router id>`): a veth leg into the bridge of each
//! attached network carrying the router port's MAC and addresses (`qr-…` inside), a leg into
//! the external network's bridge (`qg-…`) with the router's external address and its
//! floating IPs, forwarding on, the default route via the external gateway plus the router's
//! extra routes, and in nftables SNAT to the external address and 1:1 NAT for floating IPs.
//! Like the rest of the network plane, what is right is left alone and what is stale goes
//! (only namespaces and legs this agent recorded as its own).
//!
//! Addresses, routes and NAT entries are parsed before they reach `ip` or nftables (whose
//! ruleset is built as JSON): a bad one is skipped with a warning, never a broken table.

use super::firewall::transaction;
use super::ip::{self, ip, Link};
use super::kernel::Kernel;
use super::owned::{Kind, Owned};
use super::values;
use ciel_proto::{HostConfig, NetworkSpec, RouterPort, RouterSpec};
use ipnet::IpNet;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
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
/// removes other stale devices) and removes the stale router namespaces it made itself.
pub async fn reconcile(
    k: &dyn Kernel,
    cfg: &HostConfig,
    links: &[Link],
    state_dir: &Path,
    owned: &Owned,
) -> HashSet<String> {
    let mut wanted = HashSet::new();
    for r in &cfg.routers {
        if !values::is_id(&r.id) {
            tracing::warn!(router = %r.id, "router id cannot name a namespace; router not made");
            continue;
        }
        wanted.extend(
            r.legs()
                .map(|(p, gw)| leg_names(p, gw).0)
                .filter(|l| values::is_ifname(l)),
        );
        if let Err(e) = ensure(k, r, cfg, links, state_dir, owned).await {
            tracing::warn!(router = %r.id, error = %format!("{e:#}"), "router not ready");
        }
    }
    let want_ns: HashSet<String> = cfg.routers.iter().map(|r| format!("{NETNS}{}", r.id)).collect();
    let present: HashSet<String> = match ip::namespaces(k).await {
        Ok(n) => n.into_iter().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list namespaces; stale routers stay");
            return wanted;
        }
    };
    for ns in owned.list(Kind::Namespace) {
        if !ns.starts_with(NETNS) || want_ns.contains(&ns) {
            continue;
        }
        if present.contains(&ns) {
            match ip(k, &["netns", "del", &ns]).await {
                Ok(_) => tracing::info!(netns = %ns, "stale router removed"),
                Err(e) => {
                    tracing::warn!(netns = %ns, error = %e, "cannot remove a stale router");
                    continue;
                }
            }
        }
        owned.forget(Kind::Namespace, &ns);
        std::fs::remove_file(nat_state(state_dir, &ns)).ok();
        std::fs::remove_file(state_dir.join(format!("{ns}.nft"))).ok();
    }
    wanted
}

/// Where the last applied NAT of router namespace `ns` is kept.
fn nat_state(state_dir: &Path, ns: &str) -> std::path::PathBuf {
    state_dir.join(format!("{ns}.nat.json"))
}

async fn ensure(
    k: &dyn Kernel,
    r: &RouterSpec,
    cfg: &HostConfig,
    links: &[Link],
    state_dir: &Path,
    owned: &Owned,
) -> anyhow::Result<()> {
    let ns = format!("{NETNS}{}", r.id);
    owned.record(Kind::Namespace, &ns)?;
    if !ip::namespaces(k).await?.contains(&ns) {
        ip(k, &["netns", "add", &ns]).await?;
        ip(k, &["-n", &ns, "link", "set", "lo", "up"]).await?;
        tracing::info!(router = %r.id, "router namespace created");
    }
    let forward = "f=/proc/sys/net/ipv4/ip_forward; [ \"$(cat $f)\" = 1 ] || echo 1 > $f";
    ip(k, &["netns", "exec", &ns, "sh", "-c", forward]).await?;
    let inside = ip::links(k, Some(&ns)).await?;
    let mut wanted_inner = HashSet::new();
    for (p, gw) in r.legs() {
        let Some(net) = cfg.networks.iter().find(|n| n.id == p.network_id) else {
            continue;
        };
        let (outer, inner) = leg_names(p, gw);
        if !values::is_ifname(&outer) {
            tracing::warn!(router = %r.id, port = %p.port_id, "port id gives no device name; leg not made");
            continue;
        }
        wanted_inner.insert(inner.clone());
        owned.record(Kind::Link, &outer)?;
        ensure_leg(k, &ns, net, p, (&outer, &inner), links, &inside).await?;
        if !gw {
            super::l2pop::sync_neighbours(k, Some(&ns), &inner, &known_ports(cfg, p), true).await?;
        }
    }
    for l in inside
        .iter()
        .filter(|l| l.ifname.starts_with("qr-") || l.ifname.starts_with("qg-"))
    {
        if !wanted_inner.contains(&l.ifname) {
            ip(k, &["-n", &ns, "link", "del", &l.ifname]).await.ok();
        }
    }
    // The metadata address, answered by the router's own listener: VMs on its subnets
    // send there through their default gateway.
    let metadata = if r.interfaces.is_empty() {
        vec![]
    } else {
        vec![format!("{}/32", super::metadata::ADDRESS)]
    };
    ip::sync_addresses(k, &ns, "lo", &metadata, |a| a.ends_with("/32")).await?;
    ensure_routes(k, &ns, r).await?;
    ensure_nat(k, &ns, r, state_dir).await
}

/// A leg: the veth pair (outer and inner end), the outer end in the network's bridge, the
/// inner end with the port's MAC, MTU and addresses.
async fn ensure_leg(
    k: &dyn Kernel,
    ns: &str,
    net: &NetworkSpec,
    p: &RouterPort,
    (outer, inner): (&str, &str),
    links: &[Link],
    inside: &[Link],
) -> anyhow::Result<()> {
    let bridge = super::bridge_name(net);
    let mtu = net.mtu.to_string();
    let mac = values::mac(&p.mac).map_err(anyhow::Error::msg)?.to_string();
    if !links.iter().any(|l| l.ifname == outer) {
        ip(k, &["-n", ns, "link", "del", inner]).await.ok();
        ip(
            k,
            &["link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns],
        )
        .await?;
    }
    let o = links.iter().find(|l| l.ifname == outer);
    if o.is_none_or(|l| l.master.as_deref() != Some(bridge.as_str()) || !l.is_up() || l.mtu != net.mtu) {
        ip(k, &["link", "set", outer, "master", &bridge, "mtu", &mtu, "up"]).await?;
    }
    let i = inside.iter().find(|l| l.ifname == inner);
    if i.is_none_or(|l| l.address.as_deref() != Some(mac.as_str()) || !l.is_up() || l.mtu != net.mtu) {
        ip(k, &["-n", ns, "link", "set", inner, "address", &mac, "mtu", &mtu, "up"]).await?;
    }
    // The gateway leg's /32s are its floating IPs, kept by `ensure_routes`.
    ip::sync_addresses(k, ns, inner, &leg_addresses(p), |a| !a.ends_with("/32")).await
}

/// A leg's addresses with their prefix lengths; bad ones are skipped.
fn leg_addresses(p: &RouterPort) -> Vec<String> {
    p.addresses
        .iter()
        .filter_map(|a| match values::interface_net(a) {
            Ok(n) => Some(n.to_string()),
            Err(e) => {
                tracing::warn!(port = %p.port_id, error = %e, "router port address skipped");
                None
            }
        })
        .collect()
}

/// The neighbours of an interface leg: every port of its network this host knows (its own
/// VMs' NICs, and the other hosts' ports from l2 population) as permanent entries. A new VM
/// that takes a deleted one's address is then reached at its own MAC at once, not after the
/// router's cached entry for the old MAC goes stale.
pub(super) fn known_ports(cfg: &HostConfig, leg: &RouterPort) -> BTreeSet<(String, String)> {
    let own: Vec<IpAddr> = leg
        .addresses
        .iter()
        .filter_map(|a| values::interface_net(a).ok().map(|n| n.addr()))
        .collect();
    let local = cfg
        .vms
        .iter()
        .flat_map(|vm| vm.nics.iter())
        .filter(|n| n.network_id == leg.network_id)
        .map(|n| (&n.mac, &n.fixed_ips));
    let remote = cfg
        .networks
        .iter()
        .filter(|n| n.id == leg.network_id)
        .flat_map(|n| n.remote_ports.iter())
        .map(|p| (&p.mac, &p.ips));
    local
        .chain(remote)
        .filter_map(|(mac, ips)| Some((values::mac(mac).ok()?, ips)))
        .flat_map(|(mac, ips)| ips.iter().filter_map(move |a| Some((values::addr(a).ok()?, mac))))
        .filter(|(a, _)| !own.contains(a))
        .map(|(a, mac)| (a.to_string(), mac.to_string()))
        .collect()
}

/// The default route via the external gateway, the router's extra routes, and the
/// floating IPs as /32 addresses of the gateway leg (so the router answers ARP for them).
/// A value that does not parse is skipped with a warning.
async fn ensure_routes(k: &dyn Kernel, ns: &str, r: &RouterSpec) -> anyhow::Result<()> {
    if let Some(g) = &r.gateway {
        let (_, qg) = leg_names(&g.port, true);
        let want: Vec<String> = floating(r)
            .into_iter()
            .map(|(f, _)| format!("{f}/32"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        ip::sync_addresses(k, ns, &qg, &want, |a| a.ends_with("/32")).await?;
        match g.gateway_ip.as_deref().map(values::addr) {
            Some(Ok(gw)) => {
                ip(
                    k,
                    &[
                        "-n",
                        ns,
                        "route",
                        "replace",
                        "default",
                        "via",
                        &gw.to_string(),
                        "dev",
                        &qg,
                    ],
                )
                .await?;
            }
            Some(Err(e)) => tracing::warn!(router = %r.id, error = %e, "external gateway skipped"),
            None => {}
        }
    }
    for (dest, via) in routes(r) {
        ip(
            k,
            &["-n", ns, "route", "replace", &dest.to_string(), "via", &via.to_string()],
        )
        .await?;
    }
    Ok(())
}

/// The router's extra routes that parse (`(destination, next hop)`).
fn routes(r: &RouterSpec) -> Vec<(IpNet, IpAddr)> {
    r.routes
        .iter()
        .filter_map(|(dest, via)| match (values::net(dest), values::addr(via)) {
            (Ok(d), Ok(v)) if d.addr().is_ipv4() == v.is_ipv4() => Some((d, v)),
            (Ok(_), Ok(_)) => {
                tracing::warn!(router = %r.id, %dest, %via, "route with a next hop of another family skipped");
                None
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(router = %r.id, error = %e, "route skipped");
                None
            }
        })
        .collect()
}

/// The router's floating IPs that parse, as `(floating, fixed)` IPv4 addresses.
fn floating(r: &RouterSpec) -> Vec<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
    let Some(g) = &r.gateway else { return vec![] };
    g.floating_ips
        .iter()
        .filter_map(|f| match (values::addr(&f.floating_ip), values::addr(&f.fixed_ip)) {
            (Ok(IpAddr::V4(a)), Ok(IpAddr::V4(b))) => Some((a, b)),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(router = %r.id, error = %e, "floating IP skipped");
                None
            }
            _ => {
                tracing::warn!(router = %r.id, floating = %f.floating_ip, "floating IP not IPv4; skipped");
                None
            }
        })
        .collect()
}

/// The body of the router's `ip ciel_nat` table: 1:1 NAT for floating IPs, SNAT of the rest
/// leaving through the gateway leg to the router's external IPv4 address.
fn nat_table(r: &RouterSpec) -> Vec<Value> {
    let (f, t) = ("ip", "ciel_nat");
    let mut c = vec![
        json!({"add": {"table": {"family": f, "name": t}}}),
        json!({"add": {"chain": {"family": f, "table": t, "name": "pre", "type": "nat",
            "hook": "prerouting", "prio": -100, "policy": "accept"}}}),
        json!({"add": {"chain": {"family": f, "table": t, "name": "post", "type": "nat",
            "hook": "postrouting", "prio": 100, "policy": "accept"}}}),
    ];
    let rule = |chain: &str, expr: Vec<Value>| json!({"add": {"rule": {"family": f, "table": t, "chain": chain, "expr": expr}}});
    let is = |left: Value, right: Value| json!({"match": {"op": "==", "left": left, "right": right}});
    let ip_field = |field: &str| json!({"payload": {"protocol": "ip", "field": field}});
    if let Some(g) = &r.gateway {
        let (_, qg) = leg_names(&g.port, true);
        let oif = || is(json!({"meta": {"key": "oifname"}}), json!(qg));
        for (float, fixed) in floating(r) {
            c.push(rule(
                "pre",
                vec![
                    is(ip_field("daddr"), json!(float.to_string())),
                    json!({"dnat": {"addr": fixed.to_string()}}),
                ],
            ));
            c.push(rule(
                "post",
                vec![
                    oif(),
                    is(ip_field("saddr"), json!(fixed.to_string())),
                    json!({"snat": {"addr": float.to_string()}}),
                ],
            ));
        }
        let external = g
            .port
            .addresses
            .iter()
            .filter_map(|a| values::interface_net(a).ok())
            .find_map(|n| match n.addr() {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            });
        if let (true, Some(ext)) = (g.snat, external) {
            c.push(rule("post", vec![oif(), json!({"snat": {"addr": ext.to_string()}})]));
        }
    }
    c
}

/// SNAT and floating IPs in the router's own nftables, replaced atomically when changed.
async fn ensure_nat(k: &dyn Kernel, ns: &str, r: &RouterSpec, state_dir: &Path) -> anyhow::Result<()> {
    let tx = transaction(&[("ip", "ciel_nat")], nat_table(r)).to_string();
    let applied = nat_state(state_dir, ns);
    let exists = k
        .nft(Some(ns), &["list", "table", "ip", "ciel_nat"], None)
        .await
        .is_ok();
    if exists && std::fs::read_to_string(&applied).ok().as_deref() == Some(tx.as_str()) {
        return Ok(());
    }
    k.nft(Some(ns), &["-j", "-f", "-"], Some(&tx)).await?;
    std::fs::write(&applied, &tx)?;
    std::fs::remove_file(state_dir.join(format!("{ns}.nft"))).ok();
    tracing::info!(router = %r.id, "router NAT applied");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciel_proto::{FloatingNat, RouterGateway};

    fn router(floating: &[(&str, &str)], routes: &[(&str, &str)]) -> RouterSpec {
        RouterSpec {
            id: "r1".into(),
            interfaces: vec![],
            gateway: Some(RouterGateway {
                port: RouterPort {
                    port_id: "0123456789abcdef".into(),
                    network_id: "ext".into(),
                    mac: "fa:16:3e:00:00:01".into(),
                    addresses: vec!["2001:db8::9/64".into(), "172.24.4.9/24".into()],
                },
                gateway_ip: Some("172.24.4.1".into()),
                snat: true,
                floating_ips: floating
                    .iter()
                    .map(|(f, x)| FloatingNat {
                        floating_ip: f.to_string(),
                        fixed_ip: x.to_string(),
                    })
                    .collect(),
            }),
            routes: routes.iter().map(|(d, v)| (d.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn nat_from_parsed_addresses_only() {
        let r = router(
            &[
                ("172.24.4.10", "10.0.0.5"),
                ("not-an-ip", "10.0.0.6"),
                ("172.24.4.11", "10.0.0.7 } flush ruleset"),
                ("2001:db8::10", "10.0.0.8"),
            ],
            &[],
        );
        let body = nat_table(&r);
        let rules: Vec<&Value> = body.iter().filter_map(|c| c["add"].get("rule")).collect();
        // dnat + snat for the one good floating IP, then the router's SNAT.
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0]["chain"], "pre");
        assert_eq!(
            rules[0]["expr"],
            json!([
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "172.24.4.10"}},
                {"dnat": {"addr": "10.0.0.5"}}
            ])
        );
        assert_eq!(rules[1]["expr"][0]["match"]["right"], json!("qg-0123456789a"));
        assert_eq!(rules[2]["expr"][1], json!({"snat": {"addr": "172.24.4.9"}}));
        assert!(!json!(body).to_string().contains("flush"));
    }

    #[test]
    fn routes_are_parsed_and_bad_ones_skipped() {
        let r = router(
            &[],
            &[
                ("10.9.0.0/16", "10.0.0.254"),
                ("10.8.0.1/16", "10.0.0.254"),
                ("not-a-cidr", "10.0.0.254"),
                ("10.7.0.0/16", "10.0.0.254 dev lo"),
                ("2001:db8:1::/48", "10.0.0.254"),
            ],
        );
        let got: Vec<String> = routes(&r).iter().map(|(d, v)| format!("{d} via {v}")).collect();
        assert_eq!(got, vec!["10.9.0.0/16 via 10.0.0.254", "10.8.0.0/16 via 10.0.0.254"]);
    }
}

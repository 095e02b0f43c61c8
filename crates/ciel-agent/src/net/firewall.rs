//! Security groups and anti-spoofing in nftables, for every VM port of the host that has port
//! security.
//!
//! Bridged traffic is filtered in two tables, replaced together in one atomic `nft -f`
//! transaction whenever the wanted rules change (conntrack state survives, so established
//! flows never notice):
//! - `bridge ciel` sees which bridge port a frame enters and leaves by. Frames from a VM that
//!   carry another MAC or source address, DHCP server replies or IPv6 router advertisements
//!   are dropped there; the others are marked with the index of their source port (low 16
//!   bits) and of their destination port (high 16 bits).
//! - `inet ciel` (bridged IP traffic reaches it through br_netfilter) is stateful: replies of
//!   tracked connections pass, new connections must pass the source port's egress rules and
//!   the destination port's ingress rules, everything else is dropped. Each network gets its
//!   own conntrack zone, so tenants with overlapping addresses never share connection state.

use anyhow::Context;
use ciel_proto::{FirewallRule, HostConfig, NetworkSpec, PortFirewall, Segment};
use std::fmt::Write;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Brings the host's nftables to what `cfg` wants; `state_dir` keeps the last applied ruleset,
/// so that a restarted agent changes nothing that is already right.
pub async fn reconcile(cfg: &HostConfig, state_dir: &Path) -> anyhow::Result<()> {
    let script = render(cfg);
    let applied = state_dir.join("firewall.nft");
    let tables_exist = nft(None, &["list", "table", "inet", "ciel"], None).await.is_ok();
    if !tables_exist && script.is_empty()
        || tables_exist && std::fs::read_to_string(&applied).ok().as_deref() == Some(script.as_str())
    {
        return Ok(());
    }
    if !script.is_empty() {
        enable_bridge_netfilter();
    }
    let mut tx =
        String::from("table bridge ciel {}\ndelete table bridge ciel\ntable inet ciel {}\ndelete table inet ciel\n");
    tx.push_str(&script);
    nft(None, &["-f", "-"], Some(&tx)).await?;
    std::fs::write(&applied, &script)?;
    tracing::info!(
        ports = cfg
            .vms
            .iter()
            .flat_map(|v| &v.nics)
            .filter(|n| n.firewall.is_some())
            .count(),
        "firewall applied"
    );
    Ok(())
}

/// Bridged IP traffic passes the `inet` hooks (where conntrack works) only with br_netfilter
/// on; the setting is per network namespace.
fn enable_bridge_netfilter() {
    for f in ["bridge-nf-call-iptables", "bridge-nf-call-ip6tables"] {
        let path = format!("/proc/sys/net/bridge/{f}");
        if std::fs::read_to_string(&path).map(|v| v.trim() != "1").unwrap_or(true) {
            if let Err(e) = std::fs::write(&path, "1") {
                tracing::warn!(%path, error = %e, "cannot enable br_netfilter: security groups are not enforced");
            }
        }
    }
}

/// The conntrack zone of a network: stable for its lifetime, distinct between the host's
/// networks in practice (zones are 16 bits, VNIs 24).
fn zone(n: &NetworkSpec) -> u32 {
    match &n.segment {
        Segment::Vxlan { vni } => (vni & 0xffff).max(1),
        Segment::Flat { physical_network } => {
            let h = physical_network
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
            (h & 0x7fff) | 0x8000
        }
    }
}

/// The two tables for `cfg`, or nothing when no port has port security.
pub fn render(cfg: &HostConfig) -> String {
    let mut ports: Vec<(String, &PortFirewall)> = cfg
        .vms
        .iter()
        .flat_map(|v| &v.nics)
        .filter_map(|n| Some((super::tap_name(&n.port_id), n.firewall.as_ref()?)))
        .collect();
    if ports.is_empty() {
        return String::new();
    }
    ports.sort_by(|a, b| a.0.cmp(&b.0));
    let mut b = String::new();
    let mut i = String::new();
    // bridge: anti-spoofing and marks
    let from_map: Vec<String> = (1..)
        .zip(&ports)
        .map(|(k, (tap, _))| format!("\"{tap}\" : jump from_{k}"))
        .collect();
    let to_map: Vec<String> = (1..)
        .zip(&ports)
        .map(|(k, (tap, _))| format!("\"{tap}\" : jump to_{k}"))
        .collect();
    let _ = writeln!(b, "table bridge ciel {{");
    let _ = writeln!(
        b,
        "  chain pre {{ type filter hook prerouting priority -300; policy accept;\n    iifname vmap {{ {} }}\n  }}",
        from_map.join(", ")
    );
    let _ = writeln!(
        b,
        "  chain out {{ type filter hook forward priority -10; policy accept;\n    oifname vmap {{ {} }}\n  }}",
        to_map.join(", ")
    );
    for (k, (_, fw)) in (1u32..).zip(&ports) {
        let _ = writeln!(b, "  chain from_{k} {{\n{}  }}", anti_spoof(fw, k));
        let _ = writeln!(
            b,
            "  chain to_{k} {{\n    meta mark set meta mark or 0x{:x}\n  }}",
            k << 16
        );
    }
    let _ = writeln!(b, "}}");
    // inet: stateful security groups
    let _ = writeln!(i, "table inet ciel {{");
    let zones: Vec<String> = cfg
        .networks
        .iter()
        .map(|n| format!("    iifname \"{}\" ct zone set {}\n", super::bridge_name(n), zone(n)))
        .collect();
    let _ = writeln!(
        i,
        "  chain zones {{ type filter hook prerouting priority -300; policy accept;\n{}  }}",
        zones.concat()
    );
    let eg: Vec<String> = (1..)
        .zip(&ports)
        .map(|(k, _)| format!("{k} : jump egress_{k}"))
        .collect();
    let ing: Vec<String> = (1u32..)
        .zip(&ports)
        .map(|(k, _)| format!("0x{:x} : jump ingress_{k}", k << 16))
        .collect();
    let _ = writeln!(
        i,
        "  chain forward {{ type filter hook forward priority 0; policy accept;\n    meta mark 0 accept\n    ct state established,related accept\n    ct state invalid drop\n    meta mark and 0xffff vmap {{ {} }}\n    meta mark and 0xffff0000 vmap {{ {} }}\n  }}",
        eg.join(", "),
        ing.join(", ")
    );
    for (k, (_, fw)) in (1..).zip(&ports) {
        let mut e = String::new();
        let mut n = String::new();
        // DHCP answers and IPv6 neighbour discovery always reach the VM, as in Neutron.
        n.push_str("    udp sport 67 udp dport 68 accept\n");
        n.push_str("    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept\n");
        for r in &fw.rules {
            if let Some(line) = rule(r) {
                if r.ingress {
                    let _ = writeln!(n, "    {line} accept");
                } else {
                    let _ = writeln!(e, "    {line} return");
                }
            }
        }
        let _ = writeln!(i, "  chain egress_{k} {{\n{e}    drop\n  }}");
        let _ = writeln!(i, "  chain ingress_{k} {{\n{n}    drop\n  }}");
    }
    let _ = writeln!(i, "}}");
    b + &i
}

/// The rules of the bridge chain a VM's frames enter by: only its own MACs and addresses,
/// no DHCP or router advertisement service; then the source mark.
fn anti_spoof(fw: &PortFirewall, k: u32) -> String {
    let macs = set(fw.macs.iter().map(|m| m.to_lowercase()));
    let v4: Vec<&String> = fw.ips.iter().filter(|a| !a.contains(':')).collect();
    let v6: Vec<&String> = fw.ips.iter().filter(|a| a.contains(':')).collect();
    let mut s = String::new();
    let _ = writeln!(s, "    ether saddr != {macs} drop");
    let _ = writeln!(s, "    ether type arp arp saddr ether != {macs} drop");
    // A DHCP client asks before it has its address.
    let _ = writeln!(
        s,
        "    ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 meta mark set {k} accept"
    );
    if v4.is_empty() {
        let _ = writeln!(s, "    ether type arp drop\n    ether type ip drop");
    } else {
        let v4 = set(v4.into_iter().cloned());
        let _ = writeln!(s, "    ether type arp arp saddr ip != {v4} drop");
        let _ = writeln!(s, "    ether type ip ip saddr != {v4} drop");
    }
    let mut v6: Vec<String> = v6.into_iter().cloned().collect();
    v6.push("fe80::/10".into());
    v6.push("::".into());
    let _ = writeln!(s, "    ether type ip6 ip6 saddr != {} drop", set(v6.into_iter()));
    let _ = writeln!(s, "    ether type ip udp sport 67 drop");
    let _ = writeln!(s, "    ether type ip6 udp sport 547 drop");
    let _ = writeln!(s, "    ether type ip6 icmpv6 type nd-router-advert drop");
    let _ = writeln!(s, "    meta mark set {k}");
    s
}

fn set(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    format!("{{ {} }}", v.join(", "))
}

/// The match part of a rule, or None when it can match nothing (a remote group without
/// members).
fn rule(r: &FirewallRule) -> Option<String> {
    let fam = if r.ipv6 { "ip6" } else { "ip" };
    let mut m = vec![format!("meta nfproto {}", if r.ipv6 { "ipv6" } else { "ipv4" })];
    if let Some(remote) = &r.remote {
        let remote: Vec<String> = remote.iter().filter(|a| a.contains(':') == r.ipv6).cloned().collect();
        if remote.is_empty() {
            return None;
        }
        let dir = if r.ingress { "saddr" } else { "daddr" };
        m.push(format!("{fam} {dir} {}", set(remote.into_iter())));
    }
    let proto = r.protocol.as_deref().map(|p| match (p, r.ipv6) {
        ("icmp", true) | ("icmpv6", _) | ("ipv6-icmp", _) | ("58", _) => "ipv6-icmp".to_string(),
        ("icmp", false) | ("1", _) => "icmp".to_string(),
        ("6", _) => "tcp".to_string(),
        ("17", _) => "udp".to_string(),
        (other, _) => other.to_string(),
    });
    match proto.as_deref() {
        None | Some("any") => {}
        Some(p @ ("tcp" | "udp" | "sctp" | "udplite" | "dccp")) => match (r.port_min, r.port_max) {
            (Some(a), Some(b)) if a != b => m.push(format!("{p} dport {a}-{b}")),
            (Some(a), _) => m.push(format!("{p} dport {a}")),
            _ => m.push(format!("meta l4proto {p}")),
        },
        Some(p @ ("icmp" | "ipv6-icmp")) => {
            m.push(format!("meta l4proto {p}"));
            let kw = if p == "icmp" { "icmp" } else { "icmpv6" };
            if let Some(t) = r.port_min {
                m.push(format!("{kw} type {t}"));
                if let Some(c) = r.port_max {
                    m.push(format!("{kw} code {c}"));
                }
            }
        }
        Some(p) => {
            let p = p
                .parse::<u8>()
                .ok()
                .map(|n| n.to_string())
                .unwrap_or_else(|| p.to_string());
            m.push(format!("meta l4proto {p}"));
        }
    }
    Some(m.join(" "))
}

/// Runs `nft ARGS` (inside `netns` when given), feeding `input` on stdin; fails with its
/// stderr.
pub async fn nft(netns: Option<&str>, args: &[&str], input: Option<&str>) -> anyhow::Result<String> {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = tokio::process::Command::new("ip");
            c.args(["netns", "exec", ns, "nft"]);
            c
        }
        None => tokio::process::Command::new("nft"),
    };
    let mut child = cmd
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot run nft (apt-get install nftables)")?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        anyhow::bail!(
            "nft {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_group_without_members_matches_nothing() {
        let r = FirewallRule {
            ingress: true,
            remote: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(rule(&r), None);
    }

    #[test]
    fn rules_name_protocol_ports_and_remote() {
        let r = FirewallRule {
            ingress: true,
            protocol: Some("tcp".into()),
            port_min: Some(22),
            port_max: Some(22),
            remote: Some(vec!["203.0.113.0/24".into(), "2001:db8::/64".into()]),
            ..Default::default()
        };
        assert_eq!(
            rule(&r).unwrap(),
            "meta nfproto ipv4 ip saddr { 203.0.113.0/24 } tcp dport 22"
        );
        let r = FirewallRule {
            ipv6: true,
            protocol: Some("icmp".into()),
            ..Default::default()
        };
        assert_eq!(rule(&r).unwrap(), "meta nfproto ipv6 meta l4proto ipv6-icmp");
    }
}

//! Security groups and anti-spoofing in nftables, for every VM port of the host that has port
//! security, and every load balancer VIP port that has (its leg's outer end is named and
//! filtered like a tap).
//!
//! Bridged traffic is filtered in two tables, replaced together in one atomic transaction
//! whenever the wanted rules change (conntrack state survives, so established flows never
//! notice):
//! - `bridge ciel` sees which bridge port a frame enters and leaves by. Frames from a VM that
//!   carry another MAC or source address, DHCP server replies or IPv6 router advertisements
//!   are dropped there; the others are marked with the index of their source port (low 16
//!   bits) and of their destination port (high 16 bits).
//! - `inet ciel` (bridged IP traffic reaches it through br_netfilter) is stateful: replies of
//!   tracked connections pass, new connections must pass the source port's egress rules and
//!   the destination port's ingress rules, everything else is dropped. Each network gets its
//!   own conntrack zone, so tenants with overlapping addresses never share connection state.
//!
//! Nothing from the desired state is pasted into a program: every port's values are parsed
//! into typed values first and the ruleset is built as nftables JSON (`nft -j`). A port whose
//! values do not parse, or whose rules nft still refuses, is a *failed* port: its chains drop
//! everything from and to its tap (fail closed), its error is reported, and every other
//! port's rules are applied all the same.

use super::kernel::Kernel;
use super::owned::{Kind, Owned};
use super::values::{self, Mac};
use anyhow::Context;
use ciel_proto::{FirewallRule, HostConfig, NetworkSpec, PortFirewall, Segment};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde_json::{json, Value};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// The tables this module owns, as `(family, name)`.
const TABLES: [(&str, &str); 2] = [("bridge", "ciel"), ("inet", "ciel")];

/// A port's problem: `(port id, why)`.
pub type PortError = (String, String);

/// The layer 4 part of a rule.
#[derive(Debug, Clone, PartialEq)]
enum L4 {
    /// TCP, UDP, SCTP, UDP-Lite or DCCP (nft's name, IP protocol number), optionally to a
    /// destination port range.
    Ports {
        name: &'static str,
        number: u8,
        dport: Option<(u16, u16)>,
    },
    /// ICMP or ICMPv6, optionally of one type (and code).
    Icmp {
        v6: bool,
        type_code: Option<(u8, Option<u8>)>,
    },
    /// Any other IP protocol, by number.
    Other(u8),
}

/// A security group rule as typed values.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    ingress: bool,
    ipv6: bool,
    l4: Option<L4>,
    /// The other end; None: anywhere.
    remote: Option<Vec<IpNet>>,
}

/// A port's firewall as typed values.
#[derive(Debug, Clone, PartialEq)]
struct Port {
    macs: Vec<Mac>,
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
    rules: Vec<Rule>,
}

/// One port of the ruleset: its id, tap, and its rules or why it has none.
#[derive(Debug, Clone)]
struct Entry {
    port_id: String,
    tap: String,
    rules: Result<Port, String>,
}

/// IANA numbers of the protocol names Neutron accepts (and a few more nft knows).
fn protocol_number(p: &str) -> Option<u8> {
    if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
        return p.parse().ok();
    }
    Some(match p.to_ascii_lowercase().as_str() {
        "hopopt" => 0,
        "icmp" => 1,
        "igmp" => 2,
        "ipip" => 4,
        "tcp" => 6,
        "egp" => 8,
        "udp" => 17,
        "dccp" => 33,
        "ipv6-encap" => 41,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmpv6" | "ipv6-icmp" => 58,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "ospf" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "pgm" => 113,
        "l2tp" => 115,
        "sctp" => 132,
        "udplite" => 136,
        _ => return None,
    })
}

fn port_number(v: u32) -> Result<u16, String> {
    u16::try_from(v).map_err(|_| format!("port {v} is outside 0-65535"))
}

fn icmp_value(v: u32, what: &str) -> Result<u8, String> {
    u8::try_from(v).map_err(|_| format!("ICMP {what} {v} is outside 0-255"))
}

/// A rule as typed values; Ok(None) when it can match nothing (a remote group without
/// members of its family).
fn parse_rule(r: &FirewallRule) -> Result<Option<Rule>, String> {
    let number = match r.protocol.as_deref() {
        None => None,
        Some(p) if p.eq_ignore_ascii_case("any") => None,
        // Neutron's `icmp` on an IPv6 rule is ICMPv6.
        Some(p) if r.ipv6 && p.eq_ignore_ascii_case("icmp") => Some(58),
        Some(p) => Some(protocol_number(p).ok_or_else(|| format!("unknown protocol {p:?}"))?),
    };
    let l4 = match number {
        None => None,
        Some(n @ (6 | 17 | 132 | 136 | 33)) => {
            let name = match n {
                6 => "tcp",
                17 => "udp",
                132 => "sctp",
                136 => "udplite",
                _ => "dccp",
            };
            let dport = match (r.port_min, r.port_max) {
                (None, None) => None,
                (Some(a), b) => {
                    let a = port_number(a)?;
                    let b = b.map(port_number).transpose()?.unwrap_or(a);
                    if a > b {
                        return Err(format!("port range {a}-{b} is empty"));
                    }
                    Some((a, b))
                }
                (None, Some(_)) => return Err("a port range maximum without a minimum".into()),
            };
            Some(L4::Ports { name, number: n, dport })
        }
        Some(n @ (1 | 58)) => {
            let type_code = match (r.port_min, r.port_max) {
                (None, None) => None,
                (Some(t), c) => Some((icmp_value(t, "type")?, c.map(|c| icmp_value(c, "code")).transpose()?)),
                (None, Some(_)) => return Err("an ICMP code without a type".into()),
            };
            Some(L4::Icmp { v6: n == 58, type_code })
        }
        Some(n) => Some(L4::Other(n)),
    };
    let remote = match &r.remote {
        None => None,
        Some(list) => {
            // Remote group members are other ports' addresses: one that does not parse
            // only narrows what this (allow) rule lets through; it is not this port's fault.
            let mut nets = vec![];
            for a in list {
                match values::net(a) {
                    Ok(n) if matches!(n, IpNet::V6(_)) == r.ipv6 => nets.push(n),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "remote address of a security group rule ignored"),
                }
            }
            if nets.is_empty() {
                return Ok(None);
            }
            Some(IpNet::aggregate(&nets))
        }
    };
    Ok(Some(Rule {
        ingress: r.ingress,
        ipv6: r.ipv6,
        l4,
        remote,
    }))
}

fn parse_port(fw: &PortFirewall) -> Result<Port, String> {
    let mut macs = fw.macs.iter().map(|m| values::mac(m)).collect::<Result<Vec<_>, _>>()?;
    macs.sort();
    macs.dedup();
    let (mut v4, mut v6) = (vec![], vec![]);
    for a in &fw.ips {
        match values::net(a)? {
            IpNet::V4(n) => v4.push(n),
            IpNet::V6(n) => v6.push(n),
        }
    }
    let mut rules = vec![];
    for r in &fw.rules {
        rules.extend(parse_rule(r)?);
    }
    Ok(Port {
        macs,
        v4: Ipv4Net::aggregate(&v4),
        v6: Ipv6Net::aggregate(&v6),
        rules,
    })
}

/// The ports of `cfg` (VM and VIP ports) that have port security, sorted by tap (their index in the ruleset
/// is their position + 1), parsed; plus the ports whose tap name cannot be used at all.
fn entries(cfg: &HostConfig) -> (Vec<Entry>, Vec<PortError>) {
    let mut out: Vec<Entry> = vec![];
    let mut errors = vec![];
    // VM ports, and load balancers' VIP ports (whose leg's outer end is named like a tap).
    let vms = cfg
        .vms
        .iter()
        .flat_map(|v| &v.nics)
        .filter_map(|n| Some((&n.port_id, n.firewall.as_ref()?)));
    let vips = cfg
        .load_balancers
        .iter()
        .filter_map(|lb| Some((&lb.vip.port.port_id, lb.vip.firewall.as_ref()?)));
    for (port_id, fw) in vms.chain(vips) {
        let tap = super::tap_name(port_id);
        if !values::is_ifname(&tap) {
            errors.push((port_id.clone(), format!("port id {port_id:?} gives no device name")));
            continue;
        }
        if let Some(other) = out.iter().find(|e| e.tap == tap) {
            if &other.port_id != port_id {
                errors.push((
                    port_id.clone(),
                    format!("device name {tap} is taken by port {}", other.port_id),
                ));
            }
            continue;
        }
        out.push(Entry {
            port_id: port_id.clone(),
            tap,
            rules: parse_port(fw).map_err(|e| format!("firewall not applied (traffic blocked): {e}")),
        });
    }
    out.sort_by(|a, b| a.tap.cmp(&b.tap));
    (out, errors)
}

// --- nftables JSON -------------------------------------------------------------------------

fn matches(op: &str, left: Value, right: Value) -> Value {
    json!({"match": {"op": op, "left": left, "right": right}})
}

fn eq(left: Value, right: Value) -> Value {
    matches("==", left, right)
}

fn payload(protocol: &str, field: &str) -> Value {
    json!({"payload": {"protocol": protocol, "field": field}})
}

fn meta(key: &str) -> Value {
    json!({"meta": {"key": key}})
}

fn verdict(v: &str) -> Value {
    json!({ v: null })
}

fn jump(chain: &str) -> Value {
    json!({"jump": {"target": chain}})
}

fn set_mark(value: Value) -> Value {
    json!({"mangle": {"key": meta("mark"), "value": value}})
}

fn set(items: Vec<Value>) -> Value {
    json!({ "set": items })
}

fn net_value(n: &IpNet) -> Value {
    if n.prefix_len() == n.max_prefix_len() {
        json!(n.addr().to_string())
    } else {
        json!({"prefix": {"addr": n.network().to_string(), "len": n.prefix_len()}})
    }
}

fn ether_type(t: &str) -> Value {
    eq(payload("ether", "type"), json!(t))
}

fn l4proto(n: u8) -> Value {
    eq(meta("l4proto"), json!(n))
}

fn add_table(family: &str, name: &str) -> Value {
    json!({"add": {"table": {"family": family, "name": name}}})
}

fn delete_table(family: &str, name: &str) -> Value {
    json!({"delete": {"table": {"family": family, "name": name}}})
}

/// A base chain: `(type, hook, priority)`.
fn add_chain(family: &str, table: &str, name: &str, base: Option<(&str, &str, i32)>) -> Value {
    let mut c = json!({"family": family, "table": table, "name": name});
    if let Some((ty, hook, prio)) = base {
        c["type"] = json!(ty);
        c["hook"] = json!(hook);
        c["prio"] = json!(prio);
        c["policy"] = json!("accept");
    }
    json!({"add": {"chain": c}})
}

fn add_rule(family: &str, table: &str, chain: &str, expr: Vec<Value>) -> Value {
    json!({"add": {"rule": {"family": family, "table": table, "chain": chain, "expr": expr}}})
}

/// The commands that replace `tables` by `body` in one transaction (adding first makes the
/// delete succeed when a table is missing).
pub fn transaction(tables: &[(&str, &str)], body: Vec<Value>) -> Value {
    let mut cmds = vec![];
    for (family, name) in tables {
        cmds.push(add_table(family, name));
        cmds.push(delete_table(family, name));
    }
    cmds.extend(body);
    json!({ "nftables": cmds })
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

/// The bridge chain a VM's frames enter by: only its own MACs and addresses, no DHCP or
/// router advertisement service; then the source mark `k`.
fn anti_spoof(p: &Port, k: u32) -> Vec<Vec<Value>> {
    let drop = || verdict("drop");
    if p.macs.is_empty() {
        return vec![vec![drop()]];
    }
    let macs = || set(p.macs.iter().map(|m| json!(m.to_string())).collect());
    let mut r = vec![
        vec![matches("!=", payload("ether", "saddr"), macs()), drop()],
        vec![
            ether_type("arp"),
            matches("!=", payload("arp", "saddr ether"), macs()),
            drop(),
        ],
        // A DHCP client asks before it has its address.
        vec![
            ether_type("ip"),
            eq(payload("ip", "saddr"), json!("0.0.0.0")),
            eq(payload("ip", "protocol"), json!(17)),
            eq(payload("udp", "sport"), json!(68)),
            eq(payload("udp", "dport"), json!(67)),
            set_mark(json!(k)),
            verdict("accept"),
        ],
    ];
    if p.v4.is_empty() {
        r.push(vec![ether_type("arp"), drop()]);
        r.push(vec![ether_type("ip"), drop()]);
    } else {
        let v4 = || set(p.v4.iter().map(|n| net_value(&IpNet::V4(*n))).collect());
        r.push(vec![
            ether_type("arp"),
            matches("!=", payload("arp", "saddr ip"), v4()),
            drop(),
        ]);
        r.push(vec![
            ether_type("ip"),
            matches("!=", payload("ip", "saddr"), v4()),
            drop(),
        ]);
    }
    let mut v6: Vec<Value> = p.v6.iter().map(|n| net_value(&IpNet::V6(*n))).collect();
    v6.push(json!({"prefix": {"addr": "fe80::", "len": 10}}));
    v6.push(json!("::"));
    r.push(vec![
        ether_type("ip6"),
        matches("!=", payload("ip6", "saddr"), set(v6)),
        drop(),
    ]);
    r.push(vec![
        ether_type("ip"),
        eq(payload("ip", "protocol"), json!(17)),
        eq(payload("udp", "sport"), json!(67)),
        drop(),
    ]);
    r.push(vec![
        ether_type("ip6"),
        eq(payload("ip6", "nexthdr"), json!(17)),
        eq(payload("udp", "sport"), json!(547)),
        drop(),
    ]);
    r.push(vec![
        ether_type("ip6"),
        eq(payload("ip6", "nexthdr"), json!(58)),
        eq(payload("icmpv6", "type"), json!("nd-router-advert")),
        drop(),
    ]);
    r.push(vec![set_mark(json!(k))]);
    r
}

/// The statements of a security group rule (without its verdict).
fn rule_expr(r: &Rule) -> Vec<Value> {
    let mut m = vec![eq(meta("nfproto"), json!(if r.ipv6 { "ipv6" } else { "ipv4" }))];
    if let Some(remote) = &r.remote {
        let fam = if r.ipv6 { "ip6" } else { "ip" };
        let dir = if r.ingress { "saddr" } else { "daddr" };
        m.push(eq(payload(fam, dir), set(remote.iter().map(net_value).collect())));
    }
    match &r.l4 {
        None => {}
        Some(L4::Ports { name, number, dport }) => {
            m.push(l4proto(*number));
            match dport {
                Some((a, b)) if a != b => m.push(eq(payload(name, "dport"), json!({"range": [a, b]}))),
                Some((a, _)) => m.push(eq(payload(name, "dport"), json!(a))),
                None => {}
            }
        }
        Some(L4::Icmp { v6, type_code }) => {
            m.push(l4proto(if *v6 { 58 } else { 1 }));
            let kw = if *v6 { "icmpv6" } else { "icmp" };
            if let Some((t, code)) = type_code {
                m.push(eq(payload(kw, "type"), json!(t)));
                if let Some(c) = code {
                    m.push(eq(payload(kw, "code"), json!(c)));
                }
            }
        }
        Some(L4::Other(n)) => m.push(l4proto(*n)),
    }
    m
}

/// The body of the two tables for `ports` (each with its index), or nothing when there is
/// no port.
fn render(ports: &[(u32, &Entry)], networks: &[NetworkSpec]) -> Vec<Value> {
    if ports.is_empty() {
        return vec![];
    }
    let (b, i) = ("bridge", "inet");
    let t = "ciel";
    let mut c = vec![add_table(b, t)];
    // bridge: anti-spoofing and marks
    c.push(add_chain(b, t, "pre", Some(("filter", "prerouting", -300))));
    c.push(add_chain(b, t, "out", Some(("filter", "forward", -10))));
    let from: Vec<Value> = ports
        .iter()
        .map(|(k, e)| json!([e.tap, jump(&format!("from_{k}"))]))
        .collect();
    let to: Vec<Value> = ports
        .iter()
        .map(|(k, e)| json!([e.tap, jump(&format!("to_{k}"))]))
        .collect();
    c.push(add_rule(
        b,
        t,
        "pre",
        vec![json!({"vmap": {"key": meta("iifname"), "data": set(from)}})],
    ));
    c.push(add_rule(
        b,
        t,
        "out",
        vec![json!({"vmap": {"key": meta("oifname"), "data": set(to)}})],
    ));
    for (k, e) in ports {
        let (from, to) = (format!("from_{k}"), format!("to_{k}"));
        c.push(add_chain(b, t, &from, None));
        c.push(add_chain(b, t, &to, None));
        match &e.rules {
            Ok(p) => {
                for r in anti_spoof(p, *k) {
                    c.push(add_rule(b, t, &from, r));
                }
                let mark = json!({"|": [meta("mark"), k << 16]});
                c.push(add_rule(b, t, &to, vec![set_mark(mark)]));
            }
            // Fail closed: nothing from or to the port.
            Err(_) => {
                c.push(add_rule(b, t, &from, vec![verdict("drop")]));
                c.push(add_rule(b, t, &to, vec![verdict("drop")]));
            }
        }
    }
    // inet: stateful security groups
    c.push(add_table(i, t));
    c.push(add_chain(i, t, "zones", Some(("filter", "prerouting", -300))));
    for n in networks {
        c.push(add_rule(
            i,
            t,
            "zones",
            vec![
                eq(meta("iifname"), json!(super::bridge_name(n))),
                json!({"mangle": {"key": {"ct": {"key": "zone"}}, "value": zone(n)}}),
            ],
        ));
    }
    c.push(add_chain(i, t, "forward", Some(("filter", "forward", 0))));
    let eg: Vec<Value> = ports
        .iter()
        .map(|(k, _)| json!([k, jump(&format!("egress_{k}"))]))
        .collect();
    let ing: Vec<Value> = ports
        .iter()
        .map(|(k, _)| json!([k << 16, jump(&format!("ingress_{k}"))]))
        .collect();
    let ct_state = |op: &str, states: Value| matches(op, json!({"ct": {"key": "state"}}), states);
    for r in [
        vec![eq(meta("mark"), json!(0)), verdict("accept")],
        vec![ct_state("in", json!(["established", "related"])), verdict("accept")],
        vec![ct_state("in", json!("invalid")), verdict("drop")],
        vec![json!({"vmap": {"key": {"&": [meta("mark"), 0xffff]}, "data": set(eg)}})],
        vec![json!({"vmap": {"key": {"&": [meta("mark"), 0xffff_0000u32]}, "data": set(ing)}})],
    ] {
        c.push(add_rule(i, t, "forward", r));
    }
    for (k, e) in ports {
        let (egress, ingress) = (format!("egress_{k}"), format!("ingress_{k}"));
        c.push(add_chain(i, t, &egress, None));
        c.push(add_chain(i, t, &ingress, None));
        if let Ok(p) = &e.rules {
            // DHCP answers and IPv6 neighbour discovery always reach the VM, as in Neutron.
            c.push(add_rule(
                i,
                t,
                &ingress,
                vec![
                    l4proto(17),
                    eq(payload("udp", "sport"), json!(67)),
                    eq(payload("udp", "dport"), json!(68)),
                    verdict("accept"),
                ],
            ));
            c.push(add_rule(
                i,
                t,
                &ingress,
                vec![
                    eq(meta("nfproto"), json!("ipv6")),
                    l4proto(58),
                    eq(
                        payload("icmpv6", "type"),
                        set(vec![
                            json!("nd-neighbor-solicit"),
                            json!("nd-neighbor-advert"),
                            json!("nd-router-advert"),
                        ]),
                    ),
                    verdict("accept"),
                ],
            ));
            for r in &p.rules {
                let mut expr = rule_expr(r);
                if r.ingress {
                    expr.push(verdict("accept"));
                    c.push(add_rule(i, t, &ingress, expr));
                } else {
                    expr.push(verdict("return"));
                    c.push(add_rule(i, t, &egress, expr));
                }
            }
        }
        c.push(add_rule(i, t, &egress, vec![verdict("drop")]));
        c.push(add_rule(i, t, &ingress, vec![verdict("drop")]));
    }
    count_drops(&mut c);
    // Tables, then chains, then rules: a jump needs its target chain to exist.
    c.sort_by_key(|cmd| {
        ["table", "chain", "rule"]
            .iter()
            .position(|k| cmd["add"].get(k).is_some())
    });
    c
}

/// The kind of drop a port's chain counts, by the chain's name (`from_3` → anti-spoofing).
fn drop_kind(chain: &str) -> Option<(DropKind, u32)> {
    let (prefix, k) = chain.rsplit_once('_')?;
    let kind = match prefix {
        "from" => DropKind::AntiSpoofing,
        "egress" => DropKind::SecurityGroupEgress,
        // A port's `to` chain drops only when the port failed (closed).
        "ingress" | "to" => DropKind::SecurityGroupIngress,
        _ => return None,
    };
    Some((kind, k.parse().ok()?))
}

/// Puts a counter before every drop of the ports' chains, for the metrics' dropped packets
/// ([`drop_counters`]). A new ruleset starts them again from zero.
fn count_drops(cmds: &mut [Value]) {
    for cmd in cmds {
        let Some(rule) = cmd.pointer_mut("/add/rule") else {
            continue;
        };
        if rule["chain"].as_str().and_then(drop_kind).is_none() {
            continue;
        }
        if let Some(expr) = rule["expr"].as_array_mut() {
            if expr.last() == Some(&verdict("drop")) {
                let at = expr.len() - 1;
                expr.insert(at, json!({"counter": null}));
            }
        }
    }
}

/// Which rules dropped a port's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropKind {
    AntiSpoofing,
    SecurityGroupEgress,
    SecurityGroupIngress,
}

impl DropKind {
    pub fn label(self) -> &'static str {
        match self {
            DropKind::AntiSpoofing => "anti_spoofing",
            DropKind::SecurityGroupEgress => "security_group_egress",
            DropKind::SecurityGroupIngress => "security_group_ingress",
        }
    }
}

/// Packets dropped per (tap, kind), from `nft -j list ruleset` (Ciel's two tables in it):
/// the bridge table's `pre` map names each port's tap and index, the counters of the
/// index's chains are summed.
pub fn drop_counters(tables: &[Value]) -> std::collections::HashMap<(String, DropKind), u64> {
    let rules: Vec<&Value> = tables
        .iter()
        .filter_map(|t| t["nftables"].as_array())
        .flatten()
        .filter_map(|item| item.get("rule"))
        .filter(|r| r["table"] == "ciel")
        .collect();
    let mut taps = std::collections::HashMap::new();
    for r in rules.iter().filter(|r| r["family"] == "bridge" && r["chain"] == "pre") {
        let Some(set) = r.pointer("/expr/0/vmap/data/set").and_then(Value::as_array) else {
            continue;
        };
        for pair in set {
            let tap = pair[0].as_str();
            let target = pair[1].pointer("/jump/target").and_then(Value::as_str);
            if let (Some(tap), Some((_, k))) = (tap, target.and_then(drop_kind)) {
                taps.insert(k, tap.to_string());
            }
        }
    }
    let mut out = std::collections::HashMap::new();
    for r in rules {
        let Some((kind, k)) = r["chain"].as_str().and_then(drop_kind) else {
            continue;
        };
        let Some(tap) = taps.get(&k) else {
            continue;
        };
        let packets: u64 = r["expr"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.pointer("/counter/packets").and_then(Value::as_u64))
            .sum();
        *out.entry((tap.clone(), kind)).or_default() += packets;
    }
    out
}

/// The host's dropped packets per (tap, kind), read from nftables now (nothing when the
/// tables are missing: no port has port security). One listing of the whole ruleset, so
/// both tables come from the same generation (a port's index may change between two).
pub async fn read_drop_counters() -> std::collections::HashMap<(String, DropKind), u64> {
    match nft(None, &["-j", "list", "ruleset"], None).await {
        Ok(out) => serde_json::from_str::<Value>(&out)
            .map(|v| drop_counters(&[v]))
            .unwrap_or_default(),
        Err(_) => Default::default(),
    }
}

fn indexed(entries: &[Entry]) -> Vec<(u32, &Entry)> {
    (1u32..).zip(entries.iter()).collect()
}

fn failed(e: &Entry, error: String) -> Entry {
    Entry {
        rules: Err(error),
        ..e.clone()
    }
}

/// What was applied last: the wanted ruleset and the ports nft refused in it.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Applied {
    wanted: Value,
    refused: Vec<PortError>,
}

/// Brings the host's nftables to what `cfg` wants; `state_dir` keeps the last applied
/// ruleset, so that a restarted agent changes nothing that is already right. Returns the
/// ports whose rules are not applied as wanted (they drop all their traffic, when nft
/// works at all), with why.
pub async fn reconcile(k: &dyn Kernel, cfg: &HostConfig, state_dir: &Path, owned: &Owned) -> Vec<PortError> {
    let (mut entries, mut errors) = entries(cfg);
    errors.extend(
        entries
            .iter()
            .filter_map(|e| Some((e.port_id.clone(), e.rules.as_ref().err()?.clone()))),
    );
    let wanted = json!(render(&indexed(&entries), &cfg.networks));
    let state = state_dir.join("firewall.json");
    // (What an older agent kept of its text ruleset.)
    std::fs::remove_file(state_dir.join("firewall.nft")).ok();
    let tables_exist = k.nft(None, &["list", "table", "inet", "ciel"], None).await.is_ok();
    if entries.is_empty() {
        if tables_exist
            && TABLES
                .iter()
                .all(|(f, n)| owned.contains(Kind::NftTable, &format!("{f} {n}")))
        {
            let tx = transaction(&TABLES, vec![]);
            match k.nft(None, &["-j", "-f", "-"], Some(&tx.to_string())).await {
                Ok(_) => {
                    for (f, n) in TABLES {
                        owned.forget(Kind::NftTable, &format!("{f} {n}"));
                    }
                    tracing::info!("firewall removed: no port with port security");
                }
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot remove the firewall"),
            }
        }
        std::fs::remove_file(&state).ok();
        return errors;
    }
    if tables_exist {
        if let Some(last) = std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<Applied>(&b).ok())
            .filter(|a| a.wanted == wanted)
        {
            errors.extend(last.refused);
            return errors;
        }
    }
    for (f, n) in TABLES {
        if let Err(e) = owned.record(Kind::NftTable, &format!("{f} {n}")) {
            tracing::warn!(error = %format!("{e:#}"), "firewall not applied");
            errors.extend(
                entries
                    .iter()
                    .map(|e| (e.port_id.clone(), "firewall not applied".into())),
            );
            return errors;
        }
    }
    k.enable_bridge_netfilter();
    let refused = match apply(k, &entries, &cfg.networks).await {
        Ok(()) => vec![],
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "firewall refused; looking for the ports at fault");
            let refused = culprits(k, &entries, &cfg.networks).await;
            for (id, why) in &refused {
                if let Some(e) = entries.iter_mut().find(|e| &e.port_id == id) {
                    *e = failed(e, why.clone());
                }
            }
            match apply(k, &entries, &cfg.networks).await {
                Ok(()) => refused,
                Err(e) => {
                    // Last resort: every port closed, so nothing is open that should not be.
                    let why = format!("firewall not applied (traffic blocked): {e:#}");
                    let closed: Vec<Entry> = entries.iter().map(|e| failed(e, why.clone())).collect();
                    if let Err(e) = apply(k, &closed, &cfg.networks).await {
                        tracing::error!(error = %format!("{e:#}"), "firewall not applied at all");
                        let why = format!("firewall not applied: {e:#}");
                        errors.extend(entries.iter().map(|e| (e.port_id.clone(), why.clone())));
                        return dedup(errors);
                    }
                    entries
                        .iter()
                        .filter(|e| e.rules.is_ok())
                        .map(|e| (e.port_id.clone(), why.clone()))
                        .collect()
                }
            }
        }
    };
    for (port, why) in &refused {
        tracing::warn!(%port, error = %why, "port firewall refused by nft: its traffic is blocked");
    }
    let applied = Applied {
        wanted,
        refused: refused.clone(),
    };
    if let Err(e) = serde_json::to_vec(&applied)
        .map_err(anyhow::Error::from)
        .and_then(|b| std::fs::write(&state, b).map_err(Into::into))
    {
        tracing::warn!(error = %e, "cannot remember the applied firewall");
    }
    errors.extend(refused);
    tracing::info!(ports = entries.len(), failed = errors.len(), "firewall applied");
    dedup(errors)
}

fn dedup(mut errors: Vec<PortError>) -> Vec<PortError> {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|(id, _)| seen.insert(id.clone()));
    errors
}

/// Replaces the two tables by the ruleset of `entries` in one transaction.
async fn apply(k: &dyn Kernel, entries: &[Entry], networks: &[NetworkSpec]) -> anyhow::Result<()> {
    let tx = transaction(&TABLES, render(&indexed(entries), networks));
    k.nft(None, &["-j", "-f", "-"], Some(&tx.to_string())).await.map(|_| ())
}

/// The ports (among those with rules) whose own ruleset nft refuses, each checked alone
/// with `nft -c` (nothing is changed).
async fn culprits(k: &dyn Kernel, entries: &[Entry], networks: &[NetworkSpec]) -> Vec<PortError> {
    let mut out = vec![];
    for (index, e) in indexed(entries) {
        if e.rules.is_err() {
            continue;
        }
        let tx = transaction(&TABLES, render(&[(index, e)], networks));
        if let Err(err) = k.nft(None, &["-c", "-j", "-f", "-"], Some(&tx.to_string())).await {
            out.push((
                e.port_id.clone(),
                format!("firewall not applied (traffic blocked): {err:#}"),
            ));
        }
    }
    out
}

/// Bridged IP traffic passes the `inet` hooks (where conntrack works) only with br_netfilter
/// on; the setting is per network namespace.
pub(crate) fn enable_bridge_netfilter() {
    for f in ["bridge-nf-call-iptables", "bridge-nf-call-ip6tables"] {
        let path = format!("/proc/sys/net/bridge/{f}");
        if std::fs::read_to_string(&path).map(|v| v.trim() != "1").unwrap_or(true) {
            if let Err(e) = std::fs::write(&path, "1") {
                tracing::warn!(%path, error = %e, "cannot enable br_netfilter: security groups are not enforced");
            }
        }
    }
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
    if let Some(mut stdin) = child.stdin.take() {
        if let Some(text) = input {
            stdin.write_all(text.as_bytes()).await?;
        }
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
    use ciel_proto::{Nic, PowerState, VmSpec};

    fn fw(macs: &[&str], ips: &[&str], rules: Vec<FirewallRule>) -> PortFirewall {
        PortFirewall {
            macs: macs.iter().map(|s| s.to_string()).collect(),
            ips: ips.iter().map(|s| s.to_string()).collect(),
            rules,
        }
    }

    fn ssh_from(remote: &[&str]) -> FirewallRule {
        FirewallRule {
            ingress: true,
            protocol: Some("tcp".into()),
            port_min: Some(22),
            port_max: Some(22),
            remote: Some(remote.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    pub(crate) fn host(ports: Vec<(&str, PortFirewall)>) -> HostConfig {
        let nics = ports
            .into_iter()
            .map(|(id, f)| Nic {
                port_id: id.into(),
                mac: f.macs.first().cloned().unwrap_or_default(),
                network_id: "n".into(),
                mtu: 1450,
                fixed_ips: vec![],
                firewall: Some(f),
            })
            .collect();
        HostConfig {
            host_id: "h".into(),
            generation: 1,
            vms: vec![VmSpec {
                id: "vm".into(),
                name: "vm".into(),
                project_id: String::new(),
                vcpus: 1,
                memory_mb: 64,
                root_gb: 0,
                image: ciel_proto::ImageRef {
                    id: String::new(),
                    disk_format: String::new(),
                    checksum: String::new(),
                    size: 0,
                    rbd: false,
                },
                kernel: None,
                ramdisk: None,
                cmdline: None,
                power: PowerState::Running,
                nics,
                boot_serial: 0,
                config_drive: false,
                rebuild_serial: 0,
                volumes: vec![],
                root_volume: None,
                root_volume_backend: String::new(),
                root_backend: "file".into(),
                migration: None,
                adopt_root: false,
            }],
            networks: vec![NetworkSpec {
                id: "n".into(),
                segment: Segment::Vxlan { vni: 7 },
                mtu: 1450,
                dhcp: None,
                remote_ports: vec![],
            }],
            ..Default::default()
        }
    }

    fn rules_of<'a>(body: &'a [Value], family: &str, chain: &str) -> Vec<&'a Value> {
        body.iter()
            .filter_map(|c| c["add"].get("rule"))
            .filter(|r| r["family"] == family && r["chain"] == chain)
            .map(|r| &r["expr"])
            .collect()
    }

    #[test]
    fn remote_group_without_members_matches_nothing() {
        let r = FirewallRule {
            ingress: true,
            remote: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(parse_rule(&r), Ok(None));
        // A member of the other family only, or one that does not parse, is no member.
        assert_eq!(parse_rule(&ssh_from(&["2001:db8::1", "not-an-ip"])), Ok(None));
    }

    #[test]
    fn rule_with_ports_and_remotes_as_json() {
        let r = parse_rule(&ssh_from(&[
            "203.0.113.0/24",
            "2001:db8::/64",
            "203.0.113.7",
            "198.51.100.9",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            json!(rule_expr(&r)),
            json!([
                {"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv4"}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                    "right": {"set": ["198.51.100.9", {"prefix": {"addr": "203.0.113.0", "len": 24}}]}}},
                {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": 6}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
            ])
        );
        let range = FirewallRule {
            protocol: Some("17".into()),
            port_min: Some(1000),
            port_max: Some(2000),
            ..Default::default()
        };
        let e = json!(rule_expr(&parse_rule(&range).unwrap().unwrap()));
        assert_eq!(e[1]["match"]["right"], json!(17));
        assert_eq!(e[2]["match"]["right"], json!({"range": [1000, 2000]}));
        let icmp6 = FirewallRule {
            ipv6: true,
            protocol: Some("icmp".into()),
            port_min: Some(128),
            port_max: Some(0),
            ..Default::default()
        };
        let e = json!(rule_expr(&parse_rule(&icmp6).unwrap().unwrap()));
        assert_eq!(e[0]["match"]["right"], json!("ipv6"));
        assert_eq!(e[1]["match"]["right"], json!(58));
        assert_eq!(
            e[2]["match"]["left"]["payload"],
            json!({"protocol": "icmpv6", "field": "type"})
        );
        assert_eq!(e[3]["match"]["right"], json!(0));
        let gre = FirewallRule {
            protocol: Some("GRE".into()),
            ..Default::default()
        };
        assert_eq!(parse_rule(&gre).unwrap().unwrap().l4, Some(L4::Other(47)));
    }

    #[test]
    fn bad_rule_values_are_refused() {
        for (protocol, min, max) in [
            ("tcp", Some(70000), None),
            ("tcp", Some(30), Some(20)),
            ("tcp", None, Some(20)),
            ("icmp", Some(256), None),
            ("icmp", Some(8), Some(300)),
            ("tcp } accept", None, None),
            ("256", None, None),
            ("", None, None),
        ] {
            let r = FirewallRule {
                protocol: Some(protocol.into()),
                port_min: min,
                port_max: max,
                ..Default::default()
            };
            assert!(parse_rule(&r).is_err(), "{protocol:?} {min:?} {max:?}");
        }
    }

    #[test]
    fn a_vip_port_is_filtered_like_a_vm_port_and_fails_closed() {
        let vm = fw(&["fa:16:3e:00:00:01"], &["10.0.0.5"], vec![]);
        let mut cfg = host(vec![("aaaa-1", vm)]);
        let mut lb = crate::net::loadbalancer::haproxy::tests::spec();
        lb.vip.port.port_id = "cccc-3".into();
        lb.vip.firewall = Some(fw(
            &["fa:16:3e:00:00:0a"],
            &["10.9.0.10", "bad } addr"],
            vec![ssh_from(&["0.0.0.0/0"])],
        ));
        let mut open = lb.clone();
        open.id = "other".into();
        open.vip.port.port_id = "dddd-4".into();
        open.vip.firewall = None;
        cfg.load_balancers = vec![lb, open];
        let (entries, errors) = entries(&cfg);
        assert!(errors.is_empty());
        let taps: Vec<&str> = entries.iter().map(|e| e.tap.as_str()).collect();
        assert_eq!(
            taps,
            vec![crate::net::tap_name("aaaa-1"), crate::net::tap_name("cccc-3")]
        );
        assert!(entries[1].rules.as_ref().unwrap_err().contains("bad } addr"));
    }

    #[test]
    fn a_bad_port_gets_a_drop_chain_and_a_good_one_its_rules() {
        let good = fw(&["fa:16:3e:00:00:01"], &["10.0.0.5"], vec![ssh_from(&["0.0.0.0/0"])]);
        let bad = fw(
            &["fa:16:3e:00:00:02"],
            &["10.0.0.6", "not-an-ip } } table inet evil { chain x { accept"],
            vec![],
        );
        let cfg = host(vec![("aaaa-1", good), ("bbbb-2", bad)]);
        let (entries, errors) = entries(&cfg);
        assert!(errors.is_empty());
        let body = render(&indexed(&entries), &cfg.networks);
        // aaaa-1 sorts first: index 1.
        assert!(entries[0].rules.is_ok());
        assert!(entries[1].rules.as_ref().unwrap_err().contains("not-an-ip"));
        assert_eq!(
            rules_of(&body, "bridge", "from_2"),
            vec![&json!([{"counter": null}, {"drop": null}])]
        );
        assert_eq!(
            rules_of(&body, "bridge", "to_2"),
            vec![&json!([{"counter": null}, {"drop": null}])]
        );
        assert_eq!(
            rules_of(&body, "inet", "egress_2"),
            vec![&json!([{"counter": null}, {"drop": null}])]
        );
        assert_eq!(
            rules_of(&body, "inet", "ingress_2"),
            vec![&json!([{"counter": null}, {"drop": null}])]
        );
        let from1 = rules_of(&body, "bridge", "from_1");
        assert_eq!(
            from1[0],
            &json!([
                {"match": {"op": "!=", "left": {"payload": {"protocol": "ether", "field": "saddr"}},
                    "right": {"set": ["fa:16:3e:00:00:01"]}}},
                {"counter": null},
                {"drop": null}
            ])
        );
        assert_eq!(
            from1.last().unwrap(),
            &&json!([{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}}])
        );
        let ingress1 = rules_of(&body, "inet", "ingress_1");
        // DHCP, ND, the SSH rule, drop.
        assert_eq!(ingress1.len(), 4);
        assert_eq!(ingress1[2][3]["match"]["right"], json!(22));
        // Both taps in the dispatch maps, nothing of the hostile text anywhere as syntax.
        let pre = rules_of(&body, "bridge", "pre");
        assert_eq!(pre[0][0]["vmap"]["data"]["set"][1][0], json!("ctpbbbb2"));
        assert!(!json!(body).to_string().contains("evil"));
    }

    #[test]
    fn dropped_packets_are_summed_per_tap_and_kind() {
        let listed = |family: &str, rules: Vec<(&str, Value)>| {
            let items: Vec<Value> = rules
                .into_iter()
                .map(|(chain, expr)| json!({"rule": {"family": family, "table": "ciel", "chain": chain, "expr": expr}}))
                .collect();
            json!({ "nftables": items })
        };
        let counted = |n: u64| json!([{"counter": {"packets": n, "bytes": n * 60}}, {"drop": null}]);
        let bridge = listed(
            "bridge",
            vec![
                (
                    "pre",
                    json!([{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": {"set": [
                    ["tapa", {"jump": {"target": "from_1"}}], ["tapb", {"jump": {"target": "from_2"}}]]}}}]),
                ),
                ("from_1", counted(3)),
                ("from_1", counted(4)),
                ("from_2", counted(0)),
                ("to_2", counted(5)),
            ],
        );
        let inet = listed(
            "inet",
            vec![
                ("egress_1", counted(7)),
                ("ingress_1", counted(9)),
                ("forward", counted(100)),
            ],
        );
        let d = drop_counters(&[bridge, inet]);
        assert_eq!(d[&("tapa".to_string(), DropKind::AntiSpoofing)], 7);
        assert_eq!(d[&("tapa".to_string(), DropKind::SecurityGroupEgress)], 7);
        assert_eq!(d[&("tapa".to_string(), DropKind::SecurityGroupIngress)], 9);
        assert_eq!(d[&("tapb".to_string(), DropKind::SecurityGroupIngress)], 5);
        assert_eq!(d.len(), 5);
    }

    #[test]
    fn ports_without_macs_or_v4_send_nothing_and_sets_are_canonical() {
        let p = parse_port(&fw(&[], &[], vec![])).unwrap();
        assert_eq!(anti_spoof(&p, 3), vec![vec![json!({"drop": null})]]);
        let p = parse_port(&fw(
            &["FA:16:3E:00:00:01", "fa:16:3e:00:00:01"],
            &["10.0.0.0/24", "10.0.0.5", "2001:db8::5"],
            vec![],
        ))
        .unwrap();
        assert_eq!(p.macs.len(), 1);
        assert_eq!(p.v4, vec!["10.0.0.0/24".parse::<Ipv4Net>().unwrap()]);
        let r = anti_spoof(&p, 3);
        assert_eq!(r[3][0], ether_type("arp"));
        assert_eq!(r[5][1]["match"]["right"]["set"][0], json!("2001:db8::5"));
        assert!(parse_port(&fw(&["fa:16:3e:00:00:01 }"], &[], vec![])).is_err());
    }

    /// Loads generated rulesets into nft for real (check mode: nothing changes), when nft is
    /// there and we may (root).
    #[tokio::test]
    #[allow(unsafe_code)]
    async fn nft_accepts_the_generated_ruleset() {
        if nft(None, &["--version"], None).await.is_err() || unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs nft and root");
            return;
        }
        let icmp = FirewallRule {
            protocol: Some("icmp".into()),
            port_min: Some(8),
            port_max: Some(0),
            ..Default::default()
        };
        let egress_v6 = FirewallRule {
            ipv6: true,
            protocol: Some("udp".into()),
            port_min: Some(53),
            port_max: Some(54),
            remote: Some(vec!["2001:db8::/64".into()]),
            ..Default::default()
        };
        let gre = FirewallRule {
            protocol: Some("gre".into()),
            ..Default::default()
        };
        let good = fw(
            &["fa:16:3e:00:00:01", "fa:16:3e:00:00:09"],
            &["10.0.0.5", "10.1.0.0/16", "2001:db8::5"],
            vec![ssh_from(&["203.0.113.0/24", "198.51.100.1"]), icmp, egress_v6, gre],
        );
        let bad = fw(&["fa:16:3e:00:00:02"], &["not-an-ip"], vec![]);
        let bare = fw(&["fa:16:3e:00:00:03"], &[], vec![]);
        let cfg = host(vec![("aaaa-1", good), ("bbbb-2", bad), ("cccc-3", bare)]);
        let (entries, _) = entries(&cfg);
        let tx = transaction(&TABLES, render(&indexed(&entries), &cfg.networks));
        nft(None, &["-c", "-j", "-f", "-"], Some(&tx.to_string()))
            .await
            .expect("nft accepts the ruleset");
        // A port nft refuses (here: a vmap key nft cannot take) is found by the per-port check.
        let mut odd = entries.clone();
        odd[2].tap = "x".repeat(40);
        assert!(apply_check(&odd, &cfg.networks).await.is_err());
        let found = culprits(&crate::net::kernel::Linux, &odd, &cfg.networks).await;
        assert_eq!(
            found.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
            vec!["cccc-3"]
        );
    }

    async fn apply_check(entries: &[Entry], networks: &[NetworkSpec]) -> anyhow::Result<()> {
        let tx = transaction(&TABLES, render(&indexed(entries), networks));
        nft(None, &["-c", "-j", "-f", "-"], Some(&tx.to_string()))
            .await
            .map(|_| ())
    }
}

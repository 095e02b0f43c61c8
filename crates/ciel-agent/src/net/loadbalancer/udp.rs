//! UDP listeners. haproxy does not balance UDP, so a UDP listener is nftables in the load
//! balancer's namespace (table `ip ciel_lb_udp`, replaced whole in one transaction, through
//! nftables' JSON form): the first packet of a flow to `VIP:port` is given a mark
//! (`numgen inc` for round robin, `jhash` of the source for `SOURCE_IP`/`SOURCE_IP_PORT` and
//! for source-IP persistence), the mark picks a member by weight and is DNATed to it, and the
//! flow is masqueraded to the VIP so the member answers through the namespace. Conntrack keeps
//! the rest of the flow on its member. Members whose monitor fails ([`super::probe`]) are left
//! out; backup members serve only when no other one can.
//!
//! Counters per listener: `new-…` (flows), `in-…` (bytes from clients), `out-…` (bytes to
//! them). Replacing the table resets them; [`super::observe`] keeps the totals.
//!
//! `LEAST_CONNECTIONS` is served as round robin (nftables has no notion of a member's load),
//! and `connection_limit` is not enforced on UDP.

use super::super::kernel::Kernel;
use ciel_proto::{LbStats, ListenerSpec, LoadBalancerSpec, PoolSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

pub const TABLE: &str = "ciel_lb_udp";
const FAMILY: &str = "ip";

type R<T> = Result<T, String>;

/// Member health from the probes: up (true) or down, by member id. A member absent is
/// taken as up (unchecked yet, or no monitor).
pub type MemberHealth = BTreeMap<String, bool>;

/// The UDP listeners `lb` serves (enabled, on an enabled load balancer).
pub fn served(lb: &LoadBalancerSpec) -> impl Iterator<Item = &ListenerSpec> {
    lb.listeners
        .iter()
        .filter(move |l| lb.admin_up && l.admin_up && l.protocol == "UDP")
}

/// The enabled UDP pool a listener sends to.
pub fn pool_of<'a>(lb: &'a LoadBalancerSpec, l: &ListenerSpec) -> Option<&'a PoolSpec> {
    let id = l.default_pool_id.as_ref()?;
    lb.pools.iter().find(|p| &p.id == id && p.admin_up)
}

/// Whether `pool`'s monitor is one the probes run (an enabled UDP-CONNECT or TCP one).
pub fn probed(pool: &PoolSpec) -> bool {
    pool.monitor
        .as_ref()
        .is_some_and(|m| m.admin_up && matches!(m.kind.as_str(), "UDP-CONNECT" | "TCP"))
}

/// A short, stable name for nftables objects of listener `id` (counter names are bounded).
fn key(id: &str) -> String {
    id.chars().filter(char::is_ascii_hexdigit).take(24).collect()
}

/// The members a listener's flows go to, with their weights: enabled, weighted, not down;
/// the backups only when no other member qualifies.
fn targets<'a>(pool: &'a PoolSpec, health: &MemberHealth) -> R<Vec<(Ipv4Addr, u16, u32, &'a str)>> {
    let check = probed(pool);
    let mut main = vec![];
    let mut backup = vec![];
    for m in &pool.members {
        let ok = m.admin_up && m.weight > 0 && !(check && health.get(&m.id) == Some(&false));
        if !ok {
            continue;
        }
        let addr = match m.address.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => a,
            _ => return Err(format!("member {}: {:?} is not an IPv4 address", m.id, m.address)),
        };
        let t = (addr, m.port, m.weight.min(256), m.id.as_str());
        if m.backup {
            backup.push(t);
        } else {
            main.push(t);
        }
    }
    Ok(if main.is_empty() { backup } else { main })
}

/// The VIP's IPv4 address (UDP listeners are served on IPv4 VIPs).
fn vip(lb: &LoadBalancerSpec) -> R<Ipv4Addr> {
    lb.vip
        .port
        .addresses
        .iter()
        .find_map(|a| match a.split('/').next().and_then(|a| a.parse::<IpAddr>().ok()) {
            Some(IpAddr::V4(a)) => Some(a),
            _ => None,
        })
        .ok_or_else(|| "UDP listeners need an IPv4 VIP".to_string())
}

/// The table's commands (for [`super::super::firewall::transaction`]), or None when `lb`
/// serves no UDP listener.
pub fn render(lb: &LoadBalancerSpec, health: &MemberHealth) -> R<Option<Vec<Value>>> {
    let listeners: Vec<&ListenerSpec> = served(lb).collect();
    if listeners.is_empty() {
        return Ok(None);
    }
    let vip = vip(lb)?.to_string();
    let t = TABLE;
    let chain = |name: &str, kind: &str, hook: &str, prio: i32, policy: &str| {
        json!({"add": {"chain": {"family": FAMILY, "table": t, "name": name, "type": kind,
            "hook": hook, "prio": prio, "policy": policy}}})
    };
    let mut c = vec![
        json!({"add": {"table": {"family": FAMILY, "name": t}}}),
        chain("pre", "nat", "prerouting", -100, "accept"),
        chain("post", "nat", "postrouting", 100, "accept"),
        chain("count_in", "filter", "prerouting", -150, "accept"),
        chain("count_out", "filter", "postrouting", 300, "accept"),
        // The namespace forwards (for the DNAT) nothing but the listeners' flows.
        chain("forward", "filter", "forward", 0, "drop"),
    ];
    let rule = |chain: &str, expr: Vec<Value>| json!({"add": {"rule": {"family": FAMILY, "table": t, "chain": chain, "expr": expr}}});
    let is = |left: Value, right: Value| json!({"match": {"op": "==", "left": left, "right": right}});
    let field = |protocol: &str, field: &str| json!({"payload": {"protocol": protocol, "field": field}});
    let mark = || json!({"meta": {"key": "mark"}});
    for l in listeners {
        let k = key(&l.id);
        for name in ["new", "in", "out"] {
            c.push(json!({"add": {"counter": {"family": FAMILY, "table": t, "name": format!("{name}-{k}")}}}));
        }
        let to_vip = || {
            vec![
                is(field("ip", "daddr"), json!(vip)),
                is(field("udp", "dport"), json!(l.port)),
            ]
        };
        let mut count_in = to_vip();
        count_in.push(json!({"counter": format!("in-{k}")}));
        c.push(rule("count_in", count_in));
        c.push(rule(
            "count_out",
            vec![
                is(field("ip", "saddr"), json!(vip)),
                is(field("udp", "sport"), json!(l.port)),
                json!({"counter": format!("out-{k}")}),
            ],
        ));
        let Some(pool) = pool_of(lb, l) else { continue };
        if pool.protocol != "UDP" {
            return Err(format!(
                "pool {} ({}) cannot serve listener {} (UDP)",
                pool.id, pool.protocol, l.id
            ));
        }
        let members = targets(pool, health)?;
        let total: u32 = members.iter().map(|m| m.2).sum();
        if total == 0 {
            continue;
        }
        let source = match pool.session_persistence.as_ref().map(|s| s.kind.as_str()) {
            Some("SOURCE_IP") => Some(field("ip", "saddr")),
            _ => match pool.lb_algorithm.as_str() {
                "SOURCE_IP" => Some(field("ip", "saddr")),
                "SOURCE_IP_PORT" => Some(json!({"concat": [field("ip", "saddr"), field("udp", "sport")]})),
                _ => None,
            },
        };
        let pick = match source {
            Some(expr) => json!({"jhash": {"mod": total, "seed": 0, "expr": expr}}),
            None => json!({"numgen": {"mode": "inc", "mod": total, "offset": 0}}),
        };
        let mut first = to_vip();
        first.push(json!({"counter": format!("new-{k}")}));
        first.push(json!({"mangle": {"key": mark(), "value": pick}}));
        c.push(rule("pre", first));
        let mut lo = 0u32;
        for (addr, port, weight, _) in members {
            let mut e = to_vip();
            e.push(is(mark(), json!({"range": [lo, lo + weight - 1]})));
            e.push(json!({"dnat": {"addr": addr.to_string(), "port": port}}));
            c.push(rule("pre", e));
            lo += weight;
        }
    }
    let dnat = || json!({"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}});
    c.push(rule("post", vec![dnat(), json!({"masquerade": null})]));
    c.push(rule("forward", vec![dnat(), json!({"accept": null})]));
    Ok(Some(c))
}

/// Where the applied transaction is kept (to skip reapplying the same).
fn applied_file(dir: &Path) -> std::path::PathBuf {
    dir.join("udp.json")
}

/// Brings the namespace's UDP table to `lb`'s listeners and `health`: replaced when it
/// differs, removed when there are none.
pub async fn apply(k: &dyn Kernel, ns: &str, lb: &LoadBalancerSpec, dir: &Path, health: &MemberHealth) -> R<()> {
    let exists = k.nft(Some(ns), &["list", "table", FAMILY, TABLE], None).await.is_ok();
    let Some(body) = render(lb, health)? else {
        if exists {
            let tx = json!({"nftables": [{"delete": {"table": {"family": FAMILY, "name": TABLE}}}]}).to_string();
            k.nft(Some(ns), &["-j", "-f", "-"], Some(&tx))
                .await
                .map_err(|e| format!("cannot remove the UDP listeners: {e:#}"))?;
            forwarding(k, ns, false).await?;
        }
        std::fs::remove_file(applied_file(dir)).ok();
        return Ok(());
    };
    let tx = super::super::firewall::transaction(&[(FAMILY, TABLE)], body).to_string();
    if exists && std::fs::read_to_string(applied_file(dir)).ok().as_deref() == Some(tx.as_str()) {
        return Ok(());
    }
    k.nft(Some(ns), &["-j", "-f", "-"], Some(&tx))
        .await
        .map_err(|e| format!("UDP listeners not applied: {e:#}"))?;
    forwarding(k, ns, true).await?;
    if let Err(e) = std::fs::write(applied_file(dir), &tx) {
        tracing::warn!(lb = %lb.id, error = %e, "cannot record the UDP rules applied");
    }
    tracing::info!(lb = %lb.id, revision = lb.revision, "UDP listeners applied");
    Ok(())
}

/// IPv4 forwarding in the namespace: on while UDP listeners DNAT through it (the table's
/// forward chain lets only their flows through), off otherwise.
async fn forwarding(k: &dyn Kernel, ns: &str, on: bool) -> R<()> {
    let script = if on {
        "echo 1 > /proc/sys/net/ipv4/ip_forward"
    } else {
        "echo 0 > /proc/sys/net/ipv4/ip_forward"
    };
    super::super::ip::ip(k, &["netns", "exec", ns, "sh", "-c", script])
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot set forwarding for the UDP listeners: {e:#}"))
}

/// Whether the table serves (it exists in the namespace).
pub async fn serving(k: &dyn Kernel, ns: &str) -> bool {
    k.nft(Some(ns), &["list", "table", FAMILY, TABLE], None).await.is_ok()
}

/// Each UDP listener's counters (bytes in and out, flows), by listener id.
pub async fn stats(k: &dyn Kernel, ns: &str, lb: &LoadBalancerSpec) -> BTreeMap<String, LbStats> {
    let mut out = BTreeMap::new();
    let Ok(text) = k
        .nft(Some(ns), &["-j", "list", "counters", "table", FAMILY, TABLE], None)
        .await
    else {
        return out;
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return out;
    };
    let counters: BTreeMap<String, (u64, u64)> = v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let c = o.get("counter")?;
            Some((
                c["name"].as_str()?.to_string(),
                (c["packets"].as_u64().unwrap_or(0), c["bytes"].as_u64().unwrap_or(0)),
            ))
        })
        .collect();
    for l in served(lb) {
        let k = key(&l.id);
        let get = |n: &str| counters.get(&format!("{n}-{k}")).copied().unwrap_or_default();
        out.insert(
            l.id.clone(),
            LbStats {
                bytes_in: get("in").1,
                bytes_out: get("out").1,
                total_connections: get("new").0,
                ..Default::default()
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::haproxy::tests::{listener, monitor, pool, spec};
    use super::*;
    use ciel_proto::MemberSpec;

    fn member(id: &str, addr: &str, weight: u32, backup: bool) -> MemberSpec {
        let mut m = super::super::haproxy::tests::member(id, addr, 5353);
        (m.weight, m.backup) = (weight, backup);
        m
    }

    /// The shared test load balancer with one UDP listener on port 53 to a UDP pool of
    /// `members` with a UDP-CONNECT monitor.
    fn lb(members: Vec<MemberSpec>, algorithm: &str) -> LoadBalancerSpec {
        let mut lb = spec();
        lb.listeners = vec![listener("0b0b0b0b-0000-4000-8000-0000000000aa", "UDP", 53, "pool")];
        let mut p = pool("pool", "UDP", algorithm, members);
        p.monitor = Some(monitor("UDP-CONNECT"));
        lb.pools = vec![p];
        lb
    }

    fn rules(body: &[Value], chain: &str) -> Vec<Value> {
        body.iter()
            .filter_map(|c| c["add"].get("rule"))
            .filter(|r| r["chain"] == chain)
            .map(|r| r["expr"].clone())
            .collect()
    }

    #[test]
    fn round_robin_by_weight_over_healthy_members() {
        let spec = lb(
            vec![
                member("m1", "10.0.0.5", 1, false),
                member("m2", "10.0.0.6", 2, false),
                member("m3", "10.0.0.7", 1, false),
                member("b", "10.0.0.8", 1, true),
            ],
            "ROUND_ROBIN",
        );
        let health = MemberHealth::from([("m3".to_string(), false)]);
        let body = render(&spec, &health).unwrap().unwrap();
        let pre = rules(&body, "pre");
        assert_eq!(pre.len(), 3, "{pre:#?}");
        assert_eq!(pre[0][3]["mangle"]["value"]["numgen"]["mod"], 3);
        assert_eq!(pre[1][2]["match"]["right"]["range"], json!([0, 0]));
        assert_eq!(pre[1][3]["dnat"], json!({"addr": "10.0.0.5", "port": 5353}));
        assert_eq!(pre[2][2]["match"]["right"]["range"], json!([1, 2]));
        assert_eq!(pre[2][3]["dnat"]["addr"], "10.0.0.6");
        assert_eq!(rules(&body, "post").len(), 1);
    }

    #[test]
    fn backups_serve_when_nothing_else_can() {
        let spec = lb(
            vec![member("m1", "10.0.0.5", 1, false), member("b", "10.0.0.8", 1, true)],
            "SOURCE_IP",
        );
        let health = MemberHealth::from([("m1".to_string(), false)]);
        let pre = rules(&render(&spec, &health).unwrap().unwrap(), "pre");
        assert_eq!(pre.len(), 2);
        assert!(pre[0][3]["mangle"]["value"]["jhash"].is_object());
        assert_eq!(pre[1][3]["dnat"]["addr"], "10.0.0.8");
    }

    #[test]
    fn bad_member_address_fails_its_load_balancer() {
        let spec = lb(vec![member("m1", "10.0.0.5; flush ruleset", 1, false)], "ROUND_ROBIN");
        assert!(render(&spec, &MemberHealth::new())
            .unwrap_err()
            .contains("not an IPv4 address"));
        let spec = lb(vec![member("m1", "2001:db8::5", 1, false)], "ROUND_ROBIN");
        assert!(render(&spec, &MemberHealth::new()).is_err());
    }

    #[test]
    fn nothing_without_udp_listeners() {
        let mut spec = lb(vec![member("m1", "10.0.0.5", 1, false)], "ROUND_ROBIN");
        spec.listeners[0].admin_up = false;
        assert!(render(&spec, &MemberHealth::new()).unwrap().is_none());
    }
}

//! The firewall part of a host's desired state: for each local VM port with port security,
//! the addresses it may send from and its security groups' rules, remote groups resolved to
//! their members' addresses (so a membership change is a change of every peer's rules).

use crate::db::network::host_share as share;
use crate::db::network::security_groups::Rule;
use crate::db::network::Port;
use crate::db::sql;
use crate::error::Result;
use ciel_proto::{FirewallRule, PortFirewall};
use std::collections::HashMap;

pub struct FirewallModel {
    groups_of_port: HashMap<String, Vec<String>>,
    members: HashMap<String, Vec<String>>,
    rules: HashMap<String, Vec<Rule>>,
}

/// `(ip or CIDR, MAC)` of a port's allowed address pairs (the MAC defaults to the port's).
fn address_pairs(p: &Port) -> Vec<(String, String)> {
    serde_json::from_str::<Vec<serde_json::Value>>(&p.allowed_address_pairs)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            let ip = v.get("ip_address")?.as_str()?.to_string();
            let mac = v
                .get("mac_address")
                .and_then(|m| m.as_str())
                .unwrap_or(&p.mac_address)
                .to_string();
            Some((ip, mac))
        })
        .collect()
}

impl FirewallModel {
    /// What the firewalls of `ports` (the host's VM ports) need: their groups, those
    /// groups' rules, and the addresses of the members of the groups the rules name.
    pub async fn load(e: &mut sql::Conn<'_>, ports: &[String]) -> Result<Self> {
        let mut groups_of_port: HashMap<String, Vec<String>> = HashMap::new();
        for (port, group) in share::groups_of_ports(&mut *e, ports).await? {
            groups_of_port.entry(port).or_default().push(group);
        }
        let mut groups: Vec<String> = groups_of_port.values().flatten().cloned().collect();
        groups.sort();
        groups.dedup();
        let mut rules: HashMap<String, Vec<Rule>> = HashMap::new();
        for r in share::rules_of_groups(&mut *e, &groups).await? {
            rules.entry(r.security_group_id.clone()).or_default().push(r);
        }
        let mut remote: Vec<String> = rules
            .values()
            .flatten()
            .filter(|r| r.remote_ip_prefix.is_none())
            .filter_map(|r| r.remote_group_id.clone())
            .collect();
        remote.sort();
        remote.dedup();
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        if !remote.is_empty() {
            let (ips, member_ports) = share::member_ports(&mut *e, &remote).await?;
            let mut ips_of: HashMap<&str, Vec<&str>> = HashMap::new();
            for f in &ips {
                ips_of
                    .entry(f.port_id.as_str())
                    .or_default()
                    .push(f.ip_address.as_str());
            }
            let port_of: HashMap<&str, &Port> = member_ports.iter().map(|p| (p.id.as_str(), p)).collect();
            for (port, group) in share::members_of_groups(&mut *e, &remote).await? {
                let addrs = members.entry(group).or_default();
                addrs.extend(ips_of.get(port.as_str()).into_iter().flatten().map(|ip| ip.to_string()));
                if let Some(p) = port_of.get(port.as_str()) {
                    addrs.extend(address_pairs(p).into_iter().map(|(ip, _)| ip));
                }
            }
        }
        Ok(Self {
            groups_of_port,
            members,
            rules,
        })
    }

    /// The firewall of port `p` with fixed IPs `ips`; None when its port security is off.
    pub fn of(&self, p: &Port, ips: &[String]) -> Option<PortFirewall> {
        if !p.port_security_enabled {
            return None;
        }
        let pairs = address_pairs(p);
        let mut macs = vec![p.mac_address.clone()];
        macs.extend(pairs.iter().map(|(_, m)| m.clone()));
        macs.sort();
        macs.dedup();
        let mut addrs = ips.to_vec();
        addrs.extend(pairs.into_iter().map(|(ip, _)| ip));
        let mut rules = vec![];
        for g in self.groups_of_port.get(p.id.as_str()).into_iter().flatten() {
            for r in self.rules.get(g).into_iter().flatten() {
                let remote = match (&r.remote_ip_prefix, &r.remote_group_id) {
                    (Some(cidr), _) => Some(vec![cidr.clone()]),
                    (None, Some(rg)) => Some(self.members.get(rg).cloned().unwrap_or_default()),
                    (None, None) => None,
                };
                rules.push(FirewallRule {
                    ingress: r.direction == "ingress",
                    ipv6: r.ethertype == "IPv6",
                    protocol: r.protocol.clone(),
                    port_min: r.port_range_min.map(|v| v as u32),
                    port_max: r.port_range_max.map(|v| v as u32),
                    remote,
                });
            }
        }
        Some(PortFirewall {
            macs,
            ips: addrs,
            rules,
        })
    }
}

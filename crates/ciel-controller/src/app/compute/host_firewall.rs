//! The firewall part of a host's desired state: for each local VM port with port security,
//! the addresses it may send from and its security groups' rules, remote groups resolved to
//! their members' addresses (so a membership change is a change of every peer's rules).

use super::host_network::NetworkModel;
use crate::db::network::security_groups::{self as sg, Rule};
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
    pub async fn load(e: &mut sql::Conn<'_>, model: &NetworkModel) -> Result<Self> {
        let mut groups_of_port: HashMap<String, Vec<String>> = HashMap::new();
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        let ports: HashMap<&str, &Port> = model.ports.iter().map(|p| (p.id.as_str(), p)).collect();
        for (port, group) in sg::port_groups(&mut *e).await? {
            let addrs = members.entry(group.clone()).or_default();
            addrs.extend(model.ips_of(&port));
            if let Some(p) = ports.get(port.as_str()) {
                addrs.extend(address_pairs(p).into_iter().map(|(ip, _)| ip));
            }
            groups_of_port.entry(port).or_default().push(group);
        }
        let mut rules: HashMap<String, Vec<Rule>> = HashMap::new();
        for r in sg::list_rules(&mut *e).await? {
            rules.entry(r.security_group_id.clone()).or_default().push(r);
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

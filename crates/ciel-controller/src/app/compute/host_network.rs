//! The network part of a host's desired state: for each network its VMs have ports on, the
//! segment to join, the DHCP service for the host's own ports and where the network's other
//! ports live (l2 population).

use crate::app::network::dhcp::{self, DHCP_OWNER};
use crate::db::network::{FixedIp, Network, Port, Subnet};
use ciel_proto::ids::NetworkId;
use ciel_proto::{DhcpHost, DhcpSpec, DhcpSubnet, NetworkSpec, RemotePort, Segment};
use std::collections::HashMap;

/// Everything of the network model the host config needs, read once.
pub struct NetworkModel {
    pub networks: HashMap<NetworkId, Network>,
    pub subnets: Vec<Subnet>,
    pub ports: Vec<Port>,
    pub fixed_ips: HashMap<String, Vec<FixedIp>>,
    /// The host each bound port lives on (VM ports: their server's host).
    pub port_hosts: HashMap<String, String>,
    /// Hosts' underlay addresses (VXLAN tunnel endpoints).
    pub vteps: HashMap<String, String>,
    /// Ports of servers being live-migrated, with the destination host: until the switchover
    /// they live on both hosts, and other hosts send their traffic to both.
    pub migrating: HashMap<String, String>,
}

/// The DNS label Nova derives from a server name: lowercase letters, digits and dashes.
pub fn hostname_of(name: &str) -> String {
    let mut h: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    h = h.trim_matches('-').to_string();
    h.truncate(63);
    if h.is_empty() {
        "server".into()
    } else {
        h
    }
}

fn json_list(s: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(s).unwrap_or_default()
}

impl NetworkModel {
    pub fn ips_of(&self, port_id: &str) -> Vec<String> {
        self.fixed_ips
            .get(port_id)
            .map(|v| v.iter().map(|f| f.ip_address.clone()).collect())
            .unwrap_or_default()
    }

    /// The spec of `network_id` for a host whose local VM ports are `local` (with hostnames).
    /// The network's ports on hosts other than `host_id` that have a tunnel endpoint.
    fn remote_ports(&self, network_id: &str, host_id: &str) -> Vec<RemotePort> {
        let mut remote: Vec<RemotePort> = self
            .ports
            .iter()
            .filter(|p| p.network_id == network_id)
            .flat_map(|p| {
                let hosts = [self.port_hosts.get(p.id.as_str()), self.migrating.get(p.id.as_str())];
                hosts
                    .into_iter()
                    .flatten()
                    .filter(|h| h.as_str() != host_id)
                    .filter_map(|host| {
                        Some(RemotePort {
                            mac: p.mac_address.clone(),
                            ips: self.ips_of(&p.id),
                            vtep: self.vteps.get(host)?.clone(),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        remote.sort();
        remote
    }

    pub fn spec(&self, network_id: &str, host_id: &str, local: &[(&Port, String)]) -> Option<NetworkSpec> {
        let net = self.networks.get(network_id)?;
        let segment = match (net.network_type.as_str(), net.segmentation_id) {
            ("vxlan", Some(vni)) => Segment::Vxlan { vni: vni as u32 },
            _ => Segment::Flat {
                physical_network: net.physical_network.clone().unwrap_or_else(|| "local".into()),
            },
        };
        let dhcp = self
            .ports
            .iter()
            .find(|p| p.network_id == network_id && p.device_owner == DHCP_OWNER)
            .map(|port| {
                let server_ips = self.fixed_ips.get(port.id.as_str()).cloned().unwrap_or_default();
                let subnets = self
                    .subnets
                    .iter()
                    .filter(|s| s.network_id == network_id && dhcp::serves(s))
                    .filter_map(|s| {
                        let server_ip = server_ips.iter().find(|f| f.subnet_id == s.id)?.ip_address.clone();
                        Some(DhcpSubnet {
                            id: s.id.clone(),
                            cidr: s.cidr.clone(),
                            server_ip,
                            gateway_ip: s.gateway_ip.clone(),
                            dns_nameservers: json_list(&s.dns_nameservers)
                                .iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect(),
                            host_routes: json_list(&s.host_routes)
                                .iter()
                                .filter_map(|r| {
                                    Some((
                                        r.get("destination")?.as_str()?.to_owned(),
                                        r.get("nexthop")?.as_str()?.to_owned(),
                                    ))
                                })
                                .collect(),
                            routed: self.router_holds_gateway(s),
                        })
                    })
                    .collect::<Vec<_>>();
                let hosts = local
                    .iter()
                    .flat_map(|(p, name)| {
                        self.fixed_ips
                            .get(p.id.as_str())
                            .into_iter()
                            .flatten()
                            .filter(|f| subnets.iter().any(|s| s.id == f.subnet_id))
                            .map(|f| DhcpHost {
                                mac: p.mac_address.clone(),
                                ip: f.ip_address.clone(),
                                hostname: name.clone(),
                            })
                    })
                    .collect();
                DhcpSpec {
                    port_id: port.id.to_string(),
                    mac: port.mac_address.clone(),
                    subnets,
                    hosts,
                }
            });
        Some(NetworkSpec {
            id: network_id.to_string(),
            segment,
            mtu: net.mtu as u32,
            dhcp,
            remote_ports: match net.network_type.as_str() {
                "vxlan" => self.remote_ports(network_id, host_id),
                _ => vec![],
            },
        })
    }
}

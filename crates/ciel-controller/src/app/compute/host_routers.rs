//! Where routers run and what their hosts are told. A router runs on a network node: the
//! first host (by name) with an interface on its external network's physical network, or,
//! for a router without a gateway, the first host with any provider network (else the first
//! host). Its interface ports live there, which the other hosts learn by l2 population.

use super::host_network::NetworkModel;
use crate::app::network::routers::{GATEWAY_OWNER, INTERFACE_OWNER};
use crate::db::compute::hosts::Host;
use crate::db::network::floating_ips::FloatingIp;
use crate::db::network::routers::Router;
use crate::db::network::{Port, Subnet};
use ciel_proto::{FloatingNat, RouterGateway, RouterPort, RouterSpec};
use std::collections::HashMap;

/// The id of the host that runs a router whose external network is on `physical` (if it
/// has a gateway).
pub fn router_host(physical: Option<&str>, hosts: &[Host]) -> Option<String> {
    let pick = match physical {
        Some(p) => hosts.iter().find(|h| h.provides(p)),
        None => hosts.iter().find(|h| h.provider_networks != "[]"),
    };
    pick.or(hosts.first()).map(|h| h.id.clone())
}

/// Router ports (interfaces and gateways) by the host their router runs on.
pub fn router_port_hosts(routers: &[(Router, Option<String>)], model: &NetworkModel) -> HashMap<String, String> {
    let at: HashMap<&str, &String> = routers
        .iter()
        .filter_map(|(r, h)| Some((r.id.as_str(), h.as_ref()?)))
        .collect();
    model
        .ports
        .iter()
        .filter(|p| p.device_owner == INTERFACE_OWNER || p.device_owner == GATEWAY_OWNER)
        .filter_map(|p| Some((p.id.to_string(), (*at.get(p.device_id.as_str())?).clone())))
        .collect()
}

impl NetworkModel {
    /// The physical network of `r`'s external network.
    pub fn gateway_physical_network(&self, r: &Router) -> Option<&str> {
        let net = self.networks.get(r.gateway_network_id.as_deref()?)?;
        net.physical_network.as_deref()
    }

    /// Whether a router interface holds subnet `s`'s gateway address.
    pub fn router_holds_gateway(&self, s: &Subnet) -> bool {
        let Some(gw) = &s.gateway_ip else { return false };
        self.ports
            .iter()
            .filter(|p| p.device_owner == INTERFACE_OWNER && p.network_id == s.network_id)
            .flat_map(|p| self.fixed_ips.get(p.id.as_str()).into_iter().flatten())
            .any(|f| f.subnet_id == s.id && &f.ip_address == gw)
    }

    pub(crate) fn router_port(&self, p: &Port) -> RouterPort {
        let addresses = self
            .fixed_ips
            .get(p.id.as_str())
            .into_iter()
            .flatten()
            .filter_map(|f| {
                let s = self.subnets.iter().find(|s| s.id == f.subnet_id)?;
                let prefix = s.cidr.parse::<ipnet::IpNet>().ok()?.prefix_len();
                Some(format!("{}/{prefix}", f.ip_address))
            })
            .collect();
        RouterPort {
            port_id: p.id.to_string(),
            network_id: p.network_id.to_string(),
            mac: p.mac_address.clone(),
            addresses,
        }
    }

    /// What a host runs of router `r`.
    pub fn router_spec(&self, r: &Router, floating: &[FloatingIp]) -> RouterSpec {
        let ports: Vec<&Port> = self.ports.iter().filter(|p| p.device_id == r.id).collect();
        let interfaces = ports
            .iter()
            .filter(|p| p.device_owner == INTERFACE_OWNER)
            .map(|p| self.router_port(p))
            .collect();
        let gateway = ports.iter().find(|p| p.device_owner == GATEWAY_OWNER).map(|p| {
            let gateway_ip = self
                .fixed_ips
                .get(p.id.as_str())
                .into_iter()
                .flatten()
                .find_map(|f| self.subnets.iter().find(|s| s.id == f.subnet_id)?.gateway_ip.clone());
            RouterGateway {
                port: self.router_port(p),
                gateway_ip,
                snat: r.enable_snat,
                floating_ips: floating
                    .iter()
                    .filter(|f| f.router_id.as_deref() == Some(r.id.as_str()))
                    .filter_map(|f| {
                        Some(FloatingNat {
                            floating_ip: f.floating_ip_address.clone(),
                            fixed_ip: f.fixed_ip_address.clone()?,
                        })
                    })
                    .collect(),
            }
        });
        let routes = serde_json::from_str::<Vec<serde_json::Value>>(&r.routes)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| {
                Some((
                    v.get("destination")?.as_str()?.to_string(),
                    v.get("nexthop")?.as_str()?.to_string(),
                ))
            })
            .collect();
        RouterSpec {
            id: r.id.clone(),
            interfaces,
            gateway,
            routes,
        }
    }
}

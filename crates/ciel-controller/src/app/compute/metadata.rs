//! Instance metadata for the metadata service and the config drive. An agent asks for the
//! instance behind a source address on one of its networks or behind one of its routers (the
//! metadata service) or for one of its own VMs (the config drive); only a VM that runs on the
//! asking host, or sits behind a router it runs, is answered, so one hypervisor cannot read
//! other instances.

use super::host_network::hostname_of;
use crate::app::App;
use crate::db::compute::hosts::Host;
use crate::db::compute::servers::{self, Server};
use crate::db::compute::{flavors, keypairs};
use crate::db::network::{self, floating_ips};
use crate::error::{Error, Result};
use base64::Engine;
use ciel_proto::InstanceMetadata;
use serde_json::{json, Value};

impl App {
    /// The instance that owns `ip` on `network_id`, if it runs on `host`.
    pub async fn metadata_by_address(&self, host: &Host, network_id: &str, ip: &str) -> Result<InstanceMetadata> {
        let port_id = network::port_with_address(&self.db, network_id, ip)
            .await?
            .ok_or_else(|| Error::not_found("instance", ip))?;
        let port = network::get_port(&self.db, &port_id)
            .await?
            .ok_or_else(|| Error::not_found("instance", ip))?;
        self.metadata_of_server(host, &port.device_id).await
    }

    /// The instance that owns `ip` on one of router `router_id`'s subnets, if `host` runs
    /// that router (VMs on routed subnets reach metadata through their router).
    pub async fn metadata_by_router(&self, host: &Host, router_id: &str, ip: &str) -> Result<InstanceMetadata> {
        let missing = || Error::not_found("instance", ip);
        let r = crate::db::network::routers::get(&self.db, router_id)
            .await?
            .ok_or_else(missing)?;
        let physical = match &r.gateway_network_id {
            Some(g) => network::get_network(&self.db, g)
                .await?
                .and_then(|n| n.physical_network),
            None => None,
        };
        let hosts = crate::db::compute::hosts::list(&self.db).await?;
        if super::host_routers::router_host(physical.as_deref(), &hosts).as_deref() != Some(host.id.as_str()) {
            return Err(missing());
        }
        for leg in network::ports_of_device(&self.db, router_id).await? {
            if leg.device_owner != crate::app::network::routers::INTERFACE_OWNER {
                continue;
            }
            let Some(port_id) = network::port_with_address(&self.db, &leg.network_id, ip).await? else {
                continue;
            };
            let Some(port) = network::get_port(&self.db, &port_id).await? else {
                continue;
            };
            let s = servers::get(&self.db, &port.device_id).await?.ok_or_else(missing)?;
            return self.metadata(&s).await;
        }
        Err(missing())
    }

    /// The metadata of server `id`, if it runs on `host`.
    pub async fn metadata_of_server(&self, host: &Host, id: &str) -> Result<InstanceMetadata> {
        let s = servers::get(&self.db, id)
            .await?
            .filter(|s| s.host_id.as_deref() == Some(host.id.as_str()))
            .ok_or_else(|| Error::not_found("instance", id))?;
        self.metadata(&s).await
    }

    async fn metadata(&self, s: &Server) -> Result<InstanceMetadata> {
        let key = match &s.key_name {
            Some(k) => keypairs::get(&self.db, &s.user_id, k)
                .await?
                .map(|k| (k.name, k.r#type, k.public_key)),
            None => None,
        };
        let user_data = s
            .user_data
            .as_deref()
            .and_then(|u| base64::engine::general_purpose::STANDARD.decode(u.trim()).ok());
        let ports = network::ports_of_device(&self.db, &s.id).await?;
        let subnets = network::list_subnets(&self.db).await?;
        let networks = network::list_networks(&self.db).await?;
        let mut fixed_ips = vec![];
        let (mut links, mut nets, mut services) = (vec![], vec![], vec![]);
        for (i, p) in ports.iter().enumerate() {
            let mtu = networks.iter().find(|n| n.id == p.network_id).map(|n| n.mtu);
            let link = format!("tap{}", &p.id[..p.id.len().min(11)]);
            links.push(json!({"id": link, "vif_id": p.id, "type": "ovs", "mtu": mtu,
                "ethernet_mac_address": p.mac_address}));
            for (j, f) in network::fixed_ips_of_port(&self.db, &p.id)
                .await?
                .into_iter()
                .enumerate()
            {
                fixed_ips.push(f.ip_address.clone());
                let Some(sub) = subnets.iter().find(|x| x.id == f.subnet_id) else {
                    continue;
                };
                let Ok(cidr) = sub.cidr.parse::<ipnet::IpNet>() else {
                    continue;
                };
                let v6 = sub.ip_version == 6;
                let mut routes: Vec<Value> = vec![];
                if let Some(gw) = &sub.gateway_ip {
                    let (net, mask) = if v6 { ("::", "::") } else { ("0.0.0.0", "0.0.0.0") };
                    routes.push(json!({"network": net, "netmask": mask, "gateway": gw}));
                }
                let dns: Vec<String> = serde_json::from_str(&sub.dns_nameservers).unwrap_or_default();
                for d in &dns {
                    let d = json!({"type": "dns", "address": d});
                    if !services.contains(&d) {
                        services.push(d);
                    }
                }
                nets.push(json!({
                    "id": format!("network{}", i + j), "type": if v6 { "ipv6" } else { "ipv4" },
                    "link": link, "ip_address": f.ip_address, "netmask": cidr.netmask().to_string(),
                    "routes": routes, "network_id": p.network_id,
                    "services": dns.iter().map(|d| json!({"type": "dns", "address": d})).collect::<Vec<_>>(),
                }));
            }
        }
        let floating_ips = floating_ips::list(&self.db)
            .await?
            .into_iter()
            .filter(|f| f.port_id.as_ref().is_some_and(|p| ports.iter().any(|x| &x.id == p)))
            .map(|f| f.floating_ip_address)
            .collect();
        let flavor = flavors::get(&self.db, &s.flavor_id)
            .await?
            .map(|f| f.name)
            .unwrap_or_default();
        Ok(InstanceMetadata {
            uuid: s.id.to_string(),
            name: s.name.clone(),
            hostname: hostname_of(&s.name),
            project_id: s.project_id.to_string(),
            availability_zone: s.availability_zone.clone(),
            launch_index: s.launch_index as u32,
            key,
            meta: serde_json::from_str(&s.metadata).unwrap_or_default(),
            user_data,
            network_data: json!({"links": links, "networks": nets, "services": services}),
            fixed_ips,
            floating_ips,
            instance_type: flavor,
            image_id: s.image_id.to_string(),
            created_at: chrono::DateTime::from_timestamp(s.created_at, 0)
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        })
    }
}

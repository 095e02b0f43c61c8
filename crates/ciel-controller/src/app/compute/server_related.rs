//! What a server's API body shows beside its own row: its addresses (ports, fixed and
//! floating IPs, network names), security groups, attached volumes, tags, server groups,
//! flavor and host name. Read for a whole page of servers at once, one query per kind, so a
//! `servers/detail` page costs the same few queries for 1 server or 1,000.

use crate::app::App;
use crate::db::compute::servers::Server;
use crate::db::compute::{flavors, hosts, server_groups, server_tags};
use crate::db::network::{self, floating_ips, security_groups};
use crate::db::volume;
use crate::error::Result;
use std::collections::{BTreeMap, HashMap};

/// A server's port as its body shows it.
#[derive(Debug, Clone)]
pub struct Nic {
    pub mac_address: String,
    /// The network's name (its id when it has none to show).
    pub network: String,
    pub fixed_ips: Vec<String>,
    /// `(fixed IP, floating IP)` of the floating IPs associated with the port.
    pub floating: Vec<(String, String)>,
    /// Security group ids, in the port's order.
    pub groups: Vec<String>,
}

/// Which optional kinds to read (the microversion and the caller's rights decide).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted {
    pub tags: bool,
    pub server_groups: bool,
    pub flavors: bool,
    pub host_names: bool,
}

/// The related rows of a page of servers.
#[derive(Debug, Default)]
pub struct ServerRelated {
    nics: HashMap<String, Vec<Nic>>,
    group_names: HashMap<String, String>,
    volumes: HashMap<String, Vec<(String, bool)>>,
    tags: HashMap<String, Vec<String>>,
    server_groups: HashMap<String, Vec<String>>,
    flavors: HashMap<String, (String, BTreeMap<String, String>)>,
    host_names: HashMap<String, String>,
}

impl ServerRelated {
    pub fn nics(&self, server: &str) -> &[Nic] {
        self.nics.get(server).map(Vec::as_slice).unwrap_or_default()
    }

    /// The names of the security groups of the server's ports, each group once.
    pub fn security_group_names(&self, server: &str) -> Vec<String> {
        let mut ids: Vec<&String> = vec![];
        for g in self.nics(server).iter().flat_map(|n| &n.groups) {
            if !ids.contains(&g) {
                ids.push(g);
            }
        }
        ids.iter().filter_map(|id| self.group_names.get(*id).cloned()).collect()
    }

    /// `(volume id, delete_on_termination)` of the attached volumes.
    pub fn volumes(&self, server: &str) -> &[(String, bool)] {
        self.volumes.get(server).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn tags(&self, server: &str) -> &[String] {
        self.tags.get(server).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn server_groups(&self, server: &str) -> &[String] {
        self.server_groups.get(server).map(Vec::as_slice).unwrap_or_default()
    }

    /// The flavor's name and extra specs (the flavor the server was made with).
    pub fn flavor(&self, id: &str) -> Option<&(String, BTreeMap<String, String>)> {
        self.flavors.get(id)
    }

    pub fn host_name(&self, host_id: &str) -> Option<&str> {
        self.host_names.get(host_id).map(String::as_str)
    }
}

/// The distinct values of `f` over `items`, in first-seen order.
fn distinct<'a, T: 'a>(items: impl IntoIterator<Item = &'a T>, f: impl Fn(&T) -> Option<String>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut seen = std::collections::HashSet::new();
    for v in items.into_iter().filter_map(f) {
        if seen.insert(v.clone()) {
            out.push(v);
        }
    }
    out
}

impl App {
    /// The ports of `servers` in each server's own project, as Nova reads a server's network
    /// info: any project may set a port's `device_id`, and another project's port must not
    /// put its addresses into the server's views or address filters.
    pub(super) async fn ports_of_servers(&self, servers: &[Server]) -> Result<Vec<network::Port>> {
        let ids: Vec<String> = servers.iter().map(|s| s.id.to_string()).collect();
        let project: HashMap<&str, &str> = servers.iter().map(|s| (s.id.as_str(), s.project_id.as_str())).collect();
        Ok(network::ports_of_devices(&self.db, &ids)
            .await?
            .into_iter()
            .filter(|p| project.get(p.device_id.as_str()) == Some(&p.project_id.as_str()))
            .collect())
    }

    /// The related rows of `servers` (servers the caller may see), one query per kind.
    pub async fn server_related(&self, servers: &[Server], want: Wanted) -> Result<ServerRelated> {
        let mut r = ServerRelated::default();
        if servers.is_empty() {
            return Ok(r);
        }
        let ids: Vec<String> = servers.iter().map(|s| s.id.to_string()).collect();
        let ports = self.ports_of_servers(servers).await?;
        let port_ids: Vec<String> = ports.iter().map(|p| p.id.to_string()).collect();
        let net_ids = distinct(&ports, |p| Some(p.network_id.to_string()));
        let net_names: HashMap<String, String> =
            network::network_names(&self.db, &net_ids).await?.into_iter().collect();
        let mut ips: HashMap<String, Vec<String>> = HashMap::new();
        for f in network::fixed_ips_of_ports(&self.db, &port_ids).await? {
            ips.entry(f.port_id.to_string()).or_default().push(f.ip_address);
        }
        let mut floating: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for f in floating_ips::on_ports(&self.db, &port_ids).await? {
            if let (Some(p), Some(fixed)) = (f.port_id, f.fixed_ip_address) {
                floating
                    .entry(p.to_string())
                    .or_default()
                    .push((fixed, f.floating_ip_address));
            }
        }
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        for (p, g) in network::host_share::groups_of_ports(&self.db, &port_ids).await? {
            groups.entry(p).or_default().push(g);
        }
        let group_ids = distinct(groups.values().flatten(), |g| Some(g.clone()));
        r.group_names = security_groups::names(&self.db, &group_ids)
            .await?
            .into_iter()
            .collect();
        for p in ports {
            let id = p.id.to_string();
            let network = match net_names.get(p.network_id.as_str()) {
                Some(n) => n.clone(),
                None => p.network_id.to_string(),
            };
            r.nics.entry(p.device_id.clone()).or_default().push(Nic {
                mac_address: p.mac_address.clone(),
                network,
                fixed_ips: ips.remove(&id).unwrap_or_default(),
                floating: floating.remove(&id).unwrap_or_default(),
                groups: groups.remove(&id).unwrap_or_default(),
            });
        }
        for a in volume::attachments_of_servers(&self.db, &ids).await? {
            r.volumes
                .entry(a.server_id.to_string())
                .or_default()
                .push((a.volume_id.to_string(), a.delete_on_termination));
        }
        if want.tags {
            for (s, t) in server_tags::of_servers(&self.db, &ids).await? {
                r.tags.entry(s).or_default().push(t);
            }
        }
        if want.server_groups {
            for (s, g) in server_groups::groups_of_servers(&self.db, &ids).await? {
                r.server_groups.entry(s).or_default().push(g);
            }
        }
        if want.flavors {
            let flavor_ids = distinct(servers, |s| Some(s.flavor_id.clone()));
            let mut specs: HashMap<String, BTreeMap<String, String>> = HashMap::new();
            for (f, k, v) in flavors::extra_specs_of(&self.db, &flavor_ids).await? {
                specs.entry(f).or_default().insert(k, v);
            }
            for f in flavors::by_ids(&self.db, &flavor_ids).await? {
                let s = specs.remove(f.id.as_str()).unwrap_or_default();
                r.flavors.insert(f.id.to_string(), (f.name, s));
            }
        }
        if want.host_names {
            let host_ids = distinct(servers, |s| s.host_id.as_ref().map(|h| h.to_string()));
            r.host_names = hosts::names(&self.db, &host_ids).await?.into_iter().collect();
        }
        Ok(r)
    }
}

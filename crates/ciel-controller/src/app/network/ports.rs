use super::ipam;
use super::params::{CreatePort, UpdatePort};
use super::subnets::pools_of;
use super::validate::FixedIpSpec;
use super::validate::{self, Mac};
use super::{not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::network::{self, FixedIp, Port, PortStatus, Subnet};
use crate::db::Tx;
use crate::error::{Error, Result};
use rand::Rng;
use std::collections::HashSet;
use std::net::IpAddr;

/// What a port listing selects in SQL: any of these ids (empty: no selection by it).
#[derive(Debug, Default)]
pub struct PortSelect {
    pub ids: Vec<String>,
    pub device_ids: Vec<String>,
    pub network_ids: Vec<String>,
}

/// A port with its addresses.
#[derive(Debug, Clone)]
pub struct PortView {
    pub port: Port,
    pub fixed_ips: Vec<FixedIp>,
    pub security_groups: Vec<String>,
}

/// One `fixed_ips` request entry: a subnet, an address, or both.
pub(crate) struct FixedIpRequest {
    pub subnet_id: Option<String>,
    pub ip: Option<IpAddr>,
}

pub(crate) fn random_mac() -> String {
    let mut r = rand::thread_rng();
    format!(
        "fa:16:3e:{:02x}:{:02x}:{:02x}",
        r.gen::<u8>(),
        r.gen::<u8>(),
        r.gen::<u8>()
    )
}

/// A port the cloud itself owns (DHCP server, router interface or gateway, floating IP), with
/// a fresh MAC and no port security: nothing binds it to a VM.
pub(crate) fn service_port(
    network_id: &str,
    project_id: &str,
    device_id: &str,
    owner: &str,
    status: PortStatus,
) -> Port {
    let now = crate::db::now();
    Port {
        id: uuid::Uuid::new_v4().to_string().into(),
        name: String::new(),
        network_id: network_id.into(),
        project_id: project_id.into(),
        mac_address: random_mac(),
        admin_state_up: true,
        status,
        device_id: device_id.into(),
        device_owner: owner.into(),
        port_security_enabled: false,
        allowed_address_pairs: "[]".into(),
        binding_host_id: String::new(),
        description: String::new(),
        created_at: now,
        updated_at: now,
        revision_number: 0,
    }
}

fn exhausted(network_id: &str) -> Error {
    Error::Typed {
        status: 409,
        kind: "IpAddressGenerationFailure",
        message: format!("No more IP addresses available on network {network_id}."),
    }
}

impl From<FixedIpSpec> for FixedIpRequest {
    fn from(f: FixedIpSpec) -> Self {
        FixedIpRequest {
            subnet_id: f.subnet_id,
            ip: f.ip_address,
        }
    }
}

fn fixed_ip_requests(specs: Vec<FixedIpSpec>) -> Vec<FixedIpRequest> {
    specs.into_iter().map(FixedIpRequest::from).collect()
}

/// Neutron's `AddressPairAndPortSecurityRequired` (409).
fn pairs_need_port_security() -> Error {
    Error::Typed {
        status: 409,
        kind: "AddressPairAndPortSecurityRequired",
        message: "Port Security must be enabled in order to have allowed address pairs on a port.".into(),
    }
}

/// A port's stored MAC, typed (stored MACs were validated when written).
fn port_mac(p: &Port) -> Result<Mac> {
    Mac::parse(&p.mac_address).ok_or_else(|| Error::Internal(format!("stored MAC of port {}", p.id)))
}

/// `ports` with their addresses and `(port id, group id)` memberships, each port's in the
/// order they were read.
fn views(ports: Vec<Port>, fixed_ips: Vec<FixedIp>, groups: Vec<(String, String)>) -> Vec<PortView> {
    let mut ips: std::collections::HashMap<String, Vec<FixedIp>> = std::collections::HashMap::new();
    for f in fixed_ips {
        ips.entry(f.port_id.clone()).or_default().push(f);
    }
    let mut by_port: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for (p, g) in groups {
        by_port.entry(p).or_default().push(g);
    }
    ports
        .into_iter()
        .map(|p| PortView {
            fixed_ips: ips.remove(p.id.as_str()).unwrap_or_default(),
            security_groups: by_port.remove(p.id.as_str()).unwrap_or_default(),
            port: p,
        })
        .collect()
}

impl App {
    /// Picks addresses inside the caller's write transaction, so concurrent creations can never
    /// get the same address, and an exhausted pool leaves nothing behind.
    pub(crate) async fn allocate(
        &self,
        tx: &mut Tx<'_>,
        port: &Port,
        subnets: &[Subnet],
        requests: Option<Vec<FixedIpRequest>>,
    ) -> Result<Vec<FixedIp>> {
        let mut out: Vec<FixedIp> = vec![];
        let fixed = |s: &Subnet, ip: IpAddr| FixedIp {
            subnet_id: s.id.clone(),
            ip_address: ip.to_string(),
            port_id: port.id.to_string(),
            network_id: port.network_id.to_string(),
        };
        let used_of = |fixed: Vec<FixedIp>| -> HashSet<IpAddr> {
            fixed.iter().filter_map(|f| f.ip_address.parse().ok()).collect()
        };
        match requests {
            Some(reqs) => {
                for r in reqs {
                    let subnet = match (&r.subnet_id, r.ip) {
                        (Some(id), _) => subnets.iter().find(|s| &s.id == id).ok_or_else(|| {
                            Error::bad_request(format!("Invalid input for operation: subnet {id} is not on network {}.", port.network_id))
                        })?,
                        (None, Some(ip)) => subnets
                            .iter()
                            .find(|s| s.cidr.parse::<ipnet::IpNet>().is_ok_and(|c| c.contains(&ip)))
                            .ok_or_else(|| Error::bad_request(format!("Invalid input for operation: IP address {ip} is not a valid IP for the specified subnet.")))?,
                        (None, None) => {
                            return Err(Error::Internal("a fixed IP request names neither subnet nor address".into()))
                        }
                    };
                    let cidr: ipnet::IpNet = subnet.cidr.parse().map_err(|_| Error::Internal("stored cidr".into()))?;
                    let used = used_of(network::fixed_ips_of_subnet(&mut **tx, &subnet.id).await?);
                    let ip = match r.ip {
                        Some(ip) => {
                            if !cidr.contains(&ip) || ip == cidr.network() || (ip == cidr.broadcast() && ip.is_ipv4()) {
                                return Err(Error::bad_request(format!("Invalid input for operation: IP address {ip} is not a valid IP for the specified subnet.")));
                            }
                            if used.contains(&ip) || out.iter().any(|f| f.ip_address == ip.to_string()) {
                                return Err(Error::Typed {
                                    status: 409,
                                    kind: "IpAddressAlreadyAllocated",
                                    message: format!("IP address {ip} already allocated in subnet {}", subnet.id),
                                });
                            }
                            ip
                        }
                        None => {
                            ipam::first_free(&pools_of(subnet), &used).ok_or_else(|| exhausted(&port.network_id))?
                        }
                    };
                    out.push(fixed(subnet, ip));
                }
            }
            None => {
                // Neutron's default: one IPv4 address from the first subnet with room, plus an
                // address on every IPv6 subnet (SLAAC from the MAC, else the first free).
                let v4: Vec<&Subnet> = subnets.iter().filter(|s| s.ip_version == 4).collect();
                if !v4.is_empty() {
                    let mut got = false;
                    for s in v4 {
                        let used = used_of(network::fixed_ips_of_subnet(&mut **tx, &s.id).await?);
                        if let Some(ip) = ipam::first_free(&pools_of(s), &used) {
                            out.push(fixed(s, ip));
                            got = true;
                            break;
                        }
                    }
                    if !got {
                        return Err(exhausted(&port.network_id));
                    }
                }
                for s in subnets.iter().filter(|s| s.ip_version == 6) {
                    let cidr: ipnet::IpNet = s.cidr.parse().map_err(|_| Error::Internal("stored cidr".into()))?;
                    let ip = if super::subnets::is_auto_address(s) {
                        ipam::eui64(&cidr, &port.mac_address)?
                    } else {
                        let used = used_of(network::fixed_ips_of_subnet(&mut **tx, &s.id).await?);
                        ipam::first_free(&pools_of(s), &used).ok_or_else(|| exhausted(&port.network_id))?
                    };
                    out.push(fixed(s, ip));
                }
            }
        }
        for f in &out {
            network::insert_fixed_ip(&mut **tx, f).await.map_err(|e| match e {
                Error::Conflict(_) => Error::Typed {
                    status: 409,
                    kind: "IpAddressAlreadyAllocated",
                    message: format!(
                        "IP address {} already allocated in subnet {}",
                        f.ip_address, f.subnet_id
                    ),
                },
                other => other,
            })?;
        }
        Ok(out)
    }

    pub async fn create_port(&self, caller: &Caller, req: CreatePort) -> Result<PortView> {
        let project_id = target_project(caller, req.project_id)?;
        let network_id = req.network_id;
        let net = self.get_network(caller, &network_id).await?;
        if !(may_write(caller, &project_id) && (in_project(caller, &net.project_id) || net.shared)) {
            return Err(Error::forbidden());
        }
        let mac = req.mac_address.map(|m| m.to_string());
        let requests = req.fixed_ips.map(fixed_ip_requests);
        let now = crate::db::now();
        let mut port = Port {
            id: uuid::Uuid::new_v4().to_string().into(),
            name: req.name.unwrap_or_default(),
            network_id: network_id.to_string().into(),
            project_id: project_id.into(),
            mac_address: mac.clone().unwrap_or_else(random_mac),
            admin_state_up: req.admin_state_up.unwrap_or(true),
            status: PortStatus::Down,
            device_id: req.device_id.unwrap_or_default(),
            device_owner: req.device_owner.unwrap_or_default(),
            port_security_enabled: req.port_security_enabled.unwrap_or(net.port_security_enabled),
            allowed_address_pairs: "[]".into(),
            binding_host_id: req.binding_host_id.unwrap_or_default(),
            description: req.description.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        if let Some(pairs) = req.allowed_address_pairs {
            let mac = port_mac(&port)?;
            let pairs: Vec<_> = pairs.into_iter().map(|p| p.on_port(mac)).collect();
            if !pairs.is_empty() && !port.port_security_enabled {
                return Err(pairs_need_port_security());
            }
            port.allowed_address_pairs = validate::pairs_json(&pairs);
        }
        let requested_groups = req.security_groups;
        let mut tx = self.begin().await?;
        self.check_network_quota(&mut tx, &port.project_id, "port").await?;
        // A generated MAC that collides is simply drawn again; a requested one is a conflict.
        let mut attempts = 0;
        loop {
            // In a savepoint: on PostgreSQL a failed statement spoils its whole transaction.
            let mut attempt = tx.savepoint().await?;
            match network::insert_port(&mut *attempt, &port).await {
                Ok(()) => {
                    attempt.commit().await?;
                    break;
                }
                Err(Error::Conflict(_)) if mac.is_none() && attempts < 8 => {
                    attempts += 1;
                    let fresh = random_mac();
                    // Pairs without a MAC of their own took the port's.
                    port.allowed_address_pairs = port.allowed_address_pairs.replace(&port.mac_address, &fresh);
                    port.mac_address = fresh;
                }
                Err(Error::Conflict(_)) => {
                    return Err(Error::Typed {
                        status: 409,
                        kind: "MacAddressInUse",
                        message: format!(
                            "Unable to complete operation for network {network_id}. The mac address {} is in use.",
                            port.mac_address
                        ),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        let subnets = network::subnets_of(&mut *tx, &network_id).await?;
        let fixed_ips = self.allocate(&mut tx, &port, &subnets, requests).await?;
        let security_groups = self
            .port_groups_for(
                &mut tx,
                caller,
                &port.project_id,
                requested_groups,
                port.port_security_enabled,
            )
            .await?;
        crate::db::network::security_groups::set_port_groups(&mut tx, &port.id, &security_groups).await?;
        self.network_ports_changed(&mut tx, &port.network_id).await?;
        tx.commit().await?;
        Ok(PortView {
            port,
            fixed_ips,
            security_groups,
        })
    }

    pub async fn get_port(&self, caller: &Caller, id: &str) -> Result<PortView> {
        let port = network::get_port(&self.db, id)
            .await?
            .ok_or_else(|| not_found("port", id))?;
        if !in_project(caller, &port.project_id) {
            return Err(not_found("port", id));
        }
        Ok(self.port_views(caller, vec![port]).await?.remove(0))
    }

    /// Every port the caller may see: an admin's read whole, a project's from its index.
    pub async fn list_ports(&self, caller: &Caller) -> Result<Vec<PortView>> {
        if caller.is_admin() {
            return Ok(views(
                network::list_ports(&self.db).await?,
                network::all_fixed_ips(&self.db).await?,
                crate::db::network::security_groups::port_groups(&self.db).await?,
            ));
        }
        let Some(project) = caller.project_id() else {
            return Ok(vec![]);
        };
        let ports = network::ports_of_project(&self.db, project).await?;
        self.port_views(caller, ports).await
    }

    /// The ports the caller may see among the `n` after id `after` (id order): an admin's
    /// from the primary key, a project's from its index; and the id to continue after
    /// (`None`: no more).
    pub async fn port_page(
        &self,
        caller: &Caller,
        after: Option<&str>,
        n: usize,
    ) -> Result<(Vec<PortView>, Option<String>)> {
        let project = match caller.project_id() {
            _ if caller.is_admin() => None,
            Some(p) => Some(p),
            None => return Ok((vec![], None)),
        };
        let ports = network::ports_page(&self.db, project, after, n as i64).await?;
        let next = crate::app::keyset::next_key(&ports, n, |p| p.id.to_string());
        Ok((self.port_views(caller, ports).await?, next))
    }

    /// The ports SQL selects by Neutron's most common filters (`id`, then `device_id`, then
    /// `network_id`: one is enough to read from an index), with their addresses and groups;
    /// without any, every port. The HTTP layer still applies every filter.
    pub async fn list_ports_where(&self, caller: &Caller, sel: &PortSelect) -> Result<Vec<PortView>> {
        let ports = if !sel.ids.is_empty() {
            network::ports_by_ids(&self.db, &sel.ids).await?
        } else if !sel.device_ids.is_empty() {
            network::ports_of_devices(&self.db, &sel.device_ids).await?
        } else if !sel.network_ids.is_empty() {
            network::host_share::ports(&self.db, &sel.network_ids).await?
        } else {
            return self.list_ports(caller).await;
        };
        self.port_views(caller, ports).await
    }

    /// The ports the caller may see of `ports`, with their addresses and groups (read for
    /// those ports only).
    async fn port_views(&self, caller: &Caller, ports: Vec<Port>) -> Result<Vec<PortView>> {
        let ports: Vec<Port> = ports
            .into_iter()
            .filter(|p| in_project(caller, &p.project_id))
            .collect();
        let ids: Vec<String> = ports.iter().map(|p| p.id.to_string()).collect();
        Ok(views(
            ports,
            network::fixed_ips_of_ports(&self.db, &ids).await?,
            network::host_share::groups_of_ports(&self.db, &ids).await?,
        ))
    }

    /// The caller's ports on a server (its interfaces), from the device index.
    pub async fn ports_of_server(&self, caller: &Caller, server_id: &str) -> Result<Vec<PortView>> {
        let sel = PortSelect {
            device_ids: vec![server_id.to_string()],
            ..Default::default()
        };
        self.list_ports_where(caller, &sel).await
    }

    pub async fn update_port(&self, caller: &Caller, id: &str, req: UpdatePort) -> Result<PortView> {
        let PortView {
            mut port,
            security_groups: current_groups,
            ..
        } = self.get_port(caller, id).await?;
        if !may_write(caller, &port.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(k) = req.read_only.filter(|_| !caller.is_admin()) {
            return Err(Error::bad_request(format!(
                "Invalid input for operation: cannot update '{k}'."
            )));
        }
        if let Some(v) = req.name {
            port.name = v;
        }
        if let Some(v) = req.description {
            port.description = v;
        }
        if let Some(v) = req.admin_state_up {
            port.admin_state_up = v;
        }
        if let Some(v) = req.device_id {
            port.device_id = v;
        }
        if let Some(v) = req.device_owner {
            port.device_owner = v;
        }
        if let Some(v) = req.port_security_enabled {
            port.port_security_enabled = v;
        }
        if let Some(v) = req.binding_host_id {
            port.binding_host_id = v;
        }
        match req.allowed_address_pairs {
            None => {}
            Some(None) => port.allowed_address_pairs = "[]".into(),
            Some(Some(pairs)) => {
                let mac = port_mac(&port)?;
                let pairs: Vec<_> = pairs.into_iter().map(|p| p.on_port(mac)).collect();
                port.allowed_address_pairs = validate::pairs_json(&pairs);
            }
        }
        if !port.port_security_enabled && port.allowed_address_pairs != "[]" {
            return Err(pairs_need_port_security());
        }
        port.updated_at = crate::db::now();
        let requests = req.fixed_ips.map(fixed_ip_requests);
        let requested_groups = req.security_groups;
        let mut tx = self.begin().await?;
        // Hosts with VMs on the network, before (the old device's) and after the change.
        self.network_ports_changed(&mut tx, &port.network_id).await?;
        network::update_port(&mut *tx, &port).await?;
        if let Some(reqs) = requests {
            // Replace the addresses atomically: free the old ones, allocate the new ones.
            network::delete_fixed_ips_of_port(&mut *tx, id).await?;
            let subnets = network::subnets_of(&mut *tx, &port.network_id).await?;
            self.allocate(&mut tx, &port, &subnets, Some(reqs)).await?;
        }
        let groups = match requested_groups {
            Some(g) => Some(g),
            // Turning port security off requires dropping the groups explicitly, as in Neutron.
            None if !port.port_security_enabled && !current_groups.is_empty() => {
                return Err(Error::Typed {
                    status: 409,
                    kind: "PortSecurityPortHasSecurityGroup",
                    message: "Port has security group associated. Cannot disable port security or IP address until security group is removed.".into(),
                })
            }
            None => None,
        };
        if let Some(g) = groups {
            let ids = self
                .port_groups_for(&mut tx, caller, &port.project_id, g, port.port_security_enabled)
                .await?;
            crate::db::network::security_groups::set_port_groups(&mut tx, id, &ids).await?;
        }
        self.network_ports_changed(&mut tx, &port.network_id).await?;
        tx.commit().await?;
        self.get_port(caller, id).await
    }

    pub async fn delete_port(&self, caller: &Caller, id: &str) -> Result<()> {
        let view = self.get_port(caller, id).await?;
        if !may_write(caller, &view.port.project_id) {
            return Err(Error::forbidden());
        }
        if view.port.device_owner.starts_with("network:router_") || view.port.device_owner == "network:floatingip" {
            return Err(Error::Typed {
                status: 409,
                kind: "ServicePortInUse",
                message: format!(
                    "Port {id} cannot be deleted directly via the port API: has device owner {}.",
                    view.port.device_owner
                ),
            });
        }
        let mut tx = self.begin().await?;
        crate::db::network::floating_ips::disassociate_port(&mut *tx, id, crate::db::now()).await?;
        // The hosts of the port's network learn of it while the port still exists.
        self.network_ports_changed(&mut tx, &view.port.network_id).await?;
        network::delete_port(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// Marks the desired state of the hosts with VMs on `network_id` as changed (in `tx`) and
    /// wakes their agents once it commits.
    pub(crate) async fn network_ports_changed(&self, tx: &mut Tx<'_>, network_id: &str) -> Result<()> {
        // A port's addresses and groups are also its peers' remote-group members.
        tx.network_changed(network_id);
        Ok(())
    }

    /// Routers, their interfaces or floating IPs changed: network nodes and the hosts on the
    /// routers' networks get new desired state.
    pub(crate) async fn routing_changed(&self, tx: &mut Tx<'_>) -> Result<()> {
        tx.all_hosts_changed();
        Ok(())
    }

    /// Security group rules changed: the hosts enforcing them get new desired state.
    pub(crate) async fn security_groups_changed(&self, tx: &mut Tx<'_>) -> Result<()> {
        tx.security_groups_changed();
        Ok(())
    }
}

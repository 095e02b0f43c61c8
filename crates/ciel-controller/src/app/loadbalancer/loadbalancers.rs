//! Load balancers: create (the VIP as a real Neutron port, a network node chosen), show,
//! list, update, delete (with `cascade`), failover, stats.

use super::params::Fields;
use super::{check_read, check_write, forbidden, invalid, list_scope, not_found, own_project, Tree};
use crate::app::identity::caller::Caller;
use crate::app::network::ports::service_port;
use crate::app::App;
use crate::db::loadbalancer::{self as db, ChildKind, LbAttrs, LoadBalancer, OperatingStatus, ProvisioningStatus};
use crate::db::network::{self, PortStatus};
use crate::db::Tx;
use crate::error::{Error, Result};
use serde_json::Value;

/// The VIP port's device owner, as Octavia sets it.
pub const VIP_OWNER: &str = "Octavia";

#[derive(Debug, Clone, Default)]
pub struct CreateLoadBalancer {
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: bool,
    pub vip_address: Option<String>,
    pub vip_port_id: Option<String>,
    pub vip_subnet_id: Option<String>,
    pub vip_network_id: Option<String>,
    pub vip_qos_policy_id: Option<String>,
    pub provider: Option<String>,
    pub flavor_id: Option<String>,
    pub availability_zone: Option<String>,
    pub tags: Vec<String>,
    /// The fully populated create's listeners and pools.
    pub graph: super::graph::Graph,
}

impl TryFrom<Value> for CreateLoadBalancer {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("load_balancer", v)?;
        let project_id = match f.string("project_id", 36)? {
            Some(p) => Some(p),
            None => f.string("tenant_id", 36)?,
        };
        let r = CreateLoadBalancer {
            project_id,
            name: f.string("name", 255)?,
            description: f.string("description", 255)?,
            admin_state_up: f.bool("admin_state_up")?.unwrap_or(true),
            vip_address: f.ip("vip_address")?,
            vip_port_id: f.uuid("vip_port_id")?,
            vip_subnet_id: f.uuid("vip_subnet_id")?,
            vip_network_id: f.uuid("vip_network_id")?,
            vip_qos_policy_id: f.uuid("vip_qos_policy_id")?,
            provider: f.string("provider", 64)?,
            flavor_id: f.uuid("flavor_id")?,
            availability_zone: f.string("availability_zone", 255)?,
            tags: f.tags()?.unwrap_or_default(),
            graph: super::graph::read(&mut f)?,
        };
        f.raw("vip_sg_ids");
        f.raw("additional_vips");
        f.raw("vip_vnic_type");
        f.finish()?;
        Ok(r)
    }
}

#[derive(Debug, Clone, Default)]
pub struct UpdateLoadBalancer {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub vip_qos_policy_id: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

impl TryFrom<Value> for UpdateLoadBalancer {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("load_balancer", v)?;
        let qos_present = f.has("vip_qos_policy_id");
        let r = UpdateLoadBalancer {
            name: f.string("name", 255)?,
            description: f.string("description", 255)?,
            admin_state_up: f.bool("admin_state_up")?,
            vip_qos_policy_id: {
                let q = f.uuid("vip_qos_policy_id")?;
                qos_present.then_some(q)
            },
            tags: f.tags()?,
        };
        f.raw("vip_sg_ids");
        f.finish()?;
        Ok(r)
    }
}

/// Octavia's `LBPendingStateError`.
fn pending_state(lb: &LoadBalancer) -> Error {
    Error::conflict(format!(
        "Invalid state {} of loadbalancer resource {}",
        lb.provisioning_status, lb.id
    ))
}

impl App {
    pub async fn create_loadbalancer(&self, caller: &Caller, req: CreateLoadBalancer) -> Result<Tree> {
        let project = match &req.project_id {
            Some(p) if caller.is_admin() => p.clone(),
            Some(p) if Some(p.as_str()) != caller.project_id() => return Err(forbidden()),
            _ => own_project(caller)?,
        };
        check_write(caller, &project)?;
        if let Some(provider) = &req.provider {
            if !super::PROVIDERS.iter().any(|(p, _)| p == provider) {
                return Err(Error::bad_request(format!("Provider '{provider}' is not enabled.")));
            }
        }
        let mut tx = self.begin().await?;
        // The flavor and zone asked for exist, are enabled and fit the provider (which they
        // name when the request does not).
        let provider = self
            .lb_offer_check(
                &mut tx,
                req.provider.as_deref(),
                req.flavor_id.as_deref(),
                req.availability_zone.as_deref(),
            )
            .await?;
        self.check_lb_quota(&mut tx, &project, None, 1).await?;
        let (listeners, pools, members, monitors) = req.graph.count();
        for (kind, n) in [
            (ChildKind::Listener, listeners),
            (ChildKind::Pool, pools),
            (ChildKind::Member, members),
            (ChildKind::HealthMonitor, monitors),
        ] {
            if n > 0 {
                self.check_lb_quota(&mut tx, &project, Some(kind), n).await?;
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let (port, address, subnet_id, created) = self.vip_port(&mut tx, &req, &project, &id).await?;
        let net = network::get_network(&mut *tx, &port.network_id)
            .await?
            .ok_or_else(|| Error::bad_request(format!("Network {} not found.", port.network_id)))?;
        let host = super::placement::pick(&mut tx, &net, self.cfg.scheduler.host_down_after, None).await?;
        let now = crate::db::now();
        let lb = LoadBalancer {
            id: id.clone(),
            project_id: project,
            provisioning_status: if host.is_some() {
                ProvisioningStatus::PendingCreate
            } else {
                ProvisioningStatus::Error
            },
            operating_status: OperatingStatus::Offline,
            fault: host
                .is_none()
                .then(|| format!("no live network node can serve network {}", net.id)),
            host_id: host,
            vip_port_id: Some(port.id.to_string()),
            revision: 1,
            applied_revision: 0,
            attrs: LbAttrs {
                name: req.name,
                description: req.description,
                admin_state_up: req.admin_state_up,
                vip_address: address,
                vip_subnet_id: subnet_id,
                vip_network_id: port.network_id.to_string(),
                vip_qos_policy_id: req.vip_qos_policy_id,
                provider,
                flavor_id: req.flavor_id,
                availability_zone: req.availability_zone,
                tags: req.tags,
                vip_port_created: created,
            },
            created_at: now,
            updated_at: None,
        };
        if lb.host_id.is_none() {
            tracing::warn!(loadbalancer = %lb.id, network = %net.id, "no network node for a load balancer");
        }
        let mut tree = Tree::new(lb);
        super::graph::add(&mut tree, req.graph)?;
        tree.save(&mut tx).await?;
        // Other hosts on the VIP network learn where the VIP lives (l2 population).
        tx.network_changed(&port.network_id);
        tx.commit().await?;
        Ok(tree)
    }

    /// The VIP port: the user's (`vip_port_id`, adopted) or a new one on the VIP network,
    /// with its address. Returns the port, its VIP address, the VIP subnet and whether Ciel
    /// made it.
    async fn vip_port(
        &self,
        tx: &mut Tx<'_>,
        req: &CreateLoadBalancer,
        project: &str,
        lb_id: &str,
    ) -> Result<(network::Port, String, String, bool)> {
        let device = format!("lb-{lb_id}");
        if let Some(pid) = &req.vip_port_id {
            let mut port = network::get_port(&mut **tx, pid)
                .await?
                .filter(|p| caller_sees_port(project, p))
                .ok_or_else(|| Error::bad_request(format!("Port {pid} not found.")))?;
            if !port.device_id.is_empty() {
                return Err(invalid(format!(
                    "Port {pid} is already used by device {} ",
                    port.device_id
                )));
            }
            let ips = network::fixed_ips_of_port(&mut **tx, pid).await?;
            let ip = match (&req.vip_subnet_id, &req.vip_address) {
                (Some(s), _) => ips.iter().find(|f| &f.subnet_id == s).ok_or_else(|| {
                    invalid("No VIP address found on the specified VIP port within the specified subnet.")
                })?,
                (None, Some(a)) => ips
                    .iter()
                    .find(|f| same_ip(&f.ip_address, a))
                    .ok_or_else(|| invalid("Specified VIP address not found on the specified VIP port."))?,
                (None, None) if ips.len() == 1 => &ips[0],
                _ => {
                    return Err(invalid(
                        "VIP port's subnet could not be determined. Please specify either a VIP subnet or address.",
                    ))
                }
            }
            .clone();
            port.device_id = device;
            port.device_owner = VIP_OWNER.into();
            port.updated_at = crate::db::now();
            network::update_port(&mut **tx, &port).await?;
            return Ok((port, ip.ip_address, ip.subnet_id, false));
        }
        let (net_id, subnet) = match (&req.vip_network_id, &req.vip_subnet_id) {
            (Some(n), s) => {
                let net = network::get_network(&mut **tx, n)
                    .await?
                    .filter(|net| net.shared || net.external || net.project_id == project)
                    .ok_or_else(|| Error::bad_request(format!("Network {n} not found.")))?;
                let subnets = network::subnets_of(&mut **tx, &net.id).await?;
                let subnet = match s {
                    Some(s) => subnets
                        .into_iter()
                        .find(|x| &x.id == s)
                        .ok_or_else(|| Error::bad_request(format!("Subnet {s} not found.")))?,
                    None => {
                        if subnets.is_empty() {
                            return Err(invalid("Supplied network does not contain a subnet."));
                        }
                        match &req.vip_address {
                            Some(a) => subnets
                                .into_iter()
                                .find(|x| {
                                    let (Ok(c), Ok(ip)) =
                                        (x.cidr.parse::<ipnet::IpNet>(), a.parse::<std::net::IpAddr>())
                                    else {
                                        return false;
                                    };
                                    c.contains(&ip)
                                })
                                .ok_or_else(|| {
                                    invalid("Supplied network does not contain a subnet for VIP address specified.")
                                })?,
                            None => {
                                let v4 = subnets.iter().position(|x| x.ip_version == 4).unwrap_or(0);
                                subnets
                                    .into_iter()
                                    .nth(v4)
                                    .ok_or_else(|| invalid("Supplied network does not contain a subnet."))?
                            }
                        }
                    }
                };
                (net.id.to_string(), subnet)
            }
            (None, Some(s)) => {
                let subnet = network::get_subnet(&mut **tx, s)
                    .await?
                    .ok_or_else(|| Error::bad_request(format!("Subnet {s} not found.")))?;
                let net = network::get_network(&mut **tx, &subnet.network_id).await?;
                if !net.is_some_and(|n| n.shared || n.external || n.project_id == project) {
                    return Err(Error::bad_request(format!("Subnet {s} not found.")));
                }
                (subnet.network_id.clone(), subnet)
            }
            (None, None) => {
                return Err(invalid(
                    "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
                ))
            }
        };
        let mut port = service_port(&net_id, project, &device, VIP_OWNER, PortStatus::Down);
        port.name = format!("octavia-lb-{lb_id}");
        port.port_security_enabled = true;
        network::insert_port(&mut **tx, &port).await?;
        let request = crate::app::network::ports::FixedIpRequest {
            subnet_id: Some(subnet.id.clone()),
            ip: match &req.vip_address {
                Some(a) => Some(a.parse().map_err(|_| invalid("Invalid VIP address"))?),
                None => None,
            },
        };
        let ips = self
            .allocate(tx, &port, std::slice::from_ref(&subnet), Some(vec![request]))
            .await
            .map_err(|e| match e {
                Error::Typed {
                    status: 409, message, ..
                } => Error::conflict(format!("The VIP IP address is already in use: {message}")),
                other => other,
            })?;
        let address = match &req.vip_address {
            Some(a) => a.clone(),
            None => ips.first().map(|f| f.ip_address.clone()).unwrap_or_default(),
        };
        Ok((port, address, subnet.id, true))
    }

    pub async fn get_loadbalancer(&self, caller: &Caller, id: &str) -> Result<Tree> {
        let mut tx = crate::db::begin_read(&self.db).await?;
        let t = Tree::load(&mut tx, id)
            .await?
            .filter(|t| t.lb.provisioning_status != ProvisioningStatus::Deleted)
            .ok_or_else(|| not_found(None, id))?;
        check_read(caller, &t.lb.project_id)?;
        Ok(t)
    }

    pub async fn list_loadbalancers(&self, caller: &Caller, project: Option<&str>) -> Result<Vec<Tree>> {
        let scope = list_scope(caller, project)?;
        let mut tx = crate::db::begin_read(&self.db).await?;
        let mut out = vec![];
        for lb in db::list(&mut *tx, scope.as_deref()).await? {
            let children = db::children_of(&mut *tx, &lb.id).await?;
            out.push(Tree::from_rows(lb, children));
        }
        Ok(out)
    }

    pub async fn update_loadbalancer(&self, caller: &Caller, id: &str, req: UpdateLoadBalancer) -> Result<Tree> {
        let mut tx = self.begin().await?;
        let mut t = super::writable_tree(&mut tx, caller, id).await?;
        if t.lb.provisioning_status != ProvisioningStatus::Active {
            return Err(pending_state(&t.lb));
        }
        let a = &mut t.lb.attrs;
        if let Some(n) = req.name {
            a.name = Some(n);
        }
        if let Some(d) = req.description {
            a.description = Some(d);
        }
        if let Some(up) = req.admin_state_up {
            a.admin_state_up = up;
        }
        if let Some(q) = req.vip_qos_policy_id {
            a.vip_qos_policy_id = q;
        }
        if let Some(tags) = req.tags {
            a.tags = tags;
        }
        let t = super::commit_change(tx, t, &[]).await?;
        Ok(t)
    }

    pub async fn delete_loadbalancer(&self, caller: &Caller, id: &str, cascade: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = super::writable_tree(&mut tx, caller, id).await?;
        if !matches!(
            t.lb.provisioning_status,
            ProvisioningStatus::Active | ProvisioningStatus::Error
        ) {
            return Err(pending_state(&t.lb));
        }
        let has_children = t
            .children
            .iter()
            .any(|c| matches!(c.kind(), ChildKind::Listener | ChildKind::Pool));
        if has_children && !cascade {
            return Err(invalid(format!("Cannot delete Load Balancer {id} - it has children")));
        }
        if t.lb.host_id.is_none() {
            finish_delete(&mut tx, &t.lb).await?;
        } else {
            t.lb.provisioning_status = ProvisioningStatus::PendingDelete;
            t.pending_update(&[]);
            t.lb.provisioning_status = ProvisioningStatus::PendingDelete;
            t.save(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `PUT …/failover` (admin): the load balancer moves to another live network node, or is
    /// rebuilt on its own if it is the only one.
    pub async fn failover_loadbalancer(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = super::writable_tree(&mut tx, caller, id).await?;
        if !matches!(
            t.lb.provisioning_status,
            ProvisioningStatus::Active | ProvisioningStatus::Error
        ) {
            return Err(pending_state(&t.lb));
        }
        let net = network::get_network(&mut *tx, &t.lb.attrs.vip_network_id)
            .await?
            .ok_or_else(|| Error::Internal(format!("VIP network of load balancer {id}")))?;
        let current = t.lb.host_id.clone();
        let down_after = self.cfg.scheduler.host_down_after;
        let host = match super::placement::pick(&mut tx, &net, down_after, current.as_deref()).await? {
            Some(h) => Some(h),
            None => super::placement::pick(&mut tx, &net, down_after, None).await?,
        };
        if host.is_none() {
            return Err(Error::conflict(format!(
                "No network node can serve load balancer {id}."
            )));
        }
        t.lb.host_id = host;
        t.lb.applied_revision = 0;
        t.pending_update(&[]);
        t.save(&mut tx).await?;
        tx.network_changed(&t.lb.attrs.vip_network_id);
        tx.commit().await?;
        Ok(())
    }

    /// The sum of the load balancer's listeners' statistics.
    pub async fn loadbalancer_stats(&self, caller: &Caller, id: &str) -> Result<db::Stats> {
        let t = self.get_loadbalancer(caller, id).await?;
        let all = db::stats_of(&self.db, &t.lb.id).await?;
        Ok(all.iter().fold((0, 0, 0, 0, 0), |a, (_, s)| {
            (a.0 + s.0, a.1 + s.1, a.2 + s.2, a.3 + s.3, a.4 + s.4)
        }))
    }

    pub async fn listener_stats(&self, caller: &Caller, id: &str) -> Result<db::Stats> {
        let l = super::readable_child(self, caller, ChildKind::Listener, id).await?;
        let all = db::stats_of(&self.db, &l.loadbalancer_id).await?;
        Ok(all
            .into_iter()
            .find(|(lid, _)| lid == id)
            .map(|(_, s)| s)
            .unwrap_or_default())
    }
}

fn caller_sees_port(project: &str, p: &network::Port) -> bool {
    p.project_id == project
}

fn same_ip(a: &str, b: &str) -> bool {
    match (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Removes a load balancer whose data plane is gone: its rows, its statistics and the VIP
/// port Ciel made (a user's port is released; floating IPs on it are disassociated, not
/// deleted, as in Octavia).
pub(crate) async fn finish_delete(tx: &mut Tx<'_>, lb: &LoadBalancer) -> Result<()> {
    db::drop_stats(&mut **tx, &lb.id).await?;
    db::delete(&mut *tx, &lb.id).await?;
    if let Some(pid) = &lb.vip_port_id {
        if let Some(mut port) = network::get_port(&mut **tx, pid).await? {
            crate::db::network::floating_ips::disassociate_port(&mut **tx, pid, crate::db::now()).await?;
            if lb.attrs.vip_port_created {
                network::delete_port(&mut **tx, pid).await?;
            } else {
                port.device_id.clear();
                port.device_owner.clear();
                port.updated_at = crate::db::now();
                network::update_port(&mut **tx, &port).await?;
            }
            tx.network_changed(&port.network_id);
        }
    }
    tx.all_hosts_changed();
    Ok(())
}

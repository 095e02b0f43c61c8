//! Floating IPs: allocated from an external network, associated 1:1 with a port's fixed IP
//! through a router that has a gateway on that network and an interface on the fixed IP's subnet.

use super::params::{CreateFloatingIp, UpdateFloatingIp};
use super::ports::{service_port, FixedIpRequest};
use super::routers::INTERFACE_OWNER;
use super::{not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::network::floating_ips::{self as fips, FloatingIp};
use crate::db::network::routers;
use crate::db::network::{self, PortStatus};
use crate::db::Tx;
use crate::error::{Error, Result};

pub const FLOATING_OWNER: &str = "network:floatingip";

impl App {
    /// Resolves (port, fixed IP, router) for an association, or says why it cannot be.
    async fn association(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        fip: &FloatingIp,
        port_id: &str,
        fixed_ip: Option<String>,
    ) -> Result<(String, String)> {
        // Read in the caller's transaction: the writer it holds is the pool's only
        // connection on an in-memory database, and the port must not change under it.
        let port = network::get_port(&mut **tx, port_id)
            .await?
            .filter(|p| crate::app::policy::in_project(caller, &p.project_id))
            .ok_or_else(|| super::not_found("port", port_id))?;
        let fixed_ips = network::fixed_ips_of_port(&mut **tx, &port.id).await?;
        let candidates: Vec<_> = fixed_ips
            .iter()
            .filter(|f| f.ip_address.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_ipv4()))
            .filter(|f| fixed_ip.as_ref().is_none_or(|want| &f.ip_address == want))
            .collect();
        let fixed = match (candidates.as_slice(), &fixed_ip) {
            ([one], _) => (*one).clone(),
            ([], Some(ip)) => return Err(Error::bad_request(format!("Port {port_id} does not have fixed ip {ip}."))),
            ([], None) => return Err(Error::bad_request(format!("Bad floatingip request: Port {port_id} does not have any IPv4 address."))),
            _ => return Err(Error::bad_request(format!("Port {port_id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP."))),
        };
        // Any project's router that joins the port's subnet to the floating IP's network, as
        // in Neutron: the subnet's owner let that router in.
        for r in routers::list(&mut **tx).await? {
            if r.gateway_network_id.as_deref() != Some(fip.floating_network_id.as_str()) {
                continue;
            }
            for p in routers::router_ports(&mut **tx, &r.id)
                .await?
                .into_iter()
                .filter(|p| p.device_owner == INTERFACE_OWNER)
            {
                if network::fixed_ips_of_port(&mut **tx, &p.id)
                    .await?
                    .iter()
                    .any(|f| f.subnet_id == fixed.subnet_id)
                {
                    return Ok((fixed.ip_address, r.id));
                }
            }
        }
        Err(Error::Typed {
            status: 404,
            kind: "ExternalGatewayForFloatingIPNotFound",
            message: format!(
                "External network {} is not reachable from subnet {}. Therefore, cannot associate Port {port_id} with a Floating IP.",
                fip.floating_network_id, fixed.subnet_id
            ),
        })
    }

    pub async fn create_floating_ip(&self, caller: &Caller, req: CreateFloatingIp) -> Result<FloatingIp> {
        let project_id = target_project(caller, req.project_id)?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        let net_id = req.floating_network_id;
        let wanted_ip = req.floating_ip_address;
        let subnet_id = req.subnet_id;
        let port_id = req.port_id;
        let fixed_ip = req.fixed_ip_address.map(|ip| ip.to_string());
        let description = req.description.unwrap_or_default();
        let net = self.get_network(caller, &net_id).await?;
        if !net.external {
            return Err(Error::bad_request(format!(
                "Bad floatingip request: Network {net_id} is not a valid external network."
            )));
        }
        let now = crate::db::now();
        let fip_project = project_id.clone();
        let id = uuid::Uuid::new_v4().to_string();
        let port = service_port(&net_id, "", &id, FLOATING_OWNER, PortStatus::NotApplicable);
        let mut tx = self.begin().await?;
        self.check_network_quota(&mut tx, &fip_project, "floatingip").await?;
        network::insert_port(&mut *tx, &port).await?;
        let subnets = network::subnets_of(&mut *tx, &net_id).await?;
        let requests = match (&subnet_id, &wanted_ip) {
            (None, None) => None,
            (s, ip) => Some(vec![FixedIpRequest {
                subnet_id: s.clone(),
                ip: *ip,
            }]),
        };
        let ips = self.allocate(&mut tx, &port, &subnets, requests).await?;
        let address = ips
            .iter()
            .find(|f| f.ip_address.parse::<std::net::IpAddr>().is_ok_and(|i| i.is_ipv4()))
            .map(|f| f.ip_address.clone())
            .ok_or_else(|| Error::Typed {
                status: 409,
                kind: "IpAddressGenerationFailure",
                message: format!("No more IP addresses available on network {net_id}."),
            })?;
        let mut fip = FloatingIp {
            id,
            project_id,
            floating_network_id: net_id,
            floating_ip_address: address,
            floating_port_id: port.id.to_string(),
            port_id: None,
            fixed_ip_address: None,
            router_id: None,
            description,
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        if let Some(pid) = port_id {
            let (fixed, router) = self.association(&mut tx, caller, &fip, &pid, fixed_ip).await?;
            fip.port_id = Some(pid);
            fip.fixed_ip_address = Some(fixed);
            fip.router_id = Some(router);
        }
        fips::insert(&mut *tx, &fip).await.map_err(already_associated)?;
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(fip)
    }

    pub async fn get_floating_ip(&self, caller: &Caller, id: &str) -> Result<FloatingIp> {
        match fips::get(&self.db, id).await? {
            Some(f) if in_project(caller, &f.project_id) => Ok(f),
            _ => Err(not_found("floating ip", id)),
        }
    }

    pub async fn list_floating_ips(&self, caller: &Caller) -> Result<Vec<FloatingIp>> {
        Ok(fips::list(&self.db)
            .await?
            .into_iter()
            .filter(|f| in_project(caller, &f.project_id))
            .collect())
    }

    /// The floating IPs associated with ports the caller can see, by port id (one query
    /// for all the servers of a listing).
    pub async fn floating_ips_by_port(
        &self,
        caller: &Caller,
    ) -> Result<std::collections::HashMap<String, Vec<FloatingIp>>> {
        let project = match caller.is_admin() {
            true => None,
            false => match caller.project_id() {
                Some(p) => Some(p),
                None => return Ok(Default::default()),
            },
        };
        let mut out: std::collections::HashMap<String, Vec<FloatingIp>> = Default::default();
        for f in fips::associated(&self.db, project).await? {
            if let Some(p) = f.port_id.clone() {
                out.entry(p).or_default().push(f);
            }
        }
        Ok(out)
    }

    /// Associates (`port_id`) or disassociates (`port_id: null`).
    pub async fn update_floating_ip(&self, caller: &Caller, id: &str, req: UpdateFloatingIp) -> Result<FloatingIp> {
        let mut fip = self.get_floating_ip(caller, id).await?;
        if !may_write(caller, &fip.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(d) = req.description {
            fip.description = d;
        }
        let fixed_ip = req.fixed_ip_address.map(|ip| ip.to_string());
        let mut tx = self.begin().await?;
        match req.port_id {
            None => {}
            Some(None) => {
                fip.port_id = None;
                fip.fixed_ip_address = None;
                fip.router_id = None;
            }
            Some(Some(pid)) => {
                let (fixed, router) = self.association(&mut tx, caller, &fip, &pid, fixed_ip).await?;
                fip.port_id = Some(pid);
                fip.fixed_ip_address = Some(fixed);
                fip.router_id = Some(router);
            }
        }
        fip.updated_at = crate::db::now();
        fips::update(&mut *tx, &fip).await.map_err(already_associated)?;
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        self.get_floating_ip(caller, id).await
    }

    pub async fn delete_floating_ip(&self, caller: &Caller, id: &str) -> Result<()> {
        let fip = self.get_floating_ip(caller, id).await?;
        if !may_write(caller, &fip.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        fips::delete(&mut *tx, id).await?;
        network::delete_port(&mut *tx, &fip.floating_port_id).await?;
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn already_associated(e: Error) -> Error {
    match e {
        Error::Conflict(_) => Error::Typed {
            status: 409,
            kind: "FloatingIPPortAlreadyAssociated",
            message: "The fixed IP already has a floating IP.".into(),
        },
        other => other,
    }
}

//! Nova's legacy floating-IP API (`/os-floating-ips`, `addFloatingIp`/`removeFloatingIp`),
//! proxied onto the network service's floating IPs as Nova proxies them to Neutron: pools are
//! external networks (by name or id), the instance is the device of the associated port.

use super::actions::Guard;
use crate::app::identity::caller::Caller;
use crate::app::network::params::{CreateFloatingIp, UpdateFloatingIp};
use crate::app::network::validate;
use crate::app::App;
use crate::db::network::floating_ips::FloatingIp;
use crate::error::{Error, Result};

/// A floating IP as Nova shows it.
pub struct NovaFloatingIp {
    pub fip: FloatingIp,
    pub pool: Option<String>,
    pub instance_id: Option<String>,
}

impl App {
    async fn nova_view(&self, caller: &Caller, fips: Vec<FloatingIp>) -> Result<Vec<NovaFloatingIp>> {
        let networks = self.list_networks(caller).await?;
        let ports = self.list_ports(caller).await?;
        Ok(fips
            .into_iter()
            .map(|fip| NovaFloatingIp {
                pool: networks
                    .iter()
                    .find(|n| n.id == fip.floating_network_id)
                    .map(|n| n.name.clone()),
                instance_id: fip.port_id.as_ref().and_then(|p| {
                    ports
                        .iter()
                        .find(|x| &x.port.id == p && !x.port.device_id.is_empty())
                        .map(|x| x.port.device_id.clone())
                }),
                fip,
            })
            .collect())
    }

    pub async fn nova_list_floating_ips(&self, caller: &Caller) -> Result<Vec<NovaFloatingIp>> {
        let own: Vec<FloatingIp> = self
            .list_floating_ips(caller)
            .await?
            .into_iter()
            .filter(|f| caller.project_id() == Some(f.project_id.as_str()))
            .collect();
        self.nova_view(caller, own).await
    }

    pub async fn nova_get_floating_ip(&self, caller: &Caller, id: &str) -> Result<NovaFloatingIp> {
        let fip = self
            .get_floating_ip(caller, id)
            .await
            .map_err(|_| Error::not_found("floating IP", id))?;
        Ok(self.nova_view(caller, vec![fip]).await?.remove(0))
    }

    /// Allocates from `pool` (an external network's name or id; the only one when None).
    pub async fn nova_allocate_floating_ip(&self, caller: &Caller, pool: Option<&str>) -> Result<NovaFloatingIp> {
        let externals: Vec<_> = self
            .list_networks(caller)
            .await?
            .into_iter()
            .filter(|n| n.external)
            .collect();
        let net = match pool {
            Some(p) => externals.iter().find(|n| n.id == p || n.name == p),
            None if externals.len() == 1 => externals.first(),
            None => None,
        }
        .ok_or_else(|| Error::not_found("floating IP pool", pool.unwrap_or("(default)")))?;
        let fip = self
            .create_floating_ip(caller, CreateFloatingIp::on_network(&net.id))
            .await?;
        Ok(self.nova_view(caller, vec![fip]).await?.remove(0))
    }

    pub async fn nova_release_floating_ip(&self, caller: &Caller, id: &str) -> Result<()> {
        self.get_floating_ip(caller, id)
            .await
            .map_err(|_| Error::not_found("floating IP", id))?;
        self.delete_floating_ip(caller, id).await
    }

    async fn fip_by_address(&self, caller: &Caller, address: &str) -> Result<FloatingIp> {
        if address.is_empty() {
            return Err(Error::bad_request("Floating IP address is required."));
        }
        self.list_floating_ips(caller)
            .await?
            .into_iter()
            .find(|f| f.floating_ip_address == address)
            .ok_or_else(|| Error::not_found("floating IP", address))
    }

    /// `addFloatingIp`: onto the server's port (the one with `fixed_address` when given); a
    /// server whose port already has one refuses another (400), an IP associated elsewhere
    /// moves.
    pub async fn nova_associate_floating_ip(
        &self,
        caller: &Caller,
        server_id: &str,
        address: &str,
        fixed_address: Option<&str>,
    ) -> Result<()> {
        let s = self.server_for_update(caller, server_id, Guard::Lock).await?;
        let fip = self.fip_by_address(caller, address).await?;
        let ports = self.ports_of_server(caller, &s.id).await?;
        let port = match fixed_address {
            Some(a) => ports.iter().find(|p| p.fixed_ips.iter().any(|f| f.ip_address == a)),
            None => ports
                .iter()
                .find(|p| p.fixed_ips.iter().any(|f| !f.ip_address.contains(':'))),
        }
        .ok_or_else(|| Error::bad_request(format!("Instance {server_id} has no fixed IP to associate with.")))?;
        let taken = self
            .list_floating_ips(caller)
            .await?
            .iter()
            .any(|f| f.id != fip.id && f.port_id.as_deref() == Some(port.port.id.as_str()));
        if taken {
            return Err(Error::bad_request(format!(
                "Port {} already has a floating IP associated.",
                port.port.id
            )));
        }
        let fixed = fixed_address.map(str::to_owned).or_else(|| {
            port.fixed_ips
                .iter()
                .find(|f| !f.ip_address.contains(':'))
                .map(|f| f.ip_address.clone())
        });
        let fixed = fixed
            .map(|a| validate::parse_ip(&a).map_err(|r| validate::invalid("fixed_ip_address", r)))
            .transpose()?;
        self.update_floating_ip(caller, &fip.id, UpdateFloatingIp::associate(&port.port.id, fixed))
            .await?;
        Ok(())
    }

    /// `removeFloatingIp`: only from the server it is associated with (409 otherwise).
    pub async fn nova_disassociate_floating_ip(&self, caller: &Caller, server_id: &str, address: &str) -> Result<()> {
        let s = self.server_for_update(caller, server_id, Guard::Lock).await?;
        let fip = self.fip_by_address(caller, address).await?;
        let on_server = match &fip.port_id {
            Some(p) => self
                .ports_of_server(caller, &s.id)
                .await?
                .iter()
                .any(|x| &x.port.id == p),
            None => false,
        };
        if !on_server {
            return Err(Error::Conflict(format!(
                "Floating IP {address} is not associated with instance {server_id}."
            )));
        }
        self.update_floating_ip(caller, &fip.id, UpdateFloatingIp::disassociate())
            .await?;
        Ok(())
    }
}

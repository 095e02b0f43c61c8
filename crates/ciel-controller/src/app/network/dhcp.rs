//! The network's DHCP port (`device_owner` `network:dhcp`), as Neutron's DHCP agent makes
//! one: an address on every DHCP-enabled IPv4 subnet that the DHCP and metadata service of
//! the network answers from. Ciel creates it when the first VM port is wired on the network;
//! it never blocks deleting its subnet or network, and goes with them.

use super::ports::{service_port, FixedIpRequest};
use crate::app::App;
use crate::db::network::{self, Port, PortStatus};
use crate::db::Tx;
use crate::error::Result;

pub const DHCP_OWNER: &str = "network:dhcp";

/// Subnets DHCP serves: IPv4 with `enable_dhcp` (IPv6 addressing is SLAAC or static here).
pub fn serves(s: &network::Subnet) -> bool {
    s.enable_dhcp && s.ip_version == 4
}

impl App {
    /// Makes sure the network has its DHCP port with an address on each served subnet; returns
    /// it (None when no subnet is served). Runs in the caller's transaction.
    pub(crate) async fn ensure_dhcp_port(&self, tx: &mut Tx<'_>, network_id: &str) -> Result<Option<Port>> {
        let Some(net) = network::get_network(&mut **tx, network_id).await? else {
            return Ok(None);
        };
        let subnets: Vec<_> = network::subnets_of(&mut **tx, network_id)
            .await?
            .into_iter()
            .filter(serves)
            .collect();
        if subnets.is_empty() {
            return Ok(None);
        }
        let existing = network::host_share::ports(&mut **tx, &[network_id.to_string()])
            .await?
            .into_iter()
            .find(|p| p.device_owner == DHCP_OWNER);
        let port = match existing {
            Some(p) => p,
            None => {
                let p = service_port(
                    network_id,
                    &net.project_id,
                    &format!("dhcp-{network_id}"),
                    DHCP_OWNER,
                    PortStatus::Active,
                );
                network::insert_port(&mut **tx, &p).await?;
                p
            }
        };
        let have = network::fixed_ips_of_port(&mut **tx, &port.id).await?;
        let missing: Vec<FixedIpRequest> = subnets
            .iter()
            .filter(|s| !have.iter().any(|f| f.subnet_id == s.id))
            .map(|s| FixedIpRequest {
                subnet_id: Some(s.id.clone()),
                ip: None,
            })
            .collect();
        if !missing.is_empty() {
            self.allocate(tx, &port, &subnets, Some(missing)).await?;
            // The hosts with VMs on the network now have a DHCP service to run.
            self.network_ports_changed(tx, network_id).await?;
        }
        Ok(Some(port))
    }

    /// Removes the DHCP port's address on `subnet_id` (and the port once it has none), so the
    /// service port never keeps a subnet in use.
    pub(crate) async fn release_dhcp_address(tx: &mut Tx<'_>, subnet_id: &str) -> Result<()> {
        for f in network::fixed_ips_of_subnet(&mut **tx, subnet_id).await? {
            let Some(p) = network::get_port(&mut **tx, &f.port_id).await? else {
                continue;
            };
            if p.device_owner != DHCP_OWNER {
                continue;
            }
            network::delete_fixed_ip(&mut **tx, subnet_id, &f.ip_address).await?;
            if network::fixed_ips_of_port(&mut **tx, &p.id).await?.is_empty() {
                network::delete_port(&mut **tx, &p.id).await?;
            }
        }
        Ok(())
    }

    /// Removes the network's DHCP ports (before the network itself goes).
    pub(crate) async fn remove_dhcp_ports(tx: &mut Tx<'_>, network_id: &str) -> Result<()> {
        for p in network::host_share::ports(&mut **tx, &[network_id.to_string()])
            .await?
            .into_iter()
            .filter(|p| p.device_owner == DHCP_OWNER)
        {
            network::delete_port(&mut **tx, &p.id).await?;
        }
        Ok(())
    }
}

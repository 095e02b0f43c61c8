//! The external network `ciel up` creates on first start, so a fresh all-in-one can give
//! routers a gateway and servers floating IPs without any setup.

use crate::app::network::ipam::Pool;
use crate::app::network::params::{CreateNetwork, CreateSubnet, Gateway, NetworkType};
use crate::app::network::validate;
use crate::app::App;
use crate::db::network;
use crate::error::{Error, Result};

impl App {
    /// Creates the configured external network and its subnet unless a network of that name
    /// already exists. Goes through the API's own create paths, so every check applies.
    pub async fn seed_external_network(&self, admin_user_id: &str, admin_project_id: &str) -> Result<()> {
        let ext = &self.cfg.network.external;
        if !ext.enabled {
            return Ok(());
        }
        let existing = network::list_networks(&self.db).await?;
        if existing.iter().any(|n| n.name == ext.name) {
            return Ok(());
        }
        let admin = self.internal_caller(admin_user_id, admin_project_id).await?;
        let net = self
            .create_network(
                &admin,
                CreateNetwork {
                    name: Some(ext.name.clone()),
                    external: Some(true),
                    network_type: Some(NetworkType::Flat),
                    physical_network: Some(ext.physical_network.clone()),
                    ..Default::default()
                },
            )
            .await?;
        let address =
            |text: &str| validate::parse_ip(text).map_err(|r| Error::bad_request(format!("network.external: {r}")));
        let mut subnet = CreateSubnet {
            name: Some(format!("{}-subnet", ext.name)),
            network_id: net.id.to_string(),
            ip_version: Some(if ext.cidr.contains(':') { 6 } else { 4 }),
            cidr: Some(ext.cidr.clone()),
            enable_dhcp: Some(false),
            ..Default::default()
        };
        if let Some(gw) = &ext.gateway_ip {
            subnet.gateway_ip = Some(Some(Gateway {
                ip: address(gw)?,
                text: gw.clone(),
            }));
        }
        if let Some(pool) = &ext.allocation_pool {
            let (start, end) = pool.split_once('-').ok_or_else(|| {
                Error::bad_request(format!(
                    "network.external.allocation_pool '{pool}': expected FIRST-LAST"
                ))
            })?;
            subnet.allocation_pools = Some(vec![Pool {
                start: address(start.trim())?,
                end: address(end.trim())?,
            }]);
        }
        if let Err(e) = self.create_subnet(&admin, subnet).await {
            self.delete_network(&admin, &net.id).await.ok();
            return Err(Error::bad_request(format!("external network {}: {e}", ext.name)));
        }
        tracing::info!(name = %ext.name, id = %net.id, cidr = %ext.cidr, "created the external network");
        Ok(())
    }
}

//! The external network `ciel up` creates on first start, so a fresh all-in-one can give
//! routers a gateway and servers floating IPs without any setup.

use crate::app::network::params::{CreateNetwork, NetworkType};
use crate::app::App;
use crate::db::network;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

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
        let mut subnet = json!({
            "name": format!("{}-subnet", ext.name),
            "network_id": net.id,
            "ip_version": if ext.cidr.contains(':') { 6 } else { 4 },
            "cidr": ext.cidr,
            "enable_dhcp": false,
        });
        if let Some(gw) = &ext.gateway_ip {
            subnet["gateway_ip"] = json!(gw);
        }
        if let Some(pool) = &ext.allocation_pool {
            let (start, end) = pool.split_once('-').ok_or_else(|| {
                Error::bad_request(format!(
                    "network.external.allocation_pool '{pool}': expected FIRST-LAST"
                ))
            })?;
            subnet["allocation_pools"] = json!([{"start": start.trim(), "end": end.trim()}]);
        }
        if let Err(e) = self.create_subnet(&admin, obj(subnet)).await {
            self.delete_network(&admin, &net.id).await.ok();
            return Err(Error::bad_request(format!("external network {}: {e}", ext.name)));
        }
        tracing::info!(name = %ext.name, id = %net.id, cidr = %ext.cidr, "created the external network");
        Ok(())
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

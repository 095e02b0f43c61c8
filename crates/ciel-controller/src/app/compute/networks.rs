//! Nova's network proxies (`/os-tenant-networks`, `/os-networks`): the network service's
//! networks the caller can see, each with the CIDR of its first IPv4 subnet.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::error::{Error, Result};

pub struct NovaNetwork {
    pub id: String,
    pub label: String,
    pub cidr: Option<String>,
}

impl App {
    pub async fn nova_networks(&self, caller: &Caller) -> Result<Vec<NovaNetwork>> {
        let subnets = self.list_subnets(caller).await?;
        Ok(self
            .list_networks(caller)
            .await?
            .into_iter()
            .map(|n| NovaNetwork {
                cidr: subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .min_by_key(|s| s.ip_version)
                    .map(|s| s.cidr.clone()),
                id: n.id.into_string(),
                label: n.name,
            })
            .collect())
    }

    pub async fn nova_network(&self, caller: &Caller, id: &str) -> Result<NovaNetwork> {
        self.nova_networks(caller)
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .ok_or_else(|| Error::not_found("network", id))
    }
}

use super::{may_write, network_visible, not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::identity::input::{self, Body};
use crate::app::App;
use crate::db::network::{self, Network};
use crate::error::{Error, Result};
use serde_json::Value;

const NETWORK_TYPES: &[&str] = &["vxlan", "flat", "vlan"];

impl App {
    pub async fn create_network(&self, caller: &Caller, mut body: Body) -> Result<Network> {
        let project_id = target_project(caller, &mut body)?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        let admin_only = [
            "shared",
            "router:external",
            "provider:network_type",
            "provider:physical_network",
            "provider:segmentation_id",
        ];
        if !caller.is_admin()
            && admin_only
                .iter()
                .any(|k| body.get(*k).is_some_and(|v| v != &Value::Bool(false) && !v.is_null()))
        {
            return Err(Error::forbidden());
        }
        let now = crate::db::now();
        let cfg = &self.cfg.network;
        let network_type =
            input::opt_str(&mut body, "provider:network_type", 32, true)?.unwrap_or_else(|| "vxlan".into());
        if !NETWORK_TYPES.contains(&network_type.as_str()) {
            return Err(Error::bad_request(format!(
                "Invalid input for operation: network_type value '{network_type}' not supported."
            )));
        }
        let physical_network = input::opt_str(&mut body, "provider:physical_network", 64, true)?;
        let requested_segment = match body.remove("provider:segmentation_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| Error::bad_request("provider:segmentation_id must be an integer"))?,
            ),
        };
        if network_type != "vxlan" && physical_network.is_none() {
            return Err(Error::bad_request(format!(
                "Invalid input for operation: {network_type} networks need provider:physical_network."
            )));
        }
        let mtu_max = if network_type == "vxlan" {
            cfg.underlay_mtu - 50
        } else {
            cfg.underlay_mtu
        };
        let mtu = match body.remove("mtu") {
            None | Some(Value::Null) => mtu_max,
            Some(v) => match v.as_i64() {
                Some(m) if (68..=mtu_max).contains(&m) => m,
                _ => {
                    return Err(Error::bad_request(format!(
                        "Requested MTU is too big, maximum is {mtu_max}."
                    )))
                }
            },
        };
        let mut n = Network {
            id: uuid::Uuid::new_v4().to_string(),
            name: input::opt_str(&mut body, "name", 255, true)?.unwrap_or_default(),
            project_id,
            admin_state_up: input::opt_bool(&mut body, "admin_state_up")?.unwrap_or(true),
            shared: input::opt_bool(&mut body, "shared")?.unwrap_or(false),
            external: input::opt_bool(&mut body, "router:external")?.unwrap_or(false),
            mtu,
            network_type,
            physical_network,
            segmentation_id: requested_segment,
            port_security_enabled: input::opt_bool(&mut body, "port_security_enabled")?.unwrap_or(true),
            description: input::opt_str(&mut body, "description", 255, true)?.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        let mut tx = crate::db::begin(&self.db).await?;
        self.check_network_quota(&mut tx, &n.project_id, "network").await?;
        if n.network_type == "vxlan" && n.segmentation_id.is_none() {
            // The write lock is held: the lowest free VNI cannot be taken by anyone else.
            let used: std::collections::HashSet<i64> =
                network::used_segments(&mut *tx, "vxlan").await?.into_iter().collect();
            n.segmentation_id =
                Some(
                    (cfg.vni_min..=cfg.vni_max)
                        .find(|v| !used.contains(v))
                        .ok_or_else(|| Error::Typed {
                            status: 503,
                            kind: "NoNetworkAvailable",
                            message: "Unable to create the network. No tenant network is available for allocation."
                                .into(),
                        })?,
                );
        }
        network::insert_network(&mut *tx, &n).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Typed {
                status: 409,
                kind: "SegmentationIdInUse",
                message: format!(
                    "Unable to create the network. The segmentation id {} is in use.",
                    n.segmentation_id.unwrap_or(0)
                ),
            },
            other => other,
        })?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn get_network(&self, caller: &Caller, id: &str) -> Result<Network> {
        match network::get_network(&self.db, id).await? {
            Some(n) if network_visible(caller, &n) => Ok(n),
            _ => Err(not_found("network", id)),
        }
    }

    pub async fn list_networks(&self, caller: &Caller) -> Result<Vec<Network>> {
        Ok(network::list_networks(&self.db)
            .await?
            .into_iter()
            .filter(|n| network_visible(caller, n))
            .collect())
    }

    pub async fn update_network(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Network> {
        let mut n = self.get_network(caller, id).await?;
        if !may_write(caller, &n.project_id) {
            return Err(Error::forbidden());
        }
        for k in [
            "provider:network_type",
            "provider:physical_network",
            "provider:segmentation_id",
            "id",
            "project_id",
            "tenant_id",
        ] {
            if body.remove(k).is_some() {
                return Err(Error::bad_request(format!(
                    "Invalid input for operation: cannot update '{k}'."
                )));
            }
        }
        if !caller.is_admin() && (body.contains_key("shared") || body.contains_key("router:external")) {
            return Err(Error::forbidden());
        }
        if let Some(v) = input::opt_str(&mut body, "name", 255, true)? {
            n.name = v;
        }
        if let Some(v) = input::opt_str(&mut body, "description", 255, true)? {
            n.description = v;
        }
        if let Some(v) = input::opt_bool(&mut body, "admin_state_up")? {
            n.admin_state_up = v;
        }
        if let Some(v) = input::opt_bool(&mut body, "shared")? {
            n.shared = v;
        }
        if let Some(v) = input::opt_bool(&mut body, "router:external")? {
            n.external = v;
        }
        if let Some(v) = input::opt_bool(&mut body, "port_security_enabled")? {
            n.port_security_enabled = v;
        }
        n.updated_at = crate::db::now();
        network::update_network(&self.db, &n).await?;
        self.get_network(caller, id).await
    }

    /// Deletes a network and its subnets, refusing while ports other than its own service
    /// ports use it (Neutron's NetworkInUse).
    pub async fn delete_network(&self, caller: &Caller, id: &str) -> Result<()> {
        let n = self.get_network(caller, id).await?;
        if !may_write(caller, &n.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = crate::db::begin(&self.db).await?;
        // Floating IPs live and die with their external network, as in Neutron.
        for fip in crate::db::floating_ips::list(&mut *tx)
            .await?
            .into_iter()
            .filter(|f| f.floating_network_id == id)
        {
            crate::db::floating_ips::delete(&mut *tx, &fip.id).await?;
            network::delete_port(&mut *tx, &fip.floating_port_id).await?;
        }
        App::remove_dhcp_ports(&mut tx, id).await?;
        if network::count_ports_on_network(&mut *tx, id).await? > 0 {
            return Err(Error::Typed {
                status: 409,
                kind: "NetworkInUse",
                message: format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network."),
            });
        }
        for s in network::subnets_of(&mut *tx, id).await? {
            network::delete_subnet(&mut *tx, &s.id).await?;
        }
        network::delete_network(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

use super::params::{CreateNetwork, NetworkType, UpdateNetwork};
use super::validate;
use super::{network_visible, not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::policy::may_write;
use crate::app::App;
use crate::db::network::{self, Network};
use crate::error::{Error, Result};

/// Neutron's `NetworkMTUSubnetConflict` (409).
pub(super) fn mtu_subnet_conflict(network_id: &str, min: i64) -> Error {
    Error::Typed {
        status: 409,
        kind: "NetworkMTUSubnetConflict",
        message: format!("MTU of {network_id} is not valid, subnet requires a minimum of {min}"),
    }
}

impl App {
    /// The largest MTU a network of `network_type` can have: the underlay's, less the VXLAN
    /// encapsulation (50 bytes) for overlay networks.
    pub(crate) fn max_mtu(&self, network_type: &str) -> i64 {
        let underlay = self.cfg.network.underlay_mtu;
        if network_type == NetworkType::Vxlan.as_str() {
            underlay - 50
        } else {
            underlay
        }
    }

    pub async fn create_network(&self, caller: &Caller, req: CreateNetwork) -> Result<Network> {
        let project_id = target_project(caller, req.project_id.clone())?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        if !caller.is_admin() && req.sets_admin_only() {
            return Err(Error::forbidden());
        }
        let now = crate::db::now();
        let cfg = &self.cfg.network;
        let network_type = req.network_type.unwrap_or(NetworkType::Vxlan);
        let mtu_max = self.max_mtu(network_type.as_str());
        let mtu = match &req.mtu {
            None => mtu_max,
            Some(m) => m.within(mtu_max, validate::IPV4_MIN_MTU)?,
        };
        let mut n = Network {
            id: uuid::Uuid::new_v4().to_string().into(),
            name: req.name.unwrap_or_default(),
            project_id: project_id.into(),
            admin_state_up: req.admin_state_up.unwrap_or(true),
            shared: req.shared.unwrap_or(false),
            external: req.external.unwrap_or(false),
            mtu,
            network_type: network_type.as_str().into(),
            physical_network: req.physical_network,
            segmentation_id: req.segmentation_id,
            port_security_enabled: req.port_security_enabled.unwrap_or(true),
            description: req.description.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        let mut tx = self.begin().await?;
        self.check_network_quota(&mut tx, &n.project_id, "network").await?;
        if network_type == NetworkType::Vxlan && n.segmentation_id.is_none() {
            // The write lock is held: the lowest free VNI cannot be taken by anyone else.
            let used: std::collections::HashSet<i64> = network::used_segments(&mut *tx, NetworkType::Vxlan.as_str())
                .await?
                .into_iter()
                .collect();
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

    /// The networks the caller may see among the `n` after id `after` (id order), each with
    /// its subnets' ids; and the id to continue after (`None`: no more).
    pub async fn network_page(
        &self,
        caller: &Caller,
        after: Option<&str>,
        n: usize,
    ) -> Result<(Vec<(Network, Vec<String>)>, Option<String>)> {
        let read = network::networks_page(&self.db, after, n as i64).await?;
        let next = crate::app::keyset::next_key(&read, n, |n| n.id.to_string());
        let nets: Vec<Network> = read.into_iter().filter(|n| network_visible(caller, n)).collect();
        let ids: Vec<String> = nets.iter().map(|n| n.id.to_string()).collect();
        let mut subnets: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (net, sub) in network::subnet_ids_of_networks(&self.db, &ids).await? {
            subnets.entry(net).or_default().push(sub);
        }
        let out = nets
            .into_iter()
            .map(|n| {
                let s = subnets.remove(n.id.as_str()).unwrap_or_default();
                (n, s)
            })
            .collect();
        Ok((out, next))
    }

    pub async fn update_network(&self, caller: &Caller, id: &str, req: UpdateNetwork) -> Result<Network> {
        let mut n = self.get_network(caller, id).await?;
        if !may_write(caller, &n.project_id) {
            return Err(Error::forbidden());
        }
        if !caller.is_admin() && req.sets_admin_only() {
            return Err(Error::forbidden());
        }
        if let Some(v) = req.name {
            n.name = v;
        }
        if let Some(v) = req.description {
            n.description = v;
        }
        let old_mtu = n.mtu;
        if let Some(m) = &req.mtu {
            n.mtu = m.within(self.max_mtu(&n.network_type), validate::IPV4_MIN_MTU)?;
            let has_v6 = network::subnets_of(&self.db, &n.id)
                .await?
                .iter()
                .any(|s| s.ip_version == 6);
            if has_v6 && n.mtu < validate::IPV6_MIN_MTU {
                return Err(mtu_subnet_conflict(&n.id, validate::IPV6_MIN_MTU));
            }
        }
        if let Some(v) = req.admin_state_up {
            n.admin_state_up = v;
        }
        if let Some(v) = req.shared {
            n.shared = v;
        }
        if let Some(v) = req.external {
            n.external = v;
        }
        if let Some(v) = req.port_security_enabled {
            n.port_security_enabled = v;
        }
        n.updated_at = crate::db::now();
        let mut tx = self.begin().await?;
        network::update_network(&mut *tx, &n).await?;
        if n.mtu != old_mtu {
            // Taps, bridges and DHCP of the network's hosts take the new MTU.
            self.network_ports_changed(&mut tx, &n.id).await?;
        }
        tx.commit().await?;
        self.get_network(caller, id).await
    }

    /// Deletes a network and its subnets, refusing while ports other than its own service
    /// ports use it (Neutron's NetworkInUse).
    pub async fn delete_network(&self, caller: &Caller, id: &str) -> Result<()> {
        let n = self.get_network(caller, id).await?;
        if !may_write(caller, &n.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        // Floating IPs live and die with their external network, as in Neutron.
        for fip in crate::db::network::floating_ips::list(&mut *tx)
            .await?
            .into_iter()
            .filter(|f| f.floating_network_id == id)
        {
            crate::db::network::floating_ips::delete(&mut *tx, &fip.id).await?;
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

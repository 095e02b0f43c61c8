//! Failover without a worker: every controller, on its heartbeat, moves the load balancers
//! of network nodes that are down to live ones. The VIP port and its floating IP stay (the
//! router's NAT follows the port's address, the new node announces it by gratuitous ARP).
//! Each move is its own write transaction that re-reads the load balancer, so controllers
//! doing this at the same time move each one once.

use super::loadbalancers::finish_delete;
use super::placement::{is_up, pick};
use super::Tree;
use crate::app::App;
use crate::db::compute::hosts;
use crate::db::loadbalancer::{self as db, ProvisioningStatus};
use crate::db::network;
use crate::error::Result;
use std::collections::HashSet;

impl App {
    /// Moves (or, if being deleted, forgets) the load balancers of hosts that are down;
    /// returns how many moved.
    pub async fn fail_over_load_balancers(&self) -> Result<usize> {
        let now = crate::db::now();
        let down_after = self.cfg.scheduler.host_down_after;
        let down: HashSet<String> = hosts::list(&self.db)
            .await?
            .into_iter()
            .filter(|h| !is_up(h, now, down_after))
            .map(|h| h.id)
            .collect();
        if down.is_empty() {
            return Ok(0);
        }
        let stranded: Vec<String> = db::list(&self.db, None)
            .await?
            .into_iter()
            .filter(|lb| lb.host_id.as_ref().is_some_and(|h| down.contains(h)))
            .map(|lb| lb.id)
            .collect();
        let mut moved = 0;
        for id in stranded {
            let mut tx = self.begin().await?;
            let Some(mut t) = Tree::load(&mut tx, &id).await? else {
                continue;
            };
            let Some(from) = t.lb.host_id.clone().filter(|h| down.contains(h)) else {
                continue;
            };
            if t.lb.provisioning_status == ProvisioningStatus::PendingDelete {
                // Its node is gone; the node's agent removes what is left if it comes back
                // (its desired state no longer has the load balancer).
                finish_delete(&mut tx, &t.lb).await?;
                tx.commit().await?;
                continue;
            }
            let Some(net) = network::get_network(&mut *tx, &t.lb.attrs.vip_network_id).await? else {
                continue;
            };
            let Some(to) = pick(&mut tx, &net, down_after, Some(&from)).await? else {
                tracing::warn!(loadbalancer = %id, host = %from, "network node down and no other can serve the load balancer");
                continue;
            };
            let was = t.lb.provisioning_status;
            t.lb.host_id = Some(to.clone());
            t.lb.applied_revision = 0;
            t.pending_update(&[]);
            if was == ProvisioningStatus::PendingCreate {
                t.lb.provisioning_status = was;
            }
            t.save(&mut tx).await?;
            // Every host of the VIP network learns where the VIP lives now (l2 population).
            tx.network_changed(&t.lb.attrs.vip_network_id);
            tx.commit().await?;
            tracing::warn!(loadbalancer = %id, from = %from, to = %to, "load balancer failed over to another network node");
            moved += 1;
        }
        Ok(moved)
    }
}

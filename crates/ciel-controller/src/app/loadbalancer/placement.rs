//! Which network node serves a load balancer: a live, enabled host that can reach the VIP
//! network. For a provider (flat) network that is a host on its physical network; for an
//! overlay network any host with a provider network (a network node), else any live host.
//! Among those, the one serving the fewest load balancers. The choice is stored
//! (`host_id`) and only changes on failover.

use crate::db::compute::hosts::{self, Host};
use crate::db::network::Network;
use crate::db::Tx;
use crate::error::Result;

/// Whether a host counts as up now.
pub fn is_up(h: &Host, now: i64, down_after: i64) -> bool {
    h.enabled && h.is_up(now, down_after)
}

/// The host for a load balancer on `net`, avoiding `except` (a failed host); None when no
/// host can serve it.
pub async fn pick(tx: &mut Tx<'_>, net: &Network, down_after: i64, except: Option<&str>) -> Result<Option<String>> {
    let now = crate::db::now();
    let all = hosts::list(&mut **tx).await?;
    let live: Vec<&Host> = all
        .iter()
        .filter(|h| is_up(h, now, down_after) && Some(h.id.as_str()) != except)
        .collect();
    let candidates: Vec<&Host> = match &net.physical_network {
        Some(p) => live.iter().copied().filter(|h| h.provides(p)).collect(),
        None => {
            let nodes: Vec<&Host> = live.iter().copied().filter(|h| h.provider_networks != "[]").collect();
            if nodes.is_empty() {
                live.clone()
            } else {
                nodes
            }
        }
    };
    let mut best: Option<(&Host, usize)> = None;
    for h in candidates {
        let n = crate::db::loadbalancer::on_host(&mut **tx, &h.id).await?.len();
        if best.is_none_or(|(_, m)| n < m) {
            best = Some((h, n));
        }
    }
    Ok(best.map(|(h, _)| h.id.clone()))
}

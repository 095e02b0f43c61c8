//! Placement: filters (host enabled and up, a forced host, same/different host hints, server
//! group policy, enough vCPUs, RAM and disk under the allocation ratios) then a weigher (most
//! free RAM first, spreading load). Runs inside the transaction
//! that creates the server, so two concurrent boots never claim the same capacity.

use super::server_groups::Placement;
use crate::config::SchedulerConfig;
use crate::db::compute::flavors::Flavor;
use crate::db::compute::hosts;
use crate::db::Tx;
use crate::error::Result;

/// What a request asks of its host besides capacity.
#[derive(Default)]
pub struct Constraints {
    /// The server group's placement, if the request names one.
    pub group: Option<Placement>,
    /// `availability_zone: "nova:HOST"` (admins only): this host name and no other.
    pub forced_host: Option<String>,
    /// The `same_host` hint: host ids, one of which must be chosen.
    pub same_host: Option<Vec<String>>,
    /// The `different_host` hint: host ids that must not be chosen.
    pub different_host: Vec<String>,
    /// Shared storage backends the host must reach (those of the server's volumes).
    pub backends: Vec<String>,
}

impl Constraints {
    fn allows(&self, h: &hosts::Host) -> bool {
        self.group.as_ref().is_none_or(|g| g.allows(&h.id))
            && self.forced_host.as_ref().is_none_or(|f| *f == h.hostname)
            && self.same_host.as_ref().is_none_or(|s| s.contains(&h.id))
            && !self.different_host.contains(&h.id)
            && self.backends.iter().all(|b| h.stores(b))
    }
}

/// The id of the best host for `flavor` within `c`, or None when no host fits.
pub async fn pick(tx: &mut Tx<'_>, cfg: &SchedulerConfig, flavor: &Flavor, c: &Constraints) -> Result<Option<String>> {
    let now = crate::db::now();
    let usage: std::collections::HashMap<String, (i64, i64, i64)> = hosts::usage(&mut **tx)
        .await?
        .into_iter()
        .map(|(h, cpu, ram, disk)| (h, (cpu, ram, disk)))
        .collect();
    let mut best: Option<(f64, String)> = None;
    for h in hosts::list(&mut **tx).await? {
        if !h.enabled || !h.is_up(now, cfg.host_down_after) || !c.allows(&h) {
            continue;
        }
        let (cpu, ram, disk) = usage.get(h.id.as_str()).copied().unwrap_or((0, 0, 0));
        let free_cpu = h.vcpus as f64 * cfg.cpu_allocation_ratio - cpu as f64;
        let free_ram = h.memory_mb as f64 * cfg.ram_allocation_ratio - ram as f64;
        let free_disk = h.disk_gb as f64 * cfg.disk_allocation_ratio - disk as f64;
        if free_cpu < flavor.vcpus as f64 || free_ram < flavor.ram as f64 || free_disk < flavor.disk as f64 {
            continue;
        }
        if best.as_ref().is_none_or(|(r, _)| free_ram > *r) {
            best = Some((free_ram, h.id));
        }
    }
    Ok(best.map(|b| b.1))
}

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
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// How long a [`HostViews`] snapshot is used before it is read again.
const REFRESH_AFTER: Duration = Duration::from_secs(2);
/// Candidates checked against the database before the snapshot is read again.
const CHECKS: usize = 8;

/// The hosts and their claims as last read, so that a decision does not read every host
/// and every server (at 1,000 hosts and 10,000 servers that read was most of a boot's
/// time in the writer's lock). The candidate a snapshot ranks first is checked in the
/// deciding transaction against its own row and its exact claims, so a stale snapshot
/// costs another candidate, never a host over its allocation ratios; when a few
/// candidates fail, or none is left, the snapshot is read again in that transaction,
/// under the writer's lock: then it is exact. Holds one row and three numbers per host.
#[derive(Default)]
pub struct HostViews {
    view: Mutex<Option<Arc<View>>>,
}

#[derive(Clone)]
struct View {
    read_at: Instant,
    hosts: Vec<hosts::Host>,
    usage: HashMap<String, (i64, i64, i64)>,
}

impl HostViews {
    /// Drops the snapshot (a host joined, or was enabled): the next decision reads anew.
    pub fn invalidate(&self) {
        *self.view.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn current(&self) -> Option<Arc<View>> {
        let v = self.view.lock().unwrap_or_else(|e| e.into_inner());
        v.as_ref().filter(|v| v.read_at.elapsed() < REFRESH_AFTER).cloned()
    }

    async fn read(&self, tx: &mut Tx<'_>) -> Result<Arc<View>> {
        let usage = hosts::usage(&mut **tx)
            .await?
            .into_iter()
            .map(|(h, cpu, ram, disk)| (h, (cpu, ram, disk)))
            .collect();
        let hosts = hosts::list(&mut **tx).await?;
        let v = Arc::new(View {
            read_at: Instant::now(),
            hosts,
            usage,
        });
        *self.view.lock().unwrap_or_else(|e| e.into_inner()) = Some(v.clone());
        Ok(v)
    }

    /// Records a claim this controller made, or a host's claims as just read.
    fn set_usage(&self, host: &str, usage: (i64, i64, i64)) {
        let mut v = self.view.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = v.as_mut() {
            Arc::make_mut(v).usage.insert(host.to_string(), usage);
        }
    }
}

/// Whether a host with these claims has room for `flavor`, and its free RAM (the weight).
fn room(cfg: &SchedulerConfig, h: &hosts::Host, (cpu, ram, disk): (i64, i64, i64), flavor: &Flavor) -> Option<f64> {
    let free_cpu = h.vcpus as f64 * cfg.cpu_allocation_ratio - cpu as f64;
    let free_ram = h.memory_mb as f64 * cfg.ram_allocation_ratio - ram as f64;
    let free_disk = h.disk_gb as f64 * cfg.disk_allocation_ratio - disk as f64;
    let fits = free_cpu >= flavor.vcpus as f64 && free_ram >= flavor.ram as f64 && free_disk >= flavor.disk as f64;
    fits.then_some(free_ram)
}

/// The hosts of `view` that pass the filters, best first (most free RAM; ties in host
/// name order).
fn ranked(view: &View, cfg: &SchedulerConfig, flavor: &Flavor, c: &Constraints, now: i64) -> Vec<(f64, usize)> {
    let mut fit: Vec<(f64, usize)> = view
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.enabled && h.is_up(now, cfg.host_down_after) && c.allows(h))
        .filter_map(|(i, h)| {
            let used = view.usage.get(h.id.as_str()).copied().unwrap_or((0, 0, 0));
            room(cfg, h, used, flavor).map(|free| (free, i))
        })
        .collect();
    // Stable: equal weights keep the hosts' name order.
    fit.sort_by(|a, b| b.0.total_cmp(&a.0));
    fit
}

/// The id of the best host for `flavor` within `c`, or None when no host fits.
pub async fn pick(
    tx: &mut Tx<'_>,
    views: &HostViews,
    cfg: &SchedulerConfig,
    flavor: &Flavor,
    c: &Constraints,
) -> Result<Option<String>> {
    let now = crate::db::now();
    if let Some(view) = views.current() {
        for (_, i) in ranked(&view, cfg, flavor, c, now).into_iter().take(CHECKS) {
            let id = view.hosts[i].id.as_str();
            let Some(h) = hosts::get(&mut **tx, id).await? else {
                continue;
            };
            let used = hosts::usage_of(&mut **tx, id).await?;
            let usable = h.enabled && h.is_up(now, cfg.host_down_after) && c.allows(&h);
            if usable && room(cfg, &h, used, flavor).is_some() {
                views.set_usage(id, (used.0 + flavor.vcpus, used.1 + flavor.ram, used.2 + flavor.disk));
                return Ok(Some(h.id));
            }
            views.set_usage(id, used);
        }
    }
    // Read under the writer's lock: exact, so the first candidate is the answer.
    let view = views.read(tx).await?;
    let Some(&(_, i)) = ranked(&view, cfg, flavor, c, now).first() else {
        return Ok(None);
    };
    let h = &view.hosts[i];
    let used = view.usage.get(h.id.as_str()).copied().unwrap_or((0, 0, 0));
    views.set_usage(
        &h.id,
        (used.0 + flavor.vcpus, used.1 + flavor.ram, used.2 + flavor.disk),
    );
    Ok(Some(h.id.clone()))
}

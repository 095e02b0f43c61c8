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
use std::sync::Mutex;
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
    view: Mutex<Option<View>>,
}

struct View {
    read_at: Instant,
    hosts: Vec<hosts::Host>,
    usage: HashMap<String, (i64, i64, i64)>,
}

impl HostViews {
    /// Drops the snapshot (a host joined, or was enabled): the next decision reads anew.
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<View>> {
        self.view.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The best few hosts of a fresh snapshot, best first; none without one.
    fn candidates(&self, cfg: &SchedulerConfig, flavor: &Flavor, c: &Constraints, now: i64) -> Vec<String> {
        let v = self.lock();
        let Some(v) = v.as_ref().filter(|v| v.read_at.elapsed() < REFRESH_AFTER) else {
            return vec![];
        };
        best(v, cfg, flavor, c, now, CHECKS)
            .into_iter()
            .map(|i| v.hosts[i].id.clone())
            .collect()
    }

    /// Records a host's claims: as just read, or with a claim this controller made.
    fn set_usage(&self, host: &str, usage: (i64, i64, i64)) {
        if let Some(v) = self.lock().as_mut() {
            v.usage.insert(host.to_string(), usage);
        }
    }
}

impl View {
    async fn read(tx: &mut Tx<'_>) -> Result<View> {
        let usage = hosts::usage(&mut **tx)
            .await?
            .into_iter()
            .map(|(h, cpu, ram, disk)| (h, (cpu, ram, disk)))
            .collect();
        let hosts = hosts::list(&mut **tx).await?;
        Ok(View {
            read_at: Instant::now(),
            hosts,
            usage,
        })
    }

    fn used(&self, host: &str) -> (i64, i64, i64) {
        self.usage.get(host).copied().unwrap_or((0, 0, 0))
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

/// The indexes in `view.hosts` of the `n` best hosts that pass the filters, best first:
/// most free RAM, ties in host name order. Linear in the hosts (a selection, then a sort
/// of the `n`).
fn best(view: &View, cfg: &SchedulerConfig, flavor: &Flavor, c: &Constraints, now: i64, n: usize) -> Vec<usize> {
    let mut fit: Vec<(f64, usize)> = view
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.enabled && h.is_up(now, cfg.host_down_after) && c.allows(h))
        .filter_map(|(i, h)| room(cfg, h, view.used(&h.id), flavor).map(|free| (free, i)))
        .collect();
    let order = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if fit.len() > n {
        fit.select_nth_unstable_by(n, order);
        fit.truncate(n);
    }
    fit.sort_by(order);
    fit.into_iter().map(|(_, i)| i).collect()
}

fn plus(used: (i64, i64, i64), flavor: &Flavor) -> (i64, i64, i64) {
    (used.0 + flavor.vcpus, used.1 + flavor.ram, used.2 + flavor.disk)
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
    for id in views.candidates(cfg, flavor, c, now) {
        let Some(h) = hosts::get(&mut **tx, &id).await? else {
            continue;
        };
        let used = hosts::usage_of(&mut **tx, &id).await?;
        let usable = h.enabled && h.is_up(now, cfg.host_down_after) && c.allows(&h);
        if usable && room(cfg, &h, used, flavor).is_some() {
            views.set_usage(&id, plus(used, flavor));
            return Ok(Some(id));
        }
        views.set_usage(&id, used);
    }
    // Read under the writer's lock: exact, so the first candidate is the answer.
    let view = View::read(tx).await?;
    let chosen = best(&view, cfg, flavor, c, now, 1)
        .first()
        .map(|&i| view.hosts[i].id.clone());
    let used = chosen.as_deref().map(|id| view.used(id));
    *views.lock() = Some(view);
    if let (Some(id), Some(used)) = (&chosen, used) {
        views.set_usage(id, plus(used, flavor));
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, memory_mb: i64, enabled: bool) -> hosts::Host {
        hosts::Host {
            id: format!("id-{name}"),
            hostname: name.into(),
            underlay_ip: None,
            vcpus: 4,
            memory_mb,
            disk_gb: 100,
            hypervisor_type: "fake".into(),
            token_hash: String::new(),
            enabled,
            generation: 1,
            applied_generation: 1,
            last_seen: 1_000,
            created_at: 0,
            agent_url: None,
            agent_secret: String::new(),
            provider_networks: "[]".into(),
            storage_backends: "[\"file\"]".into(),
            images_type: "file".into(),
            forced_down: false,
            report_digest: None,
        }
    }

    fn flavor(ram: i64) -> Flavor {
        Flavor {
            id: "f".into(),
            name: "f".into(),
            ram,
            vcpus: 1,
            disk: 1,
            ephemeral: 0,
            swap: 0,
            rxtx_factor: 1.0,
            is_public: true,
            description: None,
            created_at: 0,
        }
    }

    /// The top few of a selection are the same hosts, in the same order, as a full sort
    /// gives: most free RAM first, equal ones in name order; disabled, down and full hosts
    /// are left out.
    #[test]
    fn best_hosts_are_the_full_sort_s_first_ones() {
        let cfg = SchedulerConfig::default();
        let mut hosts: Vec<hosts::Host> = (0..200)
            .map(|i| host(&format!("h{i:03}"), 4096 * (1 + i % 7), i % 13 != 5))
            .collect();
        hosts[17].last_seen = 0;
        let mut usage = HashMap::new();
        usage.insert("id-h006".to_string(), (0, 42_000, 0));
        let view = View {
            read_at: Instant::now(),
            hosts,
            usage,
        };
        let f = flavor(2048);
        let c = Constraints::default();
        let all = best(&view, &cfg, &f, &c, 1_000, usize::MAX);
        let names = |ix: &[usize]| ix.iter().map(|&i| view.hosts[i].hostname.clone()).collect::<Vec<_>>();
        assert!(!names(&all).contains(&"h005".to_string()), "disabled");
        assert!(!names(&all).contains(&"h017".to_string()), "down");
        assert!(!names(&all).contains(&"h006".to_string()), "full");
        for w in all.windows(2) {
            let free = |i: usize| {
                view.hosts[i].memory_mb as f64 * cfg.ram_allocation_ratio - view.used(&view.hosts[i].id).1 as f64
            };
            assert!(free(w[0]) > free(w[1]) || (free(w[0]) == free(w[1]) && w[0] < w[1]));
        }
        for n in [1, 2, 8, 50] {
            assert_eq!(names(&best(&view, &cfg, &f, &c, 1_000, n)), names(&all[..n]), "top {n}");
        }
    }
}

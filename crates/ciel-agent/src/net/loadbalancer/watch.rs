//! Member health and listener state change without any new desired state (a member stops
//! answering its monitor), and the controller must learn it within a check interval or so.
//! This watcher reads every running load balancer's stats socket once a second and bumps a
//! counter whenever what it sees changes (not counters: member states and listener
//! up-states); the agent's loop reconciles and reports after each bump, as it does after a
//! VM task's change. It also runs the UDP pools' health checks that are due
//! ([`super::probe`]), whose changes bump the counter the same way.

use super::super::kernel::Kernel;
use super::stats::{self, Health};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);

/// The health of every load balancer with a running haproxy under `root`, by id.
async fn snapshot(k: &dyn Kernel, root: &std::path::Path) -> BTreeMap<String, Health> {
    let mut out = BTreeMap::new();
    let Ok(dirs) = std::fs::read_dir(root) else { return out };
    for d in dirs.flatten() {
        let dir = d.path();
        if k.haproxy_pid(&dir).is_none() {
            continue;
        }
        if let Ok(csv) = k.haproxy_command(&dir.join("stats.sock"), "show stat").await {
            out.insert(
                d.file_name().to_string_lossy().into_owned(),
                stats::parse(&csv).health(),
            );
        }
    }
    out
}

/// Watches the load balancers under `root` until aborted; `changes` counts what it saw
/// change.
pub fn spawn(k: Arc<dyn Kernel>, root: PathBuf, changes: tokio::sync::watch::Sender<u64>) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        let mut last = snapshot(k.as_ref(), &root).await;
        let mut udp = super::probe::Checker::default();
        loop {
            tokio::time::sleep(EVERY).await;
            let now = snapshot(k.as_ref(), &root).await;
            let udp_changed = udp.round(k.as_ref(), &root).await;
            if now != last || udp_changed {
                tracing::debug!("load balancer health changed");
                changes.send_modify(|n| *n = n.wrapping_add(1));
                last = now;
            }
        }
    })
    .abort_handle()
}

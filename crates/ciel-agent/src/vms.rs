//! One task (an actor) per VM. Each reconcile hands every VM its desired state, the latest
//! replacing any not yet taken; the VM's task brings the VM there (fetching its images and
//! config drive first when the driver needs them), one reconcile at a time, while the tasks
//! of other VMs run in parallel: a QEMU that stops answering holds up its own VM only. A
//! task whose VM is no longer desired removes it and ends.
//!
//! What the tasks observed is kept with the spec it was observed for: a VM is reported as
//! observed only for the spec it is desired with now, `Building` (which the controller
//! ignores) until its task has applied that spec. Every change of an observation bumps a
//! counter the agent watches, so a VM that converges later is reported then.

use crate::driver::Hypervisor;
use anyhow::Context;
use ciel_proto::{HostConfig, VmSpec, VmState, VmStatus};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How long a reconcile waits for the VMs' tasks before it reports what they observed so far.
pub const SETTLE: Duration = Duration::from_secs(1);

/// What a VM's task needs to bring its VM to a spec.
pub struct VmWork {
    pub driver: Arc<dyn Hypervisor>,
    pub http: reqwest::Client,
    pub state_dir: PathBuf,
}

/// Where the VM's images and instance data come from: the host's agent API base URL on the
/// controller, and the host token.
pub type Source = Option<(String, String)>;

#[derive(Clone)]
enum Desired {
    Present(Box<VmSpec>, Source),
    Absent,
}

/// The tasks of this host's VMs.
pub struct VmActors {
    work: Arc<VmWork>,
    /// The desired state of each VM that has a task.
    tasks: Arc<Mutex<HashMap<String, watch::Sender<Desired>>>>,
    /// The last status of each VM with the spec it was observed for.
    observed: Arc<Mutex<HashMap<String, (VmSpec, VmStatus)>>>,
    /// Bumped on every change of `observed` (and when a task ends).
    changes: Arc<watch::Sender<u64>>,
}

impl VmActors {
    pub fn new(work: VmWork) -> Self {
        Self {
            work: Arc::new(work),
            tasks: Arc::default(),
            observed: Arc::default(),
            changes: Arc::new(watch::channel(0).0),
        }
    }

    /// Changes of what the tasks observed.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Tells each VM that is not in `cfg` (on the host, or with a task) to go.
    pub async fn retire(&self, cfg: &HostConfig) {
        let wanted: HashSet<&str> = cfg.vms.iter().map(|v| v.id.as_str()).collect();
        let existing = self.work.driver.list().await;
        let Ok(mut tasks) = self.tasks.lock() else { return };
        let mut gone: Vec<String> = existing
            .into_iter()
            .filter(|id| !wanted.contains(id.as_str()))
            .collect();
        gone.extend(tasks.keys().filter(|id| !wanted.contains(id.as_str())).cloned());
        gone.sort();
        gone.dedup();
        for id in gone {
            if cfg.evacuated.contains(&id) {
                self.work.driver.disown(&id);
            }
            self.work.driver.control(&id, None);
            self.send(&mut tasks, &id, Desired::Absent);
        }
    }

    /// Hands each VM of `cfg` its spec.
    pub fn dispatch(&self, cfg: &HostConfig, source: Option<(&str, &str)>) {
        let source: Source = source.map(|(b, t)| (b.to_string(), t.to_string()));
        let Ok(mut tasks) = self.tasks.lock() else { return };
        for spec in &cfg.vms {
            self.work.driver.control(&spec.id, spec.migration.as_ref());
            self.send(
                &mut tasks,
                &spec.id,
                Desired::Present(Box::new(spec.clone()), source.clone()),
            );
        }
    }

    /// Hands `desired` to the VM's task, starting one if it has none.
    fn send(&self, tasks: &mut HashMap<String, watch::Sender<Desired>>, id: &str, desired: Desired) {
        let desired = match tasks.get(id) {
            Some(tx) => match tx.send(desired) {
                Ok(()) => return,
                Err(watch::error::SendError(d)) => d,
            },
            None => desired,
        };
        let (tx, rx) = watch::channel(desired);
        tasks.insert(id.to_string(), tx);
        let actor = Actor {
            id: id.to_string(),
            work: self.work.clone(),
            tasks: self.tasks.clone(),
            observed: self.observed.clone(),
            changes: self.changes.clone(),
        };
        tokio::spawn(actor.run(rx));
    }

    /// Whether every VM of `cfg` has been observed with its spec.
    fn settled(&self, cfg: &HostConfig) -> bool {
        let Ok(observed) = self.observed.lock() else {
            return true;
        };
        cfg.vms
            .iter()
            .all(|spec| observed.get(&spec.id).is_some_and(|(s, _)| s == spec))
    }

    /// Waits until every VM of `cfg` has been observed with its spec, or `wait` has passed.
    pub async fn settle(&self, cfg: &HostConfig, wait: Duration) {
        let mut changes = self.changes();
        let deadline = tokio::time::Instant::now() + wait;
        while !self.settled(cfg) {
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return;
            }
        }
    }

    /// The status of each VM of `cfg`: as observed for its spec, else `Building`.
    pub fn report(&self, cfg: &HostConfig) -> Vec<VmStatus> {
        let observed = self.observed.lock().map(|o| o.clone()).unwrap_or_default();
        cfg.vms
            .iter()
            .map(|spec| match observed.get(&spec.id) {
                Some((s, status)) if s == spec => status.clone(),
                _ => VmStatus {
                    id: spec.id.clone(),
                    state: VmState::Building,
                    boot_serial: spec.boot_serial,
                    message: None,
                    volumes: vec![],
                    slots: vec![],
                    migration: None,
                    volume_migrations: vec![],
                },
            })
            .collect()
    }

    /// The volumes the VMs may still have attached as last observed (a VM being removed or
    /// changed still holds its old ones): storage keeps them until their VM lets go.
    pub fn volumes_in_use(&self) -> Vec<String> {
        let Ok(observed) = self.observed.lock() else {
            return vec![];
        };
        observed
            .values()
            .flat_map(|(spec, _)| {
                spec.volumes
                    .iter()
                    .map(|v| v.volume_id.clone())
                    .chain(spec.root_volume.clone())
            })
            .collect()
    }

    /// Whether the VM has a task (it is desired, or its removal has not finished).
    pub fn has_task(&self, id: &str) -> bool {
        self.tasks.lock().is_ok_and(|t| t.contains_key(id))
    }
}

/// The task of one VM.
struct Actor {
    id: String,
    work: Arc<VmWork>,
    tasks: Arc<Mutex<HashMap<String, watch::Sender<Desired>>>>,
    observed: Arc<Mutex<HashMap<String, (VmSpec, VmStatus)>>>,
    changes: Arc<watch::Sender<u64>>,
}

impl Actor {
    async fn run(self, mut desired: watch::Receiver<Desired>) {
        loop {
            let now = desired.borrow_and_update().clone();
            match now {
                Desired::Present(spec, source) => {
                    let status = self.work.bring(&spec, source.as_ref()).await;
                    self.observe(Some((*spec, status)));
                }
                Desired::Absent => match self.work.driver.remove(&self.id).await {
                    Ok(()) => {
                        // Ends unless a spec came meanwhile (checked under the lock senders
                        // take, so none is lost).
                        let Ok(mut tasks) = self.tasks.lock() else { return };
                        if !desired.has_changed().unwrap_or(false) {
                            tasks.remove(&self.id);
                            // (Still under the lock: a new task for the same id observes after.)
                            self.observe(None);
                            return;
                        }
                        continue;
                    }
                    Err(e) => tracing::warn!(vm = %self.id, error = %e, "removing a VM failed; will retry"),
                },
            }
            if desired.changed().await.is_err() {
                return;
            }
        }
    }

    /// Records the VM's new observation (`None`: it is gone); bumps the change counter if
    /// it differs from the last.
    fn observe(&self, now: Option<(VmSpec, VmStatus)>) {
        let Ok(mut observed) = self.observed.lock() else { return };
        let changed = match now {
            Some(o) => observed.insert(self.id.clone(), o.clone()).as_ref() != Some(&o),
            None => observed.remove(&self.id).is_some(),
        };
        drop(observed);
        if changed {
            self.changes.send_modify(|n| *n += 1);
        }
    }
}

impl VmWork {
    /// Prepares the VM (with a source) and brings it to `spec`; failures are in the status.
    async fn bring(&self, spec: &VmSpec, source: Option<&(String, String)>) -> VmStatus {
        if let Some((base, token)) = source {
            if let Err(e) = self.prepare(base, token, spec).await {
                return VmStatus {
                    id: spec.id.clone(),
                    state: VmState::Error,
                    boot_serial: spec.boot_serial,
                    message: Some(format!("{e:#}")),
                    volumes: vec![],
                    slots: vec![],
                    // A destination that cannot prepare fails the migration.
                    migration: spec
                        .migration
                        .as_ref()
                        .filter(|m| m.role == ciel_proto::MigrationRole::Destination)
                        .map(|m| ciel_proto::MigrationProgress {
                            id: m.id.clone(),
                            status: ciel_proto::MigrationStatus::Failed,
                            error: Some(format!("{e:#}")),
                            ..Default::default()
                        }),
                    volume_migrations: vec![],
                };
            }
        }
        self.driver.ensure(spec).await
    }

    /// What a VM needs on this host before it can start: cached images, its config drive.
    async fn prepare(&self, base: &str, token: &str, spec: &VmSpec) -> anyhow::Result<()> {
        if self.driver.needs_images() {
            self.cache_images(base, token, spec)
                .await
                .context("image unavailable")?;
        }
        if let (true, Some(iso)) = (spec.config_drive, self.driver.config_drive_path(&spec.id)) {
            if !iso.exists() {
                let md =
                    crate::instance_data::fetch(&self.http, base, token, &[("server_id", spec.id.as_str())]).await?;
                if let Some(d) = iso.parent() {
                    std::fs::create_dir_all(d)?;
                }
                crate::instance_data::write_config_drive(&md, &iso)
                    .await
                    .context("config drive not written")?;
            }
        }
        Ok(())
    }

    async fn cache_images(&self, base: &str, token: &str, spec: &VmSpec) -> anyhow::Result<()> {
        let dir = crate::cache::images_dir(&self.state_dir);
        // (A VM booted from a volume has no image of its own: only its kernel and ramdisk.)
        for img in std::iter::once(&spec.image)
            .filter(|i| !i.id.is_empty() && self.driver.needs_root_image(spec))
            .chain(spec.kernel.iter())
            .chain(spec.ramdisk.iter())
        {
            crate::cache::ensure(&self.http, &format!("{base}/images/{}", img.id), token, &dir, img).await?;
        }
        Ok(())
    }
}

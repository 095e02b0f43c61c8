//! This host's part in volume migrations (`os-migrate_volume`, `os-retype` with
//! migration), as the controller lists it: copy a volume into a backend of this host, serve
//! a volume's contents to the host that copies it, or remove the old copy of a migrated
//! volume (from a shared pool, or the one an attached volume's mirror left; the mirror
//! itself is the VM's: `qemu::swap`).
//!
//! A copy makes a fresh, empty volume of the destination backend and writes the source's
//! contents over all of it (`qemu-img convert -n`): from another backend of this host, from
//! the shared pool, or from what another host serves over NBD ([`super::transfer`]). It is
//! done again from the start if the agent restarts before the controller has the report;
//! the controller switches the volume to its new place only after it. A failed copy removes
//! what it wrote. Finished tasks are reported again until no longer listed, never redone;
//! a failed removal is retried on the next pass.

use super::backup::safe_id;
use super::grace::Grace;
use super::{transfer, Storage, VolumeBackend};
use anyhow::{bail, Context};
use ciel_proto::{
    VolumeCopySource, VolumeMigrationOutcome, VolumeMigrationSpec, VolumeMigrationStatus, VolumeMigrationTask,
    VolumeSpec,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The volumes copied into this host: its reconcile keeps them although no desired volume
/// names them yet.
pub fn incoming(specs: &[VolumeMigrationSpec]) -> impl Iterator<Item = String> + '_ {
    specs
        .iter()
        .filter(|s| matches!(s.task, VolumeMigrationTask::Copy { .. }))
        .map(|s| s.volume_id.clone())
}

/// How long a copy waits for the holding host to serve the volume: both hosts get their
/// part at once, so the copier may look before the server listens; after this the copy is
/// tried (and fails, reported) so that a dead source cannot hold the volume forever.
const EXPORT_WAIT: Duration = Duration::from_secs(300);

/// The NBD servers this host runs for migrations, and the tasks it has finished lately.
pub struct Migrations {
    /// Pid files of the servers, one per migration (`<id>.pid`).
    dir: PathBuf,
    qemu_img: String,
    done: Mutex<HashMap<String, VolumeMigrationOutcome>>,
    /// Copies from another host's export that found it not listening yet.
    waiting: Grace,
}

fn task_key(s: &VolumeMigrationSpec) -> String {
    let kind = match &s.task {
        VolumeMigrationTask::Copy { .. } => "copy",
        VolumeMigrationTask::Serve { .. } => "serve",
        VolumeMigrationTask::RemoveOld { .. } => "remove",
    };
    format!("{}:{kind}", s.id)
}

impl Migrations {
    pub fn new(state_dir: &Path, qemu_img: &str) -> Self {
        Self {
            dir: state_dir.join("volume-migrations"),
            qemu_img: qemu_img.into(),
            done: Mutex::default(),
            waiting: Grace::new(EXPORT_WAIT),
        }
    }

    /// Serves what is listed, stops the servers no longer listed, then does the copies and
    /// removals (one after another) and reports each finished or failed one.
    pub async fn run(&self, storage: &Storage, specs: &[VolumeMigrationSpec]) -> Vec<VolumeMigrationStatus> {
        self.stop_unlisted(specs);
        let keys: Vec<String> = specs.iter().map(task_key).collect();
        if let Ok(mut d) = self.done.lock() {
            d.retain(|k, _| keys.contains(k));
        }
        self.waiting.retain(|k| keys.iter().any(|x| x == k));
        let mut out = vec![];
        for (spec, key) in specs.iter().zip(keys) {
            if let Err(e) = check_ids(spec) {
                out.push(failed(spec, e));
                continue;
            }
            if let VolumeMigrationTask::Serve { backend, addr, port } = &spec.task {
                if let Err(e) = self.serve(storage, spec, backend, addr, *port).await {
                    tracing::warn!(migration = %spec.id, volume = %spec.volume_id, error = %format!("{e:#}"), "cannot serve a migrating volume");
                }
                continue;
            }
            let known = self.done.lock().ok().and_then(|d| d.get(&key).cloned());
            if known.is_none() && !self.export_ready(spec, &key).await {
                continue;
            }
            let outcome = match known {
                Some(o) => o,
                None => {
                    let o = match self.task(storage, spec).await {
                        Ok(o) => o,
                        Err(e) => {
                            tracing::warn!(migration = %spec.id, volume = %spec.volume_id, task = %key, error = %format!("{e:#}"), "volume migration task failed");
                            VolumeMigrationOutcome::Failed {
                                message: format!("{e:#}"),
                            }
                        }
                    };
                    // A failed removal is tried again; anything else is reported as it was.
                    let retry = matches!(spec.task, VolumeMigrationTask::RemoveOld { .. })
                        && matches!(o, VolumeMigrationOutcome::Failed { .. });
                    if !retry {
                        if let Ok(mut d) = self.done.lock() {
                            d.insert(key, o.clone());
                        }
                    }
                    o
                }
            };
            out.push(VolumeMigrationStatus {
                id: spec.id.clone(),
                outcome,
            });
        }
        out
    }

    /// Whether a copy may start: a copy from another host's export waits (reporting
    /// nothing) while that export does not listen yet, up to [`EXPORT_WAIT`].
    async fn export_ready(&self, spec: &VolumeMigrationSpec, key: &str) -> bool {
        let VolumeMigrationTask::Copy {
            source: VolumeCopySource::Nbd { addr, port },
            ..
        } = &spec.task
        else {
            return true;
        };
        let probe = tokio::net::TcpStream::connect((addr.as_str(), *port));
        if matches!(tokio::time::timeout(Duration::from_secs(2), probe).await, Ok(Ok(_))) {
            return true;
        }
        if let Some(waited) = self.waiting.waiting(key) {
            tracing::info!(migration = %spec.id, volume = %spec.volume_id, addr, port, waited_s = waited.as_secs(), "the holding host does not serve the volume yet; the copy waits");
            return false;
        }
        true
    }

    async fn task(&self, storage: &Storage, spec: &VolumeMigrationSpec) -> anyhow::Result<VolumeMigrationOutcome> {
        match &spec.task {
            VolumeMigrationTask::Copy { backend, source } => {
                let dest = backend_of(storage, backend)?;
                let r = self.copy(storage, spec, dest, source).await;
                if r.is_err() {
                    // What a failed copy wrote goes (a shared pool keeps what it is not told
                    // to remove; a local backend would remove it anyway once unlisted).
                    if let Err(e) = dest.remove_volume(&spec.volume_id).await {
                        tracing::warn!(volume = %spec.volume_id, error = %format!("{e:#}"), "cannot remove a failed copy");
                    }
                }
                r?;
                tracing::info!(migration = %spec.id, volume = %spec.volume_id, backend, "volume copied");
                Ok(VolumeMigrationOutcome::Copied)
            }
            VolumeMigrationTask::RemoveOld { backend } => {
                // Listed for a shared pool, and for the local copy a mirror left (the host's
                // reconcile keeps any volume a VM here has attached).
                let b = backend_of(storage, backend)?;
                if b.volumes().contains(&spec.volume_id) {
                    b.remove_volume(&spec.volume_id).await?;
                }
                tracing::info!(migration = %spec.id, volume = %spec.volume_id, backend, "old copy of a migrated volume removed");
                Ok(VolumeMigrationOutcome::Removed)
            }
            VolumeMigrationTask::Serve { .. } => bail!("serving is not a task with an outcome"),
        }
    }

    /// A fresh volume of `dest` with the contents of `source`.
    async fn copy(
        &self,
        storage: &Storage,
        spec: &VolumeMigrationSpec,
        dest: &dyn VolumeBackend,
        source: &VolumeCopySource,
    ) -> anyhow::Result<()> {
        let id = &spec.volume_id;
        let (from, from_format) = match source {
            VolumeCopySource::Local { backend } => {
                if backend == dest.name() {
                    bail!("the volume is on the {backend} backend already");
                }
                let b = backend_of(storage, backend)?;
                (b.disk(id).qemu_img_name(true), b.format())
            }
            VolumeCopySource::Nbd { addr, port } => (transfer::nbd_source(addr, *port)?, "raw"),
        };
        // A copy an earlier attempt left (the agent stopped during it) is not trusted.
        if dest.volumes().contains(id) {
            dest.remove_volume(id).await?;
        }
        let empty = VolumeSpec {
            id: id.clone(),
            size_gb: spec.size_gb,
            backend: dest.name().into(),
            source: None,
        };
        dest.create(&empty, None).await?;
        let to = dest.disk(id).qemu_img_name(false);
        super::run(
            &self.qemu_img,
            &["convert", "-n", "-f", from_format, "-O", dest.format(), &from, &to],
        )
        .await
        .with_context(|| format!("cannot copy volume {id} into the {} backend", dest.name()))?;
        Ok(())
    }

    async fn serve(
        &self,
        storage: &Storage,
        spec: &VolumeMigrationSpec,
        backend: &str,
        addr: &str,
        port: u16,
    ) -> anyhow::Result<()> {
        let b = backend_of(storage, backend)?;
        std::fs::create_dir_all(&self.dir)?;
        let name = PathBuf::from(b.disk(&spec.volume_id).qemu_img_name(true));
        let pid_file = self.dir.join(format!("{}.pid", spec.id));
        transfer::serve(&name, addr, port, &pid_file, b.format()).await
    }

    /// Stops the NBD servers of migrations no longer listed for serving.
    fn stop_unlisted(&self, specs: &[VolumeMigrationSpec]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let listed = specs
                .iter()
                .any(|s| s.id == stem && matches!(s.task, VolumeMigrationTask::Serve { .. }));
            if path.extension().is_some_and(|x| x == "pid") && !listed {
                tracing::info!(migration = stem, "stopping the export of a migrated volume");
                transfer::stop(&path);
            }
        }
    }
}

fn backend_of<'a>(storage: &'a Storage, name: &str) -> anyhow::Result<&'a dyn VolumeBackend> {
    storage
        .get(name)
        .with_context(|| format!("this host has no '{name}' storage backend"))
}

fn check_ids(spec: &VolumeMigrationSpec) -> anyhow::Result<()> {
    for id in [&spec.id, &spec.volume_id] {
        if !safe_id(id) {
            bail!("not an id: {id:?}");
        }
    }
    Ok(())
}

fn failed(spec: &VolumeMigrationSpec, e: anyhow::Error) -> VolumeMigrationStatus {
    VolumeMigrationStatus {
        id: spec.id.clone(),
        outcome: VolumeMigrationOutcome::Failed {
            message: format!("{e:#}"),
        },
    }
}

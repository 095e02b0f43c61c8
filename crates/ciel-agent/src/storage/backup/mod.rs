//! Volume backups: the tasks the controller lists in the host's desired state (make,
//! restore, delete), done against this host's backup target, `dir` (a directory of chunks,
//! see [`dir`]) or `rbd` (the Ceph backups pool, see [`rbd`]), chosen by configuration.
//!
//! A backup reads a raw copy of its source: the volume itself when nothing writes to it, a
//! point-in-time copy when it is attached (`point_in_time`: a temporary snapshot on `lvm`
//! and `rbd`; a `file` volume, whose snapshot would be a `qemu-img convert -U` copy read
//! beside the writing guest, is copied by its VM's QEMU with `blockdev-backup`), or the
//! volume snapshot it names. RBD volumes backed up to RBD skip the copy: their snapshots are sent
//! as diffs. A restore writes the backup's raw data over the whole target volume.
//!
//! Tasks are repeated until the controller has the report; a finished (or failed) one is
//! remembered and reported again rather than redone, and a backup already in the target
//! (after an agent restart) counts as made.

pub mod dir;
pub mod rbd;

use super::rbd::CephConfig;
use super::{Storage, VolumeBackend};
use anyhow::{bail, Context};
use ciel_proto::{BackupOutcome, BackupSpec, BackupStatus, BackupTask, SnapshotSpec};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// `[backup]`: where this host keeps backups.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// `dir` (default) or `rbd` (the `[ceph]` cluster's backups pool).
    pub target: Option<String>,
    /// The `dir` target's directory [default: `<state dir>/backups`]; a mount several hosts
    /// share lets any of them restore any backup.
    pub dir: Option<PathBuf>,
}

impl BackupConfig {
    pub fn validate(&self, ceph: Option<&CephConfig>) -> anyhow::Result<()> {
        match (self.target.as_deref().unwrap_or("dir"), ceph) {
            ("dir", _) | ("rbd", Some(_)) => Ok(()),
            ("rbd", None) => bail!("[backup] target = \"rbd\" needs a Ceph cluster ([ceph], or --ceph-conf)"),
            (other, _) => bail!("[backup] target {other:?}: `dir` or `rbd`"),
        }
    }
}

/// Backup and volume ids as the controller makes them (UUIDs): the only names that reach a
/// path or an `rbd` argument.
pub fn safe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') && !id.starts_with('-')
}

enum Target {
    Dir(dir::DirTarget),
    Rbd(rbd::RbdTarget),
}

impl Target {
    fn name(&self) -> &'static str {
        match self {
            Target::Dir(_) => "dir",
            Target::Rbd(_) => "rbd",
        }
    }
}

/// This host's backup target and what it has done lately.
pub struct Backups {
    target: Target,
    scratch: PathBuf,
    /// Finished tasks by (backup, task), reported again until no longer asked for.
    done: Mutex<HashMap<String, BackupOutcome>>,
}

/// Whether the running VM here that has the backup's volume attached wrote a point-in-time
/// raw copy of it to `out` (false: no VM here has it, the caller reads it otherwise).
async fn copied_by_vm(storage: &Storage, spec: &BackupSpec, out: &Path) -> anyhow::Result<bool> {
    match storage.copy_attached(&spec.volume_id, out, "raw").await {
        Some(r) => {
            r?;
            tracing::info!(backup = %spec.id, volume = %spec.volume_id, "attached volume read from a point-in-time copy its VM made");
            Ok(true)
        }
        None => Ok(false),
    }
}

fn task_key(s: &BackupSpec) -> String {
    match &s.task {
        BackupTask::Make { .. } => format!("{}:make", s.id),
        BackupTask::Restore { volume_id, .. } => format!("{}:restore:{volume_id}", s.id),
        BackupTask::Delete => format!("{}:delete", s.id),
    }
}

/// A scratch file removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

impl Backups {
    pub fn new(state_dir: &Path, cfg: &BackupConfig, ceph: Option<&CephConfig>) -> Self {
        let dir_target = || {
            Target::Dir(dir::DirTarget::new(
                cfg.dir.clone().unwrap_or_else(|| state_dir.join("backups")),
            ))
        };
        let target = match (cfg.target.as_deref(), ceph) {
            (Some("rbd"), Some(c)) => Target::Rbd(rbd::RbdTarget::new(c.clone())),
            (Some("rbd"), None) => {
                tracing::error!("[backup] target rbd without a Ceph cluster; backups go to the state directory");
                dir_target()
            }
            _ => dir_target(),
        };
        Self {
            target,
            scratch: state_dir.join("backup-scratch"),
            done: Mutex::default(),
        }
    }

    fn scratch_file(&self, id: &str, what: &str) -> anyhow::Result<Scratch> {
        std::fs::create_dir_all(&self.scratch)?;
        let p = Scratch(self.scratch.join(format!("{id}.{what}")));
        std::fs::remove_file(&p.0).ok();
        Ok(p)
    }

    /// Does the listed tasks (one after another) and reports each finished or failed one.
    pub async fn run(&self, storage: &Storage, specs: &[BackupSpec]) -> Vec<BackupStatus> {
        let keys: Vec<String> = specs.iter().map(task_key).collect();
        if let Ok(mut d) = self.done.lock() {
            d.retain(|k, _| keys.contains(k));
        }
        let mut out = vec![];
        for (spec, key) in specs.iter().zip(keys) {
            let known = self.done.lock().ok().and_then(|d| d.get(&key).cloned());
            let outcome = match known {
                Some(o) => o,
                None => {
                    let o = match self.task(storage, spec).await {
                        Ok(o) => o,
                        Err(e) => {
                            tracing::warn!(backup = %spec.id, task = %key, error = %format!("{e:#}"), "backup task failed");
                            BackupOutcome::Failed {
                                message: format!("{e:#}"),
                            }
                        }
                    };
                    if let Ok(mut d) = self.done.lock() {
                        d.insert(key, o.clone());
                    }
                    o
                }
            };
            out.push(BackupStatus {
                id: spec.id.clone(),
                outcome,
            });
        }
        out
    }

    async fn task(&self, storage: &Storage, spec: &BackupSpec) -> anyhow::Result<BackupOutcome> {
        for id in [&spec.id, &spec.data_id, &spec.volume_id] {
            if !safe_id(id) {
                bail!("not an id: {id:?}");
            }
        }
        if let Some(t) = &spec.target {
            if t != self.target.name() && !matches!(spec.task, BackupTask::Make { .. }) {
                bail!(
                    "the backup is in a '{t}' target; this host's is '{}'",
                    self.target.name()
                );
            }
        }
        match &spec.task {
            BackupTask::Make {
                parent,
                snapshot_id,
                point_in_time,
            } => {
                if let Some(p) = parent.iter().chain(snapshot_id.iter()).find(|p| !safe_id(p)) {
                    bail!("not an id: {p:?}");
                }
                let object_count = self
                    .make(storage, spec, parent.as_deref(), snapshot_id.as_deref(), *point_in_time)
                    .await?;
                tracing::info!(backup = %spec.id, volume = %spec.volume_id, target = self.target.name(), incremental = parent.is_some(), "backup made");
                Ok(BackupOutcome::Made {
                    target: self.target.name().into(),
                    object_count,
                })
            }
            BackupTask::Restore { volume_id, backend } => {
                if !safe_id(volume_id) {
                    bail!("not an id: {volume_id:?}");
                }
                self.restore(storage, &spec.data_id, volume_id, backend).await?;
                tracing::info!(backup = %spec.id, volume = %volume_id, "backup restored");
                Ok(BackupOutcome::Restored {
                    volume_id: volume_id.clone(),
                })
            }
            BackupTask::Delete => {
                self.delete(storage, spec).await?;
                tracing::info!(backup = %spec.id, "backup deleted");
                Ok(BackupOutcome::Deleted)
            }
        }
    }

    fn backend<'a>(&self, storage: &'a Storage, volume: &str, backend: &str) -> anyhow::Result<&'a dyn VolumeBackend> {
        storage
            .locate(volume, backend)
            .with_context(|| format!("volume {volume} is not on this host (backend '{backend}')"))
    }

    /// A raw copy of what the backup reads (see the module's doc).
    async fn source_raw(
        &self,
        storage: &Storage,
        spec: &BackupSpec,
        snapshot: Option<&str>,
        point_in_time: bool,
    ) -> anyhow::Result<Scratch> {
        let b = self.backend(storage, &spec.volume_id, &spec.backend)?;
        let out = self.scratch_file(&spec.id, "raw")?;
        match snapshot {
            Some(s) => b.export_snapshot(s, &spec.volume_id, &out.0).await?,
            None if point_in_time && !b.point_in_time_snapshots() && copied_by_vm(storage, spec, &out.0).await? => {}
            None if point_in_time => {
                // A temporary snapshot named after the backup (ids are unique UUIDs).
                let tmp = SnapshotSpec {
                    id: spec.id.clone(),
                    volume_id: spec.volume_id.clone(),
                };
                b.snapshot(&tmp).await?;
                let r = b.export_snapshot(&tmp.id, &spec.volume_id, &out.0).await;
                if let Err(e) = b.remove_snapshot(&tmp.id).await {
                    tracing::warn!(backup = %spec.id, error = %e, "cannot remove the backup's temporary snapshot");
                }
                r?;
            }
            None => {
                let path = storage.export(&spec.volume_id, &spec.backend, "raw").await?;
                std::fs::rename(&path, &out.0)?;
            }
        }
        Ok(out)
    }

    async fn make(
        &self,
        storage: &Storage,
        spec: &BackupSpec,
        parent: Option<&str>,
        snapshot: Option<&str>,
        point_in_time: bool,
    ) -> anyhow::Result<u64> {
        match &self.target {
            Target::Dir(t) => {
                if let Some(m) = t.manifest(&spec.data_id)? {
                    return Ok(m.chunks.iter().filter(|c| c.stored_in == spec.data_id).count() as u64);
                }
                let parent = match parent {
                    Some(p) if t.manifest(p)?.is_none() => {
                        tracing::warn!(backup = %spec.id, parent = %p, "the parent backup is not in this directory; storing a full copy");
                        None
                    }
                    p => p,
                };
                let raw = self.source_raw(storage, spec, snapshot, point_in_time).await?;
                let (t, id, vol, parent, path) = (
                    t.clone(),
                    spec.data_id.clone(),
                    spec.volume_id.clone(),
                    parent.map(str::to_owned),
                    raw.0.clone(),
                );
                // Hashing and copying are blocking work.
                let made = tokio::task::spawn_blocking(move || t.make(&id, &vol, &path, parent.as_deref())).await?;
                drop(raw);
                made
            }
            Target::Rbd(t) => {
                if t.holder(&spec.data_id).await?.is_some() {
                    return Ok(0);
                }
                match storage.rbd_volume_image(&spec.volume_id, &spec.backend) {
                    Some(image) => self.make_rbd_from_rbd(t, spec, &image, parent, snapshot).await,
                    None => {
                        let raw = self.source_raw(storage, spec, snapshot, point_in_time).await?;
                        t.make_from_raw(&spec.data_id, &raw.0).await
                    }
                }
            }
        }
    }

    /// An RBD volume into the backups pool: from its snapshot `backup-<id>` (taken now, kept
    /// for the next incremental) or the named volume snapshot.
    async fn make_rbd_from_rbd(
        &self,
        t: &rbd::RbdTarget,
        spec: &BackupSpec,
        image: &str,
        parent: Option<&str>,
        snapshot: Option<&str>,
    ) -> anyhow::Result<u64> {
        let rbd = t.tool();
        let snaps = rbd.run(&["snap", "ls", "--format", "json", image]).await?;
        let snaps: Vec<serde_json::Value> = serde_json::from_str(snaps.trim()).unwrap_or_default();
        let has = |name: &str| snaps.iter().any(|s| s["name"] == name);
        let mine = format!("backup-{}", spec.data_id);
        let source = match snapshot {
            Some(s) => format!("snapshot-{s}"),
            None => {
                if !has(&mine) {
                    rbd.run(&["snap", "create", "--no-progress", &format!("{image}@{mine}")])
                        .await?;
                }
                mine.clone()
            }
        };
        let since = parent.map(|p| format!("backup-{p}")).filter(|s| has(s));
        std::fs::create_dir_all(&self.scratch)?;
        let src = rbd::RbdSource {
            image,
            snapshot: &source,
            since: since.as_deref(),
        };
        let r = t.make_from_rbd(&spec.data_id, &src, parent, &self.scratch).await;
        if r.is_err() && source == mine {
            if let Err(e) = rbd.remove_snapshot(image, &mine).await {
                tracing::debug!(backup = %spec.id, error = %e, "the backup's volume snapshot stays");
            }
        }
        r
    }

    async fn restore(&self, storage: &Storage, data_id: &str, volume: &str, backend: &str) -> anyhow::Result<()> {
        let b = self.backend(storage, volume, backend)?;
        let raw = self.scratch_file(data_id, &format!("restore-{volume}"))?;
        match &self.target {
            Target::Dir(t) => {
                let (t, id, out) = (t.clone(), data_id.to_string(), raw.0.clone());
                tokio::task::spawn_blocking(move || t.restore(&id, &out)).await??;
            }
            Target::Rbd(t) => t.restore(data_id, &raw.0).await?,
        }
        let (src, dst) = (raw.0.display().to_string(), b.disk(volume).qemu_img_name(false));
        // Every byte of the volume is written (zeros too: -n never assumes the target empty).
        super::run(
            &super::qemu_img(),
            &["convert", "-n", "-f", "raw", "-O", b.format(), &src, &dst],
        )
        .await?;
        Ok(())
    }

    async fn delete(&self, storage: &Storage, spec: &BackupSpec) -> anyhow::Result<()> {
        match &self.target {
            Target::Dir(t) => t.delete(&spec.data_id),
            Target::Rbd(t) => {
                t.delete(&spec.data_id).await?;
                // The volume's snapshot kept for incrementals goes with the backup.
                if let Some(image) = storage.rbd_volume_image(&spec.volume_id, &spec.backend) {
                    let snap = format!("backup-{}", spec.data_id);
                    let listed = t.tool().run(&["snap", "ls", "--format", "json", &image]).await;
                    let has = listed
                        .ok()
                        .and_then(|o| serde_json::from_str::<Vec<serde_json::Value>>(o.trim()).ok())
                        .is_some_and(|l| l.iter().any(|s| s["name"] == snap.as_str()));
                    if has {
                        t.tool().remove_snapshot(&image, &snap).await?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuid_like_ids_are_used() {
        assert!(safe_id("0b6c3d9e-1f2a-4b5c-8d7e-9f0a1b2c3d4e"));
        for bad in ["", "../etc", "a b", "-rf", "x;y", "ab/cd"] {
            assert!(!safe_id(bad), "{bad}");
        }
    }

    #[test]
    fn rbd_needs_ceph() {
        let c = BackupConfig {
            target: Some("rbd".into()),
            dir: None,
        };
        assert!(c.validate(None).is_err());
        assert!(BackupConfig::default().validate(None).is_ok());
        assert!(BackupConfig {
            target: Some("s3".into()),
            dir: None
        }
        .validate(None)
        .is_err());
    }
}

//! Volumes stored on this host, behind a small driver trait with one implementation per
//! backend: `file` (qcow2 files in the agent's state directory, always there) and `lvm`
//! (thin volumes of an LVM thin pool, when configured). A volume type's
//! `volume_backend_name` picks the backend. Reconciling is level-triggered like the rest of
//! the agent: what the desired state lists is created or grown, what it no longer lists is
//! removed. A shared backend (`rbd`: Ceph RBD, which QEMU opens with its rbd driver) is
//! different in one way: every host sees its pool, so it removes only what the controller
//! lists as deleted, never what it merely does not recognise.

pub mod backup;
pub mod disk;
mod file;
pub mod grace;
mod lvm;
pub mod migrate;
pub mod rbd;
pub mod transfer;

pub use backup::BackupConfig;
pub use disk::Disk;
pub use file::FileBackend;
pub use lvm::{LvmBackend, LvmConfig};
pub use rbd::{CephConfig, RbdBackend};

use crate::driver::BoxFuture;
use anyhow::{bail, Context};
use ciel_proto::{BackupSpec, BackupStatus, SnapshotSpec, VolumeSource, VolumeSpec, VolumeStatus};
use std::path::{Path, PathBuf};

pub(crate) const GIB: u64 = 1024 * 1024 * 1024;

/// A removal that is not done yet but may be soon (the volume is still open elsewhere): not
/// reported as an error, tried again by the next pass.
#[derive(Debug)]
pub struct StillOpen;

impl std::fmt::Display for StillOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the volume is still open")
    }
}

impl std::error::Error for StillOpen {}

/// What a storage backend does for the agent. Paths are what QEMU opens.
pub trait VolumeBackend: Send + Sync {
    /// The name volume types select it by (`volume_backend_name`).
    fn name(&self) -> &'static str;
    /// The data format of its volumes, as QEMU and qemu-img name it (`qcow2`, `raw`).
    fn format(&self) -> &'static str;
    /// Whether other hosts see the same volumes (a Ceph pool): then it removes only what it
    /// is told to.
    fn shared(&self) -> bool {
        false
    }
    /// Whether the backend itself grows a volume a VM has open (a device can grow under
    /// QEMU; a qcow2 file only through QEMU's `block_resize`).
    fn grows_in_use(&self) -> bool;
    /// (size, free) of the space its volumes take, in bytes, for the metrics and graphs;
    /// None when it cannot be read now.
    fn capacity(&self) -> BoxFuture<'_, Option<(u64, u64)>>;
    /// Whether its snapshots are point-in-time while a VM writes to the volume (a qcow2
    /// file's copy read beside QEMU is not: see `qemu::point_in_time`).
    fn point_in_time_snapshots(&self) -> bool {
        true
    }
    /// The file snapshot `id` is kept in, for backends whose snapshots are files (a VM's
    /// QEMU writes those of attached volumes).
    fn snapshot_target(&self, _id: &str) -> Option<PathBuf> {
        None
    }
    /// Where a volume's data is, as QEMU opens it (it may not exist yet).
    fn disk(&self, id: &str) -> Disk;
    fn volumes(&self) -> Vec<String>;
    fn snapshots(&self) -> Vec<String>;
    /// Creates a volume from its source; `image` is the cached image file for image sources.
    fn create<'a>(&'a self, spec: &'a VolumeSpec, image: Option<&'a Path>) -> BoxFuture<'a, anyhow::Result<()>>;
    fn size_gb<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<u64>>;
    /// Grows a volume to `size_gb` (a detached one, unless `grows_in_use`).
    fn grow<'a>(&'a self, id: &'a str, size_gb: u64) -> BoxFuture<'a, anyhow::Result<()>>;
    fn snapshot<'a>(&'a self, spec: &'a SnapshotSpec) -> BoxFuture<'a, anyhow::Result<()>>;
    fn remove_volume<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;
    fn remove_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Writes snapshot `id` of volume `volume` as a raw file at `out` (what a backup reads).
    fn export_snapshot<'a>(&'a self, id: &'a str, volume: &'a str, out: &'a Path) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The storage backends a host is configured for besides `file`.
#[derive(Debug, Clone, Default)]
pub struct StorageConfig {
    pub lvm: Option<LvmConfig>,
    pub ceph: Option<CephConfig>,
    /// Where volume backups go.
    pub backup: BackupConfig,
}

/// What the controller says is deleted on shared backends (local ones remove whatever is
/// not desired).
#[derive(Debug, Clone, Default)]
pub struct Deletions {
    pub volumes: Vec<String>,
    pub snapshots: Vec<String>,
}

/// How long the metrics and samples wait for a backend's capacity.
const CAPACITY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A backend's size and free space, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    pub backend: &'static str,
    /// A cluster's pool, the same from every host.
    pub shared: bool,
    pub size: u64,
    pub free: u64,
}

/// The backends of this host, by name.
pub struct Storage {
    backends: Vec<Box<dyn VolumeBackend>>,
    /// The hypervisor whose running VMs copy the volumes they have attached at a point in
    /// time (for backups of attached `file` volumes).
    vm_copier: std::sync::OnceLock<std::sync::Arc<dyn crate::driver::Hypervisor>>,
    scratch: PathBuf,
    qemu_img: String,
    backups: backup::Backups,
    migrations: migrate::Migrations,
}

impl Storage {
    /// The file backend, the LVM one when a volume group and thin pool are configured, the
    /// RBD one when a Ceph cluster is.
    pub fn new(state_dir: &Path, cfg: &StorageConfig) -> Self {
        let mut backends: Vec<Box<dyn VolumeBackend>> = vec![Box::new(FileBackend::new(state_dir))];
        if let Some(lvm) = &cfg.lvm {
            backends.push(Box::new(LvmBackend::new(lvm.clone())));
        }
        if let Some(ceph) = &cfg.ceph {
            backends.push(Box::new(RbdBackend::new(ceph.clone())));
        }
        let qemu_img = qemu_img();
        Self {
            backends,
            vm_copier: std::sync::OnceLock::new(),
            scratch: state_dir.join("volume-exports"),
            migrations: migrate::Migrations::new(state_dir, &qemu_img),
            qemu_img,
            backups: backup::Backups::new(state_dir, &cfg.backup, cfg.ceph.as_ref()),
        }
    }

    /// Lets `driver`'s running VMs make point-in-time copies of their attached volumes.
    pub fn set_vm_copier(&self, driver: std::sync::Arc<dyn crate::driver::Hypervisor>) {
        let _ = self.vm_copier.set(driver);
    }

    /// A point-in-time copy of volume `id` made by the running VM here that has it attached
    /// (see [`crate::driver::Hypervisor::copy_attached`]); None: none has it.
    pub(crate) async fn copy_attached(&self, id: &str, to: &Path, format: &str) -> Option<anyhow::Result<()>> {
        self.vm_copier.get()?.copy_attached(id, to, format).await
    }

    /// Does the backup tasks of the desired state (after the volumes are reconciled: a
    /// restore may write a volume just made).
    pub async fn run_backups(&self, specs: &[BackupSpec]) -> Vec<BackupStatus> {
        if specs.is_empty() {
            return vec![];
        }
        self.backups.run(self, specs).await
    }

    /// Does this host's part of volume migrations (after the volumes are reconciled, which
    /// keeps the copies made here: see [`migrate::incoming`]).
    pub async fn run_migrations(
        &self,
        specs: &[ciel_proto::VolumeMigrationSpec],
    ) -> Vec<ciel_proto::VolumeMigrationStatus> {
        self.migrations.run(self, specs).await
    }

    /// `pool/image` of volume `id` when it is an RBD image of this host's cluster.
    pub(crate) fn rbd_volume_image(&self, id: &str, backend: &str) -> Option<String> {
        if backend != "rbd" {
            return None;
        }
        match self.get(backend)?.disk(id) {
            Disk::Rbd(r) => Some(format!("{}/{}", r.pool, r.image)),
            Disk::Local { .. } => None,
        }
    }

    /// The names this host offers, for the controller's scheduler.
    pub fn names(&self) -> Vec<String> {
        self.backends.iter().map(|b| b.name().to_string()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&dyn VolumeBackend> {
        self.backends.iter().find(|b| b.name() == name).map(|b| b.as_ref())
    }

    /// The backend that holds volume `id`: the one named, or the local one that has it.
    pub fn locate(&self, id: &str, backend: &str) -> Option<&dyn VolumeBackend> {
        if !backend.is_empty() {
            return self.get(backend);
        }
        self.backends
            .iter()
            .find(|b| b.disk(id).exists_locally())
            .map(|b| b.as_ref())
    }

    /// Each backend whose capacity can be read within a few seconds: (name, shared with
    /// other hosts, size, free). A cluster that does not answer loses its figures only.
    pub async fn capacities(&self) -> Vec<Capacity> {
        let mut out = vec![];
        for b in &self.backends {
            match tokio::time::timeout(CAPACITY_WAIT, b.capacity()).await {
                Ok(Some((size, free))) => out.push(Capacity {
                    backend: b.name(),
                    shared: b.shared(),
                    size,
                    free,
                }),
                Ok(None) => {}
                Err(_) => tracing::debug!(backend = b.name(), "capacity not read in time"),
            }
        }
        out
    }

    /// Every volume on this host, of any backend.
    pub fn volumes(&self) -> Vec<String> {
        self.backends.iter().flat_map(|b| b.volumes()).collect()
    }

    /// A temporary copy of volume `id` in `format` (`raw` or `qcow2`), for an upload to the
    /// image service; the caller deletes it.
    pub async fn export(&self, id: &str, backend: &str, format: &str) -> anyhow::Result<PathBuf> {
        if !matches!(format, "raw" | "qcow2") {
            bail!("cannot export a volume as {format}");
        }
        let backend = self
            .locate(id, backend)
            .with_context(|| format!("volume {id} is not on this host"))?;
        std::fs::create_dir_all(&self.scratch)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let out = self.scratch.join(format!("{id}.{nanos}.{format}"));
        let (src, out_s) = (backend.disk(id).qemu_img_name(true), out.display().to_string());
        let r = run(
            &self.qemu_img,
            &["convert", "-U", "-f", backend.format(), "-O", format, &src, &out_s],
        )
        .await;
        if let Err(e) = r {
            std::fs::remove_file(&out).ok();
            return Err(e);
        }
        Ok(out)
    }

    /// Brings every backend to the desired volumes and snapshots that name it.
    pub async fn reconcile(
        &self,
        volumes: &[VolumeSpec],
        snapshots: &[SnapshotSpec],
        deletions: &Deletions,
        image_file: impl Fn(&ciel_proto::ImageRef) -> Option<PathBuf>,
        attached: &[String],
    ) -> StorageReport {
        let mut report = StorageReport::default();
        for b in &self.backends {
            let mine: Vec<VolumeSpec> = volumes.iter().filter(|v| v.backend == b.name()).cloned().collect();
            // A shared backend is looked at only when it has work: listing a pool is a
            // round trip to the cluster.
            if b.shared() && mine.is_empty() && deletions.volumes.is_empty() && deletions.snapshots.is_empty() {
                continue;
            }
            // Snapshots of attached volumes its VM could not take are reported, never copied
            // beside the writing guest instead.
            let failed = self
                .snapshot_attached(b.as_ref(), &mine, snapshots, attached, &mut report)
                .await;
            let snapshots: Vec<SnapshotSpec> = snapshots.iter().filter(|s| !failed.contains(&s.id)).cloned().collect();
            let r = reconcile_backend(b.as_ref(), &mine, &snapshots, deletions, &image_file, attached).await;
            report.volumes.extend(r.volumes);
            report.snapshots.extend(r.snapshots);
            report.errors.extend(r.errors);
        }
        for v in volumes {
            if self.get(&v.backend).is_none() {
                report.errors.push((
                    v.id.clone(),
                    format!("this host has no '{}' storage backend", v.backend),
                ));
            }
        }
        report
    }
}

impl Storage {
    /// Takes the new snapshots of attached volumes on a backend whose own copies would not be
    /// point-in-time, through the running VM that has the volume (see
    /// [`Storage::copy_attached`]); a volume no running VM has is left to the backend.
    /// Returns the snapshots that failed (reported in `report`).
    async fn snapshot_attached(
        &self,
        b: &dyn VolumeBackend,
        volumes: &[VolumeSpec],
        snapshots: &[SnapshotSpec],
        attached: &[String],
        report: &mut StorageReport,
    ) -> Vec<String> {
        let mut failed = vec![];
        if b.point_in_time_snapshots() {
            return failed;
        }
        let held = b.snapshots();
        for s in snapshots {
            let wanted =
                !held.contains(&s.id) && attached.contains(&s.volume_id) && volumes.iter().any(|v| v.id == s.volume_id);
            let Some(path) = b.snapshot_target(&s.id).filter(|_| wanted) else {
                continue;
            };
            // Through a temp file, as the backend's own copies: never a half copy in place.
            let tmp = path.with_extension("part");
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let r = match self.copy_attached(&s.volume_id, &tmp, b.format()).await {
                None => continue,
                Some(r) => r.and_then(|()| Ok(std::fs::rename(&tmp, &path)?)),
            };
            match r {
                Ok(()) => {
                    tracing::info!(snapshot = %s.id, volume = %s.volume_id, "snapshot of an attached volume taken by its VM at a point in time")
                }
                Err(e) => {
                    std::fs::remove_file(&tmp).ok();
                    report.errors.push((s.id.clone(), format!("{e:#}")));
                    failed.push(s.id.clone());
                }
            }
        }
        failed
    }
}

/// `qemu-img`, or `CIEL_QEMU_IMG`.
pub(crate) fn qemu_img() -> String {
    std::env::var("CIEL_QEMU_IMG").unwrap_or_else(|_| "qemu-img".into())
}

/// Runs a storage tool; its stderr is the error when it fails.
pub(crate) async fn run(program: &str, args: &[&str]) -> anyhow::Result<String> {
    checked(
        program,
        args,
        // A caller that stops waiting (a timeout) takes the tool down with it.
        tokio::process::Command::new(program)
            .args(args)
            .kill_on_drop(true)
            .output()
            .await,
    )
}

/// A finished storage tool's stdout, or an error naming the tool and carrying its stderr.
pub(crate) fn checked(
    program: &str,
    args: &[&str],
    out: std::io::Result<std::process::Output>,
) -> anyhow::Result<String> {
    let out = out.with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What reconciling the host's storage found: ready volumes and snapshots, and failures.
#[derive(Default)]
pub struct StorageReport {
    pub volumes: Vec<VolumeStatus>,
    pub snapshots: Vec<String>,
    pub errors: Vec<(String, String)>,
}

/// Brings the backend to the desired volumes and snapshots. Snapshots are taken before
/// volumes are removed or created (a new volume may come from a new snapshot); volumes
/// attached to a running VM are grown by the hypervisor (`attached` lists them), others here.
/// The backend is listed once (for LVM each listing is a command); what this pass removes
/// or takes is tracked in those lists. A shared backend removes only what `deletions` names
/// (a failure is reported, so the deletion is not taken as done).
pub async fn reconcile_backend(
    backend: &dyn VolumeBackend,
    volumes: &[VolumeSpec],
    snapshots: &[SnapshotSpec],
    deletions: &Deletions,
    image_file: &impl Fn(&ciel_proto::ImageRef) -> Option<PathBuf>,
    attached: &[String],
) -> StorageReport {
    let mut report = StorageReport::default();
    let mut held_snapshots = backend.snapshots();
    let mut have = backend.volumes();
    let shared = backend.shared();
    // A snapshot belongs where its volume is desired, or where it already is (its volume
    // may be in error and so not desired, yet the snapshot must stay).
    let snapshots: Vec<&SnapshotSpec> = snapshots
        .iter()
        .filter(|s| volumes.iter().any(|v| v.id == s.volume_id) || held_snapshots.contains(&s.id))
        .collect();
    for id in held_snapshots.clone() {
        let gone = if shared {
            deletions.snapshots.contains(&id)
        } else {
            !snapshots.iter().any(|s| s.id == id)
        };
        if !gone {
            continue;
        }
        match backend.remove_snapshot(&id).await {
            Ok(()) => held_snapshots.retain(|s| s != &id),
            Err(e) => {
                tracing::warn!(snapshot = %id, error = %e, "removing a snapshot failed; will retry");
                if shared {
                    report.errors.push((id.clone(), format!("{e:#}")));
                }
            }
        }
    }
    for s in snapshots {
        if held_snapshots.contains(&s.id) {
            report.snapshots.push(s.id.clone());
        } else if have.contains(&s.volume_id) {
            match backend.snapshot(s).await {
                Ok(()) => report.snapshots.push(s.id.clone()),
                Err(e) => report.errors.push((s.id.clone(), format!("{e:#}"))),
            }
        }
    }
    for id in have.clone() {
        let gone = if shared {
            deletions.volumes.contains(&id)
        } else {
            !volumes.iter().any(|v| v.id == id) && !attached.contains(&id)
        };
        if !gone {
            continue;
        }
        match backend.remove_volume(&id).await {
            Ok(()) => have.retain(|v| v != &id),
            Err(e) if e.is::<StillOpen>() => {}
            Err(e) => {
                tracing::warn!(volume = %id, error = %e, "removing a volume failed; will retry");
                if shared {
                    report.errors.push((id.clone(), format!("{e:#}")));
                }
            }
        }
    }
    for v in volumes {
        if !have.contains(&v.id) {
            let image = match &v.source {
                Some(VolumeSource::Image(img)) => image_file(img),
                _ => None,
            };
            if let Err(e) = backend.create(v, image.as_deref()).await {
                report.errors.push((v.id.clone(), format!("{e:#}")));
                continue;
            }
        }
        match backend.size_gb(&v.id).await {
            Ok(size) if size < v.size_gb && (backend.grows_in_use() || !attached.contains(&v.id)) => {
                match backend.grow(&v.id, v.size_gb).await {
                    Ok(()) => report.volumes.push(VolumeStatus {
                        id: v.id.clone(),
                        size_gb: v.size_gb,
                    }),
                    Err(e) => report.errors.push((v.id.clone(), format!("{e:#}"))),
                }
            }
            Ok(size) => report.volumes.push(VolumeStatus {
                id: v.id.clone(),
                size_gb: size,
            }),
            Err(e) => report.errors.push((v.id.clone(), format!("{e:#}"))),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, size_gb: u64, source: Option<VolumeSource>) -> VolumeSpec {
        VolumeSpec {
            id: id.into(),
            size_gb,
            backend: "file".into(),
            source,
        }
    }

    #[tokio::test]
    async fn creates_grows_snapshots_clones_and_removes() {
        if std::process::Command::new("qemu-img")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("qemu-img not installed; skipping");
            return;
        }
        let dir = std::env::temp_dir().join(format!("ciel-storage-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let b = FileBackend::new(&dir);
        let none = |_: &ciel_proto::ImageRef| None;
        let none_deleted = Deletions::default();
        let r = reconcile_backend(&b, &[spec("a", 1, None)], &[], &none_deleted, &none, &[]).await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            r.volumes,
            vec![VolumeStatus {
                id: "a".into(),
                size_gb: 1
            }]
        );

        let snap = SnapshotSpec {
            id: "s".into(),
            volume_id: "a".into(),
        };
        let vols = [
            spec("a", 2, None),
            spec("b", 3, Some(VolumeSource::Snapshot("s".into()))),
            spec("c", 1, Some(VolumeSource::Volume("a".into()))),
        ];
        let r = reconcile_backend(&b, &vols, std::slice::from_ref(&snap), &none_deleted, &none, &[]).await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.snapshots, vec!["s".to_string()]);
        let sizes: Vec<_> = r.volumes.iter().map(|v| (v.id.as_str(), v.size_gb)).collect();
        // The clone of a 2 GiB volume asked as 1 GiB keeps the source's size (never shrinks).
        assert_eq!(sizes, vec![("a", 2), ("b", 3), ("c", 2)]);

        let r = reconcile_backend(&b, &[spec("b", 3, None)], &[], &none_deleted, &none, &["c".to_string()]).await;
        assert_eq!(r.volumes.len(), 1);
        let mut left = b.volumes();
        left.sort();
        assert_eq!(left, vec!["b".to_string(), "c".to_string()], "attached c is kept");
        assert!(b.snapshots().is_empty());

        let r = reconcile_backend(
            &b,
            &[spec("x", 1, Some(VolumeSource::Volume("nope".into())))],
            &[],
            &none_deleted,
            &none,
            &[],
        )
        .await;
        assert_eq!(r.errors.len(), 1);
        assert!(!b.disk("x").exists_locally());
        assert!(!b.volume_path("x").with_extension("part").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}

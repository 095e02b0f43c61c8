//! Volumes stored on this host, behind a small driver trait. The `file` backend keeps each
//! volume as a qcow2 file `<state>/volumes/<id>.qcow2` and each snapshot as an independent
//! qcow2 copy `<state>/volume-snapshots/<id>.qcow2`, all made with `qemu-img`. Reconciling
//! is level-triggered like the rest of the agent: what the desired state lists is created
//! or grown, what it no longer lists is removed.

use crate::driver::BoxFuture;
use anyhow::{bail, Context};
use ciel_proto::{SnapshotSpec, VolumeSource, VolumeSpec, VolumeStatus};
use std::path::{Path, PathBuf};

const GIB: u64 = 1024 * 1024 * 1024;

/// What a storage backend does for the agent. Paths are what QEMU opens.
pub trait VolumeBackend: Send + Sync {
    /// The file or device of a volume (it may not exist yet).
    fn volume_path(&self, id: &str) -> PathBuf;
    fn volumes(&self) -> Vec<String>;
    fn snapshots(&self) -> Vec<String>;
    /// Creates a volume from its source; `image` is the cached image file for image sources.
    fn create<'a>(&'a self, spec: &'a VolumeSpec, image: Option<&'a Path>) -> BoxFuture<'a, anyhow::Result<()>>;
    fn size_gb<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<u64>>;
    /// Grows a detached volume's file to `size_gb`.
    fn grow<'a>(&'a self, id: &'a str, size_gb: u64) -> BoxFuture<'a, anyhow::Result<()>>;
    fn snapshot<'a>(&'a self, spec: &'a SnapshotSpec) -> BoxFuture<'a, anyhow::Result<()>>;
    fn remove_volume(&self, id: &str) -> anyhow::Result<()>;
    fn remove_snapshot(&self, id: &str) -> anyhow::Result<()>;
}

/// qcow2 files on the host's own disk.
pub struct FileBackend {
    volumes: PathBuf,
    snapshots: PathBuf,
    qemu_img: String,
    /// Virtual sizes by file, valid while the file's modification time is unchanged: a
    /// reconcile looks at every volume, and `qemu-img info` for each would make its cost
    /// grow with the number of volumes.
    sizes: std::sync::Mutex<std::collections::HashMap<PathBuf, (std::time::SystemTime, u64)>>,
}

impl FileBackend {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            volumes: state_dir.join("volumes"),
            snapshots: state_dir.join("volume-snapshots"),
            qemu_img: std::env::var("CIEL_QEMU_IMG").unwrap_or_else(|_| "qemu-img".into()),
            sizes: Default::default(),
        }
    }

    /// A temporary copy of volume `id` in `format` (`raw` or `qcow2`), for an upload to the
    /// image service; the caller deletes it.
    pub async fn export(&self, id: &str, format: &str) -> anyhow::Result<PathBuf> {
        if !matches!(format, "raw" | "qcow2") {
            bail!("cannot export a volume as {format}");
        }
        let src = self.volume_path(id);
        if !src.exists() {
            bail!("volume {id} is not on this host");
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let out = self.volumes.join(format!(".{id}.export-{nanos}"));
        let r = self
            .qemu_img(&[
                "convert",
                "-U",
                "-O",
                format,
                &src.display().to_string(),
                &out.display().to_string(),
            ])
            .await;
        if let Err(e) = r {
            std::fs::remove_file(&out).ok();
            return Err(e);
        }
        Ok(out)
    }

    async fn size_bytes(&self, id: &str) -> anyhow::Result<u64> {
        let path = self.volume_path(id);
        let mtime = std::fs::metadata(&path)?.modified()?;
        if let Some((seen, size)) = self.sizes.lock().ok().and_then(|m| m.get(&path).copied()) {
            if seen == mtime {
                return Ok(size);
            }
        }
        let out = self
            .qemu_img(&["info", "-U", "--output=json", &path.display().to_string()])
            .await?;
        let v: serde_json::Value = serde_json::from_str(&out)?;
        let size = v["virtual-size"].as_u64().context("no virtual-size")?;
        if let Ok(mut m) = self.sizes.lock() {
            m.insert(path, (mtime, size));
        }
        Ok(size)
    }

    fn snapshot_path(&self, id: &str) -> PathBuf {
        self.snapshots.join(format!("{id}.qcow2"))
    }

    async fn qemu_img(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = tokio::process::Command::new(&self.qemu_img)
            .args(args)
            .output()
            .await
            .context("cannot run qemu-img")?;
        if !out.status.success() {
            bail!(
                "qemu-img {} failed: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Copies `from` (any format qemu-img reads, `-U`: also while a VM has it open) into a
    /// new qcow2 at `to`, through a temp file so a crash never leaves a half copy in place.
    async fn copy(&self, from: &Path, to: &Path) -> anyhow::Result<()> {
        let tmp = to.with_extension("part");
        let r = self
            .qemu_img(&[
                "convert",
                "-U",
                "-O",
                "qcow2",
                &from.display().to_string(),
                &tmp.display().to_string(),
            ])
            .await;
        if let Err(e) = r {
            std::fs::remove_file(&tmp).ok();
            return Err(e);
        }
        std::fs::rename(&tmp, to)?;
        Ok(())
    }
}

fn ids_in(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![] };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".qcow2").map(str::to_owned))
        .collect()
}

impl VolumeBackend for FileBackend {
    fn volume_path(&self, id: &str) -> PathBuf {
        self.volumes.join(format!("{id}.qcow2"))
    }

    fn volumes(&self) -> Vec<String> {
        ids_in(&self.volumes)
    }

    fn snapshots(&self) -> Vec<String> {
        ids_in(&self.snapshots)
    }

    fn create<'a>(&'a self, spec: &'a VolumeSpec, image: Option<&'a Path>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            std::fs::create_dir_all(&self.volumes)?;
            let path = self.volume_path(&spec.id);
            match &spec.source {
                None => {
                    let tmp = path.with_extension("part");
                    let size = (spec.size_gb * GIB).to_string();
                    self.qemu_img(&["create", "-q", "-f", "qcow2", &tmp.display().to_string(), &size])
                        .await?;
                    std::fs::rename(&tmp, &path)?;
                }
                Some(VolumeSource::Image(_)) => {
                    let image = image.context("the image is not cached")?;
                    self.copy(image, &path).await?;
                }
                Some(VolumeSource::Volume(src)) => self.copy(&self.volume_path(src), &path).await?,
                Some(VolumeSource::Snapshot(src)) => self.copy(&self.snapshot_path(src), &path).await?,
            }
            if self.size_bytes(&spec.id).await? < spec.size_gb * GIB {
                self.grow(&spec.id, spec.size_gb).await?;
            }
            tracing::info!(volume = %spec.id, size_gb = spec.size_gb, "volume created");
            Ok(())
        })
    }

    /// Whole GiB (volumes are made and grown in whole GiB).
    fn size_gb<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move { Ok(self.size_bytes(id).await? / GIB) })
    }

    fn grow<'a>(&'a self, id: &'a str, size_gb: u64) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let path = self.volume_path(id).display().to_string();
            self.qemu_img(&["resize", "-q", &path, &(size_gb * GIB).to_string()])
                .await?;
            tracing::info!(volume = %id, size_gb, "volume grown");
            Ok(())
        })
    }

    fn snapshot<'a>(&'a self, spec: &'a SnapshotSpec) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            std::fs::create_dir_all(&self.snapshots)?;
            self.copy(&self.volume_path(&spec.volume_id), &self.snapshot_path(&spec.id))
                .await?;
            tracing::info!(snapshot = %spec.id, volume = %spec.volume_id, "snapshot taken");
            Ok(())
        })
    }

    fn remove_volume(&self, id: &str) -> anyhow::Result<()> {
        let path = self.volume_path(id);
        std::fs::remove_file(&path)?;
        if let Ok(mut m) = self.sizes.lock() {
            m.remove(&path);
        }
        tracing::info!(volume = %id, "volume removed");
        Ok(())
    }

    fn remove_snapshot(&self, id: &str) -> anyhow::Result<()> {
        std::fs::remove_file(self.snapshot_path(id))?;
        tracing::info!(snapshot = %id, "snapshot removed");
        Ok(())
    }
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
pub async fn reconcile(
    backend: &dyn VolumeBackend,
    volumes: &[VolumeSpec],
    snapshots: &[SnapshotSpec],
    image_file: impl Fn(&ciel_proto::ImageRef) -> Option<PathBuf>,
    attached: &[String],
) -> StorageReport {
    let mut report = StorageReport::default();
    for id in backend.snapshots() {
        if !snapshots.iter().any(|s| s.id == id) {
            if let Err(e) = backend.remove_snapshot(&id) {
                tracing::warn!(snapshot = %id, error = %e, "removing a snapshot failed; will retry");
            }
        }
    }
    let have_snapshots = backend.snapshots();
    for s in snapshots {
        if have_snapshots.contains(&s.id) {
            report.snapshots.push(s.id.clone());
        } else if backend.volumes().contains(&s.volume_id) {
            match backend.snapshot(s).await {
                Ok(()) => report.snapshots.push(s.id.clone()),
                Err(e) => report.errors.push((s.id.clone(), format!("{e:#}"))),
            }
        }
    }
    for id in backend.volumes() {
        if !volumes.iter().any(|v| v.id == id) && !attached.contains(&id) {
            if let Err(e) = backend.remove_volume(&id) {
                tracing::warn!(volume = %id, error = %e, "removing a volume failed; will retry");
            }
        }
    }
    let have = backend.volumes();
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
            Ok(size) if size < v.size_gb && !attached.contains(&v.id) => match backend.grow(&v.id, v.size_gb).await {
                Ok(()) => report.volumes.push(VolumeStatus {
                    id: v.id.clone(),
                    size_gb: v.size_gb,
                }),
                Err(e) => report.errors.push((v.id.clone(), format!("{e:#}"))),
            },
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
        let r = reconcile(&b, &[spec("a", 1, None)], &[], none, &[]).await;
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
        let r = reconcile(&b, &vols, std::slice::from_ref(&snap), none, &[]).await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.snapshots, vec!["s".to_string()]);
        let sizes: Vec<_> = r.volumes.iter().map(|v| (v.id.as_str(), v.size_gb)).collect();
        // The clone of a 2 GiB volume asked as 1 GiB keeps the source's size (never shrinks).
        assert_eq!(sizes, vec![("a", 2), ("b", 3), ("c", 2)]);

        let r = reconcile(&b, &[spec("b", 3, None)], &[], none, &["c".to_string()]).await;
        assert_eq!(r.volumes.len(), 1);
        let mut left = b.volumes();
        left.sort();
        assert_eq!(left, vec!["b".to_string(), "c".to_string()], "attached c is kept");
        assert!(b.snapshots().is_empty());

        let r = reconcile(
            &b,
            &[spec("x", 1, Some(VolumeSource::Volume("nope".into())))],
            &[],
            none,
            &[],
        )
        .await;
        assert_eq!(r.errors.len(), 1);
        assert!(!b.volume_path("x").exists());
        assert!(!b.volume_path("x").with_extension("part").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}

//! The `file` backend: each volume a qcow2 file `<state>/volumes/<id>.qcow2`, each snapshot
//! an independent qcow2 copy `<state>/volume-snapshots/<id>.qcow2`, all made with `qemu-img`.

use super::{Disk, VolumeBackend, GIB};
use crate::driver::BoxFuture;
use anyhow::Context;
use ciel_proto::{SnapshotSpec, VolumeSource, VolumeSpec};
use std::path::{Path, PathBuf};

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
            qemu_img: super::qemu_img(),
            sizes: Default::default(),
        }
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

    /// The qcow2 file of a volume (it may not exist yet).
    pub fn volume_path(&self, id: &str) -> PathBuf {
        self.volumes.join(format!("{id}.qcow2"))
    }

    fn snapshot_path(&self, id: &str) -> PathBuf {
        self.snapshots.join(format!("{id}.qcow2"))
    }

    async fn qemu_img(&self, args: &[&str]) -> anyhow::Result<String> {
        super::run(&self.qemu_img, args).await
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
    fn name(&self) -> &'static str {
        "file"
    }

    fn point_in_time_snapshots(&self) -> bool {
        false
    }

    fn snapshot_target(&self, id: &str) -> Option<PathBuf> {
        Some(self.snapshot_path(id))
    }

    fn format(&self) -> &'static str {
        "qcow2"
    }

    fn capacity(&self) -> BoxFuture<'_, Option<(u64, u64)>> {
        Box::pin(async move { crate::stats::filesystem(self.volumes.parent().unwrap_or(&self.volumes)) })
    }

    fn grows_in_use(&self) -> bool {
        false
    }

    fn disk(&self, id: &str) -> Disk {
        Disk::Local {
            path: self.volume_path(id),
            device: false,
        }
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

    fn remove_volume<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let path = self.volume_path(id);
            std::fs::remove_file(&path)?;
            if let Ok(mut m) = self.sizes.lock() {
                m.remove(&path);
            }
            tracing::info!(volume = %id, "volume removed");
            Ok(())
        })
    }

    fn export_snapshot<'a>(
        &'a self,
        id: &'a str,
        _volume: &'a str,
        out: &'a Path,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let (from, to) = (self.snapshot_path(id).display().to_string(), out.display().to_string());
            self.qemu_img(&["convert", "-f", "qcow2", "-O", "raw", &from, &to])
                .await?;
            Ok(())
        })
    }

    fn remove_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            std::fs::remove_file(self.snapshot_path(id))?;
            tracing::info!(snapshot = %id, "snapshot removed");
            Ok(())
        })
    }
}

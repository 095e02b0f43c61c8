//! The `lvm` backend: each volume a thin logical volume `ciel-volume-<id>` of a thin pool,
//! each snapshot a thin snapshot `ciel-snapshot-<id>`. Snapshots and clones share blocks with
//! their origin (copy-on-write in the pool), so they are instant whatever the size; QEMU
//! opens the device `/dev/<vg>/ciel-volume-<id>` as raw. New volumes read as zeros (the pool
//! zeroes fresh blocks), so no tenant sees another's old data. Volumes are made under a
//! `ciel-part-<id>` name and renamed when complete, so a crash never leaves a half-made
//! volume that looks finished.

use super::{Disk, VolumeBackend, GIB};
use crate::driver::BoxFuture;
use anyhow::Context;
use ciel_proto::{SnapshotSpec, VolumeSource, VolumeSpec};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const VOLUME: &str = "ciel-volume-";
const SNAPSHOT: &str = "ciel-snapshot-";
const PART: &str = "ciel-part-";

/// Where the backend keeps volumes: an existing volume group and thin pool in it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LvmConfig {
    pub volume_group: String,
    pub thin_pool: String,
}

pub struct LvmBackend {
    cfg: LvmConfig,
    lvm: String,
    qemu_img: String,
}

impl LvmBackend {
    pub fn new(cfg: LvmConfig) -> Self {
        Self {
            cfg,
            lvm: std::env::var("CIEL_LVM").unwrap_or_else(|_| "lvm".into()),
            qemu_img: super::qemu_img(),
        }
    }

    fn lv(&self, name: &str) -> String {
        format!("{}/{name}", self.cfg.volume_group)
    }

    /// `lvm ARGS` for the synchronous trait calls (listing, removing).
    fn lvm_sync(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = std::process::Command::new(&self.lvm)
            .args(args)
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .output();
        super::checked(&self.lvm, args, out)
    }

    async fn lvm(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = tokio::process::Command::new(&self.lvm)
            .args(args)
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .kill_on_drop(true)
            .output()
            .await;
        super::checked(&self.lvm, args, out)
    }

    /// The group's logical volumes whose names start with `prefix`, by id, with whether each
    /// is active (thin snapshots are not, by LVM's default).
    fn listed(&self, prefix: &str) -> Vec<(String, bool)> {
        let out = match self.lvm_sync(&["lvs", "--noheadings", "-o", "lv_name,lv_active", &self.cfg.volume_group]) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list logical volumes");
                return vec![];
            }
        };
        out.lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let id = f.next()?.strip_prefix(prefix)?.to_string();
                Some((id, f.next() == Some("active")))
            })
            .collect()
    }

    /// Makes `ciel-part-<id>` into the volume: grown to `size_gb`, renamed, active.
    async fn finish(&self, id: &str, size_gb: u64) -> anyhow::Result<()> {
        let part = format!("{PART}{id}");
        if self.lv_bytes(&part).await? < size_gb * GIB {
            self.lvm(&["lvextend", "-q", "-L", &format!("{size_gb}g"), &self.lv(&part)])
                .await?;
        }
        self.lvm(&[
            "lvrename",
            "-q",
            &self.cfg.volume_group,
            &part,
            &format!("{VOLUME}{id}"),
        ])
        .await?;
        Ok(())
    }

    /// `lvs` of logical volume `lv`: `fields`, sizes in bytes, no header or unit suffix.
    async fn lvs_bytes(&self, fields: &str, lv: &str) -> anyhow::Result<String> {
        self.lvm(&["lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", fields, lv])
            .await
    }

    async fn lv_bytes(&self, name: &str) -> anyhow::Result<u64> {
        let out = self.lvs_bytes("lv_size", &self.lv(name)).await?;
        out.trim()
            .parse()
            .with_context(|| format!("unexpected size of {name}: {out:?}"))
    }

    async fn create_part(&self, spec: &VolumeSpec, image: Option<&Path>) -> anyhow::Result<()> {
        let part = format!("{PART}{}", spec.id);
        match &spec.source {
            None => {
                let size = format!("{}g", spec.size_gb);
                let pool = self.lv(&self.cfg.thin_pool);
                self.lvm(&["lvcreate", "-q", "-T", &pool, "-V", &size, "-n", &part])
                    .await?;
            }
            Some(VolumeSource::Image(img)) => {
                let image = image.context("the image is not cached")?;
                let path = image.display().to_string();
                let info = super::run(&self.qemu_img, &["info", "-U", "--output=json", &path]).await?;
                let virtual_size = serde_json::from_str::<serde_json::Value>(&info)?["virtual-size"]
                    .as_u64()
                    .context("no virtual-size")?;
                let gb = spec.size_gb.max(virtual_size.div_ceil(GIB));
                let pool = self.lv(&self.cfg.thin_pool);
                self.lvm(&["lvcreate", "-q", "-T", &pool, "-V", &format!("{gb}g"), "-n", &part])
                    .await?;
                let mut args = vec!["convert", "-n"];
                // The format the image service checked; never probed from the data.
                if matches!(img.disk_format.as_str(), "qcow2" | "raw") {
                    args.extend(["-f", img.disk_format.as_str()]);
                }
                let dev = self.path_of(&part).display().to_string();
                args.extend(["-O", "raw", &path, &dev]);
                super::run(&self.qemu_img, &args).await?;
            }
            Some(VolumeSource::Volume(src)) => {
                let origin = self.lv(&format!("{VOLUME}{src}"));
                self.lvm(&["lvcreate", "-q", "-s", "-kn", "-n", &part, &origin]).await?;
            }
            Some(VolumeSource::Snapshot(src)) => {
                let origin = self.lv(&format!("{SNAPSHOT}{src}"));
                self.lvm(&["lvcreate", "-q", "-s", "-kn", "-n", &part, &origin]).await?;
            }
        }
        Ok(())
    }

    fn path_of(&self, lv: &str) -> PathBuf {
        Path::new("/dev").join(&self.cfg.volume_group).join(lv)
    }

    fn remove_lv(&self, name: &str) -> anyhow::Result<()> {
        self.lvm_sync(&["lvremove", "-q", "-y", &self.lv(name)])?;
        Ok(())
    }
}

impl VolumeBackend for LvmBackend {
    fn name(&self) -> &'static str {
        "lvm"
    }

    fn format(&self) -> &'static str {
        "raw"
    }

    /// The thin pool's size and the part of it not yet allocated (`data_percent`).
    fn capacity(&self) -> BoxFuture<'_, Option<(u64, u64)>> {
        Box::pin(async move {
            match self
                .lvs_bytes("lv_size,data_percent", &self.lv(&self.cfg.thin_pool))
                .await
            {
                Ok(out) => parse_pool_usage(&out),
                Err(e) => {
                    tracing::debug!(error = %e, "no thin pool usage");
                    None
                }
            }
        })
    }

    fn grows_in_use(&self) -> bool {
        true
    }

    fn disk(&self, id: &str) -> Disk {
        Disk::Local {
            path: self.path_of(&format!("{VOLUME}{id}")),
            device: true,
        }
    }

    /// Also activates volumes found inactive (after a host reboot that activated none).
    fn volumes(&self) -> Vec<String> {
        self.listed(VOLUME)
            .into_iter()
            .map(|(id, active)| {
                if !active {
                    let lv = self.lv(&format!("{VOLUME}{id}"));
                    if let Err(e) = self.lvm_sync(&["lvchange", "-q", "-ay", "-K", &lv]) {
                        tracing::warn!(volume = %id, error = %e, "cannot activate the volume");
                    }
                }
                id
            })
            .collect()
    }

    fn snapshots(&self) -> Vec<String> {
        self.listed(SNAPSHOT).into_iter().map(|(id, _)| id).collect()
    }

    fn create<'a>(&'a self, spec: &'a VolumeSpec, image: Option<&'a Path>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // Left over from a create that a crash or a failure interrupted.
            if self.listed(PART).iter().any(|(id, _)| id == &spec.id) {
                self.remove_lv(&format!("{PART}{}", spec.id))?;
            }
            let made = match self.create_part(spec, image).await {
                Ok(()) => self.finish(&spec.id, spec.size_gb).await,
                Err(e) => Err(e),
            };
            if let Err(e) = made {
                if self.listed(PART).iter().any(|(id, _)| id == &spec.id) {
                    self.remove_lv(&format!("{PART}{}", spec.id)).ok();
                }
                return Err(e);
            }
            tracing::info!(volume = %spec.id, size_gb = spec.size_gb, vg = %self.cfg.volume_group, "thin volume created");
            Ok(())
        })
    }

    fn size_gb<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move { Ok(self.lv_bytes(&format!("{VOLUME}{id}")).await? / GIB) })
    }

    fn grow<'a>(&'a self, id: &'a str, size_gb: u64) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let lv = self.lv(&format!("{VOLUME}{id}"));
            self.lvm(&["lvextend", "-q", "-L", &format!("{size_gb}g"), &lv]).await?;
            tracing::info!(volume = %id, size_gb, "thin volume grown");
            Ok(())
        })
    }

    fn snapshot<'a>(&'a self, spec: &'a SnapshotSpec) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let origin = self.lv(&format!("{VOLUME}{}", spec.volume_id));
            let name = format!("{SNAPSHOT}{}", spec.id);
            self.lvm(&["lvcreate", "-q", "-s", "-n", &name, &origin]).await?;
            tracing::info!(snapshot = %spec.id, volume = %spec.volume_id, "thin snapshot taken");
            Ok(())
        })
    }

    fn remove_volume<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.lvm(&["lvremove", "-q", "-y", &self.lv(&format!("{VOLUME}{id}"))])
                .await?;
            tracing::info!(volume = %id, "thin volume removed");
            Ok(())
        })
    }

    /// A thin snapshot is inactive (LVM's activation skip): activated for the read, and
    /// deactivated after.
    fn export_snapshot<'a>(
        &'a self,
        id: &'a str,
        _volume: &'a str,
        out: &'a Path,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let name = format!("{SNAPSHOT}{id}");
            let lv = self.lv(&name);
            self.lvm(&["lvchange", "-q", "-ay", "-K", &lv]).await?;
            let (from, to) = (self.path_of(&name).display().to_string(), out.display().to_string());
            let r = super::run(&self.qemu_img, &["convert", "-f", "raw", "-O", "raw", &from, &to]).await;
            if let Err(e) = self.lvm(&["lvchange", "-q", "-an", &lv]).await {
                tracing::debug!(snapshot = %id, error = %e, "lvchange -an");
            }
            r.map(|_| ())
        })
    }

    fn remove_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.lvm(&["lvremove", "-q", "-y", &self.lv(&format!("{SNAPSHOT}{id}"))])
                .await?;
            tracing::info!(snapshot = %id, "thin snapshot removed");
            Ok(())
        })
    }
}

/// (size, free) from `lvs -o lv_size,data_percent` of a thin pool, e.g. `  1073741824 12.50`.
fn parse_pool_usage(out: &str) -> Option<(u64, u64)> {
    let mut it = out.split_whitespace();
    let size: u64 = it.next()?.parse().ok()?;
    let percent: f64 = it.next()?.replace(',', ".").parse().ok()?;
    let used = (size as f64 * percent / 100.0) as u64;
    Some((size, size.saturating_sub(used)))
}

#[cfg(test)]
mod capacity_tests {
    #[test]
    fn thin_pool_usage_parses() {
        assert_eq!(super::parse_pool_usage("  1000 12.50\n"), Some((1000, 875)));
        assert_eq!(super::parse_pool_usage(""), None);
    }
}

//! The `rbd` backend: volumes as RBD images `volume-<id>` of a Ceph pool, snapshots as RBD
//! snapshots `volume-<vid>@snapshot-<sid>`, names as Cinder's RBD driver gives them. Every
//! host with the backend sees the same pool, so it is shared: only the host the controller
//! names as a volume's owner creates, grows, snapshots or deletes it, and an image this host
//! does not recognise is never removed (it may be another's, or not Ciel's at all); deletions
//! come as explicit lists. Volumes from snapshots and from volumes are copy-on-write clones
//! (a volume's clone source is a protected snapshot `clone-<new id>`); deleting a parent
//! flattens its children first, so no volume ever loses data to a deletion. Volumes are made
//! under `part-<id>` and renamed when complete, so a crash leaves no half-made volume.
//! Ceph's own `rbd` tool does the work; QEMU opens the images with its `rbd` driver.

use super::disk::{Disk, RbdImage};
use super::grace::Grace;
use super::{StillOpen, VolumeBackend, GIB};
use crate::driver::BoxFuture;
use anyhow::{bail, Context};
use ciel_proto::{SnapshotSpec, VolumeSource, VolumeSpec};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

const VOLUME: &str = "volume-";
const SNAPSHOT: &str = "snapshot-";
const CLONE: &str = "clone-";
const PART: &str = "part-";
/// The snapshot of an image in the images pool that clones are made from (Glance's name).
pub(crate) const IMAGE_SNAPSHOT: &str = "snap";

/// How this host reaches the Ceph cluster, and its pools (`[ceph]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CephConfig {
    /// ceph.conf: the monitors, and the keyring of `client` (its `keyring` setting, or
    /// Ceph's default places such as /etc/ceph/ceph.client.<client>.keyring).
    pub conf: PathBuf,
    /// The cephx user, without `client.`.
    pub client: String,
    pub volumes_pool: String,
    pub images_pool: String,
    pub vms_pool: String,
    pub backups_pool: String,
}

impl Default for CephConfig {
    fn default() -> Self {
        Self {
            conf: "/etc/ceph/ceph.conf".into(),
            client: "ciel".into(),
            volumes_pool: "volumes".into(),
            images_pool: "images".into(),
            vms_pool: "vms".into(),
            backups_pool: "backups".into(),
        }
    }
}

impl CephConfig {
    /// Pool and user names as Ceph allows them; anything else is refused at start-up
    /// rather than handed to `rbd` or QEMU.
    pub fn validate(&self) -> anyhow::Result<()> {
        let ok = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        for (what, v) in [
            ("client", &self.client),
            ("volumes_pool", &self.volumes_pool),
            ("images_pool", &self.images_pool),
            ("vms_pool", &self.vms_pool),
            ("backups_pool", &self.backups_pool),
        ] {
            if !ok(v) {
                bail!("[ceph] {what} {v:?}: letters, digits, '_', '-' and '.' only");
            }
        }
        if !self.conf.is_file() {
            bail!("[ceph] conf {}: no such file", self.conf.display());
        }
        Ok(())
    }

    /// An image of `pool`, as QEMU opens it.
    pub fn image(&self, pool: &str, image: &str) -> Disk {
        Disk::Rbd(RbdImage {
            pool: pool.into(),
            image: image.into(),
            conf: self.conf.clone(),
            user: self.client.clone(),
        })
    }
}

/// One line of `rbd ls -l --format json`: an image, or one of its snapshots.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Listed {
    pub image: String,
    #[serde(default)]
    pub snapshot: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Child {
    pool: String,
    image: String,
}

#[derive(Debug, Deserialize)]
struct Info {
    size: u64,
    #[serde(default)]
    parent: Option<ParentInfo>,
}

#[derive(Debug, Deserialize)]
struct ParentInfo {
    pool: String,
    image: String,
    snapshot: String,
}

/// Ceph's `rbd` with the cluster's conf and user.
pub(crate) struct RbdTool {
    rbd: String,
    conf: String,
    client: String,
}

impl RbdTool {
    pub fn new(cfg: &CephConfig) -> Self {
        Self {
            rbd: std::env::var("CIEL_RBD").unwrap_or_else(|_| "rbd".into()),
            conf: cfg.conf.display().to_string(),
            client: cfg.client.clone(),
        }
    }

    fn full<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--conf", self.conf.as_str(), "--id", self.client.as_str()];
        all.extend_from_slice(args);
        all
    }

    pub async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        super::run(&self.rbd, &self.full(args)).await
    }

    /// Breaks the claims other clients hold on an image (`pool/image`): each watcher (a
    /// QEMU of a host that died with the image open) is blocklisted, so its exclusive lock
    /// goes at once and it can never write again, even if its host comes back. What an
    /// evacuation does before the image is opened elsewhere. Returns how many were fenced.
    pub async fn break_claims(&self, spec: &str) -> anyhow::Result<usize> {
        let watchers = self.watchers(spec).await?;
        for w in &watchers {
            // An address as Ceph prints it (`IP:PORT/NONCE`), checked before it is an argument.
            let ok = w
                .address
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '[' | ']'));
            if !ok {
                anyhow::bail!("unexpected watcher address {:?} on {spec}", w.address);
            }
            self.ceph(&["osd", "blocklist", "add", &w.address]).await?;
            tracing::warn!(image = %spec, client = %w.address, "a previous holder of the image was blocklisted");
        }
        Ok(watchers.len())
    }

    /// The clients that have image `spec` open (a QEMU, here or on another host).
    async fn watchers(&self, spec: &str) -> anyhow::Result<Vec<Watcher>> {
        #[derive(Deserialize)]
        struct Status {
            #[serde(default)]
            watchers: Vec<Watcher>,
        }
        let status: Status = serde_json::from_str(&self.run(&["status", "--format", "json", spec]).await?)?;
        Ok(status.watchers)
    }

    /// (size, free) of `pool` from `ceph df`: stored bytes plus what can still be stored.
    pub async fn pool_capacity(&self, pool: &str) -> anyhow::Result<Option<(u64, u64)>> {
        let out = self.ceph(&["--connect-timeout", "5", "df", "--format", "json"]).await?;
        Ok(parse_pool_capacity(&out, pool))
    }

    /// `ceph ARGS` with the cluster's conf and user, like `rbd`'s.
    async fn ceph(&self, args: &[&str]) -> anyhow::Result<String> {
        let ceph = std::env::var("CIEL_CEPH").unwrap_or_else(|_| "ceph".into());
        super::run(&ceph, &self.full(args)).await
    }

    pub fn run_sync(&self, args: &[&str]) -> anyhow::Result<String> {
        let all = self.full(args);
        super::checked(
            &self.rbd,
            &all,
            std::process::Command::new(&self.rbd).args(&all).output(),
        )
    }

    /// Every image and snapshot of `pool`. `rbd ls -l` opens each image and fails when one
    /// goes while it lists (another host deleting its own): tried up to three times.
    pub fn list_sync(&self, pool: &str) -> anyhow::Result<Vec<Listed>> {
        let mut last = None;
        for _ in 0..3 {
            match self.run_sync(&["ls", "-l", "--format", "json", pool]) {
                Ok(out) => return Ok(serde_json::from_str(out.trim()).unwrap_or_default()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("rbd ls failed")))
    }

    pub async fn list(&self, pool: &str) -> anyhow::Result<Vec<Listed>> {
        let mut last = None;
        for _ in 0..3 {
            match self.run(&["ls", "-l", "--format", "json", pool]).await {
                Ok(out) => return Ok(serde_json::from_str(out.trim()).unwrap_or_default()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("rbd ls failed")))
    }

    /// The image names of `pool` (no image is opened).
    async fn names(&self, pool: &str) -> anyhow::Result<Vec<String>> {
        let out = self.run(&["ls", "--format", "json", pool]).await?;
        Ok(serde_json::from_str(out.trim()).unwrap_or_default())
    }

    async fn info(&self, spec: &str) -> anyhow::Result<Info> {
        let out = self.run(&["info", "--format", "json", spec]).await?;
        serde_json::from_str(&out).with_context(|| format!("unexpected `rbd info {spec}`: {out}"))
    }

    /// Removes snapshot `snap` of `spec`; clones of it are flattened first (they keep their
    /// data and lose the parent).
    pub async fn remove_snapshot(&self, spec: &str, snap: &str) -> anyhow::Result<()> {
        let at = format!("{spec}@{snap}");
        let out = self.run(&["children", "--format", "json", &at]).await?;
        let children: Vec<Child> = serde_json::from_str(out.trim()).unwrap_or_default();
        for c in children {
            let child = format!("{}/{}", c.pool, c.image);
            tracing::info!(%child, parent = %at, "flattening a clone before its parent snapshot goes");
            self.run(&["flatten", "--no-progress", &child]).await?;
        }
        if let Err(e) = self.run(&["snap", "unprotect", &at]).await {
            // Not protected (or already gone): the removal below says which.
            tracing::debug!(snapshot = %at, error = %e, "snap unprotect");
        }
        self.run(&["snap", "rm", "--no-progress", &at]).await?;
        Ok(())
    }

    /// Removes image `spec` with its snapshots (their clones flattened), then the snapshot
    /// of its parent it was cloned from when that was made for it alone.
    pub async fn remove_image(&self, pool: &str, image: &str) -> anyhow::Result<()> {
        if !self.exists(pool, image).await? {
            return Ok(());
        }
        self.remove_listed_image(pool, image).await
    }

    /// `remove_image` of an image the caller has just seen listed (one `rbd ls` less).
    pub async fn remove_listed_image(&self, pool: &str, image: &str) -> anyhow::Result<()> {
        let spec = format!("{pool}/{image}");
        let parent = self.info(&spec).await?.parent;
        let snaps = self.run(&["snap", "ls", "--format", "json", &spec]).await?;
        let snaps: Vec<serde_json::Value> = serde_json::from_str(snaps.trim()).unwrap_or_default();
        for s in snaps.iter().filter_map(|s| s["name"].as_str()) {
            self.remove_snapshot(&spec, s).await?;
        }
        self.run(&["rm", "--no-progress", &spec]).await?;
        if let Some(p) = parent.filter(|p| p.snapshot.starts_with(CLONE)) {
            let pspec = format!("{}/{}", p.pool, p.image);
            if let Err(e) = self.remove_snapshot(&pspec, &p.snapshot).await {
                tracing::debug!(parent = %pspec, error = %e, "the clone source snapshot stays");
            }
        }
        Ok(())
    }

    /// Makes `to` a copy-on-write clone of `from_spec@snap`, protecting the snapshot first.
    pub async fn clone_from(&self, from_spec: &str, snap: &str, to: &str) -> anyhow::Result<()> {
        let at = format!("{from_spec}@{snap}");
        let listed = self.run(&["snap", "ls", "--format", "json", from_spec]).await?;
        let snaps: Vec<serde_json::Value> = serde_json::from_str(listed.trim()).unwrap_or_default();
        if !snaps.iter().any(|s| s["name"] == snap) {
            self.run(&["snap", "create", "--no-progress", &at]).await?;
        }
        if let Err(e) = self.run(&["snap", "protect", &at]).await {
            tracing::debug!(snapshot = %at, error = %e, "snap protect (already protected?)");
        }
        self.run(&["clone", &at, to]).await?;
        Ok(())
    }

    /// Makes `to` a copy-on-write clone of the image service's copy of `img`
    /// (`<images pool>/<id>@snap`, protected by the image service). None when there is no
    /// such copy to clone: the image service keeps its data elsewhere, or the image is not
    /// raw (a clone is the image's bytes as they are, so only raw data makes a disk).
    /// Whether a disk of `img` can be a copy-on-write clone of its RBD copy (a raw image the
    /// image service keeps in the images pool).
    pub fn can_clone(img: &ciel_proto::ImageRef) -> bool {
        img.rbd && img.disk_format == "raw"
    }

    pub async fn clone_image(
        &self,
        cfg: &CephConfig,
        img: &ciel_proto::ImageRef,
        to: &str,
    ) -> Option<anyhow::Result<()>> {
        if !Self::can_clone(img) {
            return None;
        }
        let at = format!("{}/{}@{IMAGE_SNAPSHOT}", cfg.images_pool, img.id);
        Some(self.run(&["clone", &at, to]).await.map(|_| ()))
    }

    /// Writes the image file `path` (in `format`, as the image service checked it; None:
    /// as qemu-img reads it) into a new raw image `pool/name` of at least `min_bytes`.
    pub async fn write_image(
        &self,
        cfg: &CephConfig,
        path: &Path,
        format: Option<&str>,
        pool: &str,
        name: &str,
        min_bytes: u64,
    ) -> anyhow::Result<()> {
        let qemu_img = super::qemu_img();
        let path = path.display().to_string();
        let info = super::run(&qemu_img, &["info", "-U", "--output=json", &path]).await?;
        let virtual_size = serde_json::from_str::<serde_json::Value>(&info)?["virtual-size"]
            .as_u64()
            .context("no virtual-size")?;
        let bytes = min_bytes.max(virtual_size.div_ceil(GIB) * GIB);
        self.run(&["create", "--size", &format!("{bytes}B"), &format!("{pool}/{name}")])
            .await?;
        let target = cfg.image(pool, name).qemu_img_name(false);
        let mut args = vec!["convert", "-n"];
        if let Some(f) = format {
            args.extend(["-f", f]);
        }
        args.extend(["-O", "raw", &path, &target]);
        super::run(&qemu_img, &args).await?;
        Ok(())
    }

    pub async fn size(&self, spec: &str) -> anyhow::Result<u64> {
        Ok(self.info(spec).await?.size)
    }

    pub async fn resize(&self, spec: &str, bytes: u64) -> anyhow::Result<()> {
        self.run(&["resize", "--no-progress", "--size", &format!("{}B", bytes), spec])
            .await?;
        Ok(())
    }

    /// Whether image `image` of `pool` exists.
    pub async fn exists(&self, pool: &str, image: &str) -> anyhow::Result<bool> {
        Ok(self.names(pool).await?.iter().any(|n| n == image))
    }
}

#[derive(Deserialize)]
struct Watcher {
    address: String,
}

/// How long a volume to delete may stay open elsewhere before its removal counts as failed:
/// a volume detached and then deleted is let go by its server's QEMU (an unplug the guest
/// acknowledges, seconds under TCG) while its owner, maybe another host, already removes it.
const RELEASE_WAIT: Duration = Duration::from_secs(120);

pub struct RbdBackend {
    cfg: CephConfig,
    rbd: RbdTool,
    /// Volumes to delete found still open.
    still_open: Grace,
}

impl RbdBackend {
    pub fn new(cfg: CephConfig) -> Self {
        Self {
            rbd: RbdTool::new(&cfg),
            cfg,
            still_open: Grace::new(RELEASE_WAIT),
        }
    }

    /// Whether volume `id`, to be removed, is still open and may yet be let go: then its
    /// removal waits (the next pass tries again) instead of failing.
    async fn let_go_soon(&self, id: &str) -> anyhow::Result<bool> {
        if self
            .rbd
            .watchers(&self.spec(&format!("{VOLUME}{id}")))
            .await?
            .is_empty()
        {
            self.still_open.forget(id);
            return Ok(false);
        }
        Ok(self.still_open.waiting(id).is_some())
    }

    fn spec(&self, image: &str) -> String {
        format!("{}/{image}", self.cfg.volumes_pool)
    }

    fn listed(&self) -> Vec<Listed> {
        self.rbd.list_sync(&self.cfg.volumes_pool).unwrap_or_else(|e| {
            tracing::warn!(error = %e, pool = %self.cfg.volumes_pool, "cannot list the RBD pool");
            vec![]
        })
    }

    /// Makes `part-<id>` from the spec's source.
    async fn create_part(&self, spec: &VolumeSpec, image: Option<&Path>, part: &str) -> anyhow::Result<()> {
        let part_spec = self.spec(part);
        match &spec.source {
            None => {
                self.rbd
                    .run(&["create", "--size", &format!("{}B", spec.size_gb * GIB), &part_spec])
                    .await?;
            }
            Some(VolumeSource::Snapshot(sid)) => {
                let snap = format!("{SNAPSHOT}{sid}");
                let owner = self
                    .rbd
                    .list(&self.cfg.volumes_pool)
                    .await?
                    .into_iter()
                    .find(|l| l.snapshot.as_deref() == Some(snap.as_str()))
                    .with_context(|| format!("snapshot {sid} is not in pool {}", self.cfg.volumes_pool))?;
                self.rbd.clone_from(&self.spec(&owner.image), &snap, &part_spec).await?;
            }
            Some(VolumeSource::Volume(src)) => {
                let from = self.spec(&format!("{VOLUME}{src}"));
                self.rbd
                    .clone_from(&from, &format!("{CLONE}{}", spec.id), &part_spec)
                    .await?;
            }
            Some(VolumeSource::Image(img)) => {
                let cloned = match self.rbd.clone_image(&self.cfg, img, &part_spec).await {
                    Some(Ok(())) => true,
                    Some(Err(e)) => {
                        tracing::info!(volume = %spec.id, image = %img.id, error = %e, "no clone of the image's RBD copy; copying it");
                        false
                    }
                    None => false,
                };
                if !cloned {
                    let image = image.context("the image is not cached")?;
                    // The format the image service checked; others are left to qemu-img.
                    let format =
                        matches!(img.disk_format.as_str(), "qcow2" | "raw").then_some(img.disk_format.as_str());
                    self.rbd
                        .write_image(
                            &self.cfg,
                            image,
                            format,
                            &self.cfg.volumes_pool,
                            part,
                            spec.size_gb * GIB,
                        )
                        .await?;
                }
            }
        }
        if self.rbd.size(&part_spec).await? < spec.size_gb * GIB {
            self.rbd.resize(&part_spec, spec.size_gb * GIB).await?;
        }
        Ok(())
    }
}

impl VolumeBackend for RbdBackend {
    fn name(&self) -> &'static str {
        "rbd"
    }

    fn format(&self) -> &'static str {
        "raw"
    }

    fn shared(&self) -> bool {
        true
    }

    /// The volumes pool's stored bytes and what Ceph says can still be written to it
    /// (`ceph df`: its `max_avail` accounts for replication).
    fn capacity(&self) -> BoxFuture<'_, Option<(u64, u64)>> {
        Box::pin(async move {
            match self.rbd.pool_capacity(&self.cfg.volumes_pool).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "no pool usage");
                    None
                }
            }
        })
    }

    /// `rbd resize` works while a VM has the image open; the VM's host then tells the guest
    /// (QEMU's `block_resize`).
    fn grows_in_use(&self) -> bool {
        true
    }

    fn disk(&self, id: &str) -> Disk {
        self.cfg.image(&self.cfg.volumes_pool, &format!("{VOLUME}{id}"))
    }

    fn volumes(&self) -> Vec<String> {
        self.listed()
            .into_iter()
            .filter(|l| l.snapshot.is_none())
            .filter_map(|l| l.image.strip_prefix(VOLUME).map(str::to_owned))
            .collect()
    }

    fn snapshots(&self) -> Vec<String> {
        self.listed()
            .into_iter()
            .filter_map(|l| l.snapshot?.strip_prefix(SNAPSHOT).map(str::to_owned))
            .collect()
    }

    fn create<'a>(&'a self, spec: &'a VolumeSpec, image: Option<&'a Path>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let part = format!("{PART}{}", spec.id);
            // Left over from a create that a crash or a failure interrupted.
            self.rbd.remove_image(&self.cfg.volumes_pool, &part).await?;
            let made = match self.create_part(spec, image, &part).await {
                Ok(()) => {
                    self.rbd
                        .run(&["rename", &self.spec(&part), &self.spec(&format!("{VOLUME}{}", spec.id))])
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = made {
                if let Err(e2) = self.rbd.remove_image(&self.cfg.volumes_pool, &part).await {
                    tracing::warn!(volume = %spec.id, error = %e2, "cannot remove a half-made RBD image");
                }
                return Err(e);
            }
            tracing::info!(volume = %spec.id, size_gb = spec.size_gb, pool = %self.cfg.volumes_pool, "RBD volume created");
            Ok(())
        })
    }

    fn size_gb<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move { Ok(self.rbd.size(&self.spec(&format!("{VOLUME}{id}"))).await? / GIB) })
    }

    fn grow<'a>(&'a self, id: &'a str, size_gb: u64) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.rbd
                .resize(&self.spec(&format!("{VOLUME}{id}")), size_gb * GIB)
                .await?;
            tracing::info!(volume = %id, size_gb, "RBD volume grown");
            Ok(())
        })
    }

    /// A protected RBD snapshot: volumes made from it are clones of it.
    fn snapshot<'a>(&'a self, spec: &'a SnapshotSpec) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let at = format!(
                "{}@{SNAPSHOT}{}",
                self.spec(&format!("{VOLUME}{}", spec.volume_id)),
                spec.id
            );
            self.rbd.run(&["snap", "create", "--no-progress", &at]).await?;
            self.rbd.run(&["snap", "protect", &at]).await?;
            tracing::info!(snapshot = %spec.id, volume = %spec.volume_id, "RBD snapshot taken");
            Ok(())
        })
    }

    fn remove_volume<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let image = format!("{VOLUME}{id}");
            if !self.rbd.exists(&self.cfg.volumes_pool, &image).await? {
                return Ok(());
            }
            if self.let_go_soon(id).await? {
                tracing::info!(volume = %id, "the RBD volume to remove is still open (a detach under way?); waiting");
                return Err(StillOpen.into());
            }
            self.rbd.remove_listed_image(&self.cfg.volumes_pool, &image).await?;
            tracing::info!(volume = %id, "RBD volume removed");
            Ok(())
        })
    }

    fn export_snapshot<'a>(&'a self, id: &'a str, volume: &'a str, out: &'a Path) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let at = format!("{}@{SNAPSHOT}{id}", self.spec(&format!("{VOLUME}{volume}")));
            let out = out.display().to_string();
            self.rbd.run(&["export", "--no-progress", &at, &out]).await?;
            Ok(())
        })
    }

    fn remove_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let snap = format!("{SNAPSHOT}{id}");
            let owner = self
                .rbd
                .list(&self.cfg.volumes_pool)
                .await?
                .into_iter()
                .find(|l| l.snapshot.as_deref() == Some(snap.as_str()));
            if let Some(owner) = owner {
                self.rbd.remove_snapshot(&self.spec(&owner.image), &snap).await?;
                tracing::info!(snapshot = %id, "RBD snapshot removed");
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbd_listing_reads_images_and_snapshots() {
        let out = r#"[{"image":"volume-a","id":"1","size":1073741824,"format":2},
            {"image":"volume-a","id":"1","snapshot":"snapshot-s","snapshot_id":4,"size":1073741824,"protected":"true","format":2},
            {"image":"other","size":5,"format":2}]"#;
        let l: Vec<Listed> = serde_json::from_str(out).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].snapshot.as_deref(), Some("snapshot-s"));
        assert_eq!((l[0].image.as_str(), l[0].snapshot.as_deref()), ("volume-a", None));
    }

    #[test]
    fn config_names_are_checked() {
        let mut c = CephConfig {
            conf: "/dev/null".into(),
            ..Default::default()
        };
        c.volumes_pool = "vol umes".into();
        assert!(c.validate().unwrap_err().to_string().contains("volumes_pool"));
        c.volumes_pool = "volumes".into();
        c.client = "--admin".into();
        assert!(c.validate().is_err());
    }
}

/// (size, free) of `pool` in `ceph df --format json`.
fn parse_pool_capacity(json: &str, pool: &str) -> Option<(u64, u64)> {
    #[derive(Deserialize)]
    struct Df {
        pools: Vec<Pool>,
    }
    #[derive(Deserialize)]
    struct Pool {
        name: String,
        stats: PoolStats,
    }
    #[derive(Deserialize)]
    struct PoolStats {
        #[serde(default)]
        stored: u64,
        #[serde(default)]
        max_avail: u64,
    }
    let df: Df = serde_json::from_str(json).ok()?;
    let p = df.pools.into_iter().find(|p| p.name == pool)?;
    Some((p.stats.stored.saturating_add(p.stats.max_avail), p.stats.max_avail))
}

#[cfg(test)]
mod capacity_tests {
    #[test]
    fn pool_capacity_parses() {
        let json = r#"{"stats":{},"pools":[{"name":"images","id":1,"stats":{"stored":5,"max_avail":7}},
            {"name":"volumes","id":2,"stats":{"stored":100,"objects":3,"max_avail":900}}]}"#;
        assert_eq!(super::parse_pool_capacity(json, "volumes"), Some((1000, 900)));
        assert_eq!(super::parse_pool_capacity(json, "backups"), None);
    }
}

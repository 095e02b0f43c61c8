//! The `rbd` backup target: the backups pool of the Ceph cluster. A chain of backups is one
//! RBD image `backup-<first id>` with a snapshot `backup-<id>` per backup, as Cinder's Ceph
//! driver keeps them. Backups of an RBD volume move as diffs: the volume gets a snapshot
//! `backup-<id>` (point in time, also while a VM writes), `rbd export-diff` from the
//! parent's snapshot gives only what changed, and `rbd import-diff` replays it on the chain's
//! image after rolling it back to the parent's snapshot. Volumes of other backends are
//! copied whole into an image of their own. A restore exports the backup's snapshot.
//! New images are made under `part-backup-<id>` and renamed when complete.

use super::safe_id;
use crate::storage::rbd::{CephConfig, RbdTool};
use anyhow::{bail, Context};
use std::path::Path;

const BACKUP: &str = "backup-";
const PART: &str = "part-backup-";
/// RADOS object size of RBD images (what `object_count` counts).
const OBJECT: u64 = 4 * 1024 * 1024;

pub struct RbdTarget {
    cfg: CephConfig,
    rbd: RbdTool,
}

/// Where an RBD volume's data comes from for a backup.
pub struct RbdSource<'a> {
    /// The volume's image spec (`volumes/volume-<id>`).
    pub image: &'a str,
    /// The snapshot of it to read (already taken).
    pub snapshot: &'a str,
    /// The parent backup's snapshot, when the volume still has it (then only the changes
    /// since it are sent).
    pub since: Option<&'a str>,
}

impl RbdTarget {
    pub fn new(cfg: CephConfig) -> Self {
        Self {
            rbd: RbdTool::new(&cfg),
            cfg,
        }
    }

    pub(crate) fn tool(&self) -> &RbdTool {
        &self.rbd
    }

    fn spec(&self, image: &str) -> String {
        format!("{}/{image}", self.cfg.backups_pool)
    }

    /// The image of the backups pool that holds backup `id`'s snapshot.
    pub async fn holder(&self, id: &str) -> anyhow::Result<Option<String>> {
        let snap = format!("{BACKUP}{id}");
        Ok(self
            .rbd
            .list(&self.cfg.backups_pool)
            .await?
            .into_iter()
            .find(|l| l.snapshot.as_deref() == Some(snap.as_str()))
            .map(|l| l.image))
    }

    async fn remove_part(&self, id: &str) -> anyhow::Result<()> {
        self.rbd
            .remove_image(&self.cfg.backups_pool, &format!("{PART}{id}"))
            .await
    }

    /// A backup of an RBD volume: a diff since the parent's snapshot replayed on the
    /// parent's chain, or the whole snapshot into a new image. Returns the objects written.
    pub async fn make_from_rbd(
        &self,
        id: &str,
        src: &RbdSource<'_>,
        parent: Option<&str>,
        scratch: &Path,
    ) -> anyhow::Result<u64> {
        let diff = scratch.join(format!("{id}.rbd-diff"));
        let diff_s = diff.display().to_string();
        let at = format!("{}@{}", src.image, src.snapshot);
        let want = format!("{BACKUP}{id}");
        let chain = match (parent, src.since) {
            (Some(p), Some(since)) => self.holder(p).await?.map(|img| (img, p, since)),
            _ => None,
        };
        let r = async {
            std::fs::remove_file(&diff).ok();
            let image = match &chain {
                Some((img, p, since)) => {
                    self.rbd
                        .run(&["export-diff", "--no-progress", "--from-snap", since, &at, &diff_s])
                        .await?;
                    let spec = self.spec(img);
                    self.rbd
                        .run(&["snap", "rollback", "--no-progress", &format!("{spec}@{BACKUP}{p}")])
                        .await?;
                    self.rbd.run(&["import-diff", "--no-progress", &diff_s, &spec]).await?;
                    spec
                }
                None => {
                    self.rbd.run(&["export-diff", "--no-progress", &at, &diff_s]).await?;
                    self.remove_part(id).await?;
                    let part = self.spec(&format!("{PART}{id}"));
                    let size = self.rbd.size(src.image).await?;
                    self.rbd.run(&["create", "--size", &format!("{size}B"), &part]).await?;
                    self.rbd.run(&["import-diff", "--no-progress", &diff_s, &part]).await?;
                    part
                }
            };
            // import-diff names the new snapshot as the source's.
            if src.snapshot != want {
                self.rbd
                    .run(&[
                        "snap",
                        "rename",
                        &format!("{image}@{}", src.snapshot),
                        &format!("{image}@{want}"),
                    ])
                    .await?;
            }
            if chain.is_none() {
                self.rbd.run(&["rename", &image, &self.spec(&want)]).await?;
            }
            anyhow::Ok(std::fs::metadata(&diff).map(|m| m.len()).unwrap_or(0).div_ceil(OBJECT))
        }
        .await;
        std::fs::remove_file(&diff).ok();
        if r.is_err() {
            if let Err(e) = self.remove_part(id).await {
                tracing::warn!(backup = %id, error = %e, "cannot remove a half-made backup image");
            }
        }
        r
    }

    /// A backup of a volume of another backend: the raw copy `raw` into a new image.
    pub async fn make_from_raw(&self, id: &str, raw: &Path) -> anyhow::Result<u64> {
        let part = self.spec(&format!("{PART}{id}"));
        let r = async {
            self.remove_part(id).await?;
            let raw_s = raw.display().to_string();
            self.rbd.run(&["import", "--no-progress", &raw_s, &part]).await?;
            self.rbd
                .run(&["snap", "create", "--no-progress", &format!("{part}@{BACKUP}{id}")])
                .await?;
            self.rbd
                .run(&["rename", &part, &self.spec(&format!("{BACKUP}{id}"))])
                .await?;
            anyhow::Ok(std::fs::metadata(raw)?.len().div_ceil(OBJECT))
        }
        .await;
        if r.is_err() {
            if let Err(e) = self.remove_part(id).await {
                tracing::warn!(backup = %id, error = %e, "cannot remove a half-made backup image");
            }
        }
        r
    }

    /// Writes backup `id` as a raw file `out`.
    pub async fn restore(&self, id: &str, out: &Path) -> anyhow::Result<()> {
        if !safe_id(id) {
            bail!("not a backup id: {id:?}");
        }
        let img = self
            .holder(id)
            .await?
            .with_context(|| format!("backup {id} is not in pool {}", self.cfg.backups_pool))?;
        let at = format!("{}@{BACKUP}{id}", self.spec(&img));
        self.rbd
            .run(&["export", "--no-progress", &at, &out.display().to_string()])
            .await?;
        Ok(())
    }

    /// Removes backup `id`'s snapshot, and its image once no backup is left in it.
    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        if !safe_id(id) {
            bail!("not a backup id: {id:?}");
        }
        self.remove_part(id).await?;
        let Some(img) = self.holder(id).await? else {
            return Ok(());
        };
        let spec = self.spec(&img);
        self.rbd.remove_snapshot(&spec, &format!("{BACKUP}{id}")).await?;
        let left = self.rbd.run(&["snap", "ls", "--format", "json", &spec]).await?;
        let left: Vec<serde_json::Value> = serde_json::from_str(left.trim()).unwrap_or_default();
        if left.is_empty() {
            self.rbd.remove_image(&self.cfg.backups_pool, &img).await?;
        }
        Ok(())
    }
}

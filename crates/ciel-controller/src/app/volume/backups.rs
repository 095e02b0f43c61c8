//! Volume backups (Cinder's `/backups`): the rules of making, restoring and deleting them,
//! as Cinder's backup API has them. The data is copied by agents, not here: a backup in
//! `creating`, `restoring` or `deleting` is work listed in the desired state of the host
//! that holds its data (see [`super::report`]), and the host's report ends it. Every request
//! changes its rows in one transaction: a backup, its volume's status and a restore's new
//! volume appear together or not at all.

use super::backup_params::{CreateBackup, ImportRecord, RestoreBackup, UpdateBackup};
use super::{to_json, visible, ZONE};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::compute::hosts;
use crate::db::volume::backups::{self as bdb, Backup, BackupStatus};
use crate::db::volume::{self as db, SnapshotStatus, Volume, VolumeStatus};
use crate::db::Tx;
use crate::error::{Error, Result};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a volume restored from a backup starts with: its source volume's properties.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VolumeMeta {
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub image_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub bootable: bool,
    #[serde(default)]
    pub volume_type_id: Option<String>,
}

/// The answer to a restore request.
#[derive(Debug, Clone)]
pub struct Restore {
    pub backup_id: String,
    pub volume_id: String,
    pub volume_name: String,
}

/// What `export_record` puts in its `backup_url` (base64 JSON): enough to bring the record
/// back pointing at the same stored data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupRecord {
    pub id: String,
    pub volume_id: String,
    pub size: i64,
    pub data_id: String,
    pub target: String,
    pub backend: String,
    pub host_id: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub container: Option<String>,
    #[serde(default)]
    pub object_count: i64,
    #[serde(default)]
    pub volume_meta: Option<VolumeMeta>,
}

/// `backup_service` names of the two targets, as Cinder's drivers are named.
pub fn service_of(target: &str) -> &'static str {
    match target {
        "rbd" => "cinder.backup.drivers.ceph",
        _ => "cinder.backup.drivers.posix",
    }
}

fn visible_backup(caller: &Caller, b: Option<Backup>, id: &str) -> Result<Backup> {
    match b {
        Some(b) if in_project(caller, &b.project_id) => Ok(b),
        _ => Err(Error::not_found("backup", id)),
    }
}

fn invalid_backup(why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid backup: {why}"))
}

/// Cinder's 413s for the backup quotas.
fn over_limit(name: &str, limit: i64, used: i64, more: i64) -> Error {
    let message = if name == "backups" {
        format!("Maximum number of backups allowed ({limit}) exceeded")
    } else {
        format!(
            "Requested backup exceeds allowed Backup gigabytes quota. Requested {more}G, quota is {limit}G and \
             {used}G has been consumed."
        )
    };
    Error::Typed {
        status: 413,
        kind: "overLimit",
        message,
    }
}

/// The parent of a new incremental backup, as Cinder picks it: the backup of the volume
/// with the newest data (of those older than `before`, for a backup of a snapshot taken
/// then); on equal times the one deeper in its chain, since a child is never older.
fn latest(backups: &[Backup], before: Option<i64>) -> Option<&Backup> {
    let depth = |b: &Backup| {
        let mut d = 0;
        let mut cur = b.parent_id.clone();
        while let Some(p) = cur {
            d += 1;
            cur = backups.iter().find(|x| x.id == p).and_then(|x| x.parent_id.clone());
            if d > backups.len() {
                break;
            }
        }
        d
    };
    backups
        .iter()
        .filter(|b| before.is_none_or(|t| b.data_timestamp < t))
        .max_by_key(|b| (b.data_timestamp, depth(b), b.created_at))
}

/// The status a volume goes back to after a backup: attached or not.
pub(crate) async fn settled_status(tx: &mut Tx<'_>, volume: &str) -> Result<VolumeStatus> {
    Ok(if db::attachment_of(&mut **tx, volume).await?.is_some() {
        VolumeStatus::InUse
    } else {
        VolumeStatus::Available
    })
}

impl App {
    /// Refuses with 413 when `project` would exceed its backup quotas by `gigabytes` more.
    async fn check_backup_quota(&self, tx: &mut Tx<'_>, project: &str, gigabytes: i64) -> Result<()> {
        let limits = super::volumes::volume_limits(tx, project).await?;
        let (n, gb) = bdb::usage(&mut **tx, project).await?;
        for (name, used, more) in [("backups", n, 1), ("backup_gigabytes", gb, gigabytes)] {
            let limit = limits.get(name).copied().unwrap_or(-1);
            if limit >= 0 && used + more > limit {
                return Err(over_limit(name, limit, used, more));
            }
        }
        Ok(())
    }

    pub async fn create_backup(&self, caller: &Caller, p: CreateBackup) -> Result<Backup> {
        let mut tx = self.begin().await?;
        let mut v = visible(caller, db::get(&mut *tx, &p.volume_id).await?, &p.volume_id)?;
        if !may_write(caller, &v.project_id) {
            return Err(Error::forbidden());
        }
        let snapshot = match &p.snapshot_id {
            Some(sid) => {
                let s = db::get_snapshot(&mut *tx, sid)
                    .await?
                    .filter(|s| in_project(caller, &s.project_id))
                    .ok_or_else(|| Error::not_found("snapshot", sid))?;
                if s.volume_id != v.id.as_str() {
                    return Err(Error::bad_request(format!(
                        "Invalid snapshot: Snapshot {sid} is not a snapshot of volume {}.",
                        v.id
                    )));
                }
                if s.status != SnapshotStatus::Available {
                    return Err(Error::bad_request(format!(
                        "Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"{}\".",
                        s.status
                    )));
                }
                Some(s)
            }
            None => None,
        };
        let attached = v.status == VolumeStatus::InUse;
        if snapshot.is_none() {
            match v.status {
                VolumeStatus::Available => {}
                VolumeStatus::InUse if p.force => {}
                VolumeStatus::InUse => {
                    return Err(Error::bad_request(
                        "Invalid volume: Backing up an in-use volume must use the force flag.",
                    ))
                }
                s => {
                    return Err(Error::bad_request(format!(
                        "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"{s}\"."
                    )))
                }
            }
        } else if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"{}\".",
                v.status
            )));
        }
        let Some(host) = v.host_id.clone() else {
            return Err(Error::bad_request("Invalid volume: the volume is on no host."));
        };
        if hosts::get(&mut *tx, &host).await?.is_none() {
            return Err(Error::bad_request(
                "Service cinder-backup could not be found: the volume's host is gone.",
            ));
        }
        let data_timestamp = snapshot.as_ref().map(|s| s.created_at).unwrap_or_else(crate::db::now);
        let parent = if p.incremental {
            let all = bdb::of_volume(&mut *tx, &v.id).await?;
            let parent = latest(&all, snapshot.as_ref().map(|s| s.created_at))
                .ok_or_else(|| invalid_backup("No backups available to do an incremental backup."))?;
            if parent.status != BackupStatus::Available {
                return Err(invalid_backup(
                    "The parent backup must be available for incremental backup.",
                ));
            }
            Some(parent.clone())
        } else {
            None
        };
        self.check_backup_quota(&mut tx, &v.project_id, v.size).await?;
        let now = crate::db::now();
        let meta = VolumeMeta {
            metadata: super::parse_map(&v.metadata),
            image_metadata: super::parse_map(&v.image_metadata),
            bootable: v.bootable,
            volume_type_id: Some(v.volume_type_id.clone()),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let b = Backup {
            id: id.clone(),
            project_id: v.project_id.to_string(),
            user_id: caller.user_id().to_string(),
            volume_id: v.id.to_string(),
            snapshot_id: p.snapshot_id.clone(),
            host_id: Some(host.to_string()),
            name: p.name,
            description: p.description,
            container: p.container,
            status: BackupStatus::Creating,
            fail_reason: None,
            size: v.size,
            object_count: 0,
            parent_id: parent.map(|p| p.id),
            data_id: id,
            target: None,
            backend: v.backend.clone(),
            point_in_time: attached && snapshot.is_none(),
            availability_zone: Some(p.availability_zone.unwrap_or_else(|| v.availability_zone.clone())),
            metadata: to_json(&p.metadata),
            volume_meta: serde_json::to_string(&meta).unwrap_or_else(|_| "{}".into()),
            restore_volume_id: None,
            data_timestamp,
            created_at: now,
            updated_at: Some(now),
        };
        bdb::insert(&mut *tx, &b).await?;
        match snapshot {
            Some(mut s) => {
                s.status = SnapshotStatus::BackingUp;
                s.updated_at = Some(now);
                db::update_snapshot(&mut *tx, &s).await?;
            }
            None => {
                v.status = VolumeStatus::BackingUp;
                v.updated_at = Some(now);
                db::update(&mut *tx, &v).await?;
            }
        }
        tx.host_changed(&host);
        tx.commit().await?;
        Ok(b)
    }

    pub async fn get_backup(&self, caller: &Caller, id: &str) -> Result<Backup> {
        visible_backup(caller, bdb::get(&self.db, id).await?, id)
    }

    /// The caller's project's backups (every project's for an admin asking so), oldest first.
    pub async fn list_backups(&self, caller: &Caller, all_projects: bool) -> Result<Vec<Backup>> {
        if all_projects && caller.is_admin() {
            bdb::list(&self.db, None).await
        } else {
            bdb::list(&self.db, Some(&super::own_project(caller)?)).await
        }
    }

    /// How many backups build on each of `ids` (Cinder's `has_dependent_backups`).
    pub async fn backup_dependents(&self, ids: &[&str]) -> Result<BTreeMap<String, i64>> {
        let mut out = BTreeMap::new();
        for id in ids {
            out.insert(id.to_string(), bdb::dependents(&self.db, id).await?);
        }
        Ok(out)
    }

    async fn backup_for_update(&self, tx: &mut Tx<'_>, caller: &Caller, id: &str) -> Result<Backup> {
        let b = visible_backup(caller, bdb::get(&mut **tx, id).await?, id)?;
        if !may_write(caller, &b.project_id) {
            return Err(Error::forbidden());
        }
        Ok(b)
    }

    pub async fn update_backup(&self, caller: &Caller, id: &str, p: UpdateBackup) -> Result<Backup> {
        let mut tx = self.begin().await?;
        let mut b = self.backup_for_update(&mut tx, caller, id).await?;
        if let Some(n) = p.name {
            b.name = n;
        }
        if let Some(d) = p.description {
            b.description = d;
        }
        if let Some(m) = p.metadata {
            b.metadata = to_json(&m);
        }
        b.updated_at = Some(crate::db::now());
        bdb::update(&mut *tx, &b).await?;
        tx.commit().await?;
        Ok(b)
    }

    /// Marks the backup `deleting` for the host that made it (its data goes, then the row);
    /// a backup whose data another record shares, or whose host is gone, loses its row
    /// alone. `force` (admin, `os-force_delete`): whatever the status.
    pub async fn delete_backup(&self, caller: &Caller, id: &str, force: bool) -> Result<()> {
        if force {
            caller.require_admin()?;
        }
        let mut tx = self.begin().await?;
        let mut b = self.backup_for_update(&mut tx, caller, id).await?;
        if !force && !matches!(b.status, BackupStatus::Available | BackupStatus::Error) {
            return Err(invalid_backup("Backup status must be available or error"));
        }
        if bdb::dependents(&mut *tx, id).await? > 0 {
            return Err(invalid_backup("Incremental backups exist for this backup."));
        }
        if b.status == BackupStatus::Creating {
            self.settle_source(&mut tx, &b).await?;
        }
        if let Some(v) = b.restore_volume_id.take() {
            if let Some(mut vol) = db::get(&mut *tx, &v).await? {
                if vol.status == VolumeStatus::RestoringBackup {
                    vol.status = VolumeStatus::ErrorRestoring;
                    vol.updated_at = Some(crate::db::now());
                    db::update(&mut *tx, &vol).await?;
                }
            }
        }
        let host = match &b.host_id {
            Some(h) if hosts::get(&mut *tx, h).await?.is_some() => Some(h.clone()),
            _ => None,
        };
        let shared = bdb::sharing(&mut *tx, &b.data_id).await? > 1;
        match host {
            Some(h) if !shared => {
                b.status = BackupStatus::Deleting;
                b.updated_at = Some(crate::db::now());
                bdb::update(&mut *tx, &b).await?;
                tx.host_changed(&h);
            }
            _ => bdb::delete(&mut *tx, id).await?,
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives the backed-up volume (or snapshot) its status back after a backup ends.
    pub(crate) async fn settle_source(&self, tx: &mut Tx<'_>, b: &Backup) -> Result<()> {
        settle_source(tx, b, crate::db::now()).await
    }

    /// Restores onto `p.volume_id` (an `available` volume at least as large) or onto a new
    /// volume of the backup's size made on the backup's host; the volume is
    /// `restoring-backup` and the backup `restoring` until that host has written it.
    pub async fn restore_backup(&self, caller: &Caller, id: &str, p: RestoreBackup) -> Result<Restore> {
        let mut tx = self.begin().await?;
        let mut b = self.backup_for_update(&mut tx, caller, id).await?;
        if b.status != BackupStatus::Available {
            return Err(invalid_backup("Backup status must be available"));
        }
        let now = crate::db::now();
        let mut vol = match &p.volume_id {
            Some(vid) => {
                let v = visible(caller, db::get(&mut *tx, vid).await?, vid)?;
                if !may_write(caller, &v.project_id) {
                    return Err(Error::forbidden());
                }
                if v.status != VolumeStatus::Available {
                    return Err(Error::bad_request(format!(
                        "Invalid volume: Volume to be restored to must be available, but the current status is \"{}\".",
                        v.status
                    )));
                }
                if v.size < b.size {
                    return Err(Error::bad_request(format!(
                        "Invalid volume: volume size {} is too small to restore backup of size {}.",
                        v.size, b.size
                    )));
                }
                if v.host_id.is_none() {
                    return Err(Error::bad_request("Invalid volume: the volume is on no host."));
                }
                v
            }
            None => self.restore_volume(&mut tx, caller, &b, p.name, now).await?,
        };
        vol.status = VolumeStatus::RestoringBackup;
        vol.updated_at = Some(now);
        db::update(&mut *tx, &vol).await?;
        b.status = BackupStatus::Restoring;
        b.restore_volume_id = Some(vol.id.to_string());
        b.fail_reason = None;
        b.updated_at = Some(now);
        bdb::update(&mut *tx, &b).await?;
        if let Some(h) = &vol.host_id {
            tx.host_changed(h);
        }
        tx.commit().await?;
        Ok(Restore {
            backup_id: b.id,
            volume_id: vol.id.to_string(),
            volume_name: vol.name.unwrap_or_default(),
        })
    }

    /// The new volume a restore without a target makes: the backup's size, its source
    /// volume's type (when it still exists), metadata and bootable flag, on the backup's
    /// host (where a `dir` target keeps the data), in the caller's project and quota.
    async fn restore_volume(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        b: &Backup,
        name: Option<String>,
        now: i64,
    ) -> Result<Volume> {
        let project = super::own_project(caller)?;
        let meta: VolumeMeta = serde_json::from_str(&b.volume_meta).unwrap_or_default();
        let vtype = match &meta.volume_type_id {
            Some(t) => db::get_type(&mut **tx, t).await?,
            None => None,
        };
        let vtype = match vtype {
            Some(t) => t,
            None => db::get_type_by_name(&mut **tx, super::types::DEFAULT_TYPE)
                .await?
                .ok_or_else(|| Error::Internal("the default volume type is missing".into()))?,
        };
        let host = match &b.host_id {
            Some(h) if hosts::get(&mut **tx, h).await?.is_some() => h.clone(),
            _ => {
                return Err(Error::bad_request(
                    "Invalid backup: the host that holds the backup is gone.",
                ))
            }
        };
        self.check_volume_quota(tx, &project, Some(&vtype.name), 1, 0, b.size)
            .await?;
        let v = Volume {
            id: uuid::Uuid::new_v4().to_string().into(),
            project_id: project.into(),
            user_id: caller.user_id().into(),
            name: Some(name.unwrap_or_else(|| format!("restore_backup_{}", b.id))),
            description: None,
            size: b.size,
            status: VolumeStatus::RestoringBackup,
            availability_zone: b.availability_zone.clone().unwrap_or_else(|| ZONE.into()),
            volume_type_id: vtype.id,
            host_id: Some(host.into()),
            source_volid: None,
            snapshot_id: None,
            image_id: None,
            bootable: meta.bootable,
            read_only: None,
            metadata: to_json(&meta.metadata),
            image_metadata: to_json(&meta.image_metadata),
            fault: None,
            created_at: now,
            updated_at: Some(now),
            backend: b.backend.clone(),
        };
        db::insert(&mut **tx, &v).await?;
        Ok(v)
    }

    /// `os-reset_status` (admin): `available` or `error`, nothing else changes.
    pub async fn reset_backup_status(&self, caller: &Caller, id: &str, status: &str) -> Result<()> {
        caller.require_admin()?;
        let status = match status {
            "available" => BackupStatus::Available,
            "error" => BackupStatus::Error,
            other => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute status. Value: {other}. '{other}' is not one of ['available', 'error']"
                )))
            }
        };
        let mut tx = self.begin().await?;
        let mut b = visible_backup(caller, bdb::get(&mut *tx, id).await?, id)?;
        if b.status == BackupStatus::Creating {
            self.settle_source(&mut tx, &b).await?;
        }
        b.status = status;
        b.updated_at = Some(crate::db::now());
        bdb::update(&mut *tx, &b).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /backups/{id}/export_record` (admin): the backup's record, to import later.
    pub async fn export_backup_record(&self, caller: &Caller, id: &str) -> Result<(String, String)> {
        caller.require_admin()?;
        let b = visible_backup(caller, bdb::get(&self.db, id).await?, id)?;
        let target = match (&b.status, &b.target) {
            (BackupStatus::Available, Some(t)) => t.clone(),
            _ => return Err(invalid_backup("Backup status must be available and not restoring.")),
        };
        let rec = BackupRecord {
            id: b.id,
            volume_id: b.volume_id,
            size: b.size,
            data_id: b.data_id,
            target: target.clone(),
            backend: b.backend,
            host_id: b.host_id,
            parent_id: b.parent_id,
            name: b.name,
            description: b.description,
            container: b.container,
            object_count: b.object_count,
            volume_meta: serde_json::from_str(&b.volume_meta).ok(),
        };
        let json = serde_json::to_vec(&rec).map_err(|e| Error::Internal(e.to_string()))?;
        Ok((
            service_of(&target).to_string(),
            base64::engine::general_purpose::STANDARD.encode(json),
        ))
    }

    /// `POST /backups/import_record` (admin): a record pointing at data a backup target
    /// already holds, in the caller's project. Every value that reaches an agent is checked
    /// here (ids are UUIDs, the target and backend known names, the host one of ours).
    pub async fn import_backup_record(&self, caller: &Caller, r: ImportRecord) -> Result<Backup> {
        caller.require_admin()?;
        let bad = |why: &str| Error::bad_request(format!("Invalid backup: {why}"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(r.backup_url.trim())
            .map_err(|_| bad("backup_url is not base64."))?;
        let rec: BackupRecord = serde_json::from_slice(&raw).map_err(|e| bad(&format!("unusable backup_url: {e}")))?;
        let is_uuid = |s: &str| uuid::Uuid::parse_str(s).is_ok();
        if !is_uuid(&rec.id) || !is_uuid(&rec.data_id) || !is_uuid(&rec.volume_id) {
            return Err(bad("the record's ids must be UUIDs."));
        }
        if !matches!(rec.target.as_str(), "dir" | "rbd") || service_of(&rec.target) != r.backup_service {
            return Err(Error::bad_request(format!(
                "Service {} could not be found.",
                r.backup_service
            )));
        }
        if !matches!(rec.backend.as_str(), "file" | "lvm" | "rbd") || rec.size <= 0 {
            return Err(bad("unusable backup record."));
        }
        let project = super::own_project(caller)?;
        let mut tx = self.begin().await?;
        if bdb::get(&mut *tx, &rec.id).await?.is_some() {
            return Err(bad(&format!("Backup {} already exists.", rec.id)));
        }
        let host = match &rec.host_id {
            Some(h) if hosts::get(&mut *tx, h).await?.is_some() => Some(h.clone()),
            Some(_) => return Err(bad("the record's host is not known here.")),
            None => None,
        };
        // A parent that is gone leaves nothing to restore the chain from.
        if let Some(p) = &rec.parent_id {
            if bdb::get(&mut *tx, p).await?.is_none() {
                return Err(bad("the parent of this incremental backup is not known here."));
            }
        }
        self.check_backup_quota(&mut tx, &project, rec.size).await?;
        let now = crate::db::now();
        let b = Backup {
            id: rec.id,
            project_id: project,
            user_id: caller.user_id().to_string(),
            volume_id: rec.volume_id,
            snapshot_id: None,
            host_id: host,
            name: rec.name,
            description: rec.description,
            container: rec.container,
            status: BackupStatus::Available,
            fail_reason: None,
            size: rec.size,
            object_count: rec.object_count,
            parent_id: rec.parent_id,
            data_id: rec.data_id,
            target: Some(rec.target),
            backend: rec.backend,
            point_in_time: false,
            availability_zone: Some(ZONE.into()),
            metadata: "{}".into(),
            volume_meta: serde_json::to_string(&rec.volume_meta.unwrap_or_default()).unwrap_or_else(|_| "{}".into()),
            restore_volume_id: None,
            data_timestamp: now,
            created_at: now,
            updated_at: Some(now),
        };
        bdb::insert(&mut *tx, &b).await?;
        tx.commit().await?;
        Ok(b)
    }

    /// (backups, gigabytes) `project` uses.
    pub async fn backup_usage(&self, project: &str) -> Result<(i64, i64)> {
        bdb::usage(&self.db, project).await
    }
}

/// The backed-up volume (or snapshot) back to its status from before the backup.
pub(crate) async fn settle_source(tx: &mut Tx<'_>, b: &Backup, now: i64) -> Result<()> {
    if let Some(sid) = &b.snapshot_id {
        if let Some(mut s) = db::get_snapshot(&mut **tx, sid).await? {
            if s.status == SnapshotStatus::BackingUp {
                s.status = SnapshotStatus::Available;
                s.updated_at = Some(now);
                db::update_snapshot(&mut **tx, &s).await?;
            }
        }
        return Ok(());
    }
    if let Some(mut v) = db::get(&mut **tx, &b.volume_id).await? {
        if v.status == VolumeStatus::BackingUp {
            v.status = settled_status(tx, &v.id).await?;
            v.updated_at = Some(now);
            db::update(&mut **tx, &v).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(id: &str, ts: i64, parent: Option<&str>) -> Backup {
        Backup {
            id: id.into(),
            project_id: String::new(),
            user_id: String::new(),
            volume_id: String::new(),
            snapshot_id: None,
            host_id: None,
            name: None,
            description: None,
            container: None,
            status: BackupStatus::Available,
            fail_reason: None,
            size: 1,
            object_count: 0,
            parent_id: parent.map(Into::into),
            data_id: id.into(),
            target: None,
            backend: "file".into(),
            point_in_time: false,
            availability_zone: None,
            metadata: "{}".into(),
            volume_meta: "{}".into(),
            restore_volume_id: None,
            data_timestamp: ts,
            created_at: ts,
            updated_at: None,
        }
    }

    #[test]
    fn the_parent_is_the_newest_and_deepest() {
        let all = vec![b("a", 10, None), b("b", 10, Some("a")), b("c", 5, None)];
        assert_eq!(latest(&all, None).unwrap().id, "b");
        assert_eq!(latest(&all, Some(10)).unwrap().id, "c");
        assert!(latest(&all, Some(5)).is_none());
    }
}

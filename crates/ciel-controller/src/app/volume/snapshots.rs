//! Volume snapshots: taken by the volume's host (a copy of the volume's file), listed,
//! renamed, with metadata, deleted.

use super::params::{CreateSnapshot, UpdateSnapshot};
use super::{to_json, visible};
use crate::app::identity::caller::Caller;
use crate::app::policy::in_project;
use crate::app::App;
use crate::db::volume::{self as db, Snapshot, SnapshotStatus, Volume, VolumeStatus};
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

fn visible_snapshot(caller: &Caller, s: Option<Snapshot>, id: &str) -> Result<Snapshot> {
    match s {
        Some(s) if in_project(caller, &s.project_id) => Ok(s),
        _ => Err(Error::not_found("snapshot", id)),
    }
}

impl App {
    pub async fn create_snapshot(&self, caller: &Caller, p: CreateSnapshot) -> Result<Snapshot> {
        let CreateSnapshot {
            volume_id,
            force,
            metadata: md,
            name,
            description,
        } = p;
        let mut tx = self.begin().await?;
        let v = visible(caller, db::get(&mut *tx, &volume_id).await?, &volume_id)
            .map_err(|_| Error::not_found("volume", &volume_id))?;
        if !crate::app::policy::may_write(caller, &v.project_id) {
            return Err(Error::forbidden());
        }
        // An in-use volume needs `force` (Cinder before microversion 3.66): the caller
        // accepts a crash-consistent copy of a disk a guest is writing.
        if v.status == VolumeStatus::InUse && !force {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume {} status must be available, but current status is: in-use.",
                v.id
            )));
        }
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume {} status must be available or in-use, but current status is: {}.",
                v.id, v.status
            )));
        }
        let s = self
            .insert_snapshot(&mut tx, caller, &v, name, description, &md)
            .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Records a new snapshot of `v` in `tx` (within the project's quotas) and tells its host.
    pub(crate) async fn insert_snapshot(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        v: &Volume,
        name: Option<String>,
        description: Option<String>,
        md: &BTreeMap<String, String>,
    ) -> Result<Snapshot> {
        let type_name = self.type_name(tx, &v.volume_type_id).await?;
        self.check_volume_quota(tx, &v.project_id, Some(&type_name), 0, 1, v.size)
            .await?;
        let now = crate::db::now();
        let s = Snapshot {
            id: uuid::Uuid::new_v4().to_string(),
            volume_id: v.id.to_string(),
            project_id: v.project_id.to_string(),
            user_id: caller.user_id().to_string(),
            name,
            description,
            size: v.size,
            status: SnapshotStatus::Creating,
            progress: None,
            metadata: to_json(md),
            created_at: now,
            updated_at: Some(now),
        };
        db::insert_snapshot(&mut **tx, &s).await?;
        if let Some(h) = &v.host_id {
            tx.host_changed(h);
        }
        Ok(s)
    }

    pub async fn get_snapshot(&self, caller: &Caller, id: &str) -> Result<Snapshot> {
        visible_snapshot(caller, db::get_snapshot(&self.db, id).await?, id)
    }

    pub async fn list_snapshots(&self, caller: &Caller, all_projects: bool) -> Result<Vec<Snapshot>> {
        if all_projects && caller.is_admin() {
            db::list_snapshots(&self.db, None).await
        } else {
            db::list_snapshots(&self.db, Some(&super::own_project(caller)?)).await
        }
    }

    async fn snapshot_for_update(&self, tx: &mut crate::db::Tx<'_>, caller: &Caller, id: &str) -> Result<Snapshot> {
        let s = visible_snapshot(caller, db::get_snapshot(&mut **tx, id).await?, id)?;
        if !crate::app::policy::may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        Ok(s)
    }

    pub async fn update_snapshot(&self, caller: &Caller, id: &str, p: UpdateSnapshot) -> Result<Snapshot> {
        let mut tx = self.begin().await?;
        let mut s = self.snapshot_for_update(&mut tx, caller, id).await?;
        if let Some(name) = p.name {
            s.name = name;
        }
        if let Some(description) = p.description {
            s.description = description;
        }
        s.updated_at = Some(crate::db::now());
        db::update_snapshot(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(s)
    }

    pub async fn delete_snapshot(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let s = self.snapshot_for_update(&mut tx, caller, id).await?;
        if !matches!(
            s.status,
            SnapshotStatus::Available | SnapshotStatus::Error | SnapshotStatus::Deleting
        ) {
            return Err(Error::bad_request(format!(
                "Invalid snapshot: Snapshot status must be available or error, not {}.",
                s.status
            )));
        }
        if db::groups::group_snapshot_of(&mut *tx, id).await?.is_some() {
            return Err(Error::bad_request(format!(
                "Invalid snapshot: Snapshot {id} is part of a group snapshot: delete the group snapshot instead."
            )));
        }
        retire_snapshot(&mut tx, s).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the recorded status (admin), nothing else.
    pub async fn reset_snapshot_status(&self, caller: &Caller, id: &str, status: &str) -> Result<()> {
        caller.require_admin()?;
        use SnapshotStatus as S;
        let status = match status.parse() {
            Ok(s @ (S::Available | S::Error | S::Creating | S::Deleting | S::ErrorDeleting)) => s,
            _ => {
                return Err(Error::bad_request(format!(
                    "Invalid input received: Must specify a valid status ({status})"
                )))
            }
        };
        let mut tx = self.begin().await?;
        let mut s = visible_snapshot(caller, db::get_snapshot(&mut *tx, id).await?, id)?;
        s.status = status;
        s.updated_at = Some(crate::db::now());
        db::update_snapshot(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `os-update_snapshot_status`: what Nova reports of a snapshot it takes (the owner may:
    /// from `creating` to `available` or `error`, with a progress).
    pub async fn update_snapshot_status(
        &self,
        caller: &Caller,
        id: &str,
        status: &str,
        progress: Option<String>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut s = self.snapshot_for_update(&mut tx, caller, id).await?;
        let to = match status.parse() {
            Ok(to @ (SnapshotStatus::Available | SnapshotStatus::Error)) if s.status == SnapshotStatus::Creating => to,
            _ => {
                return Err(Error::bad_request(format!(
                    "Invalid snapshot: status can only go from creating to available or error, not {} to {status}.",
                    s.status
                )))
            }
        };
        s.status = to;
        s.progress = progress;
        s.updated_at = Some(crate::db::now());
        db::update_snapshot(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `os-force_delete` (admin): deletes whatever the status.
    pub async fn force_delete_snapshot(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut s = visible_snapshot(caller, db::get_snapshot(&mut *tx, id).await?, id)?;
        let host = db::get(&mut *tx, &s.volume_id).await?.and_then(|v| v.host_id);
        match host {
            Some(h) => {
                s.status = SnapshotStatus::Deleting;
                s.updated_at = Some(crate::db::now());
                db::update_snapshot(&mut *tx, &s).await?;
                tx.host_changed(&h);
            }
            None => db::delete_snapshot(&mut *tx, id).await?,
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_snapshot_metadata(
        &self,
        caller: &Caller,
        id: &str,
        md: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        let mut tx = self.begin().await?;
        let mut s = self.snapshot_for_update(&mut tx, caller, id).await?;
        let cur = super::merged(&s.metadata, md, replace);
        s.metadata = to_json(&cur);
        s.updated_at = Some(crate::db::now());
        db::update_snapshot(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(cur)
    }

    pub async fn delete_snapshot_metadata(&self, caller: &Caller, id: &str, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut s = self.snapshot_for_update(&mut tx, caller, id).await?;
        let cur = super::without(&s.metadata, key).ok_or_else(|| Error::not_found("snapshot metadata", key))?;
        s.metadata = to_json(&cur);
        s.updated_at = Some(crate::db::now());
        db::update_snapshot(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Hands a snapshot to its volume's host for removal (`deleting`), or removes the row when
/// the host holds nothing of it (it failed, or the volume has no host).
pub(crate) async fn retire_snapshot(tx: &mut Tx<'_>, mut s: Snapshot) -> Result<()> {
    let host = db::get(&mut **tx, &s.volume_id).await?.and_then(|v| v.host_id);
    match host {
        Some(h) if s.status != SnapshotStatus::Error => {
            s.status = SnapshotStatus::Deleting;
            s.updated_at = Some(crate::db::now());
            db::update_snapshot(&mut **tx, &s).await?;
            tx.host_changed(&h);
        }
        _ => db::delete_snapshot(&mut **tx, &s.id).await?,
    }
    Ok(())
}

//! Generic volume groups (3.13+) and group snapshots (3.14+): volumes of a group's volume
//! types managed together. A group is a record (no data of its own); its snapshot is one
//! snapshot per member volume, made by their hosts; a group made from a group snapshot or
//! another group is one new volume per member. What waits on members is settled by the
//! hosts' reports (`db::volume::groups::settle`).

use super::group_params::{CreateGroup, CreateGroupFromSrc, CreateGroupSnapshot, GroupSource, UpdateGroup};
use super::params::CreateVolume;
use super::{own_project, visible};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::volume::groups::{self as db, Group, GroupSnapshot, GroupStatus};
use crate::db::volume::{self as vdb, AttachmentStatus, Volume, VolumeStatus};
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

fn invalid_group(why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid group: {why}"))
}

fn type_ids(g: &Group) -> Vec<String> {
    serde_json::from_str(&g.volume_type_ids).unwrap_or_default()
}

impl App {
    async fn group_in(&self, tx: &mut Tx<'_>, caller: &Caller, id: &str) -> Result<Group> {
        match db::get_group(&mut **tx, id).await? {
            Some(g) if in_project(caller, &g.project_id) => Ok(g),
            _ => Err(Error::not_found("group", id)),
        }
    }

    async fn group_for_update(&self, tx: &mut Tx<'_>, caller: &Caller, id: &str) -> Result<Group> {
        let g = self.group_in(tx, caller, id).await?;
        if !may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        Ok(g)
    }

    /// Refuses a new group over the project's `groups` quota.
    async fn check_group_quota(&self, tx: &mut Tx<'_>, project: &str) -> Result<()> {
        let limits = super::volumes::volume_limits(tx, project).await?;
        let limit = limits.get("groups").copied().unwrap_or(-1);
        let used = db::count_groups(&mut **tx, project).await?;
        if limit >= 0 && used + 1 > limit {
            return Err(super::quotas::over_limit("groups", limit, used, 1));
        }
        Ok(())
    }

    /// Puts volume `v` into group `group_id` (the caller's, `available`, with `v`'s type).
    pub(crate) async fn join_group(&self, tx: &mut Tx<'_>, caller: &Caller, group_id: &str, v: &Volume) -> Result<()> {
        let g = self.group_for_update(tx, caller, group_id).await?;
        add_to_group(tx, &g, v).await
    }

    pub async fn create_volume_group(&self, caller: &Caller, p: CreateGroup) -> Result<Group> {
        let project = own_project(caller)?;
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        let gt = db::find_type(&mut tx, &p.group_type)
            .await?
            .filter(|t| t.is_public || caller.is_admin())
            .ok_or_else(|| Error::not_found("group type", &p.group_type))?;
        let mut types = vec![];
        for t in &p.volume_types {
            let vt = self
                .find_volume_type_in(&mut tx, caller, t)
                .await
                .map_err(|_| Error::not_found("volume type", t))?;
            types.push(vt.id);
        }
        self.check_group_quota(&mut tx, &project).await?;
        let now = crate::db::now();
        let g = Group {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: project,
            user_id: caller.user_id().into(),
            name: p.name,
            description: p.description,
            group_type_id: gt.id,
            volume_type_ids: serde_json::to_string(&types).unwrap_or_else(|_| "[]".into()),
            availability_zone: p.availability_zone.unwrap_or_else(|| super::ZONE.into()),
            // A group is a record only: nothing waits on a host.
            status: GroupStatus::Available,
            settled: true,
            group_snapshot_id: None,
            source_group_id: None,
            created_at: now,
            updated_at: Some(now),
        };
        db::insert_group(&mut *tx, &g).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn get_volume_group(&self, caller: &Caller, id: &str) -> Result<Group> {
        let mut tx = self.begin().await?;
        let g = self.group_in(&mut tx, caller, id).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn list_volume_groups(&self, caller: &Caller, all_projects: bool) -> Result<Vec<Group>> {
        if all_projects && caller.is_admin() {
            db::list_groups(&self.db, None).await
        } else {
            db::list_groups(&self.db, Some(&own_project(caller)?)).await
        }
    }

    /// The ids of a group's volumes.
    pub async fn group_volumes(&self, group: &str) -> Result<Vec<String>> {
        db::members(&self.db, group).await
    }

    /// The group a volume belongs to (shown from 3.13).
    pub async fn group_of_volume(&self, volume: &str) -> Result<Option<String>> {
        db::group_of(&self.db, volume).await
    }

    /// The group snapshot a snapshot was made for (shown from 3.14).
    pub async fn group_snapshot_of_snapshot(&self, snapshot: &str) -> Result<Option<String>> {
        db::group_snapshot_of(&self.db, snapshot).await
    }

    /// Renames, and adds or removes volumes (the group must be `available` for those).
    pub async fn update_volume_group(&self, caller: &Caller, id: &str, p: UpdateGroup) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut g = self.group_for_update(&mut tx, caller, id).await?;
        if !(p.add_volumes.is_empty() && p.remove_volumes.is_empty()) && g.status != GroupStatus::Available {
            return Err(invalid_group(format!(
                "Group {id} status must be available to add or remove volumes, not {}.",
                g.status
            )));
        }
        for vid in &p.remove_volumes {
            let v = vdb::get(&mut *tx, vid).await?;
            let member = db::group_of(&mut *tx, vid).await?.as_deref() == Some(id);
            match v {
                Some(v) if member => {
                    use VolumeStatus as S;
                    if !matches!(v.status, S::Available | S::InUse | S::Error | S::ErrorDeleting) {
                        return Err(Error::bad_request(format!(
                            "Invalid volume: Cannot remove volume {vid} from group {id} because volume is in an invalid state: {}.",
                            v.status
                        )));
                    }
                    db::remove_member(&mut *tx, vid).await?;
                }
                _ => {
                    return Err(Error::bad_request(format!(
                        "Invalid volume: Cannot remove volume {vid} from group {id} because it is not in the group."
                    )))
                }
            }
        }
        for vid in &p.add_volumes {
            let v = visible(caller, vdb::get(&mut *tx, vid).await?, vid)?;
            if db::group_of(&mut *tx, vid).await?.is_some() {
                return Err(Error::bad_request(format!(
                    "Invalid volume: Cannot add volume {vid} to group {id} because it is already in a group."
                )));
            }
            if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
                return Err(Error::bad_request(format!(
                    "Invalid volume: Cannot add volume {vid} to group {id} because volume is in an invalid state: {}.",
                    v.status
                )));
            }
            add_to_group(&mut tx, &g, &v).await?;
        }
        if let Some(n) = p.name {
            g.name = n;
        }
        if let Some(d) = p.description {
            g.description = d;
        }
        g.updated_at = Some(crate::db::now());
        db::update_group(&mut *tx, &g).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `delete`: an empty group goes at once; with `delete_volumes` its volumes are deleted
    /// first (none attached or with snapshots) and the group goes with the last of them.
    pub async fn delete_volume_group(&self, caller: &Caller, id: &str, delete_volumes: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut g = self.group_for_update(&mut tx, caller, id).await?;
        if !matches!(g.status, GroupStatus::Available | GroupStatus::Error) {
            return Err(invalid_group(format!(
                "Group status must be available or error, but current status is: {}.",
                g.status
            )));
        }
        if db::group_snapshots_of(&mut *tx, id).await? > 0 {
            return Err(invalid_group(format!("Group {id} still has group snapshots.")));
        }
        let members = db::members(&mut *tx, id).await?;
        if !members.is_empty() && !delete_volumes {
            return Err(invalid_group(format!(
                "Group {id} still contains volumes. The delete-volumes flag is required to delete it."
            )));
        }
        let now = crate::db::now();
        for vid in &members {
            let Some(v) = vdb::get(&mut *tx, vid).await? else {
                continue;
            };
            let attached = vdb::attachment_of(&mut *tx, vid)
                .await?
                .is_some_and(|a| a.status != AttachmentStatus::Detaching);
            if attached || v.status == VolumeStatus::InUse {
                return Err(Error::bad_request(format!(
                    "Invalid volume: Volume {vid} in group {id} is attached."
                )));
            }
            if !vdb::snapshots_of(&mut *tx, vid).await?.is_empty() {
                return Err(Error::bad_request(format!(
                    "Invalid volume: Volume {vid} in group {id} has snapshots."
                )));
            }
            super::volumes::retire_volume(&mut tx, v, now).await?;
        }
        if db::members(&mut *tx, id).await?.is_empty() {
            db::delete_group(&mut tx, id).await?;
        } else {
            g.status = GroupStatus::Deleting;
            g.updated_at = Some(now);
            db::update_group(&mut *tx, &g).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets the recorded status (admin), nothing else.
    pub async fn reset_volume_group_status(&self, caller: &Caller, id: &str, status: GroupStatus) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut g = self.group_in(&mut tx, caller, id).await?;
        g.status = status;
        g.settled = true;
        g.updated_at = Some(crate::db::now());
        db::update_group(&mut *tx, &g).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `create-from-src`: a new group of the source's types with one volume per snapshot of
    /// the group snapshot, or per volume of the source group; `creating` until they are made.
    pub async fn create_volume_group_from_src(
        &self,
        caller: &Caller,
        p: CreateGroupFromSrc,
        request_id: &str,
    ) -> Result<Group> {
        let project = own_project(caller)?;
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        // (source volume or snapshot, its volume) for each new volume.
        let mut sources: Vec<(CreateVolume, Volume)> = vec![];
        let (src_group, gs_id, src_id) = match &p.source {
            GroupSource::Snapshot(sid) => {
                let gs = self.group_snapshot_in(&mut tx, caller, sid).await?;
                if gs.status != GroupStatus::Available {
                    return Err(Error::bad_request(format!(
                        "Invalid group snapshot: Group snapshot {sid} status must be available, not {}.",
                        gs.status
                    )));
                }
                for snap_id in db::snapshot_members(&mut *tx, sid).await? {
                    let Some(s) = vdb::get_snapshot(&mut *tx, &snap_id).await? else {
                        continue;
                    };
                    let Some(v) = vdb::get(&mut *tx, &s.volume_id).await? else {
                        continue;
                    };
                    let cv = CreateVolume {
                        snapshot_id: Some(snap_id),
                        ..Default::default()
                    };
                    sources.push((cv, v));
                }
                let g = db::get_group(&mut *tx, &gs.group_id)
                    .await?
                    .ok_or_else(|| Error::not_found("group", &gs.group_id))?;
                (g, Some(sid.clone()), None)
            }
            GroupSource::Group(gid) => {
                let g = self.group_in(&mut tx, caller, gid).await?;
                if g.status != GroupStatus::Available {
                    return Err(invalid_group(format!(
                        "Source group {gid} status must be available, not {}.",
                        g.status
                    )));
                }
                for vid in db::members(&mut *tx, gid).await? {
                    let Some(v) = vdb::get(&mut *tx, &vid).await? else {
                        continue;
                    };
                    let cv = CreateVolume {
                        source_volid: Some(vid),
                        ..Default::default()
                    };
                    sources.push((cv, v));
                }
                (g, None, Some(gid.clone()))
            }
        };
        self.check_group_quota(&mut tx, &project).await?;
        let now = crate::db::now();
        let mut g = Group {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: project,
            user_id: caller.user_id().into(),
            name: p.name,
            description: p.description,
            group_type_id: src_group.group_type_id.clone(),
            volume_type_ids: src_group.volume_type_ids.clone(),
            availability_zone: src_group.availability_zone.clone(),
            status: GroupStatus::Creating,
            settled: false,
            group_snapshot_id: gs_id,
            source_group_id: src_id,
            created_at: now,
            updated_at: Some(now),
        };
        db::insert_group(&mut *tx, &g).await?;
        let mut failed = false;
        for (cv, src) in sources {
            let cv = CreateVolume {
                size: Some(src.size),
                volume_type: Some(src.volume_type_id.clone()),
                name: src.name.clone(),
                description: src.description.clone(),
                ..cv
            };
            let v = self
                .insert_volume(&mut tx, caller, cv, BTreeMap::new(), 1, request_id)
                .await?;
            failed |= v.status == VolumeStatus::Error;
            db::add_member(&mut *tx, &g.id, &v.id).await?;
        }
        if failed || db::members(&mut *tx, &g.id).await?.is_empty() {
            g.status = if failed {
                GroupStatus::Error
            } else {
                GroupStatus::Available
            };
            g.settled = true;
            db::update_group(&mut *tx, &g).await?;
        }
        tx.commit().await?;
        Ok(g)
    }

    async fn group_snapshot_in(&self, tx: &mut Tx<'_>, caller: &Caller, id: &str) -> Result<GroupSnapshot> {
        match db::get_group_snapshot(&mut **tx, id).await? {
            Some(g) if in_project(caller, &g.project_id) => Ok(g),
            _ => Err(Error::not_found("group snapshot", id)),
        }
    }

    /// One snapshot per volume of the group, taken by their hosts; `creating` until all are.
    pub async fn create_group_snapshot(&self, caller: &Caller, p: CreateGroupSnapshot) -> Result<GroupSnapshot> {
        let mut tx = self.begin().await?;
        let g = self.group_for_update(&mut tx, caller, &p.group_id).await?;
        if g.status != GroupStatus::Available {
            return Err(invalid_group(format!(
                "Group {} status must be available, not {}.",
                g.id, g.status
            )));
        }
        let now = crate::db::now();
        let mut gs = GroupSnapshot {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: g.project_id.clone(),
            user_id: caller.user_id().into(),
            group_id: g.id.clone(),
            group_type_id: g.group_type_id.clone(),
            name: p.name,
            description: p.description,
            status: GroupStatus::Creating,
            settled: false,
            created_at: now,
            updated_at: Some(now),
        };
        db::insert_group_snapshot(&mut *tx, &gs).await?;
        let members = db::members(&mut *tx, &g.id).await?;
        for vid in &members {
            let Some(v) = vdb::get(&mut *tx, vid).await? else {
                continue;
            };
            if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
                return Err(Error::bad_request(format!(
                    "Invalid volume: Volume {vid} in group {} status must be available or in-use, not {}.",
                    g.id, v.status
                )));
            }
            let s = self
                .insert_snapshot(
                    &mut tx,
                    caller,
                    &v,
                    gs.name.clone(),
                    gs.description.clone(),
                    &BTreeMap::new(),
                )
                .await?;
            db::add_snapshot_member(&mut *tx, &gs.id, &s.id).await?;
        }
        if members.is_empty() {
            gs.status = GroupStatus::Available;
            gs.settled = true;
            db::update_group_snapshot(&mut *tx, &gs).await?;
        }
        tx.commit().await?;
        Ok(gs)
    }

    pub async fn get_group_snapshot(&self, caller: &Caller, id: &str) -> Result<GroupSnapshot> {
        let mut tx = self.begin().await?;
        let g = self.group_snapshot_in(&mut tx, caller, id).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn list_group_snapshots(&self, caller: &Caller, all_projects: bool) -> Result<Vec<GroupSnapshot>> {
        if all_projects && caller.is_admin() {
            db::list_group_snapshots(&self.db, None).await
        } else {
            db::list_group_snapshots(&self.db, Some(&own_project(caller)?)).await
        }
    }

    /// Deletes the snapshots; the group snapshot goes with the last of them.
    pub async fn delete_group_snapshot(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut gs = self.group_snapshot_in(&mut tx, caller, id).await?;
        if !may_write(caller, &gs.project_id) {
            return Err(Error::forbidden());
        }
        if !matches!(gs.status, GroupStatus::Available | GroupStatus::Error) {
            return Err(Error::bad_request(format!(
                "Invalid group snapshot: Group snapshot status must be available or error, not {}.",
                gs.status
            )));
        }
        let creating_from = db::list_groups(&mut *tx, Some(&gs.project_id))
            .await?
            .into_iter()
            .any(|g| !g.settled && g.group_snapshot_id.as_deref() == Some(id));
        if creating_from {
            return Err(Error::bad_request(format!(
                "Invalid group snapshot: A group is being created from group snapshot {id}."
            )));
        }
        for sid in db::snapshot_members(&mut *tx, id).await? {
            if let Some(s) = vdb::get_snapshot(&mut *tx, &sid).await? {
                super::snapshots::retire_snapshot(&mut tx, s).await?;
            }
        }
        if db::snapshot_members(&mut *tx, id).await?.is_empty() {
            db::delete_group_snapshot(&mut tx, id).await?;
        } else {
            gs.status = GroupStatus::Deleting;
            gs.updated_at = Some(crate::db::now());
            db::update_group_snapshot(&mut *tx, &gs).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets the recorded status (admin), nothing else.
    pub async fn reset_group_snapshot_status(&self, caller: &Caller, id: &str, status: GroupStatus) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut gs = self.group_snapshot_in(&mut tx, caller, id).await?;
        gs.status = status;
        gs.settled = true;
        gs.updated_at = Some(crate::db::now());
        db::update_group_snapshot(&mut *tx, &gs).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Puts `v` into `g` (checked: `available`, same project, one of its volume types).
async fn add_to_group(tx: &mut Tx<'_>, g: &Group, v: &Volume) -> Result<()> {
    if g.status != GroupStatus::Available {
        return Err(invalid_group(format!(
            "Group {} status must be available, not {}.",
            g.id, g.status
        )));
    }
    if g.project_id != v.project_id.as_str() {
        return Err(invalid_group("The volume and the group belong to different projects."));
    }
    if !type_ids(g).contains(&v.volume_type_id) {
        return Err(Error::bad_request(format!(
            "Invalid input received: Invalid volume_type provided: {} (the group's volume types do not include it).",
            v.volume_type_id
        )));
    }
    db::add_member(&mut **tx, &g.id, &v.id).await
}

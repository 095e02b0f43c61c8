//! Volumes: create (empty, from an image, a snapshot or another volume), update, delete,
//! metadata, extend, bootable/readonly flags, reset-status, quotas.

use super::params::{CreateVolume, UpdateVolume};
use super::{own_project, parse_map, to_json, visible, ZONE};
use crate::app::identity::caller::Caller;
use crate::app::policy::in_project;
use crate::app::policy::require_in_project;
use crate::app::App;
use crate::db::compute::hosts;
use crate::db::image::ImageStatus;
use crate::db::quota_overrides::{self, Service};
use crate::db::volume::{self as db, SnapshotStatus, Volume, VolumeStatus};
use crate::db::Tx;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Statuses from which a volume may be deleted (Cinder's list).
const DELETABLE: &[VolumeStatus] = &[
    VolumeStatus::Available,
    VolumeStatus::Error,
    VolumeStatus::ErrorRestoring,
    VolumeStatus::ErrorExtending,
    VolumeStatus::ErrorManaging,
];

/// See [`App::volume_summary`].
#[derive(Debug, Default)]
pub struct VolumeSummary {
    pub count: i64,
    pub size: i64,
    /// Each key's values, sorted.
    pub metadata: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl App {
    /// A volume no backend can hold (none up, or none with what its type asks for) is
    /// recorded in `error` with a user message for the project, as Cinder's scheduler does.
    pub async fn create_volume(&self, caller: &Caller, p: CreateVolume, request_id: &str) -> Result<Volume> {
        own_project(caller)?;
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let (image_meta, min_size) = match &p.image_id {
            Some(id) => self.image_for_volume(caller, id).await?,
            None => (BTreeMap::new(), 1),
        };
        let mut tx = self.begin().await?;
        let v = self
            .insert_volume(&mut tx, caller, p, image_meta, min_size, request_id)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Records a new volume in `tx` (`image_meta` and `min_size`: of its image, if any) and
    /// tells its host; a volume asked into a group joins it.
    pub(crate) async fn insert_volume(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        p: CreateVolume,
        mut image_meta: BTreeMap<String, String>,
        min_size: i64,
        request_id: &str,
    ) -> Result<Volume> {
        let project = own_project(caller)?;
        let CreateVolume {
            size,
            snapshot_id,
            source_volid,
            image_id,
            availability_zone,
            metadata: md,
            volume_type,
            name,
            description,
            group_id,
        } = p;
        let zone = availability_zone.unwrap_or_else(|| ZONE.into());
        let now = crate::db::now();
        let vtype = match volume_type {
            Some(t) => self
                .find_volume_type_in(tx, caller, &t)
                .await
                .map_err(|_| Error::not_found("volume type", &t))?,
            None => db::get_type_by_name(&mut **tx, super::types::DEFAULT_TYPE)
                .await?
                .ok_or_else(|| Error::Internal("the default volume type is missing".into()))?,
        };
        self.refuse_encrypted(tx, &vtype).await?;
        let (host_id, source_size, bootable, backend) = if let Some(sid) = &snapshot_id {
            let s = db::get_snapshot(&mut **tx, sid)
                .await?
                .filter(|s| in_project(caller, &s.project_id))
                .ok_or_else(|| Error::not_found("snapshot", sid))?;
            if s.status != SnapshotStatus::Available {
                return Err(Error::bad_request(format!(
                    "Invalid snapshot: Originating snapshot status must be one of 'available' values, not {}.",
                    s.status
                )));
            }
            let src = db::get(&mut **tx, &s.volume_id).await?;
            (
                src.as_ref().and_then(|v| v.host_id.clone()),
                s.size,
                src.as_ref().is_some_and(|v| v.bootable),
                src.map(|v| v.backend).unwrap_or_else(|| "file".into()),
            )
        } else if let Some(vid) = &source_volid {
            let src = visible(caller, db::get(&mut **tx, vid).await?, vid)?;
            if !matches!(src.status, VolumeStatus::Available | VolumeStatus::InUse) {
                return Err(Error::bad_request(format!(
                    "Invalid volume: Source volume status must be available or in-use, not {}.",
                    src.status
                )));
            }
            image_meta = parse_map(&src.image_metadata);
            (src.host_id.clone(), src.size, src.bootable, src.backend)
        } else {
            let backend = super::types::backend_of(&vtype);
            let host = if super::capabilities::satisfies(&parse_map(&vtype.extra_specs), &backend) {
                self.pick_storage_host(tx, &backend).await?.map(Into::into)
            } else {
                None
            };
            (host, min_size, image_id.is_some(), backend)
        };
        let size = match size {
            Some(s) if s < source_size => {
                return Err(Error::bad_request(format!(
                "Invalid input received: Volume size '{s}'GB cannot be smaller than the source size {source_size}GB."
            )))
            }
            Some(s) => s,
            None if snapshot_id.is_some() || source_volid.is_some() => source_size,
            None => {
                return Err(Error::bad_request(
                    "Invalid input received: 'size' parameter must be an integer greater than 0, got None.",
                ))
            }
        };
        self.check_volume_quota(tx, &project, Some(&vtype.name), 1, 0, size)
            .await?;
        let v = Volume {
            id: uuid::Uuid::new_v4().to_string().into(),
            project_id: project.into(),
            user_id: caller.user_id().into(),
            name,
            description,
            size,
            status: if host_id.is_some() {
                VolumeStatus::Creating
            } else {
                VolumeStatus::Error
            },
            availability_zone: zone,
            volume_type_id: vtype.id,
            host_id: host_id.clone(),
            source_volid: source_volid.map(Into::into),
            snapshot_id: snapshot_id.map(Into::into),
            image_id,
            bootable,
            read_only: None,
            metadata: to_json(&md),
            image_metadata: to_json(&image_meta),
            fault: host_id.is_none().then(|| {
                format!(
                    "No valid backend was found: no hypervisor host up with the '{backend}' storage backend \
                     and the capabilities volume type '{}' asks for.",
                    vtype.name
                )
            }),
            created_at: now,
            updated_at: Some(now),
            backend,
        };
        db::insert(&mut **tx, &v).await?;
        match &host_id {
            Some(h) => tx.host_changed(h),
            None => {
                use super::messages::{record, Action, Detail};
                let (a, d) = (Action::ScheduleAllocateVolume, Detail::NoBackendAvailable);
                record(tx, &v.project_id, request_id, &v.id, a, d).await?;
            }
        }
        if let Some(g) = &group_id {
            self.join_group(tx, caller, g, &v).await?;
        }
        Ok(v)
    }

    /// An active image a volume can start from: its properties as the volume's image
    /// metadata, and the smallest size in GiB that holds it.
    pub(crate) async fn image_for_volume(&self, caller: &Caller, id: &str) -> Result<(BTreeMap<String, String>, i64)> {
        let img = self.get_image(caller, id).await.map_err(|_| {
            Error::bad_request(format!(
                "Invalid image identifier or unable to access requested image {id}."
            ))
        })?;
        if img.status != ImageStatus::Active {
            return Err(Error::bad_request(format!("Image {id} is not active.")));
        }
        let gib = 1024 * 1024 * 1024;
        let min_size = (img.virtual_size.or(img.size).unwrap_or(0).div_euclid(gib) + 1).max(img.min_disk);
        let mut meta = BTreeMap::new();
        for (k, v) in [
            ("image_id", Some(img.id.to_string())),
            ("image_name", img.name.clone()),
            ("disk_format", img.disk_format.clone()),
            ("container_format", img.container_format.clone()),
            ("checksum", img.checksum.clone()),
            ("min_disk", Some(img.min_disk.to_string())),
            ("min_ram", Some(img.min_ram.to_string())),
            ("size", img.size.map(|s| s.to_string())),
        ] {
            if let Some(v) = v {
                meta.insert(k.to_string(), v);
            }
        }
        let props: Map<String, Value> = serde_json::from_str(&img.properties).unwrap_or_default();
        for (k, v) in props {
            let v = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            meta.insert(k, v);
        }
        Ok((meta, min_size))
    }

    /// The up, enabled host offering `backend` with the fewest gigabytes of volumes (local
    /// backends).
    pub(super) async fn pick_storage_host(&self, tx: &mut Tx<'_>, backend: &str) -> Result<Option<String>> {
        let now = crate::db::now();
        let mut best: Option<(i64, String)> = None;
        for h in hosts::list(&mut **tx).await? {
            if !h.enabled || now - h.last_seen > self.cfg.scheduler.host_down_after || !h.stores(backend) {
                continue;
            }
            // An admin disabled this backend's cinder-volume service (`os-services/disable`).
            if self.backend_disabled(&mut **tx, &h.hostname, backend).await? {
                continue;
            }
            let used: i64 = db::on_host(&mut **tx, &h.id).await?.iter().map(|v| v.size).sum();
            if best.as_ref().is_none_or(|(u, _)| used < *u) {
                best = Some((used, h.id));
            }
        }
        Ok(best.map(|b| b.1))
    }

    /// Refuses with 413 when `project` would exceed its volume, snapshot or gigabyte quota,
    /// or (with `type_name`) those of that volume type.
    pub(crate) async fn check_volume_quota(
        &self,
        tx: &mut Tx<'_>,
        project: &str,
        type_name: Option<&str>,
        volumes: i64,
        snapshots: i64,
        gigabytes: i64,
    ) -> Result<()> {
        let limits = volume_limits(tx, project).await?;
        let (used_v, used_s, used_gb) = db::usage(&mut *tx, project).await?;
        for (name, used, more) in [
            ("volumes", used_v, volumes),
            ("snapshots", used_s, snapshots),
            ("gigabytes", used_gb, gigabytes),
        ] {
            let limit = limits.get(name).copied().unwrap_or(-1);
            if more > 0 && limit >= 0 && used + more > limit {
                return Err(super::quotas::over_limit(name, limit, used, more));
            }
        }
        if let Some(t) = type_name {
            self.check_type_quota(tx, project, t, volumes, snapshots, gigabytes)
                .await?;
        }
        Ok(())
    }

    pub async fn get_volume(&self, caller: &Caller, id: &str) -> Result<Volume> {
        visible(caller, db::get(&self.db, id).await?, id)
    }

    pub async fn list_volumes(&self, caller: &Caller, all_projects: bool) -> Result<Vec<Volume>> {
        if all_projects && caller.is_admin() {
            db::list(&self.db, None).await
        } else {
            db::list(&self.db, Some(&own_project(caller)?)).await
        }
    }

    /// Up to `n` of the caller's volumes (every project's for an admin asking for all) after
    /// `(created_at, id)`, newest first, read from an index.
    pub async fn volume_page(
        &self,
        caller: &Caller,
        all_projects: bool,
        after: Option<(i64, &str)>,
        n: usize,
    ) -> Result<Vec<Volume>> {
        let project = if all_projects && caller.is_admin() {
            None
        } else {
            Some(own_project(caller)?)
        };
        db::page(&self.db, project.as_deref(), after, n as i64).await
    }

    /// What `GET /volumes/summary` tells: the caller's volumes (every project's for an
    /// admin asking for all) counted, their sizes summed, their metadata values by key.
    pub async fn volume_summary(&self, caller: &Caller, all_projects: bool) -> Result<VolumeSummary> {
        let mut out = VolumeSummary::default();
        for v in self.list_volumes(caller, all_projects).await? {
            out.count += 1;
            out.size += v.size;
            for (k, val) in super::parse_map(&v.metadata) {
                out.metadata.entry(k).or_default().insert(val);
            }
        }
        Ok(out)
    }

    /// A volume the caller may change, read inside `tx`.
    pub(crate) async fn volume_for_update(&self, tx: &mut Tx<'_>, caller: &Caller, id: &str) -> Result<Volume> {
        let v = visible(caller, db::get(&mut **tx, id).await?, id)?;
        if !crate::app::policy::may_write(caller, &v.project_id) {
            return Err(Error::forbidden());
        }
        Ok(v)
    }

    pub async fn update_volume(&self, caller: &Caller, id: &str, p: UpdateVolume) -> Result<Volume> {
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        if let Some(name) = p.name {
            v.name = name;
        }
        if let Some(description) = p.description {
            v.description = description;
        }
        if let Some(m) = &p.metadata {
            v.metadata = to_json(m);
        }
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Marks the volume `deleting`; its host removes the file and the report removes the
    /// row. With `cascade`, its snapshots go too.
    pub async fn delete_volume(&self, caller: &Caller, id: &str, cascade: bool, force: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        let v = self.volume_for_update(&mut tx, caller, id).await?;
        if force && !caller.is_admin() {
            return Err(Error::forbidden());
        }
        if db::groups::group_of(&mut *tx, id).await?.is_some() {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume {id} belongs to a group: delete the group with its volumes, or remove the volume from it first."
            )));
        }
        let attached = db::attachment_of(&mut *tx, id).await?.is_some();
        if attached || (!force && !DELETABLE.contains(&v.status)) {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer. (status {})",
                v.status
            )));
        }
        let snaps = db::snapshots_of(&mut *tx, id).await?;
        if !snaps.is_empty() && !cascade {
            return Err(Error::bad_request(
                "Invalid volume: Volume has snapshots; delete them first or use cascade.",
            ));
        }
        // A (forced) delete withdraws a pending offer of the volume.
        if let Some(t) = db::transfers::pending_of(&mut *tx, id).await? {
            db::transfers::delete(&mut *tx, &t.id).await?;
        }
        let now = crate::db::now();
        for mut s in snaps {
            s.status = SnapshotStatus::Deleting;
            s.updated_at = Some(now);
            db::update_snapshot(&mut *tx, &s).await?;
        }
        retire_volume(&mut tx, v, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the volume's metadata: `replace` sets it whole, otherwise keys are merged.
    pub async fn set_volume_metadata(
        &self,
        caller: &Caller,
        id: &str,
        md: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        let cur = super::merged(&v.metadata, md, replace);
        v.metadata = to_json(&cur);
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok(cur)
    }

    pub async fn delete_volume_metadata(&self, caller: &Caller, id: &str, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        let cur = super::without(&v.metadata, key).ok_or_else(|| Error::not_found("volume metadata", key))?;
        v.metadata = to_json(&cur);
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `os-extend`: grows the volume (also while attached: the agent resizes the disk the
    /// guest sees). The status is `extending` until the host reports the new size.
    pub async fn extend_volume(&self, caller: &Caller, id: &str, new_size: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume status must be 'available' or 'in-use' to extend, currently {}.",
                v.status
            )));
        }
        if new_size <= v.size {
            return Err(Error::bad_request(format!(
                "Invalid input received: New size for extend must be greater than current size. (current: {}, extended: {new_size}).",
                v.size
            )));
        }
        let type_name = self.type_name(&mut tx, &v.volume_type_id).await?;
        self.check_volume_quota(
            &mut tx,
            &v.project_id.clone(),
            Some(&type_name),
            0,
            0,
            new_size - v.size,
        )
        .await?;
        v.size = new_size;
        v.status = VolumeStatus::Extending;
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        self.bump_volume_hosts(&mut tx, &v).await?;
        // As Nova's volume-extended event: the server's action list shows the extension.
        if let Some(a) = db::attachment_of(&mut *tx, &v.id).await? {
            if let Some(s) = crate::db::compute::servers::get(&mut *tx, &a.server_id).await? {
                let request_id = format!("req-{}", uuid::Uuid::new_v4());
                let now = crate::db::now();
                crate::app::compute::actions::record(&mut tx, caller, &s, "extend_volume", &request_id, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The hosts whose desired state names the volume: where it is stored and, when
    /// attached, where its server runs.
    pub(crate) async fn bump_volume_hosts(&self, tx: &mut Tx<'_>, v: &Volume) -> Result<()> {
        if let Some(h) = &v.host_id {
            tx.host_changed(h);
        }
        if let Some(a) = db::attachment_of(&mut **tx, &v.id).await? {
            if let Some(s) = crate::db::compute::servers::get(&mut **tx, &a.server_id).await? {
                if let Some(h) = s.host_id.filter(|h| Some(h.as_str()) != v.host_id.as_deref()) {
                    tx.host_changed(&h);
                }
            }
        }
        Ok(())
    }

    /// `os-set_bootable` and `os-update_readonly_flag`.
    pub async fn set_volume_flag(
        &self,
        caller: &Caller,
        id: &str,
        bootable: Option<bool>,
        read_only: Option<bool>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        if let Some(b) = bootable {
            v.bootable = b;
        }
        if read_only.is_some() {
            v.read_only = read_only;
        }
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `os-reset_status` (admin): sets the status recorded, nothing else.
    pub async fn reset_volume_status(&self, caller: &Caller, id: &str, status: &str) -> Result<()> {
        caller.require_admin()?;
        use VolumeStatus as S;
        let status = match status.parse() {
            Ok(
                s @ (S::Creating
                | S::Available
                | S::Deleting
                | S::Error
                | S::ErrorDeleting
                | S::ErrorExtending
                | S::InUse
                | S::Attaching
                | S::Detaching
                | S::Reserved
                | S::Maintenance
                | S::Extending
                | S::Uploading),
            ) => s,
            _ => {
                return Err(Error::bad_request(format!(
                    "Invalid input received: Must specify a valid status ({status})"
                )))
            }
        };
        let mut tx = self.begin().await?;
        let mut v = visible(caller, db::get(&mut *tx, id).await?, id)?;
        v.status = status;
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        self.bump_volume_hosts(&mut tx, &v).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `os-force_delete` (admin): deletes whatever the status, detaching it first.
    pub async fn force_delete_volume(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        self.force_detach_volume(caller, id).await?;
        self.delete_volume(caller, id, true, true).await
    }

    /// `os-force_detach` (admin): ends the volume's attachment at once.
    pub async fn force_detach_volume(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut v = visible(caller, db::get(&mut *tx, id).await?, id)?;
        if let Some(a) = db::attachment_of(&mut *tx, id).await? {
            self.bump_volume_hosts(&mut tx, &v).await?;
            db::delete_attachment(&mut *tx, &a.id).await?;
            v.status = VolumeStatus::Available;
            v.updated_at = Some(crate::db::now());
            db::update(&mut *tx, &v).await?;
        } else if matches!(
            v.status,
            VolumeStatus::Attaching | VolumeStatus::Detaching | VolumeStatus::Reserved | VolumeStatus::InUse
        ) {
            v.status = VolumeStatus::Available;
            v.updated_at = Some(crate::db::now());
            db::update(&mut *tx, &v).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `os-retype`: between types of the same backend no data moves; to a type of another
    /// backend the volume migrates there (`on-demand`) or the retype is refused (`never`).
    pub async fn retype_volume(
        &self,
        caller: &Caller,
        id: &str,
        new_type: &str,
        policy: super::migration::MigrationPolicy,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume status must be available or in-use to retype, currently {}.",
                v.status
            )));
        }
        let t = self
            .find_volume_type_in(&mut tx, caller, new_type)
            .await
            .map_err(|_| Error::not_found("volume type", new_type))?;
        self.refuse_encrypted(&mut tx, &t).await?;
        if t.id == v.volume_type_id {
            return Err(Error::bad_request(
                "Invalid input received: New volume type must be different from the current one.",
            ));
        }
        let backend = super::types::backend_of(&t);
        if !super::capabilities::satisfies(&parse_map(&t.extra_specs), &backend) {
            return Err(Error::bad_request(format!(
                "No valid backend was found: the '{backend}' storage backend lacks capabilities volume type '{}' asks for.",
                t.name
            )));
        }
        // The volume (and its snapshots) now count in the new type's quotas.
        let snaps = db::snapshots_of(&mut *tx, id).await?;
        let gb = v.size + snaps.iter().map(|s| s.size).sum::<i64>();
        self.check_type_quota(&mut tx, &v.project_id.clone(), &t.name, 1, snaps.len() as i64, gb)
            .await?;
        if backend != v.backend {
            self.retype_with_migration(&mut tx, v, &t.id, &backend, policy).await?;
            tx.commit().await?;
            return Ok(());
        }
        v.volume_type_id = t.id;
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `os-set_image_metadata` / `os-unset_image_metadata`.
    pub async fn change_volume_image_metadata(
        &self,
        caller: &Caller,
        id: &str,
        set: BTreeMap<String, String>,
        unset: Option<&str>,
    ) -> Result<BTreeMap<String, String>> {
        // Cinder takes any strings here (Tempest sets `ramdisk_id: somedisk`); what boots from
        // it is checked where a host's spec is built (only UUID kernel/ramdisk ids, a printable
        // command line), so only the sizes are bounded.
        for (k, val) in &set {
            if k.is_empty() || k.chars().count() > 255 || val.chars().count() > 65535 {
                return Err(Error::bad_request(format!(
                    "Invalid image metadata item '{}': keys are 1 to 255 characters, values at most 65535.",
                    k.chars().take(64).collect::<String>()
                )));
            }
        }
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        let mut cur = parse_map(&v.image_metadata);
        cur.extend(set);
        if let Some(k) = unset {
            if cur.remove(k).is_none() {
                return Err(Error::not_found("image metadata key", k));
            }
        }
        v.image_metadata = to_json(&cur);
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok(cur)
    }

    /// The project's volume quotas (defaults overridden per project), for its members and
    /// admins (403 for anyone else, as Cinder answers).
    pub async fn volume_quota(&self, caller: &Caller, project: &str) -> Result<BTreeMap<String, i64>> {
        require_in_project(caller, project)?;
        let mut tx = self.begin().await?;
        let limits = volume_limits(&mut tx, project).await?;
        tx.commit().await?;
        Ok(limits)
    }

    pub async fn volume_quota_usage(&self, caller: &Caller, project: &str) -> Result<(i64, i64, i64)> {
        require_in_project(caller, project)?;
        let mut tx = crate::db::begin_read(&self.db).await?;
        db::usage(&mut tx, project).await
    }

    pub async fn set_volume_quota(
        &self,
        caller: &Caller,
        project: &str,
        values: BTreeMap<String, i64>,
    ) -> Result<BTreeMap<String, i64>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        // The project-wide keys and the per-type keys of the types that exist.
        let known = class_defaults(&mut tx).await?;
        for (k, v) in &values {
            if !known.contains_key(k) {
                return Err(Error::bad_request(format!("Bad key(s) in quota set: {k}")));
            }
            if *v < -1 {
                return Err(Error::bad_request(format!(
                    "Quota limit {v} for {k} must be -1 or greater."
                )));
            }
            quota_overrides::set(&mut *tx, Service::Volume, project, k, *v).await?;
        }
        let limits = volume_limits(&mut tx, project).await?;
        tx.commit().await?;
        Ok(limits)
    }

    pub async fn reset_volume_quota(&self, caller: &Caller, project: &str) -> Result<()> {
        caller.require_admin()?;
        quota_overrides::reset(&self.db, Service::Volume, project).await
    }
}

/// The pseudo project under which the `default` quota class's values are kept.
const DEFAULT_CLASS: &str = "quota-class:default";

/// Default quotas (changed by the `default` quota class), per-type quotas of every type,
/// then the project's overrides.
/// Hands a volume to its host for removal (`deleting`; the host's report removes the row),
/// or removes the row (and its snapshots') when nothing was ever made.
pub(crate) async fn retire_volume(tx: &mut Tx<'_>, mut v: Volume, now: i64) -> Result<()> {
    match &v.host_id {
        Some(h) if hosts::get(&mut **tx, h).await?.is_some() => {
            v.status = VolumeStatus::Deleting;
            v.updated_at = Some(now);
            db::update(&mut **tx, &v).await?;
            tx.host_changed(h);
        }
        _ => {
            for s in db::snapshots_of(&mut **tx, &v.id).await? {
                db::delete_snapshot(&mut **tx, &s.id).await?;
            }
            db::delete(&mut **tx, &v.id).await?;
        }
    }
    Ok(())
}

pub(crate) async fn volume_limits(tx: &mut Tx<'_>, project: &str) -> Result<BTreeMap<String, i64>> {
    let mut out = class_defaults(tx).await?;
    for (k, v) in quota_overrides::overrides(&mut **tx, Service::Volume, project).await? {
        out.insert(k, v);
    }
    Ok(out)
}

pub(crate) async fn class_defaults(tx: &mut Tx<'_>) -> Result<BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, i64> = super::DEFAULT_QUOTAS.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    for t in db::list_types(&mut **tx).await? {
        for r in ["volumes", "gigabytes", "snapshots"] {
            out.insert(format!("{r}_{}", t.name), -1);
        }
    }
    for (k, v) in quota_overrides::overrides(&mut **tx, Service::Volume, DEFAULT_CLASS).await? {
        out.insert(k, v);
    }
    Ok(out)
}

impl App {
    /// The default quotas: those of the `default` quota class (as in Cinder, any other class
    /// name shows them too).
    pub async fn volume_quota_defaults(&self) -> Result<BTreeMap<String, i64>> {
        let mut tx = self.begin().await?;
        let out = class_defaults(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Changes the `default` class: the defaults of every project without an override.
    pub async fn set_volume_quota_class(
        &self,
        caller: &Caller,
        class: &str,
        values: BTreeMap<String, i64>,
    ) -> Result<BTreeMap<String, i64>> {
        caller.require_admin()?;
        if class != "default" {
            return Err(Error::bad_request(format!(
                "Only the 'default' quota class exists, not '{class}'."
            )));
        }
        let mut tx = self.begin().await?;
        for (k, v) in &values {
            if *v < -1 {
                return Err(Error::bad_request(format!(
                    "Quota limit {v} for {k} must be -1 or greater."
                )));
            }
            quota_overrides::set(&mut *tx, Service::Volume, DEFAULT_CLASS, k, *v).await?;
        }
        let out = class_defaults(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }
}

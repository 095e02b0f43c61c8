//! The storage part of a host's desired state, and what its reports change: volumes and
//! snapshots become available (or error) once the host holds them, deletions end when the
//! host no longer does, attachments complete when the VM has (or no longer has) the disk.

use super::messages::{Action, Detail};
use crate::db::compute::servers::Server;
use crate::db::volume::migrations::MigrationStatus;
use crate::db::volume::{self as db, AttachmentStatus, SnapshotStatus, VolumeStatus};
use crate::db::Tx;
use crate::error::Result;
use ciel_proto::{HostReport, ImageRef, SnapshotSpec, VolumeAttachment, VolumeMirror, VolumeSource, VolumeSpec};

/// How long an attach may wait for the VM before it is rolled back.
const ATTACH_TIMEOUT_SECS: i64 = 120;

/// The storage part of a host's desired state.
pub struct DesiredStorage {
    pub volumes: Vec<VolumeSpec>,
    pub snapshots: Vec<SnapshotSpec>,
    /// On shared backends, what the host (their owner) must delete.
    pub deleted_volumes: Vec<String>,
    pub deleted_snapshots: Vec<String>,
    /// Backups to make, restore or delete.
    pub backups: Vec<ciel_proto::BackupSpec>,
    /// Volume migrations to copy, serve or finish.
    pub volume_migrations: Vec<ciel_proto::VolumeMigrationSpec>,
}

/// Volumes and snapshots `host` should hold, and on shared backends those it should delete
/// (`images_in_rbd`: the image service keeps its data in the Ceph images pool).
pub async fn desired(tx: &mut Tx<'_>, host: &str, images_in_rbd: bool) -> Result<DesiredStorage> {
    let mut volumes = vec![];
    let mut deleted_volumes = vec![];
    let mut shared_volumes = vec![];
    for v in db::on_host(&mut **tx, host).await? {
        let shared = super::types::is_shared(&v.backend);
        if shared {
            shared_volumes.push(v.id.to_string());
        }
        if v.status == VolumeStatus::Deleting && shared {
            deleted_volumes.push(v.id.into_string());
            continue;
        }
        if matches!(
            v.status,
            VolumeStatus::Deleting | VolumeStatus::Error | VolumeStatus::ErrorDeleting
        ) {
            continue;
        }
        let source = if let Some(s) = &v.snapshot_id {
            Some(VolumeSource::Snapshot(s.to_string()))
        } else if let Some(s) = &v.source_volid {
            Some(VolumeSource::Volume(s.to_string()))
        } else if let Some(i) = &v.image_id {
            let img = crate::db::image::get(&mut **tx, i).await?;
            Some(VolumeSource::Image(ImageRef {
                id: i.clone(),
                disk_format: img.as_ref().and_then(|i| i.disk_format.clone()).unwrap_or_default(),
                checksum: img.as_ref().and_then(|i| i.checksum.clone()).unwrap_or_default(),
                size: img.as_ref().and_then(|i| i.size).unwrap_or(0) as u64,
                rbd: images_in_rbd,
            }))
        } else {
            None
        };
        volumes.push(VolumeSpec {
            id: v.id.into_string(),
            size_gb: v.size as u64,
            backend: v.backend,
            source,
        });
    }
    let mut snapshots = vec![];
    let mut deleted_snapshots = vec![];
    for s in db::snapshots_on_host(&mut **tx, host).await? {
        match s.status {
            SnapshotStatus::Deleting if shared_volumes.contains(&s.volume_id) => deleted_snapshots.push(s.id),
            SnapshotStatus::Deleting | SnapshotStatus::Error | SnapshotStatus::ErrorDeleting => {}
            _ => snapshots.push(SnapshotSpec {
                id: s.id,
                volume_id: s.volume_id,
            }),
        }
    }
    Ok(DesiredStorage {
        volumes,
        snapshots,
        deleted_volumes,
        deleted_snapshots,
        backups: super::backup_report::desired(tx, host).await?,
        volume_migrations: super::migration::desired(tx, host).await?,
    })
}

/// The volumes a server should have as disks: attachments not being detached.
pub async fn server_volumes(tx: &mut Tx<'_>, server: &Server) -> Result<Vec<VolumeAttachment>> {
    let attachments = db::attachments_of_server(&mut **tx, &server.id).await?;
    volumes_of(tx, attachments).await
}

/// The attachments of `servers` by server id, read in one query (a host's desired state
/// needs them for each of its servers).
pub async fn attachments_by_server(
    tx: &mut Tx<'_>,
    servers: &[Server],
) -> Result<std::collections::HashMap<String, Vec<crate::db::volume::Attachment>>> {
    let ids: Vec<String> = servers.iter().map(|s| s.id.to_string()).collect();
    let mut out: std::collections::HashMap<String, Vec<_>> = Default::default();
    for a in db::attachments_of_servers(&mut **tx, &ids).await? {
        out.entry(a.server_id.clone()).or_default().push(a);
    }
    Ok(out)
}

/// [`server_volumes`] from the server's attachments.
pub async fn volumes_of(
    tx: &mut Tx<'_>,
    attachments: Vec<crate::db::volume::Attachment>,
) -> Result<Vec<VolumeAttachment>> {
    let mut out = vec![];
    for a in attachments {
        if a.status == AttachmentStatus::Detaching || a.boot_index == Some(0) {
            continue;
        }
        if let Some(v) = db::get(&mut **tx, &a.volume_id).await? {
            // A volume moving while attached (locked meanwhile) is mirrored by the VM.
            let mirror = match v.status {
                VolumeStatus::Maintenance | VolumeStatus::Retyping => {
                    crate::db::volume::migrations::latest(&mut **tx, &v.id)
                        .await?
                        .filter(|m| m.status == MigrationStatus::Migrating && m.mirrors())
                        .map(|m| VolumeMirror {
                            migration_id: m.id,
                            backend: m.dest_backend,
                        })
                }
                _ => None,
            };
            out.push(VolumeAttachment {
                volume_id: v.id.into_string(),
                read_only: v.read_only == Some(true),
                size_gb: v.size as u64,
                throttle: super::qos::throttle_for_type(tx, &v.volume_type_id).await?,
                backend: v.backend,
                mirror,
            });
        }
    }
    Ok(out)
}

/// The volume a server boots from, if it was booted from one.
pub async fn root_volume(tx: &mut Tx<'_>, server: &str) -> Result<Option<crate::db::volume::Volume>> {
    let attachments = db::attachments_of_server(&mut **tx, server).await?;
    root_volume_of(tx, &attachments).await
}

/// [`root_volume`] from the server's attachments.
pub async fn root_volume_of(
    tx: &mut Tx<'_>,
    attachments: &[crate::db::volume::Attachment],
) -> Result<Option<crate::db::volume::Volume>> {
    match attachments.iter().find(|a| a.boot_index == Some(0)) {
        Some(a) => db::get(&mut **tx, &a.volume_id).await,
        None => Ok(None),
    }
}

/// A user message for the volume's project: the host failed what it was asked.
async fn tell(tx: &mut Tx<'_>, v: &db::Volume, action: Action, detail: Detail) -> Result<()> {
    let req = super::messages::report_request_id();
    super::messages::record(tx, &v.project_id, &req, &v.id, action, detail).await
}

/// Applies the storage part of a report from `host` (in the report's transaction). True
/// when an attachment still waits for the host (its timeout needs the next report applied).
pub async fn apply(tx: &mut Tx<'_>, host: &str, report: &HostReport, now: i64) -> Result<bool> {
    let mut waiting = false;
    super::backup_report::apply(tx, host, report, now).await?;
    super::migration::apply(tx, host, report, now).await?;
    for (id, why) in &report.storage_errors {
        tracing::warn!(host, volume_or_snapshot = %id, error = %why, "storage error reported");
    }
    let error_of = |id: &str| {
        report
            .storage_errors
            .iter()
            .find(|(e, _)| e == id)
            .map(|(_, m)| m.clone())
    };
    // Whether a volume or snapshot changed: groups and group snapshots may settle then.
    let mut changed = false;
    // Snapshots first: a volume row goes only after its snapshots' rows.
    for mut s in db::snapshots_on_host(&mut **tx, host).await? {
        let held = report.volume_snapshots.contains(&s.id);
        let status = match (s.status, held) {
            (SnapshotStatus::Creating, true) => SnapshotStatus::Available,
            (SnapshotStatus::Creating, false) if error_of(&s.id).is_some() => SnapshotStatus::Error,
            (SnapshotStatus::Deleting, false) if error_of(&s.id).is_some() => SnapshotStatus::ErrorDeleting,
            (SnapshotStatus::Deleting, false) => {
                db::delete_snapshot(&mut **tx, &s.id).await?;
                changed = true;
                continue;
            }
            _ => continue,
        };
        changed = true;
        s.status = status;
        s.progress = None;
        s.updated_at = Some(now);
        db::update_snapshot(&mut **tx, &s).await?;
    }
    for mut v in db::on_host(&mut **tx, host).await? {
        let held = report.volumes.iter().find(|s| s.id == v.id);
        let before = v.status;
        match (v.status, held) {
            (VolumeStatus::Creating, Some(_)) => v.status = VolumeStatus::Available,
            (VolumeStatus::Creating, None) => {
                if let Some(m) = error_of(&v.id) {
                    v.status = VolumeStatus::Error;
                    v.fault = Some(m);
                    tell(tx, &v, Action::CreateVolumeFromBackend, Detail::UnknownError).await?;
                }
            }
            (VolumeStatus::Extending, Some(s)) if s.size_gb >= v.size as u64 => {
                v.status = if db::attachment_of(&mut **tx, &v.id).await?.is_some() {
                    VolumeStatus::InUse
                } else {
                    VolumeStatus::Available
                }
            }
            (VolumeStatus::Extending, _) => {
                if let Some(m) = error_of(&v.id) {
                    v.status = VolumeStatus::ErrorExtending;
                    v.fault = Some(m);
                    tell(tx, &v, Action::ExtendVolume, Detail::DriverFailedExtend).await?;
                }
            }
            (VolumeStatus::Deleting, None) if error_of(&v.id).is_some() => {
                v.status = VolumeStatus::ErrorDeleting;
                v.fault = error_of(&v.id);
            }
            (VolumeStatus::Deleting, None) => {
                if db::snapshots_of(&mut **tx, &v.id).await?.is_empty() {
                    db::delete(&mut **tx, &v.id).await?;
                    changed = true;
                }
                continue;
            }
            _ => {}
        }
        if v.status != before {
            changed = true;
            v.updated_at = Some(now);
            db::update(&mut **tx, &v).await?;
        }
    }
    if changed {
        db::groups::settle(tx, now).await?;
    }
    for vm in &report.vms {
        let stopped = vm.state == ciel_proto::VmState::Stopped;
        for a in db::attachments_of_server(&mut **tx, &vm.id).await? {
            let has = vm.volumes.contains(&a.volume_id);
            let Some(mut v) = db::get(&mut **tx, &a.volume_id).await? else {
                continue;
            };
            match a.status {
                AttachmentStatus::Attaching if has || stopped => {
                    db::set_attachment_status(&mut **tx, &a.id, AttachmentStatus::Attached).await?;
                    v.status = VolumeStatus::InUse;
                }
                AttachmentStatus::Attaching if now - a.created_at > ATTACH_TIMEOUT_SECS => {
                    tracing::warn!(volume = %v.id, server = %vm.id, "attach timed out; rolled back");
                    db::delete_attachment(&mut **tx, &a.id).await?;
                    v.status = VolumeStatus::Available;
                }
                AttachmentStatus::Detaching if !has || stopped => {
                    db::delete_attachment(&mut **tx, &a.id).await?;
                    v.status = VolumeStatus::Available;
                }
                AttachmentStatus::Attaching | AttachmentStatus::Detaching => {
                    waiting = true;
                    continue;
                }
                _ => continue,
            }
            v.updated_at = Some(now);
            db::update(&mut **tx, &v).await?;
        }
    }
    Ok(waiting)
}

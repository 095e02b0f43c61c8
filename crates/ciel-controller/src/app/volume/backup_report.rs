//! The backup part of a host's desired state, and what its reports change. A backup in
//! `creating` is listed for the host that holds its volume, one in `deleting` for the host
//! that made it, one in `restoring` for the host of the volume written; the host's report
//! of the finished (or failed) task moves the backup and its volume on. A report is taken
//! only from the host the task was given to.

use super::backups::{settle_source, settled_status};
use crate::db::volume::backups::{self as bdb, BackupStatus};
use crate::db::volume::{self as db, VolumeStatus};
use crate::db::Tx;
use crate::error::Result;
use ciel_proto::{BackupOutcome, BackupSpec, BackupTask, HostReport};

/// The backup tasks of `host`.
pub async fn desired(tx: &mut Tx<'_>, host: &str) -> Result<Vec<BackupSpec>> {
    let mut out = vec![];
    for b in bdb::in_progress(&mut **tx).await? {
        let task = match b.status {
            BackupStatus::Creating if b.host_id.as_deref() == Some(host) => {
                let parent = match &b.parent_id {
                    Some(p) => bdb::get(&mut **tx, p).await?.map(|p| p.data_id),
                    None => None,
                };
                BackupTask::Make {
                    parent,
                    snapshot_id: b.snapshot_id.clone(),
                    point_in_time: b.point_in_time,
                }
            }
            BackupStatus::Deleting if b.host_id.as_deref() == Some(host) => BackupTask::Delete,
            BackupStatus::Restoring => {
                let Some(vid) = &b.restore_volume_id else { continue };
                match db::get(&mut **tx, vid).await? {
                    Some(v) if v.host_id.as_deref() == Some(host) => BackupTask::Restore {
                        volume_id: v.id.to_string(),
                        backend: v.backend,
                    },
                    _ => continue,
                }
            }
            _ => continue,
        };
        out.push(BackupSpec {
            id: b.id,
            data_id: b.data_id,
            volume_id: b.volume_id,
            backend: b.backend,
            size_gb: b.size as u64,
            target: b.target,
            task,
        });
    }
    Ok(out)
}

/// Applies the backup part of a report from `host` (in the report's transaction).
pub async fn apply(tx: &mut Tx<'_>, host: &str, report: &HostReport, now: i64) -> Result<()> {
    let mine = desired(tx, host).await?;
    for st in &report.backups {
        let Some(spec) = mine.iter().find(|s| s.id == st.id) else {
            continue;
        };
        let Some(mut b) = bdb::get(&mut **tx, &st.id).await? else {
            continue;
        };
        match (&spec.task, &st.outcome) {
            (BackupTask::Make { .. }, BackupOutcome::Made { target, object_count }) => {
                b.status = BackupStatus::Available;
                b.target = Some(target.clone());
                b.object_count = *object_count as i64;
                b.fail_reason = None;
                settle_source(tx, &b, now).await?;
            }
            (BackupTask::Make { .. }, BackupOutcome::Failed { message }) => {
                tracing::warn!(host, backup = %b.id, error = %message, "backup failed");
                b.status = BackupStatus::Error;
                b.fail_reason = Some(message.clone());
                settle_source(tx, &b, now).await?;
            }
            (BackupTask::Restore { volume_id, .. }, outcome) => {
                let failed = match outcome {
                    BackupOutcome::Restored { volume_id: done } if done == volume_id => None,
                    BackupOutcome::Failed { message } => Some(message.clone()),
                    _ => continue,
                };
                if let Some(mut v) = db::get(&mut **tx, volume_id).await? {
                    if v.status == VolumeStatus::RestoringBackup {
                        v.status = match failed {
                            None => settled_status(tx, volume_id).await?,
                            Some(_) => VolumeStatus::ErrorRestoring,
                        };
                        v.fault = failed.clone();
                        v.updated_at = Some(now);
                        db::update(&mut **tx, &v).await?;
                    }
                }
                if let Some(m) = &failed {
                    tracing::warn!(host, backup = %b.id, volume = %volume_id, error = %m, "restore failed");
                }
                b.status = BackupStatus::Available;
                b.restore_volume_id = None;
                b.fail_reason = failed;
            }
            (BackupTask::Delete, BackupOutcome::Deleted) => {
                bdb::delete(&mut **tx, &b.id).await?;
                tx.host_changed(host);
                continue;
            }
            (BackupTask::Delete, BackupOutcome::Failed { message }) => {
                b.status = BackupStatus::ErrorDeleting;
                b.fail_reason = Some(message.clone());
            }
            _ => continue,
        }
        b.updated_at = Some(now);
        bdb::update(&mut **tx, &b).await?;
        tx.host_changed(host);
    }
    Ok(())
}

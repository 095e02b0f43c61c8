//! Volume migration (`os-migrate_volume`, and `os-retype` with `migration_policy =
//! on-demand` when the new type's backend is not the volume's): the volume's data moves to
//! another host and/or backend while it keeps its id (the old and new copies differ in host
//! or backend, so Cinder's `name_id` trick is not needed).
//!
//! A migration is a row the hosts' desired state is derived from, never a message: one host
//! copies (the holding host, when the destination is the shared pool it writes to or another
//! backend of its own; the destination host otherwise, reading the shared pool or what the
//! holding host serves over NBD). Its report of the finished copy switches the volume to the
//! new place in one transaction; from then on the old copy is not desired any more, so a
//! local backend removes it, and on a shared pool the old owner is told to remove it
//! (`completing`). A failed copy leaves the volume where it was (`error`). Moving a volume
//! between owners of the same shared pool moves no data: the new owner takes it over.
//!
//! An attached (`in-use`) volume moves as Nova's swap volume moves it: its server's QEMU
//! mirrors the disk into the new copy and switches to it while the guest runs, so the new
//! place must be one the server's host reaches (a backend of its own, or a shared pool).
//! Its old copy is then removed by the host that held it (`completing`), local or shared.
//! The volume is locked (`maintenance`, or `retyping` for a retype) until the copy is done.

use super::visible;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::hosts::{self, Host};
use crate::db::volume::migrations::{self as mdb, MigrationStatus, VolumeMigration};
use crate::db::volume::{self as db, Volume, VolumeStatus};
use crate::db::Tx;
use crate::error::{Error, Result};
use ciel_proto::{
    HostReport, VolumeCopySource, VolumeMigrationOutcome, VolumeMigrationSpec, VolumeMigrationStatus,
    VolumeMigrationTask,
};

pub use super::params::{MigrateVolume, MigrationPolicy};

/// Where a holding host serves a volume to the host that copies it (on its underlay
/// address; just above the range server migrations use, reserved by the agents too).
const FIRST_PORT: i64 = *ciel_proto::VOLUME_MIGRATION_PORTS.start() as i64;
const LAST_PORT: i64 = *ciel_proto::VOLUME_MIGRATION_PORTS.end() as i64;

fn invalid_host(msg: String) -> Error {
    Error::bad_request(format!("Invalid host: {msg}"))
}

fn invalid_volume(msg: String) -> Error {
    Error::bad_request(format!("Invalid volume: {msg}"))
}

impl App {
    /// `os-migrate_volume` (admin): moves the volume's data to the pool `host` names.
    pub async fn migrate_volume(&self, caller: &Caller, id: &str, p: MigrateVolume) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let v = visible(caller, db::get(&mut *tx, id).await?, id)?;
        let (dest, backend) = self.named_pool(&mut tx, &p.host).await?;
        let latest = mdb::latest(&mut *tx, id).await?;
        let snapshots = db::snapshots_of(&mut *tx, id).await?;
        let same_place = v.host_id.as_deref() == Some(dest.id.as_str()) && v.backend == backend;
        let grouped = db::groups::group_of(&mut *tx, id).await?.is_some();
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse)
            || latest.is_some_and(|m| m.active())
            || !snapshots.is_empty()
            || grouped
            || same_place
        {
            return Err(invalid_volume(format!(
                "Volume {id} status must be available or in-use, must not be migrating, have snapshots, \
                 be replicated, be part of a group and destination host/cluster must be different than the \
                 current host/cluster"
            )));
        }
        tracing::info!(volume = %id, to = %p.host, force_host_copy = p.force_host_copy, lock_volume = p.lock_volume, "volume migration requested");
        self.start_volume_migration(&mut tx, v, &dest, &backend, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The retype of an available volume whose new type lives on another backend: moves it
    /// there (to its own host when that host offers the backend) and gives it `type_id` once
    /// it is there. The caller has checked the status, the type and the quotas.
    pub(crate) async fn retype_with_migration(
        &self,
        tx: &mut Tx<'_>,
        v: Volume,
        type_id: &str,
        backend: &str,
        policy: MigrationPolicy,
    ) -> Result<()> {
        if policy == MigrationPolicy::Never {
            return Err(invalid_volume(format!(
                "Retype requires migration but is not allowed (the new type's volumes are on the '{backend}' \
                 backend, volume {} is on '{}'; retype with migration_policy on-demand).",
                v.id, v.backend
            )));
        }
        if mdb::latest(&mut **tx, &v.id).await?.is_some_and(|m| m.active()) {
            return Err(invalid_volume(
                "Retype needs volume to be in available or in-use state, not be part of an active migration or \
                 a consistency group, requested type has to be different that the one from the volume, and for \
                 in-use volumes front-end qos specs cannot change."
                    .into(),
            ));
        }
        if !db::snapshots_of(&mut **tx, &v.id).await?.is_empty() {
            return Err(invalid_volume(format!("Volume {} must not have snapshots.", v.id)));
        }
        let now = crate::db::now();
        // An attached volume moves to a backend its server's host reaches: that host's own.
        let near = if v.status == VolumeStatus::InUse {
            self.attachment_and_server(tx, &v)
                .await?
                .1
                .host_id
                .map(|h| h.to_string())
        } else {
            v.host_id.as_ref().map(|h| h.to_string())
        };
        let here = match &near {
            Some(h) => hosts::get(&mut **tx, h).await?,
            None => None,
        };
        let dest = match here {
            Some(h)
                if h.stores(backend)
                    && h.is_up(now, self.cfg.scheduler.host_down_after)
                    && !self.backend_disabled(&mut **tx, &h.hostname, backend).await? =>
            {
                h
            }
            _ => {
                let picked = self.pick_storage_host(tx, backend).await?.ok_or_else(|| {
                    invalid_volume(format!(
                        "No valid backend was found: no host offers the '{backend}' backend."
                    ))
                })?;
                hosts::get(&mut **tx, &picked)
                    .await?
                    .ok_or_else(|| Error::Internal("the picked host is gone".into()))?
            }
        };
        tracing::info!(volume = %v.id, to = %format!("{}@{backend}", dest.hostname), "retype migrates the volume");
        self.start_volume_migration(tx, v, &dest, backend, Some(type_id.to_string()))
            .await
    }

    /// The attachment of an attached volume and its server.
    async fn attachment_and_server(
        &self,
        tx: &mut Tx<'_>,
        v: &Volume,
    ) -> Result<(crate::db::volume::Attachment, crate::db::compute::servers::Server)> {
        let a = db::attachment_of(&mut **tx, &v.id)
            .await?
            .ok_or_else(|| invalid_volume(format!("Volume {} is in-use without an attachment.", v.id)))?;
        let s = crate::db::compute::servers::get(&mut **tx, &a.server_id)
            .await?
            .ok_or_else(|| invalid_volume(format!("Volume {} is attached to a server that is gone.", v.id)))?;
        Ok((a, s))
    }

    /// The host whose QEMU mirrors attached volume `v` to `backend` of `dest`: its
    /// server's, which must run there, reach the new place, and be up.
    async fn mirroring_host(&self, tx: &mut Tx<'_>, v: &Volume, dest: &Host, backend: &str) -> Result<Host> {
        use crate::db::compute::server_states::VmState;
        let (a, s) = self.attachment_and_server(tx, v).await?;
        if a.status != crate::db::volume::AttachmentStatus::Attached || a.boot_index == Some(0) {
            return Err(invalid_volume(format!(
                "Volume {} is the root disk of server {}, or still attaching or detaching: it cannot move \
                 while attached.",
                v.id, s.id
            )));
        }
        if !matches!(s.vm_state, VmState::Active | VmState::Paused) || s.task_state.is_some() {
            return Err(invalid_volume(format!(
                "Volume {} is attached to server {}, which is {}: an attached volume moves only under \
                 a running server (its QEMU copies the disk).",
                v.id, s.id, s.vm_state
            )));
        }
        let host = match &s.host_id {
            Some(h) => hosts::get(&mut **tx, h).await?,
            None => None,
        }
        .ok_or_else(|| invalid_volume(format!("Server {} has no host.", s.id)))?;
        let reaches = if super::types::is_shared(backend) {
            host.stores(backend)
        } else {
            dest.id == host.id && host.stores(backend)
        };
        if !reaches {
            return Err(invalid_volume(format!(
                "Volume {} is attached to server {} on host {}: it can move only to a backend of that \
                 host or to a shared pool the host reaches, not to {}@{backend}.",
                v.id, s.id, host.hostname, dest.hostname
            )));
        }
        if !host.is_up(crate::db::now(), self.cfg.scheduler.host_down_after) {
            return Err(invalid_volume(format!(
                "Volume {} cannot be migrated now: host {} is down.",
                v.id, host.hostname
            )));
        }
        Ok(host)
    }

    /// The up host and backend of a pool named `host@backend` or `host@backend#pool`.
    async fn named_pool(&self, tx: &mut Tx<'_>, name: &str) -> Result<(Host, String)> {
        let (service, pool) = match name.split_once('#') {
            Some((s, p)) => (s, Some(p)),
            None => (name, None),
        };
        let found = hosts::list(&mut **tx).await?.into_iter().find_map(|h| {
            let backends: Vec<String> = serde_json::from_str(&h.storage_backends).unwrap_or_default();
            backends
                .into_iter()
                .find(|b| format!("{}@{b}", h.hostname) == service && pool.is_none_or(|p| p == b))
                .map(|b| (h, b))
        });
        let Some((h, backend)) = found else {
            return Err(invalid_host(format!("No available service named {name}")));
        };
        if !h.is_up(crate::db::now(), self.cfg.scheduler.host_down_after) {
            return Err(invalid_host(format!("Service {service} is down.")));
        }
        Ok((h, backend))
    }

    /// Records the migration of `v` to `backend` of `dest` and locks the volume; a move
    /// between owners of the same shared pool is done at once.
    async fn start_volume_migration(
        &self,
        tx: &mut Tx<'_>,
        mut v: Volume,
        dest: &Host,
        backend: &str,
        new_type: Option<String>,
    ) -> Result<()> {
        let now = crate::db::now();
        let down_after = self.cfg.scheduler.host_down_after;
        let source = match &v.host_id {
            Some(h) => hosts::get(&mut **tx, h).await?,
            None => None,
        }
        .ok_or_else(|| invalid_volume(format!("Volume {} has no host holding it.", v.id)))?;
        let shared_src = super::types::is_shared(&v.backend);
        let shared_dest = super::types::is_shared(backend);
        let mut m = VolumeMigration {
            id: uuid::Uuid::new_v4().to_string(),
            volume_id: v.id.to_string(),
            status: MigrationStatus::Migrating,
            source_host_id: source.id.clone(),
            source_backend: v.backend.clone(),
            dest_host_id: dest.id.clone(),
            dest_backend: backend.to_string(),
            copy_host_id: dest.id.clone(),
            port: 0,
            new_type_id: new_type.clone(),
            previous_status: v.status.to_string(),
            fail_reason: None,
            created_at: now,
            updated_at: Some(now),
        };
        tx.host_changed(&source.id);
        tx.host_changed(&dest.id);
        if shared_src && backend == v.backend {
            // The same pool: the new owner takes the volume over, no data moves.
            m.status = MigrationStatus::Success;
            mdb::insert(&mut **tx, &m).await?;
            let type_id = new_type.unwrap_or_else(|| v.volume_type_id.clone());
            mdb::relocate(&mut **tx, &v.id, &dest.id, backend, v.status.as_str(), &type_id, now).await?;
            tracing::info!(volume = %v.id, from = %source.hostname, to = %dest.hostname, backend, "shared volume handed over");
            return Ok(());
        }
        if v.status == VolumeStatus::InUse {
            // The server's QEMU mirrors the disk, on the server's host.
            m.copy_host_id = self.mirroring_host(tx, &v, dest, backend).await?.id;
        } else if source.id == dest.id || (shared_src && dest.stores(&v.backend)) {
            // The destination reads the volume itself: another backend of its own, or the pool.
        } else if shared_dest && source.stores(backend) {
            // The holding host writes into the pool directly.
            m.copy_host_id = source.id.clone();
        } else {
            if source.underlay_ip.is_none() {
                return Err(invalid_volume(format!(
                    "Volume {} cannot be copied: its host {} has no underlay address.",
                    v.id, source.hostname
                )));
            }
            let taken = mdb::ports_in_use(&mut **tx, &source.id).await?;
            m.port = (FIRST_PORT..=LAST_PORT).find(|p| !taken.contains(p)).ok_or_else(|| {
                Error::Conflict(format!(
                    "Host {} serves too many volume migrations now.",
                    source.hostname
                ))
            })?;
        }
        for h in [&source, dest] {
            let copies = h.id == m.copy_host_id || (m.port != 0 && h.id == source.id);
            if copies && !h.is_up(now, down_after) {
                return Err(invalid_volume(format!(
                    "Volume {} cannot be migrated now: host {} is down.",
                    v.id, h.hostname
                )));
            }
        }
        tx.host_changed(&m.copy_host_id);
        mdb::insert(&mut **tx, &m).await?;
        v.status = if new_type.is_some() {
            VolumeStatus::Retyping
        } else {
            VolumeStatus::Maintenance
        };
        v.updated_at = Some(now);
        db::update(&mut **tx, &v).await?;
        tracing::info!(volume = %v.id, migration = %m.id, from = %format!("{}@{}", source.hostname, m.source_backend),
            to = %format!("{}@{backend}", dest.hostname), copier = %m.copy_host_id, port = m.port, "volume migration started");
        Ok(())
    }
}

/// The volume migration tasks of `host`.
pub async fn desired(tx: &mut Tx<'_>, host: &str) -> Result<Vec<VolumeMigrationSpec>> {
    let mut out = vec![];
    for m in mdb::active(&mut **tx).await? {
        let Some(v) = db::get(&mut **tx, &m.volume_id).await? else {
            continue;
        };
        let spec = |task| VolumeMigrationSpec {
            id: m.id.clone(),
            volume_id: m.volume_id.clone(),
            size_gb: v.size as u64,
            task,
        };
        match m.status {
            // The server's VM does it: its spec says so (`report::server_volumes`).
            MigrationStatus::Migrating if m.mirrors() => {}
            MigrationStatus::Migrating => {
                let served_at = if m.port != 0 {
                    hosts::get(&mut **tx, &m.source_host_id)
                        .await?
                        .and_then(|h| h.underlay_ip)
                        .map(|addr| (addr, m.port as u16))
                } else {
                    None
                };
                if m.copy_host_id == host {
                    let source = match &served_at {
                        Some((addr, port)) => VolumeCopySource::Nbd {
                            addr: addr.clone(),
                            port: *port,
                        },
                        None => VolumeCopySource::Local {
                            backend: m.source_backend.clone(),
                        },
                    };
                    out.push(spec(VolumeMigrationTask::Copy {
                        backend: m.dest_backend.clone(),
                        source,
                    }));
                }
                if let Some((addr, port)) = served_at.filter(|_| m.source_host_id == host) {
                    out.push(spec(VolumeMigrationTask::Serve {
                        backend: m.source_backend.clone(),
                        addr,
                        port,
                    }));
                }
            }
            MigrationStatus::Completing if m.source_host_id == host => {
                out.push(spec(VolumeMigrationTask::RemoveOld {
                    backend: m.source_backend.clone(),
                }));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Applies the volume migration part of a report from `host` (in the report's
/// transaction): a finished copy or mirror moves the volume, a failed one ends the migration
/// in `error`, a removed old copy ends it in `success`. Taken only from the host the task
/// was given to.
pub async fn apply(tx: &mut Tx<'_>, host: &str, report: &HostReport, now: i64) -> Result<()> {
    let mirrored: Vec<&VolumeMigrationStatus> = report.vms.iter().flat_map(|vm| &vm.volume_migrations).collect();
    if report.volume_migrations.is_empty() && mirrored.is_empty() {
        return Ok(());
    }
    if !mirrored.is_empty() {
        let active = mdb::active(&mut **tx).await?;
        for st in mirrored {
            let Some(m) = active.iter().find(|m| {
                m.id == st.id && m.status == MigrationStatus::Migrating && m.mirrors() && m.copy_host_id == host
            }) else {
                continue;
            };
            settle(tx, m.clone(), Task::Copy, &st.outcome, host, now).await?;
        }
    }
    let mine = desired(tx, host).await?;
    for st in &report.volume_migrations {
        let Some((spec, task)) = mine.iter().find_map(|s| match s.task {
            _ if s.id != st.id => None,
            VolumeMigrationTask::Copy { .. } => Some((s, Task::Copy)),
            VolumeMigrationTask::RemoveOld { .. } => Some((s, Task::RemoveOld)),
            VolumeMigrationTask::Serve { .. } => None,
        }) else {
            continue;
        };
        let Some(m) = mdb::latest(&mut **tx, &spec.volume_id).await?.filter(|m| m.id == st.id) else {
            continue;
        };
        settle(tx, m, task, &st.outcome, host, now).await?;
    }
    Ok(())
}

/// The two tasks whose outcome moves a migration on.
enum Task {
    Copy,
    RemoveOld,
}

async fn settle(
    tx: &mut Tx<'_>,
    mut m: VolumeMigration,
    task: Task,
    outcome: &VolumeMigrationOutcome,
    host: &str,
    now: i64,
) -> Result<()> {
    match (task, outcome) {
        (Task::Copy, VolumeMigrationOutcome::Copied) => {
            let Some(v) = db::get(&mut **tx, &m.volume_id).await? else {
                return Ok(());
            };
            let type_id = m.new_type_id.clone().unwrap_or_else(|| v.volume_type_id.clone());
            mdb::relocate(
                &mut **tx,
                &m.volume_id,
                &m.dest_host_id,
                &m.dest_backend,
                &m.previous_status,
                &type_id,
                now,
            )
            .await?;
            // The old copy on a shared pool is removed by its owner, and so is the one a
            // mirror left (its host keeps the volume while a VM there has it attached); a
            // local backend removes what is no longer desired there by itself.
            m.status = if super::types::is_shared(&m.source_backend) || m.mirrors() {
                MigrationStatus::Completing
            } else {
                MigrationStatus::Success
            };
            tracing::info!(volume = %m.volume_id, migration = %m.id, host = %m.dest_host_id, backend = %m.dest_backend, mirrored = m.mirrors(), "volume migrated");
        }
        (Task::Copy, VolumeMigrationOutcome::Failed { message }) => {
            tracing::warn!(volume = %m.volume_id, migration = %m.id, host, error = %message, "volume migration failed");
            if let Some(mut v) = db::get(&mut **tx, &m.volume_id).await? {
                if matches!(v.status, VolumeStatus::Maintenance | VolumeStatus::Retyping) {
                    v.status = m.previous_status.parse().unwrap_or(VolumeStatus::Available);
                    v.updated_at = Some(now);
                    db::update(&mut **tx, &v).await?;
                }
            }
            m.status = MigrationStatus::Error;
            m.fail_reason = Some(message.clone());
        }
        (Task::RemoveOld, VolumeMigrationOutcome::Removed) => {
            m.status = MigrationStatus::Success;
        }
        (Task::RemoveOld, VolumeMigrationOutcome::Failed { message }) => {
            tracing::warn!(volume = %m.volume_id, migration = %m.id, host, error = %message, "removing the old copy failed; retried");
            return Ok(());
        }
        _ => return Ok(()),
    }
    m.updated_at = Some(now);
    mdb::update(&mut **tx, &m).await?;
    for h in [&m.source_host_id, &m.dest_host_id, &m.copy_host_id] {
        tx.host_changed(h);
    }
    Ok(())
}

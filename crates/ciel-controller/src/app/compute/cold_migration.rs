//! Cold migration (`migrate`) as desired state, in steps the two hosts' reports drive (the
//! migration row's status):
//!
//! - `pre-migrating`: only the source has the migration: it stops the VM and serves a local
//!   root disk on a port picked here; it reports `Ready`;
//! - `migrating`: the destination has it too: it copies the disk (or takes over the RBD root
//!   disk or the root volume) and starts the VM; it reports `Completed`;
//! - `finished`: the server is on the destination, `VERIFY_RESIZE`; the source keeps its
//!   stopped copy. Confirm (`confirmed`) removes that copy; revert (`reverted`) moves the
//!   server back, where the copy starts again and the destination's goes.
//!
//! Shared disks follow the host that runs the server (see `db::compute::migrations::moved`).

use super::actions::{record, Guard};
use super::migrations::{new_migration, server_storage};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::migrations::{self as db, Migration};
use crate::db::compute::server_states::{DesiredPower, TaskState, VmState};
use crate::db::compute::servers::{self, Server};
use crate::db::compute::{hosts, server_states};
use crate::db::Tx;
use crate::error::{Error, Result};
use ciel_proto::{MigrationProgress, MigrationRole, MigrationStatus, VmMigration};

impl App {
    /// `migrate`: moves a server to another host (named from 2.56, else the scheduler's
    /// choice) with a stop and a start; it waits in `VERIFY_RESIZE` for confirm or revert.
    pub async fn cold_migrate_server(
        &self,
        caller: &Caller,
        id: &str,
        host: Option<&str>,
        request_id: &str,
    ) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped) || s.task_state.is_some() {
            return Err(match &s.task_state {
                Some(t) => Error::Conflict(format!("Cannot 'migrate' instance {id} while it is in task_state {t}")),
                None => Error::Conflict(format!(
                    "Cannot 'migrate' instance {id} while it is in vm_state {}",
                    s.vm_state
                )),
            });
        }
        let source = match &s.host_id {
            Some(h) => hosts::get(&mut *tx, h)
                .await?
                .ok_or_else(|| Error::not_found("host", h))?,
            None => {
                return Err(Error::bad_request(format!(
                    "Instance {id} has no host to migrate from."
                )))
            }
        };
        let storage = server_storage(&mut tx, &s).await?;
        storage.refuse_mid_mirror("migrate", id)?;
        if let Some((v, _)) = &storage.local_volume {
            return Err(Error::bad_request(format!(
                "Migration pre-check error: volume {v} is stored on the source host; migrate the volume to shared storage first."
            )));
        }
        let dest = self
            .migration_destination(&mut tx, &s, &source, host, false, storage.backends)
            .await?;
        // A local root disk is served by the source: the port is taken there.
        let (addr, port) = if storage.local_root {
            let Some(addr) = source.underlay_ip.clone() else {
                return Err(Error::bad_request(format!(
                    "Migration pre-check error: host {} has no underlay address to send the disk from.",
                    source.hostname
                )));
            };
            (Some(addr), self.free_migration_port(&mut tx, &source).await?)
        } else {
            (None, 0)
        };
        let now = crate::db::now();
        let m = Migration {
            dest_addr: addr,
            block_migration: storage.local_root,
            port,
            ..new_migration("migration", "pre-migrating", caller, &s, &source, &dest, now)
        };
        db::insert(&mut *tx, &m).await?;
        // A migration is a resize to the same flavor: revert restores these.
        s.old_flavor_id = Some(s.flavor_id.clone());
        s.old_vcpus = Some(s.vcpus);
        s.old_memory_mb = Some(s.memory_mb);
        s.old_root_gb = Some(s.root_gb);
        s.task_state = Some(TaskState::ResizeMigrating);
        s.updated_at = now;
        servers::update_state(&mut *tx, &s).await?;
        record(&mut tx, caller, &s, "migrate", request_id, now).await?;
        self.migration_touches(&mut tx, &s, &m).await?;
        tx.commit().await?;
        tracing::info!(server = %id, from = %source.hostname, to = %dest.hostname, disk_copied = storage.local_root,
            "cold migration started");
        Ok(())
    }

    /// Confirm of a server a cold migration moved: the source's stopped copy goes.
    pub(super) async fn confirm_move(&self, tx: &mut Tx<'_>, s: &Server) -> Result<()> {
        self.end_move(tx, s, "confirmed").await
    }

    /// Revert of a server a cold migration moved: it goes back to the source, which starts
    /// its copy again (`s` is changed to be there).
    pub(super) async fn revert_move(&self, tx: &mut Tx<'_>, s: &mut Server) -> Result<()> {
        let Some(m) = db::finished_for_server(&mut **tx, &s.id)
            .await?
            .filter(Migration::is_cold)
        else {
            return Ok(());
        };
        if let Some(h) = &m.source_host_id {
            servers::set_host(&mut **tx, &s.id, h).await?;
            s.host_id = Some(h.clone().into());
        }
        self.end_move(tx, s, "reverted").await
    }

    async fn end_move(&self, tx: &mut Tx<'_>, s: &Server, status: &str) -> Result<()> {
        let Some(mut m) = db::finished_for_server(&mut **tx, &s.id).await? else {
            return Ok(());
        };
        m.status = status.into();
        m.updated_at = crate::db::now();
        db::update(&mut **tx, &m).await?;
        self.migration_touches(tx, s, &m).await
    }

    /// A resize on the server's own host, recorded as Nova lists it (`/os-migrations`):
    /// `finished` until confirmed or reverted.
    pub(super) async fn record_resize(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        s: &Server,
        new_flavor: &str,
    ) -> Result<()> {
        let Some(h) = &s.host_id else { return Ok(()) };
        let Some(host) = hosts::get(&mut **tx, h).await? else {
            return Ok(());
        };
        let m = Migration {
            old_flavor_id: s.old_flavor_id.clone(),
            new_flavor_id: Some(new_flavor.to_string()),
            ..new_migration("resize", "finished", caller, s, &host, &host, crate::db::now())
        };
        db::insert(&mut **tx, &m).await?;
        Ok(())
    }

    /// A free pair of migration ports on `host` (where a stream is received or served).
    pub(super) async fn free_migration_port(&self, tx: &mut Tx<'_>, host: &hosts::Host) -> Result<i64> {
        let taken = db::ports_in_use(&mut **tx, &host.id).await?;
        (0..super::migrations::PORT_PAIRS)
            .map(|k| super::migrations::FIRST_PORT + 2 * k)
            .find(|p| !taken.iter().any(|(a, _)| a == p))
            .ok_or_else(|| Error::Conflict(format!("Host {} takes part in too many migrations now.", host.hostname)))
    }
}

/// The cold migration `m` as the host in `role` sees it: the source until the user decides
/// (serving the disk only while it is copied), the destination while it copies.
pub(super) fn vm_migration(m: &Migration, role: MigrationRole) -> Option<VmMigration> {
    let copying = matches!(m.status.as_str(), "pre-migrating" | "migrating");
    let wanted = match role {
        MigrationRole::Source => copying || m.status == "finished",
        MigrationRole::Destination => m.status == "migrating",
    };
    wanted.then(|| VmMigration {
        id: m.uuid.clone(),
        role,
        dest_addr: String::new(),
        port: if copying && m.block_migration { m.port as u16 } else { 0 },
        nbd_port: 0,
        block: m.block_migration,
        slots: vec![],
        downtime_ms: 0,
        abort: false,
        force_complete: false,
        cold: true,
        source_addr: m.dest_addr.clone().unwrap_or_default(),
    })
}

/// Applies what a host observed of a cold migration: the source's `Ready` lets the
/// destination start copying; the destination's `Completed` moves the server there
/// (`VERIFY_RESIZE`); a failure leaves it on the source, which starts it again.
pub(super) async fn apply_progress(
    tx: &mut Tx<'_>,
    from_source: bool,
    s: &mut Server,
    mut m: Migration,
    p: &MigrationProgress,
    now: i64,
) -> Result<()> {
    match (m.status.as_str(), from_source, p.status) {
        ("pre-migrating", true, MigrationStatus::Ready) => m.status = "migrating".into(),
        ("migrating", false, MigrationStatus::Completed) => {
            m.status = "finished".into();
            if let Some(dest) = &m.dest_host_id {
                servers::set_host(&mut **tx, &s.id, dest).await?;
                s.host_id = Some(dest.clone().into());
            }
            s.vm_state = VmState::Resized;
            s.power_state = match s.desired_power {
                DesiredPower::Stopped | DesiredPower::Suspended => 4,
                DesiredPower::Paused => 3,
                DesiredPower::Running => 1,
            };
            s.task_state = None;
            tracing::info!(server = %s.id, to = ?m.dest_node, "cold migration finished: waiting for confirm or revert");
        }
        ("pre-migrating" | "migrating", _, MigrationStatus::Failed) => {
            m.status = "error".into();
            m.error = p.error.clone();
            s.task_state = None;
            s.old_flavor_id = None;
            s.old_vcpus = None;
            s.old_memory_mb = None;
            s.old_root_gb = None;
            tracing::warn!(server = %s.id, error = ?m.error, "cold migration failed: the server stays on its host");
        }
        _ => return Ok(()),
    }
    m.updated_at = now;
    db::update(&mut **tx, &m).await?;
    for h in [&m.source_host_id, &m.dest_host_id].into_iter().flatten() {
        tx.host_changed(h);
    }
    for port in crate::db::network::ports_of_device(&mut **tx, &s.id).await? {
        tx.network_changed(&port.network_id);
    }
    s.updated_at = now;
    servers::update_state(&mut **tx, s).await
}

/// Whether the server's state is the migration's to steer (reports of its VM do not move it).
pub(super) fn moving(s: &Server) -> bool {
    matches!(
        s.task_state,
        Some(server_states::TaskState::Migrating | server_states::TaskState::ResizeMigrating)
    )
}

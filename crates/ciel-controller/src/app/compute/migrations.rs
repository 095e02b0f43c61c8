//! Live migration (`os-migrateLive`) as desired state: one row in `migrations` puts the
//! server on its source's and its destination's desired state at once (see
//! `ciel_proto::VmMigration`), and what the two hosts report moves the row — and, once the
//! guest runs on the destination, the server, its ports and their l2 population — along.
//! `/os-migrations` and `/servers/{id}/migrations` (force-complete, abort) read and steer it.

use super::actions::{record, Guard};
use super::params::actions::{BlockMigration, LiveMigrate};
use super::scheduler::{self, Constraints};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::flavors::Flavor;
use crate::db::compute::hosts::{self, Host};
use crate::db::compute::migrations::{self as db, Migration};
use crate::db::compute::server_states::{DesiredPower, TaskState, VmState};
use crate::db::compute::servers::{self, Server};
use crate::db::Tx;
use crate::error::{Error, Result};
use ciel_proto::{DeviceSlot, MigrationProgress, MigrationRole, MigrationStatus, VmMigration};

/// The ports a destination listens on for migrations: pairs (stream, NBD) from here.
pub(super) const FIRST_PORT: i64 = *ciel_proto::MIGRATION_PORTS.start() as i64;
pub(super) const PORT_PAIRS: i64 =
    (*ciel_proto::MIGRATION_PORTS.end() - *ciel_proto::MIGRATION_PORTS.start() + 1) as i64 / 2;
/// The switchover pause QEMU may plan for (Nova's `live_migration_downtime`).
const DOWNTIME_MS: u64 = 500;

impl App {
    /// `os-migrateLive`: moves a running server to another host without stopping it.
    pub async fn live_migrate_server(
        &self,
        caller: &Caller,
        id: &str,
        req: &LiveMigrate,
        request_id: &str,
    ) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if !matches!(s.vm_state, VmState::Active | VmState::Paused) || s.task_state.is_some() {
            return Err(match &s.task_state {
                Some(t) => Error::Conflict(format!(
                    "Cannot 'os-migrateLive' instance {id} while it is in task_state {t}"
                )),
                None => Error::Conflict(format!(
                    "Cannot 'os-migrateLive' instance {id} while it is in vm_state {}",
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
        // Local volumes cannot follow: only the root overlay is copied.
        let storage = server_storage(&mut tx, &s).await?;
        storage.refuse_mid_mirror("os-migrateLive", id)?;
        if let Some((v, _)) = &storage.local_volume {
            return Err(Error::bad_request(format!(
                "Migration pre-check error: volume {v} is stored on the source host; migrate the volume to shared storage first."
            )));
        }
        let local_disk = storage.local_root;
        let block = match req.block_migration {
            BlockMigration::Auto => local_disk,
            BlockMigration::Yes if !local_disk => {
                return Err(Error::bad_request(format!(
                    "Migration pre-check error: Cannot block migrate instance {id} with mapped volumes or shared storage."
                )))
            }
            BlockMigration::No if local_disk => {
                return Err(Error::bad_request(format!(
                    "Migration pre-check error: {id} is not on shared storage: Shared storage live-migration requires either shared storage or boot-from-volume with no local disks."
                )))
            }
            BlockMigration::Yes => true,
            BlockMigration::No => false,
        };
        let dest = self
            .migration_destination(&mut tx, &s, &source, req.host.as_deref(), req.force, storage.backends)
            .await?;
        let Some(dest_addr) = dest.underlay_ip.clone() else {
            return Err(Error::bad_request(format!(
                "Migration pre-check error: host {} has no underlay address to receive the migration.",
                dest.hostname
            )));
        };
        let port = self.free_migration_port(&mut tx, &dest).await?;
        let now = crate::db::now();
        let m = Migration {
            dest_addr: Some(dest_addr),
            block_migration: block,
            port,
            nbd_port: port + 1,
            ..new_migration("live-migration", "running", caller, &s, &source, &dest, now)
        };
        db::insert(&mut *tx, &m).await?;
        s.task_state = Some(TaskState::Migrating);
        s.updated_at = now;
        servers::update_state(&mut *tx, &s).await?;
        record(&mut tx, caller, &s, "live-migration", request_id, now).await?;
        self.migration_touches(&mut tx, &s, &m).await?;
        tx.commit().await?;
        tracing::info!(server = %id, from = %source.hostname, to = %dest.hostname, block, "live migration started");
        Ok(())
    }

    /// The host a migration goes to: the one asked for (checked like the scheduler would,
    /// unless forced), or the scheduler's choice among the others.
    pub(super) async fn migration_destination(
        &self,
        tx: &mut Tx<'_>,
        s: &Server,
        source: &Host,
        host: Option<&str>,
        force: bool,
        backends: Vec<String>,
    ) -> Result<Host> {
        let all = hosts::list(&mut **tx).await?;
        let flavor = Flavor {
            id: s.flavor_id.clone(),
            name: String::new(),
            ram: s.memory_mb,
            vcpus: s.vcpus,
            disk: s.root_gb,
            ephemeral: 0,
            swap: 0,
            rxtx_factor: 1.0,
            is_public: true,
            description: None,
            created_at: 0,
        };
        let mut c = Constraints {
            different_host: vec![source.id.clone()],
            backends: backends.clone(),
            ..Default::default()
        };
        if let Some(name) = host {
            let Some(h) = all.iter().find(|h| h.hostname == name) else {
                return Err(Error::bad_request(format!("Compute host {name} could not be found.")));
            };
            if h.id == source.id {
                return Err(Error::bad_request(format!(
                    "Unable to migrate instance ({}) to current host ({name}).",
                    s.id
                )));
            }
            let now = crate::db::now();
            if !h.is_up(now, self.cfg.scheduler.host_down_after) {
                return Err(Error::bad_request(format!(
                    "Compute service of {name} is unavailable at this time."
                )));
            }
            if let Some(b) = backends.iter().find(|b| !h.stores(b)) {
                return Err(Error::bad_request(format!(
                    "Migration pre-check error: host {name} does not reach the {b} storage of the instance."
                )));
            }
            if force {
                return Ok(h.clone());
            }
            c.forced_host = Some(name.to_string());
        }
        let picked = scheduler::pick(tx, &self.host_views, &self.cfg.scheduler, &flavor, &c).await?;
        match picked.and_then(|id| all.into_iter().find(|h| h.id == id)) {
            Some(h) => Ok(h),
            None => Err(Error::bad_request(
                "No valid host was found. There are not enough hosts available.",
            )),
        }
    }

    /// `evacuate`: rebuilds a server of a host that is down on another host. A root disk on
    /// Ceph (or a root volume) is kept: the new host fences the dead one's claims on it and
    /// boots from it; a root disk that was a file on the dead host is made again from the
    /// image, as Nova does without shared storage.
    pub async fn evacuate_server(
        &self,
        caller: &Caller,
        id: &str,
        host: Option<&str>,
        force: bool,
        request_id: &str,
    ) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped | VmState::Error) {
            return Err(Error::Conflict(format!(
                "Cannot 'evacuate' instance {id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        let source = match &s.host_id {
            Some(h) => hosts::get(&mut *tx, h)
                .await?
                .ok_or_else(|| Error::not_found("host", h))?,
            None => {
                return Err(Error::bad_request(format!(
                    "Instance {id} has no host to evacuate from."
                )))
            }
        };
        let now = crate::db::now();
        if source.is_up(now, self.cfg.scheduler.host_down_after) {
            return Err(Error::bad_request(format!(
                "Compute service of {} is still in use.",
                source.hostname
            )));
        }
        let storage = server_storage(&mut tx, &s).await?;
        if let Some((_, b)) = &storage.local_volume {
            return Err(Error::bad_request(format!(
                "Instance {id} has a volume on the {b} storage of its host, which is down: it cannot be evacuated."
            )));
        }
        let dest = self
            .migration_destination(&mut tx, &s, &source, host, force, storage.backends)
            .await?;
        let m = Migration {
            dest_addr: dest.underlay_ip.clone(),
            // `done` (or `failed`) when the rebuild on the new host ends, as in Nova.
            ..new_migration("evacuation", "accepted", caller, &s, &source, &dest, now)
        };
        db::insert(&mut *tx, &m).await?;
        servers::set_host(&mut *tx, id, &dest.id).await?;
        s.host_id = Some(dest.id.clone().into());
        if storage.local_root {
            // The disk was a file on the lost host: a fresh one from the image.
            s.rebuild_serial += 1;
        }
        s.boot_serial += 1;
        s.task_state = Some(TaskState::Rebuilding);
        s.updated_at = now;
        servers::update_state(&mut *tx, &s).await?;
        record(&mut tx, caller, &s, "evacuate", request_id, now).await?;
        self.migration_touches(&mut tx, &s, &m).await?;
        tx.commit().await?;
        tracing::warn!(server = %id, from = %source.hostname, to = %dest.hostname, "server evacuated");
        Ok(())
    }

    /// `os-services`: an operator's word that a host is down (or up again), and whether it
    /// takes new servers.
    pub async fn set_host_service(
        &self,
        caller: &Caller,
        host_id: &str,
        enabled: Option<bool>,
        forced_down: Option<bool>,
    ) -> Result<Host> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        if hosts::get(&mut *tx, host_id).await?.is_none() {
            return Err(Error::not_found("service", host_id));
        }
        if let Some(d) = forced_down {
            hosts::set_forced_down(&mut *tx, host_id, d).await?;
        }
        if let Some(e) = enabled {
            hosts::set_enabled(&mut *tx, host_id, e).await?;
        }
        let h = hosts::get(&mut *tx, host_id)
            .await?
            .ok_or_else(|| Error::not_found("service", host_id))?;
        tx.commit().await?;
        self.host_views.invalidate();
        Ok(h)
    }

    /// Wakes everything a migration's change concerns: both hosts, and the hosts of the
    /// server's networks (their l2 population points at the port's hosts).
    pub(super) async fn migration_touches(&self, tx: &mut Tx<'_>, s: &Server, m: &Migration) -> Result<()> {
        for h in [&m.source_host_id, &m.dest_host_id].into_iter().flatten() {
            tx.host_changed(h);
        }
        for p in crate::db::network::ports_of_device(&mut **tx, &s.id).await? {
            tx.network_changed(&p.network_id);
        }
        Ok(())
    }

    /// `/servers/{id}/migrations/{mid}/action` `force_complete`: the source pauses the guest
    /// so that its memory converges.
    pub async fn force_complete_migration(&self, caller: &Caller, server_id: &str, mid: i64) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let s = self
            .server_for_update_in(&mut tx, caller, server_id, Guard::Lock)
            .await?;
        let mut m = self.server_migration_in(&mut tx, server_id, mid).await?;
        if m.status != "running" || m.kind != "live-migration" {
            return Err(Error::bad_request(format!(
                "Migration {mid} state of instance {server_id} is {}. Cannot force_complete while the migration is in this state.",
                m.status
            )));
        }
        m.force_complete = true;
        m.updated_at = crate::db::now();
        db::update(&mut *tx, &m).await?;
        self.migration_touches(&mut tx, &s, &m).await?;
        tx.commit().await
    }

    /// `DELETE /servers/{id}/migrations/{mid}`: the source cancels; the guest stays there.
    pub async fn abort_migration(&self, caller: &Caller, server_id: &str, mid: i64) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let s = self
            .server_for_update_in(&mut tx, caller, server_id, Guard::Lock)
            .await?;
        let mut m = self.server_migration_in(&mut tx, server_id, mid).await?;
        if m.kind != "live-migration" {
            return Err(Error::bad_request(format!(
                "Migration {mid} for instance {server_id} is not a live migration and cannot be aborted."
            )));
        }
        if !m.in_progress() {
            return Err(Error::bad_request(format!(
                "Migration {mid} state of instance {server_id} is {}. Cannot abort live migration while the migration is in this state.",
                m.status
            )));
        }
        m.abort_requested = true;
        m.updated_at = crate::db::now();
        db::update(&mut *tx, &m).await?;
        self.migration_touches(&mut tx, &s, &m).await?;
        tx.commit().await
    }

    async fn server_migration_in(&self, tx: &mut Tx<'_>, server_id: &str, mid: i64) -> Result<Migration> {
        match db::get(&mut **tx, mid).await? {
            Some(m) if m.server_id == server_id => Ok(m),
            _ => Err(not_found(format!(
                "Instance {server_id} does not have migration {mid}."
            ))),
        }
    }

    /// A server's migrations in progress (`/servers/{id}/migrations`, live ones only, as Nova).
    pub async fn server_migrations(&self, caller: &Caller, server_id: &str) -> Result<Vec<Migration>> {
        caller.require_admin()?;
        self.get_server(caller, server_id).await?;
        Ok(db::list(&self.db, Some(server_id))
            .await?
            .into_iter()
            .filter(|m| m.kind == "live-migration" && m.in_progress())
            .collect())
    }

    pub async fn server_migration(&self, caller: &Caller, server_id: &str, mid: i64) -> Result<Migration> {
        self.server_migrations(caller, server_id)
            .await?
            .into_iter()
            .find(|m| m.id == mid)
            .ok_or_else(|| {
                not_found(format!(
                    "In-progress live migration {mid} is not found for server {server_id}."
                ))
            })
    }

    /// Every migration (`/os-migrations`), newest first.
    pub async fn list_migrations(&self, caller: &Caller) -> Result<Vec<Migration>> {
        caller.require_admin()?;
        db::list(&self.db, None).await
    }
}

/// Where a server's disks are, as a migration needs to know.
pub(super) struct ServerStorage {
    /// The backends the destination must reach (the volumes', and `rbd` for a root disk on
    /// Ceph), sorted and once each.
    pub backends: Vec<String>,
    /// A volume (id, backend) on a host's own storage: it cannot follow the server.
    pub local_volume: Option<(String, String)>,
    /// The root disk is a file on the host (not a volume, not on Ceph).
    pub local_root: bool,
    /// A volume the server's QEMU is mirroring to a new place right now.
    pub mirroring: Option<String>,
}

impl ServerStorage {
    /// Refuses to move a server while one of its volumes is being mirrored: the mirror
    /// runs in the source's QEMU, which would refuse the migration anyway.
    pub fn refuse_mid_mirror(&self, action: &str, id: &str) -> Result<()> {
        match &self.mirroring {
            Some(v) => Err(Error::Conflict(format!(
                "Cannot '{action}' instance {id} while its volume {v} is being migrated."
            ))),
            None => Ok(()),
        }
    }
}

pub(super) async fn server_storage(tx: &mut Tx<'_>, s: &Server) -> Result<ServerStorage> {
    let volumes = crate::app::volume::report::server_volumes(tx, s).await?;
    let root_volume = crate::app::volume::report::root_volume(tx, &s.id).await?;
    let all: Vec<(String, String)> = volumes
        .iter()
        .map(|v| (v.volume_id.clone(), v.backend.clone()))
        .chain(root_volume.iter().map(|v| (v.id.to_string(), v.backend.clone())))
        .collect();
    let local_volume = all
        .iter()
        .find(|(_, b)| !crate::app::volume::types::is_shared(b))
        .cloned();
    let local_root = root_volume.is_none() && s.root_backend != "rbd";
    let mirroring = volumes.iter().find(|v| v.mirror.is_some()).map(|v| v.volume_id.clone());
    let mut backends: Vec<String> = all.into_iter().map(|(_, b)| b).collect();
    if root_volume.is_none() && s.root_backend == "rbd" {
        backends.push("rbd".into());
    }
    backends.sort();
    backends.dedup();
    Ok(ServerStorage {
        backends,
        local_volume,
        local_root,
        mirroring,
    })
}

/// A new migration row of `kind` from `source` to `dest`, with nothing transferred yet.
pub(super) fn new_migration(
    kind: &str,
    status: &str,
    caller: &Caller,
    s: &Server,
    source: &Host,
    dest: &Host,
    now: i64,
) -> Migration {
    Migration {
        id: 0,
        uuid: uuid::Uuid::new_v4().to_string(),
        server_id: s.id.to_string(),
        project_id: s.project_id.to_string(),
        user_id: caller.user_id().to_string(),
        kind: kind.into(),
        status: status.into(),
        source_host_id: Some(source.id.clone()),
        dest_host_id: Some(dest.id.clone()),
        source_node: Some(source.hostname.clone()),
        dest_node: Some(dest.hostname.clone()),
        dest_addr: None,
        block_migration: false,
        port: 0,
        nbd_port: 0,
        abort_requested: false,
        force_complete: false,
        old_flavor_id: Some(s.flavor_id.clone()),
        new_flavor_id: Some(s.flavor_id.clone()),
        memory_total: 0,
        memory_processed: 0,
        memory_remaining: 0,
        disk_total: 0,
        disk_processed: 0,
        disk_remaining: 0,
        downtime_ms: None,
        total_ms: None,
        error: None,
        created_at: now,
        updated_at: now,
    }
}

/// The migration as `host_id` takes part in it, for the VM spec of `server` there.
pub(super) fn vm_migration(m: &Migration, host_id: &str, slots: Option<&str>) -> Option<VmMigration> {
    let role = if m.source_host_id.as_deref() == Some(host_id) {
        MigrationRole::Source
    } else if m.dest_host_id.as_deref() == Some(host_id) {
        MigrationRole::Destination
    } else {
        return None;
    };
    if m.is_cold() {
        return super::cold_migration::vm_migration(m, role);
    }
    Some(VmMigration {
        id: m.uuid.clone(),
        role,
        dest_addr: m.dest_addr.clone().unwrap_or_default(),
        port: m.port as u16,
        nbd_port: m.nbd_port as u16,
        block: m.block_migration,
        slots: slots
            .and_then(|s| serde_json::from_str::<Vec<DeviceSlot>>(s).ok())
            .unwrap_or_default(),
        downtime_ms: DOWNTIME_MS,
        abort: m.abort_requested,
        force_complete: m.force_complete,
        cold: false,
        source_addr: String::new(),
    })
}

/// Servers moved away from `host_id` (another host owns their shared disks now), and those
/// moved to it by evacuation or cold migration, or back to it by a revert (it takes their
/// disks over).
pub(super) async fn evacuations(tx: &mut Tx<'_>, host_id: &str) -> Result<(Vec<String>, Vec<String>)> {
    let from = db::moved(&mut **tx, host_id, true).await?;
    let to = db::moved(&mut **tx, host_id, false).await?;
    Ok((from, to))
}

/// Applies what a host observed of a server's live migration. On completion the server
/// moves to the destination (its ports with it); on failure or cancel it stays where it
/// runs. Either host's word ends it: the source's carries the figures.
pub(super) async fn apply_progress(
    tx: &mut Tx<'_>,
    host_id: &str,
    s: &mut Server,
    p: &MigrationProgress,
    now: i64,
) -> Result<()> {
    let Some(mut m) = db::by_uuid(&mut **tx, &p.id).await? else {
        return Ok(());
    };
    let from_source = m.source_host_id.as_deref() == Some(host_id);
    if m.server_id != s.id.as_str() || !(from_source || m.dest_host_id.as_deref() == Some(host_id)) {
        return Ok(());
    }
    if m.is_cold() {
        return super::cold_migration::apply_progress(tx, from_source, s, m, p, now).await;
    }
    if from_source && p.status == MigrationStatus::Completed && (p.memory_total > 0 || p.total_ms > 0) {
        m.memory_total = p.memory_total as i64;
        m.memory_processed = p.memory_processed as i64;
        m.memory_remaining = p.memory_remaining as i64;
        m.disk_total = p.disk_total as i64;
        m.disk_processed = p.disk_processed as i64;
        m.disk_remaining = p.disk_remaining as i64;
        m.downtime_ms = Some(p.downtime_ms as i64);
        m.total_ms = Some(p.total_ms as i64);
        m.updated_at = now;
        if !m.in_progress() {
            return db::update(&mut **tx, &m).await;
        }
    }
    if !m.in_progress() {
        return Ok(());
    }
    let status = match p.status {
        MigrationStatus::Running | MigrationStatus::Ready => return Ok(()),
        MigrationStatus::Completed => "completed",
        MigrationStatus::Failed => "error",
        MigrationStatus::Cancelled => "cancelled",
    };
    m.status = status.into();
    m.error = p.error.clone();
    m.updated_at = now;
    db::update(&mut **tx, &m).await?;
    if let Some(h) = &m.source_host_id {
        tx.host_changed(h);
    }
    if let Some(h) = &m.dest_host_id {
        tx.host_changed(h);
    }
    for port in crate::db::network::ports_of_device(&mut **tx, &s.id).await? {
        tx.network_changed(&port.network_id);
    }
    if s.task_state == Some(TaskState::Migrating) {
        s.task_state = None;
    }
    if status == "completed" {
        if let Some(dest) = &m.dest_host_id {
            servers::set_host(&mut **tx, &s.id, dest).await?;
            s.host_id = Some(dest.clone().into());
        }
        s.vm_state = match s.desired_power {
            DesiredPower::Paused => VmState::Paused,
            _ => VmState::Active,
        };
        tracing::info!(server = %s.id, to = ?m.dest_node, downtime_ms = ?m.downtime_ms, "live migration completed");
    } else {
        tracing::warn!(server = %s.id, %status, error = ?m.error, "live migration ended without moving the server");
    }
    s.updated_at = now;
    servers::update_state(&mut **tx, s).await
}

/// A 404 with Nova's own text.
fn not_found(message: String) -> Error {
    Error::Typed {
        status: 404,
        kind: "itemNotFound",
        message,
    }
}

/// Keeps the PCI layout a server's host reported, when it changed.
pub(super) async fn record_slots(tx: &mut Tx<'_>, server_id: &str, slots: &[DeviceSlot]) -> Result<()> {
    let text = serde_json::to_string(slots).map_err(|e| Error::Internal(e.to_string()))?;
    if db::slots(&mut **tx, server_id).await?.as_deref() != Some(text.as_str()) {
        db::set_slots(&mut **tx, server_id, &text).await?;
    }
    Ok(())
}

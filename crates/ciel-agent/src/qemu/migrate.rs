//! Live migration over QMP, as docs/migration/qmp-recipe.md proved it on QEMU 7.2. Both
//! hosts learn of the migration from their desired state at once, with the destination's
//! address and ports chosen by the controller, so neither waits for a message:
//!
//! - the destination starts QEMU paused with `-incoming defer` and the source's PCI layout,
//!   exports its fresh local disks over NBD (block migration), listens, and resumes the guest
//!   itself the moment the stream is complete (no round trip in the downtime);
//! - the source retries until the destination answers, mirrors its local disks into the
//!   exports (`blockdev-mirror`, then a drain at `pre-switchover` so they are exact copies),
//!   sends memory, and polls `query-migrate` until it ends.
//!
//! The guest never runs on both hosts: the source only goes on after a failed or cancelled
//! migration (QEMU resumes it), never once it completed (`postmigrate`); the destination
//! only runs it after its incoming stream completed. Each host records how its side ended
//! (`migration` in the VM's directory) so that the same migration is never started twice.

use super::{read_layout, Incoming, IncomingVolume, Layout, QemuDriver, ROOT_NODE, ROOT_RBD};
use crate::qmp::commands::{Cont, QueryStatus, RunState, Stop};
use crate::qmp::migration::{
    BlockExportAdd, BlockExportDel, BlockJobCancel, BlockdevMirror, Migrate, MigrateCancel, MigrateContinue,
    MigrateIncoming, MigrateSetCapabilities, MigrateSetParameters, MigrationInfo, NbdClientAdd, NbdServer,
    NbdServerStart, NbdServerStop, QueryBlockJobs, QueryMigrate,
};
use crate::qmp::{self, commands::BlockdevDel};
use crate::storage::Disk;
use anyhow::{bail, Context};
use ciel_proto::{MigrationProgress, MigrationRole, MigrationStatus, VmMigration, VmSpec, VmState};
use std::time::Duration;
use tokio::time::Instant;

/// How long the source waits for the destination to listen (it may be fetching images).
const PREPARE: Duration = Duration::from_secs(600);
/// How long a destination waits for the source's stream to complete.
const INCOMING: Duration = Duration::from_secs(1800);
/// The source's polling interval; the destination polls faster: it ends the downtime.
const POLL: Duration = Duration::from_millis(50);
const DEST_POLL: Duration = Duration::from_millis(10);
/// The NBD client node and mirror job of the root disk (node names: at most 31 chars).
const MIRROR: &str = "mig-root0";
/// No bandwidth cap beyond what the link gives (QEMU's default is 128 MiB/s).
const MAX_BANDWIDTH: u64 = 8 << 30;

/// What the user asked of a migration in progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct Control {
    pub abort: bool,
    pub force_complete: bool,
}

fn progress(m: &VmMigration, status: MigrationStatus, error: Option<String>) -> MigrationProgress {
    MigrationProgress {
        id: m.id.clone(),
        status,
        error,
        ..Default::default()
    }
}

fn uri(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("tcp:[{addr}]:{port}")
    } else {
        format!("tcp:{addr}:{port}")
    }
}

impl QemuDriver {
    fn control(&self, id: &str) -> Control {
        self.controls
            .lock()
            .ok()
            .and_then(|c| c.get(id).copied())
            .unwrap_or_default()
    }

    /// How this host's side of migration `m` ended, if it has.
    fn finished(&self, id: &str, m: &VmMigration) -> Option<MigrationProgress> {
        let p: MigrationProgress = serde_json::from_slice(&std::fs::read(self.dir(id).join("migration")).ok()?).ok()?;
        (p.id == m.id && p.status != MigrationStatus::Running).then_some(p)
    }

    fn record(&self, id: &str, p: &MigrationProgress) {
        let path = self.dir(id).join("migration");
        if let Err(e) = serde_json::to_vec(p)
            .map_err(anyhow::Error::from)
            .and_then(|b| std::fs::write(&path, b).map_err(Into::into))
        {
            tracing::warn!(vm = %id, error = %e, "migration outcome not recorded");
        }
    }

    /// Whether the VM's root disk is a local file the migration must copy.
    pub(super) fn local_root(spec: &VmSpec) -> bool {
        spec.root_volume.is_none() && spec.root_backend != "rbd"
    }

    // ---- source ----

    /// The source's side: sends the VM to the destination. Never fails: how it ended is the
    /// progress (a failed or cancelled migration leaves the guest running here).
    pub(super) async fn migrate_out(&self, spec: &VmSpec, m: &VmMigration) -> MigrationProgress {
        if let Some(p) = self.finished(&spec.id, m) {
            return p;
        }
        let p = match self.send(spec, m).await {
            Ok(p) => p,
            Err(e) => {
                self.drop_mirror(&spec.id).await;
                progress(m, MigrationStatus::Failed, Some(format!("{e:#}")))
            }
        };
        match p.status {
            MigrationStatus::Completed => tracing::info!(vm = %spec.id, downtime_ms = p.downtime_ms,
                total_ms = p.total_ms, block = m.block, "live migration completed"),
            s => tracing::warn!(vm = %spec.id, status = ?s, error = ?p.error, "live migration did not complete"),
        }
        self.record(&spec.id, &p);
        p
    }

    async fn send(&self, spec: &VmSpec, m: &VmMigration) -> anyhow::Result<MigrationProgress> {
        let id = spec.id.as_str();
        if self.pid(id).is_none() {
            bail!("the VM is not running on the source host");
        }
        // An agent that restarted finds the migration QEMU is still doing, and follows it.
        // Only this one: QEMU's last migration may be an earlier one (the guest came here by
        // an incoming one, which `query-migrate` also shows as completed).
        let marker = self.dir(id).join("migration-out");
        let m_id = m.id.as_str();
        let ours = std::fs::read_to_string(&marker).is_ok_and(|text| text.trim() == m_id);
        let now = self.qmp(id, QueryMigrate {}).await?;
        let in_progress = ours
            && matches!(
                now.status.as_deref(),
                Some("setup" | "active" | "pre-switchover" | "device" | "cancelling" | "completed")
            );
        if !in_progress {
            std::fs::write(&marker, &m.id)?;
            if self.control(id).abort {
                return Ok(progress(m, MigrationStatus::Cancelled, None));
            }
            if let Some(p) = self.start_sending(spec, m).await? {
                return Ok(p);
            }
        }
        self.follow(spec, m).await
    }

    /// Mirrors the local disks (block migration) and starts the stream, retrying until the
    /// destination listens. Some(progress) when the user aborted meanwhile.
    async fn start_sending(&self, spec: &VmSpec, m: &VmMigration) -> anyhow::Result<Option<MigrationProgress>> {
        let id = spec.id.as_str();
        let deadline = Instant::now() + PREPARE;
        let mirror = m.block && Self::local_root(spec);
        if mirror {
            let client = NbdClientAdd {
                driver: "nbd",
                node_name: MIRROR.into(),
                server: NbdServer {
                    kind: "inet",
                    host: m.dest_addr.clone(),
                    port: m.nbd_port.to_string(),
                },
                export: ROOT_NODE.into(),
            };
            loop {
                match self.qmp(id, client.clone()).await {
                    Ok(_) => break,
                    Err(e) if Instant::now() < deadline => {
                        tracing::debug!(vm = %id, error = %e, "destination not exporting yet")
                    }
                    Err(e) => return Err(e).context("the destination's disk export never answered"),
                }
                if self.control(id).abort {
                    return Ok(Some(progress(m, MigrationStatus::Cancelled, None)));
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            self.qmp(
                id,
                BlockdevMirror {
                    job_id: MIRROR.into(),
                    device: ROOT_NODE.into(),
                    target: MIRROR.into(),
                    sync: "top",
                },
            )
            .await
            .context("blockdev-mirror")?;
            // The mirror is ready once the copy caught up; from then on it follows writes.
            loop {
                if self.control(id).abort {
                    self.drop_mirror(id).await;
                    return Ok(Some(progress(m, MigrationStatus::Cancelled, None)));
                }
                let jobs = self.qmp(id, QueryBlockJobs {}).await?;
                match jobs.iter().find(|j| j.device == MIRROR) {
                    Some(j) if j.ready => break,
                    Some(_) => {}
                    None => bail!("the disk mirror to the destination stopped"),
                }
                if Instant::now() > deadline {
                    bail!("the disk mirror never caught up");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tracing::info!(vm = %id, "local disk mirrored to the destination");
        }
        let mut caps = vec!["events"];
        if mirror {
            caps.push("pause-before-switchover");
        }
        self.qmp(id, MigrateSetCapabilities::on(&caps)).await?;
        self.qmp(
            id,
            MigrateSetParameters {
                downtime_limit: m.downtime_ms.max(1),
                max_bandwidth: MAX_BANDWIDTH,
            },
        )
        .await?;
        let target = uri(&m.dest_addr, m.port);
        loop {
            let refused = match self.qmp(id, Migrate { uri: target.clone() }).await {
                Ok(_) => self.setup_refused(id).await?,
                Err(qmp::QmpError::Command { desc, .. }) if desc.contains("onnect") => Some(desc),
                Err(e) => return Err(e).context("migrate"),
            };
            let Some(why) = refused else { return Ok(None) };
            if Instant::now() > deadline {
                bail!("the destination never listened: {why}");
            }
            if self.control(id).abort {
                self.drop_mirror(id).await;
                return Ok(Some(progress(m, MigrationStatus::Cancelled, None)));
            }
            tracing::debug!(vm = %id, %why, "destination not listening yet");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Waits out the stream's setup: Some(why) when it failed to connect (the destination is
    /// not listening yet), None once it runs (or failed otherwise: `follow` reports that).
    async fn setup_refused(&self, id: &str) -> anyhow::Result<Option<String>> {
        loop {
            let info = self.qmp(id, QueryMigrate {}).await?;
            match info.status.as_deref() {
                Some("setup") | None => tokio::time::sleep(Duration::from_millis(20)).await,
                Some("failed") => {
                    let why = info.error_desc.unwrap_or_default();
                    return Ok(why.contains("onnect").then_some(why));
                }
                _ => return Ok(None),
            }
        }
    }

    /// Follows the stream to its end, passing `pre-switchover` (local disks drained first)
    /// and applying the user's abort or force-complete.
    async fn follow(&self, spec: &VmSpec, m: &VmMigration) -> anyhow::Result<MigrationProgress> {
        let id = spec.id.as_str();
        let (mut cancelled, mut paused, mut continued) = (false, false, false);
        let mut disk = (0u64, 0u64);
        loop {
            let ctl = self.control(id);
            if ctl.abort && !cancelled {
                self.qmp(id, MigrateCancel {}).await.ok();
                cancelled = true;
                tracing::info!(vm = %id, "live migration aborted by the user");
            }
            if ctl.force_complete && !paused {
                // Memory the guest no longer changes converges: Nova's force-complete.
                self.qmp(id, Stop {}).await?;
                paused = true;
                tracing::info!(vm = %id, "guest paused to force the migration to complete");
            }
            let info = self.qmp(id, QueryMigrate {}).await?;
            if let Some(j) = self
                .qmp(id, QueryBlockJobs {})
                .await?
                .iter()
                .find(|j| j.device == MIRROR)
            {
                disk = (j.len, j.offset);
            }
            match info.status.as_deref() {
                Some("pre-switchover") if !continued => {
                    self.drain_mirror(id).await?;
                    self.qmp(
                        id,
                        MigrateContinue {
                            state: "pre-switchover",
                        },
                    )
                    .await?;
                    continued = true;
                }
                Some("completed") => {
                    self.drop_mirror(id).await;
                    // The destination owns the VM's RBD disk now: it removes it with the VM.
                    let _ = std::fs::remove_file(self.dir(id).join(ROOT_RBD));
                    return Ok(done(m, &info, disk));
                }
                Some("failed") => {
                    self.drop_mirror(id).await;
                    let why = info.error_desc.unwrap_or_else(|| "the migration failed".into());
                    return Ok(progress(m, MigrationStatus::Failed, Some(why)));
                }
                Some("cancelled") => {
                    self.drop_mirror(id).await;
                    return Ok(progress(m, MigrationStatus::Cancelled, None));
                }
                None => bail!("QEMU has no migration in progress"),
                _ => {}
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Ends the ready mirror without switching to its target: what is left is copied, and the
    /// destination's disk is then an exact copy (the guest is paused at `pre-switchover`).
    async fn drain_mirror(&self, id: &str) -> anyhow::Result<()> {
        let has_job = |jobs: &[qmp::migration::BlockJobInfo]| jobs.iter().any(|j| j.device == MIRROR);
        if !has_job(&self.qmp(id, QueryBlockJobs {}).await?) {
            return Ok(());
        }
        self.qmp(
            id,
            BlockJobCancel {
                device: MIRROR.into(),
                force: false,
            },
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while has_job(&self.qmp(id, QueryBlockJobs {}).await?) {
            if Instant::now() > deadline {
                bail!("the disk mirror did not drain");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// Stops block job `job` at once and waits (up to 2 s) until it is gone.
    pub(super) async fn force_cancel_job(&self, id: &str, job: &str) {
        let force = BlockJobCancel {
            device: job.into(),
            force: true,
        };
        if self.qmp(id, force).await.is_ok() {
            for _ in 0..100 {
                match self.qmp(id, QueryBlockJobs {}).await {
                    Ok(jobs) if jobs.iter().any(|j| j.device == job) => {
                        tokio::time::sleep(Duration::from_millis(20)).await
                    }
                    _ => break,
                }
            }
        }
    }

    /// Stops a mirror job at once and removes its NBD client node (after any ending).
    async fn drop_mirror(&self, id: &str) {
        self.force_cancel_job(id, MIRROR).await;
        let _ = self
            .qmp(
                id,
                BlockdevDel {
                    node_name: MIRROR.into(),
                },
            )
            .await;
    }

    // ---- destination ----

    /// The destination's side: starts the VM waiting for the stream, then resumes it once
    /// the stream is complete. The VM's state, and how the migration went here.
    pub(super) async fn migrate_in(
        &self,
        spec: &VmSpec,
        m: &VmMigration,
    ) -> (anyhow::Result<VmState>, MigrationProgress) {
        if let Some(p) = self.finished(&spec.id, m) {
            if p.status == MigrationStatus::Completed {
                return (self.converge(spec).await, p);
            }
            return (Ok(VmState::Stopped), p);
        }
        let p = match self.receive(spec, m).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(vm = %spec.id, error = %format!("{e:#}"), "incoming migration failed");
                let _ = self.stop_process(&spec.id).await;
                progress(m, MigrationStatus::Failed, Some(format!("{e:#}")))
            }
        };
        self.record(&spec.id, &p);
        match p.status {
            MigrationStatus::Completed => (Ok(VmState::Running), p),
            _ => (Ok(VmState::Stopped), p),
        }
    }

    async fn receive(&self, spec: &VmSpec, m: &VmMigration) -> anyhow::Result<MigrationProgress> {
        let id = spec.id.as_str();
        let marker = self.dir(id).join("migration-in");
        let ours = std::fs::read_to_string(&marker).is_ok_and(|text| text.trim() == m.id);
        if self.pid(id).is_some() && !ours {
            // A QEMU of this VM from before (the guest left this host earlier and its
            // copy is not removed yet): never the one to receive, and never resumed.
            tracing::info!(vm = %id, "stopping an earlier QEMU of the VM before receiving it");
            self.stop_process(id).await?;
        }
        let waiting = match self.pid(id) {
            Some(_) => self.qmp(id, QueryStatus {}).await?.status,
            None => {
                std::fs::create_dir_all(self.dir(id))?;
                std::fs::write(&marker, &m.id)?;
                self.start_incoming(spec, m).await?;
                RunState::Inmigrate
            }
        };
        if waiting == RunState::Running {
            return Ok(progress(m, MigrationStatus::Completed, None));
        }
        let deadline = Instant::now() + INCOMING;
        loop {
            if self.control(id).abort {
                self.stop_process(id).await?;
                return Ok(progress(m, MigrationStatus::Cancelled, None));
            }
            // QEMU exits when the stream fails or the source cancels.
            let info = match self.qmp(id, QueryMigrate {}).await {
                Ok(i) => i,
                Err(_) if self.pid(id).is_none() => {
                    bail!("the incoming VM ended before the stream completed (the source failed or cancelled)")
                }
                Err(e) => return Err(e.into()),
            };
            match info.status.as_deref() {
                Some("completed") => break,
                Some("failed") => bail!("incoming stream failed: {}", info.error_desc.unwrap_or_default()),
                _ => {}
            }
            if Instant::now() > deadline {
                bail!("the source never completed the stream");
            }
            tokio::time::sleep(DEST_POLL).await;
        }
        // The disks are exact copies (the source drained its mirrors before the last
        // state): close the exports and let the guest run here.
        if m.block {
            self.qmp(id, BlockExportDel { id: MIRROR.into() }).await.ok();
            self.qmp(id, NbdServerStop {}).await.ok();
        }
        self.qmp(id, Cont {}).await.context("resuming the migrated guest")?;
        if spec.root_backend == "rbd" && spec.root_volume.is_none() {
            std::fs::write(self.dir(id).join(ROOT_RBD), b"")?;
        }
        tracing::info!(vm = %id, "migrated VM runs on this host");
        Ok(progress(m, MigrationStatus::Completed, None))
    }

    /// Starts QEMU paused with `-incoming defer`, the source's layout and a fresh root disk
    /// (block migration) or the shared one, then listens for the stream.
    async fn start_incoming(&self, spec: &VmSpec, m: &VmMigration) -> anyhow::Result<()> {
        let id = spec.id.as_str();
        let dir = self.dir(id);
        std::fs::create_dir_all(&dir)?;
        // The disk that arrives is the current one: no rebuild, no reset.
        std::fs::write(dir.join("rebuild-serial"), spec.rebuild_serial.to_string())?;
        let _ = std::fs::remove_file(dir.join("migration"));
        let (disk, format) = if Self::local_root(spec) {
            if !m.block {
                bail!("the root disk is local to the source: only a block migration can move it");
            }
            // A disk left by an earlier attempt could hold clusters the source never wrote.
            let _ = std::fs::remove_file(dir.join("disk.qcow2"));
            self.prepare_disk(spec).await?
        } else if let (None, Some((ceph, _))) = (&spec.root_volume, &self.ceph) {
            (ceph.image(&ceph.vms_pool, &format!("{id}_disk")), "raw")
        } else if spec.root_volume.is_some() {
            self.prepare_disk(spec).await?
        } else {
            bail!("the root disk is on Ceph, and this host has no Ceph cluster configured");
        };
        if spec.root_volume.is_some() && !matches!(disk, Disk::Rbd(_)) {
            bail!("the root volume is local to the source: move the volume first");
        }
        let mut volumes = vec![];
        for v in &spec.volumes {
            let backend = self
                .volumes
                .locate(&v.volume_id, &v.backend)
                .with_context(|| format!("volume {} is not reachable from this host", v.volume_id))?;
            if !backend.shared() {
                bail!("volume {} is local to the source: move the volume first", v.volume_id);
            }
            volumes.push(IncomingVolume {
                id: v.volume_id.clone(),
                disk: backend.disk(&v.volume_id),
                format: backend.format().into(),
                read_only: v.read_only,
            });
        }
        let slots: Layout = m.slots.iter().map(|s| (s.device.clone(), s.slot)).collect();
        let incoming = Incoming { slots, volumes };
        let sizes: Vec<(String, u64)> = spec.volumes.iter().map(|v| (v.volume_id.clone(), v.size_gb)).collect();
        self.launch(spec, &disk, format, true, Some(&incoming), &sizes)
            .await
            .context("incoming migration")?;
        std::fs::write(dir.join("boot-serial"), spec.boot_serial.to_string())?;
        self.qmp(id, MigrateSetCapabilities::on(&["events", "late-block-activate"]))
            .await?;
        if m.block && Self::local_root(spec) {
            self.qmp(id, NbdServerStart::inet(&m.dest_addr, m.nbd_port))
                .await
                .context("NBD server for the disk copy")?;
            self.qmp(
                id,
                BlockExportAdd {
                    kind: "nbd",
                    id: MIRROR.into(),
                    node_name: ROOT_NODE.into(),
                    name: ROOT_NODE.into(),
                    writable: true,
                },
            )
            .await?;
        }
        self.qmp(
            id,
            MigrateIncoming {
                uri: uri(&m.dest_addr, m.port),
            },
        )
        .await
        .context("listening for the migration stream")?;
        tracing::info!(vm = %id, port = m.port, block = m.block, "waiting for the incoming migration");
        Ok(())
    }
}

/// A completed migration's figures.
fn done(m: &VmMigration, info: &MigrationInfo, disk: (u64, u64)) -> MigrationProgress {
    let ram = info.ram.clone().unwrap_or_default();
    MigrationProgress {
        id: m.id.clone(),
        status: MigrationStatus::Completed,
        memory_total: ram.total,
        memory_processed: ram.transferred,
        memory_remaining: ram.remaining,
        disk_total: disk.0,
        disk_processed: disk.1,
        disk_remaining: disk.0.saturating_sub(disk.1),
        downtime_ms: info.downtime.unwrap_or(0),
        total_ms: info.total_time.unwrap_or(0),
        error: None,
    }
}

/// The PCI layout of a VM as reported: device → slot.
pub(super) fn slots_of(dir: &std::path::Path) -> Vec<ciel_proto::DeviceSlot> {
    read_layout(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|(device, slot)| ciel_proto::DeviceSlot { device, slot })
        .collect()
}

/// Whether `role` is this host's part.
pub(super) fn is_source(m: &VmMigration) -> bool {
    m.role == MigrationRole::Source
}

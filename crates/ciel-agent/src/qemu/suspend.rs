//! Suspend and resume, as Nova's libvirt driver does them (a "managed save"): the guest is
//! stopped, its memory and device state are written by QEMU's migration to a file in the
//! VM's directory, and QEMU ends; resume starts QEMU with `-incoming defer` and the same
//! devices at the same slots, loads the file, continues the guest and deletes the file.
//!
//! The stream goes through a unix socket in the VM's directory that the agent serves (and
//! copies to or from the file), like libvirt's managed save passes QEMU a descriptor: it
//! works on every QEMU (the `file:` URI needs 8.2; Debian 12 has 7.2), and QEMU is never
//! given a command or a URI holding anything but that fixed path.
//!
//! The file is written under a `.part` name and renamed once QEMU reports the save
//! complete, so a file under [`SAVED_STATE`] is always whole. A resume that cannot load it
//! (missing volume, changed devices, a corrupt file) logs why and boots the VM afresh
//! rather than leave the server stuck.

use super::QemuDriver;
use super::{read_layout, read_volumes, Incoming, IncomingVolume};
use crate::qmp::commands::{Cont, QueryStatus, RunState, Stop};
use crate::qmp::migration::{Migrate, MigrateIncoming, MigrateSetParameters, QueryMigrate};
use anyhow::{bail, Context};
use ciel_proto::VmSpec;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// In a VM's directory: the saved state of a suspended guest.
pub(super) const SAVED_STATE: &str = "suspended.state";
/// The state being saved (renamed to [`SAVED_STATE`] once complete).
const SAVING: &str = "suspended.state.part";
/// The unix socket the state streams through.
const STREAM: &str = "suspend.sock";
/// How long a save or a restore may take (memory goes to or comes from a local file).
const TRANSFER: Duration = Duration::from_secs(900);
const POLL: Duration = Duration::from_millis(50);

pub(super) fn saved_state(dir: &Path) -> PathBuf {
    dir.join(SAVED_STATE)
}

impl QemuDriver {
    /// Saves the running guest's state to the VM's saved-state file and ends its QEMU.
    pub(super) async fn suspend(&self, spec: &VmSpec) -> anyhow::Result<()> {
        let id = spec.id.as_str();
        let dir = self.dir(id);
        let part = dir.join(SAVING);
        match self.qmp(id, QueryStatus {}).await?.status {
            RunState::Postmigrate => bail!("the VM has migrated to another host"),
            RunState::Inmigrate => bail!("the VM is still waiting for an incoming migration"),
            _ => {}
        }
        self.qmp(id, Stop {}).await?;
        // As fast as the disk takes it (QEMU's default cap is 128 MiB/s).
        let params = MigrateSetParameters {
            downtime_limit: 300,
            max_bandwidth: 8 << 30,
        };
        self.qmp(id, params).await?;
        let _ = std::fs::remove_file(&part);
        let sock = dir.join(STREAM);
        let _ = std::fs::remove_file(&sock);
        let listener = tokio::net::UnixListener::bind(&sock).context("the save socket")?;
        // The agent's half: one connection from QEMU, copied into the file to its end.
        let writer = {
            let part = part.clone();
            tokio::spawn(async move {
                let (mut conn, _) = listener.accept().await?;
                let mut file = tokio::fs::File::create(&part).await?;
                tokio::io::copy(&mut conn, &mut file).await?;
                file.sync_all().await?;
                anyhow::Ok(())
            })
        };
        let abort = writer.abort_handle();
        let saved = async {
            self.qmp(id, Migrate { uri: unix_uri(&sock) })
                .await
                .context("migrate to the save socket")?;
            self.wait_migration(id, "saving the guest's state").await?;
            tokio::time::timeout(TRANSFER, writer)
                .await
                .context("writing the saved state took too long")?
                .context("the save task")?
                .context("writing the saved state")
        }
        .await;
        abort.abort();
        let _ = std::fs::remove_file(&sock);
        if let Err(e) = saved {
            // The guest goes on as it was: nothing is lost.
            let _ = std::fs::remove_file(&part);
            self.qmp(id, Cont {}).await.ok();
            return Err(e);
        }
        std::fs::rename(&part, saved_state(&dir))?;
        self.stop_process(id).await?;
        tracing::info!(vm = %id, "VM suspended: its state is saved and its QEMU ended");
        Ok(())
    }

    /// Polls `query-migrate` until the migration (to or from a file) completes.
    async fn wait_migration(&self, id: &str, what: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + TRANSFER;
        loop {
            let info = match self.qmp(id, QueryMigrate {}).await {
                Ok(i) => i,
                Err(_) if self.pid(id).is_none() => bail!("QEMU ended while {what}"),
                Err(e) => return Err(e.into()),
            };
            match info.status.as_deref() {
                Some("completed") => return Ok(()),
                Some("failed" | "cancelled") => {
                    bail!("{what} failed: {}", info.error_desc.unwrap_or_default())
                }
                _ => {}
            }
            if Instant::now() > deadline {
                bail!("{what} took too long");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Starts a suspended VM again: its saved state restored, or (when it cannot be, or a
    /// hard reboot was asked since) a fresh boot. The saved state is gone afterwards.
    pub(super) async fn resume(&self, spec: &VmSpec, paused: bool) -> anyhow::Result<()> {
        let id = spec.id.as_str();
        let dir = self.dir(id);
        let saved = saved_state(&dir);
        let booted: u64 = std::fs::read_to_string(dir.join("boot-serial"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if booted < spec.boot_serial {
            tracing::info!(vm = %id, "hard reboot of a suspended VM: its saved state is discarded");
        } else {
            match self.restore(spec, paused, &saved).await {
                Ok(()) => {
                    std::fs::remove_file(&saved)?;
                    tracing::info!(vm = %id, "VM resumed from its saved state");
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(vm = %id, error = %format!("{e:#}"), "the saved state cannot be restored: booting the VM afresh");
                    self.stop_process(id).await?;
                }
            }
        }
        std::fs::remove_file(&saved)?;
        self.start(spec, paused).await
    }

    /// Starts QEMU waiting for an incoming state with the devices the guest had (its PCI
    /// layout, the volumes attached when it was saved), loads the file, and continues.
    async fn restore(&self, spec: &VmSpec, paused: bool, saved: &Path) -> anyhow::Result<()> {
        let id = spec.id.as_str();
        let dir = self.dir(id);
        let (disk, format) = self.prepare_disk(spec).await?;
        let attached = read_volumes(&dir);
        let mut volumes = vec![];
        for (volume, _) in &attached {
            let v =
                spec.volumes.iter().find(|v| &v.volume_id == volume).with_context(|| {
                    format!("volume {volume} was attached when the VM was suspended, and is not now")
                })?;
            let backend = self
                .volumes
                .locate(volume, &v.backend)
                .with_context(|| format!("volume {volume} is not on this host"))?;
            volumes.push(IncomingVolume {
                id: volume.clone(),
                disk: backend.disk(volume),
                format: backend.format().into(),
                read_only: v.read_only,
            });
        }
        let incoming = Incoming {
            slots: read_layout(&dir).unwrap_or_default(),
            volumes,
        };
        self.launch(spec, &disk, format, true, Some(&incoming), &attached)
            .await
            .context("restoring the saved state")?;
        let sock = dir.join(STREAM);
        let _ = std::fs::remove_file(&sock);
        self.qmp(id, MigrateIncoming { uri: unix_uri(&sock) })
            .await
            .context("migrate-incoming on the restore socket")?;
        // The agent's half: the file, streamed into QEMU's socket.
        let mut conn = tokio::net::UnixStream::connect(&sock)
            .await
            .context("connecting to QEMU's restore socket")?;
        let mut file = tokio::fs::File::open(saved).await.context("the saved state")?;
        tokio::io::copy(&mut file, &mut conn)
            .await
            .context("streaming the saved state")?;
        tokio::io::AsyncWriteExt::shutdown(&mut conn).await.ok();
        drop(conn);
        let _ = std::fs::remove_file(&sock);
        self.wait_migration(id, "restoring the guest's state").await?;
        if !paused {
            self.qmp(id, Cont {}).await.context("continuing the restored guest")?;
        }
        Ok(())
    }
}

/// A migration URI of a unix socket: QEMU takes everything after `unix:` as the path.
fn unix_uri(path: &Path) -> String {
    format!("unix:{}", path.display())
}

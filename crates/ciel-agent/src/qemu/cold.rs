//! Cold migration (`migrate`): the VM stops on the source, its root disk moves, and it starts
//! on the destination. The controller orders the two hosts through their desired states:
//!
//! - the source first: it stops the VM, gives up the ownership of a root disk on RBD, and
//!   serves a local root disk's file read-only over NBD (`storage::transfer`); then it
//!   reports `Ready`;
//! - only then does the destination get the migration: it copies the file (pointed at its
//!   own copy of the image) or takes the RBD root disk over, starts the VM, and reports
//!   `Completed`.
//!
//! The source keeps its stopped copy until the user confirms (the controller then removes
//! the VM from the source's desired state) or reverts (the source starts it again and takes
//! its RBD disk back; the destination's copy goes, its RBD disk kept).

use super::{image_format, QemuDriver, ROOT_RBD};
use crate::storage::transfer;
use ciel_proto::{MigrationProgress, MigrationStatus, VmMigration, VmSpec, VmState};

/// The pid of the source's disk server, in the VM's directory.
pub(super) const EXPORT_PID: &str = "export.pid";
/// The destination's record of the cold migration whose disk it copied.
const COLD_IN: &str = "cold-in";

fn progress(m: &VmMigration, status: MigrationStatus) -> MigrationProgress {
    MigrationProgress {
        id: m.id.clone(),
        status,
        ..Default::default()
    }
}

impl QemuDriver {
    /// The source's side: stopped, disk served while the destination copies it. A failure is
    /// retried at the next pass (the migration stays `Running`).
    pub(super) async fn cold_out(
        &self,
        spec: &VmSpec,
        m: &VmMigration,
    ) -> (anyhow::Result<VmState>, MigrationProgress) {
        match self.hand_over(spec, m).await {
            Ok(()) => (Ok(VmState::Stopped), progress(m, MigrationStatus::Ready)),
            Err(e) => (Err(e), progress(m, MigrationStatus::Running)),
        }
    }

    async fn hand_over(&self, spec: &VmSpec, m: &VmMigration) -> anyhow::Result<()> {
        let dir = self.dir(&spec.id);
        self.stop_process(&spec.id).await?;
        // The host that runs the VM owns its RBD disk: the destination now (this host again
        // after a revert, which takes it back).
        if std::fs::remove_file(dir.join(ROOT_RBD)).is_ok() {
            tracing::info!(vm = %spec.id, "RBD root disk handed over to the migration's destination");
        }
        let pid_file = dir.join(EXPORT_PID);
        let disk = dir.join("disk.qcow2");
        if m.port != 0 && Self::local_root(spec) {
            anyhow::ensure!(disk.exists(), "the VM has no root disk on this host to hand over");
            transfer::serve(&disk, &m.source_addr, m.port, &pid_file, "raw").await?;
        } else {
            transfer::stop(&pid_file);
        }
        Ok(())
    }

    /// The destination's side: the disk copied (once per migration), then the VM brought to
    /// its spec like any other. A failed copy is retried at the next pass.
    pub(super) async fn cold_in(&self, spec: &VmSpec, m: &VmMigration) -> (anyhow::Result<VmState>, MigrationProgress) {
        match self.take_over(spec, m).await {
            Ok(state) => (Ok(state), progress(m, MigrationStatus::Completed)),
            Err(e) => (Err(e), progress(m, MigrationStatus::Running)),
        }
    }

    async fn take_over(&self, spec: &VmSpec, m: &VmMigration) -> anyhow::Result<VmState> {
        let dir = self.dir(&spec.id);
        std::fs::create_dir_all(&dir)?;
        let marker = dir.join(COLD_IN);
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(m.id.as_str()) {
            // Whatever is here is from an earlier stay of the VM, not this migration's.
            self.stop_process(&spec.id).await?;
            let disk = dir.join("disk.qcow2");
            if disk.exists() {
                std::fs::remove_file(&disk)?;
            }
            if Self::local_root(spec) {
                let started = std::time::Instant::now();
                transfer::pull(&self.qemu_img, &m.source_addr, m.port, &disk).await?;
                let base = self.images_dir.join(&spec.image.id);
                transfer::rebase(&self.qemu_img, &disk, &base, image_format(spec)).await?;
                let bytes = std::fs::metadata(&disk).map(|d| d.len()).unwrap_or(0);
                tracing::info!(vm = %spec.id, bytes, ms = started.elapsed().as_millis() as u64,
                    "root disk copied from the migration's source");
            }
            std::fs::write(&marker, &m.id)?;
        }
        // A root disk on RBD was the source's: fence any claim left on it, then own it.
        let spec = VmSpec {
            adopt_root: true,
            migration: None,
            ..spec.clone()
        };
        self.converge(&spec).await
    }
}

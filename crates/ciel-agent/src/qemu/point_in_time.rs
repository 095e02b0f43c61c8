//! Point-in-time copies of attached volumes, made by the VM's QEMU: a file volume is a qcow2
//! file QEMU writes to, so a copy read beside it (`qemu-img convert -U`) is consistent only
//! if the guest does not write meanwhile. `blockdev-backup` (sync `full`) instead copies the
//! disk as it was when the job started: a guest write to a block not yet copied first saves
//! the old data into the copy (copy-before-write). Backups of attached volumes read such a
//! copy.

use super::{read_volumes, swap, QemuDriver};
use crate::qmp::commands::{BlockdevAdd, BlockdevBackup, BlockdevDel, BlockdevFile};
use crate::qmp::Event;
use anyhow::{bail, Context};
use std::path::Path;
use std::time::Duration;

/// How long a copy may take (TCG guests, large volumes).
const COPY_TIMEOUT: Duration = Duration::from_secs(1800);

impl QemuDriver {
    /// The running VM here that has volume `volume_id` attached, and the size it has it at.
    fn vm_with(&self, volume_id: &str) -> Option<(String, u64)> {
        let entries = std::fs::read_dir(&self.vms_dir).ok()?;
        entries.flatten().find_map(|e| {
            let vm = e.file_name().into_string().ok()?;
            let (_, size) = read_volumes(&e.path()).into_iter().find(|(id, _)| id == volume_id)?;
            self.pid(&vm).map(|_| (vm, size))
        })
    }

    /// See [`crate::driver::Hypervisor::copy_attached`].
    pub(super) async fn point_in_time_copy(
        &self,
        volume_id: &str,
        to: &Path,
        format: &str,
    ) -> Option<anyhow::Result<()>> {
        let (vm, size_gb) = self.vm_with(volume_id)?;
        let r = self.backup_job(&vm, volume_id, size_gb, to, format).await;
        if r.is_err() {
            let _ = std::fs::remove_file(to);
        }
        Some(r.with_context(|| format!("point-in-time copy of volume {volume_id} by VM {vm}'s QEMU")))
    }

    async fn backup_job(&self, vm: &str, volume_id: &str, size_gb: u64, to: &Path, format: &str) -> anyhow::Result<()> {
        if !matches!(format, "raw" | "qcow2") {
            bail!("cannot copy into {format}");
        }
        let dir = self.dir(vm);
        let target = to.display().to_string();
        let size = format!("{}", size_gb * crate::storage::GIB);
        crate::storage::run(&self.qemu_img, &["create", "-q", "-f", format, &target, &size]).await?;
        let disk = swap::node_of(&dir, volume_id);
        let node = format!("p{}", &disk[1..]);
        let job = format!("pit-{}", &node[1..]);
        self.qmp(
            vm,
            BlockdevAdd {
                driver: format.into(),
                node_name: node.clone(),
                read_only: false,
                file: BlockdevFile::File {
                    filename: to.to_path_buf(),
                    read_only: false,
                },
            },
        )
        .await
        .context("blockdev-add of the copy")?;
        let r = self.run_backup(vm, &disk, &node, &job).await;
        if let Err(e) = self.qmp(vm, BlockdevDel { node_name: node }).await {
            tracing::warn!(vm, error = %e, "cannot close the point-in-time copy's node");
        }
        r
    }

    async fn run_backup(&self, vm: &str, device: &str, target: &str, job: &str) -> anyhow::Result<()> {
        // Subscribed before the job starts: its end is an event.
        let mut events = self.monitor(vm).await?.events();
        self.qmp(
            vm,
            BlockdevBackup {
                job_id: job.into(),
                device: device.into(),
                target: target.into(),
                sync: "full",
            },
        )
        .await
        .context("blockdev-backup")?;
        let ended = async {
            loop {
                match events.recv().await {
                    Ok(Event::Other { name, data }) if name == "BLOCK_JOB_COMPLETED" && data["device"] == job => {
                        return match data["error"].as_str() {
                            Some(e) => Err(anyhow::anyhow!("the copy job failed: {e}")),
                            None => Ok(()),
                        };
                    }
                    Ok(Event::Other { name, data }) if name == "BLOCK_JOB_CANCELLED" && data["device"] == job => {
                        bail!("the copy job was cancelled")
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => bail!("QEMU went away during the copy"),
                    // Events were dropped: the job may have ended among them.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let jobs = self.qmp(vm, crate::qmp::migration::QueryBlockJobs {}).await?;
                        if !jobs.iter().any(|j| j.device == job) {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        };
        match tokio::time::timeout(COPY_TIMEOUT, ended).await {
            Ok(r) => r,
            Err(_) => bail!("the copy did not finish in {} s", COPY_TIMEOUT.as_secs()),
        }
    }
}

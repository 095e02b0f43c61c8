//! The hypervisor driver: what the reconciler needs from a way of running VMs. Kept small:
//! list what exists, bring one VM to its spec, remove one.

use ciel_proto::{VmSpec, VmStatus};
use std::future::Future;
use std::pin::Pin;

pub struct Capacity {
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_gb: u64,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Hypervisor: Send + Sync {
    /// `QEMU` or `fake`, shown as the hypervisor type.
    fn kind(&self) -> &'static str;
    fn capacity(&self) -> Capacity;
    /// Whether VMs need their images in the host's cache before `ensure`.
    fn needs_images(&self) -> bool {
        false
    }
    /// Whether the VM needs its own image (not only kernel and ramdisk) in the host's cache:
    /// not when its root disk is made without reading it here.
    fn needs_root_image(&self, _spec: &ciel_proto::VmSpec) -> bool {
        true
    }
    /// Whether VMs get real NICs, so the host's network data plane must be wired for them.
    fn wires_network(&self) -> bool {
        false
    }
    /// Where the VM's config drive image goes, for drivers that attach one.
    fn config_drive_path(&self, _id: &str) -> Option<std::path::PathBuf> {
        None
    }
    /// The unix socket of the VM's VNC server, where the driver has one.
    fn vnc_socket(&self, _id: &str) -> Option<std::path::PathBuf> {
        None
    }
    /// The VM's serial console log, where the driver keeps one.
    fn console_log(&self, _id: &str) -> Option<std::path::PathBuf> {
        None
    }
    /// Ids of the VMs that exist on this host (running or not).
    fn list(&self) -> BoxFuture<'_, Vec<String>>;
    /// Creates the VM if missing and moves it to the spec's power state and boot serial;
    /// idempotent. Failures are reported in the status, not returned.
    fn ensure<'a>(&'a self, spec: &'a VmSpec) -> BoxFuture<'a, VmStatus>;
    /// A standalone (flattened) qcow2 copy of the VM's disk, for image snapshots; the caller
    /// removes the file.
    fn snapshot<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, anyhow::Result<std::path::PathBuf>> {
        Box::pin(async { anyhow::bail!("this hypervisor driver cannot snapshot disks") })
    }
    /// Makes image `image_id` in Ceph pool `pool` from the VM's RBD root disk without the data
    /// leaving the cluster (an image snapshot of a server on Ceph); returns its size in bytes.
    fn snapshot_to_rbd<'a>(
        &'a self,
        _id: &'a str,
        _image_id: &'a str,
        _pool: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async { anyhow::bail!("this hypervisor driver has no root disks in Ceph") })
    }
    /// Hands a VM's live migration controls (abort, force-complete) to a migration in
    /// progress; None: the VM is no longer desired here. Called before its task gets the
    /// spec, since the task may be busy with that very migration.
    fn control(&self, _id: &str, _migration: Option<&ciel_proto::VmMigration>) {}
    /// Writes a point-in-time copy of volume `volume_id`, as a running VM here has it
    /// attached, to a new file `to` in `format` (`raw` or `qcow2`), made by the VM's QEMU;
    /// None: no running VM here has it attached.
    fn copy_attached<'a>(
        &'a self,
        _volume_id: &'a str,
        _to: &'a std::path::Path,
        _format: &'a str,
    ) -> BoxFuture<'a, Option<anyhow::Result<()>>> {
        Box::pin(async { None })
    }
    /// Gives up the VM's shared disks: another host owns them now (the VM was evacuated),
    /// so removing the VM here must not delete them.
    fn disown(&self, _id: &str) {}
    /// What the VMs among `ids` that run here used so far (CPU time, memory, disk I/O), for
    /// the metrics; VMs it cannot read are left out.
    fn stats<'a>(&'a self, _ids: &'a [String]) -> BoxFuture<'a, Vec<crate::stats::VmStats>> {
        Box::pin(async { vec![] })
    }
    /// Stops the VM and deletes everything it had on this host.
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;
}

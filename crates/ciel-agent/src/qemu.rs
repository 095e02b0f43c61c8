//! The QEMU hypervisor driver: one `qemu-system-x86_64` process per VM, daemonized so VMs
//! outlive the agent and are re-adopted from their pid file; a qcow2 overlay over the host's
//! image cache as the disk; the serial console in a log file; power changes over QMP.
//!
//! Per VM: `<state>/vms/<id>/{disk.qcow2, config.iso, qmp.sock, vnc.sock, console.log, qemu.pid,
//! boot-serial, rebuild-serial, shape, nics, volumes, throttles, suspended.state}`; its NICs are taps the network
//! plane made. A VM whose root disk is on Ceph (`root_backend = rbd`) has it as the RBD image
//! `<id>_disk` of the `vms` pool instead of `disk.qcow2`, and a `root-rbd` marker saying this
//! host made it (and so removes it with the VM).

mod cold;
mod image_snapshot;
mod migrate;
mod point_in_time;
mod stats;
mod suspend;
mod swap;

use crate::driver::{BoxFuture, Capacity, Hypervisor};
use crate::qmp::commands::{
    BlockResize, BlockSetIoThrottle, BlockdevDel, Cont, DeviceAdd, DeviceDel, NetdevAdd, NetdevDel, QueryStatus, Quit,
    RunState, Stop, SystemReset,
};
use crate::qmp::{self, Qmp};
use crate::storage::rbd::RbdTool;
use crate::storage::{CephConfig, Disk, StorageConfig, GIB};
use anyhow::{bail, Context};
use ciel_proto::{PowerState, VmSpec, VmState, VmStatus};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CONFIG_DRIVE: &str = "config.iso";
/// In a VM's directory: its root disk is the RBD image this host made.
const ROOT_RBD: &str = "root-rbd";
/// Left in a VM's directory when its root disk could not be cloned from the image's RBD
/// copy: the image is then fetched into the cache and copied.
const CLONE_FAILED: &str = "clone-failed";
/// The node name of a root disk given as a blockdev.
const ROOT_NODE: &str = "root0";
/// QEMU ids of the devices every VM has (NICs and volumes have ids made from their own).
const ROOT_DEVICE: &str = "rootdisk";
const VIDEO_DEVICE: &str = "video0";
const CONFIG_DEVICE: &str = "configdrive";
const CONFIG_NODE: &str = "config0";
/// The PCI slots devices may take (0 and 1 are the host bridge and the ISA bridge).
const FIRST_SLOT: u8 = 2;
const LAST_SLOT: u8 = 31;

/// Where each device of a VM sits on its PCI bus: QEMU device id → slot (`layout` in the
/// VM's directory). A migration rebuilds it on the destination, where the guest must find
/// every device where it was.
pub(crate) type Layout = std::collections::BTreeMap<String, u8>;

/// What an incoming migration adds to a VM's command line: the source's slots, and the
/// attached volumes (they are hot-plugged on a VM that starts, but must already be there
/// when a running guest's state arrives).
pub(crate) struct Incoming {
    pub slots: Layout,
    pub volumes: Vec<IncomingVolume>,
}

pub(crate) struct IncomingVolume {
    pub id: String,
    pub disk: Disk,
    pub format: String,
    pub read_only: bool,
}

/// `kvm` on real hosts; `qemu` (TCG) where KVM is unusable, e.g. nested test machines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VirtType {
    Kvm,
    Qemu,
}

pub struct QemuDriver {
    vms_dir: PathBuf,
    images_dir: PathBuf,
    virt_type: VirtType,
    qemu: String,
    qemu_img: String,
    /// Where attached volumes are.
    volumes: crate::storage::Storage,
    /// The Ceph cluster root disks with `root_backend = rbd` go to.
    ceph: Option<(CephConfig, RbdTool)>,
    /// One open QMP connection per VM, made on first use and again once closed.
    monitors: Mutex<HashMap<String, Arc<Qmp>>>,
    /// What the user asked of each VM's live migration (abort, force-complete), read by the
    /// migration in progress while its VM's task is busy with it.
    controls: Mutex<HashMap<String, migrate::Control>>,
}

impl QemuDriver {
    pub fn new(state_dir: &Path, virt_type: VirtType, storage: &StorageConfig) -> anyhow::Result<Self> {
        if virt_type == VirtType::Kvm && std::fs::metadata("/dev/kvm").is_err() {
            bail!("virt_type kvm needs /dev/kvm; use virt_type qemu (TCG) on hosts without usable KVM");
        }
        let vms_dir = state_dir.join("vms");
        std::fs::create_dir_all(&vms_dir)?;
        reserve_migration_ports();
        Ok(Self {
            vms_dir,
            images_dir: crate::cache::images_dir(state_dir),
            virt_type,
            qemu: "qemu-system-x86_64".into(),
            qemu_img: "qemu-img".into(),
            volumes: crate::storage::Storage::new(state_dir, storage),
            ceph: storage.ceph.as_ref().map(|c| (c.clone(), RbdTool::new(c))),
            monitors: Mutex::default(),
            controls: Mutex::default(),
        })
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.vms_dir.join(id)
    }

    /// The pid of the VM's QEMU if it is running (checked against /proc, so a stale pid file
    /// from before a host reboot does not count).
    fn pid(&self, id: &str) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.dir(id).join("qemu.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        String::from_utf8_lossy(&cmdline).contains(id).then_some(pid)
    }

    /// The boot disk and its format: the root volume, an RBD image made from the image, or
    /// a qcow2 overlay of the image.
    async fn prepare_disk(&self, spec: &VmSpec) -> anyhow::Result<(Disk, &'static str)> {
        if let Some(v) = &spec.root_volume {
            let backend = self
                .volumes
                .locate(v, &spec.root_volume_backend)
                .with_context(|| format!("the root volume {v} is not on this host (yet)"))?;
            let disk = backend.disk(v);
            if !backend.shared() && !disk.exists_locally() {
                bail!("the root volume {v} is not on this host (yet)");
            }
            return Ok((disk, backend.format()));
        }
        if spec.root_backend == "rbd" {
            return Ok((self.prepare_rbd_disk(spec).await?, "raw"));
        }
        let disk = self.dir(&spec.id).join("disk.qcow2");
        let local = Disk::Local {
            path: disk.clone(),
            device: false,
        };
        if disk.exists() {
            return Ok((local, "qcow2"));
        }
        let base = self.images_dir.join(&spec.image.id);
        let fmt = image_format(spec);
        let virtual_size = virtual_size(&self.qemu_img, &base).await?;
        let wanted = spec.root_gb * GIB;
        let mut cmd = tokio::process::Command::new(&self.qemu_img);
        cmd.args(["create", "-q", "-f", "qcow2", "-F", fmt, "-b"])
            .arg(&base)
            .arg(&disk);
        if wanted > virtual_size {
            cmd.arg(wanted.to_string());
        }
        let out = cmd.output().await.context("cannot run qemu-img")?;
        if !out.status.success() {
            bail!(
                "qemu-img create failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok((local, "qcow2"))
    }

    /// The VM's root disk in the Ceph `vms` pool, made the first time (under a `part-` name,
    /// renamed when complete) as a copy-on-write clone of the image service's RBD copy of a
    /// raw image (no data copied), else written from the cached image; grown to the flavor's
    /// root size.
    async fn prepare_rbd_disk(&self, spec: &VmSpec) -> anyhow::Result<Disk> {
        let (ceph, rbd) = self
            .ceph
            .as_ref()
            .context("the root disk goes to Ceph, and this host has no Ceph cluster configured")?;
        let name = format!("{}_disk", spec.id);
        let disk = ceph.image(&ceph.vms_pool, &name);
        let marker = self.dir(&spec.id).join(ROOT_RBD);
        if marker.exists() && rbd.exists(&ceph.vms_pool, &name).await? {
            return Ok(disk);
        }
        // An evacuated VM's disk, made by a host that is gone: fence that host's QEMU and
        // take the disk over (this host removes it with the VM from now on).
        if spec.adopt_root && rbd.exists(&ceph.vms_pool, &name).await? {
            rbd.break_claims(&format!("{}/{name}", ceph.vms_pool)).await?;
            std::fs::create_dir_all(self.dir(&spec.id))?;
            std::fs::write(&marker, &name)?;
            tracing::info!(vm = %spec.id, "root disk on RBD taken over from the evacuated host");
            return Ok(disk);
        }
        let part = format!("part-{}", spec.id);
        let part_spec = format!("{}/{part}", ceph.vms_pool);
        rbd.remove_image(&ceph.vms_pool, &part).await?;
        let renamed = match rbd.clone_image(ceph, &spec.image, &part_spec).await {
            Some(Ok(())) => Ok(()),
            other => {
                if let Some(Err(e)) = other {
                    tracing::info!(vm = %spec.id, image = %spec.image.id, error = %e, "no clone of the image's RBD copy; copying it");
                    std::fs::create_dir_all(self.dir(&spec.id))?;
                    std::fs::write(self.dir(&spec.id).join(CLONE_FAILED), format!("{e:#}"))?;
                }
                if !self.images_dir.join(&spec.image.id).exists() {
                    // The image was not fetched for a clone: it is on the next pass.
                    bail!("the image {} is not in this host's cache yet", spec.image.id);
                }
                self.write_rbd_disk(spec, ceph, rbd, &part).await
            }
        };
        let renamed = match renamed {
            Ok(()) => {
                self.finish_rbd_disk(spec, rbd, &part_spec, &format!("{}/{name}", ceph.vms_pool))
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = renamed {
            rbd.remove_image(&ceph.vms_pool, &part).await.ok();
            return Err(e);
        }
        std::fs::write(&marker, &name)?;
        tracing::info!(vm = %spec.id, pool = %ceph.vms_pool, "root disk made in RBD");
        Ok(disk)
    }

    /// Writes the cached image into a new RBD image `part` of the vms pool.
    async fn write_rbd_disk(&self, spec: &VmSpec, ceph: &CephConfig, rbd: &RbdTool, part: &str) -> anyhow::Result<()> {
        let base = self.images_dir.join(&spec.image.id);
        rbd.write_image(
            ceph,
            &base,
            Some(image_format(spec)),
            &ceph.vms_pool,
            part,
            spec.root_gb * GIB,
        )
        .await
    }

    /// Grows the new disk to the flavor's root size and gives it its name.
    async fn finish_rbd_disk(&self, spec: &VmSpec, rbd: &RbdTool, part_spec: &str, to: &str) -> anyhow::Result<()> {
        if rbd.size(part_spec).await? < spec.root_gb * GIB {
            rbd.resize(part_spec, spec.root_gb * GIB).await?;
        }
        rbd.run(&["rename", part_spec, to]).await?;
        Ok(())
    }

    /// Removes the VM's root disk (to be made again from the image, or with the VM).
    async fn remove_root_disk(&self, id: &str) -> anyhow::Result<()> {
        let dir = self.dir(id);
        let disk = dir.join("disk.qcow2");
        if disk.exists() {
            std::fs::remove_file(&disk)?;
        }
        if let (Some((ceph, rbd)), true) = (&self.ceph, dir.join(ROOT_RBD).exists()) {
            rbd.remove_image(&ceph.vms_pool, &format!("{id}_disk")).await?;
            std::fs::remove_file(dir.join(ROOT_RBD))?;
            tracing::info!(vm = %id, "RBD root disk removed");
        }
        Ok(())
    }

    /// QEMU's command line for a VM: the devices, the serial console into `console.log`, QMP,
    /// and a VGA display behind the VNC socket (what the noVNC console shows, as on Nova hosts).
    /// Every device gets an explicit PCI slot: a fresh VM the slots QEMU would have given in
    /// the order of the devices (so guests see the layout they always had), an incoming
    /// migration those of the source. Returns the arguments and the layout used.
    fn launch_args(
        &self,
        spec: &VmSpec,
        disk: &Disk,
        disk_format: &str,
        paused: bool,
        incoming: Option<&Incoming>,
    ) -> anyhow::Result<(Vec<std::ffi::OsString>, Layout)> {
        let dir = self.dir(&spec.id);
        let mut cmd = Args::default();
        cmd.arg("-name")
            .arg(format!("guest={},debug-threads=off", spec.id))
            .arg("-uuid")
            .arg(&spec.id)
            // What libvirt tells guests on Nova hosts: cloud-init's ds-identify recognizes an
            // OpenStack instance (and so looks for its metadata service) by this product name.
            .arg("-smbios")
            .arg(format!(
                "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,version={},serial={},uuid={},family=Virtual Machine",
                env!("CARGO_PKG_VERSION"),
                spec.id,
                spec.id
            ))
            .args(["-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-accel", if self.virt_type == VirtType::Kvm { "kvm" } else { "tcg" }])
            .args([
                "-m",
                &spec.memory_mb.to_string(),
                "-smp",
                &spec.vcpus.max(1).to_string(),
            ])
            .arg("-chardev")
            .arg(format!(
                "file,id=console,path={},append=on",
                opt(dir.join("console.log").display())
            ))
            .args(["-serial", "chardev:console"])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", opt(dir.join("qmp.sock").display())))
            .arg("-vnc")
            .arg(format!("unix:{}", opt(dir.join("vnc.sock").display())));
        // The devices in the order QEMU used to number them: an RBD root disk (always a
        // `-device`) first, then the NICs and the display, then the disks that were `-drive`s.
        let rbd_root = matches!(disk, Disk::Rbd(_));
        let mut order: Vec<String> = vec![];
        if rbd_root {
            order.push(ROOT_DEVICE.into());
        }
        order.extend(spec.nics.iter().map(|n| nic_ids(&n.port_id).1));
        order.push(VIDEO_DEVICE.into());
        if !rbd_root {
            order.push(ROOT_DEVICE.into());
        }
        if spec.config_drive {
            order.push(CONFIG_DEVICE.into());
        }
        let volumes = incoming.map(|i| i.volumes.as_slice()).unwrap_or_default();
        order.extend(volumes.iter().map(|v| volume_ids(&v.id).1));
        let layout = assign_slots(&order, incoming.map(|i| &i.slots))?;
        let addr = |device: &str| format!("addr=0x{:x}", layout[device]);
        // Disks are typed blockdevs (JSON) with fixed node names, never option text.
        let blockdev = serde_json::to_string(&disk.blockdev(disk_format, ROOT_NODE, false))?;
        cmd.arg("-blockdev").arg(blockdev).arg("-device").arg(format!(
            "virtio-blk-pci,drive={ROOT_NODE},id={ROOT_DEVICE},{}",
            addr(ROOT_DEVICE)
        ));
        // Per NIC: `-netdev` and its value, `-device` and its value (given its slot).
        for (a, nic) in nic_args(spec).chunks(4).zip(&spec.nics) {
            let device = nic_ids(&nic.port_id).1;
            cmd.args(&a[..3]).arg(format!("{},{}", a[3], addr(&device)));
        }
        cmd.arg("-pidfile").arg(dir.join("qemu.pid")).arg("-daemonize");
        if spec.config_drive {
            let iso = dir.join(CONFIG_DRIVE);
            if !iso.exists() {
                bail!("the config drive of {} is not ready", spec.id);
            }
            cmd.arg("-drive")
                .arg(format!(
                    "file={},if=none,id={CONFIG_NODE},format=raw,readonly=on",
                    opt(iso.display())
                ))
                .arg("-device")
                .arg(format!(
                    "virtio-blk-pci,drive={CONFIG_NODE},id={CONFIG_DEVICE},{}",
                    addr(CONFIG_DEVICE)
                ));
        }
        // The attached volumes of an incoming VM, where the source has them.
        for v in volumes {
            let (node, device) = volume_ids(&v.id);
            let blockdev = serde_json::to_string(&v.disk.blockdev(&v.format, &node, v.read_only))?;
            cmd.arg("-blockdev").arg(blockdev).arg("-device").arg(format!(
                "virtio-blk-pci,id={device},drive={node},serial={},{}",
                opt(&v.id),
                addr(&device)
            ));
        }
        cmd.args(["-device", &format!("VGA,id={VIDEO_DEVICE},{}", addr(VIDEO_DEVICE))]);
        if let Some(k) = &spec.kernel {
            cmd.arg("-kernel").arg(self.images_dir.join(&k.id));
            if let Some(r) = &spec.ramdisk {
                cmd.arg("-initrd").arg(self.images_dir.join(&r.id));
            }
            let line = spec
                .cmdline
                .clone()
                .unwrap_or_else(|| "console=ttyS0 root=/dev/vda".into());
            cmd.arg("-append").arg(line);
        }
        if paused || incoming.is_some() {
            cmd.arg("-S");
        }
        if incoming.is_some() {
            cmd.args(["-incoming", "defer"]);
        }
        Ok((cmd.0, layout))
    }

    async fn start(&self, spec: &VmSpec, paused: bool) -> anyhow::Result<()> {
        let (disk, disk_format) = self.prepare_disk(spec).await?;
        self.launch(spec, &disk, disk_format, paused, None, &[]).await?;
        std::fs::write(self.dir(&spec.id).join("boot-serial"), spec.boot_serial.to_string())?;
        tracing::info!(vm = %spec.id, name = %spec.name, "VM started");
        Ok(())
    }

    /// Runs QEMU for the VM (a fresh boot, or `incoming` for a migration stream or a saved
    /// state) and records what it was started with: the device layout, the ports, the
    /// `volumes` attached at start and the shape.
    async fn launch(
        &self,
        spec: &VmSpec,
        disk: &Disk,
        disk_format: &str,
        paused: bool,
        incoming: Option<&Incoming>,
        volumes: &[(String, u64)],
    ) -> anyhow::Result<()> {
        let dir = self.dir(&spec.id);
        self.forget_monitor(&spec.id);
        let (args, layout) = self.launch_args(spec, disk, disk_format, paused, incoming)?;
        let out = tokio::process::Command::new(&self.qemu)
            .args(args)
            .output()
            .await
            .context("cannot run qemu-system-x86_64")?;
        if !out.status.success() {
            let why = match incoming {
                Some(_) => " for an incoming stream",
                None => "",
            };
            bail!(
                "qemu failed to start{why}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        write_layout(&dir, &layout)?;
        write_nics(&dir, spec.nics.iter().map(|n| n.port_id.clone()).collect())?;
        write_volumes(&dir, volumes)?;
        swap::reset(&dir);
        std::fs::write(dir.join("shape"), shape(spec))?;
        Ok(())
    }

    /// The VM's QMP connection: the open one, or a new one.
    async fn monitor(&self, id: &str) -> Result<Arc<Qmp>, qmp::QmpError> {
        let open = self.monitors.lock().ok().and_then(|m| m.get(id).cloned());
        if let Some(q) = open.filter(|q| !q.is_closed()) {
            return Ok(q);
        }
        let q = Arc::new(Qmp::connect(&self.dir(id).join("qmp.sock")).await?);
        if let Ok(mut m) = self.monitors.lock() {
            m.insert(id.to_string(), q.clone());
        }
        Ok(q)
    }

    /// Runs a command on the VM's QEMU.
    async fn qmp<C: qmp::Command>(&self, id: &str, cmd: C) -> Result<C::Reply, qmp::QmpError> {
        let started = std::time::Instant::now();
        let reply = self.monitor(id).await?.execute(&cmd).await;
        crate::metrics::QMP
            .with_label_values(&[&crate::metrics::local_host(), C::NAME])
            .observe(started.elapsed().as_secs_f64());
        reply
    }

    /// Closes the VM's QMP connection (its QEMU is gone or going).
    fn forget_monitor(&self, id: &str) {
        if let Ok(mut m) = self.monitors.lock() {
            m.remove(id);
        }
    }

    /// Asks QEMU to quit; kills it if it does not go.
    async fn stop_process(&self, id: &str) -> anyhow::Result<()> {
        let Some(pid) = self.pid(id) else {
            self.forget_monitor(id);
            return Ok(());
        };
        match self.qmp(id, Quit {}).await {
            // QEMU may close the socket before its answer is read: it is quitting either way.
            Ok(_) | Err(qmp::QmpError::Closed { .. }) => {}
            Err(e) => tracing::warn!(vm = %id, error = %e, "QMP quit failed; killing"),
        }
        self.forget_monitor(id);
        for _ in 0..50 {
            if self.pid(id).is_none() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        Ok(())
    }

    /// Hot-plugs the ports the spec gained and unplugs the ones it lost (`os-interface`).
    async fn sync_nics(&self, spec: &VmSpec) -> anyhow::Result<()> {
        let dir = self.dir(&spec.id);
        let mut attached = read_nics(&dir);
        let mut layout = read_layout(&dir);
        let missing: Vec<_> = spec.nics.iter().filter(|n| !attached.contains(&n.port_id)).collect();
        for nic in missing {
            let (netdev, device) = nic_ids(&nic.port_id);
            let tap = crate::net::tap_name(&nic.port_id);
            let addr = take_slot(layout.as_mut(), &device)?;
            self.qmp(&spec.id, NetdevAdd::tap(netdev.clone(), tap)).await?;
            let dev = DeviceAdd::VirtioNet {
                id: device,
                netdev,
                mac: nic.mac.clone(),
                host_mtu: nic.mtu,
                addr,
            };
            self.qmp(&spec.id, dev).await?;
            attached.push(nic.port_id.clone());
            write_nics(&dir, attached.clone())?;
            if let Some(l) = &layout {
                write_layout(&dir, l)?;
            }
            tracing::info!(vm = %spec.id, port = %nic.port_id, "NIC hot-plugged");
        }
        for port in attached
            .clone()
            .iter()
            .filter(|p| !spec.nics.iter().any(|n| &&n.port_id == p))
        {
            let (netdev, device) = nic_ids(port);
            if let Err(e) = self.qmp(&spec.id, DeviceDel { id: device }).await {
                tracing::debug!(vm = %spec.id, error = %e, "device_del");
            }
            if let Err(e) = self.qmp(&spec.id, NetdevDel { id: netdev }).await {
                tracing::debug!(vm = %spec.id, error = %e, "netdev_del");
            }
            attached.retain(|p| p != port);
            write_nics(&dir, attached.clone())?;
            if let Some(l) = layout.as_mut() {
                l.remove(&nic_ids(port).1);
                write_layout(&dir, l)?;
            }
            tracing::info!(vm = %spec.id, %port, "NIC unplugged");
        }
        Ok(())
    }

    /// Hot-plugs the volumes the spec gained (QMP `blockdev-add` + `device_add` of a
    /// virtio disk whose serial is the volume id), unplugs the ones it lost, and grows
    /// attached volumes whose size went up (`block_resize`: the guest sees the new size).
    async fn sync_volumes(&self, spec: &VmSpec) -> anyhow::Result<()> {
        let dir = self.dir(&spec.id);
        let mut attached = read_volumes(&dir);
        let mut throttles = read_throttles(&dir);
        let mut layout = read_layout(&dir);
        for v in &spec.volumes {
            let (node, device) = volume_ids(&v.volume_id);
            match attached.iter_mut().find(|(id, _)| id == &v.volume_id) {
                Some((_, size)) if *size < v.size_gb => {
                    let bytes = v.size_gb * 1024 * 1024 * 1024;
                    self.qmp(
                        &spec.id,
                        BlockResize {
                            node_name: swap::node_of(&dir, &v.volume_id),
                            size: bytes,
                        },
                    )
                    .await?;
                    *size = v.size_gb;
                    write_volumes(&dir, &attached)?;
                    tracing::info!(vm = %spec.id, volume = %v.volume_id, size_gb = v.size_gb, "attached volume grown");
                }
                Some(_) => {}
                None => {
                    let backend = self
                        .volumes
                        .locate(&v.volume_id, &v.backend)
                        .with_context(|| format!("volume {} is not on this host", v.volume_id))?;
                    let disk = backend.disk(&v.volume_id);
                    if !backend.shared() && !disk.exists_locally() {
                        bail!("volume {} is not on this host", v.volume_id);
                    }
                    let blockdev = disk.blockdev(backend.format(), &node, v.read_only);
                    let addr = take_slot(layout.as_mut(), &device)?;
                    self.qmp(&spec.id, blockdev).await?;
                    let dev = DeviceAdd::VirtioBlk {
                        id: device,
                        drive: node.clone(),
                        serial: v.volume_id.clone(),
                        addr,
                    };
                    if let Err(e) = self.qmp(&spec.id, dev).await {
                        self.qmp(&spec.id, BlockdevDel { node_name: node }).await.ok();
                        return Err(e.into());
                    }
                    attached.push((v.volume_id.clone(), v.size_gb));
                    write_volumes(&dir, &attached)?;
                    if let Some(l) = &layout {
                        write_layout(&dir, l)?;
                    }
                    tracing::info!(vm = %spec.id, volume = %v.volume_id, "volume attached");
                }
            }
            // The QoS limits of the volume's type, applied when they differ from the last
            // ones applied (a fresh disk has none).
            let want = v.throttle.unwrap_or_default();
            if throttles.get(&v.volume_id).copied().unwrap_or_default() != want {
                let (_, device) = volume_ids(&v.volume_id);
                self.qmp(&spec.id, BlockSetIoThrottle::new(device, &want)).await?;
                throttles.insert(v.volume_id.clone(), want);
                write_throttles(&dir, &throttles)?;
                tracing::info!(vm = %spec.id, volume = %v.volume_id, throttle = ?want, "disk I/O limits applied");
            }
        }
        for (id, _) in attached.clone() {
            if spec.volumes.iter().any(|v| v.volume_id == id) {
                continue;
            }
            let device = volume_ids(&id).1;
            let node = swap::node_of(&dir, &id);
            let mut events = self.monitor(&spec.id).await?.events();
            if let Err(e) = self.qmp(&spec.id, DeviceDel { id: device.clone() }).await {
                tracing::debug!(vm = %spec.id, error = %e, "device_del");
            }
            // The guest acknowledges the unplug (QEMU then sends DEVICE_DELETED); the node can
            // go once the device is gone.
            for _ in 0..50 {
                if self
                    .qmp(
                        &spec.id,
                        BlockdevDel {
                            node_name: node.clone(),
                        },
                    )
                    .await
                    .is_ok()
                {
                    break;
                }
                let deleted = async {
                    loop {
                        match events.recv().await {
                            Ok(qmp::Event::DeviceDeleted { device: Some(d), .. }) if d == device => return,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                return std::future::pending().await
                            }
                            _ => {}
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_millis(200), deleted).await;
            }
            attached.retain(|(v, _)| v != &id);
            write_volumes(&dir, &attached)?;
            swap::forget(&dir, &id)?;
            if let Some(l) = layout.as_mut() {
                l.remove(&device);
                write_layout(&dir, l)?;
            }
            if throttles.remove(&id).is_some() {
                write_throttles(&dir, &throttles)?;
            }
            tracing::info!(vm = %spec.id, volume = %id, "volume detached");
        }
        self.sync_mirrors(spec).await
    }

    /// Rebuilds and resizes: a VM whose disk predates the spec's rebuild serial gets a fresh
    /// disk from the (new) image, and a QEMU running with other vCPUs or memory than the
    /// spec's is stopped, so that converging starts it again as specified.
    async fn apply_shape(&self, spec: &VmSpec) -> anyhow::Result<()> {
        let dir = self.dir(&spec.id);
        let rebuilt: u64 = std::fs::read_to_string(dir.join("rebuild-serial"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if rebuilt < spec.rebuild_serial {
            self.stop_process(&spec.id).await?;
            self.remove_root_disk(&spec.id).await?;
            // A saved state belongs to the old disk.
            let _ = std::fs::remove_file(suspend::saved_state(&dir));
            std::fs::write(dir.join("rebuild-serial"), spec.rebuild_serial.to_string())?;
            tracing::info!(vm = %spec.id, image = %spec.image.id, "VM disk rebuilt");
        }
        if self.pid(&spec.id).is_some() {
            let running = std::fs::read_to_string(dir.join("shape")).unwrap_or_default();
            if !running.is_empty() && running.trim() != shape(spec) {
                tracing::info!(vm = %spec.id, from = %running.trim(), to = %shape(spec), "VM resized: restarting");
                self.stop_process(&spec.id).await?;
            }
        }
        Ok(())
    }

    async fn converge(&self, spec: &VmSpec) -> anyhow::Result<VmState> {
        std::fs::create_dir_all(self.dir(&spec.id))?;
        // A cold migration that ended (reverted, failed) no longer needs the disk served.
        let export = self.dir(&spec.id).join(cold::EXPORT_PID);
        if export.exists() {
            crate::storage::transfer::stop(&export);
        }
        self.apply_shape(spec).await?;
        let saved = suspend::saved_state(&self.dir(&spec.id));
        let mut running = self.pid(&spec.id).is_some();
        if running && saved.exists() {
            // The agent stopped between saving the state and ending QEMU, or while
            // restoring it: end that QEMU, the file is whole and is used again.
            tracing::info!(vm = %spec.id, "a QEMU of a suspended VM is left: ending it");
            self.stop_process(&spec.id).await?;
            running = false;
        }
        match (running, spec.power) {
            (false, PowerState::Stopped) => {
                // A stopped VM boots afresh: a saved state is of no use any more.
                let _ = std::fs::remove_file(&saved);
                self.prepare_disk(spec).await?;
                Ok(VmState::Stopped)
            }
            (false, PowerState::Suspended) => {
                if !saved.exists() {
                    // Nothing to restore (the QEMU was gone before it could be saved, e.g.
                    // a host reboot): a resume boots the VM afresh.
                    tracing::warn!(vm = %spec.id, "a suspended VM without a saved state: it will boot afresh");
                }
                self.prepare_disk(spec).await?;
                Ok(VmState::Suspended)
            }
            (true, PowerState::Suspended) => {
                self.suspend(spec).await?;
                Ok(VmState::Suspended)
            }
            (false, p) if saved.exists() => {
                self.resume(spec, p == PowerState::Paused).await?;
                self.sync_volumes(spec).await?;
                Ok(if p == PowerState::Paused {
                    VmState::Paused
                } else {
                    VmState::Running
                })
            }
            (false, p) => {
                self.start(spec, p == PowerState::Paused).await?;
                self.sync_volumes(spec).await?;
                Ok(if p == PowerState::Paused {
                    VmState::Paused
                } else {
                    VmState::Running
                })
            }
            (true, PowerState::Stopped) => {
                self.stop_process(&spec.id).await?;
                Ok(VmState::Stopped)
            }
            (true, p) => {
                let status = self.qmp(&spec.id, QueryStatus {}).await?;
                match status.status {
                    // Never resumed here: the guest runs on the destination (or will).
                    RunState::Postmigrate => bail!("the VM has migrated to another host"),
                    RunState::Inmigrate => bail!("the VM is still waiting for an incoming migration"),
                    _ => {}
                }
                let is_running = status.running;
                self.sync_volumes(spec).await?;
                if p == PowerState::Paused {
                    if is_running {
                        self.qmp(&spec.id, Stop {}).await?;
                    }
                    return Ok(VmState::Paused);
                }
                if !is_running {
                    self.qmp(&spec.id, Cont {}).await?;
                }
                self.sync_nics(spec).await?;
                let booted: u64 = std::fs::read_to_string(self.dir(&spec.id).join("boot-serial"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
                if booted < spec.boot_serial {
                    self.qmp(&spec.id, SystemReset {}).await?;
                    std::fs::write(self.dir(&spec.id).join("boot-serial"), spec.boot_serial.to_string())?;
                }
                Ok(VmState::Running)
            }
        }
    }
}

/// Keeps the migration ports out of the kernel's ephemeral ports (of this host's network
/// namespace), as Nova's docs ask of libvirt hosts: otherwise an outgoing connection may
/// hold one when a migration must listen there.
fn reserve_migration_ports() {
    for range in [ciel_proto::MIGRATION_PORTS, ciel_proto::VOLUME_MIGRATION_PORTS] {
        reserve_ports(*range.start(), *range.end());
    }
}

fn reserve_ports(first: u16, last: u16) {
    const KNOB: &str = "/proc/sys/net/ipv4/ip_local_reserved_ports";
    let now = std::fs::read_to_string(KNOB).unwrap_or_default();
    let reserved = |port: u16| {
        now.trim()
            .split(',')
            .filter(|r| !r.is_empty())
            .any(|r| match r.split_once('-') {
                Some((a, b)) => a.parse().is_ok_and(|a: u16| a <= port) && b.parse().is_ok_and(|b: u16| port <= b),
                None => r.parse() == Ok(port),
            })
    };
    if (first..=last).all(reserved) {
        return;
    }
    let list = match now.trim() {
        "" => format!("{first}-{last}"),
        t => format!("{t},{first}-{last}"),
    };
    match std::fs::write(KNOB, list) {
        Ok(()) => tracing::info!(first, last, "migration ports reserved from the ephemeral ports"),
        Err(e) => {
            tracing::warn!(error = %e, first, last, "cannot reserve the migration ports; a migration may find its port taken")
        }
    }
}

/// The ports the running QEMU has NICs for (`nics` in the VM directory).
fn read_nics(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("nics"))
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn write_nics(dir: &Path, ports: Vec<String>) -> anyhow::Result<()> {
    std::fs::write(dir.join("nics"), ports.join("\n"))?;
    Ok(())
}

/// Slots for `devices` in order: those given keep theirs, the others take the lowest free.
fn assign_slots(devices: &[String], given: Option<&Layout>) -> anyhow::Result<Layout> {
    let mut layout = Layout::new();
    for d in devices {
        if let Some(slot) = given.and_then(|g| g.get(d)) {
            layout.insert(d.clone(), *slot);
        }
    }
    for d in devices {
        if !layout.contains_key(d) {
            let slot = free_slot(&layout).context("no free PCI slot left")?;
            layout.insert(d.clone(), slot);
        }
    }
    Ok(layout)
}

/// A slot for a device being hot-plugged (`0xN`), recorded in `layout`; None where the VM
/// keeps no layout (QEMU then chooses).
fn take_slot(layout: Option<&mut Layout>, device: &str) -> anyhow::Result<Option<String>> {
    let Some(l) = layout else { return Ok(None) };
    let slot = match l.get(device) {
        Some(s) => *s,
        None => free_slot(l).context("no free PCI slot left")?,
    };
    l.insert(device.to_string(), slot);
    Ok(Some(format!("0x{slot:x}")))
}

/// The lowest PCI slot no device of `layout` takes.
fn free_slot(layout: &Layout) -> Option<u8> {
    (FIRST_SLOT..=LAST_SLOT).find(|s| !layout.values().any(|t| t == s))
}

/// The VM's PCI layout; None for a VM started before layouts were kept (QEMU chooses the
/// slots of what is hot-plugged into it).
fn read_layout(dir: &Path) -> Option<Layout> {
    serde_json::from_slice(&std::fs::read(dir.join("layout")).ok()?).ok()
}

fn write_layout(dir: &Path, layout: &Layout) -> anyhow::Result<()> {
    std::fs::write(dir.join("layout"), serde_json::to_vec(layout)?)?;
    Ok(())
}

/// The volumes the running QEMU has as disks, with the size each was attached or grown to
/// (`volumes` in the VM directory: `id size_gb` lines).
fn read_volumes(dir: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(dir.join("volumes"))
        .map(|s| {
            s.lines()
                .filter_map(|l| {
                    let (id, size) = l.split_once(' ')?;
                    Some((id.to_owned(), size.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write_volumes(dir: &Path, volumes: &[(String, u64)]) -> anyhow::Result<()> {
    let lines: Vec<String> = volumes.iter().map(|(id, size)| format!("{id} {size}")).collect();
    std::fs::write(dir.join("volumes"), lines.join("\n"))?;
    Ok(())
}

/// A JSON record in the VM's directory; missing or unreadable: the default.
fn read_json<T: serde::de::DeserializeOwned + Default>(dir: &Path, name: &str) -> T {
    std::fs::read(dir.join(name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_json<T: serde::Serialize>(dir: &Path, name: &str, value: &T) -> anyhow::Result<()> {
    std::fs::write(dir.join(name), serde_json::to_vec(value)?)?;
    Ok(())
}

/// The I/O limits last applied to each attached volume's disk.
fn read_throttles(dir: &Path) -> HashMap<String, ciel_proto::DiskThrottle> {
    read_json(dir, "throttles")
}

fn write_throttles(dir: &Path, t: &HashMap<String, ciel_proto::DiskThrottle>) -> anyhow::Result<()> {
    write_json(dir, "throttles", t)
}

/// QEMU node name and device id of an attached volume (node names have at most 31 chars).
fn volume_ids(volume_id: &str) -> (String, String) {
    let hex: String = volume_id.chars().filter(|c| *c != '-').take(30).collect();
    (format!("v{hex}"), format!("d{hex}"))
}

/// QEMU ids of a port's backend and device, stable across restarts so the NIC can be
/// unplugged later.
fn nic_ids(port_id: &str) -> (String, String) {
    let hex: String = port_id.chars().filter(|c| *c != '-').take(11).collect();
    (format!("net{hex}"), format!("nic{hex}"))
}

/// A value inside a QEMU option string (`key=value,key=value`): QEMU reads `,,` as a
/// literal comma, so no value (a path, a MAC) can end its option and add another one. A
/// value that is wrong anyway (a MAC with a comma) then fails QEMU for that VM alone.
fn opt(v: impl std::fmt::Display) -> String {
    v.to_string().replace(',', ",,")
}

/// A command line being built, with `Command`'s `arg`/`args` (so it can be checked in tests).
#[derive(Default)]
struct Args(Vec<std::ffi::OsString>);

impl Args {
    fn arg(&mut self, a: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.0.push(a.as_ref().to_owned());
        self
    }

    fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&mut self, items: I) -> &mut Self {
        for a in items {
            self.arg(a);
        }
        self
    }
}

/// One virtio NIC per port on the port's tap (made and plugged by the network plane), with
/// the port's MAC and the network's MTU.
fn nic_args(spec: &VmSpec) -> Vec<String> {
    let mut args = vec![];
    for nic in &spec.nics {
        let (netdev, device) = nic_ids(&nic.port_id);
        args.push("-netdev".into());
        args.push(format!(
            "tap,id={netdev},ifname={},script=no,downscript=no",
            crate::net::tap_name(&nic.port_id)
        ));
        args.push("-device".into());
        args.push(format!(
            "virtio-net-pci,id={device},netdev={netdev},mac={},host_mtu={}",
            opt(&nic.mac),
            nic.mtu
        ));
    }
    args
}

/// The image's format as the image service checked it (never probed from the data).
fn image_format(spec: &VmSpec) -> &'static str {
    if spec.image.disk_format == "qcow2" {
        "qcow2"
    } else {
        "raw"
    }
}

/// The resources a QEMU process is started with; a change needs a restart.
fn shape(spec: &VmSpec) -> String {
    format!("{} vcpus {} MiB", spec.vcpus.max(1), spec.memory_mb)
}

async fn virtual_size(qemu_img: &str, path: &Path) -> anyhow::Result<u64> {
    let out = tokio::process::Command::new(qemu_img)
        .args(["info", "--output=json", "-U"])
        .arg(path)
        .output()
        .await
        .context("cannot run qemu-img")?;
    if !out.status.success() {
        bail!(
            "qemu-img info {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: Value = serde_json::from_slice(&out.stdout)?;
    v["virtual-size"].as_u64().context("qemu-img info without virtual-size")
}

/// This host's CPUs and memory, from /proc.
fn host_capacity() -> Capacity {
    let vcpus = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let memory_mb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(1024);
    Capacity {
        vcpus,
        memory_mb,
        disk_gb: 1000,
    }
}

impl Hypervisor for QemuDriver {
    fn kind(&self) -> &'static str {
        "QEMU"
    }

    fn stats<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Vec<crate::stats::VmStats>> {
        Box::pin(self.vm_stats(ids))
    }

    fn capacity(&self) -> Capacity {
        host_capacity()
    }

    fn needs_images(&self) -> bool {
        true
    }

    /// A root disk cloned from the image service's RBD copy reads nothing here, so the
    /// image is not fetched (a host may run thousands of such VMs with an empty image
    /// cache); after a failed clone it is, for the copy that replaces the clone.
    fn needs_root_image(&self, spec: &VmSpec) -> bool {
        let clones = spec.root_volume.is_none()
            && spec.root_backend == "rbd"
            && self.ceph.is_some()
            && RbdTool::can_clone(&spec.image);
        !clones || self.dir(&spec.id).join(CLONE_FAILED).exists()
    }

    fn wires_network(&self) -> bool {
        true
    }

    fn vnc_socket(&self, id: &str) -> Option<PathBuf> {
        Some(self.dir(id).join("vnc.sock"))
    }

    fn config_drive_path(&self, id: &str) -> Option<PathBuf> {
        Some(self.dir(id).join(CONFIG_DRIVE))
    }

    fn list(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            std::fs::read_dir(&self.vms_dir)
                .map(|d| d.flatten().filter_map(|e| e.file_name().into_string().ok()).collect())
                .unwrap_or_default()
        })
    }

    fn ensure<'a>(&'a self, spec: &'a VmSpec) -> BoxFuture<'a, VmStatus> {
        Box::pin(async move {
            let (result, migration) = match &spec.migration {
                Some(m) if m.cold => {
                    let (r, p) = if migrate::is_source(m) {
                        self.cold_out(spec, m).await
                    } else {
                        self.cold_in(spec, m).await
                    };
                    (r, Some(p))
                }
                Some(m) if migrate::is_source(m) => {
                    let p = self.migrate_out(spec, m).await;
                    if p.status == ciel_proto::MigrationStatus::Completed {
                        // The guest runs on the destination; QEMU here waits to be removed.
                        (Ok(VmState::Paused), Some(p))
                    } else {
                        (self.converge(spec).await, Some(p))
                    }
                }
                Some(m) => {
                    let (r, p) = self.migrate_in(spec, m).await;
                    (r, Some(p))
                }
                None => (self.converge(spec).await, None),
            };
            let (state, message) = match result {
                Ok(s) => (s, None),
                Err(e) => {
                    tracing::warn!(vm = %spec.id, error = %e, "VM did not converge");
                    (VmState::Error, Some(format!("{e:#}")))
                }
            };
            let dir = self.dir(&spec.id);
            let volume_migrations = swap::outcomes(&dir, spec, state);
            let (volumes, slots) = if matches!(state, VmState::Running | VmState::Paused) {
                let volumes = read_volumes(&dir).into_iter().map(|(id, _)| id).collect();
                (volumes, migrate::slots_of(&dir))
            } else {
                (vec![], vec![])
            };
            VmStatus {
                id: spec.id.clone(),
                state,
                boot_serial: spec.boot_serial,
                message,
                volumes,
                slots,
                migration,
                volume_migrations,
            }
        })
    }

    fn copy_attached<'a>(
        &'a self,
        volume_id: &'a str,
        to: &'a Path,
        format: &'a str,
    ) -> BoxFuture<'a, Option<anyhow::Result<()>>> {
        Box::pin(self.point_in_time_copy(volume_id, to, format))
    }

    fn disown(&self, id: &str) {
        if std::fs::remove_file(self.dir(id).join(ROOT_RBD)).is_ok() {
            // Said for a migration's source as well as for an evacuated host.
            tracing::info!(vm = %id, "the VM runs on another host now: its RBD disk is that host's");
        }
    }

    fn control(&self, id: &str, migration: Option<&ciel_proto::VmMigration>) {
        let Ok(mut c) = self.controls.lock() else { return };
        match migration {
            Some(m) => {
                c.insert(
                    id.to_string(),
                    migrate::Control {
                        abort: m.abort,
                        force_complete: m.force_complete,
                    },
                );
            }
            // A VM no longer desired here: a migration it is in must stop.
            None if c.contains_key(id) => {
                c.insert(
                    id.to_string(),
                    migrate::Control {
                        abort: true,
                        force_complete: false,
                    },
                );
            }
            None => {}
        }
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.stop_process(id).await?;
            crate::storage::transfer::stop(&self.dir(id).join(cold::EXPORT_PID));
            self.remove_root_disk(id).await?;
            let dir = self.dir(id);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
            }
            tracing::info!(vm = %id, "VM removed");
            Ok(())
        })
    }

    fn snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<PathBuf>> {
        Box::pin(async move {
            let disk = match &self.ceph {
                Some((ceph, _)) if self.dir(id).join(ROOT_RBD).exists() => {
                    ceph.image(&ceph.vms_pool, &format!("{id}_disk")).qemu_img_name(true)
                }
                _ => {
                    let disk = self.dir(id).join("disk.qcow2");
                    if !disk.exists() {
                        bail!("VM {id} has no disk on this host");
                    }
                    disk.display().to_string()
                }
            };
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let out = self.dir(id).join(format!("snapshot-{stamp}.qcow2"));
            // -U reads the disk while the VM runs: crash-consistent, like a power cut.
            let res = tokio::process::Command::new(&self.qemu_img)
                .args(["convert", "-U", "-O", "qcow2"])
                .arg(&disk)
                .arg(&out)
                .output()
                .await
                .context("cannot run qemu-img")?;
            if !res.status.success() {
                let _ = std::fs::remove_file(&out);
                bail!(
                    "qemu-img convert failed: {}",
                    String::from_utf8_lossy(&res.stderr).trim()
                );
            }
            tracing::info!(vm = %id, "disk snapshot taken");
            Ok(out)
        })
    }

    fn snapshot_to_rbd<'a>(
        &'a self,
        id: &'a str,
        image_id: &'a str,
        pool: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(self.rbd_image_from_root(id, image_id, pool))
    }

    fn console_log(&self, id: &str) -> Option<PathBuf> {
        Some(self.dir(id).join("console.log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciel_proto::{ImageRef, Nic};

    pub(super) fn spec() -> VmSpec {
        VmSpec {
            id: "0f1e2d3c-0000-4000-8000-000000000002".into(),
            name: "vm".into(),
            project_id: String::new(),
            vcpus: 1,
            memory_mb: 128,
            root_gb: 1,
            image: ImageRef {
                id: "img".into(),
                disk_format: "qcow2".into(),
                checksum: String::new(),
                size: 0,
                rbd: false,
            },
            kernel: None,
            ramdisk: None,
            cmdline: None,
            power: PowerState::Running,
            nics: vec![Nic {
                port_id: "p1".into(),
                mac: "fa:16:3e:00:00:01".into(),
                network_id: "n1".into(),
                mtu: 1450,
                fixed_ips: vec![],
                firewall: None,
            }],
            boot_serial: 0,
            config_drive: false,
            rebuild_serial: 0,
            volumes: vec![],
            root_volume: None,
            root_volume_backend: String::new(),
            root_backend: "file".into(),
            migration: None,
            adopt_root: false,
        }
    }

    fn local(path: &str) -> Disk {
        Disk::Local {
            path: path.into(),
            device: false,
        }
    }

    /// The VNC console has a display adapter to show (noVNC says "no graphic display device"
    /// otherwise), while the serial console still goes to console.log; the adapter comes after
    /// the disk and NIC so their PCI addresses are those VMs had before.
    #[test]
    fn vms_have_a_vga_display_behind_vnc_and_a_serial_console() {
        let state = std::env::temp_dir().join(format!("ciel-qemu-args-{}", std::process::id()));
        let driver = QemuDriver::new(&state, VirtType::Qemu, &StorageConfig::default()).unwrap();
        let s = spec();
        let args: Vec<String> = driver
            .launch_args(&s, &local("/x/disk.qcow2"), "qcow2", false, None)
            .unwrap()
            .0
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&state).ok();
        let at = |want: &dyn Fn(&str) -> bool| args.iter().position(|a| want(a));
        let vga = at(&|a| a.starts_with("VGA")).expect("a VGA device");
        assert_eq!(args[vga - 1], "-device");
        let vnc = at(&|a| a == "-vnc").expect("a VNC server");
        assert!(args[vnc + 1].starts_with("unix:") && args[vnc + 1].ends_with("/vnc.sock"));
        let chardev = at(&|a| a.starts_with("file,id=console,")).expect("the console chardev");
        assert!(args[chardev].contains("console.log"));
        assert!(args.windows(2).any(|w| w[0] == "-serial" && w[1] == "chardev:console"));
        // The slots QEMU gave when the root disk was a `-drive` (created after every
        // `-device`): NIC, display, disk. Guests keep the layout they always had.
        let nic = at(&|a| a.starts_with("virtio-net-pci")).unwrap();
        let disk = at(&|a| a.starts_with("virtio-blk-pci,drive=root0")).unwrap();
        assert!(args[nic].ends_with(",addr=0x2"), "{args:?}");
        assert_eq!(args[vga], "VGA,id=video0,addr=0x3");
        assert!(args[disk].ends_with(",addr=0x4"), "{args:?}");
        let blockdev = at(&|a| a.contains("\"node-name\":\"root0\"")).unwrap();
        assert!(args[blockdev].contains("/x/disk.qcow2"));
        assert!(!args.iter().any(|a| a == "-vga"), "one display adapter only");
    }

    /// A root disk on Ceph is a typed blockdev (JSON) with a virtio disk on it, never an
    /// `rbd:` option string.
    #[test]
    fn rbd_root_disks_are_blockdevs() {
        let state = std::env::temp_dir().join(format!("ciel-qemu-rbd-{}", std::process::id()));
        let driver = QemuDriver::new(&state, VirtType::Qemu, &StorageConfig::default()).unwrap();
        let ceph = CephConfig::default();
        let disk = ceph.image("vms", "x_disk");
        let args: Vec<String> = driver
            .launch_args(&spec(), &disk, "raw", false, None)
            .unwrap()
            .0
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&state).ok();
        let at = args.iter().position(|a| a == "-blockdev").expect("a blockdev");
        let json: serde_json::Value = serde_json::from_str(&args[at + 1]).unwrap();
        assert_eq!(json["node-name"], ROOT_NODE);
        assert_eq!(json["file"]["driver"], "rbd");
        assert_eq!(json["file"]["image"], "x_disk");
        assert_eq!(args[at + 2], "-device");
        assert!(args[at + 3].starts_with("virtio-blk-pci,drive=root0"));
        assert!(
            !args.iter().any(|a| a.starts_with("file=") && a.contains("rbd")),
            "{args:?}"
        );
    }

    /// An incoming migration's VM waits paused for the stream, with every device at the
    /// source's slot (hot-plugged ones included) and the attached volumes already there.
    #[test]
    fn incoming_vms_rebuild_the_source_layout() {
        let state = std::env::temp_dir().join(format!("ciel-qemu-incoming-{}", std::process::id()));
        let driver = QemuDriver::new(&state, VirtType::Qemu, &StorageConfig::default()).unwrap();
        let ceph = CephConfig::default();
        let vol = "0000000a-0000-4000-8000-000000000001";
        let (_, vol_device) = volume_ids(vol);
        let slots: Layout = [
            ("nicp1".to_string(), 2u8),
            ("video0".to_string(), 3),
            ("rootdisk".to_string(), 4),
            (vol_device.clone(), 6),
        ]
        .into_iter()
        .collect();
        let incoming = Incoming {
            slots,
            volumes: vec![IncomingVolume {
                id: vol.into(),
                disk: ceph.image("volumes", &format!("volume-{vol}")),
                format: "raw".into(),
                read_only: false,
            }],
        };
        let (args, layout) = driver
            .launch_args(&spec(), &local("/x/disk.qcow2"), "qcow2", false, Some(&incoming))
            .unwrap();
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        std::fs::remove_dir_all(&state).ok();
        assert!(args.windows(2).any(|w| w[0] == "-incoming" && w[1] == "defer"));
        assert!(args.iter().any(|a| a == "-S"), "paused until the stream is complete");
        let dev = args
            .iter()
            .find(|a| a.starts_with(&format!("virtio-blk-pci,id={vol_device}")))
            .expect("the volume on the command line");
        assert!(
            dev.ends_with(",addr=0x6") && dev.contains(&format!("serial={vol}")),
            "{dev}"
        );
        assert_eq!(layout[&vol_device], 6);
        assert_eq!(layout["rootdisk"], 4);
        assert!(args.iter().any(|a| a == "VGA,id=video0,addr=0x3"));
    }

    /// Hot-plugged devices take the lowest free slot, and a slot freed by an unplug is
    /// taken again.
    #[test]
    fn hot_plugged_devices_take_free_slots() {
        let mut l: Layout = [
            ("nicp1".to_string(), 2u8),
            ("video0".to_string(), 3),
            ("rootdisk".to_string(), 4),
        ]
        .into_iter()
        .collect();
        assert_eq!(take_slot(Some(&mut l), "dA").unwrap().as_deref(), Some("0x5"));
        assert_eq!(take_slot(Some(&mut l), "dB").unwrap().as_deref(), Some("0x6"));
        l.remove("dA");
        assert_eq!(take_slot(Some(&mut l), "dC").unwrap().as_deref(), Some("0x5"));
        assert_eq!(
            take_slot(None, "dD").unwrap(),
            None,
            "a VM without a layout: QEMU chooses"
        );
    }

    /// Values inside QEMU option strings cannot add options: commas are doubled, and the
    /// kernel command line is its own argument.
    #[test]
    fn option_values_cannot_add_options() {
        let state = std::env::temp_dir().join(format!("ciel-qemu-commas-{}", std::process::id()));
        let driver = QemuDriver::new(&state, VirtType::Qemu, &StorageConfig::default()).unwrap();
        let mut s = spec();
        s.nics[0].mac = "fa:16:3e:00:00:01,romfile=/etc/shadow".into();
        s.kernel = Some(s.image.clone());
        s.cmdline = Some("console=ttyS0,115200 root=/dev/vda".into());
        let args: Vec<String> = driver
            .launch_args(&s, &local("/x/a,b/disk.qcow2"), "qcow2", false, None)
            .unwrap()
            .0
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&state).ok();
        // The disk is JSON: the comma is part of the file name, not an option separator.
        let blockdev = args.iter().position(|a| a == "-blockdev").unwrap();
        let json: serde_json::Value = serde_json::from_str(&args[blockdev + 1]).unwrap();
        assert_eq!(json["file"]["filename"], "/x/a,b/disk.qcow2");
        assert!(args
            .iter()
            .any(|a| a.contains("mac=fa:16:3e:00:00:01,,romfile=/etc/shadow,host_mtu")));
        let append = args.iter().position(|a| a == "-append").unwrap();
        assert_eq!(args[append + 1], "console=ttyS0,115200 root=/dev/vda");
    }
}

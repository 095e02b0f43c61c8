//! The QMP commands the agent sends, each a serde struct with its name and its reply type
//! (QEMU's QAPI schema, reduced to the fields the agent uses).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A QMP command: its name on the wire, its arguments (the struct itself, serialized; a
/// struct without fields sends none) and the type its `return` value deserializes into.
pub trait Command: Serialize {
    const NAME: &'static str;
    type Reply: DeserializeOwned;
}

/// The `return` of commands that answer `{}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Empty {}

macro_rules! command {
    ($ty:ident, $name:literal, $reply:ty) => {
        impl Command for $ty {
            const NAME: &'static str = $name;
            type Reply = $reply;
        }
    };
}

/// `qmp_capabilities`: leaves capabilities negotiation mode (sent by the client on connect).
#[derive(Debug, Clone, Serialize)]
pub struct Capabilities {}
command!(Capabilities, "qmp_capabilities", Empty);

/// `query-status`: whether the guest's CPUs run, and the run state.
#[derive(Debug, Clone, Serialize)]
pub struct QueryStatus {}
command!(QueryStatus, "query-status", StatusInfo);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StatusInfo {
    pub running: bool,
    pub status: RunState,
}

/// QEMU's `RunState` (the states the agent may meet; any other is `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    Running,
    Paused,
    Prelaunch,
    Shutdown,
    GuestPanicked,
    InternalError,
    IoError,
    Suspended,
    /// A destination waiting for (or loading) an incoming migration.
    Inmigrate,
    /// A source whose guest has moved to the destination: it must never run again here.
    Postmigrate,
    FinishMigrate,
    #[serde(other)]
    Other,
}

/// `cont`: resumes the guest's CPUs.
#[derive(Debug, Clone, Serialize)]
pub struct Cont {}
command!(Cont, "cont", Empty);

/// `stop`: pauses the guest's CPUs.
#[derive(Debug, Clone, Serialize)]
pub struct Stop {}
command!(Stop, "stop", Empty);

/// `system_powerdown`: presses the power button (ACPI).
#[derive(Debug, Clone, Serialize)]
pub struct SystemPowerdown {}
command!(SystemPowerdown, "system_powerdown", Empty);

/// `system_reset`: a hard reset of the guest.
#[derive(Debug, Clone, Serialize)]
pub struct SystemReset {}
command!(SystemReset, "system_reset", Empty);

/// `quit`: QEMU exits at once.
#[derive(Debug, Clone, Serialize)]
pub struct Quit {}
command!(Quit, "quit", Empty);

/// `netdev_add` of a tap backend made beforehand (by the network plane).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetdevAdd {
    #[serde(rename = "type")]
    pub kind: NetdevKind,
    pub id: String,
    pub ifname: String,
    pub script: String,
    pub downscript: String,
}
command!(NetdevAdd, "netdev_add", Empty);

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetdevKind {
    Tap,
}

impl NetdevAdd {
    /// A tap backend QEMU opens as it is (no up/down scripts).
    pub fn tap(id: String, ifname: String) -> Self {
        Self {
            kind: NetdevKind::Tap,
            id,
            ifname,
            script: "no".into(),
            downscript: "no".into(),
        }
    }
}

/// `netdev_del`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetdevDel {
    pub id: String,
}
command!(NetdevDel, "netdev_del", Empty);

/// `device_add` of the devices the agent hot-plugs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "driver")]
pub enum DeviceAdd {
    /// A NIC on a netdev backend.
    #[serde(rename = "virtio-net-pci")]
    VirtioNet {
        id: String,
        netdev: String,
        mac: String,
        host_mtu: u32,
        /// The PCI slot (`0xN`), chosen by the agent so a migration's destination can
        /// rebuild the same layout.
        #[serde(skip_serializing_if = "Option::is_none")]
        addr: Option<String>,
    },
    /// A disk on a block node; the guest sees `serial` (the volume id).
    #[serde(rename = "virtio-blk-pci")]
    VirtioBlk {
        id: String,
        drive: String,
        serial: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        addr: Option<String>,
    },
}
command!(DeviceAdd, "device_add", Empty);

/// `device_del`: asks the guest to release the device; `DEVICE_DELETED` says when it has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceDel {
    pub id: String,
}
command!(DeviceDel, "device_del", Empty);

/// `blockdev-add` of a volume: a format node over a protocol (file or host device) node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockdevAdd {
    pub driver: String,
    pub node_name: String,
    pub read_only: bool,
    pub file: BlockdevFile,
}
command!(BlockdevAdd, "blockdev-add", Empty);

/// The protocol layer under a format node: a file or device on the host, or an RBD image.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "driver", rename_all = "kebab-case")]
pub enum BlockdevFile {
    /// A file (`file`).
    #[serde(rename = "file", rename_all = "kebab-case")]
    File {
        filename: std::path::PathBuf,
        read_only: bool,
    },
    /// A block device (`host_device`).
    #[serde(rename = "host_device", rename_all = "kebab-case")]
    HostDevice {
        filename: std::path::PathBuf,
        read_only: bool,
    },
    /// An image of a Ceph pool, reached with `conf` and the cephx `user` (whose keyring
    /// ceph.conf names or Ceph finds in its default places).
    #[serde(rename = "rbd", rename_all = "kebab-case")]
    Rbd {
        pool: String,
        image: String,
        conf: std::path::PathBuf,
        user: String,
        read_only: bool,
    },
}

/// `blockdev-del`: fails while a device still uses the node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockdevDel {
    pub node_name: String,
}
command!(BlockdevDel, "blockdev-del", Empty);

/// `blockdev-backup`: copies `device` as it is at the job's start into `target` (writes
/// the guest makes meanwhile first save the old data: copy-before-write); the job ends by
/// itself (`BLOCK_JOB_COMPLETED`, with `error` when it failed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockdevBackup {
    pub job_id: String,
    pub device: String,
    pub target: String,
    pub sync: &'static str,
}
command!(BlockdevBackup, "blockdev-backup", Empty);

/// `block_resize`: grows a node; the guest sees the new size.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockResize {
    pub node_name: String,
    pub size: u64,
}
command!(BlockResize, "block_resize", Empty);

/// `query-block`: the block devices and what they hold.
#[derive(Debug, Clone, Serialize)]
pub struct QueryBlock {}
command!(QueryBlock, "query-block", Vec<BlockInfo>);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockInfo {
    pub device: String,
    #[serde(default)]
    pub qdev: Option<String>,
    #[serde(default)]
    pub inserted: Option<BlockInserted>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockInserted {
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
}

/// `block_set_io_throttle` on a disk device (by its qdev id): the I/O limits of the volume's
/// QoS specs. All-zero limits lift the throttle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockSetIoThrottle {
    pub id: String,
    pub bps: u64,
    pub bps_rd: u64,
    pub bps_wr: u64,
    pub iops: u64,
    pub iops_rd: u64,
    pub iops_wr: u64,
    pub bps_max: u64,
    pub bps_rd_max: u64,
    pub bps_wr_max: u64,
    pub iops_max: u64,
    pub iops_rd_max: u64,
    pub iops_wr_max: u64,
    pub iops_size: u64,
}
command!(BlockSetIoThrottle, "block_set_io_throttle", Empty);

impl BlockSetIoThrottle {
    pub fn new(id: String, t: &ciel_proto::DiskThrottle) -> Self {
        Self {
            id,
            bps: t.total_bytes_sec,
            bps_rd: t.read_bytes_sec,
            bps_wr: t.write_bytes_sec,
            iops: t.total_iops_sec,
            iops_rd: t.read_iops_sec,
            iops_wr: t.write_iops_sec,
            bps_max: t.total_bytes_sec_max,
            bps_rd_max: t.read_bytes_sec_max,
            bps_wr_max: t.write_bytes_sec_max,
            iops_max: t.total_iops_sec_max,
            iops_rd_max: t.read_iops_sec_max,
            iops_wr_max: t.write_iops_sec_max,
            iops_size: t.size_iops_sec,
        }
    }
}

/// `query-blockstats`: I/O counters of every block device (the agent's metrics).
#[derive(Debug, Clone, Serialize)]
pub struct QueryBlockstats {}
command!(QueryBlockstats, "query-blockstats", Vec<BlockStats>);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockStats {
    /// The legacy drive name; empty for devices made with `-blockdev`.
    #[serde(default)]
    pub device: String,
    /// The guest device's QOM path or id (`/machine/peripheral/disk0/virtio-backend`).
    #[serde(default)]
    pub qdev: Option<String>,
    #[serde(rename = "node-name", default)]
    pub node_name: Option<String>,
    pub stats: BlockCounters,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockCounters {
    pub rd_bytes: u64,
    pub wr_bytes: u64,
    pub rd_operations: u64,
    pub wr_operations: u64,
}

impl BlockStats {
    /// The name an operator knows the disk by: the guest device's id (`disk0`, a volume's
    /// device), else the node or drive name.
    pub fn name(&self) -> String {
        if let Some(q) = self.qdev.as_deref().filter(|q| !q.is_empty()) {
            let q = q.strip_prefix("/machine/peripheral/").unwrap_or(q);
            return q.split('/').next().unwrap_or(q).to_string();
        }
        self.node_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.device.clone())
    }
}

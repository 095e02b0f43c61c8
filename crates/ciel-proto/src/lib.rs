//! What the controller and a hypervisor agent say to each other. The controller publishes
//! a [`HostConfig`] per host with a growing generation: the complete desired state of that
//! host. The agent persists the newest one it has seen, reconciles its drivers towards it
//! and sends a [`HostReport`] of what it observed. Nothing is a command; every message can
//! be repeated or lost without harm, because the next one carries the whole picture.

pub mod ids;

use serde::{Deserialize, Serialize};

/// Paths of the agent API on the controller.
pub const REGISTER_PATH: &str = "/agent/v1/hosts";

/// The ports migrations listen on (a live migration's destination, a cold one's source):
/// the controller hands them out in pairs, and each hypervisor keeps them out of the
/// kernel's ephemeral ports so that no outgoing connection holds one.
pub const MIGRATION_PORTS: std::ops::RangeInclusive<u16> = 49152..=49215;

/// The ports a host serves a migrating volume's contents on (over NBD, to the host that
/// copies it); reserved from the ephemeral ports like [`MIGRATION_PORTS`].
pub const VOLUME_MIGRATION_PORTS: std::ops::RangeInclusive<u16> = 49216..=49247;

/// Sent once at start (and again after the controller forgets the host).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegisterRequest {
    pub hostname: String,
    /// Address VXLAN tunnels to this host use.
    pub underlay_ip: Option<String>,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_gb: u64,
    /// `QEMU` (kvm or tcg) or `fake`.
    pub hypervisor_type: String,
    /// Base URL of the agent's own API (console logs), reachable from the controller.
    pub agent_url: Option<String>,
    /// Physical networks this host has an interface on (it can run routers whose external
    /// network is one of them: a network node).
    #[serde(default)]
    pub provider_networks: Vec<String>,
    /// The storage backends this host keeps volumes in (`file`, `lvm`, `rbd`).
    #[serde(default = "file_backends")]
    pub storage_backends: Vec<String>,
    /// Where this host puts the root disks of VMs booted from images: `file` (a qcow2
    /// overlay of the image in its state directory) or `rbd` (an image of the Ceph `vms`
    /// pool, which every host with the cluster sees).
    #[serde(default = "file_backend")]
    pub images_type: String,
}

fn file_backends() -> Vec<String> {
    vec![file_backend()]
}

fn file_backend() -> String {
    "file".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegisterResponse {
    pub host_id: String,
    /// Bearer secret for this host's later calls.
    pub host_token: String,
    /// Bearer secret the controller presents when it calls the agent's API.
    pub agent_secret: String,
}

/// Desired state of one host.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostConfig {
    pub host_id: String,
    pub generation: u64,
    pub vms: Vec<VmSpec>,
    /// The networks this host's VMs and routers have ports on, with what the host serves on them.
    #[serde(default)]
    pub networks: Vec<NetworkSpec>,
    /// The routers this host runs (a network node's job).
    #[serde(default)]
    pub routers: Vec<RouterSpec>,
    /// The volumes stored on this host (local backends: a volume lives where its data is).
    #[serde(default)]
    pub volumes: Vec<VolumeSpec>,
    /// Snapshots of those volumes.
    #[serde(default)]
    pub volume_snapshots: Vec<SnapshotSpec>,
    /// Volumes and snapshots on shared backends this host must delete (it owns them). A
    /// local backend removes what `volumes` no longer lists; a shared one sees other hosts'
    /// objects too, so it deletes only what is named here.
    #[serde(default)]
    pub deleted_volumes: Vec<String>,
    #[serde(default)]
    pub deleted_snapshots: Vec<String>,
    /// The load balancers this host runs (a network node's job).
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerSpec>,
    /// VMs evacuated from this host while it was down: another host runs them now and owns
    /// their shared disks, so this host stops its copy without deleting those disks.
    #[serde(default)]
    pub evacuated: Vec<String>,
    /// Volume backups this host has work on: to make, restore or delete.
    #[serde(default)]
    pub backups: Vec<BackupSpec>,
    /// Volume migrations this host has a part in: copying a volume into its new place,
    /// serving it to the host that copies it, or removing the old copy from a shared pool.
    #[serde(default)]
    pub volume_migrations: Vec<VolumeMigrationSpec>,
}

/// A volume as its host keeps it: created once from `source`, grown to `size_gb`, never shrunk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeSpec {
    pub id: String,
    pub size_gb: u64,
    /// The storage backend: `file` (a qcow2 file in the agent's state directory) or `lvm`
    /// (a thin volume in the host's thin pool).
    pub backend: String,
    /// What the volume starts as; None: empty.
    pub source: Option<VolumeSource>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum VolumeSource {
    Image(ImageRef),
    /// Another volume on this host (a clone).
    Volume(String),
    /// A snapshot on this host.
    Snapshot(String),
}

/// A point-in-time copy of a volume on the same host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotSpec {
    pub id: String,
    pub volume_id: String,
}

/// A volume backup and what its host must do with it now. Each entry is repeated while the
/// work is unfinished and can be done again without harm (the agent reports a finished one
/// once more instead of redoing it); it goes once the controller has taken the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackupSpec {
    pub id: String,
    /// The name of the stored data: the backup's own id, or that of the backup whose data an
    /// imported record shares.
    pub data_id: String,
    /// The backed-up volume and its storage backend.
    pub volume_id: String,
    pub backend: String,
    pub size_gb: u64,
    /// Where the data is (`dir`, `rbd`); None until made (this host's configured target).
    #[serde(default)]
    pub target: Option<String>,
    pub task: BackupTask,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BackupTask {
    /// Copy the volume's data (or its snapshot's) into the backup target.
    Make {
        /// Incremental: the `data_id` of the backup this one builds on (only the changes
        /// since it are stored).
        parent: Option<String>,
        /// The volume snapshot to read instead of the volume.
        snapshot_id: Option<String>,
        /// The volume is attached: read a temporary point-in-time copy of it.
        point_in_time: bool,
    },
    /// Write the backup (its whole chain) over volume `volume_id` of `backend` on this host.
    Restore { volume_id: String, backend: String },
    /// Remove the stored data (no other backup builds on it).
    Delete,
}

/// What became of a [`BackupSpec`]'s task on its host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackupStatus {
    pub id: String,
    pub outcome: BackupOutcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BackupOutcome {
    /// The data is stored in `target` (`dir`, `rbd`) as `object_count` objects.
    Made {
        target: String,
        object_count: u64,
    },
    /// The volume named in the task holds the backup's data.
    Restored {
        volume_id: String,
    },
    Deleted,
    Failed {
        message: String,
    },
}

/// One host's part in moving a volume to another host or backend (`os-migrate_volume`,
/// `os-retype` with migration). The volume keeps its id: the old and the new copy differ in
/// host or backend. Listed while the work is wanted; a copy listed here is kept by the
/// host's reconcile even though its volume is not (yet) desired there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeMigrationSpec {
    /// The migration's uuid: tasks and their outcomes are keyed by it.
    pub id: String,
    pub volume_id: String,
    pub size_gb: u64,
    pub task: VolumeMigrationTask,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VolumeMigrationTask {
    /// Make the volume on this host's `backend` as a copy of `source`; report `Copied`.
    Copy { backend: String, source: VolumeCopySource },
    /// Serve the volume's contents (raw, read-only) from `backend` at `addr:port` (this
    /// host's underlay address) while listed, for the host that copies it.
    Serve { backend: String, addr: String, port: u16 },
    /// Remove the old copy of the volume from the shared `backend` (the volume lives in its
    /// new place now); report `Removed`.
    RemoveOld { backend: String },
}

/// Where a copy reads the volume from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VolumeCopySource {
    /// The volume on `backend` as this host sees it: a local backend, or the shared pool.
    Local { backend: String },
    /// The raw contents another host serves over NBD.
    Nbd { addr: String, port: u16 },
}

/// What became of a [`VolumeMigrationSpec`]'s `Copy` or `RemoveOld` task, or of an
/// attached volume's mirror.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeMigrationStatus {
    pub id: String,
    pub outcome: VolumeMigrationOutcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VolumeMigrationOutcome {
    /// The new copy holds all of the volume's data.
    Copied,
    /// The old copy is gone.
    Removed,
    Failed {
        message: String,
    },
}

/// A volume attached to a VM as a virtio disk whose serial is the volume id (so the guest
/// finds it under /dev/disk/by-id, as with Nova).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeAttachment {
    pub volume_id: String,
    pub read_only: bool,
    /// The volume's size; a larger one than attached is grown in place.
    pub size_gb: u64,
    /// The volume's storage backend; empty: a local one, found on this host.
    #[serde(default)]
    pub backend: String,
    /// I/O limits from the QoS specs of the volume's type (front-end consumer), applied to
    /// the disk with QMP `block_set_io_throttle`; None: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<DiskThrottle>,
    /// The volume migrates while attached: the VM's QEMU mirrors the disk into a new copy
    /// on this host's `backend` and switches to it (Nova's swap volume), then reports the
    /// outcome in [`VmStatus::volume_migrations`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<VolumeMirror>,
}

/// Where an attached volume's disk moves (see [`VolumeAttachment::mirror`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeMirror {
    /// The volume migration's uuid, which its outcome names.
    pub migration_id: String,
    pub backend: String,
}

/// A disk's I/O limits, as Nova's libvirt driver takes them from Cinder's QoS specs: bytes
/// and operations per second, in total or per direction, with optional burst maxima.
/// Checked by the controller: a total and a per-direction limit never both set, a maximum
/// only with its base limit, every value at most [`DiskThrottle::MAX_VALUE`].
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiskThrottle {
    pub total_bytes_sec: u64,
    pub read_bytes_sec: u64,
    pub write_bytes_sec: u64,
    pub total_iops_sec: u64,
    pub read_iops_sec: u64,
    pub write_iops_sec: u64,
    #[serde(default)]
    pub total_bytes_sec_max: u64,
    #[serde(default)]
    pub read_bytes_sec_max: u64,
    #[serde(default)]
    pub write_bytes_sec_max: u64,
    #[serde(default)]
    pub total_iops_sec_max: u64,
    #[serde(default)]
    pub read_iops_sec_max: u64,
    #[serde(default)]
    pub write_iops_sec_max: u64,
    /// The I/O size counted as one operation (bytes); 0: any size is one.
    #[serde(default)]
    pub size_iops_sec: u64,
}

impl DiskThrottle {
    /// QEMU's upper bound for a throttle value.
    pub const MAX_VALUE: u64 = 1_000_000_000_000_000;
}

/// A router as its host runs it: a network namespace with a leg on each attached network,
/// forwarding between them, and on its external network SNAT and floating IPs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RouterSpec {
    pub id: String,
    pub interfaces: Vec<RouterPort>,
    pub gateway: Option<RouterGateway>,
    /// Extra routes: `(destination CIDR, next hop)`.
    pub routes: Vec<(String, String)>,
}

impl RouterSpec {
    /// The router's legs: each interface, then the gateway (flagged `true`).
    pub fn legs(&self) -> impl Iterator<Item = (&RouterPort, bool)> {
        self.interfaces
            .iter()
            .map(|p| (p, false))
            .chain(self.gateway.as_ref().map(|g| (&g.port, true)))
    }
}

/// One leg of a router: its port on a network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RouterPort {
    pub port_id: String,
    pub network_id: String,
    pub mac: String,
    /// Addresses with their subnet's prefix length, e.g. `10.0.0.1/24`.
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RouterGateway {
    pub port: RouterPort,
    /// The external subnet's gateway: the router's default route.
    pub gateway_ip: Option<String>,
    /// Source-NAT what leaves through the gateway to the router's external address.
    pub snat: bool,
    /// 1:1 NAT between floating and fixed addresses.
    pub floating_ips: Vec<FloatingNat>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FloatingNat {
    pub floating_ip: String,
    pub fixed_ip: String,
}

/// A tenant network as one host wires it: a bridge joined to the network's segment, and the
/// network's DHCP and metadata service for the host's own ports (every host serves its local
/// ports with the same DHCP port identity, so no DHCP or metadata traffic crosses hosts).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NetworkSpec {
    pub id: String,
    pub segment: Segment,
    pub mtu: u32,
    pub dhcp: Option<DhcpSpec>,
    /// The network's ports on other hosts (l2 population): overlay traffic to their MACs is
    /// sent straight to their host, and ARP for their addresses is answered locally.
    #[serde(default)]
    pub remote_ports: Vec<RemotePort>,
}

/// A port of the network that lives on another host, reached through that host's tunnel
/// endpoint (VTEP).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct RemotePort {
    pub mac: String,
    pub ips: Vec<String>,
    /// The underlay address of the port's host.
    pub vtep: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Segment {
    /// An overlay network: a VXLAN device with this VNI on the underlay.
    Vxlan { vni: u32 },
    /// A provider network on the host bridge of `physical_network`.
    Flat { physical_network: String },
}

/// The network's DHCP service as served on this host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DhcpSpec {
    /// The network's `network:dhcp` port: its MAC and addresses identify the server.
    pub port_id: String,
    pub mac: String,
    pub subnets: Vec<DhcpSubnet>,
    /// Static leases: only this host's ports.
    pub hosts: Vec<DhcpHost>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DhcpSubnet {
    pub id: String,
    pub cidr: String,
    /// The DHCP port's address on this subnet.
    pub server_ip: String,
    pub gateway_ip: Option<String>,
    pub dns_nameservers: Vec<String>,
    /// `(destination CIDR, next hop)` pairs of the subnet's host routes.
    pub host_routes: Vec<(String, String)>,
    /// A router holds the subnet's gateway: VMs reach metadata through it, so DHCP pushes
    /// no metadata route of its own.
    #[serde(default)]
    pub routed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DhcpHost {
    pub mac: String,
    pub ip: String,
    pub hostname: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    Running,
    Paused,
    Stopped,
    /// Nova's suspend (libvirt's managed save): the guest's memory and device state are
    /// saved to a file on the host and its QEMU ends; `Running` again restores them.
    Suspended,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VmSpec {
    /// The server's id; also names the VM's files and process.
    pub id: String,
    pub name: String,
    /// The project owning the server (labels its metrics on the host).
    #[serde(default)]
    pub project_id: String,
    pub vcpus: u32,
    pub memory_mb: u64,
    /// Root disk size; 0 means the image's own size.
    pub root_gb: u64,
    pub image: ImageRef,
    /// Direct kernel boot (the image's `kernel_id`/`ramdisk_id` properties, as in Nova).
    pub kernel: Option<ImageRef>,
    pub ramdisk: Option<ImageRef>,
    /// Kernel command line (the image's `os_command_line`), with `kernel`.
    pub cmdline: Option<String>,
    pub power: PowerState,
    pub nics: Vec<Nic>,
    /// Bumped by reboot requests: a running VM whose last boot is older is reset.
    pub boot_serial: u64,
    /// Attach an OpenStack config drive (`config-2`) built from the instance's metadata.
    #[serde(default)]
    pub config_drive: bool,
    /// Bumped by rebuild requests: a VM whose disk is older gets a fresh one from `image`.
    #[serde(default)]
    pub rebuild_serial: u64,
    /// Volumes attached to the VM, hot-plugged while it runs.
    #[serde(default)]
    pub volumes: Vec<VolumeAttachment>,
    /// The volume the VM boots from (its root disk), instead of an overlay of `image`.
    #[serde(default)]
    pub root_volume: Option<String>,
    /// The storage backend of `root_volume`; empty: a local one, found on this host.
    #[serde(default)]
    pub root_volume_backend: String,
    /// Where the root disk made from `image` lives: `file` (a qcow2 overlay on this host)
    /// or `rbd` (a clone or copy of the image in the Ceph `vms` pool).
    #[serde(default = "file_backend")]
    pub root_backend: String,
    /// A live migration this VM takes part in, described to its source and its destination
    /// host at once (neither waits for a message from the other: the source retries until
    /// the destination listens).
    #[serde(default)]
    pub migration: Option<VmMigration>,
    /// The root disk on shared storage was made by another host (the VM was evacuated from
    /// it): use it rather than making one, after fencing that host's claims on it.
    #[serde(default)]
    pub adopt_root: bool,
}

/// One live migration as one of its two hosts sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VmMigration {
    /// The migration's uuid: the hosts report progress under it.
    pub id: String,
    pub role: MigrationRole,
    /// The destination's underlay address, and the ports it listens on there for the
    /// migration stream and (block migration) the NBD server its local disks are copied to.
    pub dest_addr: String,
    pub port: u16,
    pub nbd_port: u16,
    /// Local disks are copied (QEMU's NBD export and `blockdev-mirror`); otherwise every disk
    /// is shared storage and only memory moves.
    pub block: bool,
    /// The PCI slot of each of the source VM's devices (QEMU device id → slot): the
    /// destination must build the same layout, hot-plugged devices included.
    #[serde(default)]
    pub slots: Vec<DeviceSlot>,
    /// The longest pause QEMU may plan for the switchover.
    pub downtime_ms: u64,
    /// The user aborted it: the source cancels (the VM keeps running there).
    #[serde(default)]
    pub abort: bool,
    /// The user forced it to complete: the source pauses the guest so memory stops changing.
    #[serde(default)]
    pub force_complete: bool,
    /// A cold migration (`migrate`): the source stops the VM and, while `port` is set,
    /// serves its local root disk's file at `source_addr:port`; the destination copies it
    /// (or takes over the root disk on shared storage) and starts the VM there.
    #[serde(default)]
    pub cold: bool,
    #[serde(default)]
    pub source_addr: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MigrationRole {
    Source,
    Destination,
}

/// A device of a VM at a PCI slot of its bus.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeviceSlot {
    pub device: String,
    pub slot: u8,
}

/// How a live migration went, as one of its hosts observed it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MigrationProgress {
    pub id: String,
    pub status: MigrationStatus,
    #[serde(default)]
    pub memory_total: u64,
    #[serde(default)]
    pub memory_processed: u64,
    #[serde(default)]
    pub memory_remaining: u64,
    #[serde(default)]
    pub disk_total: u64,
    #[serde(default)]
    pub disk_processed: u64,
    #[serde(default)]
    pub disk_remaining: u64,
    /// How long the guest was paused for the switchover, and the whole migration (source).
    #[serde(default)]
    pub downtime_ms: u64,
    #[serde(default)]
    pub total_ms: u64,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    /// Preparing or copying.
    #[default]
    Running,
    /// Cold migration: the source has stopped the VM and serves its disk.
    Ready,
    /// The guest runs on the destination.
    Completed,
    /// It stopped; the guest still runs on the source.
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageRef {
    pub id: String,
    pub disk_format: String,
    /// MD5 of the image data, as the image service reports it; keys the host's image cache.
    pub checksum: String,
    pub size: u64,
    /// The image service keeps its data in the Ceph images pool (`<pool>/<id>@snap`): a
    /// raw image can be cloned from there instead of copied.
    #[serde(default)]
    pub rbd: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Nic {
    pub port_id: String,
    pub mac: String,
    pub network_id: String,
    pub mtu: u32,
    #[serde(default)]
    pub fixed_ips: Vec<String>,
    /// The port's security (anti-spoofing and security group rules); None when the port
    /// has port security disabled, so that anything goes.
    #[serde(default)]
    pub firewall: Option<PortFirewall>,
}

/// What a port may send and receive: its own addresses only, and what its security groups'
/// rules allow (stateful: replies to allowed traffic always pass).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PortFirewall {
    /// MACs the VM may send from: the port's own and its allowed address pairs'.
    pub macs: Vec<String>,
    /// Addresses or CIDRs the VM may send from: fixed IPs and allowed address pairs.
    pub ips: Vec<String>,
    pub rules: Vec<FirewallRule>,
}

/// One security group rule with its remote group resolved to addresses.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FirewallRule {
    /// Traffic to the VM (true) or from it.
    pub ingress: bool,
    pub ipv6: bool,
    /// `tcp`, `udp`, `icmp`, `ipv6-icmp`, … or an IP protocol number; None: any.
    pub protocol: Option<String>,
    /// Port range (tcp/udp/sctp) or ICMP type (min) and code (max).
    pub port_min: Option<u32>,
    pub port_max: Option<u32>,
    /// The other end's addresses (CIDRs); None: anywhere.
    pub remote: Option<Vec<String>>,
}

/// A load balancer as its network node runs it: a namespace (`ciel-lb-<id>`) holding the
/// VIP port, plugged into the VIP network's bridge like a VM's tap, and haproxy serving the
/// listeners. Values are what the API accepted; the agent still parses each before it
/// becomes haproxy or nftables configuration, and a bad one fails this load balancer only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadBalancerSpec {
    pub id: String,
    /// Bumped by every change to the load balancer or its children; the agent reports the
    /// revision it serves, which is how the API's `PENDING_*` states end.
    pub revision: u64,
    pub admin_up: bool,
    pub vip: LbVip,
    pub listeners: Vec<ListenerSpec>,
    pub pools: Vec<PoolSpec>,
}

/// The VIP port as the namespace holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LbVip {
    /// Port id, network, MAC and addresses with their prefix length (`10.0.0.5/24`).
    pub port: RouterPort,
    /// The VIP subnet's gateway: the namespace's default route.
    pub gateway_ip: Option<String>,
    /// What may reach the VIP: the listeners' ports (from their `allowed_cidrs` when set),
    /// as Octavia's VIP security group; applied on the outer end of the VIP leg like a VM's
    /// port security. None: port security off.
    pub firewall: Option<PortFirewall>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ListenerSpec {
    pub id: String,
    /// `TCP`, `HTTP`, `HTTPS` (passthrough), `UDP`, `SCTP`, `TERMINATED_HTTPS`, `PROMETHEUS`.
    pub protocol: String,
    pub port: u16,
    pub admin_up: bool,
    /// Most concurrent connections; None: unlimited (the API's -1).
    pub connection_limit: Option<u32>,
    pub default_pool_id: Option<String>,
    pub timeout_client_data_ms: u32,
    pub timeout_member_connect_ms: u32,
    pub timeout_member_data_ms: u32,
    pub timeout_tcp_inspect_ms: u32,
    /// Octavia's `insert_headers` (`X-Forwarded-For` = `true`, …).
    pub insert_headers: Vec<(String, String)>,
    /// Sources allowed to connect (CIDRs); empty: anyone.
    pub allowed_cidrs: Vec<String>,
    /// In `position` order.
    pub l7policies: Vec<L7PolicySpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct L7PolicySpec {
    pub id: String,
    /// `REJECT`, `REDIRECT_TO_URL`, `REDIRECT_PREFIX`, `REDIRECT_TO_POOL`.
    pub action: String,
    pub position: u32,
    pub redirect_pool_id: Option<String>,
    pub redirect_url: Option<String>,
    pub redirect_prefix: Option<String>,
    pub redirect_http_code: Option<u16>,
    pub admin_up: bool,
    /// All must match (enabled ones only count).
    pub rules: Vec<L7RuleSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct L7RuleSpec {
    pub id: String,
    /// `HOST_NAME`, `PATH`, `FILE_TYPE`, `HEADER`, `COOKIE`, `SSL_CONN_HAS_CERT`, …
    pub rule_type: String,
    /// `REGEX`, `STARTS_WITH`, `ENDS_WITH`, `CONTAINS`, `EQUAL_TO`.
    pub compare_type: String,
    pub key: Option<String>,
    pub value: String,
    pub invert: bool,
    pub admin_up: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PoolSpec {
    pub id: String,
    /// `TCP`, `HTTP`, `HTTPS`, `PROXY`, `PROXYV2`, `UDP`, `SCTP`.
    pub protocol: String,
    /// `ROUND_ROBIN`, `LEAST_CONNECTIONS`, `SOURCE_IP`, `SOURCE_IP_PORT`.
    pub lb_algorithm: String,
    pub session_persistence: Option<SessionPersistence>,
    pub admin_up: bool,
    pub members: Vec<MemberSpec>,
    pub monitor: Option<MonitorSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionPersistence {
    /// `SOURCE_IP`, `HTTP_COOKIE`, `APP_COOKIE`.
    pub kind: String,
    pub cookie_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberSpec {
    pub id: String,
    pub address: String,
    pub port: u16,
    pub weight: u32,
    pub admin_up: bool,
    pub backup: bool,
    pub monitor_address: Option<String>,
    pub monitor_port: Option<u16>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MonitorSpec {
    pub id: String,
    /// `PING`, `TCP`, `HTTP`, `HTTPS`, `TLS-HELLO`, `UDP-CONNECT`, `SCTP`.
    pub kind: String,
    pub delay_s: u32,
    pub timeout_s: u32,
    pub max_retries: u32,
    pub max_retries_down: u32,
    pub http_method: Option<String>,
    pub url_path: Option<String>,
    /// `200`, `200,202`, `200-204`.
    pub expected_codes: Option<String>,
    pub http_version: Option<String>,
    pub domain_name: Option<String>,
    pub admin_up: bool,
}

/// What a network node observed of one of its load balancers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadBalancerStatus {
    pub id: String,
    /// The newest revision whose configuration is serving (0: none yet).
    pub applied_revision: u64,
    /// A revision that could not be applied and why (the previous configuration, if any,
    /// keeps serving).
    pub failed: Option<(u64, String)>,
    pub listeners: Vec<ListenerStatus>,
    pub members: Vec<MemberHealth>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ListenerStatus {
    pub id: String,
    /// Accepting connections.
    pub up: bool,
    pub stats: LbStats,
}

/// Octavia's listener statistics (cumulative since the load balancer started here).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LbStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub active_connections: u64,
    pub total_connections: u64,
    pub request_errors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberHealth {
    pub id: String,
    pub pool_id: String,
    pub health: MemberState,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Its monitor passes.
    Up,
    /// Its monitor fails.
    Down,
    /// No monitor: served without checks.
    NoCheck,
    /// Administratively down (or its pool is).
    Maint,
}

/// What the agent observed after applying `generation`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostReport {
    pub generation: u64,
    pub vms: Vec<VmStatus>,
    /// Ports whose tap is plugged into its network's bridge (and whose firewall is applied).
    #[serde(default)]
    pub ports_up: Vec<String>,
    /// Ports the host could not set up as wanted, e.g. a firewall whose values do not
    /// parse (such a port gets no traffic): (port id, why).
    #[serde(default)]
    pub port_errors: Vec<(String, String)>,
    /// The volumes this host holds, with their current size.
    #[serde(default)]
    pub volumes: Vec<VolumeStatus>,
    /// The snapshots this host holds.
    #[serde(default)]
    pub volume_snapshots: Vec<String>,
    /// Volumes or snapshots that could not be made: (id, why).
    #[serde(default)]
    pub storage_errors: Vec<(String, String)>,
    /// The load balancers this host runs, as observed.
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerStatus>,
    /// Backup tasks finished (or failed) on this host.
    #[serde(default)]
    pub backups: Vec<BackupStatus>,
    /// Volume migration tasks finished (or failed) on this host.
    #[serde(default)]
    pub volume_migrations: Vec<VolumeMigrationStatus>,
}

/// What a host measured of itself and its VMs, sent every metering interval to
/// `/agent/v1/hosts/{id}/samples` for the dashboard's graphs. Counters are cumulative (the
/// controller turns them into rates), so a lost sample only widens the step between two.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SamplesReport {
    /// The host's own figures; none from simulated hosts.
    #[serde(default)]
    pub host: Option<HostSample>,
    #[serde(default)]
    pub servers: Vec<ServerSample>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostSample {
    /// CPU time of all processors, and the part not idle or waiting for I/O.
    pub cpu_total_seconds: f64,
    pub cpu_busy_seconds: f64,
    pub memory_total_bytes: u64,
    pub memory_available_bytes: u64,
    /// The storage backends' total size and free space.
    pub storage_size_bytes: u64,
    pub storage_free_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerSample {
    pub server_id: String,
    pub cpu_seconds: f64,
    pub memory_rss_bytes: u64,
    /// Summed over the server's disks.
    pub disk_read_bytes: u64,
    pub disk_write_bytes: u64,
    /// Summed over the server's ports, as the guest sees them.
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
}

/// The controller's answer to a samples report: when to send the next one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SamplesAck {
    pub interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeStatus {
    pub id: String,
    pub size_gb: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VmStatus {
    pub id: String,
    pub state: VmState,
    /// The boot serial the running VM was last (re)started for.
    pub boot_serial: u64,
    /// Why the VM is in `Error`.
    pub message: Option<String>,
    /// The volumes the VM has as disks now.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// The PCI slots of the running VM's devices (what a migration's destination rebuilds).
    #[serde(default)]
    pub slots: Vec<DeviceSlot>,
    /// The live migration the VM takes part in, as this host sees it.
    #[serde(default)]
    pub migration: Option<MigrationProgress>,
    /// Outcomes of its attached volumes' mirrors ([`VolumeAttachment::mirror`]): `Copied`
    /// once the disk runs on the new copy, or `Failed` (then it still runs on the old one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_migrations: Vec<VolumeMigrationStatus>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VmState {
    Building,
    Running,
    Paused,
    Stopped,
    /// No QEMU runs; the guest's saved state waits on the host to be restored.
    Suspended,
    Error,
}

/// What an instance may learn about itself: served by the metadata service and written to its
/// config drive. The agent renders the OpenStack and EC2 layouts from it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceMetadata {
    pub uuid: String,
    pub name: String,
    pub hostname: String,
    pub project_id: String,
    pub availability_zone: String,
    pub launch_index: u32,
    /// The key pair named at boot: `(name, type, public key)`.
    pub key: Option<(String, String, String)>,
    /// User metadata (`metadata` of the server).
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// Raw user data (decoded from the API's base64).
    pub user_data: Option<Vec<u8>>,
    /// OpenStack `network_data.json`.
    pub network_data: serde_json::Value,
    pub fixed_ips: Vec<String>,
    pub floating_ips: Vec<String>,
    pub instance_type: String,
    pub image_id: String,
    pub created_at: String,
}

/// Path of the metadata lookup on the controller, under a host's base URL.
pub const METADATA_PATH: &str = "metadata";

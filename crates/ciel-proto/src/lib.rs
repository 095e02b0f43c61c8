//! What the controller and a hypervisor agent say to each other. The controller publishes
//! a [`HostConfig`] per host with a growing generation: the complete desired state of that
//! host. The agent persists the newest one it has seen, reconciles its drivers towards it
//! and sends a [`HostReport`] of what it observed. Nothing is a command; every message can
//! be repeated or lost without harm, because the next one carries the whole picture.

use serde::{Deserialize, Serialize};

/// Paths of the agent API on the controller.
pub const REGISTER_PATH: &str = "/agent/v1/hosts";

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
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    Running,
    Paused,
    Stopped,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VmSpec {
    /// The server's id; also names the VM's files and process.
    pub id: String,
    pub name: String,
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
    /// Bumped by rebuild requests: a VM whose disk is older gets a fresh one from `image`.
    #[serde(default)]
    pub rebuild_serial: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageRef {
    pub id: String,
    pub disk_format: String,
    /// MD5 of the image data, as the image service reports it; keys the host's image cache.
    pub checksum: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Nic {
    pub port_id: String,
    pub mac: String,
    pub network_id: String,
    pub mtu: u32,
}

/// What the agent observed after applying `generation`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostReport {
    pub generation: u64,
    pub vms: Vec<VmStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VmStatus {
    pub id: String,
    pub state: VmState,
    /// The boot serial the running VM was last (re)started for.
    pub boot_serial: u64,
    /// Why the VM is in `Error`.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VmState {
    Building,
    Running,
    Paused,
    Stopped,
    Error,
}

//! The TOML config file. Every `ciel up` flag can also be set here; flags win over the file.
//! Unknown keys are errors that name the key, so typos never pass silently.

use anyhow::Context;
use ciel_controller::config::{
    AuditConfig, IdentityConfig, ImageConfig, MetricsConfig, NetworkConfig, SchedulerConfig, UsageConfig,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    /// Token keys, join tokens and images, seen alike by every controller [default: data_dir].
    pub shared_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub region: Option<String>,
    pub admin_password: Option<String>,
    pub log: Option<String>,
    /// Serve the web dashboard from this directory instead of the built-in copy.
    pub dashboard_dir: Option<PathBuf>,
    #[serde(default)]
    pub identity: Option<IdentityConfig>,
    #[serde(default)]
    pub image: Option<ImageConfig>,
    #[serde(default)]
    pub network: Option<NetworkConfig>,
    #[serde(default)]
    pub scheduler: Option<SchedulerConfig>,
    #[serde(default)]
    pub compute: ComputeConfig,
    /// Who reads the controller's `/metrics` without a token; where the agent serves its own.
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    /// Where the audit log of write API calls goes.
    #[serde(default)]
    pub audit: Option<AuditConfig>,
    /// Metering: the sampling interval and how long usage is kept.
    #[serde(default)]
    pub usage: Option<UsageConfig>,
    #[serde(default)]
    pub database: DatabaseConfig,
    /// The Ceph cluster of the `rbd` storage backend (volumes; root disks with
    /// `[compute] images_type = "rbd"`).
    #[serde(default)]
    pub ceph: Option<ciel_agent::storage::CephConfig>,
    /// Where volume backups go (`target = "dir"` with `dir`, or `"rbd"`: the `[ceph]`
    /// cluster's backups pool).
    #[serde(default)]
    pub backup: ciel_agent::storage::BackupConfig,
    /// Image files registered in the image service at start (public, owned by admin).
    #[serde(default)]
    pub images: Vec<ciel_controller::config::SeedImage>,
}

/// `[database]`: where the controller keeps its state.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…`, shared by several controllers [default: the SQLite file in `data_dir`].
    pub url: Option<String>,
}

/// The hypervisor agent `ciel up` runs inside itself, making this host a compute node.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComputeConfig {
    /// Run the local agent (false: a controller-only host; agents join with `ciel agent`).
    pub agent: bool,
    /// `qemu` (real VMs) or `fake` (benchmarks only; never runs a VM).
    pub driver: String,
    /// `kvm`, or `qemu` for TCG where KVM is unusable (nested hosts, CI machines).
    pub virt_type: String,
    /// Name this host registers under [default: the system hostname].
    pub hostname: Option<String>,
    /// This host's address on the underlay, which other hypervisors' VXLAN tunnels reach
    /// (needed once a second hypervisor joins).
    pub underlay_ip: Option<String>,
    /// The interface VXLAN tunnels use (its address is `underlay_ip` when that is unset).
    pub underlay_interface: Option<String>,
    /// Physical network name -> this host's interface on it (e.g. `{ public = "eth1" }`):
    /// routers run here and reach their external network through it.
    pub provider_interfaces: std::collections::BTreeMap<String, String>,
    /// The `lvm` storage backend: `lvm = { volume_group = "vg0", thin_pool = "pool" }`.
    pub lvm: Option<ciel_agent::storage::LvmConfig>,
    /// Where root disks of VMs booted from images go: `file` (qcow2 overlays) or `rbd`
    /// (the `[ceph]` cluster's vms pool).
    pub images_type: String,
}

impl Default for ComputeConfig {
    fn default() -> Self {
        Self {
            agent: true,
            driver: "qemu".into(),
            virt_type: "kvm".into(),
            hostname: None,
            underlay_ip: None,
            underlay_interface: None,
            provider_interfaces: Default::default(),
            lvm: None,
            images_type: "file".into(),
        }
    }
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid config file {}: {}", path.display(), e.to_string().trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named_in_the_error() {
        let err = toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"\nlisten_port = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_port"), "{err}");
        let err = toml::from_str::<FileConfig>("[identity]\ntoken_expiry = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("token_expiry"), "{err}");
    }

    #[test]
    fn identity_section_overrides_defaults_only_where_set() {
        let c: FileConfig = toml::from_str("[identity]\nlockout_failure_attempts = 5\n").unwrap();
        let id = c.identity.unwrap();
        assert_eq!(id.lockout_failure_attempts, 5);
        assert_eq!(id.token_expiration, 3600);
    }

    #[test]
    fn external_network_can_be_changed_or_disabled() {
        let c: FileConfig = toml::from_str("[network.external]\ncidr = \"192.0.2.0/24\"\n").unwrap();
        let ext = c.network.unwrap().external;
        assert!(ext.enabled);
        assert_eq!(ext.cidr, "192.0.2.0/24");
        assert_eq!(ext.name, "public");
        let c: FileConfig = toml::from_str("[network.external]\nenabled = false\n").unwrap();
        assert!(!c.network.unwrap().external.enabled);
        let err = toml::from_str::<FileConfig>("[network.external]\nrange = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("range"), "{err}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = toml::from_str::<FileConfig>("[identity]\nlockout_duration = \"long\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lockout_duration") || err.contains("invalid type"),
            "{err}"
        );
    }
}

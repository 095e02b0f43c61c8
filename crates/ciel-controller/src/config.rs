//! Controller settings. Every field can come from the TOML config file or a CLI flag
//! (the `ciel` binary merges both); defaults are what a fresh all-in-one wants.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Identity (Keystone) behaviour, including Keystone's `[security_compliance]` options.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// Token lifetime in seconds (Keystone `[token] expiration`).
    pub token_expiration: i64,
    /// Failed password attempts before the account locks; 0 disables lockout.
    pub lockout_failure_attempts: u32,
    /// Seconds an account stays locked.
    pub lockout_duration: i64,
    /// A new password must differ from the last N (0 or 1 disables the history check).
    pub unique_last_password_count: u32,
    /// Days before a user may change their password again.
    pub minimum_password_age: i64,
    /// Days a password stays valid; 0 means passwords never expire.
    pub password_expires_days: i64,
    /// Number of token keys kept in the key repository (primary + secondaries + staged).
    pub max_active_keys: usize,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            token_expiration: 3600,
            lockout_failure_attempts: 2,
            lockout_duration: 5,
            unique_last_password_count: 2,
            minimum_password_age: 0,
            password_expires_days: 0,
            max_active_keys: 3,
        }
    }
}

/// Image service limits (Glance's `image_size_cap`, quotas and the upload inspector).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageConfig {
    /// Largest image upload in bytes.
    pub max_image_bytes: i64,
    /// Largest virtual disk size an uploaded image may declare, in bytes.
    pub max_virtual_size: i64,
    /// Images a project may own; 0 means unlimited.
    pub max_images_per_project: i64,
    /// Bytes of image data a project may store; 0 means unlimited.
    pub max_bytes_per_project: i64,
    /// Refuse data whose real format differs from the declared `disk_format` (Glance's format
    /// enforcement). Backing files, external data files and the size cap are refused regardless.
    pub require_format_match: bool,
    /// The `qemu-img` used to inspect uploads.
    pub qemu_img: String,
    /// Where image data lives: `file` (the shared directory) or `rbd` (the Ceph images pool
    /// of `[ceph]`, where hosts clone raw images instead of copying them).
    pub store: String,
    /// The pool of the `rbd` store (from `[ceph]`).
    #[serde(skip)]
    pub rbd: Option<RbdPool>,
}

/// A Ceph pool and how to reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct RbdPool {
    pub conf: std::path::PathBuf,
    /// The cephx user, without `client.`.
    pub client: String,
    pub pool: String,
}

impl Default for ImageConfig {
    fn default() -> Self {
        const TIB: i64 = 1 << 40;
        Self {
            max_image_bytes: TIB,
            max_virtual_size: 2 * TIB,
            max_images_per_project: 1000,
            max_bytes_per_project: 2 * TIB,
            require_format_match: true,
            qemu_img: "qemu-img".into(),
            store: "file".into(),
            rbd: None,
        }
    }
}

/// Scheduler settings (`[scheduler]`), as Nova's allocation ratios and service down time.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Virtual CPUs placed per physical CPU.
    pub cpu_allocation_ratio: f64,
    pub ram_allocation_ratio: f64,
    pub disk_allocation_ratio: f64,
    /// Seconds without a word from a host before it is down (gets no new servers).
    pub host_down_after: i64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            cpu_allocation_ratio: 16.0,
            ram_allocation_ratio: 1.5,
            disk_allocation_ratio: 1.0,
            host_down_after: 60,
        }
    }
}

/// Network service settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// VXLAN network identifiers handed to tenant networks, inclusive.
    pub vni_min: i64,
    pub vni_max: i64,
    /// MTU of the underlay; VXLAN networks get 50 bytes less.
    pub underlay_mtu: i64,
    /// The external (provider) network a fresh cloud gets, for router gateways and floating IPs.
    pub external: ExternalNetworkConfig,
}

/// The external network `ciel up` creates on first start (and leaves alone afterwards).
/// The default mirrors DevStack's `public` network so OpenStack habits carry over.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalNetworkConfig {
    /// Set to false for a cloud without an external network.
    pub enabled: bool,
    pub name: String,
    /// `provider:physical_network`; the data plane maps it to a host bridge.
    pub physical_network: String,
    pub cidr: String,
    /// Defaults to the first address of `cidr`.
    pub gateway_ip: Option<String>,
    /// Floating-IP and router-gateway range as `FIRST-LAST`; defaults to the whole subnet.
    pub allocation_pool: Option<String>,
}

impl Default for ExternalNetworkConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            name: "public".into(),
            physical_network: "public".into(),
            cidr: "172.24.4.0/24".into(),
            gateway_ip: None,
            allocation_pool: None,
        }
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            vni_min: 1000,
            vni_max: 65535,
            underlay_mtu: 1500,
            external: ExternalNetworkConfig::default(),
        }
    }
}

/// An image file `ciel up` registers at start so a fresh cloud has something to boot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedImage {
    pub name: String,
    pub file: std::path::PathBuf,
    /// Detected with qemu-img when absent.
    pub disk_format: Option<String>,
    #[serde(default = "bare")]
    pub container_format: String,
    /// Extra image properties, e.g. `kernel_id`.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

fn bare() -> String {
    "bare".into()
}

/// `[metrics]`: who may read `/metrics` without a token, and where an agent serves its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Record and serve the controller's metrics (false: `/metrics` answers 404 and requests
    /// are not counted; for measuring what metrics cost).
    pub enabled: bool,
    /// Source addresses or networks (`10.0.0.5`, `10.0.0.0/24`) that read the controller's
    /// `/metrics` without a token; anyone else needs an admin token.
    #[serde(deserialize_with = "networks")]
    pub allow: Vec<ipnet::IpNet>,
    /// Where the agent serves its `/metrics` (`ciel up`'s own agent and `ciel agent`);
    /// empty: not served.
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow: vec!["127.0.0.0/8".parse().expect("valid"), "::1/128".parse().expect("valid")],
            listen: "127.0.0.1:9101".into(),
        }
    }
}

/// Addresses or networks, an address being a network of one.
fn networks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IP address or network")))
        })
        .collect()
}

/// `[usage]`: how often resources are sampled for metering and how long it is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageConfig {
    /// Seconds between samples; a deleted resource's end is known to within half of it.
    pub interval: u64,
    /// Days a finished run is kept.
    pub retention_days: u64,
}

impl Default for UsageConfig {
    fn default() -> Self {
        Self {
            interval: 60,
            retention_days: 14,
        }
    }
}

/// `[audit]`: where the record of every write API call goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// `file` (`audit.log` in the data directory, rotated), `stdout` or `off`.
    pub to: String,
    /// The log is rotated when it grows past this size.
    pub max_bytes: u64,
    /// How many rotated logs are kept (`audit.log.1` is the newest).
    pub keep: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            to: "file".into(),
            max_bytes: 64 << 20,
            keep: 5,
        }
    }
}

/// Everything the controller needs to start.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    pub data_dir: PathBuf,
    /// The shared database (`postgres://…`); none: the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Files every controller must see alike: the token key repository, the join tokens and
    /// the image store. Several controllers point it at one shared directory (NFS, CephFS…);
    /// one controller keeps it in `data_dir`.
    pub shared_dir: PathBuf,
    pub listen: SocketAddr,
    /// Base URL clients use to reach this controller (catalog endpoints, links).
    pub public_url: String,
    pub region: String,
    /// Admin password for the first start; generated when absent.
    pub admin_password: Option<String>,
    pub identity: IdentityConfig,
    pub image: ImageConfig,
    pub seed_images: Vec<SeedImage>,
    pub network: NetworkConfig,
    pub scheduler: SchedulerConfig,
    /// Serve the web dashboard from this directory instead of the files built into the binary.
    pub dashboard_dir: Option<PathBuf>,
    pub metrics: MetricsConfig,
    pub audit: AuditConfig,
    pub usage: UsageConfig,
}

impl ControllerConfig {
    pub fn new(data_dir: PathBuf, listen: SocketAddr) -> Self {
        let public_url = default_public_url(listen);
        Self {
            shared_dir: data_dir.clone(),
            data_dir,
            database_url: None,
            listen,
            public_url,
            region: "RegionOne".into(),
            admin_password: None,
            identity: IdentityConfig::default(),
            image: ImageConfig::default(),
            seed_images: vec![],
            network: NetworkConfig::default(),
            scheduler: SchedulerConfig::default(),
            dashboard_dir: None,
            metrics: MetricsConfig::default(),
            audit: AuditConfig::default(),
            usage: UsageConfig::default(),
        }
    }
}

/// `http://<listen>` unless listening on all addresses, where loopback is the only safe guess.
pub fn default_public_url(listen: SocketAddr) -> String {
    if listen.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", listen.port())
    } else {
        format!("http://{listen}")
    }
}

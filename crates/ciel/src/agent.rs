//! `ciel agent`: a hypervisor agent joining a controller.

use anyhow::Context;
use ciel_agent::storage::{CephConfig, LvmConfig, StorageConfig};
use ciel_agent::{Agent, AgentConfig};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Copy, ValueEnum)]
pub enum DriverKind {
    /// Real VMs with QEMU.
    Qemu,
    /// In-memory VMs for scale benchmarks and tests only; never runs a real VM.
    Fake,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum VirtTypeArg {
    Kvm,
    Qemu,
}

#[derive(Args)]
pub struct AgentArgs {
    /// Controller base URL, e.g. http://10.0.0.1:8080; several controllers sharing one
    /// database separated by commas (the agent moves to the next when one fails), or the
    /// URL of a load balancer in front of them.
    #[arg(long)]
    controller: String,
    /// The join token: from `ciel join-token create` on the controller (or its
    /// SHARED_DIR/agent-join-token, SHARED_DIR being DATA_DIR by default). A joined host re-registers with its saved host credential.
    /// Tokens are URL-safe base64 and may begin with '-'.
    #[arg(long, env = "CIEL_JOIN_TOKEN", hide_env_values = true, allow_hyphen_values = true)]
    join_token: String,
    /// Name of this host [default: the system hostname].
    #[arg(long)]
    hostname: Option<String>,
    /// Address other hosts reach this one at for VXLAN.
    #[arg(long)]
    underlay_ip: Option<String>,
    /// The interface VXLAN tunnels leave by; its IPv4 address is the underlay IP unless
    /// --underlay-ip is given.
    #[arg(long)]
    underlay_interface: Option<String>,
    /// PHYSNET=INTERFACE: this host's interface on a provider (external) network, which its
    /// routers use for SNAT and floating IPs (repeatable; makes the host a network node).
    #[arg(long = "provider-interface", value_parser = parse_mapping)]
    provider_interfaces: Vec<(String, String)>,
    /// Address of the agent's own API (console logs), which the controller calls.
    #[arg(long, default_value = "0.0.0.0:8779")]
    listen: std::net::SocketAddr,
    /// Where the agent serves its Prometheus metrics (`/metrics`, no authentication: servers'
    /// and projects' ids, traffic counters); `off`: not served. Give the address Prometheus
    /// reaches (e.g. the underlay's) to scrape it from another machine.
    #[arg(long, default_value = "127.0.0.1:9101")]
    metrics_listen: String,
    /// URL the controller reaches the agent's API at [default: from --listen / --underlay-ip].
    #[arg(long)]
    advertise_url: Option<String>,
    /// Volume group of the LVM thin pool that volumes of the `lvm` backend (volume types
    /// with `volume_backend_name=lvm`) go to; needs --lvm-thin-pool.
    #[arg(long, requires = "lvm_thin_pool")]
    lvm_volume_group: Option<String>,
    /// Thin pool (in --lvm-volume-group) of the `lvm` backend.
    #[arg(long, requires = "lvm_volume_group")]
    lvm_thin_pool: Option<String>,
    /// ceph.conf of the Ceph cluster of the `rbd` backend (volumes, and root disks with
    /// --images-type rbd); the keyring of --ceph-client is found through it.
    #[arg(long)]
    ceph_conf: Option<PathBuf>,
    /// The cephx user (without `client.`).
    #[arg(long, default_value = "ciel", requires = "ceph_conf")]
    ceph_client: String,
    /// Pool of RBD volumes.
    #[arg(long, default_value = "volumes", requires = "ceph_conf")]
    ceph_volumes_pool: String,
    /// Pool of the image service's RBD store.
    #[arg(long, default_value = "images", requires = "ceph_conf")]
    ceph_images_pool: String,
    /// Pool of root disks (--images-type rbd).
    #[arg(long, default_value = "vms", requires = "ceph_conf")]
    ceph_vms_pool: String,
    /// Pool of volume backups (--backup-target rbd).
    #[arg(long, default_value = "backups", requires = "ceph_conf")]
    ceph_backups_pool: String,
    /// Where volume backups go: `dir` (--backup-dir) or `rbd` (the Ceph backups pool).
    #[arg(long, value_parser = ["dir", "rbd"])]
    backup_target: Option<String>,
    /// The `dir` backup target's directory [default: <state-dir>/backups]; a mount several
    /// hosts share lets any of them restore any backup.
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// Where root disks of VMs booted from images go: `file` (qcow2 overlays in the state
    /// directory) or `rbd` (the Ceph vms pool: shared, so VMs can move without copying).
    #[arg(long, default_value = "file", value_parser = ["file", "rbd"])]
    images_type: String,
    /// Where the agent keeps its state.
    #[arg(long, default_value = "/var/lib/ciel-agent")]
    state_dir: PathBuf,
    /// The hypervisor driver.
    #[arg(long, value_enum, default_value = "qemu")]
    driver: DriverKind,
    /// QEMU acceleration: kvm, or qemu (TCG, for hosts where KVM is unusable).
    #[arg(long, value_enum, default_value = "kvm")]
    virt_type: VirtTypeArg,
    /// Scale benchmarks only, with `--driver fake`: run this many simulated hosts in this one
    /// process, named HOSTNAME-0001 and up, each with its own state directory and agent API.
    #[arg(long, default_value_t = 1, hide = true)]
    simulate_hosts: u32,
    /// Log filter, e.g. info or ciel_agent=debug.
    #[arg(long, default_value = "info")]
    log: String,
}

/// The hypervisor driver named by `driver` (`qemu`/`fake`) and `virt_type` (`kvm`/`qemu`).
pub fn make_driver(
    driver: &str,
    virt_type: &str,
    state_dir: &std::path::Path,
    storage: &StorageConfig,
) -> anyhow::Result<Arc<dyn ciel_agent::driver::Hypervisor>> {
    Ok(match driver {
        "fake" => Arc::new(ciel_agent::fake::FakeHypervisor::default()),
        "qemu" => {
            let virt = match virt_type {
                "kvm" => ciel_agent::qemu::VirtType::Kvm,
                "qemu" | "tcg" => ciel_agent::qemu::VirtType::Qemu,
                other => anyhow::bail!("unknown virt_type '{other}' (expected kvm or qemu)"),
            };
            std::fs::create_dir_all(state_dir)?;
            Arc::new(ciel_agent::qemu::QemuDriver::new(state_dir, virt, storage)?)
        }
        other => anyhow::bail!("unknown hypervisor driver '{other}' (expected qemu or fake)"),
    })
}

/// The storage backends of a host, checked: a Ceph section names real pools and a conf
/// file, and root disks go to `rbd` only with a Ceph cluster.
pub fn storage_config(
    lvm: Option<LvmConfig>,
    ceph: Option<CephConfig>,
    images_type: &str,
) -> anyhow::Result<StorageConfig> {
    if let Some(c) = &ceph {
        c.validate()?;
    }
    match images_type {
        "file" => {}
        "rbd" if ceph.is_some() => {}
        "rbd" => anyhow::bail!("images_type rbd needs a Ceph cluster ([ceph] conf, or --ceph-conf)"),
        other => anyhow::bail!("unknown images_type '{other}' (expected file or rbd)"),
    }
    Ok(StorageConfig {
        lvm,
        ceph,
        backup: Default::default(),
    })
}

fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("expected PHYSNET=INTERFACE, got {s:?}")),
    }
}

pub fn system_hostname() -> anyhow::Result<String> {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .context("cannot read /etc/hostname; set the hostname explicitly")
}

pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).context("invalid log filter")?)
        .init();
    let lvm = match (&args.lvm_volume_group, &args.lvm_thin_pool) {
        (Some(vg), Some(pool)) => Some(LvmConfig {
            volume_group: vg.clone(),
            thin_pool: pool.clone(),
        }),
        _ => None,
    };
    let ceph = args.ceph_conf.as_ref().map(|conf| CephConfig {
        conf: conf.clone(),
        client: args.ceph_client.clone(),
        volumes_pool: args.ceph_volumes_pool.clone(),
        images_pool: args.ceph_images_pool.clone(),
        vms_pool: args.ceph_vms_pool.clone(),
        backups_pool: args.ceph_backups_pool.clone(),
    });
    let mut storage = storage_config(lvm, ceph, &args.images_type)?;
    storage.backup = ciel_agent::storage::BackupConfig {
        target: args.backup_target.clone(),
        dir: args.backup_dir.clone(),
    };
    storage.backup.validate(storage.ceph.as_ref())?;
    let driver = make_driver(
        match args.driver {
            DriverKind::Fake => "fake",
            DriverKind::Qemu => "qemu",
        },
        match args.virt_type {
            VirtTypeArg::Kvm => "kvm",
            VirtTypeArg::Qemu => "qemu",
        },
        &args.state_dir,
        &storage,
    )?;
    let hostname = match args.hostname {
        Some(h) => h,
        None => system_hostname()?,
    };
    if args.simulate_hosts > 1 && !matches!(args.driver, DriverKind::Fake) {
        anyhow::bail!("--simulate-hosts needs --driver fake");
    }
    let mut agents = vec![];
    for i in 0..args.simulate_hosts {
        let (hostname, state_dir, driver) = if args.simulate_hosts > 1 {
            let dir = args.state_dir.join(format!("host-{:04}", i + 1));
            (
                format!("{hostname}-{:04}", i + 1),
                dir.clone(),
                make_driver("fake", "qemu", &dir, &StorageConfig::default())?,
            )
        } else {
            (hostname.clone(), args.state_dir.clone(), driver.clone())
        };
        agents.push(Agent::new(
            AgentConfig {
                controller: args.controller.clone(),
                join_token: args.join_token.clone(),
                hostname,
                underlay_ip: args.underlay_ip.clone(),
                underlay_interface: args.underlay_interface.clone(),
                provider_interfaces: args.provider_interfaces.clone(),
                state_dir,
                listen: args.listen,
                advertise_url: args.advertise_url.clone(),
                storage: storage.clone(),
                images_type: args.images_type.clone(),
            },
            driver,
        )?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        serve_metrics(&args.metrics_listen).await?;
        let mut all = tokio::task::JoinSet::new();
        for a in agents {
            all.spawn(a.run());
        }
        tokio::select! {
            Some(r) = all.join_next() => r?,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// Serves the agents' `/metrics` on `listen` (`off` or empty: not at all). An address that
/// does not parse is an error; one taken (another agent on this host) is logged, and the
/// agent runs without its metrics.
pub async fn serve_metrics(listen: &str) -> anyhow::Result<()> {
    if listen.is_empty() || listen == "off" {
        return Ok(());
    }
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("invalid metrics address '{listen}' (expected IP:PORT or off)"))?;
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => {
            tracing::info!(%addr, "agent metrics at /metrics");
            tokio::spawn(ciel_agent::metrics::serve(listener));
        }
        Err(e) => tracing::error!(%addr, error = %e, "cannot serve the agent's metrics; running without them"),
    }
    Ok(())
}

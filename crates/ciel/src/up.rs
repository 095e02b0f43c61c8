//! `ciel up`: the all-in-one cloud on one host; `ciel controller`: the same APIs without the
//! local agent, one of several controllers sharing a PostgreSQL database.

use crate::settings::FileConfig;
use anyhow::Context;
use ciel_controller::config::{default_public_url, ControllerConfig};
use ciel_controller::Controller;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Where Ciel keeps its database, keys, images and disks [default: /var/lib/ciel].
    #[arg(long, env = "CIEL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The database: `postgres://USER:PASSWORD@HOST:PORT/DB`, shared by several controllers
    /// [default: the SQLite file DATA_DIR/ciel.db].
    #[arg(long, env = "CIEL_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// A directory every controller sees alike (token keys, join tokens, images), for several
    /// controllers [default: DATA_DIR].
    #[arg(long, env = "CIEL_SHARED_DIR")]
    shared_dir: Option<PathBuf>,
    /// Address of the API endpoint [default: 127.0.0.1:8080].
    #[arg(long, env = "CIEL_LISTEN")]
    listen: Option<String>,
    /// URL clients use to reach the APIs (catalog endpoints) [default: http://<listen>].
    #[arg(long, env = "CIEL_PUBLIC_URL")]
    public_url: Option<String>,
    /// Password of the `admin` user; generated on first start when not given.
    #[arg(long, env = "CIEL_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// TOML config file; flags override it.
    #[arg(long, env = "CIEL_CONFIG")]
    config: Option<PathBuf>,
    /// Register an image file at start: NAME=PATH (public; format detected with qemu-img).
    /// Repeatable; an image with that name that already exists is left alone.
    #[arg(long = "image", value_name = "NAME=PATH")]
    images: Vec<String>,
    /// Serve the web dashboard from this directory (e.g. `dashboard/dist`) instead of the copy
    /// built into the binary; for dashboard development.
    #[arg(long, env = "CIEL_DASHBOARD_DIR")]
    dashboard_dir: Option<PathBuf>,
    /// Log filter (tracing env-filter syntax) [default: info].
    #[arg(long, env = "CIEL_LOG")]
    log: Option<String>,
}

/// What runs in this process besides the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `ciel up`: the controller and, unless `[compute] agent = false`, this host's agent.
    AllInOne,
    /// `ciel controller`: the controller alone.
    Controller,
}

pub fn run(args: UpArgs, role: Role) -> anyhow::Result<()> {
    let started = Instant::now();
    let file = match &args.config {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let filter = args.log.clone().or(file.log.clone()).unwrap_or_else(|| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).context("invalid log filter")?)
        .init();

    let data_dir = args
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("/var/lib/ciel"));
    let listen_text = args.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_text
        .parse()
        .with_context(|| format!("invalid listen address '{listen_text}' (expected HOST:PORT, e.g. 127.0.0.1:8080)"))?;
    let mut cfg = ControllerConfig::new(data_dir, listen);
    cfg.database_url = args.database.or(file.database.url);
    if let Some(shared) = args.shared_dir.or(file.shared_dir) {
        cfg.shared_dir = shared;
    }
    cfg.public_url = args
        .public_url
        .or(file.public_url)
        .unwrap_or_else(|| default_public_url(listen));
    cfg.public_url = cfg.public_url.trim_end_matches('/').to_string();
    if let Some(r) = file.region {
        cfg.region = r;
    }
    cfg.admin_password = args.admin_password.or(file.admin_password);
    if let Some(id) = file.identity {
        cfg.identity = id;
    }
    if let Some(img) = file.image {
        cfg.image = img;
    }
    match (cfg.image.store.as_str(), &file.ceph) {
        ("file", _) => {}
        ("rbd", Some(ceph)) => {
            ceph.validate()?;
            cfg.image.rbd = Some(ciel_controller::config::RbdPool {
                conf: ceph.conf.clone(),
                client: ceph.client.clone(),
                pool: ceph.images_pool.clone(),
            });
        }
        ("rbd", None) => anyhow::bail!("[image] store = \"rbd\" needs a [ceph] section"),
        (other, _) => anyhow::bail!("unknown [image] store '{other}' (expected file or rbd)"),
    }
    if let Some(s) = file.scheduler {
        cfg.scheduler = s;
    }
    if let Some(m) = file.metrics.clone() {
        cfg.metrics = m;
    }
    if let Some(a) = file.audit.clone() {
        cfg.audit = a;
    }
    if let Some(u) = file.usage.clone() {
        cfg.usage = u;
    }
    if let Some(net) = file.network {
        cfg.network = net;
    }
    cfg.dashboard_dir = args.dashboard_dir.or(file.dashboard_dir);
    cfg.seed_images = file.images;
    for spec in &args.images {
        let (name, path) = spec
            .split_once('=')
            .with_context(|| format!("invalid --image '{spec}': expected NAME=PATH"))?;
        cfg.seed_images.push(ciel_controller::config::SeedImage {
            name: name.to_string(),
            file: PathBuf::from(path),
            disk_format: None,
            container_format: "bare".into(),
            properties: Default::default(),
        });
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let data_dir = cfg.data_dir.clone();
        let shared_dir = cfg.shared_dir.clone();
        let public_url = cfg.public_url.clone();
        let region = cfg.region.clone();
        let given_password = cfg.admin_password.clone();
        let agent_metrics = cfg.metrics.listen.clone();
        let controller = Controller::start(cfg).await?;
        if role == Role::AllInOne && file.compute.agent {
            start_local_agent(
                &file.compute,
                file.ceph.as_ref(),
                &file.backup,
                &data_dir,
                &shared_dir,
                listen,
            )?;
            crate::agent::serve_metrics(&agent_metrics).await?;
        }
        // The password this start set, or the one it was given (another controller may have
        // bootstrapped with it: it is the current one either way).
        let known_password = controller.bootstrap.admin_password.clone().or(given_password);
        if let Some(pw) = &known_password {
            write_client_files(&data_dir, &public_url, &region, pw)?;
            tracing::info!(path = %data_dir.join("clouds.yaml").display(), "wrote clouds.yaml and admin-openrc");
        } else if !data_dir.join("clouds.yaml").exists() {
            tracing::warn!(
                "clouds.yaml is missing and the admin password is unknown; pass --admin-password to reset it"
            );
        }
        tracing::info!(
            url = %format!("{public_url}/identity/v3"),
            ready_ms = started.elapsed().as_millis() as u64,
            "ciel is ready"
        );
        controller.serve(listener, shutdown_signal()).await?;
        tracing::info!("ciel stopped");
        Ok(())
    })
}

/// The hypervisor agent of this host, talking to the controller over loopback like any other.
fn start_local_agent(
    compute: &crate::settings::ComputeConfig,
    ceph: Option<&ciel_agent::storage::CephConfig>,
    backup: &ciel_agent::storage::BackupConfig,
    data_dir: &Path,
    shared_dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    let state_dir = data_dir.join("agent");
    let mut storage = crate::agent::storage_config(compute.lvm.clone(), ceph.cloned(), &compute.images_type)?;
    backup.validate(ceph)?;
    storage.backup = backup.clone();
    let driver = crate::agent::make_driver(&compute.driver, &compute.virt_type, &state_dir, &storage)
        .context("starting the local hypervisor agent (set [compute] agent = false for a controller-only host)")?;
    let hostname = match &compute.hostname {
        Some(h) => h.clone(),
        None => crate::agent::system_hostname()?,
    };
    let port = listen.port();
    let host = if listen.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        listen.ip().to_string()
    };
    let join_token = std::fs::read_to_string(shared_dir.join("agent-join-token"))?
        .trim()
        .to_string();
    let agent = ciel_agent::Agent::new(
        ciel_agent::AgentConfig {
            controller: format!("http://{host}:{port}"),
            join_token,
            hostname,
            underlay_ip: compute.underlay_ip.clone(),
            underlay_interface: compute.underlay_interface.clone(),
            provider_interfaces: compute.provider_interfaces.clone().into_iter().collect(),
            state_dir,
            // Same host as the controller: loopback, any free port.
            listen: "127.0.0.1:0".parse()?,
            advertise_url: None,
            storage,
            images_type: compute.images_type.clone(),
        },
        driver,
    )?;
    tracing::info!(driver = %compute.driver, virt_type = %compute.virt_type, "starting the local hypervisor agent");
    tokio::spawn(async move {
        if let Err(e) = agent.run().await {
            tracing::error!(error = %e, "the local agent stopped");
        }
    });
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}

/// clouds.yaml (cloud `ciel`) and admin-openrc, readable by the owner only.
fn write_client_files(dir: &Path, public_url: &str, region: &str, password: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let auth_url = format!("{public_url}/identity/v3");
    let yaml_pw = password.replace('\'', "''");
    let clouds = format!(
        "clouds:\n  ciel:\n    auth:\n      auth_url: {auth_url}\n      username: admin\n      password: '{yaml_pw}'\n      \
         project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    \
         region_name: {region}\n    interface: public\n    identity_api_version: 3\n"
    );
    let sh_pw = password.replace('\'', "'\\''");
    let openrc = format!(
        "# Source me: . admin-openrc\nexport OS_AUTH_URL={auth_url}\nexport OS_USERNAME=admin\nexport OS_PASSWORD='{sh_pw}'\n\
         export OS_PROJECT_NAME=admin\nexport OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n\
         export OS_REGION_NAME={region}\nexport OS_INTERFACE=public\nexport OS_IDENTITY_API_VERSION=3\n"
    );
    for (name, text) in [("clouds.yaml", clouds), ("admin-openrc", openrc)] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

//! The hypervisor agent. It registers its host, then loops: wait for a newer desired state
//! (long poll) or a change of what its VMs' tasks observed, persist the desired state (never
//! going back to an older generation), reconcile the host towards it, report what it
//! observed. Each VM has its own task ([`vms`]): a slow VM holds up no other. Crashes of
//! either side need no recovery logic: the next turn of the loop sees the whole picture again.

pub mod api;
pub mod cache;
pub mod driver;
pub mod fake;
pub mod instance_data;
pub mod ledger;
pub mod metrics;
pub mod net;
pub mod qemu;
pub mod qmp;
pub mod stats;
pub mod storage;
pub mod vms;

use anyhow::Context;
use ciel_proto::{HostConfig, HostReport, RegisterRequest, RegisterResponse};
use driver::Hypervisor;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often, on average, an agent asks for its whole desired state although nothing
/// changed.
const FULL_STATE_EVERY: Duration = Duration::from_secs(120);

/// The wait until the next whole desired state: `FULL_STATE_EVERY` give or take half of it,
/// drawn anew each time. Agents started together (after a power cut, or a controller
/// restart that makes them register again) would otherwise ask for their whole state in
/// the same second, every time, and the controller would build thousands at once.
fn next_full_state() -> Duration {
    FULL_STATE_EVERY.mul_f64(rand::random::<f64>() + 0.5)
}

fn vm_state_label(s: ciel_proto::VmState) -> &'static str {
    use ciel_proto::VmState::*;
    match s {
        Building => "building",
        Running => "running",
        Paused => "paused",
        Stopped => "stopped",
        Suspended => "suspended",
        Error => "error",
    }
}

pub struct AgentConfig {
    /// Controller base URL, e.g. `http://127.0.0.1:8080`, or several separated by commas
    /// (controllers sharing one database): the agent moves to the next when one fails.
    pub controller: String,
    pub join_token: String,
    pub hostname: String,
    pub underlay_ip: Option<String>,
    /// The interface VXLAN tunnels leave by [default: as routed]; also gives `underlay_ip`
    /// when that is not set.
    pub underlay_interface: Option<String>,
    /// `(physical network, interface)`: this host's interfaces on provider networks.
    pub provider_interfaces: Vec<(String, String)>,
    /// Where the agent keeps its ledger (and, for real drivers, disks and sockets).
    pub state_dir: PathBuf,
    /// Address of the agent's API (port 0: any free port).
    pub listen: std::net::SocketAddr,
    /// URL the controller uses for the agent's API [default: from `listen` and `underlay_ip`].
    pub advertise_url: Option<String>,
    /// The storage backends besides `file`: an LVM thin pool (`lvm`), a Ceph cluster (`rbd`).
    pub storage: storage::StorageConfig,
    /// Where root disks of VMs booted from images go: `file` or `rbd`.
    pub images_type: String,
}

impl AgentConfig {
    /// The controllers' base URLs, in the order given.
    pub fn controller_urls(&self) -> Vec<&str> {
        let urls: Vec<&str> = self
            .controller
            .split(',')
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            vec![self.controller.as_str()]
        } else {
            urls
        }
    }
}

pub struct Agent {
    cfg: AgentConfig,
    http: reqwest::Client,
    driver: Arc<dyn Hypervisor>,
    secret: Arc<std::sync::RwLock<Option<String>>>,
    /// The controller's URL for this host and the host token, once registered.
    controller: net::ControllerLink,
    /// The host's network data plane, for drivers whose VMs have real NICs.
    net: Option<net::NetworkPlane>,
    /// The volumes stored on this host.
    storage: Arc<storage::Storage>,
    /// One task per VM.
    vms: vms::VmActors,
    /// What `/metrics` reads of this host.
    metrics: Arc<metrics::HostSource>,
}

impl Agent {
    pub fn new(cfg: AgentConfig, driver: Arc<dyn Hypervisor>) -> anyhow::Result<Self> {
        let kernel: Option<Arc<dyn net::kernel::Kernel>> =
            driver.wires_network().then(|| Arc::new(net::kernel::Linux) as _);
        Self::with_kernel(cfg, driver, kernel)
    }

    /// An agent whose network plane makes its changes through `kernel`: the host's
    /// ([`net::kernel::Linux`], what [`Agent::new`] gives drivers whose VMs have real NICs)
    /// or a fake ([`net::kernel::FakeKernel`], for tests). None: no network plane.
    pub fn with_kernel(
        mut cfg: AgentConfig,
        driver: Arc<dyn Hypervisor>,
        kernel: Option<Arc<dyn net::kernel::Kernel>>,
    ) -> anyhow::Result<Self> {
        if let (None, Some(dev)) = (&cfg.underlay_ip, &cfg.underlay_interface) {
            cfg.underlay_ip = Some(net::ip::first_ipv4(dev)?);
        }
        std::fs::create_dir_all(&cfg.state_dir)
            .with_context(|| format!("cannot create {}", cfg.state_dir.display()))?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        let controller = net::ControllerLink::default();
        let net = kernel.map(|kernel| {
            net::NetworkPlane::new(
                cfg.state_dir.clone(),
                cfg.underlay_ip.clone(),
                cfg.underlay_interface.clone(),
                cfg.provider_interfaces.clone(),
                controller.clone(),
                kernel,
            )
        });
        let vms = vms::VmActors::new(vms::VmWork {
            driver: driver.clone(),
            http: http.clone(),
            state_dir: cfg.state_dir.clone(),
        });
        let storage = {
            let s = storage::Storage::new(&cfg.state_dir, &cfg.storage);
            s.set_vm_copier(driver.clone());
            Arc::new(s)
        };
        let metrics = Arc::new(metrics::HostSource {
            hostname: cfg.hostname.clone(),
            driver: driver.clone(),
            storage: storage.clone(),
            vms: Default::default(),
            load_balancers: Default::default(),
        });
        Ok(Self {
            metrics,
            storage,
            cfg,
            http,
            driver,
            vms,
            secret: Arc::default(),
            controller,
            net,
        })
    }

    /// Registers with the host credential saved at the first join, else with the join token
    /// (which may since have expired or been revoked), and saves the credential it gets.
    async fn register(&self, controller: &str, agent_url: &str) -> anyhow::Result<RegisterResponse> {
        let cap = self.driver.capacity();
        let req = RegisterRequest {
            hostname: self.cfg.hostname.clone(),
            underlay_ip: self.cfg.underlay_ip.clone(),
            vcpus: cap.vcpus,
            memory_mb: cap.memory_mb,
            disk_gb: cap.disk_gb,
            hypervisor_type: self.driver.kind().into(),
            agent_url: Some(agent_url.to_string()),
            provider_networks: self.cfg.provider_interfaces.iter().map(|(p, _)| p.clone()).collect(),
            storage_backends: self.storage.names(),
            images_type: self.cfg.images_type.clone(),
        };
        let credential_file = self.cfg.state_dir.join("host-credential");
        let mut secrets = vec![];
        if let Ok(c) = std::fs::read_to_string(&credential_file) {
            secrets.push(c.trim().to_string());
        }
        secrets.push(self.cfg.join_token.clone());
        let mut last = None;
        for secret in secrets {
            let resp = self
                .http
                .post(format!("{controller}{}", ciel_proto::REGISTER_PATH))
                .bearer_auth(&secret)
                .json(&req)
                .send()
                .await?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
                last = Some(resp.error_for_status().unwrap_err());
                continue;
            }
            let reg: RegisterResponse = resp.error_for_status()?.json().await?;
            let credential = format!("host:{}:{}", reg.host_id, reg.host_token);
            if let Err(e) = ledger::write_private(&credential_file, &credential) {
                tracing::warn!(error = %e, "cannot save the host credential");
            }
            return Ok(reg);
        }
        Err(last
            .map(anyhow::Error::from)
            .unwrap_or_else(|| anyhow::anyhow!("no join token")))
    }

    /// Runs until the process ends; transient errors are logged and retried.
    pub async fn run(self) -> anyhow::Result<()> {
        metrics::register(self.metrics.clone());
        tokio::spawn(metrics::send_samples(
            self.metrics.clone(),
            self.http.clone(),
            self.controller.clone(),
        ));
        let ledger = ledger::Ledger::new(self.cfg.state_dir.join("host-config.json"));
        let listener = tokio::net::TcpListener::bind(self.cfg.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.cfg.listen))?;
        let bound = listener.local_addr()?;
        let agent_url = self.cfg.advertise_url.clone().unwrap_or_else(|| {
            let host = match (&self.cfg.underlay_ip, bound.ip().is_unspecified()) {
                (Some(ip), true) => ip.clone(),
                (None, true) => "127.0.0.1".into(),
                _ => bound.ip().to_string(),
            };
            format!("http://{host}:{}", bound.port())
        });
        let api = api::router(api::ApiState {
            driver: self.driver.clone(),
            secret: self.secret.clone(),
            storage: self.storage.clone(),
        });
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, api).await {
                tracing::error!(error = %e, "the agent API stopped");
            }
        });
        let controllers = self.cfg.controller_urls();
        // Failures move to the next controller; a full round of failures waits a little.
        let mut turn = 0usize;
        let next = |turn: &mut usize| {
            *turn += 1;
            if (*turn).is_multiple_of(controllers.len()) {
                Duration::from_secs(1)
            } else {
                Duration::from_millis(100)
            }
        };
        loop {
            let controller = controllers[turn % controllers.len()];
            let reg = match self.register(controller, &agent_url).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, controller, "registration failed; trying again");
                    tokio::time::sleep(next(&mut turn)).await;
                    continue;
                }
            };
            tracing::info!(host_id = %reg.host_id, %agent_url, controller, "registered with the controller");
            if let Ok(mut s) = self.secret.write() {
                *s = Some(reg.agent_secret.clone());
            }
            if let Err(e) = self.serve(controller, &reg, &ledger).await {
                metrics::RECONCILE_ERRORS
                    .with_label_values(&[&self.cfg.hostname, "controller"])
                    .inc();
                tracing::warn!(error = %e, controller, "lost the controller; registering again");
                tokio::time::sleep(next(&mut turn)).await;
            }
        }
    }

    async fn serve(&self, controller: &str, reg: &RegisterResponse, ledger: &ledger::Ledger) -> anyhow::Result<()> {
        // Start from what was accepted before a restart: VMs keep running meanwhile.
        let mut current = ledger.load().unwrap_or_default();
        let base = format!("{controller}/agent/v1/hosts/{}", reg.host_id);
        if let Ok(mut c) = self.controller.write() {
            *c = Some((base.clone(), reg.host_token.clone()));
        }
        let mut after = 0;
        let mut last_full = std::time::Instant::now();
        let mut full_every = next_full_state();
        let mut vm_changes = self.vms.changes();
        let mut lb_changes = self.net.as_ref().map(|n| n.lb_changes());
        loop {
            // A newer desired state, or else a VM whose task observed something new (then
            // the same desired state is reconciled and reported again).
            // Now and then the whole desired state, even when the controller saw no change
            // for this host (the safety net under its change tracking).
            let ask = if last_full.elapsed() >= full_every { 0 } else { after };
            let poll = async {
                let resp = self
                    .http
                    .get(format!("{base}/config"))
                    .query(&[("after", ask)])
                    .bearer_auth(&reg.host_token)
                    .send()
                    .await?;
                match resp.status() {
                    reqwest::StatusCode::UNAUTHORIZED => anyhow::bail!("the controller no longer knows this host"),
                    // Nothing changed: reconcile what is held and report (the heartbeat).
                    reqwest::StatusCode::NOT_MODIFIED => Ok(None),
                    _ => Ok::<Option<HostConfig>, anyhow::Error>(Some(resp.error_for_status()?.json().await?)),
                }
            };
            let vm_changed = async {
                if vm_changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            // Or a load balancer whose health changed.
            let lb_changed = async {
                let changed = match lb_changes.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => false,
                };
                if !changed {
                    std::future::pending::<()>().await;
                }
            };
            let fetched = tokio::select! {
                cfg = poll => cfg?,
                () = vm_changed => None,
                () = lb_changed => None,
            };
            if let Some(cfg) = fetched {
                if ask == 0 {
                    last_full = std::time::Instant::now();
                    full_every = next_full_state();
                }
                if cfg.host_id == current.host_id && cfg.generation < current.generation {
                    tracing::warn!(
                        got = cfg.generation,
                        have = current.generation,
                        "ignoring an older host config"
                    );
                } else {
                    ledger.store(&cfg)?;
                    current = cfg;
                }
            }
            after = current.generation;
            // What changes from here on is seen by the next turn.
            vm_changes.borrow_and_update();
            if let Some(rx) = lb_changes.as_mut() {
                rx.borrow_and_update();
            }
            if let Ok(mut v) = self.metrics.vms.write() {
                *v = current.vms.iter().map(metrics::VmLabels::of).collect();
            }
            let started = std::time::Instant::now();
            let report = self.reconcile(&current, Some((&base, &reg.host_token))).await;
            let took = started.elapsed();
            self.record_pass(&report, took);
            if took > Duration::from_secs(2) {
                tracing::info!(generation = after, ms = took.as_millis() as u64, "slow reconcile");
            } else {
                tracing::debug!(generation = after, ms = took.as_millis() as u64, "reconciled");
            }
            self.http
                .put(format!("{base}/report"))
                .bearer_auth(&reg.host_token)
                .json(&report)
                .send()
                .await?
                .error_for_status()?;
        }
    }

    /// Tells the tasks of VMs that should not exist to remove them, wires the networks and
    /// volumes, then hands every VM that should exist its spec (its task fetches its images
    /// and config drive first when the driver needs them, from `source`: the host's agent
    /// API base URL and token, and creates or adjusts it). Reports what the VMs' tasks have
    /// observed within [`vms::SETTLE`]: a VM still converging is `Building` and is reported
    /// again once its task is done (see [`Agent::vm_changes`]).
    pub async fn reconcile(&self, cfg: &HostConfig, source: Option<(&str, &str)>) -> HostReport {
        self.vms.retire(cfg).await;
        let net_report = match &self.net {
            Some(net) => net.reconcile(cfg).await,
            None => Default::default(),
        };
        let storage = self.reconcile_storage(cfg, source).await;
        self.vms.dispatch(cfg, source);
        self.vms.settle(cfg, vms::SETTLE).await;
        let vms = self.vms.report(cfg);
        HostReport {
            generation: cfg.generation,
            vms,
            ports_up: net_report.ports_up,
            port_errors: net_report.port_errors,
            volumes: storage.volumes,
            volume_snapshots: storage.snapshots,
            storage_errors: storage.errors,
            load_balancers: net_report.load_balancers,
            backups: self.storage.run_backups(&cfg.backups).await,
            volume_migrations: self.storage.run_migrations(&cfg.volume_migrations).await,
        }
    }

    /// A reconcile pass in the metrics: its duration, what it left in error, the VMs' states.
    fn record_pass(&self, report: &HostReport, took: Duration) {
        let host = self.cfg.hostname.as_str();
        metrics::RECONCILE
            .with_label_values(&[host])
            .observe(took.as_secs_f64());
        metrics::LAST_APPLY.with_label_values(&[host]).set(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        );
        let failed_lbs = report.load_balancers.iter().any(|lb| lb.failed.is_some());
        if let Ok(mut lbs) = self.metrics.load_balancers.write() {
            lbs.clone_from(&report.load_balancers);
        }
        let kinds = [
            ("vm", report.vms.iter().any(|v| v.state == ciel_proto::VmState::Error)),
            ("network", !report.port_errors.is_empty()),
            ("storage", !report.storage_errors.is_empty()),
            ("load_balancer", failed_lbs),
        ];
        for (kind, failed) in kinds {
            let c = metrics::RECONCILE_ERRORS.with_label_values(&[host, kind]);
            if failed {
                c.inc();
            }
        }
        let mut states: std::collections::BTreeMap<&str, i64> =
            ["building", "running", "paused", "stopped", "suspended", "error"]
                .into_iter()
                .map(|s| (s, 0))
                .collect();
        for v in &report.vms {
            *states.entry(vm_state_label(v.state)).or_default() += 1;
        }
        for (state, n) in states {
            metrics::VMS.with_label_values(&[host, state]).set(n);
        }
    }

    /// Volumes and snapshots: images that volumes start from are cached first, like a VM's.
    async fn reconcile_storage(&self, cfg: &HostConfig, source: Option<(&str, &str)>) -> storage::StorageReport {
        let dir = cache::images_dir(&self.cfg.state_dir);
        let mut missing = vec![];
        // Listed only when a volume starts from an image (a shared pool's listing is a
        // round trip to its cluster).
        let from_images = cfg
            .volumes
            .iter()
            .any(|v| matches!(v.source, Some(ciel_proto::VolumeSource::Image(_))));
        let held = if from_images { self.storage.volumes() } else { vec![] };
        for v in &cfg.volumes {
            if let Some(ciel_proto::VolumeSource::Image(img)) = &v.source {
                if !held.contains(&v.id) {
                    if let Some((base, token)) = source {
                        let url = format!("{base}/images/{}", img.id);
                        if let Err(e) = cache::ensure(&self.http, &url, token, &dir, img).await {
                            missing.push((v.id.clone(), format!("image unavailable: {e:#}")));
                        }
                    }
                }
            }
        }
        // Volumes of VMs still attached as their tasks last saw them stay too, and so do the
        // copies volume migrations make here.
        let attached: Vec<String> = cfg
            .vms
            .iter()
            .flat_map(|vm| vm.volumes.iter().map(|a| a.volume_id.clone()))
            .chain(self.vms.volumes_in_use())
            .chain(storage::migrate::incoming(&cfg.volume_migrations))
            .collect();
        let volumes: Vec<_> = cfg
            .volumes
            .iter()
            .filter(|v| !missing.iter().any(|(id, _)| id == &v.id))
            .cloned()
            .collect();
        let image_file = |img: &ciel_proto::ImageRef| Some(dir.join(&img.id)).filter(|p| p.exists());
        let deletions = storage::Deletions {
            volumes: cfg.deleted_volumes.clone(),
            snapshots: cfg.deleted_snapshots.clone(),
        };
        let mut report = self
            .storage
            .reconcile(&volumes, &cfg.volume_snapshots, &deletions, image_file, &attached)
            .await;
        report.errors.extend(missing);
        report
    }

    /// Changes of what the VMs' tasks observed: after one, [`Agent::reconcile`] reports more.
    pub fn vm_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.vms.changes()
    }

    /// Whether the VM has a task on this host (desired, or its removal not finished).
    pub fn has_vm_task(&self, id: &str) -> bool {
        self.vms.has_task(id)
    }
}

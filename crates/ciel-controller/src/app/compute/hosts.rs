//! Hypervisor hosts as the controller sees them: registration with the join token, the
//! generation-numbered desired state each host is given, and the observed state agents report
//! back, which becomes the servers' API status.

use super::host_network::{hostname_of, NetworkModel};
use crate::app::App;
use crate::db::compute::hosts::{self as db, Host};
use crate::db::compute::server_states::{DesiredPower, TaskState, VmState};
use crate::db::compute::servers::{self, Server};
use crate::db::image::ImageStatus;
use crate::db::network::host_share as share;
use crate::db::{image, network};
use crate::error::{Error, Result};
use base64::Engine;
use ciel_proto::{HostConfig, HostReport, ImageRef, Nic, RegisterRequest, VmSpec, VmState as Observed};
use sha2::Digest;
use std::path::Path;
use std::time::Duration;

/// SHA-256 of a secret, as stored (host tokens, console tokens).
pub(super) fn token_hash(token: &str) -> String {
    hex(&sha2::Sha256::digest(token.as_bytes()))
}

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn random_secret() -> String {
    loop {
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        // Secrets are passed on command lines (`ciel agent --join-token ...`), where one
        // beginning with '-' reads as an option (1 in 64 of them did).
        if !s.starts_with('-') {
            return s;
        }
    }
}

/// The secret agents present to join, kept in `SHARED_DIR/agent-join-token` (mode 600).
/// Controllers starting together on one shared directory create it once (under its lock).
pub fn join_token(shared_dir: &Path) -> Result<String> {
    let path = shared_dir.join("agent-join-token");
    let _lock = crate::app::shared_dir::lock(shared_dir)?;
    if let Ok(t) = std::fs::read_to_string(&path) {
        return Ok(t.trim().to_string());
    }
    let t = random_secret();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &t)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(t)
}

impl App {
    /// Registers (or re-registers) a host. `secret` is the cloud's own agent join token, a
    /// join token an admin created, or — for a host that joined before — its host
    /// credential `host:<id>:<token>`, which keeps its token.
    /// Returns (host id, host token, agent secret).
    pub async fn register_host(&self, secret: &str, r: RegisterRequest) -> Result<(String, String, String)> {
        if r.hostname.is_empty() || r.hostname.len() > 255 {
            return Err(Error::bad_request("hostname must be 1 to 255 characters"));
        }
        let token = match secret.strip_prefix("host:").and_then(|c| c.split_once(':')) {
            Some((id, token)) => match self.authenticate_host(id, token).await {
                Ok(h) if h.hostname == r.hostname => token.to_string(),
                _ => return Err(Error::Unauthorized("unknown host or token".into())),
            },
            None => {
                let own = join_token(&self.cfg.shared_dir)?;
                if !constant_eq(secret.as_bytes(), own.as_bytes())
                    && !super::join_tokens::accepts(&self.cfg.shared_dir, secret)?
                {
                    return Err(Error::Unauthorized("invalid join token".into()));
                }
                random_secret()
            }
        };
        let agent_secret = random_secret();
        let now = crate::db::now();
        let h = db::upsert(
            &self.db,
            &Host {
                id: uuid::Uuid::new_v4().to_string(),
                hostname: r.hostname,
                underlay_ip: r.underlay_ip,
                vcpus: r.vcpus as i64,
                memory_mb: r.memory_mb as i64,
                disk_gb: r.disk_gb as i64,
                hypervisor_type: r.hypervisor_type,
                token_hash: token_hash(&token),
                enabled: true,
                generation: 1,
                applied_generation: 0,
                last_seen: now,
                created_at: now,
                agent_url: r.agent_url,
                agent_secret: agent_secret.clone(),
                provider_networks: serde_json::to_string(&r.provider_networks).unwrap_or_else(|_| "[]".into()),
                storage_backends: serde_json::to_string(&r.storage_backends).unwrap_or_else(|_| "[]".into()),
                images_type: if r.images_type == "rbd" && r.storage_backends.iter().any(|b| b == "rbd") {
                    "rbd".into()
                } else {
                    "file".into()
                },
                forced_down: false,
                report_digest: None,
            },
        )
        .await?;
        self.host_views.invalidate();
        tracing::info!(host = %h.hostname, id = %h.id, vcpus = h.vcpus, memory_mb = h.memory_mb, "host registered");
        Ok((h.id, token, agent_secret))
    }

    /// The host a bearer token belongs to.
    pub async fn authenticate_host(&self, host_id: &str, token: &str) -> Result<Host> {
        match db::get(&self.db, host_id).await? {
            Some(h) if constant_eq(h.token_hash.as_bytes(), token_hash(token).as_bytes()) => Ok(h),
            _ => Err(Error::Unauthorized("unknown host or token".into())),
        }
    }

    /// A write transaction whose commit bumps and wakes the hosts its changes concern
    /// (`tx.host_changed(..)`, `tx.network_changed(..)`, …): the one path by which a change
    /// reaches the agents.
    pub(crate) async fn begin(&self) -> Result<crate::db::Tx<'static>> {
        crate::db::begin_notifying(&self.db, &self.host_changes).await
    }

    /// The host's desired state once its generation is newer than `after`, or the current one
    /// after `wait` (a long poll: agents learn of changes at once without polling hard).
    pub async fn host_config(&self, host: &Host, after: u64, wait: Duration) -> Result<HostConfig> {
        self.host_config_since(host, after, wait, false)
            .await?
            .ok_or_else(|| Error::Internal("no desired state where a full one was asked for".into()))
    }

    /// The long poll agents make: the host's desired state once its generation is newer
    /// than `after`; when `wait` passes with none, None if the agent already holds
    /// generation `after` and `unchanged_ok` (an idle host then costs one row read, not a
    /// build of its whole desired state), else the current state.
    /// The wait never exceeds a third of `host_down_after`: the report that follows each
    /// answer is the host's heartbeat, so an idle host must not look down while it waits.
    pub async fn host_config_since(
        &self,
        host: &Host,
        after: u64,
        wait: Duration,
        unchanged_ok: bool,
    ) -> Result<Option<HostConfig>> {
        let mut changes = self.host_changes.subscribe();
        let seen = changes.borrow_and_update().seq();
        let h = db::get(&self.db, &host.id)
            .await?
            .ok_or_else(|| Error::not_found("host", &host.id))?;
        self.await_host_config(h, (changes, seen), after, wait, unchanged_ok)
            .await
    }

    /// An agent's long poll ([`App::host_config_since`] with `unchanged_ok`), authenticated
    /// by the same row read that starts it: an idle host's poll is one read.
    pub async fn host_poll(&self, id: &str, token: &str, after: u64, wait: Duration) -> Result<Option<HostConfig>> {
        let mut changes = self.host_changes.subscribe();
        let seen = changes.borrow_and_update().seq();
        let h = self.authenticate_host(id, token).await?;
        self.await_host_config(h, (changes, seen), after, wait, true).await
    }

    /// The wait of a long poll, given the host as read after subscribing to `changes` and
    /// noting the wake-up log's position `seen` (both before the read): a commit during or
    /// after that read still wakes the poll, and a wake-up always follows its commit
    /// (`db::Tx::commit`), so the next read sees it. Only wake-ups naming this host (or all
    /// hosts) lead to another read.
    async fn await_host_config(
        &self,
        mut h: Host,
        (mut changes, mut seen): (crate::db::wakeups::Receiver, u64),
        after: u64,
        wait: Duration,
        unchanged_ok: bool,
    ) -> Result<Option<HostConfig>> {
        let heartbeat = Duration::from_secs((self.cfg.scheduler.host_down_after / 3).max(1) as u64);
        // Three quarters of the wait or more, drawn per poll: agents started together
        // would otherwise all time out, answer and report in the same instant, every time.
        let wait = wait.min(heartbeat).mul_f64(0.75 + rand::random::<f64>() / 4.0);
        let _open = crate::metrics::OpenPoll::start();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if h.generation as u64 > after || self.shutting_down.load(std::sync::atomic::Ordering::Acquire) {
                return self.build_host_config(&h).await.map(Some);
            }
            loop {
                if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                    if unchanged_ok && after > 0 && h.generation as u64 == after {
                        return Ok(None);
                    }
                    return self.build_host_config(&h).await.map(Some);
                }
                let log = changes.borrow_and_update();
                let mine = log.concerns(&h.id, seen);
                seen = log.seq();
                if mine {
                    break;
                }
            }
            h = db::get(&self.db, &h.id)
                .await?
                .ok_or_else(|| Error::not_found("host", &h.id))?;
        }
    }

    async fn build_host_config(&self, h: &Host) -> Result<HostConfig> {
        let mut tx = crate::db::begin_read(&self.db).await?;
        let mut vms = vec![];
        // The network model once, not once per server.
        // Servers first: they decide which networks this host takes part in. Servers
        // migrating to this host are here too (a live migration's guest is awaited, a cold
        // one's disk copied), and those a cold migration took away until the user confirms
        // or reverts (stopped, kept).
        let mut servers = servers::on_host(&mut *tx, &h.id).await?;
        let migrations: std::collections::HashMap<String, crate::db::compute::migrations::Migration> =
            crate::db::compute::migrations::active_moves(&mut *tx)
                .await?
                .into_iter()
                .map(|m| (m.server_id.clone(), m))
                .collect();
        let (evacuated, adopted) = super::migrations::evacuations(&mut tx, &h.id).await?;
        for m in migrations.values() {
            let involved = super::migrations::vm_migration(m, &h.id, None).is_some();
            if involved && !servers.iter().any(|s| s.id.as_str() == m.server_id) {
                servers.extend(servers::get(&mut *tx, &m.server_id).await?);
            }
        }
        // Routers run on the network node their external network's physical network picks;
        // load balancers on the host the controller gave them.
        let router_rows = crate::db::network::routers::list(&mut *tx).await?;
        let lbs = crate::db::loadbalancer::list(&mut *tx, None).await?;
        let vips: Vec<String> = lbs
            .iter()
            .filter(|lb| lb.host_id.as_deref() == Some(h.id.as_str()))
            .filter_map(|lb| lb.vip_port_id.clone())
            .collect();
        let mut model = NetworkModel {
            networks: Default::default(),
            subnets: vec![],
            ports: vec![],
            fixed_ips: Default::default(),
            port_hosts: Default::default(),
            vteps: Default::default(),
            migrating: Default::default(),
        };
        // Other hosts matter only for routers and ports (network nodes, tunnel endpoints).
        let mut all_hosts = vec![];
        if !router_rows.is_empty() {
            let gateways = share::networks(&mut *tx, &[]).await?;
            model.networks = gateways.into_iter().map(|n| (n.id.clone(), n)).collect();
            all_hosts = db::list(&mut *tx).await?;
        }
        let routers: Vec<_> = router_rows
            .into_iter()
            .map(|r| {
                let at = super::host_routers::router_host(model.gateway_physical_network(&r), &all_hosts);
                (r, at)
            })
            .collect();
        // This host's share of the network model: the networks its servers, routers and
        // load balancers have ports on, with all their ports (l2 population).
        let devices: Vec<String> = servers
            .iter()
            .map(|s| s.id.to_string())
            .chain(
                routers
                    .iter()
                    .filter(|(_, at)| at.as_deref() == Some(h.id.as_str()))
                    .map(|(r, _)| r.id.clone()),
            )
            .collect();
        let nets = if devices.is_empty() && vips.is_empty() {
            vec![]
        } else {
            share::networks_of(&mut *tx, &devices, &vips).await?
        };
        if !nets.is_empty() {
            model.networks = share::networks(&mut *tx, &nets)
                .await?
                .into_iter()
                .map(|n| (n.id.clone(), n))
                .collect();
            model.subnets = share::subnets(&mut *tx, &nets).await?;
            model.ports = share::ports(&mut *tx, &nets).await?;
            for f in share::fixed_ips(&mut *tx, &nets).await? {
                model.fixed_ips.entry(f.port_id.clone()).or_default().push(f);
            }
            model.port_hosts = share::port_hosts(&mut *tx, &nets).await?.into_iter().collect();
        }
        if all_hosts.is_empty() && !model.ports.is_empty() {
            all_hosts = db::list(&mut *tx).await?;
        }
        model.vteps = all_hosts
            .iter()
            .filter_map(|h| Some((h.id.clone(), h.underlay_ip.clone()?)))
            .collect();
        model
            .port_hosts
            .extend(super::host_routers::router_port_hosts(&routers, &model));
        // VIP ports live on their load balancer's network node.
        model.port_hosts.extend(
            lbs.iter()
                .filter_map(|lb| Some((lb.vip_port_id.clone()?, lb.host_id.clone()?))),
        );
        for m in migrations.values() {
            if let (Some(dest), false) = (&m.dest_host_id, m.is_cold()) {
                for p in model.ports.iter().filter(|p| p.device_id == m.server_id) {
                    model.migrating.insert(p.id.to_string(), dest.clone());
                }
            }
        }
        let local_ports: Vec<String> = model
            .ports
            .iter()
            .filter(|p| servers.iter().any(|s| p.device_id == s.id))
            .map(|p| p.id.to_string())
            .collect();
        let firewall = super::host_firewall::FirewallModel::load(&mut tx, &local_ports).await?;
        // Each network with local ports, and those ports with their servers' hostnames.
        let mut local: std::collections::BTreeMap<&str, Vec<(&network::Port, String)>> = Default::default();
        for s in &servers {
            for p in model.ports.iter().filter(|p| p.device_id == s.id) {
                local
                    .entry(p.network_id.as_str())
                    .or_default()
                    .push((p, hostname_of(&s.name)));
            }
        }
        // Every server's attachments in one query, and each image once: read per server they
        // were most of the cost of an idle host's periodic full answer.
        let mut attachments = crate::app::volume::report::attachments_by_server(&mut tx, &servers).await?;
        let mut images: std::collections::HashMap<String, Option<image::Image>> = Default::default();
        for s in &servers {
            let theirs = attachments.remove(s.id.as_str()).unwrap_or_default();
            let root_volume = crate::app::volume::report::root_volume_of(&mut tx, &theirs).await?;
            let volumes = crate::app::volume::report::volumes_of(&mut tx, theirs).await?;
            let img = match images.get(s.image_id.as_str()) {
                Some(i) => i.clone(),
                None => {
                    let i = image::get(&mut *tx, &s.image_id).await?;
                    images.insert(s.image_id.to_string(), i.clone());
                    i
                }
            };
            let image = image_ref(&s.image_id, img.as_ref(), self.image_store.is_rbd());
            // Booted from a volume: the boot properties are those of the volume's image.
            let props: serde_json::Map<String, serde_json::Value> = match &root_volume {
                Some(v) => serde_json::from_str(&v.image_metadata).unwrap_or_default(),
                None => img
                    .as_ref()
                    .and_then(|i| serde_json::from_str(&i.properties).ok())
                    .unwrap_or_default(),
            };
            let prop = |k: &str| props.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let mut parts = [None, None];
            // Only what the image API accepts reaches the host, whatever the database holds:
            // kernel and ramdisk are image UUIDs (they become file names on the host) and the
            // command line is printable text; anything else is left out of this one VM.
            for (slot, key) in parts.iter_mut().zip(["kernel_id", "ramdisk_id"]) {
                if let Some(id) = prop(key).filter(|id| id.len() == 36 && uuid::Uuid::try_parse(id).is_ok()) {
                    *slot = Some(image_ref(&id, image::get(&mut *tx, &id).await?.as_ref(), false));
                }
            }
            let [kernel, ramdisk] = parts;
            let cmdline = prop("os_command_line").filter(|l| l.len() <= 2048 && !l.chars().any(char::is_control));
            let nics = model
                .ports
                .iter()
                .filter(|p| p.device_id == s.id)
                .map(|p| Nic {
                    port_id: p.id.to_string(),
                    mac: p.mac_address.clone(),
                    network_id: p.network_id.to_string(),
                    mtu: model.networks.get(&p.network_id).map(|n| n.mtu).unwrap_or(1450) as u32,
                    fixed_ips: model.ips_of(&p.id),
                    firewall: firewall.of(p, &model.ips_of(&p.id)),
                })
                .collect();
            let migration = match migrations.get(s.id.as_str()) {
                Some(m) => {
                    let slots = crate::db::compute::migrations::slots(&mut *tx, &s.id).await?;
                    super::migrations::vm_migration(m, &h.id, slots.as_deref())
                }
                None => None,
            };
            vms.push(VmSpec {
                id: s.id.to_string(),
                name: s.name.clone(),
                project_id: s.project_id.to_string(),
                vcpus: s.vcpus as u32,
                memory_mb: s.memory_mb as u64,
                root_gb: s.root_gb as u64,
                image,
                kernel,
                ramdisk,
                cmdline,
                power: s.desired_power.to_proto(),
                nics,
                boot_serial: s.boot_serial as u64,
                config_drive: s.config_drive,
                rebuild_serial: s.rebuild_serial as u64,
                volumes,
                root_volume_backend: root_volume.as_ref().map(|v| v.backend.clone()).unwrap_or_default(),
                root_volume: root_volume.map(|v| v.id.into_string()),
                root_backend: s.root_backend.clone(),
                migration,
                adopt_root: adopted.iter().any(|a| a.as_str() == s.id.as_str()),
            });
        }
        // The routers this host runs, and the networks their legs are on.
        let floating = crate::db::network::floating_ips::list(&mut *tx).await?;
        let router_specs: Vec<ciel_proto::RouterSpec> = routers
            .iter()
            .filter(|(_, at)| at.as_deref() == Some(h.id.as_str()))
            .map(|(r, _)| model.router_spec(r, &floating))
            .collect();
        let leg_networks: Vec<String> = router_specs
            .iter()
            .flat_map(|r| r.legs())
            .map(|(p, _)| p.network_id.clone())
            .collect();
        for n in &leg_networks {
            local.entry(n.as_str()).or_default();
        }
        let load_balancers = crate::app::loadbalancer::spec::for_host(&mut tx, &h.id, &lbs, &model).await?;
        let vip_networks: Vec<String> = load_balancers.iter().map(|lb| lb.vip.port.network_id.clone()).collect();
        for n in &vip_networks {
            local.entry(n.as_str()).or_default();
        }
        let networks = local
            .iter()
            .filter_map(|(net, ports)| model.spec(net, &h.id, ports))
            .collect();
        let storage = crate::app::volume::report::desired(&mut tx, &h.id, self.image_store.is_rbd()).await?;
        Ok(HostConfig {
            host_id: h.id.clone(),
            generation: h.generation as u64,
            vms,
            networks,
            routers: router_specs,
            volumes: storage.volumes,
            volume_snapshots: storage.snapshots,
            deleted_volumes: storage.deleted_volumes,
            deleted_snapshots: storage.deleted_snapshots,
            load_balancers,
            evacuated,
            backups: storage.backups,
            volume_migrations: storage.volume_migrations,
        })
    }

    /// Turns what an agent observed into server states (level-triggered: the whole picture
    /// every time, so a lost report changes nothing).
    pub async fn host_report(&self, host: &Host, report: HostReport) -> Result<()> {
        let now = crate::db::now();
        // `host` was read when the agent authenticated: its generation and last digest.
        let down_after = Duration::from_secs(self.cfg.scheduler.host_down_after.max(1) as u64);
        crate::metrics::LAG.reported(&host.id, report.generation as i64 >= host.generation);
        if self
            .heartbeats
            .unchanged(host, &super::heartbeats::digest(&report, host.generation), down_after)
        {
            self.heartbeats.seen(&host.id, report.generation as i64, now);
            return Ok(());
        }
        match self.apply_host_report(host, report, now).await {
            Ok(false) => self.heartbeats.applied(&host.id),
            Ok(true) => self.heartbeats.forget(&host.id),
            Err(e) => {
                self.heartbeats.forget(&host.id);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Applies a report in full: the host's servers, ports, volumes and load balancers.
    /// True when something waits on time (its next report must be applied in full too).
    async fn apply_host_report(&self, host: &Host, report: HostReport, now: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        db::seen(&mut *tx, &host.id, report.generation as i64, now).await?;
        let current = db::get(&mut *tx, &host.id).await?.map(|h| h.generation).unwrap_or(0);
        let digest = super::heartbeats::digest(&report, current);
        crate::app::loadbalancer::report::apply(
            &mut tx,
            &host.id,
            &host.hostname,
            &report,
            report.generation as i64 >= current,
            now,
        )
        .await?;
        let waiting = crate::app::volume::report::apply(&mut tx, &host.id, &report, now).await?;
        for vm in report.vms {
            let Some(mut s) = servers::get(&mut *tx, &vm.id).await? else {
                continue;
            };
            // A live migration's progress comes from either of its hosts.
            if let Some(p) = &vm.migration {
                super::migrations::apply_progress(&mut tx, &host.id, &mut s, p, now).await?;
            }
            if s.host_id.as_deref() != Some(host.id.as_str()) {
                continue;
            }
            if !vm.slots.is_empty() {
                super::migrations::record_slots(&mut tx, &s.id, &vm.slots).await?;
            }
            if super::cold_migration::moving(&s) {
                // The migration's own reports move it; the VM keeps its state meanwhile.
                continue;
            }
            let rebuilding = s.task_state == Some(TaskState::Rebuilding);
            // Most reports are heartbeats that change nothing: no write then.
            let seen = |s: &Server| (s.vm_state, s.task_state, s.power_state, s.fault.clone(), s.launched_at);
            let before = seen(&s);
            apply_observation(&mut s, &vm.state, vm.boot_serial as i64, vm.message, now);
            if seen(&s) == before {
                continue;
            }
            servers::update_state(&mut *tx, &s).await?;
            if rebuilding && s.task_state.is_none() {
                // An evacuation's record ends with its rebuild.
                let status = if s.vm_state == VmState::Error { "failed" } else { "done" };
                crate::db::compute::migrations::end_evacuation(&mut *tx, &s.id, status, now).await?;
            }
        }
        // Ports of this host's VMs are ACTIVE while the agent has them plugged, DOWN otherwise,
        // ERROR when the agent could not set them up (e.g. their firewall: they get no traffic).
        for p in network::ports_on_host(&mut *tx, &host.id).await? {
            let status = if let Some((_, why)) = report.port_errors.iter().find(|(id, _)| id == &p.id) {
                if p.status != network::PortStatus::Error {
                    tracing::warn!(port = %p.id, host = %host.hostname, error = %why, "port in ERROR on its host");
                }
                network::PortStatus::Error
            } else if report.ports_up.iter().any(|id| *id == p.id) {
                network::PortStatus::Active
            } else {
                network::PortStatus::Down
            };
            if p.status != status || p.binding_host_id != host.hostname {
                network::set_port_status(&mut *tx, &p.id, status, &host.hostname, now).await?;
            }
        }
        db::set_report_digest(&mut *tx, &host.id, &digest).await?;
        tx.commit().await?;
        Ok(waiting)
    }
}

fn image_ref(id: &str, img: Option<&crate::db::image::Image>, rbd: bool) -> ImageRef {
    ImageRef {
        id: id.to_string(),
        disk_format: img.and_then(|i| i.disk_format.clone()).unwrap_or_default(),
        checksum: img.and_then(|i| i.checksum.clone()).unwrap_or_default(),
        size: img.and_then(|i| i.size).unwrap_or(0) as u64,
        rbd,
    }
}

/// Nova's (vm_state, task_state, power_state) from an observed VM state.
fn apply_observation(s: &mut Server, state: &Observed, boot_serial: i64, message: Option<String>, now: i64) {
    let (vm_state, power) = match state {
        Observed::Building => return,
        Observed::Running => (VmState::Active, 1),
        Observed::Paused => (VmState::Paused, 3),
        Observed::Stopped => (VmState::Stopped, 4),
        // Nova's libvirt driver shows a managed-saved (shut off) domain as SHUTDOWN.
        Observed::Suspended => (VmState::Suspended, 4),
        Observed::Error => (VmState::Error, 0),
    };
    let settled = match (s.desired_power, state) {
        (DesiredPower::Running, Observed::Running) => boot_serial >= s.boot_serial,
        (DesiredPower::Paused, Observed::Paused)
        | (DesiredPower::Stopped, Observed::Stopped)
        | (DesiredPower::Suspended, Observed::Suspended) => true,
        (_, Observed::Error) => true,
        _ => false,
    };
    if !settled {
        // Still converging: keep the task the user started visible.
        return;
    }
    // A resize that converged waits for the user's confirm or revert.
    let resized = match s.task_state {
        Some(TaskState::ResizePrep) => true,
        None => s.vm_state == VmState::Resized,
        _ => false,
    } && *state != Observed::Error;
    s.vm_state = if resized { VmState::Resized } else { vm_state };
    s.power_state = power;
    // A snapshot upload is the controller's task, not the agent's: it ends it.
    if s.task_state != Some(TaskState::ImageSnapshot) {
        s.task_state = None;
    }
    s.fault = if *state == Observed::Error { message } else { None };
    if s.launched_at.is_none() && *state == Observed::Running {
        s.launched_at = Some(now);
    }
    s.updated_at = now;
}

pub(super) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl App {
    /// An active image's data for an agent's cache (the agent is trusted with any image its
    /// host runs; the API checked the user's access when the server was created).
    pub async fn image_file_for_host(&self, image_id: &str) -> Result<tokio::fs::File> {
        match image::get(&self.db, image_id).await? {
            Some(i) if i.status == ImageStatus::Active => {
                tokio::fs::File::open(self.image_store.local_path(image_id).await?)
                    .await
                    .map_err(|e| Error::Internal(format!("image {image_id} data: {e}")))
            }
            _ => Err(Error::not_found("image", image_id)),
        }
    }
}

impl App {
    /// Registered hosts (admin only).
    pub async fn list_hosts(&self, caller: &crate::app::identity::caller::Caller) -> Result<Vec<Host>> {
        caller.require_admin()?;
        db::list(&self.db).await
    }
}

/// A host as the compute API shows it: capacity, what servers claim, and whether it is up.
pub struct HostView {
    pub host: Host,
    pub up: bool,
    pub vcpus_used: i64,
    pub memory_mb_used: i64,
    pub disk_gb_used: i64,
    pub running_vms: i64,
}

impl App {
    pub async fn host_views(&self, caller: &crate::app::identity::caller::Caller) -> Result<Vec<HostView>> {
        caller.require_admin()?;
        let now = crate::db::now();
        let usage = db::usage(&self.db).await?;
        let servers = servers::list(&self.db).await?;
        Ok(db::list(&self.db)
            .await?
            .into_iter()
            .map(|h| {
                let (c, m, d) = usage
                    .iter()
                    .find(|u| u.0 == h.id)
                    .map(|u| (u.1, u.2, u.3))
                    .unwrap_or((0, 0, 0));
                let running = servers
                    .iter()
                    .filter(|s| s.host_id.as_deref() == Some(h.id.as_str()))
                    .count() as i64;
                HostView {
                    up: h.is_up(now, self.cfg.scheduler.host_down_after),
                    host: h,
                    vcpus_used: c,
                    memory_mb_used: m,
                    disk_gb_used: d,
                    running_vms: running,
                }
            })
            .collect())
    }
}

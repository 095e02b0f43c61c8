//! Servers: creation with scheduling and quota in one transaction, the user's power
//! requests as desired state, deletion. The agent of the chosen host does the rest and its
//! reports move the server from BUILD to ACTIVE (or ERROR). A request no host can take still
//! makes its servers, in ERROR with Nova's "No valid host" fault.

use super::params::{CreateServer, NicRequest};
use super::resource_params::IMAGES_TYPE_SPEC;
use super::scheduler::{self, Constraints};
use crate::app::identity::caller::Caller;
use crate::app::policy::in_project;
use crate::app::volume::boot::VolumePlace;
use crate::app::App;
use crate::db::compute::flavors::Flavor;
use crate::db::compute::server_states::{DesiredPower, TaskState, VmState};
use crate::db::compute::servers::{self as db, Server};
use crate::db::compute::{hosts, server_groups, server_tags};
use crate::db::image::ImageStatus;
use crate::db::Tx;
use crate::error::{Error, Result};
use ciel_proto::ids::ServerId;
use serde_json::{json, Value};

/// The fault of a server no host could take.
const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";

/// The name of server `i` of `count` made by one request (`name-1`, `name-2`, ... when several).
fn numbered(name: &str, count: i64, i: i64) -> String {
    if count > 1 {
        format!("{name}-{}", i + 1)
    } else {
        name.to_string()
    }
}

/// What a create request resolved to before its transaction: the flavor, the image, where
/// the servers may go, and the security groups of their ports.
struct Resolved {
    project_id: String,
    flavor: Flavor,
    image_id: String,
    constraints: Constraints,
    /// Security group ids for the new ports (None: the network's default).
    groups: Option<Vec<String>>,
    /// Where the root disk goes when the flavor says (`ciel:images_type`); else the host's choice.
    root_backend: Option<String>,
}

impl App {
    /// Creates `min_count..=max_count` servers (as many of max as fit), recording a `create`
    /// action under `request_id` for each; returns them. When fewer than `min_count` find a
    /// host, all of them are made in ERROR (Nova answers 202 and shows the fault).
    pub async fn create_servers(&self, caller: &Caller, request_id: &str, req: &CreateServer) -> Result<Vec<Server>> {
        let r = self.resolve_create(caller, req).await?;
        let mut tx = self.begin().await?;
        let wanted = Self::servers_within_quota(&mut tx, &r, req).await?;
        let mut r = r;
        r.constraints.group = match &req.hints.group {
            Some(g) => Some(super::server_groups::placement(&mut tx, caller, g).await?),
            None => None,
        };
        // Local volumes: the server goes where its existing volumes (or snapshots) are;
        // shared ones: to a host that reaches their backend.
        for b in &req.block_devices {
            match self.block_device_host(&mut tx, caller, b).await? {
                Some(VolumePlace::Host(h)) => {
                    r.constraints.same_host = Some(match r.constraints.same_host.take() {
                        Some(hs) => hs.into_iter().filter(|x| *x == h).collect(),
                        None => vec![h],
                    });
                }
                Some(VolumePlace::Backend(b)) => r.constraints.backends.push(b),
                None => {}
            }
        }
        let proto = new_server(caller, req, &r);
        let made = self
            .place_servers(&mut tx, caller, request_id, req, &mut r, &proto, wanted)
            .await?;
        let made = match made {
            Some(made) => made,
            None => Self::servers_in_error(&mut tx, caller, request_id, req, &proto, wanted).await?,
        };
        tx.commit().await?;
        let placed = made.iter().filter(|s| s.host_id.is_some()).count();
        let decisions = &crate::metrics::SCHEDULER;
        decisions.with_label_values(&["placed"]).inc_by(placed as u64);
        decisions
            .with_label_values(&["no_valid_host"])
            .inc_by((made.len() - placed) as u64);
        // Ports are the network service's: made through its API, undone if any fails. A
        // server in ERROR never had a host, so it gets none.
        for s in made.iter().filter(|s| s.host_id.is_some()) {
            if let Err(e) = self.attach_nics(caller, s, req.networks.as_deref(), &r.groups).await {
                for s in &made {
                    self.delete_server(caller, &s.id, request_id).await.ok();
                }
                return Err(e);
            }
        }
        Ok(made)
    }

    /// The lookups of a create request: project, flavor, image, key pair, security groups,
    /// hinted servers' hosts, availability zone.
    async fn resolve_create(&self, caller: &Caller, req: &CreateServer) -> Result<Resolved> {
        let project_id = caller
            .project_id()
            .ok_or_else(|| Error::bad_request("A project-scoped token is required."))?
            .to_string();
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let flavor = self
            .get_flavor(caller, req.flavor_id())
            .await
            .map_err(|_| Error::bad_request(format!("Flavor {} could not be found.", req.flavor_ref)))?;
        let image_id = match &req.image_ref {
            Some(image_ref) => self.bootable_image(caller, image_ref, &flavor).await?,
            None => String::new(),
        };
        if let Some(k) = &req.key_name {
            self.get_keypair(caller, k, None)
                .await
                .map_err(|_| Error::bad_request(format!("Invalid key_name provided: {k}")))?;
        }
        let groups = match &req.security_groups {
            Some(names) => Some(self.requested_groups(caller, names).await?),
            None => None,
        };
        // Only a root disk made from an image has a place of its own.
        let root_backend = match req.image_ref {
            Some(_) => crate::db::compute::flavors::extra_specs(&self.db, &flavor.id)
                .await?
                .remove(IMAGES_TYPE_SPEC),
            None => None,
        };
        let constraints = Constraints {
            same_host: match &req.hints.same_host {
                Some(ids) => Some(self.hosts_of_servers(caller, ids).await),
                None => None,
            },
            different_host: self.hosts_of_servers(caller, &req.hints.different_host).await,
            forced_host: self.forced_host(caller, req)?,
            group: None,
            backends: root_backend.iter().cloned().collect(),
        };
        Ok(Resolved {
            project_id,
            flavor,
            image_id,
            constraints,
            groups,
            root_backend,
        })
    }

    /// The id of the active image `image_ref` names, if `flavor` is big enough for it.
    async fn bootable_image(&self, caller: &Caller, image_ref: &str, flavor: &Flavor) -> Result<String> {
        let image = self
            .get_image(caller, image_ref.rsplit('/').next().unwrap_or_default())
            .await
            .map_err(|_| Error::bad_request(format!("Can not find requested image {image_ref}")))?;
        if image.status != ImageStatus::Active {
            return Err(Error::bad_request(format!("Image {} is not active.", image.id)));
        }
        if flavor.ram < image.min_ram || (flavor.disk > 0 && flavor.disk < image.min_disk) {
            return Err(Error::bad_request(
                "Flavor's memory or disk is too small for requested image.",
            ));
        }
        Ok(image.id.into_string())
    }

    /// The host an admin pinned the servers to (`ZONE:HOST`); the zone must be Ciel's one.
    fn forced_host(&self, caller: &Caller, req: &CreateServer) -> Result<Option<String>> {
        let az = &req.availability_zone;
        if az.pinned && !caller.is_admin() {
            return Err(Error::forbidden());
        }
        if az.zone != "nova" {
            return Err(Error::bad_request(format!(
                "The requested availability zone is not available: {}",
                az.zone
            )));
        }
        Ok(az.host.clone())
    }

    /// How many servers of the request the project's quota takes (at most `max_count`; 403
    /// when not even `min_count`).
    async fn servers_within_quota(tx: &mut Tx<'_>, r: &Resolved, req: &CreateServer) -> Result<i64> {
        let (used, cores, ram) = db::usage_for_project(&mut **tx, &r.project_id).await?;
        let limits = super::quotas::limits_in(tx, &r.project_id).await?;
        let room = |resource: &str, used: i64, per: i64| match limits.get(resource).copied().unwrap_or(-1) {
            l if l < 0 => i64::MAX,
            l => (l - used).max(0) / per.max(1),
        };
        let fits_quota = room("instances", used, 1)
            .min(room("cores", cores, r.flavor.vcpus))
            .min(room("ram", ram, r.flavor.ram));
        let min = req.min_count;
        if fits_quota < min {
            return Err(Error::Typed {
                status: 403,
                kind: "forbidden",
                message: format!(
                    "Quota exceeded for instances, cores or ram: Requested {min}, but already used {used} instances, {cores} cores and {ram} MiB of RAM"
                ),
            });
        }
        Ok(req.max_count.min(fits_quota))
    }

    /// Schedules and makes up to `wanted` servers in a savepoint; None (and nothing made)
    /// when fewer than `min_count` find a host.
    #[allow(clippy::too_many_arguments)]
    async fn place_servers(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        request_id: &str,
        req: &CreateServer,
        r: &mut Resolved,
        proto: &Server,
        wanted: i64,
    ) -> Result<Option<Vec<Server>>> {
        let mut placed = tx.savepoint().await?;
        let mut made = vec![];
        for i in 0..wanted {
            let Some(host) = scheduler::pick(
                &mut placed,
                &self.host_views,
                &self.cfg.scheduler,
                &r.flavor,
                &r.constraints,
            )
            .await?
            else {
                break;
            };
            let mut s = proto.clone();
            s.id = uuid::Uuid::new_v4().to_string().into();
            s.name = numbered(&req.name, wanted, i);
            s.host_id = Some(host.as_str().into());
            s.root_backend = match &r.root_backend {
                Some(b) => b.clone(),
                None => hosts::get(&mut *placed, &host)
                    .await?
                    .map(|h| h.images_type)
                    .unwrap_or_else(|| "file".into()),
            };
            s.launch_index = i;
            db::insert(&mut *placed, &s).await?;
            self.attach_block_devices(&mut placed, caller, req, &s, &host).await?;
            record_created(&mut placed, caller, &s, req, request_id).await?;
            if let Some(p) = r.constraints.group.as_mut() {
                p.member_hosts.push(host.clone());
            }
            placed.host_changed(&host);
            made.push(s);
        }
        if (made.len() as i64) < req.min_count {
            placed.rollback().await?;
            return Ok(None);
        }
        placed.commit().await?;
        Ok(Some(made))
    }

    /// The request's volumes for server `s` on `host` (the root one as /dev/vda, the others
    /// as the next free disks).
    async fn attach_block_devices(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        req: &CreateServer,
        s: &Server,
        host: &str,
    ) -> Result<()> {
        let mut next_disk = if req.config_drive { b'c' } else { b'b' };
        for b in &req.block_devices {
            let device = format!("/dev/vd{}", next_disk as char);
            if b.boot_index != Some(0) {
                next_disk += 1;
            }
            self.attach_block_device(tx, caller, &s.id, host, b, device.clone())
                .await?;
        }
        Ok(())
    }

    /// Makes the `wanted` servers of a request no host could take: in ERROR with Nova's
    /// fault, without a host, counted against the quota until deleted.
    async fn servers_in_error(
        tx: &mut Tx<'_>,
        caller: &Caller,
        request_id: &str,
        req: &CreateServer,
        proto: &Server,
        wanted: i64,
    ) -> Result<Vec<Server>> {
        let mut made = vec![];
        for i in 0..wanted {
            let mut s = proto.clone();
            s.id = uuid::Uuid::new_v4().to_string().into();
            s.name = numbered(&req.name, wanted, i);
            s.launch_index = i;
            s.vm_state = VmState::Error;
            s.task_state = None;
            s.fault = Some(NO_VALID_HOST.into());
            db::insert(&mut **tx, &s).await?;
            record_created(tx, caller, &s, req, request_id).await?;
            made.push(s);
        }
        Ok(made)
    }
}

/// What every new server gets in the creating transaction, placed or not: its `create`
/// action, its tags, its group membership.
async fn record_created(
    tx: &mut Tx<'_>,
    caller: &Caller,
    s: &Server,
    req: &CreateServer,
    request_id: &str,
) -> Result<()> {
    super::actions::record(tx, caller, s, "create", request_id, s.created_at).await?;
    for t in &req.tags {
        server_tags::add(&mut **tx, &s.id, t).await?;
    }
    if let Some(g) = &req.hints.group {
        server_groups::add_member(&mut **tx, g, &s.id).await?;
    }
    Ok(())
}

/// Nova's reservation id: `r-` and 8 random lower-case letters and digits.
fn reservation_id() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..8).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect();
    format!("r-{tail}")
}

/// The server a request makes, before it has an id, a host and its place in the request.
fn new_server(caller: &Caller, req: &CreateServer, r: &Resolved) -> Server {
    let now = crate::db::now();
    Server {
        id: ServerId::default(),
        project_id: r.project_id.as_str().into(),
        user_id: caller.user_id().into(),
        name: req.name.clone(),
        flavor_id: r.flavor.id.clone(),
        vcpus: r.flavor.vcpus,
        memory_mb: r.flavor.ram,
        root_gb: if req.boot_volume().is_some() { 0 } else { r.flavor.disk },
        image_id: r.image_id.as_str().into(),
        host_id: None,
        key_name: req.key_name.clone(),
        user_data: req.user_data.clone(),
        metadata: Value::Object(req.metadata.clone()).to_string(),
        availability_zone: req.availability_zone.zone.clone(),
        vm_state: VmState::Building,
        task_state: Some(TaskState::Spawning),
        power_state: 0,
        desired_power: DesiredPower::Running,
        boot_serial: 0,
        fault: None,
        created_at: now,
        updated_at: now,
        launched_at: None,
        config_drive: req.config_drive,
        launch_index: 0,
        // One per request: every server of a multi-create shares it.
        reservation_id: reservation_id(),
        description: req.description.clone(),
        access_ipv4: req.access_ipv4.clone(),
        access_ipv6: req.access_ipv6.clone(),
        locked_by: None,
        locked_reason: None,
        rebuild_serial: 0,
        old_flavor_id: None,
        old_vcpus: None,
        old_memory_mb: None,
        old_root_gb: None,
        root_backend: "file".into(),
    }
}

impl App {
    async fn attach_nics(
        &self,
        caller: &Caller,
        s: &Server,
        nics: Option<&[NicRequest]>,
        groups: &Option<Vec<String>>,
    ) -> Result<()> {
        let auto;
        let nics = match nics {
            Some(n) => n,
            None => {
                let candidates: Vec<_> = self
                    .list_networks(caller)
                    .await?
                    .into_iter()
                    .filter(|n| !n.external && in_project(caller, &n.project_id))
                    .collect();
                if candidates.len() > 1 {
                    return Err(Error::Conflict(
                        "Multiple possible networks found, use a Network ID to be more specific.".into(),
                    ));
                }
                auto = candidates
                    .into_iter()
                    .map(|n| NicRequest::Network(n.id.into_string(), None))
                    .collect::<Vec<_>>();
                &auto
            }
        };
        // The networks' DHCP service answers from its own port: made before the VM's ports,
        // so that the first host config with the VM already has its DHCP service.
        let mut networks = vec![];
        for nic in nics {
            match nic {
                NicRequest::Network(net, _) => networks.push(net.clone()),
                NicRequest::Port(p) => {
                    if let Some(port) = crate::db::network::get_port(&self.db, p).await? {
                        networks.push(port.network_id.into_string());
                    }
                }
            }
        }
        networks.sort();
        networks.dedup();
        let mut tx = self.begin().await?;
        for n in &networks {
            self.ensure_dhcp_port(&mut tx, n).await?;
        }
        tx.commit().await?;
        for nic in nics {
            match nic {
                NicRequest::Network(net, fixed) => {
                    let mut port = json!({"network_id": net, "device_id": s.id, "device_owner": "compute:nova"});
                    if let Some(ip) = fixed {
                        port["fixed_ips"] = json!([{"ip_address": ip}]);
                    }
                    if let Some(g) = groups {
                        port["security_groups"] = json!(g);
                    }
                    let Value::Object(b) = port else { unreachable!() };
                    let made = self
                        .create_port(caller, crate::app::network::params::FromBody::from_body(b)?)
                        .await
                        .map_err(|e| match e {
                            Error::NotFound { .. } => Error::bad_request(format!("Network {net} could not be found.")),
                            other => other,
                        })?;
                    self.remember_created_port(&made.port.id, &s.id).await?;
                }
                NicRequest::Port(p) => {
                    let b = json!({"device_id": s.id, "device_owner": "compute:nova"});
                    let Value::Object(b) = b else { unreachable!() };
                    self.update_port(caller, p, crate::app::network::params::FromBody::from_body(b)?)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The hosts of the caller's servers among `ids` (a `same_host`/`different_host` hint).
    async fn hosts_of_servers(&self, caller: &Caller, ids: &[String]) -> Vec<String> {
        let mut hosts = vec![];
        for id in ids {
            if let Some(h) = self.get_server(caller, id).await.ok().and_then(|s| s.host_id) {
                hosts.push(h.into_string());
            }
        }
        hosts
    }

    /// The security groups a create request names, as ids (names or ids of the caller's
    /// groups, as Nova resolves them through Neutron).
    async fn requested_groups(&self, caller: &Caller, names: &[String]) -> Result<Vec<String>> {
        let groups = self.list_security_groups(caller).await?;
        let own = |g: &&crate::app::network::security_groups::GroupView| {
            caller.project_id() == Some(g.group.project_id.as_str())
        };
        let mut ids = vec![];
        for name in names {
            let found = groups
                .iter()
                .filter(own)
                .find(|g| &g.group.id == name)
                .or_else(|| groups.iter().filter(own).find(|g| &g.group.name == name))
                .ok_or_else(|| Error::bad_request(format!("Security group {name} not found for project")))?;
            if !ids.contains(&found.group.id) {
                ids.push(found.group.id.clone());
            }
        }
        Ok(ids)
    }

    pub async fn get_server(&self, caller: &Caller, id: &str) -> Result<Server> {
        match db::get(&self.db, id).await? {
            Some(s) if in_project(caller, &s.project_id) => Ok(s),
            _ => Err(Error::not_found("instance", id)),
        }
    }

    /// The servers on a host that the caller may see (the hypervisors' views), from the
    /// host's index.
    pub async fn servers_on_host(&self, caller: &Caller, host_id: &str) -> Result<Vec<Server>> {
        let every = caller.may("compute:servers:list:all_projects");
        let own = caller.project_id();
        Ok(db::on_host(&self.db, host_id)
            .await?
            .into_iter()
            .filter(|s| every || own == Some(s.project_id.as_str()))
            .collect())
    }

    /// Removes the server now, deleting the ports Nova made for it and unbinding the ones the
    /// user brought; its host's next desired state no longer has the VM, so the agent tears
    /// it down (and would after any crash, too).
    pub async fn delete_server(&self, caller: &Caller, id: &str, request_id: &str) -> Result<()> {
        let s = self.server_for_update(caller, id, super::actions::Guard::Lock).await?;
        for p in crate::db::network::ports_of_device(&self.db, &s.id).await? {
            self.release_server_port(caller, &p.id).await?;
        }
        let mut tx = self.begin().await?;
        App::release_server_volumes(&mut tx, id).await?;
        db::delete(&mut *tx, id).await?;
        // Metering knows the exact end (its sample would place it within half an interval).
        crate::db::usage::close(&mut *tx, "server", id, crate::db::now()).await?;
        // A migration in progress ends with it: its destination lets the VM go too.
        for h in crate::db::compute::migrations::forget_server(&mut tx, id).await? {
            tx.host_changed(&h);
        }
        super::actions::record(&mut tx, caller, &s, "delete", request_id, crate::db::now()).await?;
        if let Some(h) = &s.host_id {
            tx.host_changed(h);
        }
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// The server's serial console (its last `length` lines, all when None), read from the
    /// agent of its host.
    pub async fn server_console_output(&self, caller: &Caller, id: &str, length: Option<i64>) -> Result<String> {
        let s = self.get_server(caller, id).await?;
        if s.vm_state == VmState::Building {
            return Err(Error::Conflict(format!(
                "Cannot 'get_console_output' instance {id} while it is in vm_state building"
            )));
        }
        let host = match &s.host_id {
            Some(h) => hosts::get(&self.db, h).await?,
            None => None,
        };
        let Some((url, secret)) = host.and_then(|h| h.agent_url.map(|u| (u, h.agent_secret))) else {
            return Err(Error::Conflict(format!(
                "The console of instance {id} is not available."
            )));
        };
        let mut req = reqwest::Client::new()
            .get(format!("{url}/v1/vms/{id}/console"))
            .bearer_auth(secret)
            .timeout(std::time::Duration::from_secs(10));
        if let Some(n) = length {
            req = req.query(&[("length", n)]);
        }
        let resp = req
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| Error::Conflict(format!("The console of instance {id} is not available: {e}")))?;
        resp.text()
            .await
            .map_err(|e| Error::Internal(format!("reading the console of {id}: {e}")))
    }
}

/// A project's compute limits and what it uses of them.
pub struct ComputeUsage {
    pub instances: i64,
    pub cores: i64,
    pub ram_mb: i64,
}

impl App {
    pub async fn compute_usage(&self, caller: &Caller) -> Result<ComputeUsage> {
        match caller.project_id() {
            Some(p) => self.compute_usage_of(caller, p).await,
            None => Ok(ComputeUsage {
                instances: 0,
                cores: 0,
                ram_mb: 0,
            }),
        }
    }

    /// What `project_id`'s servers use (admins: any project; others: their own).
    pub async fn compute_usage_of(&self, caller: &Caller, project_id: &str) -> Result<ComputeUsage> {
        if !caller.is_admin() && caller.project_id() != Some(project_id) {
            return Err(Error::forbidden());
        }
        let (instances, cores, ram_mb) = db::usage_for_project(&self.db, project_id).await?;
        Ok(ComputeUsage {
            instances,
            cores,
            ram_mb,
        })
    }
}

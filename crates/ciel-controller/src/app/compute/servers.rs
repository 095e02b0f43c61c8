//! Servers: creation with scheduling and quota in one transaction, the user's power
//! requests as desired state, deletion. The agent of the chosen host does the rest and its
//! reports move the server from BUILD to ACTIVE (or ERROR).

use super::scheduler;
use crate::app::identity::caller::Caller;
use crate::app::identity::input::{self, Body};
use crate::app::network::owns;
use crate::app::App;
use crate::db::compute::servers::{self as db, Server};
use crate::db::compute::{hosts, server_groups, server_tags};
use crate::error::{Error, Result};
use serde_json::{json, Value};

/// One NIC request of `networks`.
enum NicRequest {
    Network(String, Option<String>),
    Port(String),
}

fn parse_networks(v: Option<Value>) -> Result<Option<Vec<NicRequest>>> {
    let bad = |why: &str| Error::bad_request(format!("Bad networks format: {why}"));
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "auto" => Ok(None),
        Some(Value::String(s)) if s == "none" => Ok(Some(vec![])),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|i| {
                let port = i.get("port").and_then(Value::as_str).map(str::to_owned);
                let uuid = i.get("uuid").and_then(Value::as_str).map(str::to_owned);
                let fixed = i.get("fixed_ip").and_then(Value::as_str).map(str::to_owned);
                if let Some(ip) = &fixed {
                    ip.parse::<std::net::IpAddr>()
                        .map_err(|_| bad(&format!("Invalid fixed IP address ({ip})")))?;
                }
                for id in port.iter().chain(uuid.iter()) {
                    uuid::Uuid::parse_str(id).map_err(|_| bad("network uuid is not in proper format"))?;
                }
                match (port, uuid) {
                    (Some(p), _) => Ok(NicRequest::Port(p)),
                    (None, Some(n)) => Ok(NicRequest::Network(n, fixed)),
                    _ => Err(bad("each entry needs uuid or port")),
                }
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute networks. Value: {v}."
        ))),
    }
}

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

/// `tags` (2.52): at most 50 strings of 1–60 characters without `/` or `,`, as Nova's
/// schema checks them.
fn tags(v: Option<Value>) -> Result<Vec<String>> {
    let items = match v {
        None => return Ok(vec![]),
        Some(Value::Array(items)) => items,
        Some(v) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute tags. Value: {v}. {v} is not of type 'array'"
            )))
        }
    };
    if items.len() > MAX_TAGS {
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute tags. Value: {}. {} is too long",
            Value::Array(items.clone()),
            Value::Array(items)
        )));
    }
    let mut out: Vec<String> = vec![];
    for (i, t) in items.into_iter().enumerate() {
        let bad = |why: String| Error::bad_request(format!("Invalid input for field/attribute {i}. Value: {t}. {why}"));
        let Value::String(tag) = &t else {
            return Err(bad(format!("{t} is not of type 'string'")));
        };
        let n = tag.chars().count();
        if n == 0 {
            return Err(bad(format!("'{tag}' is too short")));
        }
        if n > 60 {
            return Err(bad(format!("'{tag}' is too long")));
        }
        if tag.contains('/') || tag.contains(',') {
            return Err(bad(format!("'{tag}' does not match '^[^,/]*$'")));
        }
        if !out.contains(tag) {
            out.push(tag.clone());
        }
    }
    Ok(out)
}

/// The most tags a server has (Nova's `MAX_TAG_COUNT`).
const MAX_TAGS: usize = 50;

/// The largest `user_data` Nova takes, base64-encoded.
const MAX_USER_DATA: usize = 65535;

/// `user_data`: base64 text of at most 65535 bytes (Nova's schema: `format: base64`,
/// `maxLength: 65535`); errors never echo the data.
fn user_data(v: Option<Value>) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(u)) => {
            if u.len() > MAX_USER_DATA {
                return Err(Error::bad_request(format!(
                    "User data too large. User data must be no larger than {MAX_USER_DATA} bytes once base64 encoded. Your data is {} bytes",
                    u.len()
                )));
            }
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(u.trim())
                .map_err(|_| {
                    Error::bad_request(
                        "Invalid input for field/attribute user_data. Value: (not shown). It is not a 'base64'",
                    )
                })?;
            Ok(Some(u))
        }
        Some(_) => Err(Error::bad_request(
            "Invalid input for field/attribute user_data. Value: (not shown). It is not of type 'string'",
        )),
    }
}

impl App {
    /// Creates `min_count..=max_count` servers (as many of max as fit), recording a `create`
    /// action under `request_id` for each; returns them.
    pub async fn create_servers(&self, caller: &Caller, request_id: &str, mut body: Body) -> Result<Vec<Server>> {
        let project_id = caller
            .project_id()
            .ok_or_else(|| Error::bad_request("A project-scoped token is required."))?
            .to_string();
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let name = super::server_meta::name(&mut body)?.ok_or_else(|| {
            Error::bad_request("Invalid input for field/attribute server. Value: {...}. 'name' is a required property")
        })?;
        let block_devices = crate::app::volume::boot::parse(body.remove("block_device_mapping_v2"))?;
        let boot_volume = block_devices.iter().find(|b| b.boot_index == Some(0)).cloned();
        let image_ref = input::opt_str(&mut body, "imageRef", 255, true)?.filter(|i| !i.is_empty());
        // Booted from a volume, a server has no image of its own (Nova shows "").
        let image_id = match (&image_ref, &boot_volume) {
            (_, Some(_)) => None,
            (Some(i), None) => Some(i.clone()),
            (None, None) => return Err(Error::bad_request("Invalid input for field/attribute imageRef.")),
        };
        let flavor_ref = match body.remove("flavorRef") {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(Error::bad_request("Invalid input for field/attribute flavorRef.")),
        };
        let flavor_id = flavor_ref.rsplit('/').next().unwrap_or_default().to_string();
        let flavor = self
            .get_flavor(caller, &flavor_id)
            .await
            .map_err(|_| Error::bad_request(format!("Flavor {flavor_ref} could not be found.")))?;
        let image = match &image_id {
            Some(image_id) => {
                let image = self
                    .get_image(caller, image_id.rsplit('/').next().unwrap_or_default())
                    .await
                    .map_err(|_| Error::bad_request(format!("Can not find requested image {image_id}")))?;
                if image.status != "active" {
                    return Err(Error::bad_request(format!("Image {} is not active.", image.id)));
                }
                if flavor.ram < image.min_ram || (flavor.disk > 0 && flavor.disk < image.min_disk) {
                    return Err(Error::bad_request(
                        "Flavor's memory or disk is too small for requested image.",
                    ));
                }
                Some(image)
            }
            None => None,
        };
        let key_name = input::opt_str(&mut body, "key_name", 255, true)?;
        if let Some(k) = &key_name {
            self.get_keypair(caller, k, None)
                .await
                .map_err(|_| Error::bad_request(format!("Invalid key_name provided: {k}")))?;
        }
        let user_data = user_data(body.remove("user_data"))?;
        let config_drive = match body.remove("config_drive") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) => {
                matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
            }
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute config_drive. Value: {v}."
                )))
            }
        };
        let metadata = match body.remove("metadata") {
            None | Some(Value::Null) => json!({}),
            Some(Value::Object(m)) => Value::Object(super::server_meta::validate(m)?),
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute metadata.")),
        };
        let access_ipv4 = super::server_meta::access_ip(&mut body, "accessIPv4", false)?;
        let access_ipv6 = super::server_meta::access_ip(&mut body, "accessIPv6", true)?;
        let description = super::server_meta::description(&mut body)?;
        let groups = self.requested_groups(caller, body.remove("security_groups")).await?;
        let hints = match body
            .remove("os:scheduler_hints")
            .or_else(|| body.remove("OS-SCH-HNT:scheduler_hints"))
        {
            Some(Value::Object(h)) => h,
            _ => Default::default(),
        };
        let group_hint = hints.get("group").and_then(Value::as_str).map(str::to_owned);
        let mut constraints = scheduler::Constraints {
            same_host: match hints.get("same_host") {
                Some(v) => Some(self.hosts_of_hinted(caller, v).await?),
                None => None,
            },
            different_host: match hints.get("different_host") {
                Some(v) => self.hosts_of_hinted(caller, v).await?,
                None => vec![],
            },
            ..Default::default()
        };
        let count = |k: &str, body: &mut Body| -> Result<i64> {
            match body.remove(k) {
                None | Some(Value::Null) => Ok(1),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| Error::bad_request(format!("Invalid input for field/attribute {k}."))),
            }
        };
        let min = count("min_count", &mut body)?;
        let max = match body.get("max_count") {
            Some(v) if !v.is_null() => count("max_count", &mut body)?,
            _ => min,
        };
        if max < min {
            return Err(Error::bad_request("min_count must be <= max_count"));
        }
        if max > 1 && block_devices.iter().any(|b| b.source == "volume") {
            return Err(Error::bad_request(
                "Block Device Mapping is Invalid: an existing volume cannot be given to several servers.",
            ));
        }
        let nics = parse_networks(body.remove("networks"))?;
        let tags = tags(body.remove("tags"))?;
        let az = input::opt_str(&mut body, "availability_zone", 255, true)?.unwrap_or_else(|| "nova".into());
        // "ZONE:HOST[:NODE]" pins an admin's server to a host.
        let (az, forced) = match az.split_once(':') {
            Some((zone, host)) => {
                if !caller.is_admin() {
                    return Err(Error::forbidden());
                }
                let host = host.split(':').next().unwrap_or_default();
                let zone = if zone.is_empty() { "nova" } else { zone };
                (zone.to_string(), (!host.is_empty()).then(|| host.to_string()))
            }
            None => (az, None),
        };
        if az != "nova" {
            return Err(Error::bad_request(format!(
                "The requested availability zone is not available: {az}"
            )));
        }
        constraints.forced_host = forced;

        let now = crate::db::now();
        let mut tx = crate::db::begin(&self.db).await?;
        let (used, cores, ram) = db::usage_for_project(&mut *tx, &project_id).await?;
        let limits = super::quotas::limits_in(&mut tx, &project_id).await?;
        let room = |resource: &str, used: i64, per: i64| match limits.get(resource).copied().unwrap_or(-1) {
            l if l < 0 => i64::MAX,
            l => (l - used).max(0) / per.max(1),
        };
        let fits_quota = room("instances", used, 1)
            .min(room("cores", cores, flavor.vcpus))
            .min(room("ram", ram, flavor.ram));
        if fits_quota < min {
            return Err(Error::Typed {
                status: 403,
                kind: "forbidden",
                message: format!(
                    "Quota exceeded for instances, cores or ram: Requested {min}, but already used {used} instances, {cores} cores and {ram} MiB of RAM"
                ),
            });
        }
        let wanted = max.min(fits_quota);
        let mut made = vec![];
        let mut failed = vec![];
        let proto = Server {
            id: String::new(),
            project_id: project_id.clone(),
            user_id: caller.user_id().to_string(),
            name: name.clone(),
            flavor_id: flavor.id.clone(),
            vcpus: flavor.vcpus,
            memory_mb: flavor.ram,
            root_gb: if boot_volume.is_some() { 0 } else { flavor.disk },
            image_id: image.as_ref().map(|i| i.id.clone()).unwrap_or_default(),
            host_id: None,
            key_name: key_name.clone(),
            user_data: user_data.clone(),
            metadata: metadata.to_string(),
            availability_zone: az.clone(),
            vm_state: "building".into(),
            task_state: Some("spawning".into()),
            power_state: 0,
            desired_power: "running".into(),
            boot_serial: 0,
            fault: None,
            created_at: now,
            updated_at: now,
            launched_at: None,
            config_drive,
            launch_index: 0,
            description: description.clone(),
            access_ipv4: access_ipv4.clone(),
            access_ipv6: access_ipv6.clone(),
            locked_by: None,
            locked_reason: None,
            rebuild_serial: 0,
            old_flavor_id: None,
            old_vcpus: None,
            old_memory_mb: None,
            old_root_gb: None,
        };
        if let Some(g) = &group_hint {
            constraints.group = Some(super::server_groups::placement(&mut tx, caller, g).await?);
        }
        // Local volumes: the server goes where its existing volumes (or snapshots) are.
        for b in &block_devices {
            if let Some(h) = self.block_device_host(&mut tx, caller, b).await? {
                constraints.same_host = Some(match constraints.same_host.take() {
                    Some(hs) => hs.into_iter().filter(|x| *x == h).collect(),
                    None => vec![h],
                });
            }
        }
        // Scheduled in a savepoint: when fewer than `min` servers find a host, none keeps
        // one and all of them go to ERROR instead (as Nova buries them), still counting
        // against the quota until deleted.
        let mut placed = tx.savepoint().await?;
        for i in 0..wanted {
            let host = scheduler::pick(&mut placed, &self.cfg.scheduler, &flavor, &constraints).await?;
            let Some(host) = host else {
                if (made.len() as i64) < min {
                    made.clear();
                }
                break;
            };
            let mut s = proto.clone();
            s.id = uuid::Uuid::new_v4().to_string();
            s.name = numbered(&name, wanted, i);
            s.host_id = Some(host.clone());
            s.launch_index = i;
            db::insert(&mut *placed, &s).await?;
            let mut next_disk = if config_drive { b'c' } else { b'b' };
            for b in &block_devices {
                let device = format!("/dev/vd{}", next_disk as char);
                if b.boot_index != Some(0) {
                    next_disk += 1;
                }
                self.attach_block_device(&mut placed, caller, &s.id, &host, b, device)
                    .await?;
            }
            self.record_created(&mut placed, caller, &s, &tags, group_hint.as_deref(), request_id)
                .await?;
            if let Some(p) = constraints.group.as_mut() {
                p.member_hosts.push(host.clone());
            }
            hosts::bump_generation(&mut *placed, &host).await?;
            made.push(s);
        }
        if made.is_empty() {
            placed.rollback().await?;
            for i in 0..wanted {
                let mut s = proto.clone();
                s.id = uuid::Uuid::new_v4().to_string();
                s.name = numbered(&name, wanted, i);
                s.launch_index = i;
                s.vm_state = "error".into();
                s.task_state = None;
                s.fault = Some(NO_VALID_HOST.into());
                db::insert(&mut *tx, &s).await?;
                self.record_created(&mut tx, caller, &s, &tags, group_hint.as_deref(), request_id)
                    .await?;
                failed.push(s);
            }
        } else {
            placed.commit().await?;
        }
        tx.commit().await?;
        // Ports are the network service's: made through its API, undone if any fails.
        // A server in ERROR never had a host, so it gets none.
        for s in &made {
            if let Err(e) = self.attach_nics(caller, s, nics.as_deref(), &groups).await {
                for s in &made {
                    self.delete_server(caller, &s.id, request_id).await.ok();
                }
                return Err(e);
            }
        }
        self.hosts_changed();
        made.extend(failed);
        Ok(made)
    }

    /// What every new server gets in the creating transaction, placed or not: its `create`
    /// action, its tags, its group membership.
    async fn record_created(
        &self,
        tx: &mut crate::db::Tx<'_>,
        caller: &Caller,
        s: &Server,
        tags: &[String],
        group: Option<&str>,
        request_id: &str,
    ) -> Result<()> {
        super::actions::record(tx, caller, s, "create", request_id, s.created_at).await?;
        for t in tags {
            server_tags::add(&mut **tx, &s.id, t).await?;
        }
        if let Some(g) = group {
            server_groups::add_member(&mut **tx, g, &s.id).await?;
        }
        Ok(())
    }

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
                    .filter(|n| !n.external && owns(caller, &n.project_id))
                    .collect();
                if candidates.len() > 1 {
                    return Err(Error::Conflict(
                        "Multiple possible networks found, use a Network ID to be more specific.".into(),
                    ));
                }
                auto = candidates
                    .into_iter()
                    .map(|n| NicRequest::Network(n.id, None))
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
                        networks.push(port.network_id);
                    }
                }
            }
        }
        networks.sort();
        networks.dedup();
        let mut tx = crate::db::begin(&self.db).await?;
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

    /// The hosts of the servers a `same_host`/`different_host` hint names (one id or a list;
    /// the caller's servers only).
    async fn hosts_of_hinted(&self, caller: &Caller, v: &Value) -> Result<Vec<String>> {
        let ids: Vec<&str> = match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => {
                return Err(Error::bad_request(
                    "Invalid input for field/attribute os:scheduler_hints.",
                ))
            }
        };
        let mut hosts = vec![];
        for id in ids {
            if let Some(h) = self.get_server(caller, id).await.ok().and_then(|s| s.host_id) {
                hosts.push(h);
            }
        }
        Ok(hosts)
    }

    /// `security_groups: [{"name": ...}]` of a create request as group ids (names or ids of
    /// the caller's groups, as Nova resolves them through Neutron).
    async fn requested_groups(&self, caller: &Caller, v: Option<Value>) -> Result<Option<Vec<String>>> {
        let items = match v {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute security_groups. Value: {v}."
                )))
            }
        };
        let groups = self.list_security_groups(caller).await?;
        let mut ids = vec![];
        for i in items {
            let name = i
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::bad_request("Invalid input for field/attribute security_groups."))?;
            let own = |g: &&crate::app::network::security_groups::GroupView| {
                caller.project_id() == Some(g.group.project_id.as_str())
            };
            let found = groups
                .iter()
                .filter(own)
                .find(|g| g.group.id == name)
                .or_else(|| groups.iter().filter(own).find(|g| g.group.name == name))
                .ok_or_else(|| Error::bad_request(format!("Security group {name} not found for project")))?;
            if !ids.contains(&found.group.id) {
                ids.push(found.group.id.clone());
            }
        }
        Ok(Some(ids))
    }

    pub async fn get_server(&self, caller: &Caller, id: &str) -> Result<Server> {
        match db::get(&self.db, id).await? {
            Some(s) if owns(caller, &s.project_id) => Ok(s),
            _ => Err(Error::not_found("instance", id)),
        }
    }

    pub async fn list_servers(&self, caller: &Caller, all_projects: bool) -> Result<Vec<Server>> {
        self.list_servers_tagged(caller, all_projects, &db::TagFilter::default())
            .await
    }

    /// As `list_servers`, only the servers whose tags pass `tags`.
    pub async fn list_servers_tagged(
        &self,
        caller: &Caller,
        all_projects: bool,
        tags: &db::TagFilter,
    ) -> Result<Vec<Server>> {
        let own = caller.project_id().map(str::to_owned);
        Ok(db::list_tagged(&self.db, tags)
            .await?
            .into_iter()
            .filter(|s| (all_projects && caller.is_admin()) || own.as_deref() == Some(s.project_id.as_str()))
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
        let mut tx = crate::db::begin(&self.db).await?;
        App::release_server_volumes(&mut tx, id).await?;
        db::delete(&mut *tx, id).await?;
        super::actions::record(&mut tx, caller, &s, "delete", request_id, crate::db::now()).await?;
        if let Some(h) = &s.host_id {
            hosts::bump_generation(&mut *tx, h).await?;
        }
        tx.commit().await?;
        self.hosts_changed();
        Ok(())
    }
}

impl App {
    /// The server's serial console (its last `length` lines, all when None), read from the
    /// agent of its host.
    pub async fn server_console_output(&self, caller: &Caller, id: &str, length: Option<i64>) -> Result<String> {
        let s = self.get_server(caller, id).await?;
        if s.vm_state == "building" {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_is_bounded_base64() {
        assert_eq!(user_data(Some(json!("aGVsbG8="))).unwrap().as_deref(), Some("aGVsbG8="));
        assert!(user_data(None).unwrap().is_none());
        let big = "A".repeat(65536);
        let e = user_data(Some(json!(big))).unwrap_err();
        assert!(e.to_string().starts_with("User data too large."), "{e}");
        assert!(e.to_string().len() < 200, "the data is not echoed");
        assert!(user_data(Some(json!("A".repeat(65532)))).is_ok());
        assert_eq!(user_data(Some(json!("not base64!"))).unwrap_err().status(), 400);
        assert_eq!(user_data(Some(json!(12))).unwrap_err().status(), 400);
    }
}

//! `/servers`: create, list (with Nova's filters), show, update, delete, addresses.

use super::error::NovaResult;
use super::microversion::Mv;
use super::request_id::RequestId;
use super::{links, param, query_pairs, time_micro, time_z as time, NovaCaller};
use crate::app::compute::params::CreateServer;
use crate::app::compute::server_list::{parse_time, ServerFilter, STATUSES};
use crate::app::compute::server_related::{ServerRelated, Wanted};
use crate::app::identity::caller::Caller;
use crate::db::compute::server_states::VmState;
use crate::db::compute::servers::Server;
use crate::db::compute::servers::TagFilter;
use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

/// Nova's API status from the state pair.
pub fn status(s: &Server) -> &'static str {
    crate::app::compute::status::api_status(s).as_str()
}

/// What rendering `servers` needs beside their rows, read once per request for the whole
/// page (never once per server); the microversion and the caller's rights say which kinds.
pub(super) async fn related(app: &AppState, c: &Caller, servers: &[Server], mv: Mv) -> Result<ServerRelated, Error> {
    let want = Wanted {
        tags: mv.at_least(26),
        server_groups: mv.at_least(71),
        flavors: mv.at_least(47),
        host_names: c.may("compute:servers:extended_attributes"),
    };
    app.server_related(servers, want).await
}

/// `addresses`: the server's fixed IPs grouped by network name, each followed by the floating
/// IPs associated with it (as Nova's network info cache lists them).
fn addresses(l: &ServerRelated, s: &Server) -> Value {
    let mut out = Map::new();
    for n in l.nics(&s.id) {
        let entry = out.entry(n.network.clone()).or_insert_with(|| json!([]));
        for ip in &n.fixed_ips {
            let version = if ip.contains(':') { 6 } else { 4 };
            if let Some(a) = entry.as_array_mut() {
                a.push(json!({"version": version, "addr": ip, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": n.mac_address}));
                for (_, floating) in n.floating.iter().filter(|(fixed, _)| fixed == ip) {
                    a.push(json!({"version": 4, "addr": floating, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": n.mac_address}));
                }
            }
        }
    }
    Value::Object(out)
}

/// The server's security groups, by name, from its ports (each group once).
fn security_groups(l: &ServerRelated, s: &Server) -> Value {
    l.security_group_names(&s.id)
        .into_iter()
        .map(|name| json!({"name": name}))
        .collect()
}

/// Fields that appeared in later microversions.
fn versioned(l: &ServerRelated, s: &Server, mv: Mv, v: &mut Value) {
    if mv.at_least(9) {
        v["locked"] = json!(s.locked_by.is_some());
    }
    if mv.at_least(19) {
        v["description"] = json!(s.description);
    }
    if mv.at_least(26) {
        v["tags"] = json!(l.tags(&s.id));
    }
    if mv.at_least(63) {
        // Ciel does not verify image signatures, so no server has trusted certificates.
        v["trusted_image_certificates"] = Value::Null;
    }
    if mv.at_least(71) {
        v["server_groups"] = json!(l.server_groups(&s.id));
    }
    if mv.at_least(73) {
        v["locked_reason"] = json!(s.locked_reason);
    }
}

/// The shorter body of update and rebuild responses (before 2.75: without the extension
/// attributes of `show`; a rebuild also shows `key_name` from 2.54 and `user_data` from 2.57).
pub(super) fn common_json(app: &AppState, c: &Caller, l: &ServerRelated, s: &Server, mv: Mv, rebuild: bool) -> Value {
    let mut v = detail_json(app, c, l, s, mv);
    if mv.at_least(75) {
        // From 2.75 both show the server as `show` does; a rebuild names user_data plainly.
        if let (Value::Object(m), true) = (&mut v, rebuild) {
            m.remove("OS-EXT-SRV-ATTR:user_data");
            m.insert("user_data".into(), json!(s.user_data));
        }
        return v;
    }
    if let Some(Value::Object(nets)) = v.get_mut("addresses") {
        for a in nets.values_mut().filter_map(Value::as_array_mut).flatten() {
            if let Value::Object(a) = a {
                a.retain(|k, _| k == "addr" || k == "version");
            }
        }
    }
    if let Value::Object(m) = &mut v {
        m.retain(|k, _| {
            !k.starts_with("OS-EXT-")
                && !k.starts_with("OS-SRV-USG")
                && !matches!(
                    k.as_str(),
                    "key_name" | "security_groups" | "os-extended-volumes:volumes_attached" | "config_drive"
                )
        });
    }
    if rebuild && mv.at_least(54) {
        v["key_name"] = json!(s.key_name);
    }
    if rebuild && mv.at_least(57) {
        v["user_data"] = json!(s.user_data);
    }
    v
}

pub(super) fn detail_json(app: &AppState, c: &Caller, l: &ServerRelated, s: &Server, mv: Mv) -> Value {
    let flavor = if mv.at_least(47) {
        let (name, specs) = l.flavor(&s.flavor_id).cloned().unwrap_or_default();
        json!({"vcpus": s.vcpus, "ram": s.memory_mb, "disk": s.root_gb, "ephemeral": 0, "swap": 0, "original_name": name, "extra_specs": specs})
    } else {
        json!({"id": s.flavor_id, "links": [{"rel": "bookmark", "href": format!("{}/compute/flavors/{}", app.cfg.public_url, s.flavor_id)}]})
    };
    let host_id = s
        .host_id
        .as_ref()
        .map(|h| {
            use sha2::Digest;
            let d = sha2::Sha224::digest(format!("{}{}", s.project_id, h).as_bytes());
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        })
        .unwrap_or_default();
    let mut v = json!({
        "id": s.id, "name": s.name, "status": status(s), "tenant_id": s.project_id, "user_id": s.user_id,
        "metadata": serde_json::from_str::<Value>(&s.metadata).unwrap_or(json!({})),
        "hostId": host_id,
        "image": if s.image_id.is_empty() { json!("") } else {
            json!({"id": s.image_id, "links": [{"rel": "bookmark", "href": format!("{}/compute/images/{}", app.cfg.public_url, s.image_id)}]})
        },
        "flavor": flavor,
        "created": time(s.created_at), "updated": time(s.updated_at),
        "addresses": addresses(l, s),
        "accessIPv4": s.access_ipv4, "accessIPv6": s.access_ipv6,
        "links": links(app, &format!("servers/{}", s.id)),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": s.availability_zone,
        "config_drive": if s.config_drive { "True" } else { "" }, "key_name": s.key_name,
        "OS-SRV-USG:launched_at": s.launched_at.map(time_micro),
        "OS-SRV-USG:terminated_at": null,
        "OS-EXT-STS:task_state": s.task_state, "OS-EXT-STS:vm_state": s.vm_state, "OS-EXT-STS:power_state": s.power_state,
        "os-extended-volumes:volumes_attached": l.volumes(&s.id).iter().map(|(id, del)| {
            if mv.at_least(3) { json!({"id": id, "delete_on_termination": del}) } else { json!({"id": id}) }
        }).collect::<Vec<_>>(),
        "security_groups": security_groups(l, s),
    });
    if s.vm_state == VmState::Error {
        v["fault"] =
            json!({"code": 500, "message": s.fault.clone().unwrap_or_default(), "created": time(s.updated_at)});
    }
    // Nova leaves the key out for a server without groups.
    if v["security_groups"].as_array().is_some_and(|g| g.is_empty()) {
        if let Value::Object(m) = &mut v {
            m.remove("security_groups");
        }
    }
    if crate::app::compute::status::api_status(s).shows_progress() {
        v["progress"] = json!(0);
    }
    versioned(l, s, mv, &mut v);
    if c.may("compute:servers:extended_attributes") {
        let host = s.host_id.as_ref().and_then(|h| l.host_name(h)).unwrap_or_default();
        if mv.at_least(3) {
            v["OS-EXT-SRV-ATTR:reservation_id"] = json!(s.reservation_id);
            v["OS-EXT-SRV-ATTR:launch_index"] = json!(s.launch_index);
            v["OS-EXT-SRV-ATTR:hostname"] = json!(hostname(&s.name));
            v["OS-EXT-SRV-ATTR:kernel_id"] = json!("");
            v["OS-EXT-SRV-ATTR:ramdisk_id"] = json!("");
            v["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
            v["OS-EXT-SRV-ATTR:user_data"] = json!(s.user_data);
        }
        v["OS-EXT-SRV-ATTR:host"] = json!(host);
        v["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!(host);
        v["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{}", &s.id[..8]));
    }
    v
}

/// Nova's hostname from a display name: lower case, letters, digits and dashes.
fn hostname(name: &str) -> String {
    let h: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect();
    h.trim_matches('-').chars().take(63).collect()
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RequestId(rid): RequestId,
    body: Bytes,
) -> NovaResult {
    let mut b = wrapped(&body, "server")?;
    // Scheduler hints sit beside "server" in the body; the request type takes them with the rest.
    if let Ok(Value::Object(mut top)) = serde_json::from_slice::<Value>(&body) {
        for k in ["os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"] {
            if let Some(h) = top.remove(k) {
                b.insert(k.into(), h);
            }
        }
    }
    let req = CreateServer::at_microversion(b, mv.1)?;
    let made = app.create_servers(&c, &rid, &req).await?;
    let first = made
        .first()
        .ok_or_else(|| Error::Internal("no server created".into()))?;
    if req.return_reservation_id {
        let r = &first.reservation_id;
        return Ok((StatusCode::ACCEPTED, Json(json!({"reservation_id": r}))).into_response());
    }
    let groups = security_groups(&related(&app, &c, std::slice::from_ref(first), mv).await?, first);
    let location = format!("{}/compute/v2.1/servers/{}", app.cfg.public_url, first.id);
    // Nova returns the password it set (the given one or a generated one); Ciel's guests get
    // no password injection (change_password is not supported), so it is only echoed.
    let admin_pass = req.admin_pass.clone().unwrap_or_else(random_password);
    let v = json!({"server": {"id": first.id, "links": links(&app, &format!("servers/{}", first.id)),
        "OS-DCF:diskConfig": "MANUAL", "security_groups": groups, "adminPass": admin_pass}});
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(v),
    )
        .into_response())
}

fn random_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 12)
}

/// The listing filters of the query string, validated as Nova does.
fn filter(mv: Mv, raw: Option<&str>) -> Result<ServerFilter, Error> {
    let q = query_pairs(raw)?;
    let mut f = ServerFilter {
        all_projects: param(&q, "all_tenants")
            .is_some_and(|v| !matches!(v.to_lowercase().as_str(), "0" | "false" | "off" | "no")),
        name: param(&q, "name").map(str::to_owned),
        flavor: param(&q, "flavor").map(str::to_owned),
        image: param(&q, "image").map(str::to_owned),
        ip: param(&q, "ip").map(str::to_owned),
        ip6: param(&q, "ip6").map(str::to_owned),
        marker: param(&q, "marker").map(str::to_owned),
        project_id: param(&q, "project_id").or(param(&q, "tenant_id")).map(str::to_owned),
        host: param(&q, "host").map(str::to_owned),
        reservation_id: param(&q, "reservation_id").map(str::to_owned),
        ..Default::default()
    };
    let statuses: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "status")
        .map(|(_, v)| v.to_uppercase())
        .collect();
    if !statuses.is_empty() {
        let known: Vec<String> = statuses
            .iter()
            .filter(|s| STATUSES.contains(&s.as_str()))
            .cloned()
            .collect();
        if known.len() < statuses.len() && mv.at_least(38) {
            return Err(Error::bad_request(format!(
                "Invalid status value: {}",
                statuses.join(",")
            )));
        }
        f.status = Some(known);
    }
    if mv.at_least(26) {
        let list = |k: &str| param(&q, k).map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>());
        f.tags = TagFilter {
            all: list("tags"),
            any: list("tags-any"),
            not_all: list("not-tags"),
            not_any: list("not-tags-any"),
        };
    }
    if let Some(t) = param(&q, "changes-since") {
        f.changes_since = Some(parse_time("changes-since", t)?);
    }
    if let Some(l) = param(&q, "limit") {
        let n: i64 = l.parse().map_err(|_| {
            Error::bad_request(format!(
                "Invalid input for query parameters limit. Value: {l}. '{l}' is not an integer"
            ))
        })?;
        if n < 0 {
            return Err(Error::bad_request(format!(
                "Invalid input for query parameters limit. Value: {l}. -1 is less than the minimum of 0"
            )));
        }
        f.limit = Some(n as usize);
    }
    Ok(f)
}

async fn listing(app: &AppState, c: &Caller, mv: Mv, raw: Option<&str>, detail: bool) -> NovaResult {
    let f = filter(mv, raw)?;
    let (list, more) = app.list_servers_filtered(c, &f).await?;
    let items: Vec<Value> = if detail {
        let l = related(app, c, &list, mv).await?;
        list.iter().map(|s| detail_json(app, c, &l, s, mv)).collect()
    } else {
        list.iter()
            .map(|s| json!({"id": s.id, "name": s.name, "links": links(app, &format!("servers/{}", s.id))}))
            .collect()
    };
    let mut body = json!({"servers": items});
    if let (true, Some(last)) = (more, list.last()) {
        let path = if detail { "servers/detail" } else { "servers" };
        let mut q: Vec<(String, String)> = query_pairs(raw)?.into_iter().filter(|(k, _)| k != "marker").collect();
        q.push(("marker".into(), last.id.to_string()));
        let qs = serde_urlencoded::to_string(&q).unwrap_or_default();
        body["servers_links"] =
            json!([{"rel": "next", "href": format!("{}/compute/v2.1/{path}?{qs}", app.cfg.public_url)}]);
    }
    Ok(Json(body).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    listing(&app, &c, mv, raw.as_deref(), false).await
}

pub async fn detail(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    listing(&app, &c, mv, raw.as_deref(), true).await
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    let s = app.get_server(&c, &id).await?;
    let l = related(&app, &c, std::slice::from_ref(&s), mv).await?;
    Ok(Json(json!({"server": detail_json(&app, &c, &l, &s, mv)})).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let mut b = wrapped(&body, "server")?;
    if b.contains_key("description") && !mv.at_least(19) {
        b.remove("description");
        return Err(Error::bad_request("Invalid input for field/attribute server. Additional properties are not allowed ('description' was unexpected)").into());
    }
    let s = app.update_server(&c, &id, b.try_into()?).await?;
    let l = related(&app, &c, std::slice::from_ref(&s), mv).await?;
    Ok(Json(json!({"server": common_json(&app, &c, &l, &s, mv, false)})).into_response())
}

pub async fn delete(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    RequestId(rid): RequestId,
    Path(id): Path<String>,
) -> NovaResult {
    app.delete_server(&c, &id, &rid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn ips(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let s = app.get_server(&c, &id).await?;
    let l = app.server_related(std::slice::from_ref(&s), Wanted::default()).await?;
    Ok(Json(json!({"addresses": addresses(&l, &s)})).into_response())
}

pub async fn ips_by_network(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, network)): Path<(String, String)>,
) -> NovaResult {
    let s = app.get_server(&c, &id).await?;
    let all = addresses(
        &app.server_related(std::slice::from_ref(&s), Wanted::default()).await?,
        &s,
    );
    match all.get(&network) {
        Some(a) => Ok(Json(json!({ network: a })).into_response()),
        None => Err(Error::not_found("network", network).into()),
    }
}

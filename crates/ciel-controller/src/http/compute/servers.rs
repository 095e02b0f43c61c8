//! `/servers`: create, list, show, delete, power actions, addresses.

use super::error::NovaResult;
use super::microversion::Mv;
use super::{links, param, query_pairs, time_micro, time_z as time, Nv};
use crate::app::identity::caller::Caller;
use crate::db::compute::servers::Server;
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

/// Nova's API status from the state pair.
pub fn status(s: &Server) -> &'static str {
    match (s.vm_state.as_str(), s.task_state.as_deref()) {
        ("building", _) => "BUILD",
        ("active", Some("rebooting")) => "REBOOT",
        ("active", _) => "ACTIVE",
        ("stopped", _) => "SHUTOFF",
        ("paused", _) => "PAUSED",
        ("error", _) => "ERROR",
        _ => "UNKNOWN",
    }
}

/// `addresses`: the server's fixed IPs grouped by network name.
async fn addresses(app: &AppState, c: &Caller, s: &Server) -> Result<Value, Error> {
    let mut out = Map::new();
    let networks = app.list_networks(c).await?;
    for p in app
        .list_ports(c)
        .await?
        .into_iter()
        .filter(|p| p.port.device_id == s.id)
    {
        let net = networks
            .iter()
            .find(|n| n.id == p.port.network_id)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| p.port.network_id.clone());
        let entry = out.entry(net).or_insert_with(|| json!([]));
        for f in &p.fixed_ips {
            let version = if f.ip_address.contains(':') { 6 } else { 4 };
            if let Some(a) = entry.as_array_mut() {
                a.push(json!({"version": version, "addr": f.ip_address, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": p.port.mac_address}));
            }
        }
    }
    Ok(Value::Object(out))
}

async fn detail_json(app: &AppState, c: &Caller, s: &Server, mv: Mv) -> Result<Value, Error> {
    let flavor = if mv.at_least(47) {
        let specs = app.flavor_extra_specs(c, &s.flavor_id).await.unwrap_or_default();
        let name = app
            .get_flavor(c, &s.flavor_id)
            .await
            .map(|f| f.name)
            .unwrap_or_default();
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
        "image": {"id": s.image_id, "links": [{"rel": "bookmark", "href": format!("{}/compute/images/{}", app.cfg.public_url, s.image_id)}]},
        "flavor": flavor,
        "created": time(s.created_at), "updated": time(s.updated_at),
        "addresses": addresses(app, c, s).await?,
        "accessIPv4": "", "accessIPv6": "",
        "links": links(app, &format!("servers/{}", s.id)),
        "OS-DCF:diskConfig": "MANUAL", "progress": 0,
        "OS-EXT-AZ:availability_zone": s.availability_zone,
        "config_drive": "", "key_name": s.key_name,
        "OS-SRV-USG:launched_at": s.launched_at.map(time_micro),
        "OS-SRV-USG:terminated_at": null,
        "OS-EXT-STS:task_state": s.task_state, "OS-EXT-STS:vm_state": s.vm_state, "OS-EXT-STS:power_state": s.power_state,
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
    });
    if s.vm_state == "error" {
        v["fault"] =
            json!({"code": 500, "message": s.fault.clone().unwrap_or_default(), "created": time(s.updated_at)});
    }
    if mv.at_least(9) {
        v["locked"] = json!(false);
    }
    if mv.at_least(19) {
        v["description"] = Value::Null;
    }
    if mv.at_least(26) {
        v["tags"] = json!([]);
    }
    if c.is_admin() {
        let host = s.host_id.clone().unwrap_or_default();
        v["OS-EXT-SRV-ATTR:host"] = json!(host);
        v["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!(host);
        v["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{}", &s.id[..8]));
    }
    Ok(v)
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): Nv, body: Bytes) -> NovaResult {
    let b = wrapped(&body, "server")?;
    let made = app.create_servers(&c, b).await?;
    let first = made
        .first()
        .ok_or_else(|| Error::Internal("no server created".into()))?;
    let v = json!({"server": {"id": first.id, "links": links(&app, &format!("servers/{}", first.id)),
        "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}]}});
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}

async fn listing(app: &AppState, c: &Caller, mv: Mv, raw: Option<&str>, detail: bool) -> NovaResult {
    let q = query_pairs(raw)?;
    let all = param(&q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut list = app.list_servers(c, all).await?;
    if let Some(n) = param(&q, "name") {
        list.retain(|s| s.name.contains(n));
    }
    if let Some(st) = param(&q, "status") {
        list.retain(|s| status(s).eq_ignore_ascii_case(st));
    }
    if let Some(m) = param(&q, "marker") {
        let pos = list
            .iter()
            .position(|s| s.id == m)
            .ok_or_else(|| Error::bad_request(format!("marker [{m}] not found")))?;
        list.drain(..=pos);
    }
    if let Some(l) = param(&q, "limit") {
        let l: usize = l
            .parse()
            .map_err(|_| Error::bad_request(format!("Invalid limit: {l}")))?;
        list.truncate(l);
    }
    let mut items = vec![];
    for s in &list {
        items.push(if detail {
            detail_json(app, c, s, mv).await?
        } else {
            json!({"id": s.id, "name": s.name, "links": links(app, &format!("servers/{}", s.id))})
        });
    }
    Ok(Json(json!({"servers": items})).into_response())
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): Nv, mv: Mv, RawQuery(raw): RawQuery) -> NovaResult {
    listing(&app, &c, mv, raw.as_deref(), false).await
}

pub async fn detail(State(app): State<AppState>, Authed(c, ..): Nv, mv: Mv, RawQuery(raw): RawQuery) -> NovaResult {
    listing(&app, &c, mv, raw.as_deref(), true).await
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): Nv, mv: Mv, Path(id): Path<String>) -> NovaResult {
    let s = app.get_server(&c, &id).await?;
    Ok(Json(json!({"server": detail_json(&app, &c, &s, mv).await?})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>) -> NovaResult {
    app.delete_server(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn ips(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>) -> NovaResult {
    let s = app.get_server(&c, &id).await?;
    Ok(Json(json!({"addresses": addresses(&app, &c, &s).await?})).into_response())
}

/// `POST /servers/{id}/action`: `os-stop`, `os-start`, `reboot`, `pause`, `unpause`,
/// `os-getConsoleOutput`.
pub async fn action(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>, body: Bytes) -> NovaResult {
    let doc: Map<String, Value> = match parse_json::<Value>(&body)? {
        Value::Object(m) if m.len() == 1 => m,
        _ => return Err(Error::bad_request("Malformed request body: expected exactly one action").into()),
    };
    let action = doc.keys().next().cloned().unwrap_or_default();
    match action.as_str() {
        "os-stop" | "os-start" | "reboot" | "pause" | "unpause" => {
            app.server_power_action(&c, &id, &action).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-getConsoleOutput" => {
            let length = match doc["os-getConsoleOutput"].get("length") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .filter(|n| *n >= -1)
                        .ok_or_else(|| {
                            Error::bad_request(format!("Invalid input for field/attribute length. Value: {v}."))
                        })?,
                ),
            };
            let output = app.server_console_output(&c, &id, length.filter(|n| *n >= 0)).await?;
            Ok(Json(json!({ "output": output })).into_response())
        }
        other => Err(Error::bad_request(format!("There is no such action: {other}")).into()),
    }
}

//! `/os-hypervisors`, `/os-services`, `/os-availability-zone` and `/limits`.

use super::error::NovaResult;
use super::microversion::Mv;
use super::{time_micro as time, NovaCaller};
use crate::app::compute::hosts::HostView;
use crate::app::identity::caller::Caller;
use crate::error::Error;
use crate::http::{AppState, Authed};
use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// Before 2.53 hypervisors and services had integer ids; Ciel's hosts have UUIDs, so the
/// older microversions see a stable number derived from it.
fn legacy_id(uuid: &str) -> i64 {
    let hex: String = uuid.chars().filter(|c| c.is_ascii_hexdigit()).take(7).collect();
    i64::from_str_radix(&hex, 16).unwrap_or(0)
}

fn host_id(h: &crate::db::compute::hosts::Host, mv: Mv) -> Value {
    if mv.at_least(53) {
        json!(h.id)
    } else {
        json!(legacy_id(&h.id))
    }
}

fn matches_id(h: &crate::db::compute::hosts::Host, id: &str) -> bool {
    h.id == id || id.parse::<i64>().is_ok_and(|n| n == legacy_id(&h.id))
}

fn hypervisor(v: &HostView, detail: bool, mv: Mv) -> Value {
    let h = &v.host;
    let mut out = json!({
        "id": host_id(h, mv), "hypervisor_hostname": h.hostname,
        "state": if v.up { "up" } else { "down" }, "status": if h.enabled { "enabled" } else { "disabled" },
    });
    if detail {
        out["hypervisor_type"] = json!(h.hypervisor_type);
        out["hypervisor_version"] = json!(1);
        out["host_ip"] = json!(h.underlay_ip.clone().unwrap_or_else(|| "127.0.0.1".into()));
        out["vcpus"] = json!(h.vcpus);
        out["memory_mb"] = json!(h.memory_mb);
        out["local_gb"] = json!(h.disk_gb);
        out["vcpus_used"] = json!(v.vcpus_used);
        out["memory_mb_used"] = json!(v.memory_mb_used);
        out["local_gb_used"] = json!(v.disk_gb_used);
        out["free_ram_mb"] = json!(h.memory_mb - v.memory_mb_used);
        out["free_disk_gb"] = json!(h.disk_gb - v.disk_gb_used);
        out["disk_available_least"] = json!(h.disk_gb - v.disk_gb_used);
        out["running_vms"] = json!(v.running_vms);
        out["current_workload"] = json!(0);
        // A JSON text before 2.28, an object from then on; Ciel does not inspect CPUs.
        out["cpu_info"] = if mv.at_least(28) { json!({}) } else { json!("{}") };
        out["service"] = json!({"host": h.hostname, "id": host_id(h, mv), "disabled_reason": null});
    }
    out
}

/// From 2.53 the list filters by `hypervisor_hostname_pattern` and embeds servers on
/// `with_servers`.
async fn hypervisor_list(app: &AppState, c: &Caller, mv: Mv, raw: Option<&str>, detail: bool) -> NovaResult {
    let q = super::query_pairs(raw)?;
    let pattern = super::param(&q, "hypervisor_hostname_pattern");
    let with_servers = mv.at_least(53) && super::param(&q, "with_servers").is_some_and(|v| v == "true" || v == "1");
    let mut list = vec![];
    for v in app.host_views(c).await? {
        if pattern.is_some_and(|p| !v.host.hostname.contains(p)) {
            continue;
        }
        let mut h = hypervisor(&v, detail, mv);
        if with_servers {
            h["servers"] = servers_on(app, c, &v.host.id).await?;
        }
        list.push(h);
    }
    if pattern.is_some() && list.is_empty() {
        return Err(Error::not_found("hypervisor", pattern.unwrap_or_default()).into());
    }
    Ok(Json(json!({ "hypervisors": list })).into_response())
}

async fn servers_on(app: &AppState, c: &Caller, host_id: &str) -> Result<Value, Error> {
    let servers = app.servers_on_host(c, host_id).await?;
    Ok(servers
        .iter()
        .map(|s| json!({"uuid": s.id, "name": format!("instance-{}", &s.id[..8])}))
        .collect())
}

pub async fn hypervisors(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    hypervisor_list(&app, &c, mv, raw.as_deref(), false).await
}

pub async fn hypervisors_detail(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    hypervisor_list(&app, &c, mv, raw.as_deref(), true).await
}

pub async fn hypervisor_show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let all = app.host_views(&c).await?;
    let v = all
        .iter()
        .find(|v| matches_id(&v.host, &id))
        .ok_or_else(|| Error::not_found("hypervisor", &id))?;
    let mut h = hypervisor(v, true, mv);
    let q = super::query_pairs(raw.as_deref())?;
    if mv.at_least(53) && super::param(&q, "with_servers").is_some_and(|v| v == "true" || v == "1") {
        h["servers"] = servers_on(&app, &c, &v.host.id).await?;
    }
    Ok(Json(json!({ "hypervisor": h })).into_response())
}

/// `/os-hypervisors/statistics` (before 2.88): the sums over all hosts.
pub async fn hypervisor_statistics(State(app): State<AppState>, Authed(c, ..): NovaCaller) -> NovaResult {
    let all = app.host_views(&c).await?;
    let sum = |f: &dyn Fn(&HostView) -> i64| all.iter().map(f).sum::<i64>();
    Ok(Json(json!({"hypervisor_statistics": {
        "count": all.len(),
        "vcpus": sum(&|v| v.host.vcpus), "vcpus_used": sum(&|v| v.vcpus_used),
        "memory_mb": sum(&|v| v.host.memory_mb), "memory_mb_used": sum(&|v| v.memory_mb_used),
        "free_ram_mb": sum(&|v| v.host.memory_mb - v.memory_mb_used),
        "local_gb": sum(&|v| v.host.disk_gb), "local_gb_used": sum(&|v| v.disk_gb_used),
        "free_disk_gb": sum(&|v| v.host.disk_gb - v.disk_gb_used),
        "disk_available_least": sum(&|v| v.host.disk_gb - v.disk_gb_used),
        "running_vms": sum(&|v| v.running_vms), "current_workload": 0,
    }}))
    .into_response())
}

/// `/os-hypervisors/{pattern}/search` and `/{pattern}/servers` (before 2.53).
pub async fn hypervisor_search(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path((pattern, what)): Path<(String, String)>,
) -> NovaResult {
    let views = app.host_views(&c).await?;
    if what == "uptime" {
        views
            .iter()
            .find(|v| matches_id(&v.host, &pattern))
            .ok_or_else(|| Error::not_found("hypervisor", &pattern))?;
        return Err(Error::Typed {
            status: 501,
            kind: "notImplemented",
            message: "Ciel's agents do not report their host's uptime.".into(),
        }
        .into());
    }
    if what != "search" && what != "servers" {
        return Err(Error::not_found("resource", what).into());
    }
    let mut list = vec![];
    for v in views.iter().filter(|v| v.host.hostname.contains(&pattern)) {
        let mut h = hypervisor(v, false, mv);
        if what == "servers" {
            h["servers"] = servers_on(&app, &c, &v.host.id).await?;
        }
        list.push(h);
    }
    if list.is_empty() {
        return Err(Error::not_found("hypervisor", pattern).into());
    }
    Ok(Json(json!({ "hypervisors": list })).into_response())
}

/// Every host runs one `nova-compute`-equivalent service: its agent.
pub async fn services(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let q = super::query_pairs(raw.as_deref())?;
    let (host, binary) = (super::param(&q, "host"), super::param(&q, "binary"));
    let list: Vec<Value> = app
        .host_views(&c)
        .await?
        .iter()
        .filter(|v| host.is_none_or(|h| h == v.host.hostname) && binary.is_none_or(|b| b == "nova-compute"))
        .map(|v| service_json(v, mv))
        .collect();
    Ok(Json(json!({ "services": list })).into_response())
}

fn service_json(v: &HostView, mv: Mv) -> Value {
    let mut s = json!({
        "id": host_id(&v.host, mv), "binary": "nova-compute", "host": v.host.hostname, "zone": "nova",
        "status": if v.host.enabled { "enabled" } else { "disabled" },
        "state": if v.up { "up" } else { "down" },
        "updated_at": time(v.host.last_seen), "disabled_reason": null,
    });
    if mv.at_least(11) {
        s["forced_down"] = json!(v.host.forced_down);
    }
    s
}

/// `PUT /os-services/{id}`: from 2.53 the host's id with `status`, `disabled_reason` and
/// `forced_down`; before, the actions `enable`, `disable`, `disable-log-reason` and
/// `force-down` (2.11) naming the host in the body.
pub async fn update_service(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NovaResult {
    let b: Value = crate::http::parse_json(&body)?;
    let bad = |m: &str| crate::error::Error::bad_request(m.to_string());
    let text = |k: &str| b.get(k).and_then(Value::as_str);
    let status = match text("status") {
        None => None,
        Some("enabled") => Some(true),
        Some("disabled") => Some(false),
        Some(_) => return Err(bad("Invalid input for field/attribute status.").into()),
    };
    let forced = match b.get("forced_down") {
        None => None,
        Some(Value::Bool(d)) => Some(*d),
        Some(_) => return Err(bad("Invalid input for field/attribute forced_down.").into()),
    };
    let views = app.host_views(&c).await?;
    if mv.at_least(53) {
        let Some(v) = views.iter().find(|v| v.host.id == id) else {
            return Err(crate::error::Error::not_found("service", &id).into());
        };
        if status.is_none() && forced.is_none() {
            return Err(bad("No updates were requested. Fields 'status' or 'forced_down' should be specified.").into());
        }
        app.set_host_service(&c, &v.host.id, status, forced).await?;
        let fresh = app.host_views(&c).await?;
        let v = fresh.iter().find(|v| v.host.id == id).unwrap_or(v);
        return Ok(Json(json!({ "service": service_json(v, mv) })).into_response());
    }
    let host = text("host").ok_or_else(|| bad("'host' is a required property"))?;
    let Some(v) = views.iter().find(|v| v.host.hostname == host) else {
        return Err(crate::error::Error::not_found("host", host).into());
    };
    let (enabled, forced) = match id.as_str() {
        "enable" => (Some(true), None),
        "disable" | "disable-log-reason" => (Some(false), None),
        "force-down" if mv.at_least(11) => (
            None,
            Some(forced.ok_or_else(|| bad("'forced_down' is a required property"))?),
        ),
        _ => return Err(crate::error::Error::not_found("service action", &id).into()),
    };
    app.set_host_service(&c, &v.host.id, enabled, forced).await?;
    let mut out = json!({"host": host, "binary": "nova-compute"});
    match (enabled, forced) {
        (Some(e), _) => out["status"] = json!(if e { "enabled" } else { "disabled" }),
        (_, Some(d)) => out["forced_down"] = json!(d),
        _ => {}
    }
    if id == "disable-log-reason" {
        out["disabled_reason"] = json!(text("disabled_reason"));
    }
    Ok(Json(json!({ "service": out })).into_response())
}

pub async fn availability_zones(Authed(..): NovaCaller) -> NovaResult {
    Ok(
        Json(json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}]}))
            .into_response(),
    )
}

pub async fn availability_zones_detail(State(app): State<AppState>, Authed(c, ..): NovaCaller) -> NovaResult {
    let mut hosts = serde_json::Map::new();
    for v in app.host_views(&c).await? {
        hosts.insert(
            v.host.hostname.clone(),
            json!({"nova-compute": {"available": v.up, "active": v.host.enabled, "updated_at": time(v.host.last_seen)}}),
        );
    }
    Ok(
        Json(json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": hosts}]}))
            .into_response(),
    )
}

pub async fn limits(State(app): State<AppState>, Authed(c, ..): NovaCaller, mv: Mv) -> NovaResult {
    let u = app.compute_usage(&c).await?;
    let q = match c.project_id() {
        Some(p) => app.compute_quota(&c, p).await?,
        None => Default::default(),
    };
    let lim = |k: &str| {
        q.get(k)
            .copied()
            .unwrap_or_else(|| crate::app::compute::quotas::default_limit(k))
    };
    let mut absolute = json!({
        "maxTotalInstances": lim("instances"), "maxTotalCores": lim("cores"), "maxTotalRAMSize": lim("ram"),
        "maxServerMeta": lim("metadata_items"), "maxImageMeta": 128, "maxTotalKeypairs": lim("key_pairs"),
        "maxServerGroups": lim("server_groups"), "maxServerGroupMembers": lim("server_group_members"),
        "totalInstancesUsed": u.instances, "totalCoresUsed": u.cores, "totalRAMUsed": u.ram_mb,
        "totalServerGroupsUsed": 0,
    });
    if !mv.at_least(36) {
        absolute["maxSecurityGroups"] = json!(10);
        absolute["maxSecurityGroupRules"] = json!(20);
        absolute["maxTotalFloatingIps"] = json!(10);
        absolute["totalSecurityGroupsUsed"] = json!(0);
        absolute["totalFloatingIpsUsed"] = json!(0);
    }
    if !mv.at_least(57) {
        absolute["maxPersonality"] = json!(lim("injected_files"));
        absolute["maxPersonalitySize"] = json!(lim("injected_file_content_bytes"));
    }
    Ok(Json(json!({"limits": {"rate": [], "absolute": absolute}})).into_response())
}

//! Admin views of the machinery: `/os-services` (list, enable/disable, freeze/thaw),
//! `/scheduler-stats/get_pools`, `/os-hosts` and `/capabilities/{host}`, in Cinder's shapes.

use super::{param, query, time, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::services::{Pool, Service, ServiceAction, VOLUME};
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::app::volume::capabilities::{of_backend, protocol, DRIVER_VERSION, VENDOR};

/// Cinder's host filter: the name itself, or a backend (`host@...`) or pool (`host#...`) of it.
fn same_host(filter: &str, host: &str) -> bool {
    host == filter
        || host
            .strip_prefix(filter)
            .is_some_and(|rest| rest.starts_with('@') || rest.starts_with('#'))
}

fn render_service(s: &Service, mv: Microversion) -> Value {
    let mut v = json!({
        "binary": s.binary, "host": s.host, "zone": crate::app::volume::ZONE,
        "status": if s.state.disabled { "disabled" } else { "enabled" },
        "state": if s.up { "up" } else { "down" },
        "updated_at": time(s.updated_at), "disabled_reason": s.state.disabled_reason,
    });
    if s.binary == VOLUME {
        v["replication_status"] = json!("disabled");
        v["active_backend_id"] = Value::Null;
        v["frozen"] = json!(s.state.frozen);
        if mv >= Microversion(49) {
            v["backend_state"] = json!(if s.up { "up" } else { "down" });
        }
    }
    if mv >= Microversion(7) {
        v["cluster"] = Value::Null;
    }
    v
}

pub async fn list_services(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    let q = query(raw.as_deref())?;
    let host = param(&q, "host");
    let binary = param(&q, "binary");
    let list: Vec<Value> = app
        .volume_services(&c)
        .await?
        .iter()
        .filter(|s| host.is_none_or(|h| same_host(h, &s.host)) && binary.is_none_or(|b| b == s.binary))
        .map(|s| render_service(s, mv))
        .collect();
    Ok(Json(json!({ "services": list })).into_response())
}

pub async fn update_service(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    let b: Map<String, Value> = parse_json(&body)?;
    let action = p.get("action");
    let a = ServiceAction::parse(action, b)?;
    let freeze = matches!(a, ServiceAction::Freeze { .. } | ServiceAction::Thaw { .. });
    let s = app.change_volume_service(&c, a).await?;
    if freeze {
        return Ok(StatusCode::OK.into_response());
    }
    let mut v = json!({"host": s.host, "service": s.binary, "binary": s.binary,
                       "disabled": s.state.disabled,
                       "status": if s.state.disabled { "disabled" } else { "enabled" }});
    if action != "disable" {
        v["disabled_reason"] = json!(s.state.disabled_reason);
    }
    Ok(Json(v).into_response())
}

/// The backend's capabilities (what the scheduler matches volume types against) with the
/// pool's capacity.
fn capabilities(p: &Pool) -> Value {
    let mut m = of_backend(&p.backend);
    for (k, v) in [
        ("total_capacity_gb", json!(p.total_gb)),
        ("free_capacity_gb", json!(p.free_gb())),
        ("allocated_capacity_gb", json!(p.allocated_gb)),
        ("timestamp", json!(time(p.host.last_seen))),
        ("updated", json!(time(p.host.last_seen))),
    ] {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

pub async fn pools(State(app): State<AppState>, Authed(c, ..): CinderCaller, RawQuery(raw): RawQuery) -> CResult {
    let q = query(raw.as_deref())?;
    let detail = param(&q, "detail").is_some_and(|d| matches!(d.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    let list: Vec<Value> = app
        .volume_pools(&c)
        .await?
        .iter()
        .map(|p| {
            if detail {
                json!({"name": p.name(), "capabilities": capabilities(p)})
            } else {
                json!({"name": p.name()})
            }
        })
        .collect();
    Ok(Json(json!({ "pools": list })).into_response())
}

pub async fn capabilities_of(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let pool = app.volume_backend(&c, p.get("host")).await?;
    let prop = |t: &str, title: &str, d: &str| json!({"type": t, "title": title, "description": d});
    Ok(Json(json!({
        "namespace": format!("OS::Storage::Capabilities::{}", pool.service_host()),
        "vendor_name": VENDOR, "volume_backend_name": pool.backend, "pool_name": null,
        "driver_version": DRIVER_VERSION, "storage_protocol": protocol(&pool.backend),
        "display_name": null, "description": null, "visibility": null, "replication_targets": [],
        "properties": {
            "thin_provisioning": prop("boolean", "Thin Provisioning", "Sets thin provisioning."),
            "qos": prop("boolean", "QoS", "Enables QoS (front end: I/O throttling of the attached disk)."),
        },
    }))
    .into_response())
}

pub async fn hosts(State(app): State<AppState>, Authed(c, ..): CinderCaller) -> CResult {
    let list: Vec<Value> = app
        .volume_services(&c)
        .await?
        .iter()
        .map(|s| {
            json!({"host_name": s.host, "service": s.binary, "zone": crate::app::volume::ZONE,
                   "service-status": if s.up { "available" } else { "unavailable" },
                   "service-state": if s.state.disabled { "disabled" } else { "enabled" },
                   "last-update": time(s.updated_at)})
        })
        .collect();
    Ok(Json(json!({ "hosts": list })).into_response())
}

pub async fn host(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let name = p.get("host");
    if name.contains('#') {
        return Err(crate::error::Error::not_found("host", name).into());
    }
    let pool = app.volume_backend(&c, name).await?;
    let usage = app.volume_backend_usage(&c, &pool).await?;
    let host = pool.service_host();
    let item = |project: &str, v: i64, vgb: i64, s: i64, sgb: i64| {
        json!({"resource": {"host": host, "project": project, "volume_count": v.to_string(),
               "total_volume_gb": vgb.to_string(), "snapshot_count": s.to_string(),
               "total_snapshot_gb": sgb.to_string()}})
    };
    let (mut v, mut vgb, mut s, mut sgb) = (0, 0, 0, 0);
    for u in &usage {
        v += u.1;
        vgb += u.2;
        s += u.3;
        sgb += u.4;
    }
    let mut out = vec![item("(total)", v, vgb, s, sgb)];
    out.extend(usage.iter().map(|u| item(&u.0, u.1, u.2, u.3, u.4)));
    Ok(Json(json!({ "host": out })).into_response())
}

//! `/os-floating-ips` (deprecated at 2.36, still what 2.1 clients use).

use super::error::NovaResult;
use super::NovaCaller;
use crate::app::compute::floating_ips::NovaFloatingIp;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn fip_json(f: &NovaFloatingIp) -> Value {
    json!({"id": f.fip.id, "ip": f.fip.floating_ip_address, "pool": f.pool,
        "fixed_ip": f.fip.fixed_ip_address, "instance_id": f.instance_id})
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller) -> NovaResult {
    let items: Vec<Value> = app.nova_list_floating_ips(&c).await?.iter().map(fip_json).collect();
    Ok(Json(json!({ "floating_ips": items })).into_response())
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): NovaCaller, body: Bytes) -> NovaResult {
    let pool = if body.is_empty() {
        None
    } else {
        parse_json::<Value>(&body)?
            .get("pool")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let f = app.nova_allocate_floating_ip(&c, pool.as_deref()).await?;
    Ok(Json(json!({"floating_ip": fip_json(&f)})).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let f = app.nova_get_floating_ip(&c, &id).await?;
    Ok(Json(json!({"floating_ip": fip_json(&f)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.nova_release_floating_ip(&c, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

//! `/os-hosts` (deprecated at 2.43): service hosts, a host's resources, and the power and
//! maintenance operations Ciel does not perform on hosts (501 once the request is valid).

use super::error::NovaResult;
use super::{param, query_pairs, NovaCaller};
use crate::app::compute::resource_params::UpdateOsHost;
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn not_implemented(what: &str) -> Error {
    Error::Typed {
        status: 501,
        kind: "notImplemented",
        message: format!("Ciel does not {what} hypervisor hosts."),
    }
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller, RawQuery(raw): RawQuery) -> NovaResult {
    let q = query_pairs(raw.as_deref())?;
    let hosts = app.service_hosts(&c, param(&q, "zone")).await?;
    let items: Vec<Value> = hosts
        .iter()
        .map(|h| json!({"host_name": h.host_name, "service": h.service, "zone": h.zone}))
        .collect();
    Ok(Json(json!({ "hosts": items })).into_response())
}

/// Total, used now and the most used (Ciel: the same as now), as Nova lists them.
pub async fn show(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(name): Path<String>) -> NovaResult {
    let v = app.compute_host(&c, &name).await?;
    let h = &v.host;
    let row = |project: &str, cpu: i64, mem: i64, disk: i64| json!({"resource": {"host": h.hostname, "project": project, "cpu": cpu, "memory_mb": mem, "disk_gb": disk}});
    let rows = vec![
        row("(total)", h.vcpus, h.memory_mb, h.disk_gb),
        row("(used_now)", v.vcpus_used, v.memory_mb_used, v.disk_gb_used),
        row("(used_max)", v.vcpus_used, v.memory_mb_used, v.disk_gb_used),
    ];
    Ok(Json(json!({ "host": rows })).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> NovaResult {
    UpdateOsHost::try_from(parse_json::<Value>(&body)?)?;
    app.compute_host(&c, &name).await?;
    Err(not_implemented("enable, disable or put into maintenance").into())
}

pub async fn power(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((name, action)): Path<(String, String)>,
) -> NovaResult {
    app.compute_host(&c, &name).await?;
    match action.as_str() {
        "startup" | "shutdown" | "reboot" => Err(not_implemented(&action).into()),
        other => Err(Error::not_found("resource", other).into()),
    }
}

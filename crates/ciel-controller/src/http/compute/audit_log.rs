//! `/os-instance_usage_audit_log[/{before}]` (admin): the state of Nova's periodic usage
//! audit. Ciel runs no such audit, so every host is reported as not having run it.

use super::error::NovaResult;
use super::NovaCaller;
use crate::app::compute::server_list::parse_time;
use crate::http::{AppState, Authed};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use chrono::{Datelike, TimeZone, Utc};
use serde_json::{json, Value};

/// The audit period before `t`: the calendar month before the one `t` falls in.
fn period(t: i64) -> (String, String) {
    let now = Utc.timestamp_opt(t, 0).single().unwrap_or_else(Utc::now);
    let this_month = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let (y, m) = if now.month() == 1 {
        (now.year() - 1, 12)
    } else {
        (now.year(), now.month() - 1)
    };
    let last_month = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or(now);
    let f = "%Y-%m-%d %H:%M:%S";
    (last_month.format(f).to_string(), this_month.format(f).to_string())
}

async fn report(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    before: i64,
) -> Result<Value, crate::error::Error> {
    let hosts: Vec<String> = app.host_views(c).await?.into_iter().map(|v| v.host.hostname).collect();
    let (begin, end) = period(before);
    Ok(json!({
        "hosts_not_run": hosts, "log": {}, "num_hosts": hosts.len(), "num_hosts_done": 0,
        "num_hosts_not_run": hosts.len(), "num_hosts_running": 0,
        "overall_status": format!("0 of {} hosts done. 0 errors.", hosts.len()),
        "period_beginning": begin, "period_ending": end, "total_errors": 0, "total_instances": 0,
    }))
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller) -> NovaResult {
    let r = report(&app, &c, crate::db::now()).await?;
    Ok(Json(json!({ "instance_usage_audit_logs": r })).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(before): Path<String>) -> NovaResult {
    let t = parse_time("before_timestamp", &before)?;
    let r = report(&app, &c, t).await?;
    Ok(Json(json!({ "instance_usage_audit_log": r })).into_response())
}

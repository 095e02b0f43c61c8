//! `/os-simple-tenant-usage[/{project}]?start=&end=&detailed=`.

use super::error::NovaResult;
use super::{param, query_pairs, time_micro, NovaCaller};
use crate::app::compute::server_list::parse_time;
use crate::app::compute::usage::ProjectUsage;
use crate::http::{AppState, Authed};
use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn period(raw: Option<&str>) -> Result<(i64, i64, bool), crate::error::Error> {
    let q = query_pairs(raw)?;
    let now = crate::db::now();
    let start = match param(&q, "start") {
        Some(t) => parse_time("start", t)?,
        None => now - now % 86400,
    };
    let end = match param(&q, "end") {
        Some(t) => parse_time("end", t)?,
        None => now,
    };
    let detailed = param(&q, "detailed").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    Ok((start, end, detailed))
}

fn usage_json(u: &ProjectUsage, start: i64, end: i64, detailed: bool) -> Value {
    let mut v = json!({
        "tenant_id": u.project_id, "start": time_micro(start), "stop": time_micro(end),
        "total_hours": u.total_hours(), "total_vcpus_usage": u.total_vcpus_usage(),
        "total_memory_mb_usage": u.total_memory_mb_usage(), "total_local_gb_usage": u.total_local_gb_usage(),
    });
    if detailed {
        let now = crate::db::now();
        v["server_usages"] = u
            .servers
            .iter()
            .map(|s| {
                json!({"instance_id": s.id, "name": s.name, "tenant_id": s.project_id, "flavor": s.flavor,
                    "hours": s.hours, "vcpus": s.vcpus, "memory_mb": s.memory_mb, "local_gb": s.local_gb,
                    "started_at": time_micro(s.started_at), "ended_at": s.ended_at.map(time_micro),
                    "state": s.state, "uptime": s.ended_at.unwrap_or(now) - s.started_at})
            })
            .collect();
    }
    v
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller, RawQuery(raw): RawQuery) -> NovaResult {
    let (start, end, detailed) = period(raw.as_deref())?;
    let all = app.tenant_usage(&c, None, start, end).await?;
    let items: Vec<Value> = all.iter().map(|u| usage_json(u, start, end, detailed)).collect();
    Ok(Json(json!({ "tenant_usages": items })).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let (start, end, _) = period(raw.as_deref())?;
    let mut all = app.tenant_usage(&c, Some(&project), start, end).await?;
    let u = all.remove(0);
    Ok(Json(json!({"tenant_usage": usage_json(&u, start, end, true)})).into_response())
}

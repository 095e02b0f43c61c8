//! `/os-migrations` and `/servers/{id}/migrations` (2.22 force-complete, 2.23 list and show,
//! 2.24 abort), in Nova's shapes.

use super::error::NovaResult;
use super::microversion::Mv;
use super::{param, query_pairs, time_micro, NovaCaller};
use crate::db::compute::migrations::Migration;
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// Nova's flavor ids in migrations are integers: ours are when they look like one.
fn flavor_number(id: &Option<String>) -> Value {
    id.as_deref()
        .and_then(|f| f.parse::<i64>().ok())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

fn common(m: &Migration, mv: Mv) -> Value {
    let mut v = json!({
        "id": m.id, "status": m.status,
        "created_at": time_micro(m.created_at), "updated_at": time_micro(m.updated_at),
        "source_compute": m.source_node, "source_node": m.source_node,
        "dest_compute": m.dest_node, "dest_node": m.dest_node, "dest_host": m.dest_addr,
    });
    if mv.at_least(59) {
        v["uuid"] = json!(m.uuid);
    }
    if mv.at_least(80) {
        v["user_id"] = json!(m.user_id);
        v["project_id"] = json!(m.project_id);
    }
    v
}

/// One item of `/os-migrations`.
fn listed(app: &AppState, m: &Migration, mv: Mv) -> Value {
    let mut v = common(m, mv);
    v["instance_uuid"] = json!(m.server_id);
    v["old_instance_type_id"] = flavor_number(&m.old_flavor_id);
    v["new_instance_type_id"] = flavor_number(&m.new_flavor_id);
    if mv.at_least(23) {
        v["migration_type"] = json!(m.kind);
        if m.kind == "live-migration" && m.in_progress() {
            let href = format!(
                "{}/compute/v2.1/servers/{}/migrations/{}",
                app.cfg.public_url, m.server_id, m.id
            );
            v["links"] = json!([{"rel": "self", "href": href}, {"rel": "bookmark", "href": href}]);
        }
    }
    v
}

/// One item of `/servers/{id}/migrations`, with the transfer figures.
fn of_server(m: &Migration, mv: Mv) -> Value {
    let mut v = common(m, mv);
    v["server_uuid"] = json!(m.server_id);
    for (k, n) in [
        ("memory_total_bytes", m.memory_total),
        ("memory_processed_bytes", m.memory_processed),
        ("memory_remaining_bytes", m.memory_remaining),
        ("disk_total_bytes", m.disk_total),
        ("disk_processed_bytes", m.disk_processed),
        ("disk_remaining_bytes", m.disk_remaining),
    ] {
        v[k] = json!(n);
    }
    v
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let q = query_pairs(raw.as_deref())?;
    let host = param(&q, "host");
    let status = param(&q, "status");
    let server = param(&q, "instance_uuid");
    let kind = param(&q, "migration_type").filter(|_| mv.at_least(23));
    let source = param(&q, "source_compute");
    let mut items: Vec<&Migration> = vec![];
    let all = app.list_migrations(&c).await?;
    for m in &all {
        let on_host = |h: &str| m.source_node.as_deref() == Some(h) || m.dest_node.as_deref() == Some(h);
        if host.is_some_and(|h| !on_host(h))
            || status.is_some_and(|s| s != m.status)
            || server.is_some_and(|s| s != m.server_id)
            || kind.is_some_and(|k| k != m.kind)
            || source.is_some_and(|s| m.source_node.as_deref() != Some(s))
        {
            continue;
        }
        items.push(m);
    }
    if mv.at_least(59) {
        if let Some(marker) = param(&q, "marker") {
            let Some(at) = items.iter().position(|m| m.uuid == marker) else {
                return Err(Error::bad_request(format!("Marker {marker} could not be found.")).into());
            };
            items.drain(..=at);
        }
        if let Some(limit) = param(&q, "limit") {
            let n: usize = limit
                .parse()
                .map_err(|_| Error::bad_request("Invalid input for query parameters limit."))?;
            items.truncate(n);
        }
    }
    let list: Vec<Value> = items.iter().map(|m| listed(&app, m, mv)).collect();
    Ok(Json(json!({ "migrations": list })).into_response())
}

/// The server-migration routes exist from 2.23 (force-complete from 2.22, abort 2.24).
fn since(mv: Mv, minor: u16) -> Result<(), Error> {
    if mv.at_least(minor) {
        Ok(())
    } else {
        Err(Error::Typed {
            status: 404,
            kind: "itemNotFound",
            message: "The resource could not be found.".into(),
        })
    }
}

fn migration_id(mid: &str) -> Result<i64, Error> {
    mid.parse()
        .map_err(|_| Error::bad_request(format!("Invalid migration id {mid}: it must be an integer.")))
}

pub async fn of_server_list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    since(mv, 23)?;
    let list: Vec<Value> = app
        .server_migrations(&c, &id)
        .await?
        .iter()
        .map(|m| of_server(m, mv))
        .collect();
    Ok(Json(json!({ "migrations": list })).into_response())
}

pub async fn of_server_show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path((id, mid)): Path<(String, String)>,
) -> NovaResult {
    since(mv, 23)?;
    let m = app.server_migration(&c, &id, migration_id(&mid)?).await?;
    Ok(Json(json!({ "migration": of_server(&m, mv) })).into_response())
}

/// `{"force_complete": null}`.
pub async fn action(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path((id, mid)): Path<(String, String)>,
    body: Bytes,
) -> NovaResult {
    since(mv, 22)?;
    match parse_json::<Value>(&body)? {
        Value::Object(o) if o.len() == 1 && o.contains_key("force_complete") && o["force_complete"].is_null() => {}
        _ => return Err(Error::bad_request("Invalid input: the body must be {\"force_complete\": null}.").into()),
    }
    app.force_complete_migration(&c, &id, migration_id(&mid)?).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn abort(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path((id, mid)): Path<(String, String)>,
) -> NovaResult {
    since(mv, 24)?;
    app.abort_migration(&c, &id, migration_id(&mid)?).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

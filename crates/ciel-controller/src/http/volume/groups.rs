//! `/groups` (3.13+; `create-from-src` 3.14, `reset_status` 3.20) and `/group_snapshots`
//! (3.14+; `reset_status` 3.19), in Cinder's shapes: creations answer 202 with the id and
//! name, updates, deletions and actions 202 without a body.

use super::{empty, page, param, query, time, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::group_params::{self as gp, CreateGroup, CreateGroupFromSrc, CreateGroupSnapshot, UpdateGroup};
use crate::db::volume::groups::{Group, GroupSnapshot};
use crate::error::Error;
use crate::http::compute::request_id::RequestId;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

fn since(mv: Microversion, minor: u16, what: &str) -> Result<(), Error> {
    if mv < Microversion(minor) {
        return Err(Error::not_found("resource", what));
    }
    Ok(())
}

fn all_tenants(q: &[(String, String)]) -> bool {
    param(q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn render_group(g: &Group, mv: Microversion, volumes: Option<Vec<String>>) -> Value {
    let types: Vec<String> = serde_json::from_str(&g.volume_type_ids).unwrap_or_default();
    let mut v = json!({
        "id": g.id, "name": g.name, "description": g.description, "status": g.status,
        "availability_zone": g.availability_zone, "created_at": time(g.created_at),
        "group_type": g.group_type_id, "volume_types": types,
    });
    if mv >= Microversion(14) {
        v["group_snapshot_id"] = json!(g.group_snapshot_id);
        v["source_group_id"] = json!(g.source_group_id);
    }
    if let Some(vols) = volumes {
        v["volumes"] = json!(vols);
    }
    if mv >= Microversion(38) {
        v["replication_status"] = json!("disabled");
    }
    v
}

/// `list_volume=true` (3.25+) adds each group's volume ids.
async fn members_if_asked(
    app: &AppState,
    q: &[(String, String)],
    g: &Group,
    mv: Microversion,
) -> Result<Option<Vec<String>>, Error> {
    let asked = param(q, "list_volume").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if mv >= Microversion(25) && asked {
        Ok(Some(app.group_volumes(&g.id).await?))
    } else {
        Ok(None)
    }
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    body: Bytes,
) -> CResult {
    since(mv, 13, "groups")?;
    let g = app
        .create_volume_group(&c, CreateGroup::try_from(wrapped(&body, "group")?)?)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"group": {"id": g.id, "name": g.name}})),
    )
        .into_response())
}

async fn listing(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    raw: Option<&str>,
    detail: bool,
    mv: Microversion,
) -> CResult {
    since(mv, 13, "groups")?;
    let q = query(raw)?;
    let groups = app.list_volume_groups(c, all_tenants(&q)).await?;
    let (groups, _) = page(
        groups,
        &q,
        |g| g.id.as_str(),
        |g, k| match k {
            "id" => Some(g.id.clone()),
            "name" => g.name.clone(),
            "status" => Some(g.status.to_string()),
            "created_at" => Some(time(g.created_at)),
            _ => None,
        },
        "",
    )?;
    let mut items = vec![];
    for g in &groups {
        items.push(if detail {
            render_group(g, mv, members_if_asked(app, &q, g, mv).await?)
        } else {
            json!({"id": g.id, "name": g.name})
        });
    }
    Ok(Json(json!({"groups": items})).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, raw.as_deref(), false, mv).await
}

pub async fn detail(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, raw.as_deref(), true, mv).await
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    since(mv, 13, "groups")?;
    let q = query(raw.as_deref())?;
    let g = app.get_volume_group(&c, p.get("id")).await?;
    let vols = members_if_asked(&app, &q, &g, mv).await?;
    Ok(Json(json!({"group": render_group(&g, mv, vols)})).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    since(mv, 13, "groups")?;
    let u = UpdateGroup::try_from(wrapped(&body, "group")?)?;
    app.update_volume_group(&c, p.get("id"), u).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /groups/{id}/action`: `delete` (3.13) or `reset_status` (3.20, admin).
pub async fn action(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    since(mv, 13, "groups")?;
    let b: Map<String, Value> = parse_json(&body)?;
    let id = p.get("id");
    let inner = |k: &str| -> Result<Map<String, Value>, Error> {
        match b.get(k) {
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(Value::Null) | None => Ok(Map::new()),
            Some(_) => Err(Error::bad_request(format!(
                "Invalid input received: '{k}' must be an object."
            ))),
        }
    };
    if b.contains_key("delete") {
        let delete_volumes = gp::delete_volumes(&inner("delete")?)?;
        app.delete_volume_group(&c, id, delete_volumes).await?;
    } else if b.contains_key("reset_status") && mv >= Microversion(20) {
        let status = gp::reset_status(&inner("reset_status")?)?;
        app.reset_volume_group_status(&c, id, status).await?;
    } else {
        return Err(Error::bad_request("Invalid input received: unknown group action.").into());
    }
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /groups/action` `{"create-from-src": {...}}` (3.14).
pub async fn create_from_src(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RequestId(req): RequestId,
    body: Bytes,
) -> CResult {
    since(mv, 14, "groups/action")?;
    let p = CreateGroupFromSrc::try_from(wrapped(&body, "create-from-src")?)?;
    let g = app.create_volume_group_from_src(&c, p, &req).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"group": {"id": g.id, "name": g.name}})),
    )
        .into_response())
}

fn render_snapshot(g: &GroupSnapshot) -> Value {
    json!({
        "id": g.id, "name": g.name, "description": g.description, "status": g.status,
        "created_at": time(g.created_at), "group_id": g.group_id, "group_type_id": g.group_type_id,
    })
}

pub async fn create_snapshot(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    body: Bytes,
) -> CResult {
    since(mv, 14, "group_snapshots")?;
    let p = CreateGroupSnapshot::try_from(wrapped(&body, "group_snapshot")?)?;
    let g = app.create_group_snapshot(&c, p).await?;
    let body = json!({"group_snapshot": {"id": g.id, "name": g.name, "group_type_id": g.group_type_id}});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

async fn snapshot_listing(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    raw: Option<&str>,
    detail: bool,
    mv: Microversion,
) -> CResult {
    since(mv, 14, "group_snapshots")?;
    let q = query(raw)?;
    let mut items = app.list_group_snapshots(c, all_tenants(&q)).await?;
    if mv >= Microversion(29) {
        items = page(
            items,
            &q,
            |g| g.id.as_str(),
            |g, k| match k {
                "id" => Some(g.id.clone()),
                "name" => g.name.clone(),
                "status" => Some(g.status.to_string()),
                "created_at" => Some(time(g.created_at)),
                _ => None,
            },
            "",
        )?
        .0;
    }
    let items: Vec<Value> = items
        .iter()
        .map(|g| {
            if detail {
                render_snapshot(g)
            } else {
                json!({"id": g.id, "name": g.name})
            }
        })
        .collect();
    Ok(Json(json!({"group_snapshots": items})).into_response())
}

pub async fn list_snapshots(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    snapshot_listing(&app, &c, raw.as_deref(), false, mv).await
}

pub async fn detail_snapshots(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    snapshot_listing(&app, &c, raw.as_deref(), true, mv).await
}

pub async fn show_snapshot(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
) -> CResult {
    since(mv, 14, "group_snapshots")?;
    let g = app.get_group_snapshot(&c, p.get("id")).await?;
    Ok(Json(json!({"group_snapshot": render_snapshot(&g)})).into_response())
}

pub async fn delete_snapshot(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
) -> CResult {
    since(mv, 14, "group_snapshots")?;
    app.delete_group_snapshot(&c, p.get("id")).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /group_snapshots/{id}/action` `{"reset_status": {...}}` (3.19, admin).
pub async fn snapshot_action(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    since(mv, 19, "group_snapshots action")?;
    let b = wrapped(&body, "reset_status")?;
    let status = gp::reset_status(&b)?;
    app.reset_group_snapshot_status(&c, p.get("id"), status).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

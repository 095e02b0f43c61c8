//! `/snapshots`: create, list (filters, sorting, marker/offset/limit), show, update, delete
//! and metadata.

use super::{base_url, empty, page, param, query, time, time_opt, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::params::{CreateSnapshot, SnapshotAction, UpdateSnapshot};
use crate::db::volume::{Snapshot, SnapshotStatus};
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// The snapshot's view, with (3.14+) the group snapshot it was made for.
async fn shown(app: &AppState, s: &Snapshot, detail: bool, mv: Microversion) -> Result<Value, Error> {
    let mut v = render(s, detail, mv);
    if mv >= Microversion(14) {
        v["group_snapshot_id"] = json!(app.group_snapshot_of_snapshot(&s.id).await?);
    }
    Ok(v)
}

fn render(s: &Snapshot, detail: bool, mv: Microversion) -> Value {
    let mut v = json!({
        "id": s.id, "volume_id": s.volume_id, "name": s.name, "description": s.description,
        "status": s.status, "size": s.size, "metadata": crate::app::volume::parse_map(&s.metadata),
        "created_at": time(s.created_at), "updated_at": time_opt(s.updated_at),
    });
    if mv >= Microversion(41) {
        v["user_id"] = json!(s.user_id);
    }
    if detail {
        let progress = s.progress.clone().unwrap_or_else(|| {
            if s.status == SnapshotStatus::Available {
                "100%"
            } else {
                "0%"
            }
            .into()
        });
        v["os-extended-snapshot-attributes:progress"] = json!(progress);
        v["os-extended-snapshot-attributes:project_id"] = json!(s.project_id);
    }
    v
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    body: Bytes,
) -> CResult {
    let b = wrapped(&body, "snapshot")?;
    if b.get("volume_id").is_none_or(Value::is_null) {
        return Err(Error::not_found("volume", "None").into());
    }
    let s = app.create_snapshot(&c, CreateSnapshot::try_from(b)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"snapshot": shown(&app, &s, false, mv).await?})),
    )
        .into_response())
}

async fn listing(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    h: &HeaderMap,
    p: &Params,
    raw: Option<&str>,
    detail: bool,
    mv: Microversion,
) -> CResult {
    let q = query(raw)?;
    let all = param(&q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut snaps = app.list_snapshots(c, all).await?;
    snaps.reverse();
    snaps.retain(|s| {
        param(&q, "name")
            .or(param(&q, "display_name"))
            .is_none_or(|n| s.name.as_deref() == Some(n))
            && param(&q, "status").is_none_or(|st| s.status.as_str() == st)
            && param(&q, "volume_id").is_none_or(|v| s.volume_id == v)
    });
    let base = base_url(app, h, Some(p.get("project_id")));
    let path = if detail { "snapshots/detail" } else { "snapshots" };
    let (snaps, next) = page(
        snaps,
        &q,
        |s| s.id.as_str(),
        |s, k| match k {
            "id" => Some(s.id.clone()),
            "name" => s.name.clone(),
            "status" => Some(s.status.to_string()),
            "size" => Some(format!("{:020}", s.size)),
            "created_at" => Some(time(s.created_at)),
            "updated_at" => s.updated_at.map(time),
            _ => None,
        },
        &format!("{base}/{path}"),
    )?;
    let mut items: Vec<Value> = vec![];
    for s in &snaps {
        items.push(shown(app, s, detail, mv).await?);
    }
    let mut body = json!({ "snapshots": items });
    if let Some(n) = next {
        body["snapshots_links"] = json!([{"rel": "next", "href": n}]);
    }
    Ok(Json(body).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, &h, &p, raw.as_deref(), false, mv).await
}

pub async fn detail(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, &h, &p, raw.as_deref(), true, mv).await
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    let s = app.get_snapshot(&c, p.get("id")).await?;
    Ok(Json(json!({"snapshot": shown(&app, &s, true, mv).await?})).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    let b = UpdateSnapshot::try_from(wrapped(&body, "snapshot")?)?;
    let s = app.update_snapshot(&c, p.get("id"), b).await?;
    Ok(Json(json!({"snapshot": shown(&app, &s, false, mv).await?})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.delete_snapshot(&c, p.get("id")).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `os-reset_status` and `os-update_snapshot_status` (admin), `os-force_delete`.
pub async fn action(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    let id = p.get("id");
    match SnapshotAction::try_from(parse_json::<Value>(&body)?)? {
        SnapshotAction::ResetStatus { status } => app.reset_snapshot_status(&c, id, &status).await?,
        SnapshotAction::UpdateStatus { status, progress } => {
            app.update_snapshot_status(&c, id, &status, progress).await?
        }
        SnapshotAction::ForceDelete => app.force_delete_snapshot(&c, id).await?,
    }
    Ok(empty(StatusCode::ACCEPTED))
}

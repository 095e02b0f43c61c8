//! `/os-volumes` and `/os-snapshots`: Nova's proxies onto the block storage service
//! (deprecated at 2.36, where they answer 404; 2.1 clients and Tempest use them).

use super::error::NovaResult;
use super::microversion::Mv;
use super::request_id::RequestId;
use super::{time_micro, NovaCaller};
use crate::app::volume::params::{CreateSnapshot, CreateVolume};
use crate::db::volume::{Attachment, AttachmentStatus, Snapshot, Volume};
use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn gone(mv: Mv) -> Result<(), Error> {
    if mv.at_least(36) {
        Err(Error::not_found("resource", "os-volumes (removed at 2.36)"))
    } else {
        Ok(())
    }
}

fn volume_json(v: &Volume, type_name: &str, a: Option<&Attachment>) -> Value {
    let attachments: Vec<Value> = match a {
        Some(a) if a.status != AttachmentStatus::Attaching => {
            vec![json!({"id": v.id, "volumeId": v.id, "serverId": a.server_id, "device": a.device})]
        }
        _ => vec![json!({})],
    };
    json!({"id": v.id, "status": v.status, "size": v.size, "availabilityZone": v.availability_zone,
        "createdAt": time_micro(v.created_at), "displayName": v.name, "displayDescription": v.description,
        "volumeType": type_name, "snapshotId": v.snapshot_id,
        "metadata": crate::app::volume::parse_map(&v.metadata), "attachments": attachments})
}

async fn render(app: &AppState, c: &crate::app::identity::caller::Caller, v: &Volume) -> Result<Value, Error> {
    let t = app
        .get_volume_type(c, &v.volume_type_id)
        .await
        .map(|t| t.name)
        .unwrap_or_default();
    let a = app.volume_attachment(c, &v.id).await?;
    Ok(volume_json(v, &t, a.as_ref()))
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RequestId(req): RequestId,
    body: Bytes,
) -> NovaResult {
    gone(mv)?;
    let b = CreateVolume::from_nova(wrapped(&body, "volume")?)?;
    let v = app.create_volume(&c, b, &req).await?;
    Ok(Json(json!({"volume": render(&app, &c, &v).await?})).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    gone(mv)?;
    let q = super::query_pairs(raw.as_deref())?;
    let number = |k: &str| -> Result<Option<usize>, Error> {
        super::param(&q, k)
            .map(|v| v.parse().map_err(|_| Error::bad_request(format!("Invalid {k}: {v}"))))
            .transpose()
    };
    let (offset, limit) = (number("offset")?.unwrap_or(0), number("limit")?);
    let mut items = vec![];
    for v in app
        .list_volumes(&c, false)
        .await?
        .iter()
        .rev()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
    {
        items.push(render(&app, &c, v).await?);
    }
    Ok(Json(json!({ "volumes": items })).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    gone(mv)?;
    let v = app.get_volume(&c, &id).await?;
    Ok(Json(json!({"volume": render(&app, &c, &v).await?})).into_response())
}

pub async fn delete(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    gone(mv)?;
    app.delete_volume(&c, &id, false, false).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

fn snapshot_json(s: &Snapshot) -> Value {
    json!({"id": s.id, "volumeId": s.volume_id, "status": s.status, "size": s.size,
        "createdAt": time_micro(s.created_at), "displayName": s.name, "displayDescription": s.description})
}

pub async fn create_snapshot(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    body: Bytes,
) -> NovaResult {
    gone(mv)?;
    let b = CreateSnapshot::from_nova(wrapped(&body, "snapshot")?)?;
    let s = app.create_snapshot(&c, b).await?;
    Ok(Json(json!({"snapshot": snapshot_json(&s)})).into_response())
}

pub async fn list_snapshots(State(app): State<AppState>, Authed(c, ..): NovaCaller, mv: Mv) -> NovaResult {
    gone(mv)?;
    let items: Vec<Value> = app
        .list_snapshots(&c, false)
        .await?
        .iter()
        .rev()
        .map(snapshot_json)
        .collect();
    Ok(Json(json!({ "snapshots": items })).into_response())
}

pub async fn show_snapshot(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    gone(mv)?;
    let s = app.get_snapshot(&c, &id).await?;
    Ok(Json(json!({"snapshot": snapshot_json(&s)})).into_response())
}

pub async fn delete_snapshot(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    gone(mv)?;
    app.delete_snapshot(&c, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

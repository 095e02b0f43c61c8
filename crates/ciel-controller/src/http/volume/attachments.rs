//! `/attachments` (microversion 3.27+): Cinder's attachment API. Creating one attaches the
//! volume to the Ciel server it names, deleting one detaches it (see
//! `app::volume::cinder_attachments`); `os-complete` and connector updates have nothing
//! left to do and answer as Cinder does.

use super::{empty, param, query, time, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::params::{CreateAttachment, UpdateAttachment};
use crate::db::volume::{Attachment, Volume};
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// The first microversion with the attachment API; below it the URLs do not exist.
const MIN: Microversion = Microversion(27);

fn gate(mv: Microversion) -> Result<(), Error> {
    if mv < MIN {
        return Err(Error::not_found("resource", "attachments"));
    }
    Ok(())
}

/// Cinder's attach_status for an attachment row.
fn status(a: &Attachment) -> &'static str {
    a.status.as_str()
}

fn render(a: &Attachment, v: &Volume, detail: bool) -> Value {
    let mut out = json!({"id": a.id, "status": status(a), "instance": a.server_id, "volume_id": a.volume_id});
    if detail {
        let mode = if v.read_only == Some(true) { "ro" } else { "rw" };
        out["attached_at"] = json!(time(a.created_at));
        out["detached_at"] = Value::Null;
        out["attach_mode"] = json!(mode);
        // The disk is local to the server's host; Ciel's own agent plugs it in.
        out["connection_info"] = json!({
            "driver_volume_type": "local",
            "data": {"volume_id": v.id, "backend": v.backend, "device": a.device, "access_mode": mode},
            "attachment_id": a.id,
        });
    }
    out
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    body: Bytes,
) -> CResult {
    gate(mv)?;
    let b = CreateAttachment::try_from(wrapped(&body, "attachment")?)?;
    let (a, v) = app
        .create_cinder_attachment(&c, &b.volume_uuid, b.instance_uuid.as_deref())
        .await?;
    Ok(Json(json!({"attachment": render(&a, &v, true)})).into_response())
}

async fn listing(app: &AppState, c: &crate::app::identity::caller::Caller, raw: Option<&str>, detail: bool) -> CResult {
    let q = query(raw)?;
    let all = param(&q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut items = app.cinder_attachments(c, all).await?;
    if let Some(vid) = param(&q, "volume_id") {
        items.retain(|(a, _)| a.volume_id == vid);
    }
    if let Some(iid) = param(&q, "instance_id") {
        items.retain(|(a, _)| a.server_id == iid);
    }
    if let Some(s) = param(&q, "status") {
        items.retain(|(a, _)| status(a) == s);
    }
    items.sort_by(|x, y| y.0.created_at.cmp(&x.0.created_at).then_with(|| x.0.id.cmp(&y.0.id)));
    let list: Vec<Value> = items.iter().map(|(a, v)| render(a, v, detail)).collect();
    Ok(Json(json!({ "attachments": list })).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    gate(mv)?;
    listing(&app, &c, raw.as_deref(), false).await
}

pub async fn detail(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    gate(mv)?;
    listing(&app, &c, raw.as_deref(), true).await
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    gate(mv)?;
    let (a, v) = app.cinder_attachment(&c, p.get("id")).await?;
    Ok(Json(json!({"attachment": render(&a, &v, true)})).into_response())
}

/// `PUT /attachments/{id}` with the connector Nova would send: the attachment, with the
/// connection info.
pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    gate(mv)?;
    UpdateAttachment::try_from(wrapped(&body, "attachment")?)?;
    let (a, v) = app.cinder_attachment(&c, p.get("id")).await?;
    Ok(Json(json!({"attachment": render(&a, &v, true)})).into_response())
}

/// `POST /attachments/{id}/action` `{"os-complete": null}` (3.44 in Cinder; accepted here
/// for any 3.27+ client): the attach completes by itself once the guest has the disk.
pub async fn action(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    gate(mv)?;
    let b: Value = parse_json(&body)?;
    if b.get("os-complete").is_none() {
        return Err(Error::bad_request("Invalid input received: the only attachment action is os-complete.").into());
    }
    app.cinder_attachment(&c, p.get("id")).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    gate(mv)?;
    app.delete_cinder_attachment(&c, p.get("id")).await?;
    Ok(Json(json!({})).into_response())
}

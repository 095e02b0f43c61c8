//! `/servers/{id}/os-volume_attachments`: attach a volume to a server (hot-plugged as a
//! virtio disk), list and show attachments, detach.

use super::error::NovaResult;
use super::microversion::Mv;
use super::NovaCaller;
use crate::app::compute::resource_params::AttachVolume;
use crate::db::volume::Attachment;
use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn render(a: &Attachment, mv: Mv) -> Value {
    let mut v = json!({"id": a.volume_id, "serverId": a.server_id, "volumeId": a.volume_id, "device": a.device});
    if mv.at_least(70) {
        v["tag"] = Value::Null;
    }
    if mv.at_least(79) {
        v["delete_on_termination"] = json!(false);
    }
    if mv.at_least(89) {
        v.as_object_mut().map(|o| o.remove("id"));
        v["attachment_id"] = json!(a.id);
        v["bdm_uuid"] = json!(a.id);
    }
    v
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    let items: Vec<Value> = app
        .server_volume_attachments(&c, &id)
        .await?
        .iter()
        .map(|a| render(a, mv))
        .collect();
    Ok(Json(json!({ "volumeAttachments": items })).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path((id, volume)): Path<(String, String)>,
) -> NovaResult {
    let a = app
        .server_volume_attachments(&c, &id)
        .await?
        .into_iter()
        .find(|a| a.volume_id == volume)
        .ok_or_else(|| Error::not_found("volume attachment", &volume))?;
    Ok(Json(json!({"volumeAttachment": render(&a, mv)})).into_response())
}

pub async fn attach(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let req = AttachVolume::try_from(wrapped(&body, "volumeAttachment")?)?;
    let a = app.attach_volume(&c, &id, &req.volume_id, req.device).await?;
    Ok((StatusCode::OK, Json(json!({"volumeAttachment": render(&a, mv)}))).into_response())
}

pub async fn detach(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, volume)): Path<(String, String)>,
) -> NovaResult {
    app.detach_volume(&c, &id, &volume).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

//! Nova's image proxy (`/images`, deprecated at 2.36 but what clients at 2.1 use, Tempest's
//! snapshot tests among them): the image service's images in Nova's shape.

use super::error::NovaResult;
use super::{links, time_z, Nv};
use crate::app::image::list::ImageQuery;
use crate::db::image::Image;
use crate::http::{AppState, Authed};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

/// Glance's status in Nova's words (queued and saving are both SAVING there).
fn status(i: &Image) -> &'static str {
    match i.status.as_str() {
        "active" => "ACTIVE",
        "queued" | "saving" | "importing" | "uploading" => "SAVING",
        "deleted" | "pending_delete" => "DELETED",
        "killed" => "ERROR",
        _ => "UNKNOWN",
    }
}

fn detail_json(app: &AppState, i: &Image) -> Value {
    let props: Map<String, Value> = serde_json::from_str(&i.properties).unwrap_or_default();
    let metadata: Map<String, Value> = props
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map(|s| json!(s)).unwrap_or_else(|| json!(v.to_string())),
            )
        })
        .collect();
    let mut v = json!({
        "id": i.id, "name": i.name, "status": status(i),
        "created": time_z(i.created_at), "updated": time_z(i.updated_at),
        "minDisk": i.min_disk, "minRam": i.min_ram,
        "progress": if i.status == "active" { 100 } else { 25 },
        "metadata": metadata, "links": links(app, &format!("images/{}", i.id)),
        "OS-EXT-IMG-SIZE:size": i.size, "OS-DCF:diskConfig": "MANUAL",
    });
    if let Some(server) = props.get("instance_uuid").and_then(Value::as_str) {
        v["server"] = json!({"id": server, "links": links(app, &format!("servers/{server}"))});
    }
    v
}

async fn listing(
    app: AppState,
    c: crate::app::identity::caller::Caller,
    raw: Option<String>,
    detail: bool,
) -> NovaResult {
    let params = super::query_pairs(raw.as_deref())?;
    let page = app.list_images(&c, &ImageQuery { params }).await?;
    let items: Vec<Value> = page
        .images
        .iter()
        .map(|i| {
            if detail {
                detail_json(&app, i)
            } else {
                json!({"id": i.id, "name": i.name, "links": links(&app, &format!("images/{}", i.id))})
            }
        })
        .collect();
    Ok(Json(json!({ "images": items })).into_response())
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): Nv, RawQuery(raw): RawQuery) -> NovaResult {
    listing(app, c, raw, false).await
}

pub async fn detail(State(app): State<AppState>, Authed(c, ..): Nv, RawQuery(raw): RawQuery) -> NovaResult {
    listing(app, c, raw, true).await
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>) -> NovaResult {
    let i = app.get_image(&c, &id).await?;
    Ok(Json(json!({"image": detail_json(&app, &i)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>) -> NovaResult {
    app.delete_image(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

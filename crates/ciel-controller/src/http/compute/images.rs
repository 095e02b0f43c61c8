//! Nova's image proxy (`/images`, deprecated at 2.36 but what clients at 2.1 use, Tempest's
//! snapshot tests among them): the image service's images in Nova's shape.

use super::error::NovaResult;
use super::{links, time_z, NovaCaller};
use crate::app::compute::image_meta::ImageMetadata;
use crate::app::compute::images::{nova_status, ImageFilter};
use crate::db::image::{Image, ImageStatus};
use crate::http::{AppState, Authed};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

fn status(i: &Image) -> &'static str {
    nova_status(i.status)
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
        "progress": if i.status == ImageStatus::Active { 100 } else { 25 },
        "metadata": metadata, "links": links(app, &format!("images/{}", i.id)),
        "OS-EXT-IMG-SIZE:size": i.size, "OS-DCF:diskConfig": "MANUAL",
    });
    if let Some(server) = props.get("instance_uuid").and_then(Value::as_str) {
        v["server"] = json!({"id": server, "links": links(app, &format!("servers/{server}"))});
    }
    v
}

fn filter(raw: Option<&str>) -> Result<ImageFilter, crate::error::Error> {
    let q = super::query_pairs(raw)?;
    let get = |k: &str| super::param(&q, k).map(str::to_owned);
    let num = |k: &str| -> Result<Option<i64>, crate::error::Error> {
        get(k)
            .map(|v| {
                v.parse()
                    .map_err(|_| crate::error::Error::bad_request(format!("Invalid {k}: {v}")))
            })
            .transpose()
    };
    Ok(ImageFilter {
        name: get("name"),
        status: get("status"),
        server: get("server"),
        image_type: get("type"),
        changes_since: get("changes-since")
            .map(|t| crate::app::compute::server_list::parse_time("changes-since", &t))
            .transpose()?,
        min_disk: num("minDisk")?,
        min_ram: num("minRam")?,
        limit: num("limit")?.map(|n| n.max(0) as usize),
        marker: get("marker"),
    })
}

async fn listing(
    app: AppState,
    c: crate::app::identity::caller::Caller,
    raw: Option<String>,
    detail: bool,
) -> NovaResult {
    let images = app.nova_list_images(&c, &filter(raw.as_deref())?).await?;
    let items: Vec<Value> = images
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

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller, RawQuery(raw): RawQuery) -> NovaResult {
    listing(app, c, raw, false).await
}

pub async fn detail(State(app): State<AppState>, Authed(c, ..): NovaCaller, RawQuery(raw): RawQuery) -> NovaResult {
    listing(app, c, raw, true).await
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let i = app.get_image(&c, &id).await?;
    Ok(Json(json!({"image": detail_json(&app, &i)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.delete_image(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The object under `key` of a request body.
fn object(body: &axum::body::Bytes, key: &str) -> Result<Map<String, Value>, crate::error::Error> {
    match crate::http::parse_json::<Value>(body)? {
        Value::Object(mut m) => match m.remove(key) {
            Some(Value::Object(o)) => Ok(o),
            _ => Err(crate::error::Error::bad_request(format!(
                "Malformed request body: '{key}' must be an object"
            ))),
        },
        _ => Err(crate::error::Error::bad_request("Malformed request body")),
    }
}

/// Nova's image metadata values are strings; other JSON values are taken as their text.
fn as_text(m: &Map<String, Value>) -> ImageMetadata {
    m.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()),
            )
        })
        .collect()
}

pub async fn metadata(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    Ok(Json(json!({"metadata": app.image_metadata(&c, &id).await?})).into_response())
}

pub async fn merge_metadata(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NovaResult {
    let given = as_text(&object(&body, "metadata")?);
    Ok(Json(json!({"metadata": app.set_image_metadata(&c, &id, given, false).await?})).into_response())
}

pub async fn replace_metadata(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NovaResult {
    let given = object(&body, "metadata")?;
    app.set_image_metadata(&c, &id, as_text(&given), true).await?;
    Ok(Json(json!({ "metadata": given })).into_response())
}

pub async fn metadata_item(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
) -> NovaResult {
    let m = app.image_metadata(&c, &id).await?;
    match m.get(&key) {
        Some(v) => Ok(Json(json!({"meta": { key: v }})).into_response()),
        None => Err(crate::error::Error::not_found("metadata item", key).into()),
    }
}

pub async fn set_metadata_item(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> NovaResult {
    let meta = object(&body, "meta")?;
    if meta.len() != 1 || !meta.contains_key(&key) {
        return Err(crate::error::Error::bad_request("Request body and URI mismatch").into());
    }
    app.set_image_metadata(&c, &id, as_text(&meta), false).await?;
    Ok(Json(json!({ "meta": meta })).into_response())
}

pub async fn delete_metadata_item(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
) -> NovaResult {
    app.delete_image_metadata(&c, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

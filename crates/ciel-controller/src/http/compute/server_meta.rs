//! `/servers/{id}/metadata[/{key}]` and `/servers/{id}/tags[/{tag}]`.

use super::error::NovaResult;
use super::NovaCaller;
use crate::app::compute::resource_params::{Metadata, MetadataItem, ServerTags};
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

/// The object under `key` of a request body.
fn object(body: &Bytes, key: &str) -> Result<Map<String, Value>, Error> {
    match parse_json::<Value>(body)? {
        Value::Object(mut m) => match m.remove(key) {
            Some(Value::Object(o)) => Ok(o),
            _ => Err(Error::bad_request(format!(
                "Malformed request body: '{key}' must be an object"
            ))),
        },
        _ => Err(Error::bad_request("Malformed request body")),
    }
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let m = app.server_metadata(&c, &id).await?;
    Ok(Json(json!({ "metadata": m })).into_response())
}

/// POST merges, PUT replaces.
async fn set(
    app: AppState,
    c: crate::app::identity::caller::Caller,
    id: String,
    body: Bytes,
    replace: bool,
) -> NovaResult {
    let given = Metadata::try_from(object(&body, "metadata")?)?;
    let m = app.set_server_metadata(&c, &id, given, replace).await?;
    Ok(Json(json!({ "metadata": m })).into_response())
}

pub async fn merge(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    set(app, c, id, body, false).await
}

pub async fn replace(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    set(app, c, id, body, true).await
}

pub async fn show_item(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
) -> NovaResult {
    let m = app.server_metadata(&c, &id).await?;
    match m.get(&key) {
        Some(v) => Ok(Json(json!({"meta": { key: v }})).into_response()),
        None => Err(Error::not_found("metadata item", key).into()),
    }
}

/// PUT /metadata/{key}: the body holds exactly that key.
pub async fn set_item(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
    body: Bytes,
) -> NovaResult {
    let item = MetadataItem::parse(object(&body, "meta")?, &key)?;
    let shown = json!({"meta": { &item.key: &item.value }});
    app.set_server_metadata(&c, &id, item.into(), false).await?;
    Ok(Json(shown).into_response())
}

pub async fn delete_item(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
) -> NovaResult {
    app.delete_server_metadata(&c, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn tags(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    Ok(Json(json!({"tags": app.server_tags(&c, &id).await?})).into_response())
}

pub async fn replace_tags(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let tags = ServerTags::try_from(parse_json::<Value>(&body)?)?;
    Ok(Json(json!({"tags": app.replace_server_tags(&c, &id, tags).await?})).into_response())
}

pub async fn delete_tags(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.delete_server_tags(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn check_tag(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, tag)): Path<(String, String)>,
) -> NovaResult {
    if app.server_tags(&c, &id).await?.contains(&tag) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Error::not_found("tag", tag).into())
    }
}

/// 201 with a Location when the tag is new, 204 when the server already had it.
pub async fn add_tag(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, tag)): Path<(String, String)>,
) -> NovaResult {
    let created = app.add_server_tag(&c, &id, &tag).await?;
    let location = format!("{}/compute/v2.1/servers/{id}/tags/{tag}", app.cfg.public_url);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    Ok((status, [(axum::http::header::LOCATION, location)]).into_response())
}

pub async fn delete_tag(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, tag)): Path<(String, String)>,
) -> NovaResult {
    app.delete_server_tag(&c, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `os-server-password`: Ciel injects no passwords, so there is never an encrypted one to
/// show; clearing it is accepted (for the server's owner).
pub async fn password(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.get_server(&c, &id).await?;
    Ok(Json(json!({"password": ""})).into_response())
}

pub async fn clear_password(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
) -> NovaResult {
    app.server_metadata(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

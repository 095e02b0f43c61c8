//! `/volumes/{id}/metadata[/{key}]` and `/snapshots/{id}/metadata[/{key}]`: the same six
//! handlers for both, told apart by the `Owner` type they are instantiated with.

use super::{empty, CResult, CinderCaller, Params};
use crate::app::volume::metadata::MetadataOwner;
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

pub trait Owner {
    const OWNER: MetadataOwner;
}

pub struct OfVolume;
impl Owner for OfVolume {
    const OWNER: MetadataOwner = MetadataOwner::Volume;
}

pub struct OfSnapshot;
impl Owner for OfSnapshot {
    const OWNER: MetadataOwner = MetadataOwner::Snapshot;
}

pub async fn show<O: Owner>(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let md = app.owner_metadata(&c, O::OWNER, p.get("id")).await?;
    Ok(Json(json!({ "metadata": md })).into_response())
}

async fn set<O: Owner>(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    id: &str,
    body: &Bytes,
    replace: bool,
) -> CResult {
    let v: Value = parse_json(body)?;
    let md = v
        .get("metadata")
        .ok_or_else(|| Error::bad_request("Malformed request body: 'metadata' is required"))?;
    let md = crate::app::volume::metadata(md)?;
    let out = app.set_owner_metadata(c, O::OWNER, id, md, replace).await?;
    Ok(Json(json!({ "metadata": out })).into_response())
}

/// `POST`: merges keys.
pub async fn merge<O: Owner>(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    set::<O>(&app, &c, p.get("id"), &body, false).await
}

/// `PUT`: replaces the whole metadata.
pub async fn replace<O: Owner>(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    set::<O>(&app, &c, p.get("id"), &body, true).await
}

pub async fn item<O: Owner>(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let md = app.owner_metadata(&c, O::OWNER, p.get("id")).await?;
    let key = p.get("key");
    let val = md.get(key).ok_or_else(|| Error::not_found(O::OWNER.what(), key))?;
    Ok(Json(json!({"meta": {key: val}})).into_response())
}

pub async fn put_item<O: Owner>(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    let v: Value = parse_json(&body)?;
    let meta = crate::app::volume::metadata(v.get("meta").unwrap_or(&Value::Null))?;
    let key = p.get("key");
    if meta.len() != 1 || !meta.contains_key(key) {
        return Err(Error::bad_request("Request body and URI mismatch").into());
    }
    app.set_owner_metadata(&c, O::OWNER, p.get("id"), meta.clone(), false)
        .await?;
    Ok(Json(json!({ "meta": meta })).into_response())
}

pub async fn delete_item<O: Owner>(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.delete_owner_metadata(&c, O::OWNER, p.get("id"), p.get("key"))
        .await?;
    Ok(empty(StatusCode::OK))
}

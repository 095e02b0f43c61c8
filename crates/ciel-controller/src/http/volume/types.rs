//! `/types`: volume types, their extra specs and project access.

use super::{empty, param, query, time, time_opt, CResult, CinderCaller, Params};
use crate::app::volume::encryption::EncryptionSpecs;
use crate::app::volume::params::{CreateVolumeType, TypeAccessAction, UpdateVolumeType};
use crate::db::volume::VolumeType;
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn render(t: &VolumeType) -> Value {
    json!({"id": t.id, "name": t.name, "description": t.description, "is_public": t.is_public,
           "os-volume-type-access:is_public": t.is_public, "qos_specs_id": t.qos_specs_id,
           "extra_specs": crate::app::volume::parse_map(&t.extra_specs)})
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): CinderCaller, RawQuery(raw): RawQuery) -> CResult {
    let q = query(raw.as_deref())?;
    let is_public = match param(&q, "is_public").map(str::to_ascii_lowercase).as_deref() {
        None | Some("none") => None,
        Some("true") | Some("1") => Some(true),
        Some(_) => Some(false),
    };
    let types = app.list_volume_types(&c, is_public).await?;
    Ok(Json(json!({"volume_types": types.iter().map(render).collect::<Vec<_>>()})).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let t = app.get_volume_type(&c, p.get("id")).await?;
    Ok(Json(json!({"volume_type": render(&t)})).into_response())
}

pub async fn show_default(State(app): State<AppState>, Authed(..): CinderCaller) -> CResult {
    let t = app.default_volume_type().await?;
    Ok(Json(json!({"volume_type": render(&t)})).into_response())
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): CinderCaller, body: Bytes) -> CResult {
    let b = CreateVolumeType::try_from(wrapped(&body, "volume_type")?)?;
    let t = app.create_volume_type(&c, b).await?;
    let mut v = render(&t);
    v.as_object_mut().map(|o| o.remove("qos_specs_id"));
    Ok(Json(json!({ "volume_type": v })).into_response())
}

pub async fn update(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    let b = UpdateVolumeType::try_from(wrapped(&body, "volume_type")?)?;
    let t = app.update_volume_type(&c, p.get("id"), b).await?;
    Ok(Json(
        json!({"volume_type": {"id": t.id, "name": t.name, "description": t.description,
        "is_public": t.is_public, "extra_specs": crate::app::volume::parse_map(&t.extra_specs)}}),
    )
    .into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.delete_volume_type(&c, p.get("id")).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn action(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    let a = TypeAccessAction::try_from(parse_json::<Value>(&body)?)?;
    app.change_volume_type_access(&c, p.get("id"), &a.project, a.add)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn access(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let id = p.get("id");
    let list: Vec<Value> = app
        .volume_type_access(&c, id)
        .await?
        .into_iter()
        .map(|proj| json!({"volume_type_id": id, "project_id": proj}))
        .collect();
    Ok(Json(json!({ "volume_type_access": list })).into_response())
}

pub async fn extra_specs(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let specs = app.volume_type_extra_specs(&c, p.get("id")).await?;
    Ok(Json(json!({ "extra_specs": specs })).into_response())
}

pub async fn set_extra_specs(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    let v: Value = parse_json(&body)?;
    let specs = crate::app::volume::metadata(v.get("extra_specs").unwrap_or(&Value::Null))?;
    app.change_volume_type_specs(&c, p.get("id"), specs.clone(), None)
        .await?;
    Ok(Json(json!({ "extra_specs": specs })).into_response())
}

pub async fn extra_spec(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let specs = app.volume_type_extra_specs(&c, p.get("id")).await?;
    let key = p.get("key");
    let v = specs
        .get(key)
        .ok_or_else(|| Error::not_found("volume type extra spec", key))?;
    Ok(Json(json!({ key: v })).into_response())
}

pub async fn put_extra_spec(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    let v: Value = parse_json(&body)?;
    let spec = crate::app::volume::metadata(&v)?;
    let key = p.get("key");
    if spec.len() != 1 || !spec.contains_key(key) {
        return Err(Error::bad_request("Request body and URI mismatch").into());
    }
    app.change_volume_type_specs(&c, p.get("id"), spec.clone(), None)
        .await?;
    Ok(Json(json!(spec)).into_response())
}

pub async fn delete_extra_spec(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.change_volume_type_specs(&c, p.get("id"), Default::default(), Some(p.get("key")))
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

fn render_encryption(e: &crate::db::volume::encryption::TypeEncryption) -> Value {
    json!({"volume_type_id": e.volume_type_id, "encryption_id": e.encryption_id, "provider": e.provider,
           "cipher": e.cipher, "key_size": e.key_size, "control_location": e.control_location,
           "created_at": time(e.created_at),
           "updated_at": time_opt(e.updated_at),
           "deleted": false, "deleted_at": null})
}

/// `GET /types/{id}/encryption`: the specs, unwrapped, or `{}` for a type without.
pub async fn encryption(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let e = app.volume_type_encryption(&c, p.get("id")).await?;
    Ok(Json(e.as_ref().map(render_encryption).unwrap_or_else(|| json!({}))).into_response())
}

pub async fn create_encryption(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    let specs = EncryptionSpecs::parse(wrapped(&body, "encryption")?, true)?;
    let e = app.create_volume_type_encryption(&c, p.get("id"), specs).await?;
    // Cinder answers a create with the specs only (no timestamps or deleted flags).
    let mut v = render_encryption(&e);
    if let Some(o) = v.as_object_mut() {
        for k in ["created_at", "updated_at", "deleted", "deleted_at"] {
            o.remove(k);
        }
    }
    Ok(Json(json!({ "encryption": v })).into_response())
}

/// `GET /types/{id}/encryption/{key}`: one spec, `{key: value}`.
pub async fn encryption_spec(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let key = p.get("key");
    let e = app.volume_type_encryption(&c, p.get("id")).await?;
    let spec = e
        .as_ref()
        .map(render_encryption)
        .and_then(|v| v.get(key).cloned())
        .ok_or_else(|| Error::not_found("volume type encryption", p.get("id")))?;
    Ok(Json(json!({ key: spec })).into_response())
}

/// `PUT /types/{id}/encryption/{encryption_id}`: answers with the fields it was given.
pub async fn update_encryption(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: Bytes,
) -> CResult {
    let given = wrapped(&body, "encryption")?;
    let specs = EncryptionSpecs::parse(given.clone(), false)?;
    app.update_volume_type_encryption(&c, p.get("id"), p.get("key"), specs)
        .await?;
    Ok(Json(json!({ "encryption": given })).into_response())
}

pub async fn delete_encryption(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.delete_volume_type_encryption(&c, p.get("id"), p.get("key")).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

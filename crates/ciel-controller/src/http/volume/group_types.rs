//! `/group_types` (3.11+): group types and their group specs, in Cinder's shapes (specs only
//! shown to admins; writes answer 202 as Cinder does, updates 200).

use super::{empty, page, param, query, time, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::group_params::{CreateGroupType, UpdateGroupType};
use crate::app::volume::metadata;
use crate::db::volume::groups::GroupType;
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

fn since_3_11(mv: Microversion) -> Result<(), Error> {
    if mv < Microversion(11) {
        return Err(Error::not_found("resource", "group_types"));
    }
    Ok(())
}

fn render(t: &GroupType, admin: bool) -> Value {
    let mut v = json!({"id": t.id, "name": t.name, "description": t.description, "is_public": t.is_public});
    if admin {
        v["group_specs"] = json!(crate::app::volume::parse_map(&t.group_specs));
    }
    v
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    body: Bytes,
) -> CResult {
    since_3_11(mv)?;
    let t = app
        .create_group_type(&c, CreateGroupType::try_from(wrapped(&body, "group_type")?)?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"group_type": render(&t, true)}))).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    since_3_11(mv)?;
    let q = query(raw.as_deref())?;
    // Cinder: absent or true: public ones; false: private ones; "None": both (admins).
    let public = match param(&q, "is_public").map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "1" | "yes") => Some(true),
        Some("false" | "0" | "no") => Some(false),
        Some("none") => None,
        Some(other) => return Err(Error::bad_request(format!("Invalid is_public filter [{other}]")).into()),
    };
    let mut types = app.list_group_types(&c, public).await?;
    types.reverse();
    let (types, _) = page(
        types,
        &q,
        |t| t.id.as_str(),
        |t, k| match k {
            "id" => Some(t.id.clone()),
            "name" => Some(t.name.clone()),
            "created_at" => Some(time(t.created_at)),
            _ => None,
        },
        "",
    )?;
    let admin = c.is_admin();
    let items: Vec<Value> = types.iter().map(|t| render(t, admin)).collect();
    Ok(Json(json!({"group_types": items})).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    since_3_11(mv)?;
    let t = app.get_group_type(&c, p.get("id")).await?;
    Ok(Json(json!({"group_type": render(&t, c.is_admin())})).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    since_3_11(mv)?;
    let u = UpdateGroupType::try_from(wrapped(&body, "group_type")?)?;
    let t = app.update_group_type(&c, p.get("id"), u).await?;
    Ok(Json(json!({"group_type": render(&t, true)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    since_3_11(mv)?;
    app.delete_group_type(&c, p.get("id")).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn specs(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    since_3_11(mv)?;
    let specs = app.group_type_specs(&c, p.get("id")).await?;
    Ok(Json(json!({"group_specs": specs})).into_response())
}

/// `POST …/group_specs`: merges, and answers with what was sent.
pub async fn set_specs(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    since_3_11(mv)?;
    let b: Map<String, Value> = parse_json(&body)?;
    let set = metadata(b.get("group_specs").unwrap_or(&Value::Null))?;
    app.change_group_type_specs(&c, p.get("id"), set.clone(), None).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"group_specs": set}))).into_response())
}

pub async fn spec(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    since_3_11(mv)?;
    let key = p.get("key");
    let specs = app.group_type_specs(&c, p.get("id")).await?;
    let v = specs.get(key).ok_or_else(|| Error::not_found("group type spec", key))?;
    Ok(Json(json!({ key: v })).into_response())
}

/// `PUT …/group_specs/{key}` `{key: value}`: one property, the one in the URL.
pub async fn put_spec(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
    body: Bytes,
) -> CResult {
    since_3_11(mv)?;
    let key = p.get("key");
    let b: Value = parse_json(&body)?;
    let set = metadata(&b)?;
    if set.len() != 1 || !set.contains_key(key) {
        return Err(Error::bad_request("Request body and URI mismatch").into());
    }
    app.change_group_type_specs(&c, p.get("id"), set.clone(), None).await?;
    Ok(Json(json!(set)).into_response())
}

pub async fn delete_spec(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    p: Params,
) -> CResult {
    since_3_11(mv)?;
    app.change_group_type_specs(&c, p.get("id"), Default::default(), Some(p.get("key")))
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

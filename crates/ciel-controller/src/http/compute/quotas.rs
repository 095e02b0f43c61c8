//! `/os-quota-sets/{project}`: show, defaults, detail (with usage), update, reset.

use super::error::NovaResult;
use super::microversion::Mv;
use super::NovaCaller;
use crate::app::compute::quotas::LEGACY_NETWORK;
use crate::app::compute::resource_params::{UpdateQuotaClassSet, UpdateQuotaSet};
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The quota set as the microversion shows it (network quotas gone in 2.36, injected files
/// in 2.57).
fn shape(q: &BTreeMap<String, i64>, mv: Mv, id: Option<&str>) -> Value {
    let mut out = Map::new();
    for (k, v) in q {
        let legacy = LEGACY_NETWORK.iter().any(|(r, _)| r == k);
        if (mv.at_least(57) && k.starts_with("injected_file")) || (legacy && mv.at_least(36)) {
            continue;
        }
        out.insert(k.clone(), json!(v));
    }
    if !mv.at_least(36) {
        for (k, v) in LEGACY_NETWORK {
            out.entry(k.to_string()).or_insert(json!(v));
        }
    }
    if let Some(id) = id {
        out.insert("id".into(), json!(id));
    }
    Value::Object(out)
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(project): Path<String>,
) -> NovaResult {
    let q = app.compute_quota(&c, &project).await?;
    Ok(Json(json!({"quota_set": shape(&q, mv, Some(&project))})).into_response())
}

pub async fn defaults(
    State(app): State<AppState>,
    Authed(..): NovaCaller,
    mv: Mv,
    Path(project): Path<String>,
) -> NovaResult {
    let q = app.compute_quota_defaults().await?;
    Ok(Json(json!({"quota_set": shape(&q, mv, Some(&project))})).into_response())
}

pub async fn detail(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(project): Path<String>,
) -> NovaResult {
    let q = app.compute_quota(&c, &project).await?;
    let used = app.compute_usage_of(&c, &project).await?;
    let mut out = Map::new();
    if let Value::Object(m) = shape(&q, mv, None) {
        for (k, limit) in m {
            let in_use = match k.as_str() {
                "instances" => used.instances,
                "cores" => used.cores,
                "ram" => used.ram_mb,
                _ => 0,
            };
            out.insert(k, json!({"limit": limit, "in_use": in_use, "reserved": 0}));
        }
    }
    out.insert("id".into(), json!(project));
    Ok(Json(json!({ "quota_set": out })).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(project): Path<String>,
    body: Bytes,
) -> NovaResult {
    let req = UpdateQuotaSet::at_microversion(wrapped(&body, "quota_set")?, mv.1)?;
    let q = app.set_compute_quota(&c, &project, req).await?;
    Ok(Json(json!({"quota_set": shape(&q, mv, None)})).into_response())
}

/// Quota classes show the network quotas until 2.50 (not 2.36 as quota sets do).
fn class_shape(q: &BTreeMap<String, i64>, mv: Mv, id: &str) -> Value {
    let mut v = shape(q, if mv.at_least(50) { mv } else { Mv(2, 1) }, Some(id));
    if let (Value::Object(m), true) = (&mut v, mv.at_least(57)) {
        m.retain(|k, _| !k.starts_with("injected_file"));
    }
    v
}

pub async fn show_class(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(class): Path<String>,
) -> NovaResult {
    let q = app.quota_class(&c, &class).await?;
    Ok(Json(json!({"quota_class_set": class_shape(&q, mv, &class)})).into_response())
}

pub async fn update_class(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(class): Path<String>,
    body: Bytes,
) -> NovaResult {
    let req = UpdateQuotaClassSet::at_microversion(wrapped(&body, "quota_class_set")?, mv.1)?;
    let q = app.set_quota_class(&c, &class, req).await?;
    let mut v = class_shape(&q, mv, &class);
    if let Value::Object(m) = &mut v {
        m.remove("id");
    }
    Ok(Json(json!({ "quota_class_set": v })).into_response())
}

pub async fn reset(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(project): Path<String>) -> NovaResult {
    app.reset_compute_quota(&c, &project).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

//! `/os-server-groups`: `policies` + `metadata` before 2.64, `policy` + `rules` from then on;
//! `project_id`/`user_id` from 2.13.

use super::error::NovaResult;
use super::microversion::Mv;
use super::{param, query_pairs, NovaCaller};
use crate::app::compute::resource_params::CreateServerGroup;
use crate::app::compute::server_groups::GroupView;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn group_json(g: &GroupView, mv: Mv) -> Value {
    let mut v = json!({"id": g.group.id, "name": g.group.name, "members": g.members});
    if mv.at_least(64) {
        v["policy"] = json!(g.group.policy);
        v["rules"] = serde_json::from_str(&g.group.rules).unwrap_or_else(|_| json!({}));
    } else {
        v["policies"] = json!([g.group.policy]);
        v["metadata"] = json!({});
    }
    if mv.at_least(13) {
        v["project_id"] = json!(g.group.project_id);
        v["user_id"] = json!(g.group.user_id);
    }
    v
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): NovaCaller, mv: Mv, body: Bytes) -> NovaResult {
    let req = CreateServerGroup::at_microversion(wrapped(&body, "server_group")?, mv.1)?;
    let g = app.create_server_group(&c, req).await?;
    Ok(Json(json!({"server_group": group_json(&g, mv)})).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let q = query_pairs(raw.as_deref())?;
    let all = param(&q, "all_projects").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let groups = app.list_server_groups(&c, all).await?;
    let items: Vec<Value> = groups.iter().map(|g| group_json(g, mv)).collect();
    Ok(Json(json!({ "server_groups": items })).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    let g = app.get_server_group(&c, &id).await?;
    Ok(Json(json!({"server_group": group_json(&g, mv)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.delete_server_group(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! `/os-aggregates` (admin): CRUD and the `add_host`, `remove_host`, `set_metadata` actions.

use super::error::NovaResult;
use super::{time_micro, NovaCaller};
use crate::app::compute::aggregates::AggregateView;
use crate::app::compute::resource_params::{AggregateAction, CreateAggregate, UpdateAggregate};
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

fn aggregate_json(v: &AggregateView, with_members: bool) -> Value {
    let a = &v.aggregate;
    let mut out = json!({"id": a.id, "name": a.name, "availability_zone": a.availability_zone,
        "created_at": time_micro(a.created_at), "updated_at": a.updated_at.map(time_micro),
        "deleted": false, "deleted_at": null});
    if with_members {
        out["hosts"] = json!(v.hosts);
        let mut meta: Map<String, Value> = serde_json::from_str(&a.metadata).unwrap_or_default();
        if let Some(z) = &a.availability_zone {
            meta.insert("availability_zone".into(), json!(z));
        }
        out["metadata"] = Value::Object(meta);
    }
    out
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller) -> NovaResult {
    let items: Vec<Value> = app
        .list_aggregates(&c)
        .await?
        .iter()
        .map(|v| aggregate_json(v, true))
        .collect();
    Ok(Json(json!({ "aggregates": items })).into_response())
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): NovaCaller, body: Bytes) -> NovaResult {
    let req = CreateAggregate::try_from(wrapped(&body, "aggregate")?)?;
    let v = app.create_aggregate(&c, req).await?;
    Ok(Json(json!({"aggregate": aggregate_json(&v, false)})).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let v = app.get_aggregate(&c, &id).await?;
    Ok(Json(json!({"aggregate": aggregate_json(&v, true)})).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let req = UpdateAggregate::try_from(wrapped(&body, "aggregate")?)?;
    let v = app.update_aggregate(&c, &id, req).await?;
    Ok(Json(json!({"aggregate": aggregate_json(&v, true)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.delete_aggregate(&c, &id).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn action(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let action = AggregateAction::try_from(parse_json::<Value>(&body)?)?;
    let v = app.aggregate_action(&c, &id, action).await?;
    Ok(Json(json!({"aggregate": aggregate_json(&v, true)})).into_response())
}

//! `/os-tenant-networks` and `/os-networks` (read-only: Ciel's networks are the network
//! service's).

use super::error::NovaResult;
use super::NovaCaller;
use crate::app::compute::networks::NovaNetwork;
use crate::http::{AppState, Authed};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn network_json(n: &NovaNetwork) -> Value {
    json!({"id": n.id, "label": n.label, "cidr": n.cidr})
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller) -> NovaResult {
    let items: Vec<Value> = app.nova_networks(&c).await?.iter().map(network_json).collect();
    Ok(Json(json!({ "networks": items })).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let n = app.nova_network(&c, &id).await?;
    Ok(Json(json!({"network": network_json(&n)})).into_response())
}

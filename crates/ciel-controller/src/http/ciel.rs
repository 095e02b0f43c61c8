//! Ciel's own operator API (no OpenStack service has these): `GET /ciel/v1/status` (the
//! cloud at a glance, admins) and `GET /ciel/v1/usage?start=&end=[&project_id=]` (metered
//! usage per project for billing: admins see every project, members their own). The `ciel
//! status` and `ciel usage` commands call them. The dashboard's graphs read
//! `/ciel/v1/servers/{id}/samples` and `/ciel/v1/hosts/{id}/samples` (`?period=hour|day|week`).

use super::routes::{get, PlainError, Routes};
use super::{AppState, Authed};
use crate::app::compute::server_list::parse_time;
use crate::error::Error;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

type Caller = Authed<PlainError>;

pub fn router() -> Routes<PlainError> {
    Routes::new()
        .route("/v1/status", get("ciel:status", status))
        .route("/v1/usage", get("ciel:usage", usage))
        .route("/v1/servers/{id}/samples", get("ciel:server_samples", server_samples))
        .route("/v1/hosts/{id}/samples", get("ciel:host_samples", host_samples))
}

async fn status(State(app): State<AppState>, Authed(c, ..): Caller) -> Result<Response, PlainError> {
    Ok(Json(app.cloud_status(&c).await?).into_response())
}

async fn usage(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PlainError> {
    let now = crate::db::now();
    let time = |key: &str, default: i64| -> Result<i64, Error> {
        match q.get(key) {
            Some(t) => parse_time(key, t),
            None => Ok(default),
        }
    };
    let start = time("start", now - now.rem_euclid(86400))?;
    let end = time("end", now)?;
    let projects = app
        .usage_report(&c, q.get("project_id").map(String::as_str), start, end)
        .await?;
    Ok(Json(serde_json::json!({ "start": start, "end": end, "projects": projects })).into_response())
}

#[derive(serde::Deserialize)]
struct Period {
    #[serde(default = "hour")]
    period: String,
}

fn hour() -> String {
    "hour".into()
}

/// A server's graphs (CPU, memory, disk and network) over the last hour, day or week.
async fn server_samples(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    Query(q): Query<Period>,
) -> Result<Response, PlainError> {
    Ok(Json(app.server_graph(&c, &id, &q.period).await?).into_response())
}

/// A host's graphs (CPU, memory, storage), by id or hostname.
async fn host_samples(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    Query(q): Query<Period>,
) -> Result<Response, PlainError> {
    Ok(Json(app.host_graph(&c, &id, &q.period).await?).into_response())
}

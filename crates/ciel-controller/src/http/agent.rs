//! The agent API under `/agent/v1`: hypervisor agents register with the join token, then
//! long-poll their host's desired state and report what they observe (bearer host token).

use crate::app::App;
use crate::db::compute::hosts::Host;
use crate::error::Error;
use crate::http::routes::{get, post, put, PlainError, Routes};
use crate::http::{parse_json, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ciel_proto::{HostReport, RegisterRequest, RegisterResponse};
use std::time::Duration;

/// Longest a config request waits for a change before answering with the current state.
const LONG_POLL: Duration = Duration::from_secs(25);

pub fn router() -> Routes<PlainError> {
    Routes::new()
        .route("/v1/hosts", post("agent:register", register))
        .route("/v1/hosts/{id}/config", get("agent:config", config))
        .route("/v1/hosts/{id}/report", put("agent:report", report))
        .route("/v1/hosts/{id}/samples", post("agent:samples", samples))
        .route("/v1/hosts/{id}/images/{image}", get("agent:image_file", image_file))
        .route("/v1/hosts/{id}/metadata", get("agent:metadata", metadata))
}

struct AgentError(Error);

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(serde_json::json!({"error": self.0.to_string()}))).into_response()
    }
}

impl From<Error> for AgentError {
    fn from(e: Error) -> Self {
        AgentError(e)
    }
}

fn bearer(h: &HeaderMap) -> Result<&str, Error> {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| Error::Unauthorized("bearer token required".into()))
}

async fn host(app: &App, id: &str, h: &HeaderMap) -> Result<Host, Error> {
    app.authenticate_host(id, bearer(h)?).await
}

async fn register(State(app): State<AppState>, h: HeaderMap, body: Bytes) -> Result<Response, AgentError> {
    let req: RegisterRequest = parse_json(&body)?;
    let (host_id, host_token, agent_secret) = app.register_host(bearer(&h)?, req).await?;
    Ok(Json(RegisterResponse {
        host_id,
        host_token,
        agent_secret,
    })
    .into_response())
}

#[derive(serde::Deserialize)]
struct After {
    /// The generation the agent holds (0: none, answer in full).
    #[serde(default)]
    after: u64,
}

async fn config(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<After>,
    h: HeaderMap,
) -> Result<Response, AgentError> {
    // 304 when nothing changed: the agent keeps what it holds and reports again.
    Ok(match app.host_poll(&id, bearer(&h)?, q.after, LONG_POLL).await? {
        Some(cfg) => Json(cfg).into_response(),
        None => StatusCode::NOT_MODIFIED.into_response(),
    })
}

async fn report(
    State(app): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, AgentError> {
    let host = host(&app, &id, &h).await?;
    let r: HostReport = parse_json(&body)?;
    app.host_report(&host, r).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What the host measured, for the dashboard's graphs; the answer says when to send again.
async fn samples(
    State(app): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, AgentError> {
    let host = host(&app, &id, &h).await?;
    let r: ciel_proto::SamplesReport = parse_json(&body)?;
    Ok(Json(app.record_samples(&host, r).await?).into_response())
}

/// Image data for the host's image cache, streamed from the image store.
async fn image_file(
    State(app): State<AppState>,
    Path((id, image)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<Response, AgentError> {
    host(&app, &id, &h).await?;
    let file = app.image_file_for_host(&image).await?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
    Ok((StatusCode::OK, Body::from_stream(stream)).into_response())
}

#[derive(serde::Deserialize)]
struct MetadataQuery {
    server_id: Option<String>,
    network_id: Option<String>,
    router_id: Option<String>,
    ip: Option<String>,
}

/// Instance metadata for the host's metadata service (`network_id` or `router_id`, + `ip`
/// of the asking VM) or config drive (`server_id`).
async fn metadata(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<MetadataQuery>,
    h: HeaderMap,
) -> Result<Response, AgentError> {
    let host = host(&app, &id, &h).await?;
    let md = match (q.server_id, q.network_id, q.router_id, q.ip) {
        (Some(s), ..) => app.metadata_of_server(&host, &s).await?,
        (None, Some(n), _, Some(ip)) => app.metadata_by_address(&host, &n, &ip).await?,
        (None, None, Some(r), Some(ip)) => app.metadata_by_router(&host, &r, &ip).await?,
        _ => return Err(Error::bad_request("server_id, or network_id or router_id with ip, are required").into()),
    };
    Ok(Json(md).into_response())
}

//! `GET /healthz` for load balancers: a controller that cannot reach the database answers
//! 503 and is taken out of rotation, though its process is up. `GET /readyz` also refuses
//! while the controller shuts down, and says why in JSON. `GET /metrics` is the Prometheus
//! text of `app::observe`, for the allowed source addresses (`[metrics] allow`) or an admin
//! token (`X-Auth-Token`, or `Authorization: Bearer`, which Prometheus can send).

use super::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn healthz(State(app): State<AppState>) -> Response {
    if app.database_reachable().await {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
    }
}

pub async fn readyz(State(app): State<AppState>) -> Response {
    let r = app.readiness().await;
    let status = if r.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": r.ready(),
        "database": if r.database { "reachable" } else { "unreachable" },
        "shutting_down": r.shutting_down,
    });
    (status, axum::Json(body)).into_response()
}

pub async fn metrics(State(app): State<AppState>, req: Request) -> Response {
    if !app.cfg.metrics.enabled {
        return (StatusCode::NOT_FOUND, "metrics are off ([metrics] enabled = false)\n").into_response();
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    let allowed = peer.is_some_and(|ip| app.cfg.metrics.allow.iter().any(|n| n.contains(&ip)));
    if !allowed {
        let bearer = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let token = req
            .headers()
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .or(bearer);
        let Some(token) = token else {
            return (
                StatusCode::UNAUTHORIZED,
                "an admin token or an allowed address is needed\n",
            )
                .into_response();
        };
        match app.validate_token(token).await {
            Ok(c) if c.is_admin() => {}
            Ok(_) => return (StatusCode::FORBIDDEN, "the metrics are for admins\n").into_response(),
            Err(_) => return (StatusCode::UNAUTHORIZED, "invalid token\n").into_response(),
        }
    }
    match app.metrics_text().await {
        Ok(text) => (
            StatusCode::OK,
            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the metrics failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("reading the metrics failed: {e}\n"),
            )
                .into_response()
        }
    }
}

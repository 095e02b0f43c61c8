//! `GET /healthz` for load balancers: a controller that cannot reach the database answers
//! 503 and is taken out of rotation, though its process is up.

use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn healthz(State(app): State<AppState>) -> Response {
    if app.database_reachable().await {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
    }
}

//! Octavia's error body (wsme's): `{"faultcode": "Client"|"Server", "faultstring": …,
//! "debuginfo": null}`.

use crate::error::Error;
use crate::http::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub struct OctaviaError(pub Error);

impl From<Error> for OctaviaError {
    fn from(e: Error) -> Self {
        OctaviaError(e)
    }
}

impl ServiceError for OctaviaError {}

pub type OResult<T = Response> = Result<T, OctaviaError>;

impl IntoResponse for OctaviaError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match &self.0 {
            Error::NotFound { kind, id } => format!("{kind} {id} not found."),
            Error::Internal(_) => "An unknown exception occurred.".into(),
            Error::Forbidden(m) if m.starts_with("You are not authorized") => {
                "Policy does not allow this request to be performed.".into()
            }
            other => other.to_string(),
        };
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let fault = if status >= 500 { "Server" } else { "Client" };
        (
            code,
            Json(serde_json::json!({"faultcode": fault, "faultstring": message, "debuginfo": null})),
        )
            .into_response()
    }
}

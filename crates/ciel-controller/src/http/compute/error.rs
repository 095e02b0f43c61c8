//! Nova's fault body: `{"itemNotFound": {"code": 404, "message": "..."}}`, the key named after
//! the status.

use crate::error::Error;
use crate::http::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub struct NovaError(pub Error);

impl From<Error> for NovaError {
    fn from(e: Error) -> Self {
        NovaError(e)
    }
}

impl ServiceError for NovaError {}

pub type NovaResult<T = Response> = Result<T, NovaError>;

fn fault_key(status: u16) -> &'static str {
    match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        406 => "notAcceptable",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

impl IntoResponse for NovaError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match &self.0 {
            Error::NotFound { kind, id } => format!("{} {id} could not be found.", capitalize(kind)),
            Error::Internal(_) => "Unexpected API Error. Please report this at the Ciel issue tracker.".into(),
            other => other.to_string(),
        };
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            code,
            Json(serde_json::json!({ fault_key(status): {"code": status, "message": message} })),
        )
            .into_response()
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

//! Glance's error body as webob renders it for JSON clients:
//! `{"code": "404 Not Found", "title": "Not Found", "message": "..."}`.

use crate::error::Error;
use crate::http::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub struct GlanceError(pub Error);

impl From<Error> for GlanceError {
    fn from(e: Error) -> Self {
        GlanceError(e)
    }
}

impl ServiceError for GlanceError {}

impl IntoResponse for GlanceError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match &self.0 {
            Error::NotFound { kind: "image", id } => format!("No image found with ID {id}"),
            Error::Internal(_) => {
                "The server has either erred or is incapable of performing the requested operation.".into()
            }
            other => other.to_string(),
        };
        let title = code.canonical_reason().unwrap_or("Error");
        let body =
            serde_json::json!({"code": format!("{} {title}", code.as_u16()), "title": title, "message": message});
        (code, axum::Json(body)).into_response()
    }
}

pub type GlanceResult<T = Response> = Result<T, GlanceError>;

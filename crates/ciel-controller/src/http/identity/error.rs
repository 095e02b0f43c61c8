//! Keystone's error body: `{"error": {"code": 404, "title": "Not Found", "message": "..."}}`.

use crate::error::Error;
use crate::http::ServiceError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

pub struct KsError(pub Error);

impl From<Error> for KsError {
    fn from(e: Error) -> Self {
        KsError(e)
    }
}

impl ServiceError for KsError {}

fn title(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

impl IntoResponse for KsError {
    fn into_response(self) -> Response {
        let code = self.0.status();
        let message = match &self.0 {
            Error::Internal(_) => "An unexpected error prevented the server from fulfilling your request.".to_string(),
            other => other.to_string(),
        };
        let body = serde_json::json!({"error": {"code": code, "title": title(code), "message": message}});
        let mut resp = (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(body),
        )
            .into_response();
        if code == 401 {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Keystone uri=\"/identity\""),
            );
        }
        resp
    }
}

pub type KsResult<T = Response> = Result<T, KsError>;

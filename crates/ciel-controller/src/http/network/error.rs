//! Neutron's error body: `{"NeutronError": {"type": "NetworkNotFound", "message": "...", "detail": ""}}`.

use crate::error::Error;
use crate::http::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub struct NeutronError(pub Error);

impl From<Error> for NeutronError {
    fn from(e: Error) -> Self {
        NeutronError(e)
    }
}

impl ServiceError for NeutronError {}

/// `network` → `NetworkNotFound`, `security group` → `SecurityGroupNotFound`.
fn not_found_type(kind: &str) -> String {
    let camel: String = kind
        .split([' ', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    format!("{camel}NotFound")
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (kind, message) = match &self.0 {
            Error::NotFound { kind, id } => (
                not_found_type(kind),
                format!("{} {id} could not be found.", capitalize(kind)),
            ),
            Error::Typed { kind, message, .. } => (kind.to_string(), message.clone()),
            Error::BadRequest(m) => ("HTTPBadRequest".into(), m.clone()),
            Error::Forbidden(m) => ("HTTPForbidden".into(), m.clone()),
            Error::Conflict(m) => ("Conflict".into(), m.clone()),
            Error::Unauthorized(m) => ("HTTPUnauthorized".into(), m.clone()),
            Error::MethodNotAllowed(m) => ("HTTPMethodNotAllowed".into(), m.clone()),
            Error::RequestTooLarge(m) => ("HTTPRequestEntityTooLarge".into(), m.clone()),
            Error::Unavailable(m) => ("HTTPServiceUnavailable".into(), m.clone()),
            Error::Internal(_) => (
                "HTTPInternalServerError".into(),
                "Request Failed: internal server error while processing your request.".into(),
            ),
        };
        (
            code,
            Json(serde_json::json!({"NeutronError": {"type": kind, "message": message, "detail": ""}})),
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

pub type NeutronResult<T = Response> = Result<T, NeutronError>;

#[cfg(test)]
mod tests {
    #[test]
    fn type_names() {
        assert_eq!(super::not_found_type("network"), "NetworkNotFound");
        assert_eq!(super::not_found_type("security group"), "SecurityGroupNotFound");
    }
}

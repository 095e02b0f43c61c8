//! The request id: every response carries `x-openstack-request-id` (`http::observe`), and
//! compute and volume responses the legacy `x-compute-request-id` too. Instance actions are
//! recorded under it, so clients can look up what their call did (Tempest does that).

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn new() -> Self {
        RequestId(format!("req-{}", uuid::Uuid::new_v4()))
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

/// Adds the legacy `x-compute-request-id` (Nova, Cinder) with the id `http::observe` gave
/// the request.
pub async fn stamp(mut req: Request, next: Next) -> Response {
    let id = match req.extensions().get::<RequestId>() {
        Some(RequestId(id)) => id.clone(),
        None => RequestId::new().0,
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-openstack-request-id", v.clone());
        resp.headers_mut().insert("x-compute-request-id", v);
    }
    resp
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestId>().cloned().unwrap_or_default())
    }
}

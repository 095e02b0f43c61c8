//! What each service accepts as a request body before any handler runs: its size (bounded,
//! refused early with 413 in the service's style, so no request buffers more than its
//! service's limit) and its `Content-Type`, following what the real services do:
//!
//! - Nova and Cinder (`wsgi.Request.get_content_type`): a body with a `Content-Type` other
//!   than JSON (`application/json`, `application/vnd.openstack.{compute,volume}+json`) is a
//!   415 "Unsupported Content-Type". No header, an empty one (and for Nova `text/plain`, the
//!   default of some WSGI servers) means JSON; an empty body is never checked.
//! - Keystone (`json_body_before_request`): a non-empty body must be JSON
//!   (`application/json` or `application/*+json`) or have no `Content-Type`; otherwise 400
//!   "Expecting to find application/json in Content-Type header".
//! - Glance and Neutron take JSON bodies whatever their type; Glance checks its own media
//!   types in the handlers (PATCH json-patch, image data octet-stream).
//!
//! Limits: Nova, Cinder and Keystone run oslo.middleware's sizelimit (114688 bytes by
//! default); Glance and Neutron have the 2 MiB of axum's `Bytes` extractor here. Image data
//! (`PUT /image/v2/images/{id}/file`) is streamed and not limited here.

use super::ServiceError;
use crate::error::Error;
use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

/// oslo.middleware's `max_request_body_size` default.
pub const OSLO_MAX_BODY: usize = 114_688;
/// axum's default for the `Bytes` extractor.
pub const DEFAULT_MAX_BODY: usize = 2 * 1024 * 1024;

#[derive(Clone, Copy)]
enum TypeRule {
    /// Any content type (Glance JSON routes, Neutron).
    Any,
    /// Nova/Cinder: these JSON types, missing or empty header; `text/plain` when the flag is set.
    OpenStackWsgi { vendor: &'static str, text_plain: bool },
    /// Keystone: `application/json`, `application/*+json` or no header, else 400.
    Keystone,
}

/// The media type of a `Content-Type` value, lower case without parameters; None when the
/// header is absent, Some("") when it is empty.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?;
    let s = String::from_utf8_lossy(v.as_bytes());
    Some(s.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

fn type_error(rule: TypeRule, headers: &HeaderMap) -> Option<Error> {
    let mt = media_type(headers)?;
    match rule {
        TypeRule::Any => None,
        TypeRule::OpenStackWsgi { vendor, text_plain } => {
            let ok = mt.is_empty() || mt == "application/json" || mt == vendor || (text_plain && mt == "text/plain");
            (!ok).then(unsupported_media_type)
        }
        TypeRule::Keystone => {
            let json = mt == "application/json" || (mt.starts_with("application/") && mt.ends_with("+json"));
            let empty = headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace));
            (!json && !empty).then(|| {
                Error::bad_request(
                    "Expecting to find application/json in Content-Type header. The server could not comply with \
                     the request since it is either malformed or otherwise incorrect. The client is assumed to be \
                     in error.",
                )
            })
        }
    }
}

/// The 415 of Nova and Cinder (and of Glance's own media type checks).
pub fn unsupported_media_type() -> Error {
    Error::Typed {
        status: 415,
        kind: "HTTPUnsupportedMediaType",
        message: "Unsupported Content-Type".into(),
    }
}

pub fn too_large(max: usize) -> Error {
    Error::RequestTooLarge(format!(
        "Request is too large. Larger than max_request_body_size ({max})."
    ))
}

/// Applies a service's type rule and size limit; the body reaches the handler buffered
/// (at most `max` bytes) unless it is empty.
async fn check<E: ServiceError>(rule: TypeRule, max: usize, req: Request, next: Next) -> Response {
    let empty = req.body().size_hint().exact() == Some(0);
    if empty {
        return next.run(req).await;
    }
    if let Some(e) = type_error(rule, req.headers()) {
        return E::from(e).into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return E::from(too_large(max)).into_response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(e) => {
            // http-body-util's `LengthLimitError` ("length limit exceeded") is the size;
            // anything else is a body that broke off.
            let over = e.to_string().contains("length limit");
            let err = if over {
                too_large(max)
            } else {
                Error::bad_request("The request body could not be read.")
            };
            return E::from(err).into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

pub async fn nova(req: Request, next: Next) -> Response {
    let rule = TypeRule::OpenStackWsgi {
        vendor: "application/vnd.openstack.compute+json",
        text_plain: true,
    };
    check::<super::compute::error::NovaError>(rule, OSLO_MAX_BODY, req, next).await
}

pub async fn cinder(req: Request, next: Next) -> Response {
    let rule = TypeRule::OpenStackWsgi {
        vendor: "application/vnd.openstack.volume+json",
        text_plain: false,
    };
    check::<super::compute::error::NovaError>(rule, OSLO_MAX_BODY, req, next).await
}

pub async fn keystone(req: Request, next: Next) -> Response {
    check::<super::identity::error::KsError>(TypeRule::Keystone, OSLO_MAX_BODY, req, next).await
}

pub async fn neutron(req: Request, next: Next) -> Response {
    check::<super::network::error::NeutronError>(TypeRule::Any, DEFAULT_MAX_BODY, req, next).await
}

/// Octavia (pecan/wsme): JSON bodies whatever their type, oslo's size limit.
pub async fn octavia(req: Request, next: Next) -> Response {
    check::<super::loadbalancer::OctaviaError>(TypeRule::Any, OSLO_MAX_BODY, req, next).await
}

/// Glance: image data is streamed to the store (its size is bounded by the image quota),
/// every other body is JSON of at most 2 MiB.
pub async fn glance(req: Request, next: Next) -> Response {
    let upload = req.method() == Method::PUT && req.uri().path().ends_with("/file");
    if upload {
        return next.run(req).await;
    }
    check::<super::image::error::GlanceError>(TypeRule::Any, DEFAULT_MAX_BODY, req, next).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(ct: Option<&str>) -> HeaderMap {
        let mut m = HeaderMap::new();
        if let Some(ct) = ct {
            m.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        m
    }

    #[test]
    fn nova_types() {
        let r = TypeRule::OpenStackWsgi {
            vendor: "application/vnd.openstack.compute+json",
            text_plain: true,
        };
        for ok in [
            None,
            Some(""),
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/vnd.openstack.compute+json"),
            Some("text/plain"),
        ] {
            assert!(type_error(r, &h(ok)).is_none(), "{ok:?}");
        }
        for bad in [
            "application/xml",
            "text/html",
            "application/x-www-form-urlencoded",
            "json",
        ] {
            assert_eq!(type_error(r, &h(Some(bad))).map(|e| e.status()), Some(415), "{bad}");
        }
    }

    #[test]
    fn keystone_types() {
        for ok in [
            None,
            Some(""),
            Some("application/json;charset=UTF-8"),
            Some("application/merge-patch+json"),
        ] {
            assert!(type_error(TypeRule::Keystone, &h(ok)).is_none(), "{ok:?}");
        }
        assert_eq!(
            type_error(TypeRule::Keystone, &h(Some("text/plain"))).map(|e| e.status()),
            Some(400)
        );
    }
}

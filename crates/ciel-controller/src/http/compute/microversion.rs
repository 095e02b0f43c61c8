//! Nova microversions: the request's `OpenStack-API-Version: compute X.Y` (or the legacy
//! `X-OpenStack-Nova-API-Version: X.Y`) picks the behaviour; absent means 2.1, `latest` the
//! maximum. The version used is echoed on every response.

use super::error::NovaError;
use crate::error::Error;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The newest microversion whose behaviour Ciel implements.
pub const MAX: Mv = Mv(2, 79);
pub const MIN: Mv = Mv(2, 1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mv(pub u16, pub u16);

impl Mv {
    pub fn at_least(self, minor: u16) -> bool {
        self >= Mv(2, minor)
    }
}

impl std::fmt::Display for Mv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

fn requested(headers: &HeaderMap) -> Option<String> {
    let modern = headers.get_all("openstack-api-version").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        // "compute 2.60" possibly among other services: "volume 3.0, compute 2.60"
        v.split(',').find_map(|part| {
            let mut w = part.split_whitespace();
            (w.next()?.eq_ignore_ascii_case("compute")).then(|| w.next().unwrap_or("").to_string())
        })
    });
    modern.or_else(|| {
        headers
            .get("x-openstack-nova-api-version")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_string())
    })
}

pub fn parse(headers: &HeaderMap) -> Result<Mv, Error> {
    let Some(text) = requested(headers) else { return Ok(MIN) };
    if text.eq_ignore_ascii_case("latest") {
        return Ok(MAX);
    }
    let v = text
        .split_once('.')
        .and_then(|(a, b)| Some(Mv(a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| {
            Error::bad_request(format!(
                "API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
            ))
        })?;
    if v < MIN || v > MAX {
        return Err(Error::Typed {
            status: 406,
            kind: "notAcceptable",
            message: format!("Version {v} is not supported by the API. Minimum is {MIN} and maximum is {MAX}."),
        });
    }
    Ok(v)
}

/// Negotiates the version for every compute request and echoes it on the response.
pub async fn negotiate(mut req: Request, next: Next) -> Response {
    let v = match parse(req.headers()) {
        Ok(v) => v,
        Err(e) => return NovaError(e).into_response(),
    };
    req.extensions_mut().insert(v);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if let Ok(val) = HeaderValue::from_str(&format!("compute {v}")) {
        h.insert("openstack-api-version", val);
    }
    if let Ok(val) = HeaderValue::from_str(&v.to_string()) {
        h.insert("x-openstack-nova-api-version", val);
    }
    h.insert(
        "vary",
        HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
    resp
}

impl<S: Send + Sync> FromRequestParts<S> for Mv {
    type Rejection = NovaError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, NovaError> {
        Ok(parts.extensions.get::<Mv>().copied().unwrap_or(MIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &'static str, v: &'static str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_static(v));
        m
    }

    #[test]
    fn negotiation() {
        assert_eq!(parse(&HeaderMap::new()).unwrap(), MIN);
        assert_eq!(parse(&h("openstack-api-version", "compute 2.55")).unwrap(), Mv(2, 55));
        assert_eq!(
            parse(&h("openstack-api-version", "volume 3.0, compute latest")).unwrap(),
            MAX
        );
        assert_eq!(parse(&h("x-openstack-nova-api-version", "2.10")).unwrap(), Mv(2, 10));
        assert_eq!(
            parse(&h("x-openstack-nova-api-version", "2.999")).unwrap_err().status(),
            406
        );
        assert_eq!(
            parse(&h("x-openstack-nova-api-version", "abc")).unwrap_err().status(),
            400
        );
        assert!(Mv(2, 10) > Mv(2, 9));
    }
}

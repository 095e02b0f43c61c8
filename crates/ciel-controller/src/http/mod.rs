//! HTTP entry points: one module per OpenStack service. Handlers parse the request,
//! authenticate, call one `App` function and render the OpenStack shape; nothing more.

pub mod agent;
pub mod body_rules;
pub mod compute;
pub mod dashboard;
pub mod identity;
pub mod image;
pub mod network;
pub mod volume;

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::error::Error;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

pub type AppState = Arc<App>;

/// The whole HTTP surface of the controller.
pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/", axum::routing::get(dashboard::index))
        .route("/{file}", axum::routing::get(dashboard::top_file))
        .route("/assets/{*path}", axum::routing::get(dashboard::asset))
        .route("/identity/", axum::routing::get(identity::versions))
        .nest(
            "/identity",
            identity::router().layer(axum::middleware::from_fn(body_rules::keystone)),
        )
        .route("/image/", axum::routing::get(image::versions))
        .nest(
            "/image",
            image::router().layer(axum::middleware::from_fn(body_rules::glance)),
        )
        .nest("/agent", agent::router())
        .route("/compute/", axum::routing::get(compute::versions))
        .nest(
            "/compute",
            compute::router().layer(axum::middleware::from_fn(body_rules::nova)),
        )
        // Neutron takes a `.json` format suffix on every path, so it comes off before routing.
        .nest_service(
            "/network",
            tower::Layer::layer(
                &axum::middleware::map_request(network::without_json_suffix),
                network::router()
                    .layer(axum::middleware::from_fn(body_rules::neutron))
                    .with_state(app.clone()),
            ),
        )
        .route("/volume/", axum::routing::get(volume::versions))
        .nest(
            "/volume",
            volume::router().layer(axum::middleware::from_fn(body_rules::cinder)),
        )
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "Not Found") })
        .layer(tower::ServiceBuilder::new().layer(axum::middleware::from_fn(log_request)))
        .with_state(app)
}

async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, %uri, status = resp.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    resp
}

/// How a service renders the common `Error` (each OpenStack service has its own body).
pub trait ServiceError: From<Error> + IntoResponse + Send {}

/// The authenticated caller of a request, from `X-Auth-Token`; failures render in the
/// service's own error style as 401.
pub struct Authed<E>(pub Caller, PhantomData<E>);

impl<E: ServiceError> FromRequestParts<AppState> for Authed<E> {
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, E> {
        let unauthorized = || {
            E::from(Error::Unauthorized(
                "The request you have made requires authentication.".into(),
            ))
        };
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthorized)?;
        match app.validate_token(token).await {
            Ok(c) => Ok(Authed(c, PhantomData)),
            Err(Error::Internal(m)) => Err(E::from(Error::Internal(m))),
            Err(_) => Err(unauthorized()),
        }
    }
}

/// Parses a JSON request body; malformed JSON is a 400 in the service's style, and so is a
/// NUL character (`\u0000`) in any string or key: no OpenStack field takes one, and C
/// programs on the hosts (QEMU, dnsmasq, nft) would cut the text there. serde_json bounds
/// nesting at 128 levels ("recursion limit exceeded" is a 400 too).
pub fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, Error> {
    let malformed = |e: serde_json::Error| Error::bad_request(format!("Malformed request body: {e}"));
    // A NUL can only be written `\u0000` in JSON (raw control characters are refused by the
    // parser), so bodies without that text skip the walk.
    if body.windows(6).any(|w| w == b"\\u0000") {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
        if let Some(path) = nul_path(&v, String::new()) {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute {path}. NUL characters (\\u0000) are not allowed."
            )));
        }
        return serde_json::from_value(v).map_err(malformed);
    }
    serde_json::from_slice(body).map_err(malformed)
}

/// The dotted path of the first string or key holding a NUL, if any.
fn nul_path(v: &serde_json::Value, at: String) -> Option<String> {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        serde_json::Value::String(s) => s
            .contains('\0')
            .then_some(if at.is_empty() { "body".into() } else { at }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, join(&i.to_string()))),
        serde_json::Value::Object(m) => m.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some(join(&k.escape_debug().to_string()))
            } else {
                nul_path(x, join(k))
            }
        }),
        _ => None,
    }
}

/// The object under `key` in a request body like `{"project": {...}}`.
pub fn wrapped(body: &Bytes, key: &str) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let v: serde_json::Value = parse_json(body)?;
    match v {
        serde_json::Value::Object(mut m) => match m.remove(key) {
            Some(serde_json::Value::Object(inner)) => Ok(inner),
            Some(other) => Err(Error::bad_request(format!(
                "Invalid input for field '{key}': {other} is not of type 'object'"
            ))),
            None => Err(Error::bad_request(format!(
                "Invalid input for field '{key}': '{key}' is a required property"
            ))),
        },
        _ => Err(Error::bad_request("Malformed request body: expected a JSON object")),
    }
}

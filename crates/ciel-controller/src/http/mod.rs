//! HTTP entry points: one module per OpenStack service. Handlers parse the request,
//! authenticate, call one `App` function and render the OpenStack shape; nothing more.

pub mod agent;
pub mod body_rules;
pub mod ciel;
pub mod compute;
pub mod dashboard;
pub mod health;
pub mod identity;
pub mod image;
pub mod loadbalancer;
pub mod network;
pub mod observe;
pub mod retry;
pub mod routes;
pub mod volume;

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::error::Error;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::Router;
use routes::Routes;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

pub type AppState = Arc<App>;

/// The whole HTTP surface of the controller.
pub fn router(app: AppState) -> Router {
    let (router, _) = routes(app.clone()).into_parts();
    router
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "Not Found") })
        .layer(axum::middleware::from_fn(retry::retry_lost_races))
        .layer(axum::middleware::from_fn(observe::observe))
        // Route guards (`routes::enforce`) authenticate with it.
        .layer(axum::Extension(app.clone()))
        .with_state(app)
}

/// Every (method, path template, policy action) the controller serves: what the every-route
/// test walks.
pub fn route_table(app: AppState) -> Vec<routes::RouteInfo> {
    routes(app).into_parts().1
}

fn routes(app: AppState) -> Routes<routes::PlainError> {
    use routes::get;
    let (network, network_table) = network::router().into_parts();
    Routes::new()
        .route("/", get("dashboard:index", dashboard::index))
        .route("/healthz", get("health:check", health::healthz))
        .route("/readyz", get("health:ready", health::readyz))
        .route("/metrics", get("metrics:scrape", health::metrics))
        .route("/{file}", get("dashboard:file", dashboard::top_file))
        .route("/assets/{*path}", get("dashboard:asset", dashboard::asset))
        .route("/identity/", get("identity:versions", identity::versions))
        .nest(
            "/identity",
            identity::router().map(|r| r.layer(axum::middleware::from_fn(body_rules::keystone))),
        )
        .route("/image/", get("image:versions", image::versions))
        .nest(
            "/image",
            image::router().map(|r| r.layer(axum::middleware::from_fn(body_rules::glance))),
        )
        .nest("/agent", agent::router())
        .nest("/ciel", ciel::router())
        .route("/compute/", get("compute:versions", compute::versions))
        .nest(
            "/compute",
            compute::router().map(|r| r.layer(axum::middleware::from_fn(body_rules::nova))),
        )
        // Neutron takes a `.json` format suffix on every path, so it comes off before routing.
        .record("/network", network_table)
        .map(|r| {
            r.nest_service(
                "/network",
                tower::Layer::layer(
                    &axum::middleware::map_request(network::without_json_suffix),
                    network
                        .layer(axum::middleware::from_fn(body_rules::neutron))
                        .with_state(app),
                ),
            )
        })
        .route("/load-balancer", get("load-balancer:versions", loadbalancer::versions))
        .route("/load-balancer/", get("load-balancer:versions", loadbalancer::versions))
        .nest(
            "/load-balancer",
            loadbalancer::router().map(|r| r.layer(axum::middleware::from_fn(body_rules::octavia))),
        )
        .route("/volume/", get("volume:versions", volume::versions))
        .nest(
            "/volume",
            volume::router().map(|r| r.layer(axum::middleware::from_fn(body_rules::cinder))),
        )
}

/// How a service renders the common `Error` (each OpenStack service has its own body).
pub trait ServiceError: From<Error> + IntoResponse + Send {}

/// The authenticated caller of a request, from `X-Auth-Token`; failures render in the
/// service's own error style as 401.
pub struct Authed<E>(pub Caller, PhantomData<E>);

impl<E: ServiceError> FromRequestParts<AppState> for Authed<E> {
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, E> {
        // The route's guard has authenticated the caller and checked its roles already.
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(Authed(c.clone(), PhantomData));
        }
        routes::authenticate(app, &parts.headers)
            .await
            .map(|c| Authed(c, PhantomData))
            .map_err(E::from)
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

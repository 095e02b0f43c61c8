//! Keystone v3 at `/identity`.

mod auth;
mod catalog;
mod creds;
pub mod error;
mod render;
mod resources;
mod roles;

use crate::http::routes::{get, post, Routes};
use crate::http::{AppState, Authed};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use error::KsError;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The authenticated caller, with failures rendered as Keystone errors.
pub type KeystoneCaller = Authed<KsError>;
pub type Query = axum::extract::Query<HashMap<String, String>>;

pub fn router() -> Routes<KsError> {
    let v3 = Routes::<KsError>::new()
        .route(
            "/auth/tokens",
            post("identity:issue_token", auth::issue)
                .get("identity:validate_token", auth::validate)
                .head("identity:check_token", auth::check)
                .delete("identity:revoke_token", auth::revoke),
        )
        .route("/auth/catalog", get("identity:get_auth_catalog", auth::catalog))
        .route("/auth/projects", get("identity:get_auth_projects", auth::projects))
        .route("/auth/domains", get("identity:get_auth_domains", auth::domains))
        .route("/auth/system", get("identity:get_auth_system", auth::system))
        .merge(resources::routes())
        .merge(roles::routes())
        .merge(catalog::routes())
        .merge(creds::routes());
    Routes::new()
        .route("/", get("identity:versions", versions))
        .route("/v3", get("identity:version", version))
        .route("/v3/", get("identity:version", version))
        .nest("/v3", v3)
}

fn version_doc(public_url: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{public_url}/identity/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

pub async fn versions(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    let body = json!({"versions": {"values": [version_doc(&app.cfg.public_url)]}});
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

async fn version(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    Json(json!({"version": version_doc(&app.cfg.public_url)})).into_response()
}

/// Base URL of links in responses.
pub fn base(app: &AppState) -> String {
    format!("{}/identity/v3", app.cfg.public_url)
}

pub fn ok(v: Value) -> Response {
    (StatusCode::OK, Json(v)).into_response()
}

pub fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A Keystone collection: `{"<key>": [...], "links": {...}}`, filtered by the query
/// attributes Keystone accepts for that collection.
pub fn list(
    app: &AppState,
    key: &str,
    path: &str,
    items: Vec<Value>,
    q: &HashMap<String, String>,
    filters: &[&str],
) -> Response {
    let items: Vec<Value> = items.into_iter().filter(|it| matches_filters(it, q, filters)).collect();
    ok(json!({ key: items, "links": {"self": format!("{}/{path}", base(app)), "previous": null, "next": null} }))
}

pub(crate) fn truthy(s: &str) -> bool {
    !matches!(s.to_ascii_lowercase().as_str(), "0" | "false" | "no" | "off")
}

fn matches_filters(item: &Value, q: &HashMap<String, String>, filters: &[&str]) -> bool {
    filters.iter().all(|f| match q.get(*f) {
        None => true,
        Some(want) => match item.get(*f) {
            Some(Value::Bool(b)) => *b == truthy(want),
            Some(Value::String(s)) => s == want,
            Some(Value::Null) | None => want.is_empty() || want == "null" || want == "None",
            Some(other) => *other.to_string() == **want,
        },
    })
}

/// The typed body of a Keystone write: the object under `key` (`{"user": {...}}`), checked by
/// its params type (`crate::app::identity::params`).
pub(crate) fn params<T>(body: &axum::body::Bytes, key: &str) -> Result<T, crate::error::Error>
where
    T: TryFrom<crate::app::json_input::Body, Error = crate::error::Error>,
{
    T::try_from(crate::http::wrapped(body, key)?)
}

//! Nova v2.1 at `/compute`: version discovery, microversion negotiation and the compute
//! resources served so far (flavors, key pairs, servers). Not in the catalog until servers boot.

mod consoles;
mod error;
mod flavors;
mod hosts;
mod interfaces;
mod keypairs;
pub mod microversion;
mod quotas;
mod servers;

use crate::http::{AppState, Authed};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use error::NovaError;
use microversion::{MAX, MIN};
use serde_json::{json, Value};

type Nv = Authed<NovaError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(versions))
        .route("/v2.1", get(version))
        .route("/v2.1/", get(version))
        .route("/v2.1/flavors", get(flavors::list).post(flavors::create))
        .route("/v2.1/flavors/detail", get(flavors::detail))
        .route(
            "/v2.1/flavors/{id}",
            get(flavors::show).put(flavors::update).delete(flavors::delete),
        )
        .route(
            "/v2.1/flavors/{id}/os-extra_specs",
            get(flavors::extra_specs).post(flavors::set_extra_specs),
        )
        .route(
            "/v2.1/flavors/{id}/os-extra_specs/{key}",
            get(flavors::extra_spec)
                .put(flavors::put_extra_spec)
                .delete(flavors::delete_extra_spec),
        )
        .route("/v2.1/flavors/{id}/os-flavor-access", get(flavors::access))
        .route("/v2.1/flavors/{id}/action", post(flavors::action))
        .route("/v2.1/servers", get(servers::list).post(servers::create))
        .route("/v2.1/servers/detail", get(servers::detail))
        .route("/v2.1/servers/{id}", get(servers::show).delete(servers::delete))
        .route("/v2.1/servers/{id}/action", post(servers::action))
        .route("/v2.1/servers/{id}/ips", get(servers::ips))
        .route("/v2.1/servers/{id}/remote-consoles", post(consoles::create))
        .route("/console/vnc", get(consoles::proxy))
        .route(
            "/v2.1/servers/{id}/os-interface",
            get(interfaces::list).post(interfaces::attach),
        )
        .route(
            "/v2.1/servers/{id}/os-interface/{port}",
            get(interfaces::show).delete(interfaces::detach),
        )
        .route("/v2.1/os-hypervisors", get(hosts::hypervisors))
        .route("/v2.1/os-hypervisors/detail", get(hosts::hypervisors_detail))
        .route("/v2.1/os-hypervisors/{id}", get(hosts::hypervisor_show))
        .route("/v2.1/os-services", get(hosts::services))
        .route("/v2.1/os-availability-zone", get(hosts::availability_zones))
        .route(
            "/v2.1/os-availability-zone/detail",
            get(hosts::availability_zones_detail),
        )
        .route("/v2.1/limits", get(hosts::limits))
        .route(
            "/v2.1/os-quota-sets/{project}",
            get(quotas::show).put(quotas::update).delete(quotas::reset),
        )
        .route("/v2.1/os-quota-sets/{project}/defaults", get(quotas::defaults))
        .route("/v2.1/os-quota-sets/{project}/detail", get(quotas::detail))
        .route("/v2.1/os-keypairs", get(keypairs::list).post(keypairs::create))
        .route("/v2.1/os-keypairs/{name}", get(keypairs::show).delete(keypairs::delete))
        .layer(axum::middleware::from_fn(microversion::negotiate))
}

fn v21(app: &AppState) -> Value {
    json!({
        "id": "v2.1", "status": "CURRENT", "version": MAX.to_string(), "min_version": MIN.to_string(),
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("{}/compute/v2.1/", app.cfg.public_url)},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

pub async fn versions(State(app): State<AppState>) -> Response {
    Json(json!({"versions": [v21(&app)]})).into_response()
}

async fn version(State(app): State<AppState>) -> Response {
    Json(json!({"version": v21(&app)})).into_response()
}

/// `{public}/compute/v2.1/<path>` and the version-less bookmark, as Nova links resources.
fn links(app: &AppState, path: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{}/compute/v2.1/{path}", app.cfg.public_url)},
        {"rel": "bookmark", "href": format!("{}/compute/{path}", app.cfg.public_url)},
    ])
}

/// Nova's timestamp with a `Z` (server `created`/`updated`).
fn time_z(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Nova's naive UTC timestamp with microseconds (key pairs, services, launched_at).
fn time_micro(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000000")
        .to_string()
}

/// Query parameters as (key, value) pairs.
fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, crate::error::Error> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| crate::error::Error::bad_request(format!("Invalid query string: {e}")))
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

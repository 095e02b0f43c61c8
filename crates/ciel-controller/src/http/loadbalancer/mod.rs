//! Octavia v2 at `/load-balancer` (catalog type `load-balancer`): the version list at the
//! root, the resources under `/v2` and `/v2.0`, each both at `/lbaas/<resource>` and
//! `/<resource>` as Octavia serves them.

mod error;
mod handlers;
mod query;
mod render;

pub use error::OctaviaError;

use crate::http::routes::{get, put, Routes};
use crate::http::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use handlers as h;
use serde_json::{json, Value};

/// Octavia's API versions, oldest first, the current one last (OCCM reads the last entry,
/// tempest the CURRENT one).
const VERSIONS: &[(&str, &str)] = &[
    ("v2.0", "2016-12-11T00:00:00Z"),
    ("v2.1", "2018-04-20T00:00:00Z"),
    ("v2.2", "2018-07-31T00:00:00Z"),
    ("v2.3", "2018-12-18T00:00:00Z"),
    ("v2.4", "2018-12-19T00:00:00Z"),
    ("v2.5", "2019-01-21T00:00:00Z"),
    ("v2.6", "2019-01-25T00:00:00Z"),
    ("v2.7", "2018-01-25T12:00:00Z"),
    ("v2.8", "2019-02-12T00:00:00Z"),
    ("v2.9", "2019-03-04T00:00:00Z"),
    ("v2.10", "2019-03-05T00:00:00Z"),
    ("v2.11", "2019-06-24T00:00:00Z"),
    ("v2.12", "2019-09-11T00:00:00Z"),
    ("v2.13", "2019-09-13T00:00:00Z"),
    ("v2.14", "2019-11-10T00:00:00Z"),
    ("v2.15", "2020-03-10T00:00:00Z"),
    ("v2.16", "2020-03-15T00:00:00Z"),
    ("v2.17", "2020-04-29T00:00:00Z"),
    ("v2.18", "2020-04-29T01:00:00Z"),
    ("v2.19", "2020-05-12T00:00:00Z"),
    ("v2.20", "2020-08-02T00:00:00Z"),
    ("v2.21", "2020-09-03T00:00:00Z"),
    ("v2.22", "2020-09-04T00:00:00Z"),
    ("v2.23", "2020-09-07T00:00:00Z"),
    ("v2.24", "2020-10-15T00:00:00Z"),
    ("v2.25", "2021-10-02T00:00:00Z"),
    ("v2.26", "2022-08-29T00:00:00Z"),
    ("v2.27", "2023-05-05T00:00:00Z"),
    ("v2.28", "2023-11-08T00:00:00Z"),
    ("v2.29", "2024-10-15T00:00:00Z"),
    ("v2.30", "2025-02-26T00:00:00Z"),
];

/// The service's root URL as the client called it.
pub fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    let root = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| app.cfg.public_url.clone());
    format!("{root}/load-balancer")
}

pub async fn versions(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let href = format!("{}/v2", base_url(&app, &headers));
    let last = VERSIONS.len() - 1;
    let list: Vec<Value> = VERSIONS
        .iter()
        .enumerate()
        .map(|(i, (id, updated))| {
            json!({"id": id, "status": if i == last { "CURRENT" } else { "SUPPORTED" }, "updated": updated,
                   "links": [{"href": href, "rel": "self"}]})
        })
        .collect();
    Json(json!({ "versions": list })).into_response()
}

async fn v2() -> Response {
    Json(json!("v2")).into_response()
}

fn resources() -> Routes<OctaviaError> {
    Routes::<OctaviaError>::new()
        .route(
            "/loadbalancers",
            get("load-balancer:loadbalancer:get_all", h::list_loadbalancers)
                .post("load-balancer:loadbalancer:post", h::create_loadbalancer),
        )
        .route(
            "/loadbalancers/{id}",
            get("load-balancer:loadbalancer:get_one", h::show_loadbalancer)
                .put("load-balancer:loadbalancer:put", h::update_loadbalancer)
                .delete("load-balancer:loadbalancer:delete", h::delete_loadbalancer),
        )
        .route(
            "/loadbalancers/{id}/stats",
            get("load-balancer:loadbalancer:get_stats", h::loadbalancer_stats),
        )
        .route(
            "/loadbalancers/{id}/status",
            get("load-balancer:loadbalancer:get_status", h::loadbalancer_status),
        )
        .route(
            "/loadbalancers/{id}/statuses",
            get("load-balancer:loadbalancer:get_status", h::loadbalancer_status),
        )
        .route(
            "/loadbalancers/{id}/failover",
            put("load-balancer:loadbalancer:put_failover", h::failover_loadbalancer),
        )
        .route(
            "/listeners",
            get("load-balancer:listener:get_all", h::list_listeners)
                .post("load-balancer:listener:post", h::create_listener),
        )
        .route(
            "/listeners/{id}",
            get("load-balancer:listener:get_one", h::show_listener)
                .put("load-balancer:listener:put", h::update_listener)
                .delete("load-balancer:listener:delete", h::delete_listener),
        )
        .route(
            "/listeners/{id}/stats",
            get("load-balancer:listener:get_stats", h::listener_stats),
        )
        .route(
            "/pools",
            get("load-balancer:pool:get_all", h::list_pools).post("load-balancer:pool:post", h::create_pool),
        )
        .route(
            "/pools/{id}",
            get("load-balancer:pool:get_one", h::show_pool)
                .put("load-balancer:pool:put", h::update_pool)
                .delete("load-balancer:pool:delete", h::delete_pool),
        )
        .route(
            "/pools/{pool_id}/members",
            get("load-balancer:member:get_all", h::list_members)
                .post("load-balancer:member:post", h::create_member)
                .put("load-balancer:member:put", h::batch_members),
        )
        .route(
            "/pools/{pool_id}/members/{id}",
            get("load-balancer:member:get_one", h::show_member)
                .put("load-balancer:member:put", h::update_member)
                .delete("load-balancer:member:delete", h::delete_member),
        )
        .route(
            "/healthmonitors",
            get("load-balancer:healthmonitor:get_all", h::list_monitors)
                .post("load-balancer:healthmonitor:post", h::create_monitor),
        )
        .route(
            "/healthmonitors/{id}",
            get("load-balancer:healthmonitor:get_one", h::show_monitor)
                .put("load-balancer:healthmonitor:put", h::update_monitor)
                .delete("load-balancer:healthmonitor:delete", h::delete_monitor),
        )
        .route(
            "/l7policies",
            get("load-balancer:l7policy:get_all", h::list_l7policies)
                .post("load-balancer:l7policy:post", h::create_l7policy),
        )
        .route(
            "/l7policies/{id}",
            get("load-balancer:l7policy:get_one", h::show_l7policy)
                .put("load-balancer:l7policy:put", h::update_l7policy)
                .delete("load-balancer:l7policy:delete", h::delete_l7policy),
        )
        .route(
            "/l7policies/{l7policy_id}/rules",
            get("load-balancer:l7rule:get_all", h::list_l7rules).post("load-balancer:l7rule:post", h::create_l7rule),
        )
        .route(
            "/l7policies/{l7policy_id}/rules/{id}",
            get("load-balancer:l7rule:get_one", h::show_l7rule)
                .put("load-balancer:l7rule:put", h::update_l7rule)
                .delete("load-balancer:l7rule:delete", h::delete_l7rule),
        )
        .route("/quotas", get("load-balancer:quota:get_all", h::list_quotas))
        .route(
            "/quotas/defaults",
            get("load-balancer:quota:get_defaults", h::quota_defaults),
        )
        .route(
            "/quotas/{project_id}",
            get("load-balancer:quota:get_one", h::show_quota)
                .put("load-balancer:quota:put", h::set_quota)
                .delete("load-balancer:quota:delete", h::reset_quota),
        )
        .route(
            "/quotas/{project_id}/default",
            get("load-balancer:quota:get_defaults", h::quota_defaults),
        )
        .route("/providers", get("load-balancer:provider:get_all", h::providers))
        .route(
            "/providers/{provider}/flavor_capabilities",
            get("load-balancer:provider-flavor:get_all", h::flavor_capabilities),
        )
        .route(
            "/providers/{provider}/availability_zone_capabilities",
            get("load-balancer:provider-availability-zone:get_all", h::zone_capabilities),
        )
        .route(
            "/flavors",
            get("load-balancer:flavor:get_all", h::flavors).post("load-balancer:flavor:post", h::create_flavor),
        )
        .route(
            "/flavors/{id}",
            get("load-balancer:flavor:get_one", h::show_flavor)
                .put("load-balancer:flavor:put", h::update_flavor)
                .delete("load-balancer:flavor:delete", h::delete_flavor),
        )
        .route(
            "/flavorprofiles",
            get("load-balancer:flavor-profile:get_all", h::flavor_profiles)
                .post("load-balancer:flavor-profile:post", h::create_flavor_profile),
        )
        .route(
            "/flavorprofiles/{id}",
            get("load-balancer:flavor-profile:get_one", h::show_flavor_profile)
                .put("load-balancer:flavor-profile:put", h::update_flavor_profile)
                .delete("load-balancer:flavor-profile:delete", h::delete_flavor_profile),
        )
        .route(
            "/availabilityzones",
            get("load-balancer:availability-zone:get_all", h::zones)
                .post("load-balancer:availability-zone:post", h::create_zone),
        )
        .route(
            "/availabilityzones/{name}",
            get("load-balancer:availability-zone:get_one", h::show_zone)
                .put("load-balancer:availability-zone:put", h::update_zone)
                .delete("load-balancer:availability-zone:delete", h::delete_zone),
        )
        .route(
            "/availabilityzoneprofiles",
            get("load-balancer:availability-zone-profile:get_all", h::zone_profiles)
                .post("load-balancer:availability-zone-profile:post", h::create_zone_profile),
        )
        .route(
            "/availabilityzoneprofiles/{id}",
            get("load-balancer:availability-zone-profile:get_one", h::show_zone_profile)
                .put("load-balancer:availability-zone-profile:put", h::update_zone_profile)
                .delete("load-balancer:availability-zone-profile:delete", h::delete_zone_profile),
        )
}

pub fn router() -> Routes<OctaviaError> {
    let api = Routes::<OctaviaError>::new()
        .merge(resources())
        .nest("/lbaas", resources())
        .route("/octavia/amphorae", get("load-balancer:amphora:get_all", h::amphorae));
    Routes::new()
        .route("/v2", get("load-balancer:version", v2))
        .route("/v2.0", get("load-balancer:version", v2))
        .nest("/v2", api.clone())
        .nest("/v2.0", api)
}

//! Nova v2.1 at `/compute` (catalog type `compute`, `/compute/v2.1`): version discovery,
//! microversion negotiation and the compute resources.

mod aggregates;
mod audit_log;
mod consoles;
pub(crate) mod error;
mod flavors;
mod floating_ips;
mod hosts;
mod images;
mod interfaces;
mod keypairs;
pub mod microversion;
mod networks;
mod os_hosts;
mod quotas;
mod request_id;
mod security_groups;
mod server_actions;
mod server_groups;
mod server_meta;
mod servers;
mod usage;
mod volume_attachments;
mod volumes;

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
        .route("/v2", get(version_v20))
        .route("/v2/", get(version_v20))
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
        .route(
            "/v2.1/servers/{id}",
            get(servers::show).put(servers::update).delete(servers::delete),
        )
        .route("/v2.1/servers/{id}/action", post(server_actions::action))
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
        .route("/v2.1/servers/{id}/ips/{network}", get(servers::ips_by_network))
        .route("/v2.1/os-volumes", get(volumes::list).post(volumes::create))
        .route("/v2.1/os-volumes/detail", get(volumes::list))
        .route("/v2.1/os-volumes/{id}", get(volumes::show).delete(volumes::delete))
        .route(
            "/v2.1/os-snapshots",
            get(volumes::list_snapshots).post(volumes::create_snapshot),
        )
        .route("/v2.1/os-snapshots/detail", get(volumes::list_snapshots))
        .route(
            "/v2.1/os-snapshots/{id}",
            get(volumes::show_snapshot).delete(volumes::delete_snapshot),
        )
        .route(
            "/v2.1/servers/{id}/os-volume_attachments",
            get(volume_attachments::list).post(volume_attachments::attach),
        )
        .route(
            "/v2.1/servers/{id}/os-volume_attachments/{volume}",
            get(volume_attachments::show).delete(volume_attachments::detach),
        )
        .route(
            "/v2.1/servers/{id}/metadata",
            get(server_meta::list)
                .post(server_meta::merge)
                .put(server_meta::replace),
        )
        .route(
            "/v2.1/servers/{id}/metadata/{key}",
            get(server_meta::show_item)
                .put(server_meta::set_item)
                .delete(server_meta::delete_item),
        )
        .route(
            "/v2.1/servers/{id}/tags",
            get(server_meta::tags)
                .put(server_meta::replace_tags)
                .delete(server_meta::delete_tags),
        )
        .route(
            "/v2.1/servers/{id}/tags/{tag}",
            get(server_meta::check_tag)
                .put(server_meta::add_tag)
                .delete(server_meta::delete_tag),
        )
        .route(
            "/v2.1/servers/{id}/os-server-password",
            get(server_meta::password).delete(server_meta::clear_password),
        )
        .route(
            "/v2.1/servers/{id}/os-instance-actions",
            get(server_actions::list_actions),
        )
        .route(
            "/v2.1/servers/{id}/os-instance-actions/{request_id}",
            get(server_actions::show_action),
        )
        .route("/v2.1/servers/{id}/os-security-groups", get(security_groups::of_server))
        .route(
            "/v2.1/os-security-groups",
            get(security_groups::list).post(security_groups::create),
        )
        .route(
            "/v2.1/os-security-groups/{id}",
            get(security_groups::show)
                .put(security_groups::update)
                .delete(security_groups::delete),
        )
        .route("/v2.1/os-security-group-rules", post(security_groups::create_rule))
        .route(
            "/v2.1/os-security-group-rules/{id}",
            axum::routing::delete(security_groups::delete_rule),
        )
        .route("/v2.1/images", get(images::list))
        .route("/v2.1/images/detail", get(images::detail))
        .route("/v2.1/images/{id}", get(images::show).delete(images::delete))
        .route(
            "/v2.1/images/{id}/metadata",
            get(images::metadata)
                .post(images::merge_metadata)
                .put(images::replace_metadata),
        )
        .route(
            "/v2.1/images/{id}/metadata/{key}",
            get(images::metadata_item)
                .put(images::set_metadata_item)
                .delete(images::delete_metadata_item),
        )
        .route("/v2.1/os-hypervisors", get(hosts::hypervisors))
        .route("/v2.1/os-hypervisors/detail", get(hosts::hypervisors_detail))
        .route("/v2.1/os-hypervisors/{id}", get(hosts::hypervisor_show))
        .route("/v2.1/os-hypervisors/statistics", get(hosts::hypervisor_statistics))
        .route("/v2.1/os-hypervisors/{id}/{what}", get(hosts::hypervisor_search))
        .route("/v2.1/os-services", get(hosts::services))
        .route("/v2.1/os-aggregates", get(aggregates::list).post(aggregates::create))
        .route(
            "/v2.1/os-aggregates/{id}",
            get(aggregates::show).put(aggregates::update).delete(aggregates::delete),
        )
        .route("/v2.1/os-aggregates/{id}/action", post(aggregates::action))
        .route("/v2.1/os-instance_usage_audit_log", get(audit_log::list))
        .route("/v2.1/os-instance_usage_audit_log/{before}", get(audit_log::show))
        .route("/v2.1/os-hosts", get(os_hosts::list))
        .route("/v2.1/os-hosts/{name}", get(os_hosts::show).put(os_hosts::update))
        .route("/v2.1/os-hosts/{name}/{action}", get(os_hosts::power))
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
        .route(
            "/v2.1/os-quota-class-sets/{class}",
            get(quotas::show_class).put(quotas::update_class),
        )
        .route("/v2.1/os-quota-sets/{project}/detail", get(quotas::detail))
        .route("/v2.1/os-simple-tenant-usage", get(usage::list))
        .route("/v2.1/os-simple-tenant-usage/{project}", get(usage::show))
        .route("/v2.1/os-tenant-networks", get(networks::list))
        .route("/v2.1/os-tenant-networks/{id}", get(networks::show))
        .route("/v2.1/os-networks", get(networks::list))
        .route("/v2.1/os-networks/{id}", get(networks::show))
        .route(
            "/v2.1/os-floating-ips",
            get(floating_ips::list).post(floating_ips::create),
        )
        .route(
            "/v2.1/os-floating-ips/{id}",
            get(floating_ips::show).delete(floating_ips::delete),
        )
        .route(
            "/v2.1/os-server-groups",
            get(server_groups::list).post(server_groups::create),
        )
        .route(
            "/v2.1/os-server-groups/{id}",
            get(server_groups::show).delete(server_groups::delete),
        )
        .route("/v2.1/os-keypairs", get(keypairs::list).post(keypairs::create))
        .route("/v2.1/os-keypairs/{name}", get(keypairs::show).delete(keypairs::delete))
        .layer(axum::middleware::from_fn(microversion::negotiate))
        .layer(axum::middleware::from_fn(request_id::stamp))
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

/// The legacy v2.0 entry Nova still lists first (clients, Tempest among them, expect it).
fn v20(app: &AppState) -> Value {
    json!({
        "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{}/compute/v2/", app.cfg.public_url)}],
    })
}

pub async fn versions(State(app): State<AppState>) -> Response {
    Json(json!({"versions": [v20(&app), v21(&app)]})).into_response()
}

/// Only the version document: Ciel serves the API at v2.1 (v2.0 clients work with it).
async fn version_v20(State(app): State<AppState>) -> Response {
    let mut v = v20(&app);
    v["media-types"] =
        json!([{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}]);
    Json(json!({ "version": v })).into_response()
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

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
mod migrations;
mod networks;
mod os_hosts;
mod quotas;
pub(crate) mod request_id;
mod security_groups;
mod server_actions;
mod server_groups;
mod server_meta;
mod servers;
mod usage;
mod volume_attachments;
mod volumes;

use crate::http::routes::{delete, get, post, put, Routes};
use crate::http::{AppState, Authed};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use error::NovaError;
use microversion::{MAX, MIN};
use serde_json::{json, Value};

/// The authenticated caller, with failures rendered as Nova faults.
type NovaCaller = Authed<NovaError>;

pub fn router() -> Routes<NovaError> {
    Routes::new()
        .route("/", get("compute:versions", versions))
        .route("/v2", get("compute:version_v20", version_v20))
        .route("/v2/", get("compute:version_v20", version_v20))
        .route("/v2.1", get("compute:version", version))
        .route("/v2.1/", get("compute:version", version))
        .route(
            "/v2.1/flavors",
            get("compute:flavors:list", flavors::list).post("compute:flavors:create", flavors::create),
        )
        .route("/v2.1/flavors/detail", get("compute:flavors:detail", flavors::detail))
        .route(
            "/v2.1/flavors/{id}",
            get("compute:flavors:show", flavors::show)
                .put("compute:flavors:update", flavors::update)
                .delete("compute:flavors:delete", flavors::delete),
        )
        .route(
            "/v2.1/flavors/{id}/os-extra_specs",
            get("compute:flavors:extra_specs", flavors::extra_specs)
                .post("compute:flavors:set_extra_specs", flavors::set_extra_specs),
        )
        .route(
            "/v2.1/flavors/{id}/os-extra_specs/{key}",
            get("compute:flavors:extra_spec", flavors::extra_spec)
                .put("compute:flavors:put_extra_spec", flavors::put_extra_spec)
                .delete("compute:flavors:delete_extra_spec", flavors::delete_extra_spec),
        )
        .route(
            "/v2.1/flavors/{id}/os-flavor-access",
            get("compute:flavors:access", flavors::access),
        )
        .route(
            "/v2.1/flavors/{id}/action",
            post("compute:flavors:action", flavors::action),
        )
        .route(
            "/v2.1/servers",
            get("compute:servers:list", servers::list).post("compute:servers:create", servers::create),
        )
        .route("/v2.1/servers/detail", get("compute:servers:detail", servers::detail))
        .route(
            "/v2.1/servers/{id}",
            get("compute:servers:show", servers::show)
                .put("compute:servers:update", servers::update)
                .delete("compute:servers:delete", servers::delete),
        )
        .route(
            "/v2.1/servers/{id}/action",
            post("compute:server_actions:action", server_actions::action),
        )
        .route("/v2.1/servers/{id}/ips", get("compute:servers:ips", servers::ips))
        .route(
            "/v2.1/servers/{id}/remote-consoles",
            post("compute:consoles:create", consoles::create),
        )
        .route("/console/vnc", get("compute:consoles:proxy", consoles::proxy))
        .route(
            "/v2.1/servers/{id}/os-interface",
            get("compute:interfaces:list", interfaces::list).post("compute:interfaces:attach", interfaces::attach),
        )
        .route(
            "/v2.1/servers/{id}/os-interface/{port}",
            get("compute:interfaces:show", interfaces::show).delete("compute:interfaces:detach", interfaces::detach),
        )
        .route(
            "/v2.1/servers/{id}/ips/{network}",
            get("compute:servers:ips_by_network", servers::ips_by_network),
        )
        .route(
            "/v2.1/os-volumes",
            get("compute:volumes:list", volumes::list).post("compute:volumes:create", volumes::create),
        )
        .route("/v2.1/os-volumes/detail", get("compute:volumes:list", volumes::list))
        .route(
            "/v2.1/os-volumes/{id}",
            get("compute:volumes:show", volumes::show).delete("compute:volumes:delete", volumes::delete),
        )
        .route(
            "/v2.1/os-snapshots",
            get("compute:volumes:list_snapshots", volumes::list_snapshots)
                .post("compute:volumes:create_snapshot", volumes::create_snapshot),
        )
        .route(
            "/v2.1/os-snapshots/detail",
            get("compute:volumes:list_snapshots", volumes::list_snapshots),
        )
        .route(
            "/v2.1/os-snapshots/{id}",
            get("compute:volumes:show_snapshot", volumes::show_snapshot)
                .delete("compute:volumes:delete_snapshot", volumes::delete_snapshot),
        )
        .route(
            "/v2.1/servers/{id}/os-volume_attachments",
            get("compute:volume_attachments:list", volume_attachments::list)
                .post("compute:volume_attachments:attach", volume_attachments::attach),
        )
        .route(
            "/v2.1/servers/{id}/os-volume_attachments/{volume}",
            get("compute:volume_attachments:show", volume_attachments::show)
                .delete("compute:volume_attachments:detach", volume_attachments::detach),
        )
        .route(
            "/v2.1/servers/{id}/metadata",
            get("compute:server_meta:list", server_meta::list)
                .post("compute:server_meta:merge", server_meta::merge)
                .put("compute:server_meta:replace", server_meta::replace),
        )
        .route(
            "/v2.1/servers/{id}/metadata/{key}",
            get("compute:server_meta:show_item", server_meta::show_item)
                .put("compute:server_meta:set_item", server_meta::set_item)
                .delete("compute:server_meta:delete_item", server_meta::delete_item),
        )
        .route(
            "/v2.1/servers/{id}/tags",
            get("compute:server_meta:tags", server_meta::tags)
                .put("compute:server_meta:replace_tags", server_meta::replace_tags)
                .delete("compute:server_meta:delete_tags", server_meta::delete_tags),
        )
        .route(
            "/v2.1/servers/{id}/tags/{tag}",
            get("compute:server_meta:check_tag", server_meta::check_tag)
                .put("compute:server_meta:add_tag", server_meta::add_tag)
                .delete("compute:server_meta:delete_tag", server_meta::delete_tag),
        )
        .route(
            "/v2.1/servers/{id}/os-server-password",
            get("compute:server_meta:password", server_meta::password)
                .delete("compute:server_meta:clear_password", server_meta::clear_password),
        )
        .route(
            "/v2.1/servers/{id}/os-instance-actions",
            get("compute:server_actions:list_actions", server_actions::list_actions),
        )
        .route(
            "/v2.1/servers/{id}/os-instance-actions/{request_id}",
            get("compute:server_actions:show_action", server_actions::show_action),
        )
        .route(
            "/v2.1/servers/{id}/migrations",
            get("compute:migrations:of_server_list", migrations::of_server_list),
        )
        .route(
            "/v2.1/servers/{id}/migrations/{mid}",
            get("compute:migrations:of_server_show", migrations::of_server_show)
                .delete("compute:migrations:abort", migrations::abort),
        )
        .route(
            "/v2.1/servers/{id}/migrations/{mid}/action",
            post("compute:migrations:action", migrations::action),
        )
        .route("/v2.1/os-migrations", get("compute:migrations:list", migrations::list))
        .route(
            "/v2.1/servers/{id}/os-security-groups",
            get("compute:security_groups:of_server", security_groups::of_server),
        )
        .route(
            "/v2.1/os-security-groups",
            get("compute:security_groups:list", security_groups::list)
                .post("compute:security_groups:create", security_groups::create),
        )
        .route(
            "/v2.1/os-security-groups/{id}",
            get("compute:security_groups:show", security_groups::show)
                .put("compute:security_groups:update", security_groups::update)
                .delete("compute:security_groups:delete", security_groups::delete),
        )
        .route(
            "/v2.1/os-security-group-rules",
            post("compute:security_groups:create_rule", security_groups::create_rule),
        )
        .route(
            "/v2.1/os-security-group-rules/{id}",
            delete("compute:security_groups:delete_rule", security_groups::delete_rule),
        )
        .route("/v2.1/images", get("compute:images:list", images::list))
        .route("/v2.1/images/detail", get("compute:images:detail", images::detail))
        .route(
            "/v2.1/images/{id}",
            get("compute:images:show", images::show).delete("compute:images:delete", images::delete),
        )
        .route(
            "/v2.1/images/{id}/metadata",
            get("compute:images:metadata", images::metadata)
                .post("compute:images:merge_metadata", images::merge_metadata)
                .put("compute:images:replace_metadata", images::replace_metadata),
        )
        .route(
            "/v2.1/images/{id}/metadata/{key}",
            get("compute:images:metadata_item", images::metadata_item)
                .put("compute:images:set_metadata_item", images::set_metadata_item)
                .delete("compute:images:delete_metadata_item", images::delete_metadata_item),
        )
        .route(
            "/v2.1/os-hypervisors",
            get("compute:hosts:hypervisors", hosts::hypervisors),
        )
        .route(
            "/v2.1/os-hypervisors/detail",
            get("compute:hosts:hypervisors_detail", hosts::hypervisors_detail),
        )
        .route(
            "/v2.1/os-hypervisors/{id}",
            get("compute:hosts:hypervisor_show", hosts::hypervisor_show),
        )
        .route(
            "/v2.1/os-hypervisors/statistics",
            get("compute:hosts:hypervisor_statistics", hosts::hypervisor_statistics),
        )
        .route(
            "/v2.1/os-hypervisors/{id}/{what}",
            get("compute:hosts:hypervisor_search", hosts::hypervisor_search),
        )
        .route("/v2.1/os-services", get("compute:hosts:services", hosts::services))
        .route(
            "/v2.1/os-services/{id}",
            put("compute:hosts:update_service", hosts::update_service),
        )
        .route(
            "/v2.1/os-aggregates",
            get("compute:aggregates:list", aggregates::list).post("compute:aggregates:create", aggregates::create),
        )
        .route(
            "/v2.1/os-aggregates/{id}",
            get("compute:aggregates:show", aggregates::show)
                .put("compute:aggregates:update", aggregates::update)
                .delete("compute:aggregates:delete", aggregates::delete),
        )
        .route(
            "/v2.1/os-aggregates/{id}/action",
            post("compute:aggregates:action", aggregates::action),
        )
        .route(
            "/v2.1/os-instance_usage_audit_log",
            get("compute:audit_log:list", audit_log::list),
        )
        .route(
            "/v2.1/os-instance_usage_audit_log/{before}",
            get("compute:audit_log:show", audit_log::show),
        )
        .route("/v2.1/os-hosts", get("compute:os_hosts:list", os_hosts::list))
        .route(
            "/v2.1/os-hosts/{name}",
            get("compute:os_hosts:show", os_hosts::show).put("compute:os_hosts:update", os_hosts::update),
        )
        .route(
            "/v2.1/os-hosts/{name}/{action}",
            get("compute:os_hosts:power", os_hosts::power),
        )
        .route(
            "/v2.1/os-availability-zone",
            get("compute:hosts:availability_zones", hosts::availability_zones),
        )
        .route(
            "/v2.1/os-availability-zone/detail",
            get(
                "compute:hosts:availability_zones_detail",
                hosts::availability_zones_detail,
            ),
        )
        .route("/v2.1/limits", get("compute:hosts:limits", hosts::limits))
        .route(
            "/v2.1/os-quota-sets/{project}",
            get("compute:quotas:show", quotas::show)
                .put("compute:quotas:update", quotas::update)
                .delete("compute:quotas:reset", quotas::reset),
        )
        .route(
            "/v2.1/os-quota-sets/{project}/defaults",
            get("compute:quotas:defaults", quotas::defaults),
        )
        .route(
            "/v2.1/os-quota-class-sets/{class}",
            get("compute:quotas:show_class", quotas::show_class)
                .put("compute:quotas:update_class", quotas::update_class),
        )
        .route(
            "/v2.1/os-quota-sets/{project}/detail",
            get("compute:quotas:detail", quotas::detail),
        )
        .route("/v2.1/os-simple-tenant-usage", get("compute:usage:list", usage::list))
        .route(
            "/v2.1/os-simple-tenant-usage/{project}",
            get("compute:usage:show", usage::show),
        )
        .route("/v2.1/os-tenant-networks", get("compute:networks:list", networks::list))
        .route(
            "/v2.1/os-tenant-networks/{id}",
            get("compute:networks:show", networks::show),
        )
        .route("/v2.1/os-networks", get("compute:networks:list", networks::list))
        .route("/v2.1/os-networks/{id}", get("compute:networks:show", networks::show))
        .route(
            "/v2.1/os-floating-ips",
            get("compute:floating_ips:list", floating_ips::list)
                .post("compute:floating_ips:create", floating_ips::create),
        )
        .route(
            "/v2.1/os-floating-ips/{id}",
            get("compute:floating_ips:show", floating_ips::show)
                .delete("compute:floating_ips:delete", floating_ips::delete),
        )
        .route(
            "/v2.1/os-server-groups",
            get("compute:server_groups:list", server_groups::list)
                .post("compute:server_groups:create", server_groups::create),
        )
        .route(
            "/v2.1/os-server-groups/{id}",
            get("compute:server_groups:show", server_groups::show)
                .delete("compute:server_groups:delete", server_groups::delete),
        )
        .route(
            "/v2.1/os-keypairs",
            get("compute:keypairs:list", keypairs::list).post("compute:keypairs:create", keypairs::create),
        )
        .route(
            "/v2.1/os-keypairs/{name}",
            get("compute:keypairs:show", keypairs::show).delete("compute:keypairs:delete", keypairs::delete),
        )
        .map(|r| {
            r.layer(axum::middleware::from_fn(microversion::negotiate))
                .layer(axum::middleware::from_fn(request_id::stamp))
        })
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

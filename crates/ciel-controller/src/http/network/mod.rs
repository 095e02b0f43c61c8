//! Neutron v2.0 at `/network`: version discovery, extensions, the resources (through the
//! shared `resource` handlers) and the few calls that are not plain resources.

pub(crate) mod error;
mod query;
mod render;
mod resource;
mod resources;

use crate::app::network::params::{FromBody, RouterInterface, UpdateNetworkQuota};
use crate::error::Error;
use crate::http::routes::{get, put, Routes};
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use error::{NeutronError, NeutronResult};
use resource::routes;
use resources::{FloatingIps, Networks, Ports, Routers, Rules, SecurityGroups, SubnetPools, Subnets};
use serde_json::{json, Value};

type NeutronCaller = Authed<NeutronError>;

/// Extensions actually implemented; clients and Tempest decide what to use from this list.
const EXTENSIONS: &[(&str, &str, &str)] = &[
    (
        "project-id",
        "project_id field enabled",
        "Extension that indicates that project_id field is enabled.",
    ),
    (
        "net-mtu",
        "Network MTU",
        "Provides MTU attribute for a network resource.",
    ),
    (
        "external-net",
        "Neutron external network",
        "Adds external network attribute to network resource.",
    ),
    (
        "provider",
        "Provider Network",
        "Expose mapping of virtual networks to physical networks",
    ),
    ("port-security", "Port Security", "Provides port security"),
    ("security-group", "security-group", "The security groups extension."),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    (
        "stateful-security-group",
        "Stateful security group",
        "Indicates if the security group is stateful or not",
    ),
    (
        "allowed-address-pairs",
        "Allowed Address Pairs",
        "Provides allowed address pairs",
    ),
    (
        "binding",
        "Port Binding",
        "Expose port bindings of a virtual port to external application",
    ),
    (
        "standard-attr-description",
        "standard-attr-description",
        "Extension to add descriptions to standard attributes",
    ),
    (
        "standard-attr-timestamp",
        "Resource timestamps",
        "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.",
    ),
    (
        "standard-attr-revisions",
        "Resource revision numbers",
        "This extension will display the revision number of neutron resources.",
    ),
    (
        "standard-attr-tag",
        "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip",
        "Enables to set tag on resources with standard attribute.",
    ),
    ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    ("default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."),
    ("subnet-external-network", "Subnet External Network", "Informs if the subnet is external or not"),
    ("availability_zone", "Availability Zone", "The availability zone extension."),
    ("network_availability_zone", "Network Availability Zone", "Availability zone support for network."),
    ("router_availability_zone", "Router Availability Zone", "Availability zone support for router."),
    ("ip-substring-filtering", "IP address substring filtering", "Provides IP address substring filtering when listing ports"),
    ("quota-check-limit", "Quota engine limit check", "Support for checking the resource usage before applying a new quota limit"),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
];

pub fn router() -> Routes<NeutronError> {
    let r = Routes::new()
        .route("/", get("network:versions", versions))
        .route("/v2.0", get("network:version", version))
        .route("/v2.0/", get("network:version", version))
        .route("/v2.0/extensions", get("network:extensions:list", extensions))
        .route("/v2.0/extensions/{alias}", get("network:extensions:show", extension))
        .route(
            "/v2.0/routers/{id}/add_router_interface",
            put("network:routers:add_router_interface", add_interface),
        )
        .route(
            "/v2.0/routers/{id}/remove_router_interface",
            put("network:routers:remove_router_interface", remove_interface),
        )
        .route("/v2.0/quotas", get("network:quotas:list", list_quotas))
        .route(
            "/v2.0/quotas/{project}",
            get("network:quotas:show", show_quota)
                .put("network:quotas:update", update_quota)
                .delete("network:quotas:delete", reset_quota),
        )
        .route(
            "/v2.0/quotas/{project}/default",
            get("network:quotas:default", default_quota),
        )
        .route(
            "/v2.0/quotas/{project}/details",
            get("network:quotas:details", quota_details),
        )
        .route(
            "/v2.0/availability_zones",
            get("network:availability_zones:list", availability_zones),
        )
        .route("/v2.0/agents", get("network:agents:list", agents))
        // Nested as a service, so unknown paths answer here as they do elsewhere.
        .map(|r| r.fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") }));
    let r = routes::<Networks>(r);
    let r = routes::<Subnets>(r);
    let r = routes::<Ports>(r);
    let r = routes::<SecurityGroups>(r);
    let r = routes::<Rules>(r);
    let r = routes::<Routers>(r);
    let r = routes::<FloatingIps>(r);
    routes::<SubnetPools>(r)
}

/// Neutron's API accepts a `.json` format suffix on any path (`/v2.0/networks.json`,
/// `/v2.0/quotas/{project}/details.json`, ...), as the python clients once sent; it is removed
/// before routing so every route serves both spellings.
pub async fn without_json_suffix(mut req: axum::extract::Request) -> axum::extract::Request {
    let uri = req.uri();
    if let Some(path) = uri.path().strip_suffix(".json").filter(|p| !p.is_empty()) {
        let rewritten = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = rewritten.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(u) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
    req
}

/// One availability zone, `nova`, as in a default Neutron: every network and router is in it.
async fn availability_zones(Authed(..): NeutronCaller) -> Response {
    let zone = |resource: &str| json!({"name": "nova", "resource": resource, "state": "available"});
    Json(json!({"availability_zones": [zone("network"), zone("router")]})).into_response()
}

/// Neutron agents: Ciel has none of Neutron's (its hypervisor agents program the data plane
/// and are listed by the compute API), so the list is empty, and never shown to non-admins.
async fn agents(Authed(..): NeutronCaller) -> Response {
    Json(json!({"agents": []})).into_response()
}

fn version_doc(app: &AppState) -> Value {
    json!({"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": format!("{}/network/v2.0/", app.cfg.public_url)}]})
}

pub async fn versions(State(app): State<AppState>) -> Response {
    Json(json!({"versions": [version_doc(&app)]})).into_response()
}

async fn version(State(app): State<AppState>) -> Response {
    let base = format!("{}/network/v2.0", app.cfg.public_url);
    let res = |name: &str, coll: &str| json!({"name": name, "collection": coll, "links": [{"rel": "self", "href": format!("{base}/{coll}")}]});
    let list = [
        ("network", "networks"),
        ("subnet", "subnets"),
        ("port", "ports"),
        ("subnetpool", "subnetpools"),
        ("router", "routers"),
        ("floatingip", "floatingips"),
        ("security_group", "security-groups"),
        ("security_group_rule", "security-group-rules"),
    ];
    Json(json!({"resources": list.iter().map(|(n, c)| res(n, c)).collect::<Vec<_>>()})).into_response()
}

fn ext_json((alias, name, desc): (&str, &str, &str)) -> Value {
    json!({"alias": alias, "name": name, "description": desc, "updated": "2024-01-01T00:00:00-00:00", "links": []})
}

async fn extensions(Authed(..): NeutronCaller) -> Response {
    Json(json!({"extensions": EXTENSIONS.iter().map(|e| ext_json(*e)).collect::<Vec<_>>()})).into_response()
}

async fn extension(Authed(..): NeutronCaller, Path(alias): Path<String>) -> NeutronResult {
    let e = EXTENSIONS
        .iter()
        .find(|e| e.0 == alias)
        .ok_or_else(|| Error::NotFound {
            kind: "extension",
            id: alias.clone(),
        })?;
    Ok(Json(json!({"extension": ext_json(*e)})).into_response())
}

fn body_object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Error> {
    match crate::http::parse_json::<Value>(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(Error::bad_request("Request body must be a JSON object.")),
    }
}

async fn add_interface(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let i = app
        .add_router_interface(&c, &id, RouterInterface::from_body(body_object(&body)?)?)
        .await?;
    Ok(Json(render::interface(&i)).into_response())
}

async fn remove_interface(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let i = app
        .remove_router_interface(&c, &id, RouterInterface::from_body(body_object(&body)?)?)
        .await?;
    Ok(Json(render::interface(&i)).into_response())
}

fn quota_json(project: &str, q: &std::collections::BTreeMap<String, i64>) -> Value {
    let mut v = json!(q);
    v["project_id"] = json!(project);
    v["tenant_id"] = json!(project);
    v
}

async fn list_quotas(State(app): State<AppState>, Authed(c, ..): NeutronCaller) -> NeutronResult {
    let all = app.list_network_quotas(&c).await?;
    Ok(Json(json!({"quotas": all.iter().map(|(p, q)| quota_json(p, q)).collect::<Vec<_>>()})).into_response())
}

async fn show_quota(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(project): Path<String>,
) -> NeutronResult {
    let q = app.network_quota(&c, &project).await?;
    Ok(Json(json!({"quota": q})).into_response())
}

async fn default_quota(Authed(..): NeutronCaller, Path(project): Path<String>) -> NeutronResult {
    use crate::app::network::quotas::{default_limit, RESOURCES};
    let q: std::collections::BTreeMap<String, i64> =
        RESOURCES.iter().map(|r| (r.to_string(), default_limit(r))).collect();
    Ok(Json(json!({"quota": quota_json(&project, &q)})).into_response())
}

async fn quota_details(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(project): Path<String>,
) -> NeutronResult {
    let d = app.network_quota_details(&c, &project).await?;
    let body: serde_json::Map<String, Value> = d
        .into_iter()
        .map(|(r, (limit, used))| (r, json!({"limit": limit, "used": used, "reserved": 0})))
        .collect();
    Ok(Json(json!({"quota": body})).into_response())
}

async fn update_quota(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(project): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let req = UpdateNetworkQuota::from_body(wrapped(&body, "quota")?)?;
    let q = app.set_network_quota(&c, &project, req).await?;
    Ok(Json(json!({"quota": q})).into_response())
}

async fn reset_quota(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(project): Path<String>,
) -> NeutronResult {
    app.reset_network_quota(&c, &project).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

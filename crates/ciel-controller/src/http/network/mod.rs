//! Neutron v2.0 at `/network`. Not yet in the catalog: it joins it when routers, security
//! groups, floating IPs and quotas are served too (issue 4).

mod error;
mod query;
mod render;

use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::{NeutronError, NeutronResult};
use query::ListQuery;
use serde_json::{json, Value};

type Nt = Authed<NeutronError>;

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
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(versions))
        .route("/v2.0", get(version))
        .route("/v2.0/", get(version))
        .route("/v2.0/extensions", get(extensions))
        .route("/v2.0/extensions/{alias}", get(extension))
        .route("/v2.0/networks", get(list_networks).post(create_network))
        .route(
            "/v2.0/networks/{id}",
            get(show_network).put(update_network).delete(delete_network),
        )
        .route("/v2.0/subnets", get(list_subnets).post(create_subnet))
        .route(
            "/v2.0/subnets/{id}",
            get(show_subnet).put(update_subnet).delete(delete_subnet),
        )
        .route("/v2.0/ports", get(list_ports).post(create_port))
        .route("/v2.0/ports/{id}", get(show_port).put(update_port).delete(delete_port))
        .route("/v2.0/routers", get(list_routers).post(create_router))
        .route(
            "/v2.0/routers/{id}",
            get(show_router).put(update_router).delete(delete_router),
        )
        .route(
            "/v2.0/routers/{id}/add_router_interface",
            axum::routing::put(add_interface),
        )
        .route(
            "/v2.0/routers/{id}/remove_router_interface",
            axum::routing::put(remove_interface),
        )
        .route("/v2.0/quotas", get(list_quotas))
        .route(
            "/v2.0/quotas/{project}",
            get(show_quota).put(update_quota).delete(reset_quota),
        )
        .route("/v2.0/quotas/{project}/default", get(default_quota))
        .route("/v2.0/quotas/{project}/details", get(quota_details))
        .route("/v2.0/floatingips", get(list_fips).post(create_fip))
        .route(
            "/v2.0/floatingips/{id}",
            get(show_fip).put(update_fip).delete(delete_fip),
        )
        .route("/v2.0/security-groups", get(list_groups).post(create_group))
        .route(
            "/v2.0/security-groups/{id}",
            get(show_group).put(update_group).delete(delete_group),
        )
        .route("/v2.0/security-group-rules", get(list_rules).post(create_rule))
        .route("/v2.0/security-group-rules/{id}", get(show_rule).delete(delete_rule))
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
    Json(json!({"resources": [res("network", "networks"), res("subnet", "subnets"), res("port", "ports")]}))
        .into_response()
}

fn ext_json((alias, name, desc): (&str, &str, &str)) -> Value {
    json!({"alias": alias, "name": name, "description": desc, "updated": "2024-01-01T00:00:00-00:00", "links": []})
}

async fn extensions(Authed(..): Nt) -> Response {
    Json(json!({"extensions": EXTENSIONS.iter().map(|e| ext_json(*e)).collect::<Vec<_>>()})).into_response()
}

async fn extension(Authed(..): Nt, Path(alias): Path<String>) -> NeutronResult {
    let e = EXTENSIONS
        .iter()
        .find(|e| e.0 == alias)
        .ok_or_else(|| Error::NotFound {
            kind: "extension",
            id: alias.clone(),
        })?;
    Ok(Json(json!({"extension": ext_json(*e)})).into_response())
}

fn url(app: &AppState, coll: &str) -> String {
    format!("{}/network/v2.0/{coll}", app.cfg.public_url)
}

fn one(key: &str, q: &ListQuery, v: Value, status: StatusCode) -> Response {
    (status, Json(json!({ key: q.select(v) }))).into_response()
}

async fn network_json(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    n: &crate::db::network::Network,
) -> Result<Value, Error> {
    let subnets = app
        .list_subnets(c)
        .await?
        .into_iter()
        .filter(|s| s.network_id == n.id)
        .map(|s| s.id)
        .collect();
    Ok(render::network(n, subnets, c.is_admin()))
}

async fn list_networks(State(app): State<AppState>, Authed(c, ..): Nt, RawQuery(raw): RawQuery) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let subnets = app.list_subnets(&c).await?;
    let items = app
        .list_networks(&c)
        .await?
        .iter()
        .map(|n| {
            let ids = subnets
                .iter()
                .filter(|s| s.network_id == n.id)
                .map(|s| s.id.clone())
                .collect();
            render::network(n, ids, c.is_admin())
        })
        .collect();
    Ok(Json(q.collection("networks", &url(&app, "networks"), items)?).into_response())
}

async fn create_network(State(app): State<AppState>, Authed(c, ..): Nt, body: Bytes) -> NeutronResult {
    let n = app.create_network(&c, wrapped(&body, "network")?).await?;
    Ok(one(
        "network",
        &ListQuery::parse(None)?,
        network_json(&app, &c, &n).await?,
        StatusCode::CREATED,
    ))
}

async fn show_network(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let n = app.get_network(&c, &id).await?;
    Ok(one(
        "network",
        &ListQuery::parse(raw.as_deref())?,
        network_json(&app, &c, &n).await?,
        StatusCode::OK,
    ))
}

async fn update_network(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let n = app.update_network(&c, &id, wrapped(&body, "network")?).await?;
    Ok(one(
        "network",
        &ListQuery::parse(None)?,
        network_json(&app, &c, &n).await?,
        StatusCode::OK,
    ))
}

async fn delete_network(State(app): State<AppState>, Authed(c, ..): Nt, Path(id): Path<String>) -> NeutronResult {
    app.delete_network(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_subnets(State(app): State<AppState>, Authed(c, ..): Nt, RawQuery(raw): RawQuery) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let items = app.list_subnets(&c).await?.iter().map(render::subnet).collect();
    Ok(Json(q.collection("subnets", &url(&app, "subnets"), items)?).into_response())
}

async fn create_subnet(State(app): State<AppState>, Authed(c, ..): Nt, body: Bytes) -> NeutronResult {
    let s = app.create_subnet(&c, wrapped(&body, "subnet")?).await?;
    Ok(one(
        "subnet",
        &ListQuery::parse(None)?,
        render::subnet(&s),
        StatusCode::CREATED,
    ))
}

async fn show_subnet(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let s = app.get_subnet(&c, &id).await?;
    Ok(one(
        "subnet",
        &ListQuery::parse(raw.as_deref())?,
        render::subnet(&s),
        StatusCode::OK,
    ))
}

async fn update_subnet(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let s = app.update_subnet(&c, &id, wrapped(&body, "subnet")?).await?;
    Ok(one(
        "subnet",
        &ListQuery::parse(None)?,
        render::subnet(&s),
        StatusCode::OK,
    ))
}

async fn delete_subnet(State(app): State<AppState>, Authed(c, ..): Nt, Path(id): Path<String>) -> NeutronResult {
    app.delete_subnet(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_ports(State(app): State<AppState>, Authed(c, ..): Nt, RawQuery(raw): RawQuery) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let items = app.list_ports(&c).await?.iter().map(render::port).collect();
    Ok(Json(q.collection("ports", &url(&app, "ports"), items)?).into_response())
}

async fn create_port(State(app): State<AppState>, Authed(c, ..): Nt, body: Bytes) -> NeutronResult {
    let p = app.create_port(&c, wrapped(&body, "port")?).await?;
    Ok(one(
        "port",
        &ListQuery::parse(None)?,
        render::port(&p),
        StatusCode::CREATED,
    ))
}

async fn show_port(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let p = app.get_port(&c, &id).await?;
    Ok(one(
        "port",
        &ListQuery::parse(raw.as_deref())?,
        render::port(&p),
        StatusCode::OK,
    ))
}

async fn update_port(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let p = app.update_port(&c, &id, wrapped(&body, "port")?).await?;
    Ok(one("port", &ListQuery::parse(None)?, render::port(&p), StatusCode::OK))
}

async fn delete_port(State(app): State<AppState>, Authed(c, ..): Nt, Path(id): Path<String>) -> NeutronResult {
    app.delete_port(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_groups(State(app): State<AppState>, Authed(c, ..): Nt, RawQuery(raw): RawQuery) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let items = app
        .list_security_groups(&c)
        .await?
        .iter()
        .map(render::security_group)
        .collect();
    Ok(Json(q.collection("security_groups", &url(&app, "security-groups"), items)?).into_response())
}

async fn create_group(State(app): State<AppState>, Authed(c, ..): Nt, body: Bytes) -> NeutronResult {
    let g = app.create_security_group(&c, wrapped(&body, "security_group")?).await?;
    Ok(one(
        "security_group",
        &ListQuery::parse(None)?,
        render::security_group(&g),
        StatusCode::CREATED,
    ))
}

async fn show_group(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let g = app.get_security_group(&c, &id).await?;
    Ok(one(
        "security_group",
        &ListQuery::parse(raw.as_deref())?,
        render::security_group(&g),
        StatusCode::OK,
    ))
}

async fn update_group(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let g = app
        .update_security_group(&c, &id, wrapped(&body, "security_group")?)
        .await?;
    Ok(one(
        "security_group",
        &ListQuery::parse(None)?,
        render::security_group(&g),
        StatusCode::OK,
    ))
}

async fn delete_group(State(app): State<AppState>, Authed(c, ..): Nt, Path(id): Path<String>) -> NeutronResult {
    app.delete_security_group(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_rules(State(app): State<AppState>, Authed(c, ..): Nt, RawQuery(raw): RawQuery) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let items = app
        .list_security_group_rules(&c)
        .await?
        .iter()
        .map(render::rule)
        .collect();
    Ok(Json(q.collection("security_group_rules", &url(&app, "security-group-rules"), items)?).into_response())
}

async fn create_rule(State(app): State<AppState>, Authed(c, ..): Nt, body: Bytes) -> NeutronResult {
    let r = app
        .create_security_group_rule(&c, wrapped(&body, "security_group_rule")?)
        .await?;
    Ok(one(
        "security_group_rule",
        &ListQuery::parse(None)?,
        render::rule(&r),
        StatusCode::CREATED,
    ))
}

async fn show_rule(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let r = app.get_security_group_rule(&c, &id).await?;
    Ok(one(
        "security_group_rule",
        &ListQuery::parse(raw.as_deref())?,
        render::rule(&r),
        StatusCode::OK,
    ))
}

async fn delete_rule(State(app): State<AppState>, Authed(c, ..): Nt, Path(id): Path<String>) -> NeutronResult {
    app.delete_security_group_rule(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_routers(State(app): State<AppState>, Authed(c, ..): Nt, RawQuery(raw): RawQuery) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let items = app.list_routers(&c).await?.iter().map(render::router).collect();
    Ok(Json(q.collection("routers", &url(&app, "routers"), items)?).into_response())
}

async fn create_router(State(app): State<AppState>, Authed(c, ..): Nt, body: Bytes) -> NeutronResult {
    let r = app.create_router(&c, wrapped(&body, "router")?).await?;
    Ok(one(
        "router",
        &ListQuery::parse(None)?,
        render::router(&r),
        StatusCode::CREATED,
    ))
}

async fn show_router(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let r = app.get_router(&c, &id).await?;
    Ok(one(
        "router",
        &ListQuery::parse(raw.as_deref())?,
        render::router(&r),
        StatusCode::OK,
    ))
}

async fn update_router(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let r = app.update_router(&c, &id, wrapped(&body, "router")?).await?;
    Ok(one(
        "router",
        &ListQuery::parse(None)?,
        render::router(&r),
        StatusCode::OK,
    ))
}

async fn delete_router(State(app): State<AppState>, Authed(c, ..): Nt, Path(id): Path<String>) -> NeutronResult {
    app.delete_router(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn body_object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Error> {
    match crate::http::parse_json::<Value>(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(Error::bad_request("Request body must be a JSON object.")),
    }
}

async fn add_interface(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let i = app.add_router_interface(&c, &id, body_object(&body)?).await?;
    Ok(Json(render::interface(&i)).into_response())
}

async fn remove_interface(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let i = app.remove_router_interface(&c, &id, body_object(&body)?).await?;
    Ok(Json(render::interface(&i)).into_response())
}

async fn list_fips(State(app): State<AppState>, Authed(c, ..): Nt, RawQuery(raw): RawQuery) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let items = app
        .list_floating_ips(&c)
        .await?
        .iter()
        .map(render::floating_ip)
        .collect();
    Ok(Json(q.collection("floatingips", &url(&app, "floatingips"), items)?).into_response())
}

async fn create_fip(State(app): State<AppState>, Authed(c, ..): Nt, body: Bytes) -> NeutronResult {
    let f = app.create_floating_ip(&c, wrapped(&body, "floatingip")?).await?;
    Ok(one(
        "floatingip",
        &ListQuery::parse(None)?,
        render::floating_ip(&f),
        StatusCode::CREATED,
    ))
}

async fn show_fip(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let f = app.get_floating_ip(&c, &id).await?;
    Ok(one(
        "floatingip",
        &ListQuery::parse(raw.as_deref())?,
        render::floating_ip(&f),
        StatusCode::OK,
    ))
}

async fn update_fip(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let f = app.update_floating_ip(&c, &id, wrapped(&body, "floatingip")?).await?;
    Ok(one(
        "floatingip",
        &ListQuery::parse(None)?,
        render::floating_ip(&f),
        StatusCode::OK,
    ))
}

async fn delete_fip(State(app): State<AppState>, Authed(c, ..): Nt, Path(id): Path<String>) -> NeutronResult {
    app.delete_floating_ip(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn quota_json(project: &str, q: &std::collections::BTreeMap<String, i64>) -> Value {
    let mut v = json!(q);
    v["project_id"] = json!(project);
    v["tenant_id"] = json!(project);
    v
}

async fn list_quotas(State(app): State<AppState>, Authed(c, ..): Nt) -> NeutronResult {
    let all = app.list_network_quotas(&c).await?;
    Ok(Json(json!({"quotas": all.iter().map(|(p, q)| quota_json(p, q)).collect::<Vec<_>>()})).into_response())
}

async fn show_quota(State(app): State<AppState>, Authed(c, ..): Nt, Path(project): Path<String>) -> NeutronResult {
    let q = app.network_quota(&c, &project).await?;
    Ok(Json(json!({"quota": q})).into_response())
}

async fn default_quota(Authed(..): Nt, Path(project): Path<String>) -> NeutronResult {
    use crate::app::network::quotas::{default_limit, RESOURCES};
    let q: std::collections::BTreeMap<String, i64> =
        RESOURCES.iter().map(|r| (r.to_string(), default_limit(r))).collect();
    Ok(Json(json!({"quota": quota_json(&project, &q)})).into_response())
}

async fn quota_details(State(app): State<AppState>, Authed(c, ..): Nt, Path(project): Path<String>) -> NeutronResult {
    let d = app.network_quota_details(&c, &project).await?;
    let body: serde_json::Map<String, Value> = d
        .into_iter()
        .map(|(r, (limit, used))| (r, json!({"limit": limit, "used": used, "reserved": 0})))
        .collect();
    Ok(Json(json!({"quota": body})).into_response())
}

async fn update_quota(
    State(app): State<AppState>,
    Authed(c, ..): Nt,
    Path(project): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let q = app.set_network_quota(&c, &project, wrapped(&body, "quota")?).await?;
    Ok(Json(json!({"quota": q})).into_response())
}

async fn reset_quota(State(app): State<AppState>, Authed(c, ..): Nt, Path(project): Path<String>) -> NeutronResult {
    app.reset_network_quota(&c, &project).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! The handlers: parse the typed request, call one `App` function, render Octavia's shape.

use super::error::OResult;
use super::{query, render, OctaviaError};
use crate::app::loadbalancer::l7::{CreatePolicy, UpdatePolicy};
use crate::app::loadbalancer::listeners::{CreateListener, UpdateListener};
use crate::app::loadbalancer::loadbalancers::{CreateLoadBalancer, UpdateLoadBalancer};
use crate::app::loadbalancer::members::{CreateMember, UpdateMember};
use crate::app::loadbalancer::monitors::{CreateMonitor, UpdateMonitor};
use crate::app::loadbalancer::pools::{CreatePool, UpdatePool};
use crate::app::loadbalancer::{catalog, quotas, Tree, PROVIDERS};
use crate::db::loadbalancer::catalog::ProfileKind;
use crate::db::loadbalancer::ChildKind;
use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

type Caller = Authed<OctaviaError>;

fn body(bytes: &Bytes, key: &str) -> Result<Value, Error> {
    Ok(Value::Object(wrapped(bytes, key)?))
}

fn one(key: &str, v: Value, q: &query::Query) -> Response {
    Json(json!({ key: query::select(v, &query::fields(q)) })).into_response()
}

fn created(key: &str, v: Value) -> Response {
    (StatusCode::CREATED, Json(json!({ key: v }))).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn child_of<'a>(t: &'a Tree, id: &str) -> Result<&'a crate::db::loadbalancer::Child, Error> {
    t.child(id)
        .ok_or_else(|| Error::Internal(format!("object {id} vanished")))
}

// --- load balancers ---------------------------------------------------------------------

pub async fn list_loadbalancers(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let trees = app.list_loadbalancers(&c, query::param(&q, "project_id")).await?;
    let items = trees.iter().map(render::loadbalancer).collect();
    Ok(Json(query::list(
        items,
        &q,
        "loadbalancers",
        "loadbalancers_links",
        uri.path(),
        &[],
    )?)
    .into_response())
}

pub async fn create_loadbalancer(State(app): State<AppState>, Authed(c, ..): Caller, b: Bytes) -> OResult {
    let req = CreateLoadBalancer::try_from(body(&b, "loadbalancer")?)?;
    let t = app.create_loadbalancer(&c, req).await?;
    Ok(created("loadbalancer", render::loadbalancer_full(&t)))
}

pub async fn show_loadbalancer(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let t = app.get_loadbalancer(&c, &id).await?;
    Ok(one("loadbalancer", render::loadbalancer(&t), &q))
}

pub async fn update_loadbalancer(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    let req = UpdateLoadBalancer::try_from(body(&b, "loadbalancer")?)?;
    let t = app.update_loadbalancer(&c, &id, req).await?;
    Ok(Json(json!({"loadbalancer": render::loadbalancer(&t)})).into_response())
}

pub async fn delete_loadbalancer(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let cascade = query::param(&q, "cascade").is_some_and(query::truthy);
    app.delete_loadbalancer(&c, &id, cascade).await?;
    Ok(no_content())
}

pub async fn loadbalancer_stats(State(app): State<AppState>, Authed(c, ..): Caller, Path(id): Path<String>) -> OResult {
    Ok(Json(render::stats(app.loadbalancer_stats(&c, &id).await?)).into_response())
}

pub async fn loadbalancer_status(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
) -> OResult {
    let t = app.get_loadbalancer(&c, &id).await?;
    Ok(Json(render::status_tree(&t)).into_response())
}

pub async fn failover_loadbalancer(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
) -> OResult {
    app.failover_loadbalancer(&c, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

// --- children, generically ----------------------------------------------------------------

/// Every child of `kind` the caller may list, rendered, in creation order.
async fn children(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    kind: ChildKind,
    project: Option<&str>,
) -> Result<Vec<Value>, Error> {
    let trees = app.list_loadbalancers(c, project).await?;
    let mut out = vec![];
    for t in &trees {
        for ch in t.of_kind(kind) {
            out.push(render_child(t, ch));
        }
    }
    out.sort_by(|a, b| (a["created_at"].as_str(), a["id"].as_str()).cmp(&(b["created_at"].as_str(), b["id"].as_str())));
    Ok(out)
}

fn render_child(t: &Tree, ch: &crate::db::loadbalancer::Child) -> Value {
    match ch.kind() {
        ChildKind::Listener => render::listener(t, ch),
        ChildKind::Pool => render::pool(t, ch),
        ChildKind::Member => render::member(ch),
        ChildKind::HealthMonitor => render::monitor(ch),
        ChildKind::L7Policy => render::l7policy(t, ch),
        ChildKind::L7Rule => render::l7rule(ch),
    }
}

async fn show_child(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    kind: ChildKind,
    id: &str,
) -> Result<Value, Error> {
    let ch = crate::app::loadbalancer::readable_child(app, c, kind, id).await?;
    let t = app.get_loadbalancer(c, &ch.loadbalancer_id).await?;
    Ok(render_child(&t, child_of(&t, id)?))
}

// --- listeners --------------------------------------------------------------------------

pub async fn list_listeners(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let items = children(&app, &c, ChildKind::Listener, query::param(&q, "project_id")).await?;
    Ok(Json(query::list(items, &q, "listeners", "listeners_links", uri.path(), &[])?).into_response())
}

pub async fn create_listener(State(app): State<AppState>, Authed(c, ..): Caller, b: Bytes) -> OResult {
    let req = CreateListener::try_from(body(&b, "listener")?)?;
    let (t, id) = app.create_listener(&c, req).await?;
    Ok(created("listener", render::listener(&t, child_of(&t, &id)?)))
}

pub async fn show_listener(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    Ok(one(
        "listener",
        show_child(&app, &c, ChildKind::Listener, &id).await?,
        &q,
    ))
}

pub async fn update_listener(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    let req = UpdateListener::try_from(body(&b, "listener")?)?;
    let t = app.update_listener(&c, &id, req).await?;
    Ok(Json(json!({"listener": render::listener(&t, child_of(&t, &id)?)})).into_response())
}

pub async fn delete_listener(State(app): State<AppState>, Authed(c, ..): Caller, Path(id): Path<String>) -> OResult {
    app.delete_listener(&c, &id).await?;
    Ok(no_content())
}

pub async fn listener_stats(State(app): State<AppState>, Authed(c, ..): Caller, Path(id): Path<String>) -> OResult {
    Ok(Json(render::stats(app.listener_stats(&c, &id).await?)).into_response())
}

// --- pools ------------------------------------------------------------------------------

pub async fn list_pools(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let items = children(&app, &c, ChildKind::Pool, query::param(&q, "project_id")).await?;
    Ok(Json(query::list(items, &q, "pools", "pools_links", uri.path(), &[])?).into_response())
}

pub async fn create_pool(State(app): State<AppState>, Authed(c, ..): Caller, b: Bytes) -> OResult {
    let req = CreatePool::try_from(body(&b, "pool")?)?;
    let (t, id) = app.create_pool(&c, req).await?;
    Ok(created("pool", render::pool(&t, child_of(&t, &id)?)))
}

pub async fn show_pool(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    Ok(one("pool", show_child(&app, &c, ChildKind::Pool, &id).await?, &q))
}

pub async fn update_pool(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    let req = UpdatePool::try_from(body(&b, "pool")?)?;
    let t = app.update_pool(&c, &id, req).await?;
    Ok(Json(json!({"pool": render::pool(&t, child_of(&t, &id)?)})).into_response())
}

pub async fn delete_pool(State(app): State<AppState>, Authed(c, ..): Caller, Path(id): Path<String>) -> OResult {
    app.delete_pool(&c, &id).await?;
    Ok(no_content())
}

// --- members ----------------------------------------------------------------------------

/// The pool named in the URL, readable by the caller (404 `Pool … not found.` otherwise).
async fn pool_tree(app: &AppState, c: &crate::app::identity::caller::Caller, pool_id: &str) -> Result<Tree, Error> {
    let p = crate::app::loadbalancer::readable_child(app, c, ChildKind::Pool, pool_id).await?;
    app.get_loadbalancer(c, &p.loadbalancer_id).await
}

pub async fn list_members(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let t = pool_tree(&app, &c, &pool_id).await?;
    let items = t.children_of(&pool_id, ChildKind::Member).map(render::member).collect();
    Ok(Json(query::list(items, &q, "members", "members_links", uri.path(), &[])?).into_response())
}

pub async fn create_member(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(pool_id): Path<String>,
    b: Bytes,
) -> OResult {
    let req = CreateMember::try_from(body(&b, "member")?)?;
    let (t, id) = app.create_member(&c, &pool_id, req).await?;
    Ok(created("member", render::member(child_of(&t, &id)?)))
}

pub async fn batch_members(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
    b: Bytes,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let additive = query::param(&q, "additive_only").is_some_and(query::truthy);
    let v: Value = crate::http::parse_json(&b)?;
    let list = match v.get("members") {
        Some(Value::Array(items)) => items.clone(),
        _ => {
            return Err(Error::bad_request(
                "Invalid input for field/attribute members. Value: 'None'. Mandatory field missing.",
            )
            .into())
        }
    };
    let members = list
        .into_iter()
        .map(CreateMember::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    app.batch_update_members(&c, &pool_id, members, additive).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn show_member(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path((pool_id, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let t = pool_tree(&app, &c, &pool_id).await?;
    let m = t
        .child(&id)
        .filter(|m| m.kind() == ChildKind::Member && m.parent_id.as_deref() == Some(pool_id.as_str()))
        .ok_or_else(|| crate::app::loadbalancer::not_found(Some(ChildKind::Member), &id))?;
    Ok(one("member", render::member(m), &q))
}

pub async fn update_member(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path((pool_id, id)): Path<(String, String)>,
    b: Bytes,
) -> OResult {
    let req = UpdateMember::try_from(body(&b, "member")?)?;
    let t = app.update_member(&c, &pool_id, &id, req).await?;
    Ok(Json(json!({"member": render::member(child_of(&t, &id)?)})).into_response())
}

pub async fn delete_member(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path((pool_id, id)): Path<(String, String)>,
) -> OResult {
    app.delete_member(&c, &pool_id, &id).await?;
    Ok(no_content())
}

// --- health monitors --------------------------------------------------------------------

pub async fn list_monitors(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let items = children(&app, &c, ChildKind::HealthMonitor, query::param(&q, "project_id")).await?;
    Ok(Json(query::list(
        items,
        &q,
        "healthmonitors",
        "healthmonitors_links",
        uri.path(),
        &[],
    )?)
    .into_response())
}

pub async fn create_monitor(State(app): State<AppState>, Authed(c, ..): Caller, b: Bytes) -> OResult {
    let req = CreateMonitor::try_from(body(&b, "healthmonitor")?)?;
    let (t, id) = app.create_monitor(&c, req).await?;
    Ok(created("healthmonitor", render::monitor(child_of(&t, &id)?)))
}

pub async fn show_monitor(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    Ok(one(
        "healthmonitor",
        show_child(&app, &c, ChildKind::HealthMonitor, &id).await?,
        &q,
    ))
}

pub async fn update_monitor(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    let req = UpdateMonitor::try_from(body(&b, "healthmonitor")?)?;
    let t = app.update_monitor(&c, &id, req).await?;
    Ok(Json(json!({"healthmonitor": render::monitor(child_of(&t, &id)?)})).into_response())
}

pub async fn delete_monitor(State(app): State<AppState>, Authed(c, ..): Caller, Path(id): Path<String>) -> OResult {
    app.delete_monitor(&c, &id).await?;
    Ok(no_content())
}

// --- L7 policies and rules --------------------------------------------------------------

pub async fn list_l7policies(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let items = children(&app, &c, ChildKind::L7Policy, query::param(&q, "project_id")).await?;
    Ok(Json(query::list(
        items,
        &q,
        "l7policies",
        "l7policies_links",
        uri.path(),
        &[],
    )?)
    .into_response())
}

pub async fn create_l7policy(State(app): State<AppState>, Authed(c, ..): Caller, b: Bytes) -> OResult {
    let req = CreatePolicy::try_from(body(&b, "l7policy")?)?;
    let (t, id) = app.create_l7policy(&c, req).await?;
    Ok(created("l7policy", render::l7policy(&t, child_of(&t, &id)?)))
}

pub async fn show_l7policy(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    Ok(one(
        "l7policy",
        show_child(&app, &c, ChildKind::L7Policy, &id).await?,
        &q,
    ))
}

pub async fn update_l7policy(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    let req = UpdatePolicy::try_from(body(&b, "l7policy")?)?;
    let t = app.update_l7policy(&c, &id, req).await?;
    Ok(Json(json!({"l7policy": render::l7policy(&t, child_of(&t, &id)?)})).into_response())
}

pub async fn delete_l7policy(State(app): State<AppState>, Authed(c, ..): Caller, Path(id): Path<String>) -> OResult {
    app.delete_l7policy(&c, &id).await?;
    Ok(no_content())
}

/// The policy named in a rule's URL, readable by the caller (`L7Policy … not found.`).
async fn policy_tree(app: &AppState, c: &crate::app::identity::caller::Caller, policy_id: &str) -> Result<Tree, Error> {
    let p = crate::app::loadbalancer::readable_child(app, c, ChildKind::L7Policy, policy_id)
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("L7Policy", policy_id),
            other => other,
        })?;
    app.get_loadbalancer(c, &p.loadbalancer_id).await
}

pub async fn list_l7rules(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(policy_id): Path<String>,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let t = policy_tree(&app, &c, &policy_id).await?;
    let items = t
        .children_of(&policy_id, ChildKind::L7Rule)
        .map(render::l7rule)
        .collect();
    Ok(Json(query::list(items, &q, "rules", "rules_links", uri.path(), &[])?).into_response())
}

pub async fn create_l7rule(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(policy_id): Path<String>,
    b: Bytes,
) -> OResult {
    let (t, id) = app.create_l7rule(&c, &policy_id, body(&b, "rule")?).await?;
    Ok(created("rule", render::l7rule(child_of(&t, &id)?)))
}

pub async fn show_l7rule(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path((policy_id, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let t = policy_tree(&app, &c, &policy_id).await?;
    let r = t
        .child(&id)
        .filter(|r| r.kind() == ChildKind::L7Rule && r.parent_id.as_deref() == Some(policy_id.as_str()))
        .ok_or_else(|| crate::app::loadbalancer::not_found(Some(ChildKind::L7Rule), &id))?;
    Ok(one("rule", render::l7rule(r), &q))
}

pub async fn update_l7rule(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path((policy_id, id)): Path<(String, String)>,
    b: Bytes,
) -> OResult {
    let t = app.update_l7rule(&c, &policy_id, &id, body(&b, "rule")?).await?;
    Ok(Json(json!({"rule": render::l7rule(child_of(&t, &id)?)})).into_response())
}

pub async fn delete_l7rule(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path((policy_id, id)): Path<(String, String)>,
) -> OResult {
    app.delete_l7rule(&c, &policy_id, &id).await?;
    Ok(no_content())
}

// --- quotas -----------------------------------------------------------------------------

fn quota_body(project: &str, q: &std::collections::BTreeMap<String, i64>) -> Value {
    let mut v = json!({"project_id": project, "tenant_id": project});
    for (k, n) in q {
        v[k] = json!(n);
    }
    for (alias, k) in quotas::ALIASES {
        v[*alias] = v[*k].clone();
    }
    v
}

pub async fn list_quotas(State(app): State<AppState>, Authed(c, ..): Caller, RawQuery(raw): RawQuery) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let rows = app.lb_quota_rows(&c, query::param(&q, "project_id")).await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(p, row)| {
            let mut v = json!({"project_id": p, "tenant_id": p});
            for (k, n) in &row {
                v[k] = json!(n);
            }
            for (alias, k) in quotas::ALIASES {
                v[*alias] = v[*k].clone();
            }
            v
        })
        .collect();
    Ok(Json(json!({"quotas": items, "quotas_links": []})).into_response())
}

pub async fn quota_defaults(Authed(..): Caller) -> OResult {
    let q = quotas::KEYS.iter().map(|(k, _)| (k.to_string(), -1)).collect();
    let mut v = quota_body("", &q);
    if let Some(m) = v.as_object_mut() {
        m.remove("project_id");
        m.remove("tenant_id");
    }
    Ok(Json(json!({ "quota": v })).into_response())
}

pub async fn show_quota(State(app): State<AppState>, Authed(c, ..): Caller, Path(project): Path<String>) -> OResult {
    let q = app.lb_quota(&c, &project).await?;
    Ok(Json(json!({"quota": quota_body(&project, &q)})).into_response())
}

pub async fn set_quota(
    State(app): State<AppState>,
    Authed(c, ..): Caller,
    Path(project): Path<String>,
    b: Bytes,
) -> OResult {
    let update = quotas::parse_update(body(&b, "quota")?)?;
    let q = app.set_lb_quota(&c, &project, update).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"quota": quota_body(&project, &q)}))).into_response())
}

pub async fn reset_quota(State(app): State<AppState>, Authed(c, ..): Caller, Path(project): Path<String>) -> OResult {
    app.reset_lb_quota(&c, &project).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

// --- providers, flavors, zones, amphorae ------------------------------------------------

pub async fn providers(Authed(..): Caller, RawQuery(raw): RawQuery) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let f = query::fields(&q);
    let list: Vec<Value> = PROVIDERS
        .iter()
        .map(|(n, d)| query::select(json!({"name": n, "description": d}), &f))
        .collect();
    Ok(Json(json!({ "providers": list })).into_response())
}

fn known_provider(p: &str) -> Result<(), Error> {
    if PROVIDERS.iter().any(|(n, _)| *n == p) {
        Ok(())
    } else {
        Err(Error::bad_request(format!("Provider '{p}' is not enabled.")))
    }
}

/// A capability list (`?name=`, `?description=` exact filters and `fields`), no links.
fn capabilities(key: &str, caps: &[(&str, &str)], q: &query::Query) -> Response {
    let f = query::fields(q);
    let list: Vec<Value> = caps
        .iter()
        .filter(|(n, d)| {
            query::param(q, "name").is_none_or(|w| w == *n) && query::param(q, "description").is_none_or(|w| w == *d)
        })
        .map(|(n, d)| query::select(json!({"name": n, "description": d}), &f))
        .collect();
    Json(json!({ key: list })).into_response()
}

pub async fn flavor_capabilities(Authed(..): Caller, Path(p): Path<String>, RawQuery(raw): RawQuery) -> OResult {
    let q = query::parse(raw.as_deref())?;
    known_provider(&p)?;
    Ok(capabilities("flavor_capabilities", catalog::FLAVOR_CAPABILITIES, &q))
}

pub async fn zone_capabilities(Authed(..): Caller, Path(p): Path<String>, RawQuery(raw): RawQuery) -> OResult {
    let q = query::parse(raw.as_deref())?;
    known_provider(&p)?;
    Ok(capabilities(
        "availability_zone_capabilities",
        catalog::ZONE_CAPABILITIES,
        &q,
    ))
}

fn profile_key(kind: ProfileKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        ProfileKind::Flavor => ("flavorprofile", "flavorprofiles", "flavorprofile_links"),
        ProfileKind::Zone => (
            "availability_zone_profile",
            "availability_zone_profiles",
            "availability_zone_profile_links",
        ),
    }
}

async fn list_profiles(app: &AppState, kind: ProfileKind, raw: Option<String>, uri: &Uri) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let items = app
        .lb_profiles(kind)
        .await?
        .iter()
        .map(|p| render::profile(kind, p))
        .collect();
    let (_, key, links) = profile_key(kind);
    Ok(Json(query::list(items, &q, key, links, uri.path(), &[])?).into_response())
}

async fn show_profile(app: &AppState, kind: ProfileKind, id: &str, raw: Option<String>) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let p = app.lb_profile(kind, id).await?;
    Ok(one(profile_key(kind).0, render::profile(kind, &p), &q))
}

async fn create_profile(app: &AppState, kind: ProfileKind, b: &Bytes) -> OResult {
    let key = profile_key(kind).0;
    let req = catalog::CreateProfile::parse(kind, body(b, key)?)?;
    let p = app.create_lb_profile(kind, req).await?;
    Ok(created(key, render::profile(kind, &p)))
}

async fn update_profile(app: &AppState, kind: ProfileKind, id: &str, b: &Bytes) -> OResult {
    let key = profile_key(kind).0;
    let req = catalog::UpdateProfile::parse(kind, body(b, key)?)?;
    let p = app.update_lb_profile(kind, id, req).await?;
    Ok(Json(json!({ key: render::profile(kind, &p) })).into_response())
}

pub async fn flavor_profiles(
    State(app): State<AppState>,
    Authed(..): Caller,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    list_profiles(&app, ProfileKind::Flavor, raw, &uri).await
}

pub async fn show_flavor_profile(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    show_profile(&app, ProfileKind::Flavor, &id, raw).await
}

pub async fn create_flavor_profile(State(app): State<AppState>, Authed(..): Caller, b: Bytes) -> OResult {
    create_profile(&app, ProfileKind::Flavor, &b).await
}

pub async fn update_flavor_profile(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    update_profile(&app, ProfileKind::Flavor, &id, &b).await
}

pub async fn delete_flavor_profile(State(app): State<AppState>, Authed(..): Caller, Path(id): Path<String>) -> OResult {
    app.delete_lb_profile(ProfileKind::Flavor, &id).await?;
    Ok(no_content())
}

pub async fn zone_profiles(
    State(app): State<AppState>,
    Authed(..): Caller,
    RawQuery(raw): RawQuery,
    uri: Uri,
) -> OResult {
    list_profiles(&app, ProfileKind::Zone, raw, &uri).await
}

pub async fn show_zone_profile(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    show_profile(&app, ProfileKind::Zone, &id, raw).await
}

pub async fn create_zone_profile(State(app): State<AppState>, Authed(..): Caller, b: Bytes) -> OResult {
    create_profile(&app, ProfileKind::Zone, &b).await
}

pub async fn update_zone_profile(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    update_profile(&app, ProfileKind::Zone, &id, &b).await
}

pub async fn delete_zone_profile(State(app): State<AppState>, Authed(..): Caller, Path(id): Path<String>) -> OResult {
    app.delete_lb_profile(ProfileKind::Zone, &id).await?;
    Ok(no_content())
}

pub async fn flavors(State(app): State<AppState>, Authed(..): Caller, RawQuery(raw): RawQuery, uri: Uri) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let items = app.lb_flavors().await?.iter().map(render::flavor).collect();
    Ok(Json(query::list(items, &q, "flavors", "flavors_links", uri.path(), &[])?).into_response())
}

pub async fn show_flavor(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let f = app.lb_flavor(&id).await?;
    Ok(one("flavor", render::flavor(&f), &q))
}

pub async fn create_flavor(State(app): State<AppState>, Authed(..): Caller, b: Bytes) -> OResult {
    let req = catalog::CreateFlavor::try_from(body(&b, "flavor")?)?;
    let f = app.create_lb_flavor(req).await?;
    Ok(created("flavor", render::flavor(&f)))
}

pub async fn update_flavor(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> OResult {
    let req = catalog::UpdateOffer::parse("flavor", body(&b, "flavor")?, true)?;
    let f = app.update_lb_flavor(&id, req).await?;
    Ok(Json(json!({"flavor": render::flavor(&f)})).into_response())
}

pub async fn delete_flavor(State(app): State<AppState>, Authed(..): Caller, Path(id): Path<String>) -> OResult {
    app.delete_lb_flavor(&id).await?;
    Ok(no_content())
}

pub async fn zones(State(app): State<AppState>, Authed(..): Caller, RawQuery(raw): RawQuery, uri: Uri) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let items = app.lb_zones().await?.iter().map(render::zone).collect();
    Ok(Json(query::list(
        items,
        &q,
        "availability_zones",
        "availability_zones_links",
        uri.path(),
        &[],
    )?)
    .into_response())
}

pub async fn show_zone(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> OResult {
    let q = query::parse(raw.as_deref())?;
    let z = app.lb_zone(&name).await?;
    Ok(one("availability_zone", render::zone(&z), &q))
}

pub async fn create_zone(State(app): State<AppState>, Authed(..): Caller, b: Bytes) -> OResult {
    let req = catalog::CreateZone::try_from(body(&b, "availability_zone")?)?;
    let z = app.create_lb_zone(req).await?;
    Ok(created("availability_zone", render::zone(&z)))
}

pub async fn update_zone(
    State(app): State<AppState>,
    Authed(..): Caller,
    Path(name): Path<String>,
    b: Bytes,
) -> OResult {
    let req = catalog::UpdateOffer::parse("availability_zone", body(&b, "availability_zone")?, false)?;
    let z = app.update_lb_zone(&name, req).await?;
    Ok(Json(json!({"availability_zone": render::zone(&z)})).into_response())
}

pub async fn delete_zone(State(app): State<AppState>, Authed(..): Caller, Path(name): Path<String>) -> OResult {
    app.delete_lb_zone(&name).await?;
    Ok(no_content())
}

/// Ciel's provider has no service VMs: the amphora list is empty.
pub async fn amphorae(Authed(..): Caller) -> OResult {
    Ok(Json(json!({"amphorae": [], "amphorae_links": []})).into_response())
}

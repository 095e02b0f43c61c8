//! `/os-security-groups`, `/os-security-group-rules` and `/servers/{id}/os-security-groups`:
//! Nova's view of the network service's security groups (works at 2.1, as Tempest expects).

use super::error::NovaResult;
use super::NovaCaller;
use crate::app::compute::security_groups::{NovaSecurityGroup, NovaSecurityGroupRule};
use crate::app::network::params::FromBody;
use crate::app::network::security_groups::GroupView;
use crate::db::network::security_groups::Rule;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// Nova's rule: ingress only (Nova never showed egress rules), ports as from/to.
fn rule_json(r: &Rule, groups: &[GroupView]) -> Value {
    let group = r
        .remote_group_id
        .as_ref()
        .and_then(|id| groups.iter().find(|g| &g.group.id == id))
        .map(|g| json!({"name": g.group.name, "tenant_id": g.group.project_id}))
        .unwrap_or_else(|| json!({}));
    let ip_range = if r.remote_group_id.is_some() {
        json!({})
    } else {
        json!({"cidr": r.remote_ip_prefix.clone().unwrap_or_else(|| {
            if r.ethertype == "IPv6" { "::/0" } else { "0.0.0.0/0" }.into()
        })})
    };
    let icmp = r.protocol.as_deref() == Some("icmp");
    let from = r.port_range_min.or(if icmp { Some(-1) } else { None });
    let to = r.port_range_max.or(if icmp { Some(-1) } else { None });
    json!({"id": r.id, "parent_group_id": r.security_group_id, "ip_protocol": r.protocol,
        "from_port": from, "to_port": to, "group": group, "ip_range": ip_range})
}

fn group_json(g: &GroupView, all: &[GroupView]) -> Value {
    let rules: Vec<Value> = g
        .rules
        .iter()
        .filter(|r| r.direction == "ingress")
        .map(|r| rule_json(r, all))
        .collect();
    json!({"id": g.group.id, "name": g.group.name, "description": g.group.description,
        "tenant_id": g.group.project_id, "rules": rules})
}

/// The caller's groups; an admin's `all_tenants` lists every project's.
pub async fn list(State(app): State<AppState>, Authed(c, ..): NovaCaller, RawQuery(raw): RawQuery) -> NovaResult {
    let q = super::query_pairs(raw.as_deref())?;
    let every = c.may("compute:security_groups:list:all_projects")
        && super::param(&q, "all_tenants").is_some_and(|v| !matches!(v.to_lowercase().as_str(), "0" | "false" | "off"));
    let all = app.list_security_groups(&c).await?;
    let own: Vec<Value> = all
        .iter()
        .filter(|g| every || c.project_id() == Some(g.group.project_id.as_str()))
        .map(|g| group_json(g, &all))
        .collect();
    Ok(Json(json!({ "security_groups": own })).into_response())
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): NovaCaller, body: Bytes) -> NovaResult {
    let req = NovaSecurityGroup::for_create(wrapped(&body, "security_group")?)?;
    let g = app.nova_create_security_group(&c, req).await?;
    let all = app.list_security_groups(&c).await?;
    Ok(Json(json!({"security_group": group_json(&g, &all)})).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let g = app.get_security_group(&c, &id).await?;
    let all = app.list_security_groups(&c).await?;
    Ok(Json(json!({"security_group": group_json(&g, &all)})).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let req = NovaSecurityGroup::for_update(wrapped(&body, "security_group")?)?;
    let g = app.nova_update_security_group(&c, &id, req).await?;
    let all = app.list_security_groups(&c).await?;
    Ok(Json(json!({"security_group": group_json(&g, &all)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.nova_delete_security_group(&c, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn create_rule(State(app): State<AppState>, Authed(c, ..): NovaCaller, body: Bytes) -> NovaResult {
    let req = NovaSecurityGroupRule::from_body(wrapped(&body, "security_group_rule")?)?;
    let r = app.nova_create_security_group_rule(&c, req).await?;
    let all = app.list_security_groups(&c).await?;
    Ok(Json(json!({"security_group_rule": rule_json(&r, &all)})).into_response())
}

pub async fn delete_rule(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.nova_delete_security_group_rule(&c, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn of_server(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let groups = app.server_security_groups(&c, &id).await?;
    let all = app.list_security_groups(&c).await?;
    let items: Vec<Value> = groups.iter().map(|g| group_json(g, &all)).collect();
    Ok(Json(json!({ "security_groups": items })).into_response())
}

//! Routers (their ports live in `ports` with device_id = router id).

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Router {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub admin_state_up: bool,
    pub gateway_network_id: Option<String>,
    pub enable_snat: bool,
    pub routes: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
}

const COLS: &str = "id, name, project_id, admin_state_up, gateway_network_id, enable_snat, routes, description, \
     created_at, updated_at, revision_number";

pub async fn insert(e: impl sql::Executor<'_>, r: &Router) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO routers ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&r.id)
    .bind(&r.name)
    .bind(&r.project_id)
    .bind(r.admin_state_up)
    .bind(&r.gateway_network_id)
    .bind(r.enable_snat)
    .bind(&r.routes)
    .bind(&r.description)
    .bind(r.created_at)
    .bind(r.updated_at)
    .bind(r.revision_number)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Router>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM routers WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Router>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM routers ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn update(e: impl sql::Executor<'_>, r: &Router) -> Result<()> {
    let res = sql::query(
        "UPDATE routers SET name = ?, admin_state_up = ?, gateway_network_id = ?, enable_snat = ?, routes = ?, \
         description = ?, updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
    )
    .bind(&r.name)
    .bind(r.admin_state_up)
    .bind(&r.gateway_network_id)
    .bind(r.enable_snat)
    .bind(&r.routes)
    .bind(&r.description)
    .bind(r.updated_at)
    .bind(&r.id)
    .execute(e)
    .await?;
    one_row(res.rows_affected(), "router", &r.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM routers WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "router", id)
}

/// Ports a router owns, with their device owner (gateway or interface).
pub async fn router_ports(e: impl sql::Executor<'_>, router_id: &str) -> Result<Vec<crate::db::network::Port>> {
    Ok(sql::query_as(
        "SELECT id, name, network_id, project_id, mac_address, admin_state_up, status, device_id, device_owner, \
         port_security_enabled, allowed_address_pairs, binding_host_id, description, created_at, updated_at, \
         revision_number FROM ports WHERE device_id = ? AND device_owner LIKE 'network:router_%' ORDER BY created_at, id",
    )
    .bind(router_id)
    .fetch_all(e)
    .await?)
}

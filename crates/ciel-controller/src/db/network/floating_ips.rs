//! Floating IPs.

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FloatingIp {
    pub id: String,
    pub project_id: String,
    pub floating_network_id: String,
    pub floating_ip_address: String,
    pub floating_port_id: String,
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<String>,
    pub router_id: Option<String>,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
}

const COLS: &str = "id, project_id, floating_network_id, floating_ip_address, floating_port_id, port_id, \
     fixed_ip_address, router_id, description, created_at, updated_at, revision_number";

pub async fn insert(e: impl sql::Executor<'_>, f: &FloatingIp) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO floating_ips ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&f.id)
    .bind(&f.project_id)
    .bind(&f.floating_network_id)
    .bind(&f.floating_ip_address)
    .bind(&f.floating_port_id)
    .bind(&f.port_id)
    .bind(&f.fixed_ip_address)
    .bind(&f.router_id)
    .bind(&f.description)
    .bind(f.created_at)
    .bind(f.updated_at)
    .bind(f.revision_number)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<FloatingIp>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM floating_ips WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<FloatingIp>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM floating_ips ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn update(e: impl sql::Executor<'_>, f: &FloatingIp) -> Result<()> {
    let r = sql::query(
        "UPDATE floating_ips SET port_id = ?, fixed_ip_address = ?, router_id = ?, description = ?, updated_at = ?, \
         revision_number = revision_number + 1 WHERE id = ?",
    )
    .bind(&f.port_id)
    .bind(&f.fixed_ip_address)
    .bind(&f.router_id)
    .bind(&f.description)
    .bind(f.updated_at)
    .bind(&f.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "floating ip", &f.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM floating_ips WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "floating ip", id)
}

/// A port going away takes its floating IP associations with it.
pub async fn disassociate_port(e: impl sql::Executor<'_>, port_id: &str, at: i64) -> Result<()> {
    sql::query(
        "UPDATE floating_ips SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL, updated_at = ?, \
         revision_number = revision_number + 1 WHERE port_id = ?",
    )
    .bind(at)
    .bind(port_id)
    .execute(e)
    .await?;
    Ok(())
}

/// Floating IPs that go through a router (it cannot lose their path while they exist).
pub async fn count_via_router(e: impl sql::Executor<'_>, router_id: &str) -> Result<i64> {
    Ok(
        sql::query_scalar("SELECT count(*) FROM floating_ips WHERE router_id = ?")
            .bind(router_id)
            .fetch_one(e)
            .await?,
    )
}

/// Floating IPs associated with a port, all of them or only those on ports of one project
/// (read once to show the servers of a listing with their floating addresses).
pub async fn associated(e: impl sql::Executor<'_>, port_project: Option<&str>) -> Result<Vec<FloatingIp>> {
    let sql = match port_project {
        None => format!("SELECT {COLS} FROM floating_ips WHERE port_id IS NOT NULL ORDER BY created_at, id"),
        Some(_) => format!(
            "SELECT {COLS} FROM floating_ips WHERE port_id IN (SELECT id FROM ports WHERE project_id = ?) \
             ORDER BY created_at, id"
        ),
    };
    let mut q = sql::query_as(&sql);
    if let Some(p) = port_project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

/// The floating IPs associated with `ports`.
pub async fn on_ports(e: impl sql::Executor<'_>, ports: &[String]) -> Result<Vec<FloatingIp>> {
    sql::rows_in(
        e,
        &format!("SELECT {COLS} FROM floating_ips WHERE port_id IN (LIST) ORDER BY created_at, id"),
        ports,
    )
    .await
}

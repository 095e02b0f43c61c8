//! Subnet pools.

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubnetPool {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub ip_version: i64,
    /// JSON array of CIDRs.
    pub prefixes: String,
    pub default_prefixlen: i64,
    pub min_prefixlen: i64,
    pub max_prefixlen: i64,
    pub shared: bool,
    pub is_default: bool,
    pub default_quota: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
}

const COLS: &str = "id, project_id, name, description, ip_version, prefixes, default_prefixlen, min_prefixlen, \
     max_prefixlen, shared, is_default, default_quota, created_at, updated_at, revision_number";

pub async fn insert(e: impl sql::Executor<'_>, p: &SubnetPool) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO subnet_pools ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&p.id)
    .bind(&p.project_id)
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.ip_version)
    .bind(&p.prefixes)
    .bind(p.default_prefixlen)
    .bind(p.min_prefixlen)
    .bind(p.max_prefixlen)
    .bind(p.shared)
    .bind(p.is_default)
    .bind(p.default_quota)
    .bind(p.created_at)
    .bind(p.updated_at)
    .bind(p.revision_number)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<SubnetPool>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM subnet_pools WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<SubnetPool>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM subnet_pools ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn default_for(e: impl sql::Executor<'_>, ip_version: i64) -> Result<Option<SubnetPool>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM subnet_pools WHERE is_default AND ip_version = ?"
    ))
    .bind(ip_version)
    .fetch_optional(e)
    .await?)
}

pub async fn update(e: impl sql::Executor<'_>, p: &SubnetPool) -> Result<()> {
    let r = sql::query(
        "UPDATE subnet_pools SET name = ?, description = ?, prefixes = ?, default_prefixlen = ?, min_prefixlen = ?, \
         max_prefixlen = ?, is_default = ?, default_quota = ?, updated_at = ?, revision_number = revision_number + 1 \
         WHERE id = ?",
    )
    .bind(&p.name)
    .bind(&p.description)
    .bind(&p.prefixes)
    .bind(p.default_prefixlen)
    .bind(p.min_prefixlen)
    .bind(p.max_prefixlen)
    .bind(p.is_default)
    .bind(p.default_quota)
    .bind(p.updated_at)
    .bind(&p.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "subnetpool", &p.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM subnet_pools WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "subnetpool", id)
}

/// CIDRs of the subnets allocated from a pool.
pub async fn allocated(e: impl sql::Executor<'_>, pool_id: &str) -> Result<Vec<String>> {
    Ok(sql::query_scalar("SELECT cidr FROM subnets WHERE subnetpool_id = ?")
        .bind(pool_id)
        .fetch_all(e)
        .await?)
}

//! Network quota overrides and usage counts.

use crate::error::Result;
use sqlx::SqliteExecutor;

pub async fn overrides(e: impl SqliteExecutor<'_>, project_id: &str) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT resource, hard_limit FROM network_quotas WHERE project_id = ?")
            .bind(project_id)
            .fetch_all(e)
            .await?,
    )
}

/// Projects that have overrides.
pub async fn projects(e: impl SqliteExecutor<'_>) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT project_id FROM network_quotas ORDER BY project_id")
            .fetch_all(e)
            .await?,
    )
}

pub async fn set(e: impl SqliteExecutor<'_>, project_id: &str, resource: &str, limit: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO network_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) \
         ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
    )
    .bind(project_id)
    .bind(resource)
    .bind(limit)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn reset(e: impl SqliteExecutor<'_>, project_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM network_quotas WHERE project_id = ?")
        .bind(project_id)
        .execute(e)
        .await?;
    Ok(())
}

/// How many of `resource` a project holds. The table names are fixed, never from input.
pub async fn usage(e: impl SqliteExecutor<'_>, project_id: &str, resource: &str) -> Result<i64> {
    let table = match resource {
        "network" => "networks",
        "subnet" => "subnets",
        "port" => "ports",
        "router" => "routers",
        "floatingip" => "floating_ips",
        "security_group" => "security_groups",
        "security_group_rule" => "security_group_rules",
        "subnetpool" => "subnet_pools",
        _ => return Ok(0),
    };
    Ok(
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE project_id = ?"))
            .bind(project_id)
            .fetch_one(e)
            .await?,
    )
}

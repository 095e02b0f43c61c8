//! Network quota usage counts and the projects with overrides (the overrides themselves:
//! `quota_overrides`).

use crate::db::sql;
use crate::error::Result;

/// Projects that have overrides.
pub async fn projects(e: impl sql::Executor<'_>) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT DISTINCT project_id FROM network_quotas ORDER BY project_id")
            .fetch_all(e)
            .await?,
    )
}

/// How many of `resource` a project holds. The table names are fixed, never from input.
pub async fn usage(e: impl sql::Executor<'_>, project_id: &str, resource: &str) -> Result<i64> {
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
        sql::query_scalar(&format!("SELECT count(*) FROM {table} WHERE project_id = ?"))
            .bind(project_id)
            .fetch_one(e)
            .await?,
    )
}

//! Per-project quota overrides, one table per service with the same shape
//! (project_id, resource, hard_limit); absent rows mean the service's default.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub enum Service {
    Network,
    Compute,
    Volume,
    LoadBalancer,
}

impl Service {
    /// Fixed table names, never taken from input.
    fn table(self) -> &'static str {
        match self {
            Service::Network => "network_quotas",
            Service::Compute => "compute_quotas",
            Service::Volume => "volume_quotas",
            Service::LoadBalancer => "lb_quotas",
        }
    }
}

pub async fn overrides(e: impl sql::Executor<'_>, s: Service, project_id: &str) -> Result<Vec<(String, i64)>> {
    Ok(sql::query_as(&format!(
        "SELECT resource, hard_limit FROM {} WHERE project_id = ?",
        s.table()
    ))
    .bind(project_id)
    .fetch_all(e)
    .await?)
}

pub async fn set(e: impl sql::Executor<'_>, s: Service, project_id: &str, resource: &str, limit: i64) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO {} (project_id, resource, hard_limit) VALUES (?, ?, ?) \
         ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
        s.table()
    ))
    .bind(project_id)
    .bind(resource)
    .bind(limit)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn reset(e: impl sql::Executor<'_>, s: Service, project_id: &str) -> Result<()> {
    sql::query(&format!("DELETE FROM {} WHERE project_id = ?", s.table()))
        .bind(project_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Every project's overrides of one service: (project, resource, limit).
pub async fn all(e: impl sql::Executor<'_>, s: Service) -> Result<Vec<(String, String, i64)>> {
    Ok(
        sql::query_as(&format!("SELECT project_id, resource, hard_limit FROM {}", s.table()))
            .fetch_all(e)
            .await?,
    )
}

//! Compute quota overrides.

use crate::error::Result;
use sqlx::SqliteExecutor;

pub async fn overrides(e: impl SqliteExecutor<'_>, project_id: &str) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT resource, hard_limit FROM compute_quotas WHERE project_id = ?")
            .bind(project_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn set(e: impl SqliteExecutor<'_>, project_id: &str, resource: &str, limit: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO compute_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) \
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
    sqlx::query("DELETE FROM compute_quotas WHERE project_id = ?")
        .bind(project_id)
        .execute(e)
        .await?;
    Ok(())
}

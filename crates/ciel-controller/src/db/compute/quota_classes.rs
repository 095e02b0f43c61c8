//! Quota class limits (only the `default` class has an effect, as in Nova).

use crate::error::Result;
use sqlx::SqliteExecutor;

pub async fn limits(e: impl SqliteExecutor<'_>, class: &str) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT resource, hard_limit FROM compute_quota_classes WHERE class_name = ?")
            .bind(class)
            .fetch_all(e)
            .await?,
    )
}

pub async fn set(e: impl SqliteExecutor<'_>, class: &str, resource: &str, limit: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO compute_quota_classes (class_name, resource, hard_limit) VALUES (?, ?, ?) \
         ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
    )
    .bind(class)
    .bind(resource)
    .bind(limit)
    .execute(e)
    .await?;
    Ok(())
}

//! Quota class limits (only the `default` class has an effect, as in Nova).

use crate::db::sql;
use crate::error::Result;

pub async fn limits(e: impl sql::Executor<'_>, class: &str) -> Result<Vec<(String, i64)>> {
    Ok(
        sql::query_as("SELECT resource, hard_limit FROM compute_quota_classes WHERE class_name = ?")
            .bind(class)
            .fetch_all(e)
            .await?,
    )
}

pub async fn set(e: impl sql::Executor<'_>, class: &str, resource: &str, limit: i64) -> Result<()> {
    sql::query(
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

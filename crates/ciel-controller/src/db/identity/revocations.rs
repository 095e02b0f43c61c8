use crate::db::sql;
use crate::error::Result;

/// Tokens matching every set field and issued at or before `issued_before` (µs) are revoked.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct RevocationEvent {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub audit_id: Option<String>,
    pub issued_before: i64,
}

pub async fn insert(e: impl sql::Executor<'_>, r: &RevocationEvent, now: i64) -> Result<()> {
    sql::query(
        "INSERT INTO revocation_events (user_id, project_id, domain_id, audit_id, issued_before, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.user_id)
    .bind(&r.project_id)
    .bind(&r.domain_id)
    .bind(&r.audit_id)
    .bind(r.issued_before)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Events still relevant: those younger than the longest token lifetime.
pub async fn list_since(e: impl sql::Executor<'_>, issued_after: i64) -> Result<Vec<RevocationEvent>> {
    Ok(sql::query_as(
        "SELECT user_id, project_id, domain_id, audit_id, issued_before FROM revocation_events WHERE issued_before > ?",
    )
    .bind(issued_after)
    .fetch_all(e)
    .await?)
}

pub async fn prune(e: impl sql::Executor<'_>, issued_before: i64) -> Result<u64> {
    let r = sql::query("DELETE FROM revocation_events WHERE issued_before <= ?")
        .bind(issued_before)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

//! Instance actions: the record of user requests on servers.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InstanceAction {
    pub request_id: String,
    pub server_id: String,
    pub action: String,
    pub project_id: String,
    pub user_id: String,
    pub message: Option<String>,
    pub start_time: i64,
    pub updated_at: i64,
}

const COLS: &str = "request_id, server_id, action, project_id, user_id, message, start_time, updated_at";

pub async fn insert(e: impl sql::Executor<'_>, a: &InstanceAction) -> Result<()> {
    // One request may act on a server once; a retried request id keeps the first record.
    sql::query(&format!(
        "INSERT INTO instance_actions ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
    ))
    .bind(&a.request_id)
    .bind(&a.server_id)
    .bind(&a.action)
    .bind(&a.project_id)
    .bind(&a.user_id)
    .bind(&a.message)
    .bind(a.start_time)
    .bind(a.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

/// A server's actions, newest first (as Nova lists them).
pub async fn list(e: impl sql::Executor<'_>, server_id: &str) -> Result<Vec<InstanceAction>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM instance_actions WHERE server_id = ? ORDER BY start_time DESC, rowid DESC"
    ))
    .bind(server_id)
    .fetch_all(e)
    .await?)
}

pub async fn get(e: impl sql::Executor<'_>, server_id: &str, request_id: &str) -> Result<Option<InstanceAction>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM instance_actions WHERE server_id = ? AND request_id = ?"
    ))
    .bind(server_id)
    .bind(request_id)
    .fetch_optional(e)
    .await?)
}

//! User messages (`volume_messages`): one row per failure told to a project.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub project_id: String,
    pub request_id: String,
    pub resource_type: String,
    pub resource_uuid: Option<String>,
    pub action_id: String,
    pub detail_id: String,
    pub message_level: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const COLS: &str = "id, project_id, request_id, resource_type, resource_uuid, action_id, detail_id, \
     message_level, created_at, expires_at";

/// Inserts a message, dropping the expired ones on the way (the table stays small without
/// a reaper task).
pub async fn insert(e: &mut sql::Conn<'_>, m: &Message) -> Result<()> {
    sql::query("DELETE FROM volume_messages WHERE expires_at < ?")
        .bind(m.created_at)
        .execute(&mut *e)
        .await?;
    sql::query(&format!(
        "INSERT INTO volume_messages ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&m.id)
    .bind(&m.project_id)
    .bind(&m.request_id)
    .bind(&m.resource_type)
    .bind(&m.resource_uuid)
    .bind(&m.action_id)
    .bind(&m.detail_id)
    .bind(&m.message_level)
    .bind(m.created_at)
    .bind(m.expires_at)
    .execute(&mut *e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Message>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM volume_messages WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

/// A project's messages (every project's when None) not yet expired, newest first.
pub async fn list(e: impl sql::Executor<'_>, project: Option<&str>, now: i64) -> Result<Vec<Message>> {
    let filter = if project.is_some() { "AND project_id = ?" } else { "" };
    let q =
        format!("SELECT {COLS} FROM volume_messages WHERE expires_at >= ? {filter} ORDER BY created_at DESC, id DESC");
    let mut q = sql::query_as(&q).bind(now);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_messages WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

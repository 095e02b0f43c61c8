//! Volume transfers: a pending (or accepted) hand-over of a volume to another project.
//! The auth key itself is never stored, only a salted hash of it.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Transfer {
    pub id: String,
    pub volume_id: String,
    pub source_project_id: String,
    pub destination_project_id: Option<String>,
    pub name: Option<String>,
    pub salt: String,
    pub crypt_hash: String,
    pub no_snapshots: bool,
    pub accepted: bool,
    pub created_at: i64,
}

const COLS: &str = "id, volume_id, source_project_id, destination_project_id, name, salt, crypt_hash, \
     no_snapshots, accepted, created_at";

pub async fn insert(e: impl sql::Executor<'_>, t: &Transfer) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_transfers ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&t.id)
    .bind(&t.volume_id)
    .bind(&t.source_project_id)
    .bind(&t.destination_project_id)
    .bind(&t.name)
    .bind(&t.salt)
    .bind(&t.crypt_hash)
    .bind(t.no_snapshots)
    .bind(t.accepted)
    .bind(t.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Transfer>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM volume_transfers WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

/// Pending transfers (all projects' when `project` is None), oldest first.
pub async fn list_pending(e: impl sql::Executor<'_>, project: Option<&str>) -> Result<Vec<Transfer>> {
    let q = match project {
        Some(_) => format!(
            "SELECT {COLS} FROM volume_transfers WHERE accepted = FALSE AND source_project_id = ? \
             ORDER BY created_at, id"
        ),
        None => format!("SELECT {COLS} FROM volume_transfers WHERE accepted = FALSE ORDER BY created_at, id"),
    };
    let mut q = sql::query_as(&q);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

/// The pending transfer of a volume, if any.
pub async fn pending_of(e: impl sql::Executor<'_>, volume: &str) -> Result<Option<Transfer>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM volume_transfers WHERE volume_id = ? AND accepted = FALSE"
    ))
    .bind(volume)
    .fetch_optional(e)
    .await?)
}

pub async fn mark_accepted(e: impl sql::Executor<'_>, id: &str, destination: &str) -> Result<()> {
    let r = sql::query(
        "UPDATE volume_transfers SET accepted = TRUE, destination_project_id = ? WHERE id = ? AND accepted = FALSE",
    )
    .bind(destination)
    .bind(id)
    .execute(e)
    .await?;
    crate::db::one_row(r.rows_affected(), "transfer", id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_transfers WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// Moves a volume to another project and user (the accepting caller).
pub async fn move_volume(e: impl sql::Executor<'_>, volume: &str, project: &str, user: &str, now: i64) -> Result<()> {
    sql::query("UPDATE volumes SET project_id = ?, user_id = ?, status = 'available', updated_at = ? WHERE id = ?")
        .bind(project)
        .bind(user)
        .bind(now)
        .bind(volume)
        .execute(e)
        .await?;
    Ok(())
}

/// Moves a volume's snapshots to another project and user.
pub async fn move_snapshots(
    e: impl sql::Executor<'_>,
    volume: &str,
    project: &str,
    user: &str,
    now: i64,
) -> Result<()> {
    sql::query("UPDATE volume_snapshots SET project_id = ?, user_id = ?, updated_at = ? WHERE volume_id = ?")
        .bind(project)
        .bind(user)
        .bind(now)
        .bind(volume)
        .execute(e)
        .await?;
    Ok(())
}

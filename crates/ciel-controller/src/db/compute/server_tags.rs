//! Server tags (Nova 2.26).

use crate::error::Result;
use sqlx::SqliteExecutor;

pub async fn list(e: impl SqliteExecutor<'_>, server_id: &str) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT tag FROM server_tags WHERE server_id = ? ORDER BY tag")
            .bind(server_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn add(e: impl SqliteExecutor<'_>, server_id: &str, tag: &str) -> Result<()> {
    sqlx::query("INSERT OR IGNORE INTO server_tags (server_id, tag) VALUES (?, ?)")
        .bind(server_id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(())
}

/// Removes one tag; false when the server did not have it.
pub async fn remove(e: impl SqliteExecutor<'_>, server_id: &str, tag: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM server_tags WHERE server_id = ? AND tag = ?")
        .bind(server_id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn clear(e: impl SqliteExecutor<'_>, server_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM server_tags WHERE server_id = ?")
        .bind(server_id)
        .execute(e)
        .await?;
    Ok(())
}

//! Server tags (Nova 2.26).

use crate::db::sql;
use crate::error::Result;

pub async fn list(e: impl sql::Executor<'_>, server_id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT tag FROM server_tags WHERE server_id = ? ORDER BY tag")
            .bind(server_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn add(e: impl sql::Executor<'_>, server_id: &str, tag: &str) -> Result<()> {
    sql::query("INSERT INTO server_tags (server_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(server_id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(())
}

/// Removes one tag; false when the server did not have it.
pub async fn remove(e: impl sql::Executor<'_>, server_id: &str, tag: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM server_tags WHERE server_id = ? AND tag = ?")
        .bind(server_id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn clear(e: impl sql::Executor<'_>, server_id: &str) -> Result<()> {
    sql::query("DELETE FROM server_tags WHERE server_id = ?")
        .bind(server_id)
        .execute(e)
        .await?;
    Ok(())
}

/// `(server id, tag)` of `servers`, each server's tags in order.
pub async fn of_servers(e: impl sql::Executor<'_>, servers: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(
        e,
        "SELECT server_id, tag FROM server_tags WHERE server_id IN (LIST) ORDER BY tag",
        servers,
    )
    .await
}

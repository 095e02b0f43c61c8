//! Which ports the compute service created (and so deletes) for a server.

use crate::error::Result;
use sqlx::SqliteExecutor;

pub async fn remember(e: impl SqliteExecutor<'_>, port_id: &str, server_id: &str) -> Result<()> {
    sqlx::query("INSERT OR IGNORE INTO compute_created_ports (port_id, server_id) VALUES (?, ?)")
        .bind(port_id)
        .bind(server_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn was_created(e: impl SqliteExecutor<'_>, port_id: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT count(*) > 0 FROM compute_created_ports WHERE port_id = ?")
            .bind(port_id)
            .fetch_one(e)
            .await?,
    )
}

pub async fn forget(e: impl SqliteExecutor<'_>, port_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM compute_created_ports WHERE port_id = ?")
        .bind(port_id)
        .execute(e)
        .await?;
    Ok(())
}

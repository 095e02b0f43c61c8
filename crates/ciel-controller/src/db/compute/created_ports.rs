//! Which ports the compute service created (and so deletes) for a server.

use crate::db::sql;
use crate::error::Result;

pub async fn remember(e: impl sql::Executor<'_>, port_id: &str, server_id: &str) -> Result<()> {
    sql::query("INSERT INTO compute_created_ports (port_id, server_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(port_id)
        .bind(server_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn was_created(e: impl sql::Executor<'_>, port_id: &str) -> Result<bool> {
    Ok(
        sql::query_scalar("SELECT count(*) > 0 FROM compute_created_ports WHERE port_id = ?")
            .bind(port_id)
            .fetch_one(e)
            .await?,
    )
}

pub async fn forget(e: impl sql::Executor<'_>, port_id: &str) -> Result<()> {
    sql::query("DELETE FROM compute_created_ports WHERE port_id = ?")
        .bind(port_id)
        .execute(e)
        .await?;
    Ok(())
}

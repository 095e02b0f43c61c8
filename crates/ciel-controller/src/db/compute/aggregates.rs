//! Host aggregates and their hosts.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Aggregate {
    pub id: i64,
    pub name: String,
    pub availability_zone: Option<String>,
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

const COLS: &str = "id, name, availability_zone, metadata, created_at, updated_at";

/// Inserts and returns the new id.
pub async fn insert(e: impl sql::Executor<'_>, name: &str, zone: Option<&str>, now: i64) -> Result<i64> {
    Ok(sql::query_scalar(
        "INSERT INTO aggregates (name, availability_zone, metadata, created_at) VALUES (?, ?, '{}', ?) RETURNING id",
    )
    .bind(name)
    .bind(zone)
    .bind(now)
    .fetch_one(e)
    .await?)
}

pub async fn get(e: impl sql::Executor<'_>, id: i64) -> Result<Option<Aggregate>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM aggregates WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Aggregate>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM aggregates ORDER BY id"))
        .fetch_all(e)
        .await?)
}

pub async fn update(e: impl sql::Executor<'_>, a: &Aggregate) -> Result<()> {
    sql::query("UPDATE aggregates SET name = ?, availability_zone = ?, metadata = ?, updated_at = ? WHERE id = ?")
        .bind(&a.name)
        .bind(&a.availability_zone)
        .bind(&a.metadata)
        .bind(a.updated_at)
        .bind(a.id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn delete(e: impl sql::Executor<'_>, id: i64) -> Result<()> {
    sql::query("DELETE FROM aggregates WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn hosts(e: impl sql::Executor<'_>, id: i64) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT host_name FROM aggregate_hosts WHERE aggregate_id = ? ORDER BY host_name")
            .bind(id)
            .fetch_all(e)
            .await?,
    )
}

/// Adds a host; false when it was already there.
pub async fn add_host(e: impl sql::Executor<'_>, id: i64, host: &str) -> Result<bool> {
    let r = sql::query("INSERT INTO aggregate_hosts (aggregate_id, host_name) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(host)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Removes a host; false when it was not there.
pub async fn remove_host(e: impl sql::Executor<'_>, id: i64, host: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM aggregate_hosts WHERE aggregate_id = ? AND host_name = ?")
        .bind(id)
        .bind(host)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

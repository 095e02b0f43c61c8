//! The agents' measurements for the dashboard's graphs (`server_samples`, `host_samples`):
//! see the migration `0047_samples.sql` and `app::samples`.

use crate::db::sql;
use crate::error::Result;
use ciel_proto::{HostSample, ServerSample};

/// Keeps `s` taken at `at`, if server `s.server_id` runs on `host` (a host speaks for its
/// own servers only).
pub async fn add_server(e: impl sql::Executor<'_>, host: &str, at: i64, s: &ServerSample) -> Result<()> {
    sql::query(
        "INSERT INTO server_samples (server_id, at, cpu_seconds, memory_rss_bytes, disk_read_bytes, \
                disk_write_bytes, network_rx_bytes, network_tx_bytes) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM servers WHERE id = ? AND host_id = ?) \
         ON CONFLICT (server_id, at) DO NOTHING",
    )
    .bind(&s.server_id)
    .bind(at)
    .bind(s.cpu_seconds)
    .bind(clamp(s.memory_rss_bytes))
    .bind(clamp(s.disk_read_bytes))
    .bind(clamp(s.disk_write_bytes))
    .bind(clamp(s.network_rx_bytes))
    .bind(clamp(s.network_tx_bytes))
    .bind(&s.server_id)
    .bind(host)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn add_host(e: impl sql::Executor<'_>, host: &str, at: i64, s: &HostSample) -> Result<()> {
    sql::query(
        "INSERT INTO host_samples (host_id, at, cpu_total_seconds, cpu_busy_seconds, memory_total_bytes, \
                memory_available_bytes, storage_size_bytes, storage_free_bytes) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host_id, at) DO NOTHING",
    )
    .bind(host)
    .bind(at)
    .bind(s.cpu_total_seconds)
    .bind(s.cpu_busy_seconds)
    .bind(clamp(s.memory_total_bytes))
    .bind(clamp(s.memory_available_bytes))
    .bind(clamp(s.storage_size_bytes))
    .bind(clamp(s.storage_free_bytes))
    .execute(e)
    .await?;
    Ok(())
}

/// When `host` last sent its own figures.
pub async fn latest_host_at(e: impl sql::Executor<'_>, host: &str) -> Result<Option<i64>> {
    Ok(sql::query_scalar("SELECT MAX(at) FROM host_samples WHERE host_id = ?")
        .bind(host)
        .fetch_one(e)
        .await?)
}

/// Counters are unsigned on the host, signed in SQL.
fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A server's row, as the graphs read it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ServerRow {
    pub at: i64,
    pub cpu_seconds: f64,
    pub memory_rss_bytes: i64,
    pub disk_read_bytes: i64,
    pub disk_write_bytes: i64,
    pub network_rx_bytes: i64,
    pub network_tx_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HostRow {
    pub at: i64,
    pub cpu_total_seconds: f64,
    pub cpu_busy_seconds: f64,
    pub memory_total_bytes: i64,
    pub memory_available_bytes: i64,
    pub storage_size_bytes: i64,
    pub storage_free_bytes: i64,
}

/// A server's rows from `since` on, oldest first.
pub async fn server_rows(e: impl sql::Executor<'_>, server: &str, since: i64) -> Result<Vec<ServerRow>> {
    Ok(sql::query_as(
        "SELECT at, cpu_seconds, memory_rss_bytes, disk_read_bytes, disk_write_bytes, network_rx_bytes, \
                network_tx_bytes FROM server_samples WHERE server_id = ? AND at >= ? ORDER BY at",
    )
    .bind(server)
    .bind(since)
    .fetch_all(e)
    .await?)
}

pub async fn host_rows(e: impl sql::Executor<'_>, host: &str, since: i64) -> Result<Vec<HostRow>> {
    Ok(sql::query_as(
        "SELECT at, cpu_total_seconds, cpu_busy_seconds, memory_total_bytes, memory_available_bytes, \
                storage_size_bytes, storage_free_bytes FROM host_samples WHERE host_id = ? AND at >= ? ORDER BY at",
    )
    .bind(host)
    .bind(since)
    .fetch_all(e)
    .await?)
}

/// Leaves one row per `step` seconds (the bucket's first) among rows taken in `[from, to)`,
/// and forgets every row older than `before`. Returns the rows removed.
pub async fn thin(e: &mut sql::Conn<'_>, from: i64, to: i64, step: i64, before: i64) -> Result<u64> {
    let mut removed = 0;
    for (table, key) in [("server_samples", "server_id"), ("host_samples", "host_id")] {
        let text = format!(
            "DELETE FROM {table} WHERE at >= ? AND at < ? AND EXISTS (SELECT 1 FROM {table} older \
             WHERE older.{key} = {table}.{key} AND older.at >= {table}.at / ? * ? AND older.at < {table}.at)"
        );
        // (The bucket's start bounds the look back to a few index entries per row.)
        removed += sql::query(&text)
            .bind(from)
            .bind(to)
            .bind(step)
            .bind(step)
            .execute(&mut *e)
            .await?
            .rows_affected();
        removed += sql::query(&format!("DELETE FROM {table} WHERE at < ?"))
            .bind(before)
            .execute(&mut *e)
            .await?
            .rows_affected();
    }
    Ok(removed)
}

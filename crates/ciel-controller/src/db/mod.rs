//! Datastore: connection pool, migrations and one module of queries per resource.
//! Only the `app` layer calls into here.

pub mod compute;
pub mod identity;
pub mod image;
pub mod network;
pub mod quota_overrides;
pub mod text_enum;
pub mod tx;
pub mod volume;

use crate::error::Result;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub type Pool = SqlitePool;
pub use tx::{HostWakeups, Tx};

/// Opens (creating if needed) the embedded SQLite database and applies migrations.
pub async fn open(data_dir: &Path) -> anyhow::Result<Pool> {
    let path = data_dir.join("ciel.db");
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// A read transaction (deferred `BEGIN`: one consistent snapshot, no write lock).
pub async fn begin_read(pool: &Pool) -> Result<Tx<'static>> {
    Ok(Tx::new(pool.begin().await?, None))
}

/// Starts a write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up front, so a
/// transaction that reads before it writes cannot fail with SQLITE_BUSY_SNAPSHOT under
/// concurrency. Its commit wakes the agents' long polls when it changed some host's desired
/// state; there is no write transaction without that (the app's start at `App::begin`).
pub async fn begin_notifying(pool: &Pool, wakeups: &HostWakeups) -> Result<Tx<'static>> {
    Ok(Tx::new(
        pool.begin_with("BEGIN IMMEDIATE").await?,
        Some(wakeups.clone()),
    ))
}

/// Opens an in-memory database with the schema applied (unit tests).
pub async fn open_memory() -> anyhow::Result<Pool> {
    let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Microseconds since the Unix epoch (token issue times and revocations need sub-second order).
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Result of a write that targets one row: map "no row" to the caller's NotFound.
pub fn one_row(affected: u64, kind: &'static str, id: &str) -> Result<()> {
    if affected == 0 {
        Err(crate::error::Error::not_found(kind, id))
    } else {
        Ok(())
    }
}

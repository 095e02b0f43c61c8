//! Datastore: connection pool, migrations and one module of queries per resource.
//! Only the `app` layer calls into here.

pub mod cluster;
pub mod compute;
pub mod contention;
pub mod identity;
pub mod image;
pub mod loadbalancer;
pub mod network;
pub mod observe;
pub mod quota_overrides;
pub mod samples;
pub mod sql;
pub mod text_enum;
pub mod tx;
pub mod usage;
pub mod volume;
pub mod wakeups;

use crate::error::Result;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub use sql::{Conn, Engine, Pool, SqliteDb};
pub use tx::Tx;
pub use wakeups::HostWakeups;

/// Opens the database `url` names (`postgres://…`), or else the embedded SQLite file in
/// `data_dir` (created if needed), and brings its schema up to date. On PostgreSQL sqlx's
/// migrator holds an advisory lock, so controllers starting together migrate once.
pub async fn open(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Pool> {
    match url {
        Some(url) if is_postgres(url) => open_postgres(url).await,
        Some(url) => {
            anyhow::bail!("unsupported database URL {url:?}: expected postgres://… (or none for the SQLite file)")
        }
        None => open_sqlite(data_dir).await,
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

async fn open_sqlite(data_dir: &Path) -> anyhow::Result<Pool> {
    let path = data_dir.join("ciel.db");
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(Pool::Sqlite(SqliteDb::new(pool)))
}

async fn open_postgres(url: &str) -> anyhow::Result<Pool> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    sqlx::migrate!("./migrations-postgres").run(&pool).await?;
    Ok(Pool::Postgres(pool))
}

/// A read transaction: one consistent snapshot, no write lock (SQLite's deferred `BEGIN`,
/// PostgreSQL's repeatable read).
pub async fn begin_read(pool: &Pool) -> Result<Tx<'static>> {
    let conn = match pool {
        Pool::Sqlite(p) => Conn::Sqlite(p.pool.begin().await?),
        Pool::Postgres(p) => Conn::Postgres(p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ").await?),
    };
    Ok(Tx::new(conn, None))
}

/// The lock every write transaction takes on PostgreSQL (`pg_advisory_xact_lock`), so that
/// writes are serialized exactly as by SQLite's single writer.
pub const WRITER_LOCK: i64 = 0x6369_656c;

/// Starts a write transaction. It takes the engine's one writer lock up front (SQLite's
/// `BEGIN IMMEDIATE`; on PostgreSQL a transaction-scoped advisory lock), so a transaction
/// that reads before it writes sees the latest commit and cannot lose an update, on either
/// engine and across controllers sharing the database. Its commit wakes the agents' long
/// polls when it changed some host's desired state; there is no write transaction without
/// that (the app's start at `App::begin`).
pub async fn begin_notifying(pool: &Pool, wakeups: &HostWakeups) -> Result<Tx<'static>> {
    let timer = crate::metrics::TxTimer::start(match pool {
        Pool::Sqlite(_) => "sqlite",
        Pool::Postgres(_) => "postgres",
    });
    let mut turn = None;
    let conn = match pool {
        Pool::Sqlite(p) => {
            turn = Some(p.writer_turn().await?);
            Conn::Sqlite(p.pool.begin_with("BEGIN IMMEDIATE").await?)
        }
        Pool::Postgres(p) => {
            let mut t = p.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITER_LOCK)
                .execute(&mut *t)
                .await?;
            Conn::Postgres(t)
        }
    };
    Ok(Tx::new(conn, Some(wakeups.clone())).holding(turn).timed(timer))
}

/// Held while a controller bootstraps and seeds the database: controllers starting at the
/// same moment on an empty database then create the admin, the flavors and the external
/// network once. On PostgreSQL a session advisory lock on a connection of its own (closed,
/// not returned to the pool, when this is dropped); one controller owns a SQLite file.
pub struct StartupLock(#[allow(dead_code)] Option<sqlx::PgConnection>);

pub async fn startup_lock(pool: &Pool) -> Result<StartupLock> {
    let Pool::Postgres(pg) = pool else {
        return Ok(StartupLock(None));
    };
    let mut conn = pg.acquire().await?.detach();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(STARTUP_LOCK)
        .execute(&mut conn)
        .await?;
    Ok(StartupLock(Some(conn)))
}

const STARTUP_LOCK: i64 = WRITER_LOCK + 1;

/// A database for one test: SQLite in memory, or a new database on the PostgreSQL server
/// `CIEL_TEST_DATABASE` names, so the same tests run on both engines.
pub async fn open_memory() -> anyhow::Result<Pool> {
    if let Some(url) = fresh_test_database().await? {
        return open_postgres(&url).await;
    }
    let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(Pool::Sqlite(SqliteDb::new(pool)))
}

/// A database for one test that needs several connections: the SQLite file in `data_dir`,
/// or a new database on the PostgreSQL server `CIEL_TEST_DATABASE` names.
pub async fn open_for_tests(data_dir: &Path) -> anyhow::Result<Pool> {
    match fresh_test_database().await? {
        Some(url) => open_postgres(&url).await,
        None => open_sqlite(data_dir).await,
    }
}

/// For tests of several controllers: the URL of a new database on the PostgreSQL server
/// `CIEL_TEST_DATABASE` names (none when the tests run on SQLite).
pub async fn fresh_test_database() -> anyhow::Result<Option<String>> {
    match std::env::var("CIEL_TEST_DATABASE") {
        Ok(server) => Ok(Some(fresh_postgres_database(&server).await?)),
        Err(_) => Ok(None),
    }
}

/// Creates an empty database on the server `server_url` points at and returns its URL.
async fn fresh_postgres_database(server_url: &str) -> anyhow::Result<String> {
    let name = format!("ciel_test_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPoolOptions::new().max_connections(1).connect(server_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await?;
    admin.close().await;
    let base = server_url.rsplit_once('/').map_or(server_url, |(b, _)| b);
    Ok(format!("{base}/{name}"))
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

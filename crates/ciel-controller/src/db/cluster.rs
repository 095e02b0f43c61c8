//! Cluster-wide change counters (`cluster_generations`): every controller sharing the
//! database reads them to notice what another one changed. On PostgreSQL each bump also
//! sends a NOTIFY on [`CHANNEL`] (delivered at commit), which only wakes readers earlier.
use crate::db::sql::{self, Engine};
use crate::error::Result;

/// The PostgreSQL notification channel controllers listen on.
pub const CHANNEL: &str = "ciel_cluster";

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Identity writes (users, roles, assignments, revocations…): cached scopes go stale.
    Identity,
    /// Commits that changed some host's desired state: long polls should look again.
    Hosts,
}

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Counter::Identity => "identity",
            Counter::Hosts => "hosts",
        }
    }
}

/// Bumps `counter` in the transaction or connection `e` (and notifies, on PostgreSQL);
/// returns its new value.
pub async fn bump(e: &mut sql::Conn<'_>, counter: Counter) -> Result<i64> {
    let value =
        sql::query_scalar::<i64>("UPDATE cluster_generations SET value = value + 1 WHERE name = ? RETURNING value")
            .bind(counter.name())
            .fetch_one(&mut *e)
            .await?;
    if e.engine() == Engine::Postgres {
        sql::query("SELECT pg_notify(?, ?)")
            .bind(CHANNEL)
            .bind(counter.name())
            .execute(e)
            .await?;
    }
    Ok(value)
}

/// The counters' current values.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Generations {
    pub identity: i64,
    pub hosts: i64,
}

pub async fn read(e: impl sql::Executor<'_>) -> Result<Generations> {
    let rows: Vec<(String, i64)> = sql::query_as("SELECT name, value FROM cluster_generations")
        .fetch_all(e)
        .await?;
    let mut g = Generations::default();
    for (name, value) in rows {
        match name.as_str() {
            "identity" => g.identity = value,
            "hosts" => g.hosts = value,
            _ => {}
        }
    }
    Ok(g)
}

/// Records (or refreshes) this controller's row.
pub async fn beat(e: impl sql::Executor<'_>, id: &str, hostname: &str, now: i64) -> Result<()> {
    sql::query(
        "INSERT INTO controllers (id, hostname, started_at, seen_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(id)
    .bind(hostname)
    .bind(now)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Drops the rows of controllers not seen since `before` that hold no lease.
pub async fn forget_controllers(e: impl sql::Executor<'_>, before: i64) -> Result<u64> {
    Ok(sql::query(
        "DELETE FROM controllers WHERE seen_at < ? \
         AND NOT EXISTS (SELECT 1 FROM work_leases w WHERE w.controller_id = controllers.id)",
    )
    .bind(before)
    .execute(e)
    .await?
    .rows_affected())
}

/// Kinds of leased work.
pub mod work {
    pub const IMAGE_UPLOAD: &str = "image_upload";
    pub const SERVER_SNAPSHOT: &str = "server_snapshot";
    pub const VOLUME_UPLOAD: &str = "volume_upload";
}

/// A piece of background work and the controller running it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    pub kind: String,
    pub resource_id: String,
    pub controller_id: String,
    /// What recovery needs besides the resource (e.g. the image a snapshot streams into).
    pub detail: String,
    pub started_at: i64,
}

pub async fn take_lease(e: impl sql::Executor<'_>, l: &Lease) -> Result<()> {
    sql::query(
        "INSERT INTO work_leases (kind, resource_id, controller_id, detail, started_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (kind, resource_id) DO UPDATE SET controller_id = excluded.controller_id, \
         detail = excluded.detail, started_at = excluded.started_at",
    )
    .bind(&l.kind)
    .bind(&l.resource_id)
    .bind(&l.controller_id)
    .bind(&l.detail)
    .bind(l.started_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn release(e: impl sql::Executor<'_>, kind: &str, resource_id: &str) -> Result<()> {
    sql::query("DELETE FROM work_leases WHERE kind = ? AND resource_id = ?")
        .bind(kind)
        .bind(resource_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Leases whose controller was last seen before `before` (or is gone).
pub async fn orphaned_leases(e: impl sql::Executor<'_>, before: i64) -> Result<Vec<Lease>> {
    Ok(sql::query_as(
        "SELECT w.kind, w.resource_id, w.controller_id, w.detail, w.started_at FROM work_leases w \
         LEFT JOIN controllers c ON c.id = w.controller_id \
         WHERE c.id IS NULL OR c.seen_at < ? ORDER BY w.started_at",
    )
    .bind(before)
    .fetch_all(e)
    .await?)
}

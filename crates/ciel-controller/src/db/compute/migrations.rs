//! Server migrations as Nova records them (`/os-migrations`, `/servers/{id}/migrations`),
//! and the PCI layout each server's VM was last reported with.

use crate::db::sql;
use crate::error::Result;

/// The statuses of a migration still under way (Nova's "in progress").
pub const IN_PROGRESS: &[&str] = &[
    "queued",
    "preparing",
    "running",
    "post-migrating",
    "pre-migrating",
    "migrating",
];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Migration {
    pub id: i64,
    pub uuid: String,
    pub server_id: String,
    pub project_id: String,
    pub user_id: String,
    /// `live-migration`, `migration`, `resize` or `evacuation`.
    pub kind: String,
    pub status: String,
    pub source_host_id: Option<String>,
    pub dest_host_id: Option<String>,
    pub source_node: Option<String>,
    pub dest_node: Option<String>,
    pub dest_addr: Option<String>,
    pub block_migration: bool,
    pub port: i64,
    pub nbd_port: i64,
    pub abort_requested: bool,
    pub force_complete: bool,
    pub old_flavor_id: Option<String>,
    pub new_flavor_id: Option<String>,
    pub memory_total: i64,
    pub memory_processed: i64,
    pub memory_remaining: i64,
    pub disk_total: i64,
    pub disk_processed: i64,
    pub disk_remaining: i64,
    pub downtime_ms: Option<i64>,
    pub total_ms: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Migration {
    pub fn in_progress(&self) -> bool {
        IN_PROGRESS.contains(&self.status.as_str())
    }

    /// A cold migration (or a resize) that moves the server to another host.
    pub fn is_cold(&self) -> bool {
        matches!(self.kind.as_str(), "migration" | "resize") && self.source_host_id != self.dest_host_id
    }
}

const COLS: &str = "id, uuid, server_id, project_id, user_id, kind, status, source_host_id, dest_host_id, \
     source_node, dest_node, dest_addr, block_migration, port, nbd_port, abort_requested, force_complete, \
     old_flavor_id, new_flavor_id, memory_total, memory_processed, memory_remaining, disk_total, disk_processed, \
     disk_remaining, downtime_ms, total_ms, error, created_at, updated_at";

/// Inserts `m` (its `id` is assigned) and returns the new id.
pub async fn insert(e: impl sql::Executor<'_>, m: &Migration) -> Result<i64> {
    Ok(sql::query_scalar(
        "INSERT INTO migrations (uuid, server_id, project_id, user_id, kind, status, source_host_id, dest_host_id, \
         source_node, dest_node, dest_addr, block_migration, port, nbd_port, old_flavor_id, new_flavor_id, created_at, \
         updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&m.uuid)
    .bind(&m.server_id)
    .bind(&m.project_id)
    .bind(&m.user_id)
    .bind(&m.kind)
    .bind(&m.status)
    .bind(&m.source_host_id)
    .bind(&m.dest_host_id)
    .bind(&m.source_node)
    .bind(&m.dest_node)
    .bind(&m.dest_addr)
    .bind(m.block_migration)
    .bind(m.port)
    .bind(m.nbd_port)
    .bind(&m.old_flavor_id)
    .bind(&m.new_flavor_id)
    .bind(m.created_at)
    .bind(m.updated_at)
    .fetch_one(e)
    .await?)
}

/// Writes back what changes during a migration.
pub async fn update(e: impl sql::Executor<'_>, m: &Migration) -> Result<()> {
    sql::query(
        "UPDATE migrations SET status = ?, abort_requested = ?, force_complete = ?, memory_total = ?, \
         memory_processed = ?, memory_remaining = ?, disk_total = ?, disk_processed = ?, disk_remaining = ?, \
         downtime_ms = ?, total_ms = ?, error = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&m.status)
    .bind(m.abort_requested)
    .bind(m.force_complete)
    .bind(m.memory_total)
    .bind(m.memory_processed)
    .bind(m.memory_remaining)
    .bind(m.disk_total)
    .bind(m.disk_processed)
    .bind(m.disk_remaining)
    .bind(m.downtime_ms)
    .bind(m.total_ms)
    .bind(&m.error)
    .bind(m.updated_at)
    .bind(m.id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: i64) -> Result<Option<Migration>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM migrations WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn by_uuid(e: impl sql::Executor<'_>, uuid: &str) -> Result<Option<Migration>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM migrations WHERE uuid = ?"))
        .bind(uuid)
        .fetch_optional(e)
        .await?)
}

/// The statuses of [`IN_PROGRESS`] as an SQL list.
pub(crate) const IN_PROGRESS_SQL: &str =
    "('queued', 'preparing', 'running', 'post-migrating', 'pre-migrating', 'migrating')";

/// Migrations that put a server on a host other than its own: live migrations in
/// progress, and cold ones until confirmed or reverted (the source keeps the stopped VM
/// while the user decides). A resize on its own host moves nothing.
pub async fn active_moves(e: impl sql::Executor<'_>) -> Result<Vec<Migration>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM migrations WHERE (kind = 'live-migration' AND status IN {IN_PROGRESS_SQL}) \
         OR (kind IN ('migration', 'resize') AND status IN ('pre-migrating', 'migrating', 'finished') \
         AND source_host_id <> dest_host_id) ORDER BY id"
    ))
    .fetch_all(e)
    .await?)
}

/// Ends a server's evacuation still under way (`accepted`): `done` or `failed`.
pub async fn end_evacuation(e: impl sql::Executor<'_>, server_id: &str, status: &str, now: i64) -> Result<()> {
    sql::query(
        "UPDATE migrations SET status = ?, updated_at = ? WHERE server_id = ? AND kind = 'evacuation' \
         AND status = 'accepted'",
    )
    .bind(status)
    .bind(now)
    .bind(server_id)
    .execute(e)
    .await?;
    Ok(())
}

/// The server's cold migration or resize waiting for confirm or revert, if any.
pub async fn finished_for_server(e: impl sql::Executor<'_>, server_id: &str) -> Result<Option<Migration>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM migrations WHERE server_id = ? AND kind IN ('migration', 'resize') \
         AND status = 'finished' ORDER BY id DESC LIMIT 1"
    ))
    .bind(server_id)
    .fetch_optional(e)
    .await?)
}

/// Migrations, newest first; `server_id` narrows to one server's.
pub async fn list(e: impl sql::Executor<'_>, server_id: Option<&str>) -> Result<Vec<Migration>> {
    let q = match server_id {
        Some(_) => format!("SELECT {COLS} FROM migrations WHERE server_id = ? ORDER BY id DESC"),
        None => format!("SELECT {COLS} FROM migrations ORDER BY id DESC"),
    };
    let mut q = sql::query_as(&q);
    if let Some(s) = server_id {
        q = q.bind(s);
    }
    Ok(q.fetch_all(e).await?)
}

/// The ports taken on `host_id` by migrations in progress there: a live migration's
/// destination and a cold migration's source listen.
pub async fn ports_in_use(e: impl sql::Executor<'_>, host_id: &str) -> Result<Vec<(i64, i64)>> {
    Ok(sql::query_as(&format!(
        "SELECT port, nbd_port FROM migrations WHERE (dest_host_id = ? OR source_host_id = ?) \
         AND status IN {IN_PROGRESS_SQL}"
    ))
    .bind(host_id)
    .bind(host_id)
    .fetch_all(e)
    .await?)
}

/// The PCI slots of the server's VM as last reported (JSON: `[{"device":…,"slot":…}]`).
pub async fn slots(e: impl sql::Executor<'_>, server_id: &str) -> Result<Option<String>> {
    Ok(
        sql::query_scalar("SELECT slots FROM server_device_slots WHERE server_id = ?")
            .bind(server_id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn set_slots(e: impl sql::Executor<'_>, server_id: &str, slots: &str) -> Result<()> {
    sql::query(
        "INSERT INTO server_device_slots (server_id, slots) VALUES (?, ?) \
         ON CONFLICT (server_id) DO UPDATE SET slots = excluded.slots",
    )
    .bind(server_id)
    .bind(slots)
    .execute(e)
    .await?;
    Ok(())
}

/// A deleted server's layout goes, and its migration in progress ends; returns the hosts
/// that migration involved.
pub async fn forget_server(tx: &mut crate::db::Tx<'_>, server_id: &str) -> Result<Vec<String>> {
    sql::query("DELETE FROM server_device_slots WHERE server_id = ?")
        .bind(server_id)
        .execute(&mut **tx)
        .await?;
    let hosts: Vec<(Option<String>, Option<String>)> = sql::query_as(&format!(
        "UPDATE migrations SET status = 'error', error = 'the server was deleted' WHERE server_id = ? \
         AND (status IN {IN_PROGRESS_SQL} OR status = 'finished') RETURNING source_host_id, dest_host_id"
    ))
    .bind(server_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(hosts.into_iter().flat_map(|(a, b)| [a, b]).flatten().collect())
}

/// Servers that moved between `host_id` and another host. `from`: those that run elsewhere
/// now (this host never deletes their shared disks), unless a cold migration from here is
/// still open (this host keeps the stopped VM for a revert). Otherwise: those that run here
/// after a move (this host takes their shared disks over).
pub async fn moved(e: impl sql::Executor<'_>, host_id: &str, from: bool) -> Result<Vec<String>> {
    let q = if from {
        format!(
            "SELECT DISTINCT m.server_id FROM migrations m JOIN servers s ON s.id = m.server_id \
             WHERE (m.source_host_id = ? OR m.dest_host_id = ?) AND s.host_id <> ? AND NOT EXISTS \
             (SELECT 1 FROM migrations a WHERE a.server_id = m.server_id AND (a.source_host_id = ? OR a.dest_host_id = ?) \
             AND (a.status IN {IN_PROGRESS_SQL} OR (a.kind IN ('migration', 'resize') AND a.status = 'finished'))) \
             ORDER BY m.server_id"
        )
    } else {
        "SELECT DISTINCT m.server_id FROM migrations m JOIN servers s ON s.id = m.server_id \
         WHERE m.kind <> 'live-migration' AND (m.source_host_id = ? OR m.dest_host_id = ?) AND s.host_id = ? \
         AND m.source_host_id <> m.dest_host_id ORDER BY m.server_id"
            .to_string()
    };
    let mut q = sql::query_scalar(&q).bind(host_id).bind(host_id).bind(host_id);
    if from {
        q = q.bind(host_id).bind(host_id);
    }
    Ok(q.fetch_all(e).await?)
}

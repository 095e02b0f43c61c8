//! Volume migrations: where a volume's data goes, who copies it, and how far it got. The
//! newest row of a volume is its Cinder `migration_status`.

use crate::db::sql;
use crate::db::text_enum::text_enum;
use crate::error::Result;

text_enum! {
    /// A migration's status, as Cinder's `migration_status` names it.
    pub enum MigrationStatus {
        /// Until the copying host reports the new copy complete (or failed).
        Migrating = "migrating",
        /// The volume is in its new place; the old copy's owner removes it from a shared pool.
        Completing = "completing",
        Success = "success",
        Error = "error",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VolumeMigration {
    pub id: String,
    pub volume_id: String,
    pub status: MigrationStatus,
    pub source_host_id: String,
    pub source_backend: String,
    pub dest_host_id: String,
    pub dest_backend: String,
    /// The host that makes the new copy.
    pub copy_host_id: String,
    /// Where the source host serves the volume to the copying host (0: it reads it itself).
    pub port: i64,
    /// A retype's new volume type, given to the volume with its new place.
    pub new_type_id: Option<String>,
    /// The volume's status before (it returns to it).
    pub previous_status: String,
    pub fail_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

impl VolumeMigration {
    /// Still doing something: the volume may not start another one.
    pub fn active(&self) -> bool {
        matches!(self.status, MigrationStatus::Migrating | MigrationStatus::Completing)
    }

    /// The volume was attached when it started moving: its server's QEMU mirrors the disk
    /// (on `copy_host_id`, the server's host) instead of a host copying it.
    pub fn mirrors(&self) -> bool {
        self.previous_status == "in-use"
    }
}

const COLS: &str = "id, volume_id, status, source_host_id, source_backend, dest_host_id, dest_backend, \
     copy_host_id, port, new_type_id, previous_status, fail_reason, created_at, updated_at";

pub async fn insert(e: impl sql::Executor<'_>, m: &VolumeMigration) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_migrations ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&m.id)
    .bind(&m.volume_id)
    .bind(m.status)
    .bind(&m.source_host_id)
    .bind(&m.source_backend)
    .bind(&m.dest_host_id)
    .bind(&m.dest_backend)
    .bind(&m.copy_host_id)
    .bind(m.port)
    .bind(&m.new_type_id)
    .bind(&m.previous_status)
    .bind(&m.fail_reason)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

/// Writes the status, its reason and the time back.
pub async fn update(e: impl sql::Executor<'_>, m: &VolumeMigration) -> Result<()> {
    let r = sql::query("UPDATE volume_migrations SET status = ?, fail_reason = ?, updated_at = ? WHERE id = ?")
        .bind(m.status)
        .bind(&m.fail_reason)
        .bind(m.updated_at)
        .bind(&m.id)
        .execute(e)
        .await?;
    crate::db::one_row(r.rows_affected(), "volume migration", &m.id)
}

/// The volume's newest migration (the last one started).
pub async fn latest(e: impl sql::Executor<'_>, volume_id: &str) -> Result<Option<VolumeMigration>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM volume_migrations WHERE volume_id = ? ORDER BY seq DESC LIMIT 1"
    ))
    .bind(volume_id)
    .fetch_optional(e)
    .await?)
}

/// The newest migration of each of volumes `ids` that has one.
pub async fn latest_of(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<VolumeMigration>> {
    let all: Vec<VolumeMigration> = sql::rows_in(
        e,
        &format!("SELECT {COLS} FROM volume_migrations WHERE volume_id IN (LIST) ORDER BY volume_id, seq DESC"),
        ids,
    )
    .await?;
    let mut newest: Vec<VolumeMigration> = vec![];
    for m in all {
        if newest.last().is_none_or(|n| n.volume_id != m.volume_id) {
            newest.push(m);
        }
    }
    Ok(newest)
}

/// Migrations with work left (`migrating`, `completing`).
pub async fn active(e: impl sql::Executor<'_>) -> Result<Vec<VolumeMigration>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM volume_migrations WHERE status IN ('migrating', 'completing') ORDER BY seq"
    ))
    .fetch_all(e)
    .await?)
}

/// Ports taken on `host` by migrations it serves a volume for.
pub async fn ports_in_use(e: impl sql::Executor<'_>, host: &str) -> Result<Vec<i64>> {
    Ok(sql::query_scalar(
        "SELECT port FROM volume_migrations WHERE source_host_id = ? AND port <> 0 AND status = 'migrating'",
    )
    .bind(host)
    .fetch_all(e)
    .await?)
}

/// A volume's rows (when the volume goes).
pub async fn delete_of_volume(e: impl sql::Executor<'_>, volume_id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_migrations WHERE volume_id = ?")
        .bind(volume_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Puts the volume's data in its new place (host and backend), with the type a retype gives.
pub async fn relocate(
    e: impl sql::Executor<'_>,
    volume_id: &str,
    host: &str,
    backend: &str,
    status: &str,
    type_id: &str,
    now: i64,
) -> Result<()> {
    let r = sql::query(
        "UPDATE volumes SET host_id = ?, backend = ?, status = ?, volume_type_id = ?, updated_at = ? WHERE id = ?",
    )
    .bind(host)
    .bind(backend)
    .bind(status)
    .bind(type_id)
    .bind(now)
    .bind(volume_id)
    .execute(e)
    .await?;
    crate::db::one_row(r.rows_affected(), "volume", volume_id)
}

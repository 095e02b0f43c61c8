//! Volume backups: the record of each backup, its place in an incremental chain and the
//! work its hosts still have to do on it (make, restore, delete: the `status` says which).

use crate::db::sql;
use crate::db::text_enum::text_enum;
use crate::error::Result;

text_enum! {
    /// A backup's status, as Cinder names it.
    pub enum BackupStatus {
        /// Until the volume's host reports the data made.
        Creating = "creating",
        Available = "available",
        /// Until the host that made it reports the data gone; then the row goes.
        Deleting = "deleting",
        Error = "error",
        ErrorDeleting = "error_deleting",
        /// Until the restored volume's host reports the data written.
        Restoring = "restoring",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Backup {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    /// The backed-up volume (it may be gone since).
    pub volume_id: String,
    /// The snapshot it was made from, if any.
    pub snapshot_id: Option<String>,
    /// The host that makes and keeps the data (the volume's owner at backup time).
    pub host_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub container: Option<String>,
    pub status: BackupStatus,
    pub fail_reason: Option<String>,
    pub size: i64,
    pub object_count: i64,
    /// Incremental: the backup it builds on.
    pub parent_id: Option<String>,
    /// Whose stored data this is (its own id, or an imported record's original).
    pub data_id: String,
    /// Where the host put the data (`dir`, `rbd`), once made.
    pub target: Option<String>,
    /// The storage backend of the backed-up volume.
    pub backend: String,
    /// Made from a temporary point-in-time copy (the volume was attached).
    pub point_in_time: bool,
    pub availability_zone: Option<String>,
    pub metadata: String,
    /// What a restored volume gets: the source volume's metadata, image metadata, bootable
    /// flag and type (JSON).
    pub volume_meta: String,
    /// While `restoring`: the volume being written.
    pub restore_volume_id: Option<String>,
    pub data_timestamp: i64,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

const COLS: &str = "id, project_id, user_id, volume_id, snapshot_id, host_id, name, description, container, \
     status, fail_reason, size, object_count, parent_id, data_id, target, backend, point_in_time, \
     availability_zone, metadata, volume_meta, restore_volume_id, data_timestamp, created_at, updated_at";

pub async fn insert(e: impl sql::Executor<'_>, b: &Backup) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_backups ({COLS}) VALUES \
         (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&b.id)
    .bind(&b.project_id)
    .bind(&b.user_id)
    .bind(&b.volume_id)
    .bind(&b.snapshot_id)
    .bind(&b.host_id)
    .bind(&b.name)
    .bind(&b.description)
    .bind(&b.container)
    .bind(b.status)
    .bind(&b.fail_reason)
    .bind(b.size)
    .bind(b.object_count)
    .bind(&b.parent_id)
    .bind(&b.data_id)
    .bind(&b.target)
    .bind(&b.backend)
    .bind(b.point_in_time)
    .bind(&b.availability_zone)
    .bind(&b.metadata)
    .bind(&b.volume_meta)
    .bind(&b.restore_volume_id)
    .bind(b.data_timestamp)
    .bind(b.created_at)
    .bind(b.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

/// Writes every mutable field back.
pub async fn update(e: impl sql::Executor<'_>, b: &Backup) -> Result<()> {
    let r = sql::query(
        "UPDATE volume_backups SET name = ?, description = ?, status = ?, fail_reason = ?, object_count = ?, \
         target = ?, metadata = ?, restore_volume_id = ?, host_id = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&b.name)
    .bind(&b.description)
    .bind(b.status)
    .bind(&b.fail_reason)
    .bind(b.object_count)
    .bind(&b.target)
    .bind(&b.metadata)
    .bind(&b.restore_volume_id)
    .bind(&b.host_id)
    .bind(b.updated_at)
    .bind(&b.id)
    .execute(e)
    .await?;
    crate::db::one_row(r.rows_affected(), "backup", &b.id)
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Backup>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM volume_backups WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

/// Backups of a project (every project's when None), oldest first.
pub async fn list(e: impl sql::Executor<'_>, project: Option<&str>) -> Result<Vec<Backup>> {
    let q = match project {
        Some(_) => format!("SELECT {COLS} FROM volume_backups WHERE project_id = ? ORDER BY created_at, id"),
        None => format!("SELECT {COLS} FROM volume_backups ORDER BY created_at, id"),
    };
    let mut q = sql::query_as(&q);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

/// Backups of a volume, oldest first.
pub async fn of_volume(e: impl sql::Executor<'_>, volume: &str) -> Result<Vec<Backup>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM volume_backups WHERE volume_id = ? ORDER BY data_timestamp, created_at, id"
    ))
    .bind(volume)
    .fetch_all(e)
    .await?)
}

/// Backups some host still has work on (being made, restored or deleted).
pub async fn in_progress(e: impl sql::Executor<'_>) -> Result<Vec<Backup>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM volume_backups WHERE status IN ('creating', 'restoring', 'deleting') ORDER BY created_at, id"
    ))
    .fetch_all(e)
    .await?)
}

/// How many backups build on `id` (Cinder's `has_dependent_backups`).
pub async fn dependents(e: impl sql::Executor<'_>, id: &str) -> Result<i64> {
    let (n,): (i64,) = sql::query_as("SELECT count(*) FROM volume_backups WHERE parent_id = ?")
        .bind(id)
        .fetch_one(e)
        .await?;
    Ok(n)
}

/// How many rows name the stored data `data_id`.
pub async fn sharing(e: impl sql::Executor<'_>, data_id: &str) -> Result<i64> {
    let (n,): (i64,) = sql::query_as("SELECT count(*) FROM volume_backups WHERE data_id = ?")
        .bind(data_id)
        .fetch_one(e)
        .await?;
    Ok(n)
}

/// (backups, gigabytes) a project uses.
pub async fn usage(e: impl sql::Executor<'_>, project: &str) -> Result<(i64, i64)> {
    Ok(sql::query_as(
        "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volume_backups WHERE project_id = ?",
    )
    .bind(project)
    .fetch_one(e)
    .await?)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_backups WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

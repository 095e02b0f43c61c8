//! Volumes, snapshots, volume types and attachments (block storage).

pub mod backups;
pub mod encryption;
pub mod groups;
pub mod messages;
pub mod migrations;
pub mod qos;
pub mod services;
pub mod transfers;

use crate::db::sql;
use crate::db::text_enum::text_enum;
use crate::error::Result;
use ciel_proto::ids::{HostId, ProjectId, SnapshotId, UserId, VolumeId};

text_enum! {
    /// A volume's status, as Cinder names it (Ciel enters the ones its features use; the
    /// others can be set by `os-reset_status` or are kept for Cinder's lists).
    pub enum VolumeStatus {
        /// Until its host reports holding it.
        Creating = "creating",
        Available = "available",
        /// Reserved for an attach (`os-reserve`).
        Reserved = "reserved",
        /// Until the VM reports the disk.
        Attaching = "attaching",
        /// Until the VM no longer reports the disk.
        Detaching = "detaching",
        InUse = "in-use",
        Maintenance = "maintenance",
        /// Until its host no longer holds it; then the row goes.
        Deleting = "deleting",
        AwaitingTransfer = "awaiting-transfer",
        Error = "error",
        ErrorDeleting = "error_deleting",
        BackingUp = "backing-up",
        RestoringBackup = "restoring-backup",
        ErrorBackingUp = "error_backing-up",
        ErrorRestoring = "error_restoring",
        ErrorExtending = "error_extending",
        ErrorManaging = "error_managing",
        Downloading = "downloading",
        /// Exported into an image (`os-volume_upload_image`).
        Uploading = "uploading",
        Retyping = "retyping",
        /// Until its host reports the new size.
        Extending = "extending",
    }
}

text_enum! {
    /// A volume snapshot's status, as Cinder names it.
    pub enum SnapshotStatus {
        /// Until the volume's host reports holding it.
        Creating = "creating",
        Available = "available",
        /// Until the host no longer holds it; then the row goes.
        Deleting = "deleting",
        Error = "error",
        ErrorDeleting = "error_deleting",
        Unmanaging = "unmanaging",
        BackingUp = "backing-up",
        Restoring = "restoring",
    }
}

text_enum! {
    /// An attachment's status: the disk is being plugged into (or out of) the VM, or is in it.
    pub enum AttachmentStatus {
        Attaching = "attaching",
        Attached = "attached",
        Detaching = "detaching",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: String,
    pub created_at: i64,
    /// The QoS specs associated with the type, if any.
    pub qos_specs_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Volume {
    pub id: VolumeId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub size: i64,
    pub status: VolumeStatus,
    pub availability_zone: String,
    pub volume_type_id: String,
    pub host_id: Option<HostId>,
    pub source_volid: Option<VolumeId>,
    pub snapshot_id: Option<SnapshotId>,
    pub image_id: Option<String>,
    pub bootable: bool,
    pub read_only: Option<bool>,
    pub metadata: String,
    pub image_metadata: String,
    pub fault: Option<String>,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    /// The storage backend on `host_id` that holds the data (`file`, `lvm`).
    pub backend: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Snapshot {
    pub id: String,
    pub volume_id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub size: i64,
    pub status: SnapshotStatus,
    pub progress: Option<String>,
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attachment {
    pub id: String,
    pub volume_id: String,
    pub server_id: String,
    pub device: String,
    pub status: AttachmentStatus,
    /// Some(0): the server's root disk.
    pub boot_index: Option<i64>,
    pub delete_on_termination: bool,
    pub created_at: i64,
}

const TYPE_COLS: &str = "id, name, description, is_public, extra_specs, created_at, qos_specs_id";
const VOL_COLS: &str = "id, project_id, user_id, name, description, size, status, availability_zone, \
     volume_type_id, host_id, source_volid, snapshot_id, image_id, bootable, read_only, metadata, \
     image_metadata, fault, created_at, updated_at, backend";
const SNAP_COLS: &str =
    "id, volume_id, project_id, user_id, name, description, size, status, progress, metadata, created_at, updated_at";
const ATT_COLS: &str = "id, volume_id, server_id, device, status, boot_index, delete_on_termination, created_at";

// ---- volume types

pub async fn list_types(e: impl sql::Executor<'_>) -> Result<Vec<VolumeType>> {
    Ok(sql::query_as(&format!(
        "SELECT {TYPE_COLS} FROM volume_types ORDER BY created_at, name"
    ))
    .fetch_all(e)
    .await?)
}

pub async fn get_type(e: impl sql::Executor<'_>, id: &str) -> Result<Option<VolumeType>> {
    Ok(
        sql::query_as(&format!("SELECT {TYPE_COLS} FROM volume_types WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn get_type_by_name(e: impl sql::Executor<'_>, name: &str) -> Result<Option<VolumeType>> {
    Ok(
        sql::query_as(&format!("SELECT {TYPE_COLS} FROM volume_types WHERE name = ?"))
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn save_type(e: impl sql::Executor<'_>, t: &VolumeType) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_types ({TYPE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \
         name = excluded.name, description = excluded.description, is_public = excluded.is_public, \
         extra_specs = excluded.extra_specs, qos_specs_id = excluded.qos_specs_id"
    ))
    .bind(&t.id)
    .bind(&t.name)
    .bind(&t.description)
    .bind(t.is_public)
    .bind(&t.extra_specs)
    .bind(t.created_at)
    .bind(&t.qos_specs_id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_type(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM volume_types WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    crate::db::one_row(r.rows_affected(), "volume type", id)
}

pub async fn type_in_use(e: impl sql::Executor<'_>, id: &str) -> Result<bool> {
    Ok(
        sql::query_scalar::<i64>("SELECT count(*) FROM volumes WHERE volume_type_id = ?")
            .bind(id)
            .fetch_one(e)
            .await?
            > 0,
    )
}

pub async fn type_access(e: impl sql::Executor<'_>, id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT project_id FROM volume_type_access WHERE type_id = ? ORDER BY project_id")
            .bind(id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn add_type_access(e: impl sql::Executor<'_>, id: &str, project: &str) -> Result<()> {
    sql::query("INSERT INTO volume_type_access (type_id, project_id) VALUES (?, ?)")
        .bind(id)
        .bind(project)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn remove_type_access(e: impl sql::Executor<'_>, id: &str, project: &str) -> Result<u64> {
    let r = sql::query("DELETE FROM volume_type_access WHERE type_id = ? AND project_id = ?")
        .bind(id)
        .bind(project)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

// ---- volumes

pub async fn insert(e: impl sql::Executor<'_>, v: &Volume) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volumes ({VOL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&v.id)
    .bind(&v.project_id)
    .bind(&v.user_id)
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.size)
    .bind(v.status)
    .bind(&v.availability_zone)
    .bind(&v.volume_type_id)
    .bind(&v.host_id)
    .bind(&v.source_volid)
    .bind(&v.snapshot_id)
    .bind(&v.image_id)
    .bind(v.bootable)
    .bind(v.read_only)
    .bind(&v.metadata)
    .bind(&v.image_metadata)
    .bind(&v.fault)
    .bind(v.created_at)
    .bind(v.updated_at)
    .bind(&v.backend)
    .execute(e)
    .await?;
    Ok(())
}

/// Writes every mutable field of a volume back.
pub async fn update(e: impl sql::Executor<'_>, v: &Volume) -> Result<()> {
    let r = sql::query(
        "UPDATE volumes SET name = ?, description = ?, size = ?, status = ?, volume_type_id = ?, host_id = ?, \
         bootable = ?, read_only = ?, metadata = ?, image_metadata = ?, fault = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.size)
    .bind(v.status)
    .bind(&v.volume_type_id)
    .bind(&v.host_id)
    .bind(v.bootable)
    .bind(v.read_only)
    .bind(&v.metadata)
    .bind(&v.image_metadata)
    .bind(&v.fault)
    .bind(v.updated_at)
    .bind(&v.id)
    .execute(e)
    .await?;
    crate::db::one_row(r.rows_affected(), "volume", &v.id)
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Volume>> {
    Ok(sql::query_as(&format!("SELECT {VOL_COLS} FROM volumes WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

/// All volumes, or one project's, oldest first.
pub async fn list(e: impl sql::Executor<'_>, project: Option<&str>) -> Result<Vec<Volume>> {
    let q = match project {
        Some(_) => format!("SELECT {VOL_COLS} FROM volumes WHERE project_id = ? ORDER BY created_at, id"),
        None => format!("SELECT {VOL_COLS} FROM volumes ORDER BY created_at, id"),
    };
    let mut q = sql::query_as(&q);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

/// Up to `n` volumes, all or one project's, after `(created_at, id)` in the listing's
/// default order (newest first, ties by id descending), from an index.
pub async fn page(
    e: impl sql::Executor<'_>,
    project: Option<&str>,
    after: Option<(i64, &str)>,
    n: i64,
) -> Result<Vec<Volume>> {
    let mut b = sql::QueryBuilder::new(format!("SELECT {VOL_COLS} FROM volumes WHERE 1 = 1"));
    if let Some(p) = project {
        b.push(" AND project_id = ").push_bind(p.to_string());
    }
    if let Some((at, id)) = after {
        b.push(" AND (created_at < ").push_bind(at);
        b.push(" OR (created_at = ").push_bind(at);
        b.push(" AND id < ").push_bind(id.to_string());
        b.push("))");
    }
    b.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(n);
    Ok(b.build_query_as().fetch_all(e).await?)
}

pub async fn on_host(e: impl sql::Executor<'_>, host: &str) -> Result<Vec<Volume>> {
    Ok(sql::query_as(&format!(
        "SELECT {VOL_COLS} FROM volumes WHERE host_id = ? ORDER BY created_at, id"
    ))
    .bind(host)
    .fetch_all(e)
    .await?)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volumes WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// (volumes, gigabytes) a project uses, snapshots' gigabytes included as Cinder counts them.
pub async fn usage(e: &mut sql::Conn<'_>, project: &str) -> Result<(i64, i64, i64)> {
    let (n, gb): (i64, i64) =
        sql::query_as("SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volumes WHERE project_id = ?")
            .bind(project)
            .fetch_one(&mut *e)
            .await?;
    let (sn, sgb): (i64, i64) = sql::query_as(
        "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volume_snapshots WHERE project_id = ?",
    )
    .bind(project)
    .fetch_one(&mut *e)
    .await?;
    Ok((n, sn, gb + sgb))
}

// ---- snapshots

pub async fn insert_snapshot(e: impl sql::Executor<'_>, s: &Snapshot) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_snapshots ({SNAP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&s.id)
    .bind(&s.volume_id)
    .bind(&s.project_id)
    .bind(&s.user_id)
    .bind(&s.name)
    .bind(&s.description)
    .bind(s.size)
    .bind(s.status)
    .bind(&s.progress)
    .bind(&s.metadata)
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_snapshot(e: impl sql::Executor<'_>, s: &Snapshot) -> Result<()> {
    let r = sql::query(
        "UPDATE volume_snapshots SET name = ?, description = ?, status = ?, progress = ?, metadata = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(&s.name)
    .bind(&s.description)
    .bind(s.status)
    .bind(&s.progress)
    .bind(&s.metadata)
    .bind(s.updated_at)
    .bind(&s.id)
    .execute(e)
    .await?;
    crate::db::one_row(r.rows_affected(), "snapshot", &s.id)
}

pub async fn get_snapshot(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Snapshot>> {
    Ok(
        sql::query_as(&format!("SELECT {SNAP_COLS} FROM volume_snapshots WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_snapshots(e: impl sql::Executor<'_>, project: Option<&str>) -> Result<Vec<Snapshot>> {
    let q = match project {
        Some(_) => format!("SELECT {SNAP_COLS} FROM volume_snapshots WHERE project_id = ? ORDER BY created_at, id"),
        None => format!("SELECT {SNAP_COLS} FROM volume_snapshots ORDER BY created_at, id"),
    };
    let mut q = sql::query_as(&q);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

pub async fn snapshots_of(e: impl sql::Executor<'_>, volume: &str) -> Result<Vec<Snapshot>> {
    Ok(sql::query_as(&format!(
        "SELECT {SNAP_COLS} FROM volume_snapshots WHERE volume_id = ? ORDER BY created_at, id"
    ))
    .bind(volume)
    .fetch_all(e)
    .await?)
}

/// Snapshots of the volumes a host stores.
pub async fn snapshots_on_host(e: impl sql::Executor<'_>, host: &str) -> Result<Vec<Snapshot>> {
    Ok(sql::query_as(&format!(
        "SELECT {SNAP_COLS} FROM volume_snapshots WHERE volume_id IN (SELECT id FROM volumes WHERE host_id = ?) \
         ORDER BY created_at, id"
    ))
    .bind(host)
    .fetch_all(e)
    .await?)
}

pub async fn delete_snapshot(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_snapshots WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

// ---- attachments

pub async fn insert_attachment(e: impl sql::Executor<'_>, a: &Attachment) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_attachments ({ATT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&a.id)
    .bind(&a.volume_id)
    .bind(&a.server_id)
    .bind(&a.device)
    .bind(a.status)
    .bind(a.boot_index)
    .bind(a.delete_on_termination)
    .bind(a.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn set_attachment_status(e: impl sql::Executor<'_>, id: &str, status: AttachmentStatus) -> Result<()> {
    sql::query("UPDATE volume_attachments SET status = ? WHERE id = ?")
        .bind(status)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_attachment(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Attachment>> {
    Ok(
        sql::query_as(&format!("SELECT {ATT_COLS} FROM volume_attachments WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn attachment_of(e: impl sql::Executor<'_>, volume: &str) -> Result<Option<Attachment>> {
    Ok(sql::query_as(&format!(
        "SELECT {ATT_COLS} FROM volume_attachments WHERE volume_id = ?"
    ))
    .bind(volume)
    .fetch_optional(e)
    .await?)
}

/// The attachments of volumes `ids`.
pub async fn attachments_of_volumes(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<Attachment>> {
    sql::rows_in(
        e,
        &format!("SELECT {ATT_COLS} FROM volume_attachments WHERE volume_id IN (LIST) ORDER BY created_at, id"),
        ids,
    )
    .await
}

pub async fn attachments_of_server(e: impl sql::Executor<'_>, server: &str) -> Result<Vec<Attachment>> {
    Ok(sql::query_as(&format!(
        "SELECT {ATT_COLS} FROM volume_attachments WHERE server_id = ? ORDER BY created_at, device"
    ))
    .bind(server)
    .fetch_all(e)
    .await?)
}

pub async fn all_attachments(e: impl sql::Executor<'_>) -> Result<Vec<Attachment>> {
    Ok(sql::query_as(&format!(
        "SELECT {ATT_COLS} FROM volume_attachments ORDER BY created_at"
    ))
    .fetch_all(e)
    .await?)
}

pub async fn delete_attachment(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_attachments WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// Per volume type name: (volumes, snapshots, gigabytes) a project uses, snapshots'
/// gigabytes counted in their volume's type (as Cinder's `<resource>_<type>` quotas count).
pub async fn usage_by_type(
    e: &mut sql::Conn<'_>,
    project: &str,
) -> Result<std::collections::BTreeMap<String, (i64, i64, i64)>> {
    let mut out: std::collections::BTreeMap<String, (i64, i64, i64)> = Default::default();
    let vols: Vec<(String, i64, i64)> = sql::query_as(
        "SELECT t.name, count(*), CAST(coalesce(sum(v.size), 0) AS BIGINT) FROM volumes v \
         JOIN volume_types t ON t.id = v.volume_type_id WHERE v.project_id = ? GROUP BY t.name",
    )
    .bind(project)
    .fetch_all(&mut *e)
    .await?;
    for (t, n, gb) in vols {
        let u = out.entry(t).or_default();
        u.0 += n;
        u.2 += gb;
    }
    let snaps: Vec<(String, i64, i64)> = sql::query_as(
        "SELECT t.name, count(*), CAST(coalesce(sum(s.size), 0) AS BIGINT) FROM volume_snapshots s \
         JOIN volumes v ON v.id = s.volume_id JOIN volume_types t ON t.id = v.volume_type_id \
         WHERE s.project_id = ? GROUP BY t.name",
    )
    .bind(project)
    .fetch_all(&mut *e)
    .await?;
    for (t, n, gb) in snaps {
        let u = out.entry(t).or_default();
        u.1 += n;
        u.2 += gb;
    }
    Ok(out)
}

/// The attachments of `servers` (a page of a listing), each server's in its own order.
pub async fn attachments_of_servers(e: impl sql::Executor<'_>, servers: &[String]) -> Result<Vec<Attachment>> {
    sql::rows_in(
        e,
        &format!("SELECT {ATT_COLS} FROM volume_attachments WHERE server_id IN (LIST) ORDER BY created_at, device"),
        servers,
    )
    .await
}

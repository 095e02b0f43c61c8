//! Generic volume groups: group types, groups and their member volumes, group snapshots and
//! their member snapshots.

use crate::db::sql;
use crate::db::text_enum::text_enum;
use crate::error::Result;

text_enum! {
    /// A group's or group snapshot's status, as Cinder names them (all settable by an
    /// admin's `reset_status`).
    pub enum GroupStatus {
        /// A group made from a source, or a group snapshot, until its members are made.
        Creating = "creating",
        Available = "available",
        Updating = "updating",
        /// Until its members are gone; then the row goes.
        Deleting = "deleting",
        Deleted = "deleted",
        Error = "error",
        ErrorDeleting = "error_deleting",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    /// A JSON object of strings.
    pub group_specs: String,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Group {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub group_type_id: String,
    /// A JSON array of volume type ids.
    pub volume_type_ids: String,
    pub availability_zone: String,
    pub status: GroupStatus,
    pub settled: bool,
    pub group_snapshot_id: Option<String>,
    pub source_group_id: Option<String>,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupSnapshot {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub group_id: String,
    pub group_type_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: GroupStatus,
    pub settled: bool,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

const TYPE_COLS: &str = "id, name, description, is_public, group_specs, created_at, updated_at";
const GROUP_COLS: &str = "id, project_id, user_id, name, description, group_type_id, volume_type_ids, \
     availability_zone, status, settled, group_snapshot_id, source_group_id, created_at, updated_at";
const GS_COLS: &str = "id, project_id, user_id, group_id, group_type_id, name, description, status, settled, \
     created_at, updated_at";

// ---- group types

pub async fn insert_type(e: impl sql::Executor<'_>, t: &GroupType) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_group_types ({TYPE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&t.id)
    .bind(&t.name)
    .bind(&t.description)
    .bind(t.is_public)
    .bind(&t.group_specs)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_type(e: impl sql::Executor<'_>, t: &GroupType) -> Result<()> {
    sql::query(
        "UPDATE volume_group_types SET name = ?, description = ?, is_public = ?, group_specs = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(&t.name)
    .bind(&t.description)
    .bind(t.is_public)
    .bind(&t.group_specs)
    .bind(t.updated_at)
    .bind(&t.id)
    .execute(e)
    .await?;
    Ok(())
}

/// A group type by id, or else by name.
pub async fn find_type(e: &mut sql::Conn<'_>, key: &str) -> Result<Option<GroupType>> {
    let by_id: Option<GroupType> = sql::query_as(&format!("SELECT {TYPE_COLS} FROM volume_group_types WHERE id = ?"))
        .bind(key)
        .fetch_optional(&mut *e)
        .await?;
    if by_id.is_some() {
        return Ok(by_id);
    }
    Ok(
        sql::query_as(&format!("SELECT {TYPE_COLS} FROM volume_group_types WHERE name = ?"))
            .bind(key)
            .fetch_optional(&mut *e)
            .await?,
    )
}

pub async fn type_by_name(e: impl sql::Executor<'_>, name: &str) -> Result<Option<GroupType>> {
    Ok(
        sql::query_as(&format!("SELECT {TYPE_COLS} FROM volume_group_types WHERE name = ?"))
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_types(e: impl sql::Executor<'_>) -> Result<Vec<GroupType>> {
    Ok(sql::query_as(&format!(
        "SELECT {TYPE_COLS} FROM volume_group_types ORDER BY created_at, id"
    ))
    .fetch_all(e)
    .await?)
}

pub async fn delete_type(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_group_types WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// Whether any group or group snapshot is of the type.
pub async fn type_in_use(e: impl sql::Executor<'_>, id: &str) -> Result<bool> {
    let n: i64 = sql::query_scalar(
        "SELECT (SELECT count(*) FROM volume_groups WHERE group_type_id = ?) + \
         (SELECT count(*) FROM volume_group_snapshots WHERE group_type_id = ?)",
    )
    .bind(id)
    .bind(id)
    .fetch_one(e)
    .await?;
    Ok(n > 0)
}

// ---- groups

pub async fn insert_group(e: impl sql::Executor<'_>, g: &Group) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_groups ({GROUP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&g.id)
    .bind(&g.project_id)
    .bind(&g.user_id)
    .bind(&g.name)
    .bind(&g.description)
    .bind(&g.group_type_id)
    .bind(&g.volume_type_ids)
    .bind(&g.availability_zone)
    .bind(g.status)
    .bind(g.settled)
    .bind(&g.group_snapshot_id)
    .bind(&g.source_group_id)
    .bind(g.created_at)
    .bind(g.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_group(e: impl sql::Executor<'_>, g: &Group) -> Result<()> {
    sql::query(
        "UPDATE volume_groups SET name = ?, description = ?, status = ?, settled = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&g.name)
    .bind(&g.description)
    .bind(g.status)
    .bind(g.settled)
    .bind(g.updated_at)
    .bind(&g.id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_group(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Group>> {
    Ok(
        sql::query_as(&format!("SELECT {GROUP_COLS} FROM volume_groups WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

/// A project's groups (every project's when None), newest first.
pub async fn list_groups(e: impl sql::Executor<'_>, project: Option<&str>) -> Result<Vec<Group>> {
    let q = match project {
        Some(_) => format!("SELECT {GROUP_COLS} FROM volume_groups WHERE project_id = ? ORDER BY created_at DESC, id"),
        None => format!("SELECT {GROUP_COLS} FROM volume_groups ORDER BY created_at DESC, id"),
    };
    let mut q = sql::query_as(&q);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

pub async fn count_groups(e: impl sql::Executor<'_>, project: &str) -> Result<i64> {
    Ok(
        sql::query_scalar("SELECT count(*) FROM volume_groups WHERE project_id = ?")
            .bind(project)
            .fetch_one(e)
            .await?,
    )
}

/// Removes a group with its memberships.
pub async fn delete_group(e: &mut sql::Conn<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_group_members WHERE group_id = ?")
        .bind(id)
        .execute(&mut *e)
        .await?;
    sql::query("DELETE FROM volume_groups WHERE id = ?")
        .bind(id)
        .execute(&mut *e)
        .await?;
    Ok(())
}

pub async fn add_member(e: impl sql::Executor<'_>, group: &str, volume: &str) -> Result<()> {
    sql::query("INSERT INTO volume_group_members (volume_id, group_id) VALUES (?, ?)")
        .bind(volume)
        .bind(group)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn remove_member(e: impl sql::Executor<'_>, volume: &str) -> Result<()> {
    sql::query("DELETE FROM volume_group_members WHERE volume_id = ?")
        .bind(volume)
        .execute(e)
        .await?;
    Ok(())
}

/// The group a volume belongs to, if any.
pub async fn group_of(e: impl sql::Executor<'_>, volume: &str) -> Result<Option<String>> {
    Ok(
        sql::query_scalar("SELECT group_id FROM volume_group_members WHERE volume_id = ?")
            .bind(volume)
            .fetch_optional(e)
            .await?,
    )
}

/// `(volume id, group id)` of volumes `ids` that belong to a group.
pub async fn groups_of(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(
        e,
        "SELECT volume_id, group_id FROM volume_group_members WHERE volume_id IN (LIST)",
        ids,
    )
    .await
}

/// The ids of a group's volumes that still exist.
pub async fn members(e: impl sql::Executor<'_>, group: &str) -> Result<Vec<String>> {
    Ok(sql::query_scalar(
        "SELECT m.volume_id FROM volume_group_members m JOIN volumes v ON v.id = m.volume_id \
         WHERE m.group_id = ? ORDER BY v.created_at, v.id",
    )
    .bind(group)
    .fetch_all(e)
    .await?)
}

// ---- group snapshots

pub async fn insert_group_snapshot(e: impl sql::Executor<'_>, g: &GroupSnapshot) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_group_snapshots ({GS_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&g.id)
    .bind(&g.project_id)
    .bind(&g.user_id)
    .bind(&g.group_id)
    .bind(&g.group_type_id)
    .bind(&g.name)
    .bind(&g.description)
    .bind(g.status)
    .bind(g.settled)
    .bind(g.created_at)
    .bind(g.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_group_snapshot(e: impl sql::Executor<'_>, g: &GroupSnapshot) -> Result<()> {
    sql::query(
        "UPDATE volume_group_snapshots SET name = ?, description = ?, status = ?, settled = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(&g.name)
    .bind(&g.description)
    .bind(g.status)
    .bind(g.settled)
    .bind(g.updated_at)
    .bind(&g.id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_group_snapshot(e: impl sql::Executor<'_>, id: &str) -> Result<Option<GroupSnapshot>> {
    Ok(
        sql::query_as(&format!("SELECT {GS_COLS} FROM volume_group_snapshots WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

/// A project's group snapshots (every project's when None), newest first.
pub async fn list_group_snapshots(e: impl sql::Executor<'_>, project: Option<&str>) -> Result<Vec<GroupSnapshot>> {
    let q = match project {
        Some(_) => {
            format!("SELECT {GS_COLS} FROM volume_group_snapshots WHERE project_id = ? ORDER BY created_at DESC, id")
        }
        None => format!("SELECT {GS_COLS} FROM volume_group_snapshots ORDER BY created_at DESC, id"),
    };
    let mut q = sql::query_as(&q);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

pub async fn group_snapshots_of(e: impl sql::Executor<'_>, group: &str) -> Result<i64> {
    Ok(
        sql::query_scalar("SELECT count(*) FROM volume_group_snapshots WHERE group_id = ?")
            .bind(group)
            .fetch_one(e)
            .await?,
    )
}

pub async fn add_snapshot_member(e: impl sql::Executor<'_>, group_snapshot: &str, snapshot: &str) -> Result<()> {
    sql::query("INSERT INTO volume_group_snapshot_members (snapshot_id, group_snapshot_id) VALUES (?, ?)")
        .bind(snapshot)
        .bind(group_snapshot)
        .execute(e)
        .await?;
    Ok(())
}

/// The group snapshot a snapshot was made for, if any.
pub async fn group_snapshot_of(e: impl sql::Executor<'_>, snapshot: &str) -> Result<Option<String>> {
    Ok(
        sql::query_scalar("SELECT group_snapshot_id FROM volume_group_snapshot_members WHERE snapshot_id = ?")
            .bind(snapshot)
            .fetch_optional(e)
            .await?,
    )
}

/// The ids of a group snapshot's snapshots that still exist, oldest volume first.
pub async fn snapshot_members(e: impl sql::Executor<'_>, group_snapshot: &str) -> Result<Vec<String>> {
    Ok(sql::query_scalar(
        "SELECT m.snapshot_id FROM volume_group_snapshot_members m JOIN volume_snapshots s ON s.id = m.snapshot_id \
         WHERE m.group_snapshot_id = ? ORDER BY s.created_at, s.id",
    )
    .bind(group_snapshot)
    .fetch_all(e)
    .await?)
}

/// Removes a group snapshot with its memberships.
pub async fn delete_group_snapshot(e: &mut sql::Conn<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_group_snapshot_members WHERE group_snapshot_id = ?")
        .bind(id)
        .execute(&mut *e)
        .await?;
    sql::query("DELETE FROM volume_group_snapshots WHERE id = ?")
        .bind(id)
        .execute(&mut *e)
        .await?;
    Ok(())
}

/// Settles what waits on its members after a report changed volumes or snapshots: a group
/// snapshot or a group made from a source becomes `error` when a member failed, `available`
/// when all are; a `deleting` one whose members are all gone goes.
pub async fn settle(e: &mut sql::Conn<'_>, now: i64) -> Result<()> {
    let snap_members = "FROM volume_group_snapshot_members m JOIN volume_snapshots s ON s.id = m.snapshot_id \
                        WHERE m.group_snapshot_id = volume_group_snapshots.id";
    let vol_members = "FROM volume_group_members m JOIN volumes v ON v.id = m.volume_id \
                       WHERE m.group_id = volume_groups.id";
    for q in [
        format!(
            "UPDATE volume_group_snapshots SET status = 'error', settled = TRUE, updated_at = ? \
             WHERE settled = FALSE AND EXISTS (SELECT 1 {snap_members} AND s.status = 'error')"
        ),
        format!(
            "UPDATE volume_group_snapshots SET status = 'available', settled = TRUE, updated_at = ? \
             WHERE settled = FALSE AND NOT EXISTS (SELECT 1 {snap_members} AND s.status <> 'available')"
        ),
        format!(
            "UPDATE volume_groups SET status = 'error', settled = TRUE, updated_at = ? \
             WHERE settled = FALSE AND EXISTS (SELECT 1 {vol_members} AND v.status = 'error')"
        ),
        format!(
            "UPDATE volume_groups SET status = 'available', settled = TRUE, updated_at = ? \
             WHERE settled = FALSE AND NOT EXISTS (SELECT 1 {vol_members} AND v.status <> 'available')"
        ),
    ] {
        sql::query(&q).bind(now).execute(&mut *e).await?;
    }
    let gone: Vec<String> = sql::query_scalar(&format!(
        "SELECT id FROM volume_group_snapshots WHERE status = 'deleting' AND NOT EXISTS (SELECT 1 {snap_members})"
    ))
    .fetch_all(&mut *e)
    .await?;
    for id in gone {
        delete_group_snapshot(e, &id).await?;
    }
    let gone: Vec<String> = sql::query_scalar(&format!(
        "SELECT id FROM volume_groups WHERE status = 'deleting' AND NOT EXISTS (SELECT 1 {vol_members})"
    ))
    .fetch_all(&mut *e)
    .await?;
    for id in gone {
        delete_group(e, &id).await?;
    }
    Ok(())
}

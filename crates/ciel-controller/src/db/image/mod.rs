//! Image metadata, tags and members.

pub mod metadefs;

use crate::db::one_row;
use crate::db::sql;
use crate::db::text_enum::text_enum;
use crate::error::Result;
use ciel_proto::ids::{ImageId, ProjectId};

text_enum! {
    /// An image's status, as Glance names it.
    pub enum ImageStatus {
        /// Made, no data yet.
        Queued = "queued",
        /// Data being uploaded.
        Saving = "saving",
        Active = "active",
        /// An upload failed.
        Killed = "killed",
        Deleted = "deleted",
        PendingDelete = "pending_delete",
        /// Hidden from non-admin downloads (and boots).
        Deactivated = "deactivated",
        /// Staged by an interoperable import (Ciel offers none).
        Uploading = "uploading",
        Importing = "importing",
    }
}

text_enum! {
    /// A project's answer to an image shared with it.
    pub enum MemberStatus {
        Pending = "pending",
        Accepted = "accepted",
        Rejected = "rejected",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Image {
    pub id: ImageId,
    pub name: Option<String>,
    pub status: ImageStatus,
    pub visibility: String,
    pub protected: bool,
    pub os_hidden: bool,
    pub owner: Option<ProjectId>,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub properties: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Tags joined with U+001F, assembled by the queries.
    #[sqlx(default)]
    pub tags: Option<String>,
}

impl Image {
    pub fn tag_list(&self) -> Vec<String> {
        match &self.tags {
            Some(t) if !t.is_empty() => t.split('\u{1f}').map(str::to_owned).collect(),
            _ => vec![],
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub image_id: String,
    pub member_id: String,
    pub status: MemberStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT: &str = "SELECT i.id, i.name, i.status, i.visibility, i.protected, i.os_hidden, i.owner, i.disk_format, \
     i.container_format, i.size, i.virtual_size, i.checksum, i.os_hash_algo, i.os_hash_value, i.min_disk, i.min_ram, \
     i.properties, i.created_at, i.updated_at, \
     (SELECT group_concat(tag, '\u{1f}') FROM (SELECT tag FROM image_tags t WHERE t.image_id = i.id ORDER BY tag) AS sorted) AS tags \
     FROM images i";

pub async fn insert(e: impl sql::Executor<'_>, i: &Image) -> Result<()> {
    sql::query(
        "INSERT INTO images (id, name, status, visibility, protected, os_hidden, owner, disk_format, container_format, \
         size, virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, properties, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&i.id)
    .bind(&i.name)
    .bind(i.status)
    .bind(&i.visibility)
    .bind(i.protected)
    .bind(i.os_hidden)
    .bind(&i.owner)
    .bind(&i.disk_format)
    .bind(&i.container_format)
    .bind(i.size)
    .bind(i.virtual_size)
    .bind(&i.checksum)
    .bind(&i.os_hash_algo)
    .bind(&i.os_hash_value)
    .bind(i.min_disk)
    .bind(i.min_ram)
    .bind(&i.properties)
    .bind(i.created_at)
    .bind(i.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

/// A live (not deleted) image.
pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Image>> {
    Ok(sql::query_as(&format!("{SELECT} WHERE i.id = ? AND NOT i.deleted"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

/// Whether the id was ever used (Glance never reuses an id, even after delete).
pub async fn id_taken(e: impl sql::Executor<'_>, id: &str) -> Result<bool> {
    let n: i64 = sql::query_scalar("SELECT count(*) FROM images WHERE id = ?")
        .bind(id)
        .fetch_one(e)
        .await?;
    Ok(n > 0)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Image>> {
    Ok(sql::query_as(&format!(
        "{SELECT} WHERE NOT i.deleted ORDER BY i.created_at DESC, i.id DESC"
    ))
    .fetch_all(e)
    .await?)
}

/// Up to `n` live images after `(created_at, id)` in the listing's default order (newest
/// first, ties by id descending), from the `images_created` index.
pub async fn page(e: impl sql::Executor<'_>, after: Option<(i64, &str)>, n: i64) -> Result<Vec<Image>> {
    let mut b = sql::QueryBuilder::new(format!("{SELECT} WHERE NOT i.deleted"));
    if let Some((at, id)) = after {
        b.push(" AND (i.created_at < ").push_bind(at);
        b.push(" OR (i.created_at = ").push_bind(at);
        b.push(" AND i.id < ").push_bind(id.to_string());
        b.push("))");
    }
    b.push(" ORDER BY i.created_at DESC, i.id DESC LIMIT ").push_bind(n);
    Ok(b.build_query_as().fetch_all(e).await?)
}

/// Writes every mutable column.
pub async fn update(e: impl sql::Executor<'_>, i: &Image) -> Result<()> {
    let r = sql::query(
        "UPDATE images SET name = ?, status = ?, visibility = ?, protected = ?, os_hidden = ?, owner = ?, disk_format = ?, \
         container_format = ?, size = ?, virtual_size = ?, checksum = ?, os_hash_algo = ?, os_hash_value = ?, min_disk = ?, \
         min_ram = ?, properties = ?, updated_at = ? WHERE id = ? AND NOT deleted",
    )
    .bind(&i.name)
    .bind(i.status)
    .bind(&i.visibility)
    .bind(i.protected)
    .bind(i.os_hidden)
    .bind(&i.owner)
    .bind(&i.disk_format)
    .bind(&i.container_format)
    .bind(i.size)
    .bind(i.virtual_size)
    .bind(&i.checksum)
    .bind(&i.os_hash_algo)
    .bind(&i.os_hash_value)
    .bind(i.min_disk)
    .bind(i.min_ram)
    .bind(&i.properties)
    .bind(i.updated_at)
    .bind(&i.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "image", &i.id)
}

/// Moves an image between statuses only if it is still in `from` (guards concurrent uploads).
pub async fn transition(
    e: impl sql::Executor<'_>,
    id: &str,
    from: &[ImageStatus],
    to: ImageStatus,
    at: i64,
) -> Result<bool> {
    let marks = vec!["?"; from.len()].join(",");
    let sql =
        format!("UPDATE images SET status = ?, updated_at = ? WHERE id = ? AND NOT deleted AND status IN ({marks})");
    let mut q = sql::query(&sql).bind(to.as_str()).bind(at).bind(id);
    for f in from {
        q = q.bind(f.as_str());
    }
    Ok(q.execute(e).await?.rows_affected() == 1)
}

/// Uploads no controller holds a lease for (cut off before leases existed): back to
/// `queued`, as a failed upload would be. Returns their ids.
pub async fn reset_unleased_uploads(e: impl sql::Executor<'_>, at: i64) -> Result<Vec<String>> {
    Ok(sql::query_scalar(
        "UPDATE images SET status = 'queued', size = NULL, virtual_size = NULL, checksum = NULL, \
         os_hash_algo = NULL, os_hash_value = NULL, updated_at = ? WHERE status = 'saving' AND NOT deleted \
         AND NOT EXISTS (SELECT 1 FROM work_leases w WHERE w.kind = 'image_upload' AND w.resource_id = images.id) \
         RETURNING id",
    )
    .bind(at)
    .fetch_all(e)
    .await?)
}

pub async fn mark_deleted(e: impl sql::Executor<'_>, id: &str, at: i64) -> Result<()> {
    let r =
        sql::query("UPDATE images SET deleted = TRUE, status = 'deleted', updated_at = ? WHERE id = ? AND NOT deleted")
            .bind(at)
            .bind(id)
            .execute(e)
            .await?;
    one_row(r.rows_affected(), "image", id)
}

pub async fn set_tags(tx: &mut crate::db::Tx<'_>, id: &str, tags: &[String]) -> Result<()> {
    sql::query("DELETE FROM image_tags WHERE image_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for t in tags {
        add_tag(&mut **tx, id, t).await?;
    }
    Ok(())
}

pub async fn add_tag(e: impl sql::Executor<'_>, id: &str, tag: &str) -> Result<()> {
    sql::query("INSERT INTO image_tags (image_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn remove_tag(e: impl sql::Executor<'_>, id: &str, tag: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM image_tags WHERE image_id = ? AND tag = ?")
        .bind(id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Live images of a project and the bytes they hold (quota accounting).
pub async fn usage(e: impl sql::Executor<'_>, owner: &str) -> Result<(i64, i64)> {
    Ok(sql::query_as(
        "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM images WHERE owner = ? AND NOT deleted",
    )
    .bind(owner)
    .fetch_one(e)
    .await?)
}

pub async fn insert_member(e: impl sql::Executor<'_>, m: &Member) -> Result<()> {
    sql::query(
        "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&m.image_id)
    .bind(&m.member_id)
    .bind(m.status)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_member(e: impl sql::Executor<'_>, image_id: &str, member_id: &str) -> Result<Option<Member>> {
    Ok(sql::query_as("SELECT image_id, member_id, status, created_at, updated_at FROM image_members WHERE image_id = ? AND member_id = ?")
        .bind(image_id)
        .bind(member_id)
        .fetch_optional(e)
        .await?)
}

pub async fn list_members(e: impl sql::Executor<'_>, image_id: &str) -> Result<Vec<Member>> {
    Ok(sql::query_as("SELECT image_id, member_id, status, created_at, updated_at FROM image_members WHERE image_id = ? ORDER BY created_at")
        .bind(image_id)
        .fetch_all(e)
        .await?)
}

/// (image_id, status) of every share offered to a project.
pub async fn memberships_of(e: impl sql::Executor<'_>, member_id: &str) -> Result<Vec<(String, MemberStatus)>> {
    Ok(
        sql::query_as("SELECT image_id, status FROM image_members WHERE member_id = ?")
            .bind(member_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn update_member(e: impl sql::Executor<'_>, m: &Member) -> Result<()> {
    let r = sql::query("UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member_id = ?")
        .bind(m.status)
        .bind(m.updated_at)
        .bind(&m.image_id)
        .bind(&m.member_id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "member", &m.member_id)
}

pub async fn delete_member(e: impl sql::Executor<'_>, image_id: &str, member_id: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM image_members WHERE image_id = ? AND member_id = ?")
        .bind(image_id)
        .bind(member_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

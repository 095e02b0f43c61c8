//! Servers.

use super::server_states::{DesiredPower, TaskState, VmState};
use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;
use ciel_proto::ids::{HostId, ImageId, ProjectId, ServerId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Server {
    pub id: ServerId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub name: String,
    pub flavor_id: String,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub root_gb: i64,
    pub image_id: ImageId,
    pub host_id: Option<HostId>,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub metadata: String,
    pub availability_zone: String,
    pub vm_state: VmState,
    pub task_state: Option<TaskState>,
    pub power_state: i64,
    pub desired_power: DesiredPower,
    pub boot_serial: i64,
    pub fault: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub launched_at: Option<i64>,
    pub config_drive: bool,
    pub launch_index: i64,
    pub description: Option<String>,
    pub access_ipv4: String,
    pub access_ipv6: String,
    pub locked_by: Option<String>,
    pub locked_reason: Option<String>,
    pub rebuild_serial: i64,
    pub old_flavor_id: Option<String>,
    pub old_vcpus: Option<i64>,
    pub old_memory_mb: Option<i64>,
    pub old_root_gb: Option<i64>,
    /// Where the root disk made from the image lives: `file` (on the host) or `rbd` (Ceph),
    /// chosen from the host at placement.
    pub root_backend: String,
    /// Nova's `reservation_id`: shared by the servers of one create request.
    pub reservation_id: String,
}

pub(crate) const COLS: &str =
    "id, project_id, user_id, name, flavor_id, vcpus, memory_mb, root_gb, image_id, host_id, key_name, \
     user_data, metadata, availability_zone, vm_state, task_state, power_state, desired_power, boot_serial, fault, \
     created_at, updated_at, launched_at, config_drive, launch_index, description, access_ipv4, access_ipv6, \
     locked_by, locked_reason, rebuild_serial, old_flavor_id, old_vcpus, old_memory_mb, old_root_gb, root_backend, \
     reservation_id";

pub async fn insert(e: impl sql::Executor<'_>, s: &Server) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO servers ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&s.id)
    .bind(&s.project_id)
    .bind(&s.user_id)
    .bind(&s.name)
    .bind(&s.flavor_id)
    .bind(s.vcpus)
    .bind(s.memory_mb)
    .bind(s.root_gb)
    .bind(&s.image_id)
    .bind(&s.host_id)
    .bind(&s.key_name)
    .bind(&s.user_data)
    .bind(&s.metadata)
    .bind(&s.availability_zone)
    .bind(s.vm_state)
    .bind(s.task_state)
    .bind(s.power_state)
    .bind(s.desired_power)
    .bind(s.boot_serial)
    .bind(&s.fault)
    .bind(s.created_at)
    .bind(s.updated_at)
    .bind(s.launched_at)
    .bind(s.config_drive)
    .bind(s.launch_index)
    .bind(&s.description)
    .bind(&s.access_ipv4)
    .bind(&s.access_ipv6)
    .bind(&s.locked_by)
    .bind(&s.locked_reason)
    .bind(s.rebuild_serial)
    .bind(&s.old_flavor_id)
    .bind(s.old_vcpus)
    .bind(s.old_memory_mb)
    .bind(s.old_root_gb)
    .bind(&s.root_backend)
    .bind(&s.reservation_id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Server>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM servers WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Server>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM servers ORDER BY created_at DESC, id"))
            .fetch_all(e)
            .await?,
    )
}

pub use super::server_pages::TagFilter;

pub async fn on_host(e: impl sql::Executor<'_>, host_id: &str) -> Result<Vec<Server>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM servers WHERE host_id = ? ORDER BY id"))
            .bind(host_id)
            .fetch_all(e)
            .await?,
    )
}

/// The servers among `ids` that exist, in one query.
pub async fn get_many(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<Server>> {
    sql::rows_in(e, &format!("SELECT {COLS} FROM servers WHERE id IN (LIST)"), ids).await
}

/// Moves the server to `host_id` (a completed migration).
/// `(server id, host id)` of servers `ids` that are placed on a host.
pub async fn host_ids(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(
        e,
        "SELECT id, host_id FROM servers WHERE id IN (LIST) AND host_id IS NOT NULL",
        ids,
    )
    .await
}

pub async fn set_host(e: impl sql::Executor<'_>, id: &str, host_id: &str) -> Result<()> {
    sql::query("UPDATE servers SET host_id = ? WHERE id = ?")
        .bind(host_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// (instances, vCPUs, MiB of RAM) a project's servers hold.
pub async fn usage_for_project(e: impl sql::Executor<'_>, project_id: &str) -> Result<(i64, i64, i64)> {
    Ok(sql::query_as(
        "SELECT count(*), CAST(coalesce(sum(vcpus), 0) AS BIGINT), CAST(coalesce(sum(memory_mb), 0) AS BIGINT) FROM servers WHERE project_id = ?",
    )
    .bind(project_id)
    .fetch_one(e)
    .await?)
}

/// Writes everything that can change after creation (API requests and agent reports).
pub async fn update_state(e: impl sql::Executor<'_>, s: &Server) -> Result<()> {
    let r = sql::query(
        "UPDATE servers SET name = ?, metadata = ?, vm_state = ?, task_state = ?, power_state = ?, desired_power = ?, \
         boot_serial = ?, fault = ?, updated_at = ?, launched_at = ?, description = ?, access_ipv4 = ?, \
         access_ipv6 = ?, locked_by = ?, locked_reason = ?, rebuild_serial = ?, old_flavor_id = ?, old_vcpus = ?, \
         old_memory_mb = ?, old_root_gb = ?, flavor_id = ?, vcpus = ?, memory_mb = ?, root_gb = ?, image_id = ? \
         WHERE id = ?",
    )
    .bind(&s.name)
    .bind(&s.metadata)
    .bind(s.vm_state)
    .bind(s.task_state)
    .bind(s.power_state)
    .bind(s.desired_power)
    .bind(s.boot_serial)
    .bind(&s.fault)
    .bind(s.updated_at)
    .bind(s.launched_at)
    .bind(&s.description)
    .bind(&s.access_ipv4)
    .bind(&s.access_ipv6)
    .bind(&s.locked_by)
    .bind(&s.locked_reason)
    .bind(s.rebuild_serial)
    .bind(&s.old_flavor_id)
    .bind(s.old_vcpus)
    .bind(s.old_memory_mb)
    .bind(s.old_root_gb)
    .bind(&s.flavor_id)
    .bind(s.vcpus)
    .bind(s.memory_mb)
    .bind(s.root_gb)
    .bind(&s.image_id)
    .bind(&s.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "server", &s.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    // Tags go with it (ON DELETE CASCADE).
    let r = sql::query("DELETE FROM servers WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "server", id)
}

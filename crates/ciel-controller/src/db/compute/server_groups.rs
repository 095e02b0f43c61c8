//! Server groups and their members.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub policy: String,
    pub rules: String,
    pub created_at: i64,
}

const COLS: &str = "id, name, project_id, user_id, policy, rules, created_at";

pub async fn insert(e: impl sql::Executor<'_>, g: &ServerGroup) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO server_groups ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&g.id)
    .bind(&g.name)
    .bind(&g.project_id)
    .bind(&g.user_id)
    .bind(&g.policy)
    .bind(&g.rules)
    .bind(g.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<ServerGroup>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM server_groups WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<ServerGroup>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM server_groups ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn count_for_project(e: impl sql::Executor<'_>, project_id: &str) -> Result<i64> {
    Ok(
        sql::query_scalar("SELECT count(*) FROM server_groups WHERE project_id = ?")
            .bind(project_id)
            .fetch_one(e)
            .await?,
    )
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    // Members go with it (ON DELETE CASCADE).
    sql::query("DELETE FROM server_groups WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn members(e: impl sql::Executor<'_>, group_id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT server_id FROM server_group_members WHERE group_id = ? ORDER BY server_id")
            .bind(group_id)
            .fetch_all(e)
            .await?,
    )
}

/// The hosts the group's members run on (one entry per member).
pub async fn member_hosts(e: impl sql::Executor<'_>, group_id: &str) -> Result<Vec<String>> {
    Ok(sql::query_scalar(
        "SELECT s.host_id FROM server_group_members m JOIN servers s ON s.id = m.server_id \
         WHERE m.group_id = ? AND s.host_id IS NOT NULL",
    )
    .bind(group_id)
    .fetch_all(e)
    .await?)
}

pub async fn add_member(e: impl sql::Executor<'_>, group_id: &str, server_id: &str) -> Result<()> {
    sql::query("INSERT INTO server_group_members (group_id, server_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(group_id)
        .bind(server_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn groups_of(e: impl sql::Executor<'_>, server_id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT group_id FROM server_group_members WHERE server_id = ? ORDER BY group_id")
            .bind(server_id)
            .fetch_all(e)
            .await?,
    )
}

/// `(server id, group id)` of `servers`' group memberships.
pub async fn groups_of_servers(e: impl sql::Executor<'_>, servers: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(
        e,
        "SELECT server_id, group_id FROM server_group_members WHERE server_id IN (LIST) ORDER BY group_id",
        servers,
    )
    .await
}

//! Security groups, their rules and port membership.

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub description: String,
    pub stateful: bool,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rule {
    pub id: String,
    pub security_group_id: String,
    pub project_id: String,
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
}

const SG_COLS: &str =
    "id, name, project_id, description, stateful, is_default, created_at, updated_at, revision_number";
pub(crate) const RULE_COLS: &str =
    "id, security_group_id, project_id, direction, ethertype, protocol, port_range_min, \
     port_range_max, remote_ip_prefix, remote_group_id, description, created_at, updated_at, revision_number";

pub async fn insert_group(e: impl sql::Executor<'_>, g: &SecurityGroup) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO security_groups ({SG_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&g.id)
    .bind(&g.name)
    .bind(&g.project_id)
    .bind(&g.description)
    .bind(g.stateful)
    .bind(g.is_default)
    .bind(g.created_at)
    .bind(g.updated_at)
    .bind(g.revision_number)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_group(e: impl sql::Executor<'_>, id: &str) -> Result<Option<SecurityGroup>> {
    Ok(
        sql::query_as(&format!("SELECT {SG_COLS} FROM security_groups WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn default_group(e: impl sql::Executor<'_>, project_id: &str) -> Result<Option<SecurityGroup>> {
    Ok(sql::query_as(&format!(
        "SELECT {SG_COLS} FROM security_groups WHERE project_id = ? AND is_default"
    ))
    .bind(project_id)
    .fetch_optional(e)
    .await?)
}

pub async fn list_groups(e: impl sql::Executor<'_>) -> Result<Vec<SecurityGroup>> {
    Ok(sql::query_as(&format!(
        "SELECT {SG_COLS} FROM security_groups ORDER BY created_at, id"
    ))
    .fetch_all(e)
    .await?)
}

pub async fn update_group(e: impl sql::Executor<'_>, g: &SecurityGroup) -> Result<()> {
    let r = sql::query(
        "UPDATE security_groups SET name = ?, description = ?, stateful = ?, updated_at = ?, \
         revision_number = revision_number + 1 WHERE id = ?",
    )
    .bind(&g.name)
    .bind(&g.description)
    .bind(g.stateful)
    .bind(g.updated_at)
    .bind(&g.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "security group", &g.id)
}

pub async fn delete_group(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM security_groups WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "security group", id)
}

pub async fn insert_rule(e: impl sql::Executor<'_>, r: &Rule) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO security_group_rules ({RULE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&r.id)
    .bind(&r.security_group_id)
    .bind(&r.project_id)
    .bind(&r.direction)
    .bind(&r.ethertype)
    .bind(&r.protocol)
    .bind(r.port_range_min)
    .bind(r.port_range_max)
    .bind(&r.remote_ip_prefix)
    .bind(&r.remote_group_id)
    .bind(&r.description)
    .bind(r.created_at)
    .bind(r.updated_at)
    .bind(r.revision_number)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_rule(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Rule>> {
    Ok(
        sql::query_as(&format!("SELECT {RULE_COLS} FROM security_group_rules WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_rules(e: impl sql::Executor<'_>) -> Result<Vec<Rule>> {
    Ok(sql::query_as(&format!(
        "SELECT {RULE_COLS} FROM security_group_rules ORDER BY created_at, id"
    ))
    .fetch_all(e)
    .await?)
}

pub async fn delete_rule(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM security_group_rules WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "security group rule", id)
}

pub async fn set_port_groups(tx: &mut crate::db::Tx<'_>, port_id: &str, groups: &[String]) -> Result<()> {
    sql::query("DELETE FROM port_security_groups WHERE port_id = ?")
        .bind(port_id)
        .execute(&mut **tx)
        .await?;
    for g in groups {
        sql::query(
            "INSERT INTO port_security_groups (port_id, security_group_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(port_id)
        .bind(g)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// (port_id, security_group_id) pairs.
pub async fn port_groups(e: impl sql::Executor<'_>) -> Result<Vec<(String, String)>> {
    Ok(
        sql::query_as("SELECT port_id, security_group_id FROM port_security_groups ORDER BY rowid")
            .fetch_all(e)
            .await?,
    )
}

pub async fn ports_using(e: impl sql::Executor<'_>, group_id: &str) -> Result<i64> {
    Ok(
        sql::query_scalar("SELECT count(*) FROM port_security_groups WHERE security_group_id = ?")
            .bind(group_id)
            .fetch_one(e)
            .await?,
    )
}

/// `(id, name)` of groups `ids`.
pub async fn names(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(e, "SELECT id, name FROM security_groups WHERE id IN (LIST)", ids).await
}

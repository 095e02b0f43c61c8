//! Flavors, their extra specs and the projects that may use a private one.

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;
use std::collections::BTreeMap;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub ram: i64,
    pub vcpus: i64,
    pub disk: i64,
    pub ephemeral: i64,
    pub swap: i64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub description: Option<String>,
    pub created_at: i64,
}

const COLS: &str = "id, name, ram, vcpus, disk, ephemeral, swap, rxtx_factor, is_public, description, created_at";

pub async fn insert(e: impl sql::Executor<'_>, f: &Flavor) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO flavors ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&f.id)
    .bind(&f.name)
    .bind(f.ram)
    .bind(f.vcpus)
    .bind(f.disk)
    .bind(f.ephemeral)
    .bind(f.swap)
    .bind(f.rxtx_factor)
    .bind(f.is_public)
    .bind(&f.description)
    .bind(f.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Flavor>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM flavors WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Flavor>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM flavors ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn set_description(e: impl sql::Executor<'_>, id: &str, description: Option<&str>) -> Result<()> {
    let r = sql::query("UPDATE flavors SET description = ? WHERE id = ?")
        .bind(description)
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "flavor", id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM flavors WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "flavor", id)
}

pub async fn extra_specs(e: impl sql::Executor<'_>, id: &str) -> Result<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = sql::query_as("SELECT key, value FROM flavor_extra_specs WHERE flavor_id = ?")
        .bind(id)
        .fetch_all(e)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn set_extra_spec(e: impl sql::Executor<'_>, id: &str, key: &str, value: &str) -> Result<()> {
    sql::query(
        "INSERT INTO flavor_extra_specs (flavor_id, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (flavor_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(id)
    .bind(key)
    .bind(value)
    .execute(e)
    .await?;
    Ok(())
}

/// Returns whether the key existed.
pub async fn delete_extra_spec(e: impl sql::Executor<'_>, id: &str, key: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM flavor_extra_specs WHERE flavor_id = ? AND key = ?")
        .bind(id)
        .bind(key)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn projects(e: impl sql::Executor<'_>, id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT project_id FROM flavor_projects WHERE flavor_id = ? ORDER BY project_id")
            .bind(id)
            .fetch_all(e)
            .await?,
    )
}

/// Private flavors a project was given access to.
pub async fn accessible(e: impl sql::Executor<'_>, project_id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT flavor_id FROM flavor_projects WHERE project_id = ?")
            .bind(project_id)
            .fetch_all(e)
            .await?,
    )
}

/// Returns false when the project already had access.
pub async fn add_project(e: impl sql::Executor<'_>, id: &str, project_id: &str) -> Result<bool> {
    let r = sql::query("INSERT INTO flavor_projects (flavor_id, project_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(project_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Returns false when the project had no access.
pub async fn remove_project(e: impl sql::Executor<'_>, id: &str, project_id: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM flavor_projects WHERE flavor_id = ? AND project_id = ?")
        .bind(id)
        .bind(project_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Flavors `ids`.
pub async fn by_ids(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<Flavor>> {
    sql::rows_in(e, &format!("SELECT {COLS} FROM flavors WHERE id IN (LIST)"), ids).await
}

/// `(flavor id, key, value)` of the extra specs of flavors `ids`.
pub async fn extra_specs_of(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<(String, String, String)>> {
    sql::rows_in(
        e,
        "SELECT flavor_id, key, value FROM flavor_extra_specs WHERE flavor_id IN (LIST)",
        ids,
    )
    .await
}

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// '' for a global role.
    pub domain_id: String,
    pub description: Option<String>,
    pub options: String,
    pub extra: String,
}

const COLS: &str = "id, name, domain_id, description, options, extra";

pub async fn insert(e: impl sql::Executor<'_>, r: &Role) -> Result<()> {
    sql::query(&format!("INSERT INTO roles ({COLS}) VALUES (?, ?, ?, ?, ?, ?)"))
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.domain_id)
        .bind(&r.description)
        .bind(&r.options)
        .bind(&r.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Role>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM roles WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn get_by_name(e: impl sql::Executor<'_>, domain_id: &str, name: &str) -> Result<Option<Role>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM roles WHERE domain_id = ? AND name = ?"))
            .bind(domain_id)
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Role>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM roles ORDER BY name"))
        .fetch_all(e)
        .await?)
}

pub async fn update(e: impl sql::Executor<'_>, r: &Role) -> Result<()> {
    let res = sql::query("UPDATE roles SET name = ?, description = ?, options = ?, extra = ? WHERE id = ?")
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.options)
        .bind(&r.extra)
        .bind(&r.id)
        .execute(e)
        .await?;
    one_row(res.rows_affected(), "role", &r.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM roles WHERE id = ?").bind(id).execute(e).await?;
    one_row(r.rows_affected(), "role", id)
}

/// (prior_role_id, implied_role_id) pairs.
pub async fn list_implications(e: impl sql::Executor<'_>) -> Result<Vec<(String, String)>> {
    Ok(
        sql::query_as("SELECT prior_role_id, implied_role_id FROM implied_roles ORDER BY prior_role_id")
            .fetch_all(e)
            .await?,
    )
}

pub async fn add_implication(e: impl sql::Executor<'_>, prior: &str, implied: &str) -> Result<()> {
    sql::query("INSERT INTO implied_roles (prior_role_id, implied_role_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(prior)
        .bind(implied)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn remove_implication(e: impl sql::Executor<'_>, prior: &str, implied: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM implied_roles WHERE prior_role_id = ? AND implied_role_id = ?")
        .bind(prior)
        .bind(implied)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

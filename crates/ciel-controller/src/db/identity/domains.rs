use crate::db::one_row;
use crate::error::Result;
use sqlx::SqliteExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub extra: String,
}

const COLS: &str = "id, name, description, enabled, extra";

pub async fn insert(e: impl SqliteExecutor<'_>, d: &Domain) -> Result<()> {
    sqlx::query("INSERT INTO domains (id, name, description, enabled, extra) VALUES (?, ?, ?, ?, ?)")
        .bind(&d.id)
        .bind(&d.name)
        .bind(&d.description)
        .bind(d.enabled)
        .bind(&d.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get(e: impl SqliteExecutor<'_>, id: &str) -> Result<Option<Domain>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM domains WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn get_by_name(e: impl SqliteExecutor<'_>, name: &str) -> Result<Option<Domain>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM domains WHERE name = ?"))
        .bind(name)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl SqliteExecutor<'_>) -> Result<Vec<Domain>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM domains ORDER BY name"))
        .fetch_all(e)
        .await?)
}

pub async fn update(e: impl SqliteExecutor<'_>, d: &Domain) -> Result<()> {
    let r = sqlx::query("UPDATE domains SET name = ?, description = ?, enabled = ?, extra = ? WHERE id = ?")
        .bind(&d.name)
        .bind(&d.description)
        .bind(d.enabled)
        .bind(&d.extra)
        .bind(&d.id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "domain", &d.id)
}

pub async fn delete(e: impl SqliteExecutor<'_>, id: &str) -> Result<()> {
    let r = sqlx::query("DELETE FROM domains WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "domain", id)
}

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub extra: String,
}

const COLS: &str = "id, name, description, enabled, extra";

pub async fn insert(e: impl sql::Executor<'_>, d: &Domain) -> Result<()> {
    sql::query("INSERT INTO domains (id, name, description, enabled, extra) VALUES (?, ?, ?, ?, ?)")
        .bind(&d.id)
        .bind(&d.name)
        .bind(&d.description)
        .bind(d.enabled)
        .bind(&d.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Domain>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM domains WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn get_by_name(e: impl sql::Executor<'_>, name: &str) -> Result<Option<Domain>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM domains WHERE name = ?"))
        .bind(name)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Domain>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM domains ORDER BY name"))
        .fetch_all(e)
        .await?)
}

pub async fn update(e: impl sql::Executor<'_>, d: &Domain) -> Result<()> {
    let r = sql::query("UPDATE domains SET name = ?, description = ?, enabled = ?, extra = ? WHERE id = ?")
        .bind(&d.name)
        .bind(&d.description)
        .bind(d.enabled)
        .bind(&d.extra)
        .bind(&d.id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "domain", &d.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM domains WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "domain", id)
}

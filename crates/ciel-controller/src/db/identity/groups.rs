use crate::db::one_row;
use crate::error::Result;
use sqlx::SqliteExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub extra: String,
}

const COLS: &str = "id, name, domain_id, description, extra";

pub async fn insert(e: impl SqliteExecutor<'_>, g: &Group) -> Result<()> {
    sqlx::query("INSERT INTO groups (id, name, domain_id, description, extra) VALUES (?, ?, ?, ?, ?)")
        .bind(&g.id)
        .bind(&g.name)
        .bind(&g.domain_id)
        .bind(&g.description)
        .bind(&g.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get(e: impl SqliteExecutor<'_>, id: &str) -> Result<Option<Group>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM groups WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl SqliteExecutor<'_>) -> Result<Vec<Group>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM groups ORDER BY name"))
        .fetch_all(e)
        .await?)
}

pub async fn list_for_user(e: impl SqliteExecutor<'_>, user_id: &str) -> Result<Vec<Group>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM groups WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?) ORDER BY name"
    ))
    .bind(user_id)
    .fetch_all(e)
    .await?)
}

pub async fn update(e: impl SqliteExecutor<'_>, g: &Group) -> Result<()> {
    let r = sqlx::query("UPDATE groups SET name = ?, description = ?, extra = ? WHERE id = ?")
        .bind(&g.name)
        .bind(&g.description)
        .bind(&g.extra)
        .bind(&g.id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "group", &g.id)
}

pub async fn delete(e: impl SqliteExecutor<'_>, id: &str) -> Result<()> {
    let r = sqlx::query("DELETE FROM groups WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "group", id)
}

pub async fn add_member(e: impl SqliteExecutor<'_>, group_id: &str, user_id: &str) -> Result<()> {
    sqlx::query("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)")
        .bind(group_id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn is_member(e: impl SqliteExecutor<'_>, group_id: &str, user_id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM group_members WHERE group_id = ? AND user_id = ?")
        .bind(group_id)
        .bind(user_id)
        .fetch_one(e)
        .await?;
    Ok(n > 0)
}

pub async fn remove_member(e: impl SqliteExecutor<'_>, group_id: &str, user_id: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
        .bind(group_id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn member_ids(e: impl SqliteExecutor<'_>, group_id: &str) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ?")
            .bind(group_id)
            .fetch_all(e)
            .await?,
    )
}

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub extra: String,
}

const COLS: &str = "id, name, domain_id, description, extra";

pub async fn insert(e: impl sql::Executor<'_>, g: &Group) -> Result<()> {
    sql::query("INSERT INTO groups (id, name, domain_id, description, extra) VALUES (?, ?, ?, ?, ?)")
        .bind(&g.id)
        .bind(&g.name)
        .bind(&g.domain_id)
        .bind(&g.description)
        .bind(&g.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Group>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM groups WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Group>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM groups ORDER BY name"))
        .fetch_all(e)
        .await?)
}

pub async fn list_for_user(e: impl sql::Executor<'_>, user_id: &str) -> Result<Vec<Group>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM groups WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?) ORDER BY name"
    ))
    .bind(user_id)
    .fetch_all(e)
    .await?)
}

pub async fn update(e: impl sql::Executor<'_>, g: &Group) -> Result<()> {
    let r = sql::query("UPDATE groups SET name = ?, description = ?, extra = ? WHERE id = ?")
        .bind(&g.name)
        .bind(&g.description)
        .bind(&g.extra)
        .bind(&g.id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "group", &g.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM groups WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "group", id)
}

pub async fn add_member(e: impl sql::Executor<'_>, group_id: &str, user_id: &str) -> Result<()> {
    sql::query("INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(group_id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn is_member(e: impl sql::Executor<'_>, group_id: &str, user_id: &str) -> Result<bool> {
    let n: i64 = sql::query_scalar("SELECT count(*) FROM group_members WHERE group_id = ? AND user_id = ?")
        .bind(group_id)
        .bind(user_id)
        .fetch_one(e)
        .await?;
    Ok(n > 0)
}

pub async fn remove_member(e: impl sql::Executor<'_>, group_id: &str, user_id: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
        .bind(group_id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn member_ids(e: impl sql::Executor<'_>, group_id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT user_id FROM group_members WHERE group_id = ?")
            .bind(group_id)
            .fetch_all(e)
            .await?,
    )
}

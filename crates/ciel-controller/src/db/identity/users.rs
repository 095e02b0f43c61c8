use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub password_hash: Option<String>,
    pub password_created_at: Option<i64>,
    pub password_expires_at: Option<i64>,
    pub failed_auth_count: i64,
    pub last_failed_auth_at: Option<i64>,
    pub options: String,
    pub extra: String,
    pub created_at: i64,
}

const COLS: &str = "id, name, domain_id, enabled, default_project_id, password_hash, password_created_at, \
     password_expires_at, failed_auth_count, last_failed_auth_at, options, extra, created_at";

pub async fn insert(e: impl sql::Executor<'_>, u: &User) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO users ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&u.id)
    .bind(&u.name)
    .bind(&u.domain_id)
    .bind(u.enabled)
    .bind(&u.default_project_id)
    .bind(&u.password_hash)
    .bind(u.password_created_at)
    .bind(u.password_expires_at)
    .bind(u.failed_auth_count)
    .bind(u.last_failed_auth_at)
    .bind(&u.options)
    .bind(&u.extra)
    .bind(u.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<User>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn get_by_name(e: impl sql::Executor<'_>, domain_id: &str, name: &str) -> Result<Option<User>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM users WHERE domain_id = ? AND name = ?"))
            .bind(domain_id)
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<User>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM users ORDER BY name"))
        .fetch_all(e)
        .await?)
}

pub async fn list_in_group(e: impl sql::Executor<'_>, group_id: &str) -> Result<Vec<User>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM users WHERE id IN (SELECT user_id FROM group_members WHERE group_id = ?) ORDER BY name"
    ))
    .bind(group_id)
    .fetch_all(e)
    .await?)
}

/// Writes every column but the password fields (see `set_password`).
pub async fn update(e: impl sql::Executor<'_>, u: &User) -> Result<()> {
    let r = sql::query(
        "UPDATE users SET name = ?, domain_id = ?, enabled = ?, default_project_id = ?, failed_auth_count = ?, \
         last_failed_auth_at = ?, options = ?, extra = ? WHERE id = ?",
    )
    .bind(&u.name)
    .bind(&u.domain_id)
    .bind(u.enabled)
    .bind(&u.default_project_id)
    .bind(u.failed_auth_count)
    .bind(u.last_failed_auth_at)
    .bind(&u.options)
    .bind(&u.extra)
    .bind(&u.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "user", &u.id)
}

pub async fn record_auth_failure(e: impl sql::Executor<'_>, id: &str, at: i64) -> Result<()> {
    sql::query("UPDATE users SET failed_auth_count = failed_auth_count + 1, last_failed_auth_at = ? WHERE id = ?")
        .bind(at)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn reset_auth_failures(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query(
        "UPDATE users SET failed_auth_count = 0, last_failed_auth_at = NULL WHERE id = ? AND failed_auth_count > 0",
    )
    .bind(id)
    .execute(e)
    .await?;
    Ok(())
}

/// Sets a new password hash and keeps the old one in the history.
pub async fn set_password(
    tx: &mut crate::db::Tx<'_>,
    id: &str,
    hash: &str,
    created_at: i64,
    expires_at: Option<i64>,
) -> Result<()> {
    sql::query("INSERT INTO password_history (user_id, password_hash, created_at) VALUES (?, ?, ?)")
        .bind(id)
        .bind(hash)
        .bind(created_at)
        .execute(&mut **tx)
        .await?;
    let r = sql::query(
        "UPDATE users SET password_hash = ?, password_created_at = ?, password_expires_at = ?, failed_auth_count = 0 WHERE id = ?",
    )
    .bind(hash)
    .bind(created_at)
    .bind(expires_at)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    one_row(r.rows_affected(), "user", id)
}

/// The last `n` password hashes of a user, newest first.
pub async fn password_history(e: impl sql::Executor<'_>, id: &str, n: u32) -> Result<Vec<String>> {
    Ok(sql::query_scalar(
        "SELECT password_hash FROM password_history WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
    )
    .bind(id)
    .bind(n as i64)
    .fetch_all(e)
    .await?)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM users WHERE id = ?").bind(id).execute(e).await?;
    one_row(r.rows_affected(), "user", id)
}

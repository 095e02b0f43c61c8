//! Application credentials, EC2-style credentials and policy blobs.
use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppCred {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub project_id: String,
    pub secret_hash: String,
    pub description: Option<String>,
    /// Microseconds since the epoch.
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    /// JSON array of role ids delegated to the credential.
    pub roles: String,
}

const AC_COLS: &str = "id, name, user_id, project_id, secret_hash, description, expires_at, unrestricted, roles";

pub async fn insert_app_cred(e: impl sql::Executor<'_>, a: &AppCred) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO application_credentials ({AC_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&a.id)
    .bind(&a.name)
    .bind(&a.user_id)
    .bind(&a.project_id)
    .bind(&a.secret_hash)
    .bind(&a.description)
    .bind(a.expires_at)
    .bind(a.unrestricted)
    .bind(&a.roles)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_app_cred(e: impl sql::Executor<'_>, id: &str) -> Result<Option<AppCred>> {
    Ok(
        sql::query_as(&format!("SELECT {AC_COLS} FROM application_credentials WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn get_app_cred_by_name(e: impl sql::Executor<'_>, user_id: &str, name: &str) -> Result<Option<AppCred>> {
    Ok(sql::query_as(&format!(
        "SELECT {AC_COLS} FROM application_credentials WHERE user_id = ? AND name = ?"
    ))
    .bind(user_id)
    .bind(name)
    .fetch_optional(e)
    .await?)
}

pub async fn list_app_creds(e: impl sql::Executor<'_>, user_id: &str) -> Result<Vec<AppCred>> {
    Ok(sql::query_as(&format!(
        "SELECT {AC_COLS} FROM application_credentials WHERE user_id = ? ORDER BY name"
    ))
    .bind(user_id)
    .fetch_all(e)
    .await?)
}

pub async fn delete_app_cred(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM application_credentials WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "application credential", id)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub r#type: String,
    pub blob: String,
    pub extra: String,
}

const CR_COLS: &str = "id, user_id, project_id, type, blob, extra";

pub async fn insert_credential(e: impl sql::Executor<'_>, c: &Credential) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO credentials ({CR_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
    ))
    .bind(&c.id)
    .bind(&c.user_id)
    .bind(&c.project_id)
    .bind(&c.r#type)
    .bind(&c.blob)
    .bind(&c.extra)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_credential(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Credential>> {
    Ok(
        sql::query_as(&format!("SELECT {CR_COLS} FROM credentials WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_credentials(e: impl sql::Executor<'_>) -> Result<Vec<Credential>> {
    Ok(sql::query_as(&format!("SELECT {CR_COLS} FROM credentials ORDER BY id"))
        .fetch_all(e)
        .await?)
}

pub async fn update_credential(e: impl sql::Executor<'_>, c: &Credential) -> Result<()> {
    let r =
        sql::query("UPDATE credentials SET user_id = ?, project_id = ?, type = ?, blob = ?, extra = ? WHERE id = ?")
            .bind(&c.user_id)
            .bind(&c.project_id)
            .bind(&c.r#type)
            .bind(&c.blob)
            .bind(&c.extra)
            .bind(&c.id)
            .execute(e)
            .await?;
    one_row(r.rows_affected(), "credential", &c.id)
}

/// Removes the credentials and application credentials of a deleted user or project.
pub async fn delete_owned_by(e: &mut crate::db::Tx<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM credentials WHERE user_id = ? OR project_id = ?")
        .bind(id)
        .bind(id)
        .execute(&mut **e)
        .await?;
    sql::query("DELETE FROM application_credentials WHERE user_id = ? OR project_id = ?")
        .bind(id)
        .bind(id)
        .execute(&mut **e)
        .await?;
    Ok(())
}

pub async fn delete_credential(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM credentials WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "credential", id)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Policy {
    pub id: String,
    pub r#type: String,
    pub blob: String,
    pub extra: String,
}

pub async fn insert_policy(e: impl sql::Executor<'_>, p: &Policy) -> Result<()> {
    sql::query("INSERT INTO policies (id, type, blob, extra) VALUES (?, ?, ?, ?)")
        .bind(&p.id)
        .bind(&p.r#type)
        .bind(&p.blob)
        .bind(&p.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_policy(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Policy>> {
    Ok(sql::query_as("SELECT id, type, blob, extra FROM policies WHERE id = ?")
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list_policies(e: impl sql::Executor<'_>) -> Result<Vec<Policy>> {
    Ok(sql::query_as("SELECT id, type, blob, extra FROM policies ORDER BY id")
        .fetch_all(e)
        .await?)
}

pub async fn update_policy(e: impl sql::Executor<'_>, p: &Policy) -> Result<()> {
    let r = sql::query("UPDATE policies SET type = ?, blob = ?, extra = ? WHERE id = ?")
        .bind(&p.r#type)
        .bind(&p.blob)
        .bind(&p.extra)
        .bind(&p.id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "policy", &p.id)
}

pub async fn delete_policy(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM policies WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "policy", id)
}

//! Key pairs, per user.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Keypair {
    pub id: i64,
    pub user_id: String,
    pub name: String,
    pub r#type: String,
    pub public_key: String,
    pub fingerprint: String,
    pub created_at: i64,
}

const COLS: &str = "id, user_id, name, type, public_key, fingerprint, created_at";

/// Inserts and returns the stored row (with its id); a taken name is a unique violation.
pub async fn insert(e: impl sql::Executor<'_>, k: &Keypair) -> Result<Keypair> {
    Ok(sql::query_as(&format!(
        "INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?) \
         RETURNING {COLS}"
    ))
    .bind(&k.user_id)
    .bind(&k.name)
    .bind(&k.r#type)
    .bind(&k.public_key)
    .bind(&k.fingerprint)
    .bind(k.created_at)
    .fetch_one(e)
    .await?)
}

pub async fn get(e: impl sql::Executor<'_>, user_id: &str, name: &str) -> Result<Option<Keypair>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM keypairs WHERE user_id = ? AND name = ?"))
            .bind(user_id)
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list(e: impl sql::Executor<'_>, user_id: &str) -> Result<Vec<Keypair>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM keypairs WHERE user_id = ? ORDER BY name"))
            .bind(user_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn count(e: impl sql::Executor<'_>, user_id: &str) -> Result<i64> {
    Ok(sql::query_scalar("SELECT count(*) FROM keypairs WHERE user_id = ?")
        .bind(user_id)
        .fetch_one(e)
        .await?)
}

/// Returns whether it existed.
pub async fn delete(e: impl sql::Executor<'_>, user_id: &str, name: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM keypairs WHERE user_id = ? AND name = ?")
        .bind(user_id)
        .bind(name)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

//! Volume type encryption specs (`volume_type_encryption`, one row per encrypted type).

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TypeEncryption {
    pub volume_type_id: String,
    pub encryption_id: String,
    pub provider: String,
    pub cipher: Option<String>,
    pub key_size: Option<i64>,
    /// `front-end` (the hypervisor encrypts) or `back-end` (the storage does).
    pub control_location: String,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

const COLS: &str =
    "volume_type_id, encryption_id, provider, cipher, key_size, control_location, created_at, updated_at";

pub async fn get(e: impl sql::Executor<'_>, type_id: &str) -> Result<Option<TypeEncryption>> {
    Ok(sql::query_as(&format!(
        "SELECT {COLS} FROM volume_type_encryption WHERE volume_type_id = ?"
    ))
    .bind(type_id)
    .fetch_optional(e)
    .await?)
}

/// Inserts the type's specs or replaces them.
pub async fn save(e: impl sql::Executor<'_>, t: &TypeEncryption) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO volume_type_encryption ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (volume_type_id) \
         DO UPDATE SET provider = excluded.provider, cipher = excluded.cipher, key_size = excluded.key_size, \
         control_location = excluded.control_location, updated_at = excluded.updated_at"
    ))
    .bind(&t.volume_type_id)
    .bind(&t.encryption_id)
    .bind(&t.provider)
    .bind(&t.cipher)
    .bind(t.key_size)
    .bind(&t.control_location)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete(e: impl sql::Executor<'_>, type_id: &str) -> Result<()> {
    sql::query("DELETE FROM volume_type_encryption WHERE volume_type_id = ?")
        .bind(type_id)
        .execute(e)
        .await?;
    Ok(())
}

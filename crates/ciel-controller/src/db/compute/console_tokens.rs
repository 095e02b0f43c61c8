//! Remote console tokens, by the SHA-256 of their secret: in the database so that a console
//! URL one controller hands out opens through any other.
use crate::db::sql;
use crate::error::Result;

/// Records a token for `server_id` until `expires_at`, dropping expired ones on the way.
pub async fn insert(e: &mut sql::Conn<'_>, sha256: &str, server_id: &str, expires_at: i64, now: i64) -> Result<()> {
    sql::query("DELETE FROM console_tokens WHERE expires_at <= ?")
        .bind(now)
        .execute(&mut *e)
        .await?;
    sql::query("INSERT INTO console_tokens (token_sha256, server_id, expires_at) VALUES (?, ?, ?)")
        .bind(sha256)
        .bind(server_id)
        .bind(expires_at)
        .execute(e)
        .await?;
    Ok(())
}

/// The server a token that has not expired at `now` opens.
pub async fn server_of(e: impl sql::Executor<'_>, sha256: &str, now: i64) -> Result<Option<String>> {
    Ok(
        sql::query_scalar("SELECT server_id FROM console_tokens WHERE token_sha256 = ? AND expires_at > ?")
            .bind(sha256)
            .bind(now)
            .fetch_optional(e)
            .await?,
    )
}

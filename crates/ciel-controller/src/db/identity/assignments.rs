use crate::error::Result;
use sqlx::SqliteExecutor;

/// One direct role assignment row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, sqlx::FromRow)]
pub struct Assignment {
    /// UserProject, GroupProject, UserDomain or GroupDomain.
    pub kind: String,
    pub actor_id: String,
    pub target_id: String,
    pub role_id: String,
    pub inherited: bool,
}

impl Assignment {
    pub fn actor_is_user(&self) -> bool {
        self.kind.starts_with("User")
    }
}

pub async fn insert(e: impl SqliteExecutor<'_>, a: &Assignment) -> Result<()> {
    sqlx::query(
        "INSERT OR IGNORE INTO assignments (kind, actor_id, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&a.kind)
    .bind(&a.actor_id)
    .bind(&a.target_id)
    .bind(&a.role_id)
    .bind(a.inherited)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn exists(e: impl SqliteExecutor<'_>, a: &Assignment) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments WHERE kind = ? AND actor_id = ? AND target_id = ? AND role_id = ? AND inherited = ?",
    )
    .bind(&a.kind)
    .bind(&a.actor_id)
    .bind(&a.target_id)
    .bind(&a.role_id)
    .bind(a.inherited)
    .fetch_one(e)
    .await?;
    Ok(n > 0)
}

pub async fn delete(e: impl SqliteExecutor<'_>, a: &Assignment) -> Result<bool> {
    let r = sqlx::query(
        "DELETE FROM assignments WHERE kind = ? AND actor_id = ? AND target_id = ? AND role_id = ? AND inherited = ?",
    )
    .bind(&a.kind)
    .bind(&a.actor_id)
    .bind(&a.target_id)
    .bind(&a.role_id)
    .bind(a.inherited)
    .execute(e)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list(e: impl SqliteExecutor<'_>) -> Result<Vec<Assignment>> {
    Ok(
        sqlx::query_as("SELECT kind, actor_id, target_id, role_id, inherited FROM assignments")
            .fetch_all(e)
            .await?,
    )
}

/// Assignments of the given actors (a user and the groups it belongs to).
pub async fn list_for_actors(e: impl SqliteExecutor<'_>, actors: &[String]) -> Result<Vec<Assignment>> {
    if actors.is_empty() {
        return Ok(vec![]);
    }
    let marks = vec!["?"; actors.len()].join(",");
    let sql =
        format!("SELECT kind, actor_id, target_id, role_id, inherited FROM assignments WHERE actor_id IN ({marks})");
    let mut q = sqlx::query_as(&sql);
    for a in actors {
        q = q.bind(a);
    }
    Ok(q.fetch_all(e).await?)
}

/// Removes every assignment naming `id` as actor or target (user, group, project or domain deleted).
pub async fn delete_for(e: impl SqliteExecutor<'_>, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM assignments WHERE actor_id = ? OR target_id = ?")
        .bind(id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

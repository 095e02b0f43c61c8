use crate::db::sql;
use crate::error::Result;

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

/// Binds the five columns that identify an assignment, in table order.
fn bind_row<'q>(q: sql::Query<'q>, a: &'q Assignment) -> sql::Query<'q> {
    q.bind(&a.kind)
        .bind(&a.actor_id)
        .bind(&a.target_id)
        .bind(&a.role_id)
        .bind(a.inherited)
}

pub async fn insert(e: impl sql::Executor<'_>, a: &Assignment) -> Result<()> {
    let q = sql::query(
        "INSERT INTO assignments (kind, actor_id, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    );
    bind_row(q, a).execute(e).await?;
    Ok(())
}

const MATCH_ROW: &str = "kind = ? AND actor_id = ? AND target_id = ? AND role_id = ? AND inherited = ?";

pub async fn exists(e: impl sql::Executor<'_>, a: &Assignment) -> Result<bool> {
    let sql = format!("SELECT 1 FROM assignments WHERE {MATCH_ROW}");
    Ok(bind_row(sql::query(&sql), a)
        .scalar::<i64>()
        .fetch_optional(e)
        .await?
        .is_some())
}

pub async fn delete(e: impl sql::Executor<'_>, a: &Assignment) -> Result<bool> {
    let sql = format!("DELETE FROM assignments WHERE {MATCH_ROW}");
    Ok(bind_row(sql::query(&sql), a).execute(e).await?.rows_affected() > 0)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Assignment>> {
    Ok(
        sql::query_as("SELECT kind, actor_id, target_id, role_id, inherited FROM assignments")
            .fetch_all(e)
            .await?,
    )
}

/// Assignments of the given actors (a user and the groups it belongs to).
pub async fn list_for_actors(e: impl sql::Executor<'_>, actors: &[String]) -> Result<Vec<Assignment>> {
    if actors.is_empty() {
        return Ok(vec![]);
    }
    let marks = vec!["?"; actors.len()].join(",");
    let sql =
        format!("SELECT kind, actor_id, target_id, role_id, inherited FROM assignments WHERE actor_id IN ({marks})");
    let mut q = sql::query_as(&sql);
    for a in actors {
        q = q.bind(a);
    }
    Ok(q.fetch_all(e).await?)
}

/// Removes every assignment naming `id` as actor or target (user, group, project or domain deleted).
pub async fn delete_for(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM assignments WHERE actor_id = ? OR target_id = ?")
        .bind(id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;
use ciel_proto::ids::ProjectId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub domain_id: String,
    /// None for a top-level project (its parent is its domain).
    pub parent_id: Option<ProjectId>,
    pub description: String,
    pub enabled: bool,
    pub extra: String,
    /// Comma-free list assembled from project_tags by the queries below.
    #[sqlx(default)]
    pub tags: Option<String>,
    /// A domain seen through the projects API (Keystone's `is_domain` projects).
    #[sqlx(default)]
    pub is_domain: bool,
}

impl Project {
    pub fn tag_list(&self) -> Vec<String> {
        match &self.tags {
            Some(t) if !t.is_empty() => t.split('\u{1f}').map(str::to_owned).collect(),
            _ => vec![],
        }
    }
}

const SELECT: &str = "SELECT p.id, p.name, p.domain_id, p.parent_id, p.description, p.enabled, p.extra, \
     (SELECT group_concat(tag, '\u{1f}') FROM (SELECT tag FROM project_tags t WHERE t.project_id = p.id ORDER BY tag) AS sorted) AS tags \
     FROM projects p";

pub async fn insert(e: impl sql::Executor<'_>, p: &Project) -> Result<()> {
    sql::query(
        "INSERT INTO projects (id, name, domain_id, parent_id, description, enabled, extra) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.domain_id)
    .bind(&p.parent_id)
    .bind(&p.description)
    .bind(p.enabled)
    .bind(&p.extra)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Project>> {
    Ok(sql::query_as(&format!("{SELECT} WHERE p.id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn get_by_name(e: impl sql::Executor<'_>, domain_id: &str, name: &str) -> Result<Option<Project>> {
    Ok(sql::query_as(&format!("{SELECT} WHERE p.domain_id = ? AND p.name = ?"))
        .bind(domain_id)
        .bind(name)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Project>> {
    Ok(sql::query_as(&format!("{SELECT} ORDER BY p.name")).fetch_all(e).await?)
}

pub async fn list_children(e: impl sql::Executor<'_>, parent_id: &str) -> Result<Vec<Project>> {
    Ok(
        sql::query_as(&format!("{SELECT} WHERE p.parent_id = ? ORDER BY p.name"))
            .bind(parent_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn count_in_domain(e: impl sql::Executor<'_>, domain_id: &str) -> Result<i64> {
    Ok(sql::query_scalar("SELECT count(*) FROM projects WHERE domain_id = ?")
        .bind(domain_id)
        .fetch_one(e)
        .await?)
}

pub async fn update(e: impl sql::Executor<'_>, p: &Project) -> Result<()> {
    let r = sql::query("UPDATE projects SET name = ?, description = ?, enabled = ?, extra = ? WHERE id = ?")
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.enabled)
        .bind(&p.extra)
        .bind(&p.id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "project", &p.id)
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM projects WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "project", id)
}

pub async fn set_tags(tx: &mut crate::db::Tx<'_>, id: &str, tags: &[String]) -> Result<()> {
    sql::query("DELETE FROM project_tags WHERE project_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for t in tags {
        sql::query("INSERT INTO project_tags (project_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(t)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn add_tag(e: impl sql::Executor<'_>, id: &str, tag: &str) -> Result<()> {
    sql::query("INSERT INTO project_tags (project_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn remove_tag(e: impl sql::Executor<'_>, id: &str, tag: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM project_tags WHERE project_id = ? AND tag = ?")
        .bind(id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

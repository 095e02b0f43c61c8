//! Tags of network resources.

use crate::db::sql;
use crate::error::Result;
use std::collections::HashMap;

/// Every tag of one kind of resource, by resource id (sorted), for rendering lists.
pub async fn all_of_kind(e: impl sql::Executor<'_>, kind: &str) -> Result<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> =
        sql::query_as("SELECT resource_id, tag FROM network_tags WHERE resource_kind = ? ORDER BY resource_id, tag")
            .bind(kind)
            .fetch_all(e)
            .await?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (id, tag) in rows {
        map.entry(id).or_default().push(tag);
    }
    Ok(map)
}

/// The tags of resources `ids`, by resource id (sorted), for rendering a page.
pub async fn of_resources(e: impl sql::Executor<'_>, ids: &[String]) -> Result<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = sql::rows_in(
        e,
        "SELECT resource_id, tag FROM network_tags WHERE resource_id IN (LIST) ORDER BY resource_id, tag",
        ids,
    )
    .await?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (id, tag) in rows {
        map.entry(id).or_default().push(tag);
    }
    Ok(map)
}

pub async fn of(e: impl sql::Executor<'_>, resource_id: &str) -> Result<Vec<String>> {
    Ok(
        sql::query_scalar("SELECT tag FROM network_tags WHERE resource_id = ? ORDER BY tag")
            .bind(resource_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn add(e: impl sql::Executor<'_>, kind: &str, resource_id: &str, tag: &str) -> Result<()> {
    sql::query("INSERT INTO network_tags (resource_kind, resource_id, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(kind)
        .bind(resource_id)
        .bind(tag)
        .execute(e)
        .await?;
    Ok(())
}

/// Removes one tag (returns whether it was there) or, with `tag` None, all of them.
pub async fn remove(e: impl sql::Executor<'_>, resource_id: &str, tag: Option<&str>) -> Result<bool> {
    let done = match tag {
        Some(t) => {
            sql::query("DELETE FROM network_tags WHERE resource_id = ? AND tag = ?")
                .bind(resource_id)
                .bind(t)
                .execute(e)
                .await?
        }
        None => {
            sql::query("DELETE FROM network_tags WHERE resource_id = ?")
                .bind(resource_id)
                .execute(e)
                .await?
        }
    };
    Ok(done.rows_affected() > 0)
}

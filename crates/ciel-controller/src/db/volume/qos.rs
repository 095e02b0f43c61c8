//! QoS specs and their association with volume types (`volume_types.qos_specs_id`).

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QosSpecs {
    pub id: String,
    pub name: String,
    /// `front-end`, `back-end` or `both`.
    pub consumer: String,
    /// JSON object of string values.
    pub specs: String,
    pub created_at: i64,
}

const COLS: &str = "id, name, consumer, specs, created_at";

pub async fn save(e: impl sql::Executor<'_>, q: &QosSpecs) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO qos_specs ({COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \
         consumer = excluded.consumer, specs = excluded.specs"
    ))
    .bind(&q.id)
    .bind(&q.name)
    .bind(&q.consumer)
    .bind(&q.specs)
    .bind(q.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<QosSpecs>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM qos_specs WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn get_by_name(e: impl sql::Executor<'_>, name: &str) -> Result<Option<QosSpecs>> {
    Ok(sql::query_as(&format!("SELECT {COLS} FROM qos_specs WHERE name = ?"))
        .bind(name)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<QosSpecs>> {
    Ok(
        sql::query_as(&format!("SELECT {COLS} FROM qos_specs ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn delete(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM qos_specs WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// The ids and names of the volume types associated with a spec.
pub async fn associated_types(e: impl sql::Executor<'_>, id: &str) -> Result<Vec<(String, String)>> {
    Ok(
        sql::query_as("SELECT id, name FROM volume_types WHERE qos_specs_id = ? ORDER BY name")
            .bind(id)
            .fetch_all(e)
            .await?,
    )
}

/// Sets (or with None clears) a type's spec.
pub async fn set_type_spec(e: impl sql::Executor<'_>, type_id: &str, spec: Option<&str>) -> Result<()> {
    sql::query("UPDATE volume_types SET qos_specs_id = ? WHERE id = ?")
        .bind(spec)
        .bind(type_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn clear_all(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("UPDATE volume_types SET qos_specs_id = NULL WHERE qos_specs_id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// The hosts running servers that have a volume of one of a spec's types attached (their
/// desired state carries the throttle).
pub async fn hosts_using(e: impl sql::Executor<'_>, id: &str) -> Result<Vec<String>> {
    Ok(sql::query_scalar(
        "SELECT DISTINCT s.host_id FROM volume_attachments a JOIN volumes v ON v.id = a.volume_id \
         JOIN volume_types t ON t.id = v.volume_type_id JOIN servers s ON s.id = a.server_id \
         WHERE t.qos_specs_id = ? AND s.host_id IS NOT NULL",
    )
    .bind(id)
    .fetch_all(e)
    .await?)
}

/// The hosts running servers with a volume of a type attached.
pub async fn hosts_using_type(e: impl sql::Executor<'_>, type_id: &str) -> Result<Vec<String>> {
    Ok(sql::query_scalar(
        "SELECT DISTINCT s.host_id FROM volume_attachments a JOIN volumes v ON v.id = a.volume_id \
         JOIN servers s ON s.id = a.server_id WHERE v.volume_type_id = ? AND s.host_id IS NOT NULL",
    )
    .bind(type_id)
    .fetch_all(e)
    .await?)
}

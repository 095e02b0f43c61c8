//! Regions, services and endpoints: the service catalog.
use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
    pub extra: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Service {
    pub id: String,
    pub r#type: String,
    pub enabled: bool,
    /// Holds `name`, `description` and any other attribute, as Keystone does.
    pub extra: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    pub id: String,
    pub service_id: String,
    pub interface: String,
    pub region_id: Option<String>,
    pub url: String,
    pub enabled: bool,
    pub extra: String,
}

pub async fn insert_region(e: impl sql::Executor<'_>, r: &Region) -> Result<()> {
    sql::query("INSERT INTO regions (id, description, parent_region_id, extra) VALUES (?, ?, ?, ?)")
        .bind(&r.id)
        .bind(&r.description)
        .bind(&r.parent_region_id)
        .bind(&r.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_region(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Region>> {
    Ok(
        sql::query_as("SELECT id, description, parent_region_id, extra FROM regions WHERE id = ?")
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_regions(e: impl sql::Executor<'_>) -> Result<Vec<Region>> {
    Ok(
        sql::query_as("SELECT id, description, parent_region_id, extra FROM regions ORDER BY id")
            .fetch_all(e)
            .await?,
    )
}

pub async fn update_region(e: impl sql::Executor<'_>, r: &Region) -> Result<()> {
    let res = sql::query("UPDATE regions SET description = ?, parent_region_id = ?, extra = ? WHERE id = ?")
        .bind(&r.description)
        .bind(&r.parent_region_id)
        .bind(&r.extra)
        .bind(&r.id)
        .execute(e)
        .await?;
    one_row(res.rows_affected(), "region", &r.id)
}

pub async fn delete_region(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM regions WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "region", id)
}

pub async fn insert_service(e: impl sql::Executor<'_>, s: &Service) -> Result<()> {
    sql::query("INSERT INTO services (id, type, enabled, extra) VALUES (?, ?, ?, ?)")
        .bind(&s.id)
        .bind(&s.r#type)
        .bind(s.enabled)
        .bind(&s.extra)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_service(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Service>> {
    Ok(
        sql::query_as("SELECT id, type, enabled, extra FROM services WHERE id = ?")
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_services(e: impl sql::Executor<'_>) -> Result<Vec<Service>> {
    Ok(
        sql::query_as("SELECT id, type, enabled, extra FROM services ORDER BY type")
            .fetch_all(e)
            .await?,
    )
}

pub async fn update_service(e: impl sql::Executor<'_>, s: &Service) -> Result<()> {
    let r = sql::query("UPDATE services SET type = ?, enabled = ?, extra = ? WHERE id = ?")
        .bind(&s.r#type)
        .bind(s.enabled)
        .bind(&s.extra)
        .bind(&s.id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "service", &s.id)
}

pub async fn delete_service(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM services WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "service", id)
}

const EP_COLS: &str = "id, service_id, interface, region_id, url, enabled, extra";

pub async fn insert_endpoint(e: impl sql::Executor<'_>, ep: &Endpoint) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO endpoints ({EP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&ep.id)
    .bind(&ep.service_id)
    .bind(&ep.interface)
    .bind(&ep.region_id)
    .bind(&ep.url)
    .bind(ep.enabled)
    .bind(&ep.extra)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_endpoint(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Endpoint>> {
    Ok(sql::query_as(&format!("SELECT {EP_COLS} FROM endpoints WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list_endpoints(e: impl sql::Executor<'_>) -> Result<Vec<Endpoint>> {
    Ok(sql::query_as(&format!(
        "SELECT {EP_COLS} FROM endpoints ORDER BY service_id, interface"
    ))
    .fetch_all(e)
    .await?)
}

pub async fn update_endpoint(e: impl sql::Executor<'_>, ep: &Endpoint) -> Result<()> {
    let r = sql::query(
        "UPDATE endpoints SET service_id = ?, interface = ?, region_id = ?, url = ?, enabled = ?, extra = ? WHERE id = ?",
    )
    .bind(&ep.service_id)
    .bind(&ep.interface)
    .bind(&ep.region_id)
    .bind(&ep.url)
    .bind(ep.enabled)
    .bind(&ep.extra)
    .bind(&ep.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "endpoint", &ep.id)
}

pub async fn delete_endpoint(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM endpoints WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "endpoint", id)
}

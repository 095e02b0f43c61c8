//! What an operator offers load balancers: flavors and availability zones, each through a
//! profile of provider options (kept as the JSON text the API echoes verbatim).

use crate::db::sql;
use crate::error::Result;

/// A flavor profile or an availability zone profile: same shape, two tables.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub provider_name: String,
    /// `flavor_data` or `availability_zone_data`, verbatim.
    pub data: String,
}

/// Which profile table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    Flavor,
    Zone,
}

impl ProfileKind {
    fn table(self) -> &'static str {
        match self {
            ProfileKind::Flavor => "lb_flavor_profiles",
            ProfileKind::Zone => "lb_az_profiles",
        }
    }

    fn data_col(self) -> &'static str {
        match self {
            ProfileKind::Flavor => "flavor_data",
            ProfileKind::Zone => "availability_zone_data",
        }
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub flavor_profile_id: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Zone {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub availability_zone_profile_id: String,
}

pub async fn profiles(e: impl sql::Executor<'_>, kind: ProfileKind) -> Result<Vec<Profile>> {
    Ok(sql::query_as(&format!(
        "SELECT id, name, provider_name, {} AS data FROM {} ORDER BY id",
        kind.data_col(),
        kind.table()
    ))
    .fetch_all(e)
    .await?)
}

pub async fn profile(e: impl sql::Executor<'_>, kind: ProfileKind, id: &str) -> Result<Option<Profile>> {
    Ok(sql::query_as(&format!(
        "SELECT id, name, provider_name, {} AS data FROM {} WHERE id = ?",
        kind.data_col(),
        kind.table()
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

pub async fn insert_profile(e: impl sql::Executor<'_>, kind: ProfileKind, p: &Profile) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO {} (id, name, provider_name, {}) VALUES (?, ?, ?, ?)",
        kind.table(),
        kind.data_col()
    ))
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.provider_name)
    .bind(&p.data)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_profile(e: impl sql::Executor<'_>, kind: ProfileKind, p: &Profile) -> Result<()> {
    sql::query(&format!(
        "UPDATE {} SET name = ?, provider_name = ?, {} = ? WHERE id = ?",
        kind.table(),
        kind.data_col()
    ))
    .bind(&p.name)
    .bind(&p.provider_name)
    .bind(&p.data)
    .bind(&p.id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_profile(e: impl sql::Executor<'_>, kind: ProfileKind, id: &str) -> Result<()> {
    sql::query(&format!("DELETE FROM {} WHERE id = ?", kind.table()))
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

const FLAVOR_COLS: &str = "id, name, description, enabled, flavor_profile_id";

pub async fn flavors(e: impl sql::Executor<'_>) -> Result<Vec<Flavor>> {
    Ok(
        sql::query_as(&format!("SELECT {FLAVOR_COLS} FROM lb_flavors ORDER BY id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn flavor(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Flavor>> {
    Ok(
        sql::query_as(&format!("SELECT {FLAVOR_COLS} FROM lb_flavors WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn flavor_named(e: impl sql::Executor<'_>, name: &str) -> Result<Option<Flavor>> {
    Ok(
        sql::query_as(&format!("SELECT {FLAVOR_COLS} FROM lb_flavors WHERE name = ?"))
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

/// How many flavors use a flavor profile.
pub async fn flavors_using(e: impl sql::Executor<'_>, profile_id: &str) -> Result<i64> {
    Ok(
        sql::query_scalar("SELECT COUNT(*) FROM lb_flavors WHERE flavor_profile_id = ?")
            .bind(profile_id)
            .fetch_one(e)
            .await?,
    )
}

pub async fn insert_flavor(e: impl sql::Executor<'_>, f: &Flavor) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO lb_flavors ({FLAVOR_COLS}) VALUES (?, ?, ?, ?, ?)"
    ))
    .bind(&f.id)
    .bind(&f.name)
    .bind(&f.description)
    .bind(f.enabled)
    .bind(&f.flavor_profile_id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_flavor(e: impl sql::Executor<'_>, f: &Flavor) -> Result<()> {
    sql::query("UPDATE lb_flavors SET name = ?, description = ?, enabled = ? WHERE id = ?")
        .bind(&f.name)
        .bind(&f.description)
        .bind(f.enabled)
        .bind(&f.id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn delete_flavor(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM lb_flavors WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

const ZONE_COLS: &str = "name, description, enabled, availability_zone_profile_id";

pub async fn zones(e: impl sql::Executor<'_>) -> Result<Vec<Zone>> {
    Ok(
        sql::query_as(&format!("SELECT {ZONE_COLS} FROM lb_availability_zones ORDER BY name"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn zone(e: impl sql::Executor<'_>, name: &str) -> Result<Option<Zone>> {
    Ok(
        sql::query_as(&format!("SELECT {ZONE_COLS} FROM lb_availability_zones WHERE name = ?"))
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

/// How many availability zones use an availability zone profile.
pub async fn zones_using(e: impl sql::Executor<'_>, profile_id: &str) -> Result<i64> {
    Ok(
        sql::query_scalar("SELECT COUNT(*) FROM lb_availability_zones WHERE availability_zone_profile_id = ?")
            .bind(profile_id)
            .fetch_one(e)
            .await?,
    )
}

pub async fn insert_zone(e: impl sql::Executor<'_>, z: &Zone) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO lb_availability_zones ({ZONE_COLS}) VALUES (?, ?, ?, ?)"
    ))
    .bind(&z.name)
    .bind(&z.description)
    .bind(z.enabled)
    .bind(&z.availability_zone_profile_id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_zone(e: impl sql::Executor<'_>, z: &Zone) -> Result<()> {
    sql::query("UPDATE lb_availability_zones SET description = ?, enabled = ? WHERE name = ?")
        .bind(&z.description)
        .bind(z.enabled)
        .bind(&z.name)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn delete_zone(e: impl sql::Executor<'_>, name: &str) -> Result<()> {
    sql::query("DELETE FROM lb_availability_zones WHERE name = ?")
        .bind(name)
        .execute(e)
        .await?;
    Ok(())
}

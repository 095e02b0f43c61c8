//! Flavors, flavor profiles, availability zones and availability zone profiles (admin
//! CRUD; flavors and zones readable by every reader), with Octavia's rules: a profile's data
//! is a JSON text kept verbatim and checked by the provider (options the provider does not
//! offer are Octavia's 501), a profile in use by a flavor or zone and a flavor or zone in
//! use by a load balancer cannot change or go, flavor names and zone names are unique.
//!
//! What Ciel's provider takes: in a flavor, `loadbalancer_topology` `SINGLE` (one haproxy
//! namespace per load balancer; active/standby is not built); in a zone, `compute_zone`, one
//! of the cloud's compute availability zones (Ciel has one, `nova`, holding every network
//! node). Amphora options (`compute_flavor`, `amp_image_tag`, `management_network`, …) have
//! no meaning without service VMs and are refused.

use super::params::Fields;
use super::{invalid, PROVIDERS};
use crate::app::App;
use crate::db::loadbalancer::catalog::{self as db, Flavor, Profile, ProfileKind, Zone};
use crate::db::loadbalancer::{self as lbdb};
use crate::error::{Error, Result};
use serde_json::Value;

/// The one compute availability zone of a Ciel cloud.
pub const COMPUTE_ZONE: &str = "nova";

/// The flavor capabilities of Ciel's provider (`GET /providers/{p}/flavor_capabilities`).
/// No commas in descriptions: octavia-tempest-plugin reads them from a comma-separated
/// option.
pub const FLAVOR_CAPABILITIES: &[(&str, &str)] = &[(
    "loadbalancer_topology",
    "The load balancer topology. One of: SINGLE - One haproxy namespace per load balancer (ACTIVE_STANDBY is not offered).",
)];

/// The availability zone capabilities of Ciel's provider.
pub const ZONE_CAPABILITIES: &[(&str, &str)] = &[(
    "compute_zone",
    "The compute availability zone of the network nodes serving the load balancer.",
)];

fn profile_noun(kind: ProfileKind) -> &'static str {
    match kind {
        ProfileKind::Flavor => "Flavor Profile",
        ProfileKind::Zone => "Availability Zone Profile",
    }
}

fn data_field(kind: ProfileKind) -> &'static str {
    match kind {
        ProfileKind::Flavor => "flavor_data",
        ProfileKind::Zone => "availability_zone_data",
    }
}

/// Octavia's `InvalidOption` (400).
fn invalid_option(value: &str, option: &str) -> Error {
    Error::bad_request(format!("{value} is not a valid option for {option}"))
}

/// Octavia's `ProviderUnsupportedOptionError` (501).
fn unsupported(provider: &str, msg: impl std::fmt::Display) -> Error {
    Error::Typed {
        status: 501,
        kind: "ProviderUnsupportedOptionError",
        message: format!("Provider '{provider}' does not support a requested option: {msg}"),
    }
}

/// Octavia's `ObjectInUse` (409).
fn in_use(noun: &str, id: &str) -> Error {
    Error::conflict(format!("{noun} {id} is in use and cannot be modified."))
}

fn enabled_provider(p: &str) -> Result<()> {
    if PROVIDERS.iter().any(|(n, _)| *n == p) {
        Ok(())
    } else {
        Err(Error::bad_request(format!("Provider '{p}' is not enabled.")))
    }
}

/// The provider's check of a profile's data (every provider name Ciel lists is its one
/// haproxy provider).
fn validate_data(kind: ProfileKind, provider: &str, data: &str) -> Result<()> {
    enabled_provider(provider)?;
    let parsed: Value = serde_json::from_str(data).map_err(|_| invalid_option(data, data_field(kind)))?;
    let Value::Object(options) = parsed else {
        return Err(invalid_option(data, data_field(kind)));
    };
    for (key, value) in &options {
        match (kind, key.as_str()) {
            (ProfileKind::Flavor, "loadbalancer_topology") => match value.as_str() {
                Some("SINGLE") => {}
                Some("ACTIVE_STANDBY") => {
                    return Err(unsupported(
                        provider,
                        "loadbalancer_topology ACTIVE_STANDBY: load balancers run as one haproxy namespace.",
                    ))
                }
                _ => {
                    return Err(unsupported(
                        provider,
                        format!("loadbalancer_topology {value} is not one of SINGLE."),
                    ))
                }
            },
            (ProfileKind::Zone, "compute_zone") => match value.as_str() {
                Some(COMPUTE_ZONE) => {}
                Some(other) => {
                    return Err(invalid(format!(
                        "The compute availability zone {other} does not exist."
                    )))
                }
                None => return Err(invalid_option(&value.to_string(), "compute_zone")),
            },
            _ => {
                return Err(unsupported(
                    provider,
                    format!("{key} is not an option of this provider."),
                ))
            }
        }
    }
    Ok(())
}

/// A new profile: `name`, `provider_name` and the data, all required.
#[derive(Debug, Clone)]
pub struct CreateProfile {
    pub name: String,
    pub provider_name: String,
    pub data: String,
}

impl CreateProfile {
    pub fn parse(kind: ProfileKind, v: Value) -> Result<Self> {
        let arg = match kind {
            ProfileKind::Flavor => "flavorprofile",
            ProfileKind::Zone => "availability_zone_profile",
        };
        let mut f = Fields::new(arg, v)?;
        let field = data_field(kind);
        let required = |f: &mut Fields, k: &str, max: usize| -> Result<String> {
            f.string(k, max)?.ok_or_else(|| {
                Error::bad_request(format!(
                    "Invalid input for field/attribute {k}. Value: 'None'. Mandatory field missing."
                ))
            })
        };
        let r = CreateProfile {
            name: required(&mut f, "name", 255)?,
            provider_name: required(&mut f, "provider_name", 255)?,
            data: required(&mut f, field, 4096)?,
        };
        f.raw("id");
        f.finish()?;
        Ok(r)
    }
}

/// A profile update: each field absent (kept) or a new value; an explicit null is refused.
#[derive(Debug, Clone, Default)]
pub struct UpdateProfile {
    pub name: Option<String>,
    pub provider_name: Option<String>,
    pub data: Option<String>,
}

impl UpdateProfile {
    pub fn parse(kind: ProfileKind, v: Value) -> Result<Self> {
        let arg = match kind {
            ProfileKind::Flavor => "flavorprofile",
            ProfileKind::Zone => "availability_zone_profile",
        };
        let mut f = Fields::new(arg, v)?;
        let field = data_field(kind);
        for k in ["name", "provider_name", field] {
            if f.map_has_null(k) {
                return Err(invalid_option("None", k));
            }
        }
        let r = UpdateProfile {
            name: f.string("name", 255)?,
            provider_name: f.string("provider_name", 255)?,
            data: f.string(field, 4096)?,
        };
        f.finish()?;
        Ok(r)
    }
}

/// A new flavor.
#[derive(Debug, Clone)]
pub struct CreateFlavor {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub flavor_profile_id: String,
}

impl TryFrom<Value> for CreateFlavor {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("flavor", v)?;
        let missing = |k: &str| {
            Error::bad_request(format!(
                "Invalid input for field/attribute {k}. Value: 'None'. Mandatory field missing."
            ))
        };
        let r = CreateFlavor {
            name: f.string("name", 255)?.ok_or_else(|| missing("name"))?,
            description: f.string("description", 255)?.unwrap_or_default(),
            enabled: f.bool("enabled")?.unwrap_or(true),
            flavor_profile_id: f
                .uuid("flavor_profile_id")?
                .ok_or_else(|| missing("flavor_profile_id"))?,
        };
        f.raw("id");
        f.finish()?;
        Ok(r)
    }
}

/// A flavor or zone update: name (flavors only), description, enabled.
#[derive(Debug, Clone, Default)]
pub struct UpdateOffer {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

impl UpdateOffer {
    pub fn parse(arg: &'static str, v: Value, with_name: bool) -> Result<Self> {
        let mut f = Fields::new(arg, v)?;
        if with_name && f.map_has_null("name") {
            return Err(invalid_option("None", "name"));
        }
        let r = UpdateOffer {
            name: if with_name { f.string("name", 255)? } else { None },
            description: if f.map_has_null("description") {
                f.raw("description");
                Some(String::new())
            } else {
                f.string("description", 255)?
            },
            enabled: f.bool("enabled")?,
        };
        f.finish()?;
        Ok(r)
    }
}

/// A new availability zone.
#[derive(Debug, Clone)]
pub struct CreateZone {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub availability_zone_profile_id: String,
}

impl TryFrom<Value> for CreateZone {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("availability_zone", v)?;
        let missing = |k: &str| {
            Error::bad_request(format!(
                "Invalid input for field/attribute {k}. Value: 'None'. Mandatory field missing."
            ))
        };
        let r = CreateZone {
            name: f.string("name", 255)?.ok_or_else(|| missing("name"))?,
            description: f.string("description", 255)?.unwrap_or_default(),
            enabled: f.bool("enabled")?.unwrap_or(true),
            availability_zone_profile_id: f
                .uuid("availability_zone_profile_id")?
                .ok_or_else(|| missing("availability_zone_profile_id"))?,
        };
        f.finish()?;
        Ok(r)
    }
}

impl App {
    // --- profiles ----------------------------------------------------------------------

    pub async fn lb_profiles(&self, kind: ProfileKind) -> Result<Vec<Profile>> {
        db::profiles(&self.db, kind).await
    }

    pub async fn lb_profile(&self, kind: ProfileKind, id: &str) -> Result<Profile> {
        db::profile(&self.db, kind, id)
            .await?
            .ok_or_else(|| Error::not_found(profile_noun(kind), id))
    }

    pub async fn create_lb_profile(&self, kind: ProfileKind, req: CreateProfile) -> Result<Profile> {
        validate_data(kind, &req.provider_name, &req.data)?;
        let p = Profile {
            id: uuid::Uuid::new_v4().to_string(),
            name: req.name,
            provider_name: req.provider_name,
            data: req.data,
        };
        let mut tx = self.begin().await?;
        db::insert_profile(&mut *tx, kind, &p).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn update_lb_profile(&self, kind: ProfileKind, id: &str, req: UpdateProfile) -> Result<Profile> {
        let mut tx = self.begin().await?;
        let mut p = db::profile(&mut *tx, kind, id)
            .await?
            .ok_or_else(|| Error::not_found(profile_noun(kind), id))?;
        if req.provider_name.is_some() || req.data.is_some() {
            if self.profile_users(&mut tx, kind, id).await? > 0 {
                return Err(in_use(profile_noun(kind), id));
            }
            let provider = req.provider_name.as_deref().unwrap_or(&p.provider_name);
            let data = req.data.as_deref().unwrap_or(&p.data);
            validate_data(kind, provider, data)?;
        }
        if let Some(n) = req.name {
            p.name = n;
        }
        if let Some(n) = req.provider_name {
            p.provider_name = n;
        }
        if let Some(d) = req.data {
            p.data = d;
        }
        db::update_profile(&mut *tx, kind, &p).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn delete_lb_profile(&self, kind: ProfileKind, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        db::profile(&mut *tx, kind, id)
            .await?
            .ok_or_else(|| Error::not_found(profile_noun(kind), id))?;
        if self.profile_users(&mut tx, kind, id).await? > 0 {
            return Err(in_use(profile_noun(kind), id));
        }
        db::delete_profile(&mut *tx, kind, id).await?;
        tx.commit().await
    }

    async fn profile_users(&self, tx: &mut crate::db::Tx<'_>, kind: ProfileKind, id: &str) -> Result<i64> {
        match kind {
            ProfileKind::Flavor => db::flavors_using(&mut **tx, id).await,
            ProfileKind::Zone => db::zones_using(&mut **tx, id).await,
        }
    }

    // --- flavors -----------------------------------------------------------------------

    pub async fn lb_flavors(&self) -> Result<Vec<Flavor>> {
        db::flavors(&self.db).await
    }

    pub async fn lb_flavor(&self, id: &str) -> Result<Flavor> {
        db::flavor(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("Flavor", id))
    }

    pub async fn create_lb_flavor(&self, req: CreateFlavor) -> Result<Flavor> {
        let mut tx = self.begin().await?;
        if db::profile(&mut *tx, ProfileKind::Flavor, &req.flavor_profile_id)
            .await?
            .is_none()
        {
            return Err(invalid_option(&req.flavor_profile_id, "flavor_profile_id"));
        }
        if db::flavor_named(&mut *tx, &req.name).await?.is_some() {
            return Err(Error::conflict(format!("A flavor of {} already exists.", req.name)));
        }
        let f = Flavor {
            id: uuid::Uuid::new_v4().to_string(),
            name: req.name,
            description: req.description,
            enabled: req.enabled,
            flavor_profile_id: req.flavor_profile_id,
        };
        db::insert_flavor(&mut *tx, &f).await?;
        tx.commit().await?;
        Ok(f)
    }

    pub async fn update_lb_flavor(&self, id: &str, req: UpdateOffer) -> Result<Flavor> {
        let mut tx = self.begin().await?;
        let mut f = db::flavor(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("Flavor", id))?;
        if let Some(n) = req.name {
            if n != f.name && db::flavor_named(&mut *tx, &n).await?.is_some() {
                return Err(Error::conflict(format!("A flavor of {n} already exists.")));
            }
            f.name = n;
        }
        if let Some(d) = req.description {
            f.description = d;
        }
        if let Some(e) = req.enabled {
            f.enabled = e;
        }
        db::update_flavor(&mut *tx, &f).await?;
        tx.commit().await?;
        Ok(f)
    }

    pub async fn delete_lb_flavor(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        db::flavor(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("Flavor", id))?;
        let lbs = lbdb::list(&mut *tx, None).await?;
        if lbs.iter().any(|lb| lb.attrs.flavor_id.as_deref() == Some(id)) {
            return Err(in_use("Flavor", id));
        }
        db::delete_flavor(&mut *tx, id).await?;
        tx.commit().await
    }

    // --- availability zones ------------------------------------------------------------

    pub async fn lb_zones(&self) -> Result<Vec<Zone>> {
        db::zones(&self.db).await
    }

    pub async fn lb_zone(&self, name: &str) -> Result<Zone> {
        db::zone(&self.db, name)
            .await?
            .ok_or_else(|| Error::not_found("Availability Zone", name))
    }

    pub async fn create_lb_zone(&self, req: CreateZone) -> Result<Zone> {
        let mut tx = self.begin().await?;
        if db::profile(&mut *tx, ProfileKind::Zone, &req.availability_zone_profile_id)
            .await?
            .is_none()
        {
            return Err(invalid_option(
                &req.availability_zone_profile_id,
                "availability_zone_profile_id",
            ));
        }
        if db::zone(&mut *tx, &req.name).await?.is_some() {
            return Err(Error::conflict(format!(
                "A availability zone of {} already exists.",
                req.name
            )));
        }
        let z = Zone {
            name: req.name,
            description: req.description,
            enabled: req.enabled,
            availability_zone_profile_id: req.availability_zone_profile_id,
        };
        db::insert_zone(&mut *tx, &z).await?;
        tx.commit().await?;
        Ok(z)
    }

    pub async fn update_lb_zone(&self, name: &str, req: UpdateOffer) -> Result<Zone> {
        let mut tx = self.begin().await?;
        let mut z = db::zone(&mut *tx, name)
            .await?
            .ok_or_else(|| Error::not_found("Availability Zone", name))?;
        if let Some(d) = req.description {
            z.description = d;
        }
        if let Some(e) = req.enabled {
            z.enabled = e;
        }
        db::update_zone(&mut *tx, &z).await?;
        tx.commit().await?;
        Ok(z)
    }

    pub async fn delete_lb_zone(&self, name: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        db::zone(&mut *tx, name)
            .await?
            .ok_or_else(|| Error::not_found("Availability Zone", name))?;
        let lbs = lbdb::list(&mut *tx, None).await?;
        if lbs.iter().any(|lb| lb.attrs.availability_zone.as_deref() == Some(name)) {
            return Err(in_use("Availability Zone", name));
        }
        db::delete_zone(&mut *tx, name).await?;
        tx.commit().await
    }

    /// What a load balancer create names: its flavor (enabled, of the same provider) and its
    /// zone (enabled, of the same provider). Returns the provider to use: the one asked,
    /// else the flavor's, else the zone's, else the default.
    pub(crate) async fn lb_offer_check(
        &self,
        tx: &mut crate::db::Tx<'_>,
        provider: Option<&str>,
        flavor_id: Option<&str>,
        zone: Option<&str>,
    ) -> Result<String> {
        let mut provider = provider.map(str::to_owned);
        if let Some(id) = flavor_id {
            let f = db::flavor(&mut **tx, id)
                .await?
                .ok_or_else(|| invalid("Invalid flavor_id."))?;
            if !f.enabled {
                return Err(Error::bad_request(format!(
                    "The selected flavor is not allowed in this deployment: {id}"
                )));
            }
            let p = db::profile(&mut **tx, ProfileKind::Flavor, &f.flavor_profile_id)
                .await?
                .ok_or_else(|| Error::Internal(format!("flavor {id} has no profile")))?;
            match &provider {
                None => provider = Some(p.provider_name),
                Some(asked) if *asked != p.provider_name => {
                    return Err(Error::bad_request(format!(
                        "Flavor '{id}' is not compatible with provider '{asked}'"
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some(name) = zone {
            let z = db::zone(&mut **tx, name)
                .await?
                .ok_or_else(|| invalid("Invalid availability zone."))?;
            if !z.enabled {
                return Err(Error::bad_request(format!(
                    "The selected availability_zone is not allowed in this deployment: {name}"
                )));
            }
            let p = db::profile(&mut **tx, ProfileKind::Zone, &z.availability_zone_profile_id)
                .await?
                .ok_or_else(|| Error::Internal(format!("availability zone {name} has no profile")))?;
            match &provider {
                None => provider = Some(p.provider_name),
                Some(asked) if *asked != p.provider_name => {
                    return Err(Error::bad_request(format!(
                        "Availability zone '{name}' is not compatible with provider '{asked}'"
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(provider.unwrap_or_else(|| super::DEFAULT_PROVIDER.into()))
    }
}

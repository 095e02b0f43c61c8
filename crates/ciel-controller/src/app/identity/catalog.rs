//! Regions, services, endpoints and the catalog put in tokens.

use super::caller::Caller;
use super::input::{self, Body};
use super::new_id;
use crate::app::App;
use crate::db::identity::catalog::{self, Endpoint, Region, Service};
use crate::error::{Error, Result};
use serde_json::Value;
use std::sync::Arc;

const INTERFACES: &[&str] = &["public", "internal", "admin"];

/// One service of the catalog with its enabled endpoints.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub service: Service,
    pub endpoints: Vec<Endpoint>,
}

impl App {
    pub async fn create_region(&self, caller: &Caller, id: Option<String>, mut body: Body) -> Result<Region> {
        caller.require_admin()?;
        let body_id = input::opt_str(&mut body, "id", 255, true)?;
        let id = match (id, body_id) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::bad_request(
                    "Conflicting region IDs specified: the URL and body differ.",
                ))
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => new_id(),
        };
        let parent = input::opt_str(&mut body, "parent_region_id", 255, true)?;
        if let Some(p) = &parent {
            catalog::get_region(&self.db, p)
                .await?
                .ok_or_else(|| Error::not_found("region", p))?;
        }
        let r = Region {
            id,
            description: input::opt_str(&mut body, "description", 255, true)?.unwrap_or_default(),
            parent_region_id: parent,
            extra: input::merge_extra("{}", body),
        };
        catalog::insert_region(&self.db, &r).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store region - Duplicate ID, {}.",
                r.id
            )),
            other => other,
        })?;
        self.identity_changed();
        Ok(r)
    }

    pub async fn get_region(&self, _caller: &Caller, id: &str) -> Result<Region> {
        catalog::get_region(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("region", id))
    }

    pub async fn list_regions(&self, _caller: &Caller) -> Result<Vec<Region>> {
        catalog::list_regions(&self.db).await
    }

    pub async fn update_region(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Region> {
        caller.require_admin()?;
        let mut r = catalog::get_region(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("region", id))?;
        body.remove("id");
        if body.contains_key("parent_region_id") {
            let parent = input::opt_str(&mut body, "parent_region_id", 255, true)?;
            if let Some(p) = &parent {
                if p == id {
                    return Err(Error::bad_request("A region cannot be its own parent."));
                }
                // Walk up from the new parent; meeting ourselves would make a cycle.
                let mut cur = Some(p.clone());
                while let Some(c) = cur {
                    let reg = catalog::get_region(&self.db, &c)
                        .await?
                        .ok_or_else(|| Error::not_found("region", &c))?;
                    if reg.parent_region_id.as_deref() == Some(id) {
                        return Err(Error::bad_request(
                            "The specified parent region would create a circular region hierarchy.",
                        ));
                    }
                    cur = reg.parent_region_id;
                }
            }
            r.parent_region_id = parent;
        }
        if let Some(d) = input::opt_str(&mut body, "description", 255, true)? {
            r.description = d;
        }
        r.extra = input::merge_extra(&r.extra, body);
        catalog::update_region(&self.db, &r).await?;
        self.identity_changed();
        Ok(r)
    }

    pub async fn delete_region(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let children = catalog::list_regions(&self.db)
            .await?
            .into_iter()
            .any(|r| r.parent_region_id.as_deref() == Some(id));
        if children {
            return Err(Error::Forbidden(
                "Unable to delete region because it or its child regions have associated endpoints.".into(),
            ));
        }
        catalog::delete_region(&self.db, id).await?;
        self.identity_changed();
        Ok(())
    }

    pub async fn create_service(&self, caller: &Caller, mut body: Body) -> Result<Service> {
        caller.require_admin()?;
        body.remove("id");
        let s = Service {
            id: new_id(),
            r#type: input::name(&mut body, "type", 255)?,
            enabled: input::opt_bool(&mut body, "enabled")?.unwrap_or(true),
            extra: input::merge_extra("{}", body),
        };
        catalog::insert_service(&self.db, &s).await?;
        self.identity_changed();
        Ok(s)
    }

    pub async fn get_service(&self, _caller: &Caller, id: &str) -> Result<Service> {
        catalog::get_service(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("service", id))
    }

    pub async fn list_services(&self, _caller: &Caller) -> Result<Vec<Service>> {
        catalog::list_services(&self.db).await
    }

    pub async fn update_service(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Service> {
        caller.require_admin()?;
        let mut s = catalog::get_service(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("service", id))?;
        body.remove("id");
        if let Some(t) = input::opt_name(&mut body, "type", 255)? {
            s.r#type = t;
        }
        if let Some(e) = input::opt_bool(&mut body, "enabled")? {
            s.enabled = e;
        }
        s.extra = input::merge_extra(&s.extra, body);
        catalog::update_service(&self.db, &s).await?;
        self.identity_changed();
        Ok(s)
    }

    pub async fn delete_service(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        catalog::delete_service(&self.db, id).await?;
        self.identity_changed();
        Ok(())
    }

    fn endpoint_fields(ep: &mut Endpoint, body: &mut Body, create: bool) -> Result<()> {
        if let Some(i) = input::opt_str(body, "interface", 10, false)? {
            if !INTERFACES.contains(&i.as_str()) {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'interface': '{i}' is not one of {INTERFACES:?}"
                )));
            }
            ep.interface = i;
        } else if create {
            return Err(Error::bad_request(
                "Invalid input for field 'interface': 'interface' is a required property",
            ));
        }
        if let Some(u) = input::opt_str(body, "url", 225, false)? {
            if !(u.contains("://") && u.len() > 3) {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'url': '{u}' is not a valid URL"
                )));
            }
            ep.url = u;
        } else if create {
            return Err(Error::bad_request(
                "Invalid input for field 'url': 'url' is a required property",
            ));
        }
        if let Some(s) = input::opt_str(body, "service_id", 64, false)? {
            ep.service_id = s;
        } else if create {
            return Err(Error::bad_request(
                "Invalid input for field 'service_id': 'service_id' is a required property",
            ));
        }
        if let Some(e) = input::opt_bool(body, "enabled")? {
            ep.enabled = e;
        }
        // `region` is the legacy spelling of `region_id`.
        let legacy = input::opt_str(body, "region", 255, true)?;
        if body.contains_key("region_id") {
            ep.region_id = input::opt_str(body, "region_id", 255, true)?;
        } else if legacy.is_some() {
            ep.region_id = legacy;
        }
        Ok(())
    }

    pub async fn create_endpoint(&self, caller: &Caller, mut body: Body) -> Result<Endpoint> {
        caller.require_admin()?;
        body.remove("id");
        let mut ep = Endpoint {
            id: new_id(),
            service_id: String::new(),
            interface: String::new(),
            region_id: None,
            url: String::new(),
            enabled: true,
            extra: String::new(),
        };
        Self::endpoint_fields(&mut ep, &mut body, true)?;
        self.check_endpoint_refs(&ep).await?;
        ep.extra = input::merge_extra("{}", body);
        catalog::insert_endpoint(&self.db, &ep).await?;
        self.identity_changed();
        Ok(ep)
    }

    async fn check_endpoint_refs(&self, ep: &Endpoint) -> Result<()> {
        if catalog::get_service(&self.db, &ep.service_id).await?.is_none() {
            return Err(Error::bad_request(format!(
                "Could not find service: {}.",
                ep.service_id
            )));
        }
        if let Some(r) = &ep.region_id {
            // Keystone creates a region named by an endpoint on the fly.
            if catalog::get_region(&self.db, r).await?.is_none() {
                let region = Region {
                    id: r.clone(),
                    description: String::new(),
                    parent_region_id: None,
                    extra: "{}".into(),
                };
                catalog::insert_region(&self.db, &region).await?;
            }
        }
        Ok(())
    }

    pub async fn get_endpoint(&self, _caller: &Caller, id: &str) -> Result<Endpoint> {
        catalog::get_endpoint(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("endpoint", id))
    }

    pub async fn list_endpoints(&self, _caller: &Caller) -> Result<Vec<Endpoint>> {
        catalog::list_endpoints(&self.db).await
    }

    pub async fn update_endpoint(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Endpoint> {
        caller.require_admin()?;
        let mut ep = catalog::get_endpoint(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("endpoint", id))?;
        body.remove("id");
        Self::endpoint_fields(&mut ep, &mut body, false)?;
        self.check_endpoint_refs(&ep).await?;
        ep.extra = input::merge_extra(&ep.extra, body);
        catalog::update_endpoint(&self.db, &ep).await?;
        self.identity_changed();
        Ok(ep)
    }

    pub async fn delete_endpoint(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        catalog::delete_endpoint(&self.db, id).await?;
        self.identity_changed();
        Ok(())
    }

    /// The catalog as tokens carry it: enabled services with their enabled endpoints.
    /// Cached until the next identity write.
    pub async fn catalog(&self) -> Result<Arc<Vec<CatalogEntry>>> {
        let generation = self.identity_generation();
        if let Some((g, c)) = self.catalog_cache.lock().expect("catalog cache").as_ref() {
            if *g == generation {
                return Ok(c.clone());
            }
        }
        let fresh = Arc::new(self.build_catalog().await?);
        *self.catalog_cache.lock().expect("catalog cache") = Some((generation, fresh.clone()));
        Ok(fresh)
    }

    async fn build_catalog(&self) -> Result<Vec<CatalogEntry>> {
        let services = catalog::list_services(&self.db).await?;
        let endpoints = catalog::list_endpoints(&self.db).await?;
        Ok(services
            .into_iter()
            .filter(|s| s.enabled)
            .map(|s| {
                let eps = endpoints
                    .iter()
                    .filter(|e| e.service_id == s.id && e.enabled)
                    .cloned()
                    .collect();
                CatalogEntry {
                    service: s,
                    endpoints: eps,
                }
            })
            .collect())
    }
}

/// A service's `name` lives in its extra attributes, as in Keystone.
pub fn service_name(s: &Service) -> String {
    input::extra_object(&s.extra)
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

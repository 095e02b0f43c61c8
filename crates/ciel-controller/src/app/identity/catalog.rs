//! Regions, services, endpoints and the catalog put in tokens.

use super::caller::Caller;
use super::new_id;
use super::params::{EndpointCreate, EndpointUpdate, RegionCreate, RegionUpdate, ServiceCreate, ServiceUpdate};
use crate::app::json_input as input;
use crate::app::App;
use crate::db::identity::catalog::{self, Endpoint, Region, Service};
use crate::db::Tx;
use crate::error::{Error, Result};
use serde_json::Value;
use std::sync::Arc;

/// One service of the catalog with its enabled endpoints.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub service: Service,
    pub endpoints: Vec<Endpoint>,
}

impl App {
    /// `POST /v3/regions` (`id` None) or `PUT /v3/regions/{id}`.
    pub async fn create_region(&self, caller: &Caller, id: Option<String>, new: RegionCreate) -> Result<Region> {
        caller.require_admin()?;
        let id = match (id, new.id) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::bad_request(
                    "Conflicting region IDs specified: the URL and body differ.",
                ))
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => new_id(),
        };
        if let Some(p) = &new.parent_region_id {
            catalog::get_region(&self.db, p)
                .await?
                .ok_or_else(|| Error::not_found("region", p))?;
        }
        let r = Region {
            id,
            description: new.description,
            parent_region_id: new.parent_region_id,
            extra: input::merge_extra("{}", new.extra),
        };
        catalog::insert_region(&self.db, &r).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store region - Duplicate ID, {}.",
                r.id
            )),
            other => other,
        })?;
        self.identity_changed().await?;
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

    pub async fn update_region(&self, caller: &Caller, id: &str, change: RegionUpdate) -> Result<Region> {
        caller.require_admin()?;
        // Read and written in one transaction: concurrent updates do not undo each other.
        let mut tx = self.begin().await?;
        let mut r = catalog::get_region(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("region", id))?;
        if let Some(parent) = change.parent_region_id {
            if let Some(p) = &parent {
                if p == id {
                    return Err(Error::bad_request("A region cannot be its own parent."));
                }
                // Walk up from the new parent; meeting ourselves would make a cycle.
                let mut cur = Some(p.clone());
                while let Some(c) = cur {
                    let reg = catalog::get_region(&mut *tx, &c)
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
        if let Some(d) = change.description {
            r.description = d;
        }
        r.extra = input::merge_extra(&r.extra, change.extra);
        catalog::update_region(&mut *tx, &r).await?;
        tx.commit().await?;
        self.identity_changed().await?;
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
        self.identity_changed().await?;
        Ok(())
    }

    pub async fn create_service(&self, caller: &Caller, new: ServiceCreate) -> Result<Service> {
        caller.require_admin()?;
        let s = Service {
            id: new_id(),
            r#type: new.r#type,
            enabled: new.enabled,
            extra: input::merge_extra("{}", new.extra),
        };
        catalog::insert_service(&self.db, &s).await?;
        self.identity_changed().await?;
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

    pub async fn update_service(&self, caller: &Caller, id: &str, change: ServiceUpdate) -> Result<Service> {
        caller.require_admin()?;
        // Read and written in one transaction: concurrent updates do not undo each other.
        let mut tx = self.begin().await?;
        let mut s = catalog::get_service(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("service", id))?;
        if let Some(t) = change.r#type {
            s.r#type = t;
        }
        if let Some(e) = change.enabled {
            s.enabled = e;
        }
        s.extra = input::merge_extra(&s.extra, change.extra);
        catalog::update_service(&mut *tx, &s).await?;
        tx.commit().await?;
        self.identity_changed().await?;
        Ok(s)
    }

    pub async fn delete_service(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        catalog::delete_service(&self.db, id).await?;
        self.identity_changed().await?;
        Ok(())
    }

    pub async fn create_endpoint(&self, caller: &Caller, new: EndpointCreate) -> Result<Endpoint> {
        caller.require_admin()?;
        let ep = Endpoint {
            id: new_id(),
            service_id: new.service_id,
            interface: new.interface,
            region_id: new.region_id,
            url: new.url,
            enabled: new.enabled,
            extra: input::merge_extra("{}", new.extra),
        };
        let mut tx = self.begin().await?;
        Self::check_endpoint_refs(&mut tx, &ep).await?;
        catalog::insert_endpoint(&mut *tx, &ep).await?;
        tx.commit().await?;
        self.identity_changed().await?;
        Ok(ep)
    }

    /// The endpoint's service exists; its region is created if missing (in `tx`, which
    /// then holds the writer lock: nothing here may write through another connection).
    async fn check_endpoint_refs(tx: &mut Tx<'_>, ep: &Endpoint) -> Result<()> {
        if catalog::get_service(&mut **tx, &ep.service_id).await?.is_none() {
            return Err(Error::bad_request(format!(
                "Could not find service: {}.",
                ep.service_id
            )));
        }
        if let Some(r) = &ep.region_id {
            // Keystone creates a region named by an endpoint on the fly.
            if catalog::get_region(&mut **tx, r).await?.is_none() {
                let region = Region {
                    id: r.clone(),
                    description: String::new(),
                    parent_region_id: None,
                    extra: "{}".into(),
                };
                catalog::insert_region(&mut **tx, &region).await?;
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

    pub async fn update_endpoint(&self, caller: &Caller, id: &str, change: EndpointUpdate) -> Result<Endpoint> {
        caller.require_admin()?;
        // Read and written in one transaction: concurrent updates do not undo each other.
        let mut tx = self.begin().await?;
        let mut ep = catalog::get_endpoint(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("endpoint", id))?;
        if let Some(i) = change.interface {
            ep.interface = i;
        }
        if let Some(u) = change.url {
            ep.url = u;
        }
        if let Some(s) = change.service_id {
            ep.service_id = s;
        }
        if let Some(e) = change.enabled {
            ep.enabled = e;
        }
        if let Some(r) = change.region_id {
            ep.region_id = r;
        }
        Self::check_endpoint_refs(&mut tx, &ep).await?;
        ep.extra = input::merge_extra(&ep.extra, change.extra);
        catalog::update_endpoint(&mut *tx, &ep).await?;
        tx.commit().await?;
        self.identity_changed().await?;
        Ok(ep)
    }

    pub async fn delete_endpoint(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        catalog::delete_endpoint(&self.db, id).await?;
        self.identity_changed().await?;
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

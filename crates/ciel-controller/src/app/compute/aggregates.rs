//! Host aggregates (admin only): named groups of hypervisor hosts with metadata and an
//! optional availability zone. Recorded and shown; the scheduler does not filter on them yet.

use super::resource_params::{AggregateAction, AggregateMetadata, CreateAggregate, UpdateAggregate};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::aggregates::{self as db, Aggregate};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

pub struct AggregateView {
    pub aggregate: Aggregate,
    pub hosts: Vec<String>,
}

fn parse_id(id: &str) -> Result<i64> {
    id.parse().map_err(|_| Error::not_found("aggregate", id))
}

impl App {
    async fn aggregate_view(&self, id: i64) -> Result<AggregateView> {
        let aggregate = db::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("aggregate", id))?;
        Ok(AggregateView {
            hosts: db::hosts(&self.db, id).await?,
            aggregate,
        })
    }

    pub async fn create_aggregate(&self, caller: &Caller, req: CreateAggregate) -> Result<AggregateView> {
        caller.require_admin()?;
        let name = &req.name;
        let id = db::insert(&self.db, name, req.availability_zone.as_deref(), crate::db::now())
            .await
            .map_err(|e| match e {
                Error::Conflict(_) => Error::Conflict(format!("Aggregate {name} already exists.")),
                other => other,
            })?;
        self.aggregate_view(id).await
    }

    pub async fn list_aggregates(&self, caller: &Caller) -> Result<Vec<AggregateView>> {
        caller.require_admin()?;
        let mut out = vec![];
        for a in db::list(&self.db).await? {
            out.push(AggregateView {
                hosts: db::hosts(&self.db, a.id).await?,
                aggregate: a,
            });
        }
        Ok(out)
    }

    pub async fn get_aggregate(&self, caller: &Caller, id: &str) -> Result<AggregateView> {
        caller.require_admin()?;
        self.aggregate_view(parse_id(id)?).await
    }

    pub async fn update_aggregate(&self, caller: &Caller, id: &str, req: UpdateAggregate) -> Result<AggregateView> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut a = db::get(&mut *tx, parse_id(id)?)
            .await?
            .ok_or_else(|| Error::not_found("aggregate", id))?;
        if let Some(n) = req.name {
            a.name = n;
        }
        if let Some(z) = req.availability_zone {
            a.availability_zone = z;
        }
        a.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &a).await?;
        tx.commit().await?;
        self.aggregate_view(a.id).await
    }

    pub async fn delete_aggregate(&self, caller: &Caller, id: &str) -> Result<()> {
        let v = self.get_aggregate(caller, id).await?;
        if !v.hosts.is_empty() {
            return Err(Error::bad_request(format!(
                "Cannot remove aggregate {id}: it still has hosts"
            )));
        }
        db::delete(&self.db, v.aggregate.id).await
    }

    /// `POST /os-aggregates/{id}/action`.
    pub async fn aggregate_action(&self, caller: &Caller, id: &str, action: AggregateAction) -> Result<AggregateView> {
        match action {
            AggregateAction::AddHost { host } => self.aggregate_host(caller, id, &host, true).await,
            AggregateAction::RemoveHost { host } => self.aggregate_host(caller, id, &host, false).await,
            AggregateAction::SetMetadata { metadata } => self.set_aggregate_metadata(caller, id, metadata).await,
        }
    }

    /// Adds (or removes) a hypervisor host by name; 404 for unknown hosts, 409 for a host
    /// already in (or not in) the aggregate.
    pub async fn aggregate_host(&self, caller: &Caller, id: &str, host: &str, add: bool) -> Result<AggregateView> {
        let v = self.get_aggregate(caller, id).await?;
        self.compute_host(caller, host).await?;
        let changed = if add {
            db::add_host(&self.db, v.aggregate.id, host).await?
        } else {
            db::remove_host(&self.db, v.aggregate.id, host).await?
        };
        if !changed {
            return Err(if add {
                Error::Conflict(format!("Aggregate {id} already has host {host}."))
            } else {
                Error::not_found("aggregate host", host)
            });
        }
        self.aggregate_view(v.aggregate.id).await
    }

    /// Merges metadata; a null value removes the key.
    pub async fn set_aggregate_metadata(
        &self,
        caller: &Caller,
        id: &str,
        given: AggregateMetadata,
    ) -> Result<AggregateView> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut a = db::get(&mut *tx, parse_id(id)?)
            .await?
            .ok_or_else(|| Error::not_found("aggregate", id))?;
        let mut m: Map<String, Value> = serde_json::from_str(&a.metadata).unwrap_or_default();
        for (k, v) in given.0 {
            match v {
                None => m.remove(&k),
                Some(s) => m.insert(k, Value::String(s)),
            };
        }
        a.metadata = Value::Object(m).to_string();
        a.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &a).await?;
        tx.commit().await?;
        self.aggregate_view(a.id).await
    }
}

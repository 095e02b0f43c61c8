use super::caller::{Caller, Scope};
use super::new_id;
use super::params::{DomainCreate, DomainUpdate};
use crate::app::json_input as input;
use crate::app::App;
use crate::db::identity::domains::{self, Domain};
use crate::db::identity::revocations::RevocationEvent;
use crate::db::identity::{assignments, groups, projects, roles, users};
use crate::error::{Error, Result};
use ciel_proto::ids::ProjectId;

pub const DEFAULT_DOMAIN_ID: &str = "default";

impl App {
    pub async fn create_domain(&self, caller: &Caller, new: DomainCreate) -> Result<Domain> {
        caller.require_admin()?;
        let d = Domain {
            id: new.explicit_id.unwrap_or_else(new_id),
            name: new.name,
            description: new.description,
            enabled: new.enabled,
            extra: input::merge_extra("{}", new.extra),
        };
        domains::insert(&self.db, &d).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store domain - Duplicate entry found with name {}.",
                d.name
            )),
            other => other,
        })?;
        self.identity_changed().await?;
        Ok(d)
    }

    pub async fn get_domain(&self, caller: &Caller, id: &str) -> Result<Domain> {
        let d = domains::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("domain", id))?;
        let own = caller.grant.user.domain.id == d.id
            || match &caller.grant.scope {
                Scope::Project(p) => p.domain.id == d.id,
                Scope::Domain(dd) => dd.id == d.id,
                Scope::Unscoped | Scope::System => false,
            };
        if !caller.is_admin() && !own {
            return Err(Error::forbidden());
        }
        Ok(d)
    }

    pub async fn list_domains(&self, caller: &Caller) -> Result<Vec<Domain>> {
        caller.require_admin()?;
        domains::list(&self.db).await
    }

    /// Domains where the caller has a role (`/v3/auth/domains`).
    pub async fn list_my_domains(&self, caller: &Caller) -> Result<Vec<Domain>> {
        let mut out = vec![];
        for d in domains::list(&self.db).await? {
            if d.enabled
                && !self
                    .effective_roles_on_domain(caller.user_id(), &d.id)
                    .await?
                    .is_empty()
            {
                out.push(d);
            }
        }
        Ok(out)
    }

    pub async fn update_domain(&self, caller: &Caller, id: &str, change: DomainUpdate) -> Result<Domain> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut d = domains::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("domain", id))?;
        if change.id.is_some_and(|given| !given.is(id)) {
            return Err(Error::bad_request("Cannot change the domain ID."));
        }
        if let Some(n) = change.name {
            d.name = n;
        }
        if let Some(desc) = change.description {
            d.description = desc;
        }
        if let Some(e) = change.enabled {
            if !e && d.id == DEFAULT_DOMAIN_ID {
                return Err(Error::forbidden());
            }
            d.enabled = e;
        }
        d.extra = input::merge_extra(&d.extra, change.extra);
        domains::update(&mut *tx, &d).await?;
        tx.commit().await?;
        if !d.enabled {
            self.revoke(RevocationEvent {
                domain_id: Some(d.id.clone()),
                ..Default::default()
            })
            .await?;
        }
        self.identity_changed().await?;
        Ok(d)
    }

    /// Deletes a disabled domain and everything in it, in one transaction.
    pub async fn delete_domain(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let d = domains::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("domain", id))?;
        if d.id == DEFAULT_DOMAIN_ID {
            return Err(Error::Forbidden("The default domain cannot be deleted.".into()));
        }
        if d.enabled {
            return Err(Error::Forbidden(
                "Cannot delete a domain that is enabled, please disable it first.".into(),
            ));
        }
        let mut tx = self.begin().await?;
        // Children before parents: delete deepest projects first.
        let mut in_domain: Vec<_> = projects::list(&mut *tx)
            .await?
            .into_iter()
            .filter(|p| p.domain_id == id)
            .collect();
        while !in_domain.is_empty() {
            let parents: std::collections::HashSet<ProjectId> =
                in_domain.iter().filter_map(|p| p.parent_id.clone()).collect();
            let (leaves, rest): (Vec<_>, Vec<_>) = in_domain.into_iter().partition(|p| !parents.contains(&p.id));
            for p in &leaves {
                assignments::delete_for(&mut *tx, &p.id).await?;
                projects::delete(&mut *tx, &p.id).await?;
            }
            in_domain = rest;
        }
        for u in users::list(&mut *tx).await?.into_iter().filter(|u| u.domain_id == id) {
            assignments::delete_for(&mut *tx, &u.id).await?;
            users::delete(&mut *tx, &u.id).await?;
        }
        for g in groups::list(&mut *tx).await?.into_iter().filter(|g| g.domain_id == id) {
            assignments::delete_for(&mut *tx, &g.id).await?;
            groups::delete(&mut *tx, &g.id).await?;
        }
        for r in roles::list(&mut *tx).await?.into_iter().filter(|r| r.domain_id == id) {
            roles::delete(&mut *tx, &r.id).await?;
        }
        assignments::delete_for(&mut *tx, id).await?;
        domains::delete(&mut *tx, id).await?;
        tx.commit().await?;
        self.identity_changed().await?;
        Ok(())
    }
}

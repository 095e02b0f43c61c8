use super::caller::{Caller, Scope};
use super::input::{self, Body};
use super::new_id;
use crate::app::App;
use crate::db::identity::domains::{self, Domain};
use crate::db::identity::revocations::RevocationEvent;
use crate::db::identity::{assignments, groups, projects, roles, users};
use crate::error::{Error, Result};

pub const DEFAULT_DOMAIN_ID: &str = "default";

impl App {
    pub async fn create_domain(&self, caller: &Caller, mut body: Body) -> Result<Domain> {
        caller.require_admin()?;
        let explicit_id = input::opt_str(&mut body, "explicit_domain_id", 64, true)?;
        body.remove("id");
        let d = Domain {
            id: explicit_id.unwrap_or_else(new_id),
            name: input::name(&mut body, "name", 64)?,
            description: input::opt_str(&mut body, "description", 65535, true)?.unwrap_or_default(),
            enabled: input::opt_bool(&mut body, "enabled")?.unwrap_or(true),
            extra: String::new(),
        };
        let d = Domain {
            extra: input::merge_extra("{}", body),
            ..d
        };
        domains::insert(&self.db, &d).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store domain - Duplicate entry found with name {}.",
                d.name
            )),
            other => other,
        })?;
        self.identity_changed();
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

    pub async fn update_domain(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Domain> {
        caller.require_admin()?;
        let mut d = domains::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("domain", id))?;
        if body.get("id").is_some_and(|v| v.as_str() != Some(id)) {
            return Err(Error::bad_request("Cannot change the domain ID."));
        }
        body.remove("id");
        if let Some(n) = input::opt_name(&mut body, "name", 64)? {
            d.name = n;
        }
        if let Some(desc) = input::opt_str(&mut body, "description", 65535, true)? {
            d.description = desc;
        }
        if let Some(e) = input::opt_bool(&mut body, "enabled")? {
            if !e && d.id == DEFAULT_DOMAIN_ID {
                return Err(Error::forbidden());
            }
            d.enabled = e;
        }
        d.extra = input::merge_extra(&d.extra, body);
        domains::update(&self.db, &d).await?;
        if !d.enabled {
            self.revoke(RevocationEvent {
                domain_id: Some(d.id.clone()),
                ..Default::default()
            })
            .await?;
        }
        self.identity_changed();
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
        let mut tx = crate::db::begin(&self.db).await?;
        // Children before parents: delete deepest projects first.
        let mut in_domain: Vec<_> = projects::list(&mut *tx)
            .await?
            .into_iter()
            .filter(|p| p.domain_id == id)
            .collect();
        while !in_domain.is_empty() {
            let parents: std::collections::HashSet<String> =
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
        self.identity_changed();
        Ok(())
    }
}

use super::caller::Caller;
use super::new_id;
use super::params::{RoleCreate, RoleUpdate};
use crate::app::json_input as input;
use crate::app::App;
use crate::db::identity::domains;
use crate::db::identity::roles::{self, Role};
use crate::error::{Error, Result};
use serde_json::Value;

/// Roles no other role may imply (Keystone's `prohibited_implied_role`).
const PROHIBITED_IMPLIED: &[&str] = &["admin"];

impl App {
    pub async fn create_role(&self, caller: &Caller, new: RoleCreate) -> Result<Role> {
        caller.require_admin()?;
        if !new.domain_id.is_empty() && domains::get(&self.db, &new.domain_id).await?.is_none() {
            return Err(Error::not_found("domain", &new.domain_id));
        }
        let r = Role {
            id: new_id(),
            name: new.name,
            domain_id: new.domain_id,
            description: new.description,
            options: Value::Object(new.options).to_string(),
            extra: input::merge_extra("{}", new.extra),
        };
        roles::insert(&self.db, &r).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store role - Duplicate entry found with name {}.",
                r.name
            )),
            other => other,
        })?;
        Ok(r)
    }

    /// Roles are readable by any authenticated user (clients resolve role names).
    pub async fn get_role(&self, _caller: &Caller, id: &str) -> Result<Role> {
        roles::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("role", id))
    }

    pub async fn list_roles(&self, _caller: &Caller) -> Result<Vec<Role>> {
        roles::list(&self.db).await
    }

    pub async fn update_role(&self, caller: &Caller, id: &str, change: RoleUpdate) -> Result<Role> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut r = roles::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("role", id))?;
        if change
            .domain_id
            .is_some_and(|given| given.as_str_or_empty() != r.domain_id)
        {
            return Err(Error::bad_request("Update of `domain_id` is not allowed."));
        }
        if let Some(n) = change.name {
            r.name = n;
        }
        if let Some(d) = change.description {
            r.description = d;
        }
        if let Some(o) = change.options {
            r.options = o.to_string();
        }
        r.extra = input::merge_extra(&r.extra, change.extra);
        roles::update(&mut *tx, &r).await?;
        tx.commit().await?;
        self.identity_changed().await?;
        Ok(r)
    }

    pub async fn delete_role(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        roles::delete(&self.db, id).await?;
        self.identity_changed().await?;
        Ok(())
    }

    async fn role_pair(&self, prior: &str, implied: &str) -> Result<(Role, Role)> {
        let p = roles::get(&self.db, prior)
            .await?
            .ok_or_else(|| Error::not_found("role", prior))?;
        let i = roles::get(&self.db, implied)
            .await?
            .ok_or_else(|| Error::not_found("role", implied))?;
        Ok((p, i))
    }

    pub async fn create_implied_role(&self, caller: &Caller, prior: &str, implied: &str) -> Result<(Role, Role)> {
        caller.require_admin()?;
        let (p, i) = self.role_pair(prior, implied).await?;
        // A global role may not imply a domain-specific one; domain roles may imply anything.
        if PROHIBITED_IMPLIED.contains(&i.name.as_str()) || (p.domain_id.is_empty() && !i.domain_id.is_empty()) {
            return Err(Error::Forbidden(format!(
                "{} is not permitted to be an implied role",
                i.name
            )));
        }
        if p.id == i.id {
            return Err(Error::bad_request("A role cannot imply itself."));
        }
        roles::add_implication(&self.db, prior, implied).await?;
        self.identity_changed().await?;
        Ok((p, i))
    }

    pub async fn get_implied_role(&self, caller: &Caller, prior: &str, implied: &str) -> Result<(Role, Role)> {
        caller.require_admin()?;
        let (p, i) = self.role_pair(prior, implied).await?;
        let exists = roles::list_implications(&self.db)
            .await?
            .iter()
            .any(|(a, b)| a == prior && b == implied);
        if !exists {
            return Err(Error::NotFound {
                kind: "implied role",
                id: format!("{prior} implies {implied}"),
            });
        }
        Ok((p, i))
    }

    pub async fn delete_implied_role(&self, caller: &Caller, prior: &str, implied: &str) -> Result<()> {
        caller.require_admin()?;
        self.role_pair(prior, implied).await?;
        if !roles::remove_implication(&self.db, prior, implied).await? {
            return Err(Error::NotFound {
                kind: "implied role",
                id: format!("{prior} implies {implied}"),
            });
        }
        self.identity_changed().await?;
        Ok(())
    }

    /// Implication rules, optionally for one prior role: (prior, [implied]).
    pub async fn list_implied_roles(&self, caller: &Caller, prior: Option<&str>) -> Result<Vec<(Role, Vec<Role>)>> {
        caller.require_admin()?;
        if let Some(p) = prior {
            roles::get(&self.db, p)
                .await?
                .ok_or_else(|| Error::not_found("role", p))?;
        }
        let all = roles::list(&self.db).await?;
        let find = |id: &str| all.iter().find(|r| r.id == id).cloned();
        let mut out: Vec<(Role, Vec<Role>)> = vec![];
        for (a, b) in roles::list_implications(&self.db).await? {
            if prior.is_some_and(|p| p != a) {
                continue;
            }
            let (Some(pr), Some(im)) = (find(&a), find(&b)) else {
                continue;
            };
            match out.iter_mut().find(|(r, _)| r.id == pr.id) {
                Some((_, list)) => list.push(im),
                None => out.push((pr, vec![im])),
            }
        }
        if let (Some(p), true) = (prior, out.is_empty()) {
            if let Some(r) = find(p) {
                out.push((r, vec![]));
            }
        }
        Ok(out)
    }
}

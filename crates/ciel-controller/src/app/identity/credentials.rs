//! Application credentials (delegated, secret-based auth), EC2-style credentials, policy blobs.

use super::caller::{Caller, NamedRef};
use super::params::{AppCredCreate, CredentialCreate, CredentialUpdate, PolicyCreate, PolicyUpdate, RoleRef};
use super::{new_id, passwords};
use crate::app::json_input as input;
use crate::app::App;
use crate::db::identity::credentials::{self, AppCred, Credential, Policy};
use crate::db::identity::{projects, roles, users};
use crate::error::{Error, Result};
use base64::Engine;
use rand::RngCore;

/// A newly created application credential: the secret is shown only this once.
pub struct NewAppCred {
    pub cred: AppCred,
    pub secret: String,
}

impl App {
    /// Creates an application credential for the caller's own user on its current project,
    /// delegating some or all of the caller's roles there.
    pub async fn create_app_cred(&self, caller: &Caller, user_id: &str, new: AppCredCreate) -> Result<NewAppCred> {
        if caller.user_id() != user_id {
            return Err(Error::forbidden());
        }
        if caller.token.app_cred_id.is_some() && caller.grant.app_cred.as_ref().is_some_and(|a| a.restricted) {
            return Err(Error::Forbidden(
                "Using method 'application_credential' is not allowed for managing additional application credentials."
                    .into(),
            ));
        }
        let project_id = caller
            .project_id()
            .ok_or_else(|| Error::bad_request("Application credentials require a project-scoped token."))?
            .to_string();
        let secret = match new.secret {
            Some(s) => s,
            None => {
                let mut b = [0u8; 48];
                rand::thread_rng().fill_bytes(&mut b);
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
            }
        };
        let held = &caller.grant.roles;
        let wanted: Vec<NamedRef> = match new.roles {
            // Absent, null or empty: every role the creating token holds (as Keystone).
            None => held.clone(),
            Some(refs) => {
                let mut out = vec![];
                for RoleRef { id, name } in refs {
                    let found = held
                        .iter()
                        .find(|r| Some(&r.id) == id.as_ref() || Some(&r.name) == name.as_ref())
                        .cloned();
                    match found {
                        Some(r) => out.push(r),
                        None => {
                            return Err(Error::BadRequest(format!(
                                "Application credential cannot delegate a role the user does not hold: {}",
                                id.or(name).as_deref().unwrap_or("?")
                            )))
                        }
                    }
                }
                out
            }
        };
        let role_ids: Vec<String> = wanted.iter().map(|r| r.id.clone()).collect();
        let cred = AppCred {
            id: new_id(),
            name: new.name,
            user_id: user_id.to_string(),
            project_id,
            secret_hash: passwords::hash(secret.clone()).await?,
            description: new.description,
            expires_at: new.expires_at,
            unrestricted: new.unrestricted,
            roles: serde_json::to_string(&role_ids).expect("role ids serialize"),
        };
        credentials::insert_app_cred(&self.db, &cred).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!("Conflict occurred attempting to store application_credential - Duplicate entry found with name {}.", cred.name)),
            other => other,
        })?;
        Ok(NewAppCred { cred, secret })
    }

    pub async fn get_app_cred(&self, caller: &Caller, user_id: &str, id: &str) -> Result<AppCred> {
        caller.require_self_or_admin(user_id)?;
        match credentials::get_app_cred(&self.db, id).await? {
            Some(a) if a.user_id == user_id => Ok(a),
            _ => Err(Error::not_found("application credential", id)),
        }
    }

    pub async fn list_app_creds(&self, caller: &Caller, user_id: &str) -> Result<Vec<AppCred>> {
        caller.require_self_or_admin(user_id)?;
        users::get(&self.db, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id))?;
        credentials::list_app_creds(&self.db, user_id).await
    }

    pub async fn delete_app_cred(&self, caller: &Caller, user_id: &str, id: &str) -> Result<()> {
        self.get_app_cred(caller, user_id, id).await?;
        if caller.grant.app_cred.as_ref().is_some_and(|a| a.restricted) {
            return Err(Error::forbidden());
        }
        credentials::delete_app_cred(&self.db, id).await?;
        self.identity_changed().await?;
        Ok(())
    }

    /// Role references of an application credential, with names.
    pub async fn app_cred_roles(&self, a: &AppCred) -> Result<Vec<NamedRef>> {
        let ids: Vec<String> = serde_json::from_str(&a.roles).unwrap_or_default();
        let mut out = vec![];
        for id in ids {
            if let Some(r) = roles::get(&self.db, &id).await? {
                out.push(NamedRef { id: r.id, name: r.name });
            }
        }
        Ok(out)
    }

    pub async fn create_credential(&self, caller: &Caller, new: CredentialCreate) -> Result<Credential> {
        caller.require_self_or_admin(&new.user_id)?;
        if let Some(p) = &new.project_id {
            projects::get(&self.db, p)
                .await?
                .ok_or_else(|| Error::not_found("project", p))?;
        }
        let c = Credential {
            id: new_id(),
            user_id: new.user_id,
            project_id: new.project_id,
            r#type: new.r#type,
            blob: new.blob,
            extra: input::merge_extra("{}", new.extra),
        };
        credentials::insert_credential(&self.db, &c).await?;
        Ok(c)
    }

    pub async fn get_credential(&self, caller: &Caller, id: &str) -> Result<Credential> {
        let c = credentials::get_credential(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("credential", id))?;
        caller
            .require_self_or_admin(&c.user_id)
            .map_err(|_| Error::not_found("credential", id))?;
        Ok(c)
    }

    pub async fn list_credentials(&self, caller: &Caller) -> Result<Vec<Credential>> {
        let all = credentials::list_credentials(&self.db).await?;
        Ok(all
            .into_iter()
            .filter(|c| caller.is_admin() || c.user_id == caller.user_id())
            .collect())
    }

    pub async fn update_credential(&self, caller: &Caller, id: &str, change: CredentialUpdate) -> Result<Credential> {
        // Read and written in one transaction: concurrent updates do not undo each other.
        let mut tx = self.begin().await?;
        let mut c = credentials::get_credential(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("credential", id))?;
        caller
            .require_self_or_admin(&c.user_id)
            .map_err(|_| Error::not_found("credential", id))?;
        if let Some(u) = change.user_id {
            c.user_id = u;
        }
        if let Some(p) = change.project_id {
            c.project_id = p;
        }
        if let Some(t) = change.r#type {
            c.r#type = t;
        }
        if let Some(b) = change.blob {
            c.blob = b;
        }
        c.extra = input::merge_extra(&c.extra, change.extra);
        credentials::update_credential(&mut *tx, &c).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn delete_credential(&self, caller: &Caller, id: &str) -> Result<()> {
        self.get_credential(caller, id).await?;
        credentials::delete_credential(&self.db, id).await
    }

    pub async fn create_policy(&self, caller: &Caller, new: PolicyCreate) -> Result<Policy> {
        caller.require_admin()?;
        let p = Policy {
            id: new_id(),
            r#type: new.r#type,
            blob: new.blob,
            extra: input::merge_extra("{}", new.extra),
        };
        credentials::insert_policy(&self.db, &p).await?;
        Ok(p)
    }

    pub async fn get_policy(&self, caller: &Caller, id: &str) -> Result<Policy> {
        caller.require_admin()?;
        credentials::get_policy(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("policy", id))
    }

    pub async fn list_policies(&self, caller: &Caller) -> Result<Vec<Policy>> {
        caller.require_admin()?;
        credentials::list_policies(&self.db).await
    }

    pub async fn update_policy(&self, caller: &Caller, id: &str, change: PolicyUpdate) -> Result<Policy> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut p = credentials::get_policy(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("policy", id))?;
        if let Some(t) = change.r#type {
            p.r#type = t;
        }
        if let Some(b) = change.blob {
            p.blob = b;
        }
        p.extra = input::merge_extra(&p.extra, change.extra);
        credentials::update_policy(&mut *tx, &p).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn delete_policy(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        credentials::delete_policy(&self.db, id).await
    }
}

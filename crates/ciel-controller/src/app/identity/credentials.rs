//! Application credentials (delegated, secret-based auth), EC2-style credentials, policy blobs.

use super::caller::{Caller, NamedRef};
use super::input::{self, Body};
use super::{new_id, passwords};
use crate::app::App;
use crate::db::identity::credentials::{self, AppCred, Credential, Policy};
use crate::db::identity::{projects, roles, users};
use crate::error::{Error, Result};
use base64::Engine;
use rand::RngCore;
use serde_json::Value;

/// A newly created application credential: the secret is shown only this once.
pub struct NewAppCred {
    pub cred: AppCred,
    pub secret: String,
}

impl App {
    /// Creates an application credential for the caller's own user on its current project,
    /// delegating some or all of the caller's roles there.
    pub async fn create_app_cred(&self, caller: &Caller, user_id: &str, mut body: Body) -> Result<NewAppCred> {
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
        let name = input::name(&mut body, "name", 255)?;
        let description = input::opt_str(&mut body, "description", 65535, true)?;
        let secret = match input::opt_str(&mut body, "secret", 4096, true)? {
            Some(s) => s,
            None => {
                let mut b = [0u8; 48];
                rand::thread_rng().fill_bytes(&mut b);
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
            }
        };
        let expires_at = match body.remove("expires_at") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_time(&s)?),
            Some(v) => return Err(Error::bad_request(format!("Invalid input for field 'expires_at': {v}"))),
        };
        if expires_at.is_some_and(|e| e <= crate::db::now_micros()) {
            return Err(Error::bad_request(
                "Invalid input for field 'expires_at': the expiration time is in the past.",
            ));
        }
        let unrestricted = input::opt_bool(&mut body, "unrestricted")?.unwrap_or(false);
        let held = &caller.grant.roles;
        let wanted: Vec<NamedRef> = match body.remove("roles") {
            // Absent, null or empty: every role the creating token holds (as Keystone).
            None | Some(Value::Null) => held.clone(),
            Some(Value::Array(items)) if items.is_empty() => held.clone(),
            Some(Value::Array(items)) => {
                let mut out = vec![];
                for it in items {
                    let id = it.get("id").and_then(Value::as_str);
                    let name = it.get("name").and_then(Value::as_str);
                    let found = held
                        .iter()
                        .find(|r| Some(r.id.as_str()) == id || Some(r.name.as_str()) == name)
                        .cloned();
                    match found {
                        Some(r) => out.push(r),
                        None => {
                            return Err(Error::BadRequest(format!(
                                "Application credential cannot delegate a role the user does not hold: {}",
                                id.or(name).unwrap_or("?")
                            )))
                        }
                    }
                }
                out
            }
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'roles': {v} is not of type 'array'"
                )))
            }
        };
        let role_ids: Vec<String> = wanted.iter().map(|r| r.id.clone()).collect();
        let cred = AppCred {
            id: new_id(),
            name,
            user_id: user_id.to_string(),
            project_id,
            secret_hash: passwords::hash(secret.clone()).await?,
            description,
            expires_at,
            unrestricted,
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
        self.identity_changed();
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

    pub async fn create_credential(&self, caller: &Caller, mut body: Body) -> Result<Credential> {
        let user_id = input::opt_str(&mut body, "user_id", 64, false)?
            .ok_or_else(|| Error::bad_request("Invalid input for field 'user_id': 'user_id' is a required property"))?;
        caller.require_self_or_admin(&user_id)?;
        let r#type = input::name(&mut body, "type", 255)?;
        let blob = match body.remove("blob") {
            Some(Value::String(s)) => s,
            Some(v) if !v.is_null() => v.to_string(),
            _ => {
                return Err(Error::bad_request(
                    "Invalid input for field 'blob': 'blob' is a required property",
                ))
            }
        };
        let project_id = input::opt_str(&mut body, "project_id", 64, true)?;
        if r#type == "ec2" {
            let parsed: Option<serde_json::Value> = serde_json::from_str(&blob).ok();
            if parsed.as_ref().is_none_or(|b| b.get("access").is_none()) {
                return Err(Error::bad_request(
                    "Invalid blob in credential: an ec2 credential blob needs an 'access' key.",
                ));
            }
        }
        if r#type == "ec2" && project_id.is_none() {
            return Err(Error::bad_request(
                "Invalid blob in credential: an ec2 credential needs a project_id.",
            ));
        }
        if let Some(p) = &project_id {
            projects::get(&self.db, p)
                .await?
                .ok_or_else(|| Error::not_found("project", p))?;
        }
        body.remove("id");
        let c = Credential {
            id: new_id(),
            user_id,
            project_id,
            r#type,
            blob,
            extra: input::merge_extra("{}", body),
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

    pub async fn update_credential(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Credential> {
        let mut c = self.get_credential(caller, id).await?;
        body.remove("id");
        if let Some(u) = input::opt_str(&mut body, "user_id", 64, false)? {
            c.user_id = u;
        }
        if body.contains_key("project_id") {
            c.project_id = input::opt_str(&mut body, "project_id", 64, true)?;
        }
        if let Some(t) = input::opt_name(&mut body, "type", 255)? {
            c.r#type = t;
        }
        match body.remove("blob") {
            Some(Value::String(s)) => c.blob = s,
            Some(v) if !v.is_null() => c.blob = v.to_string(),
            _ => {}
        }
        c.extra = input::merge_extra(&c.extra, body);
        credentials::update_credential(&self.db, &c).await?;
        Ok(c)
    }

    pub async fn delete_credential(&self, caller: &Caller, id: &str) -> Result<()> {
        self.get_credential(caller, id).await?;
        credentials::delete_credential(&self.db, id).await
    }

    pub async fn create_policy(&self, caller: &Caller, mut body: Body) -> Result<Policy> {
        caller.require_admin()?;
        body.remove("id");
        let r#type = input::name(&mut body, "type", 255)?;
        let blob = match body.remove("blob") {
            Some(Value::String(s)) => s,
            Some(v) if !v.is_null() => v.to_string(),
            _ => {
                return Err(Error::bad_request(
                    "Invalid input for field 'blob': 'blob' is a required property",
                ))
            }
        };
        let p = Policy {
            id: new_id(),
            r#type,
            blob,
            extra: input::merge_extra("{}", body),
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

    pub async fn update_policy(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Policy> {
        let mut p = self.get_policy(caller, id).await?;
        body.remove("id");
        if let Some(t) = input::opt_name(&mut body, "type", 255)? {
            p.r#type = t;
        }
        match body.remove("blob") {
            Some(Value::String(s)) => p.blob = s,
            Some(v) if !v.is_null() => p.blob = v.to_string(),
            _ => {}
        }
        p.extra = input::merge_extra(&p.extra, body);
        credentials::update_policy(&self.db, &p).await?;
        Ok(p)
    }

    pub async fn delete_policy(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        credentials::delete_policy(&self.db, id).await
    }
}

/// Parses an ISO 8601 timestamp as clients send it (with or without zone / fraction).
/// Parses an ISO 8601 timestamp as clients send it (with or without zone / fraction), to µs.
pub fn parse_time(s: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%SZ",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc().timestamp_micros());
        }
    }
    Err(Error::bad_request(format!(
        "Invalid input for field 'expires_at': '{s}' is not a valid date-time"
    )))
}

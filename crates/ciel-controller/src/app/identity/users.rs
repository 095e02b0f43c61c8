use super::caller::Caller;
use super::input::{self, Body};
use super::{new_id, passwords};
use crate::app::App;
use crate::db::identity::revocations::RevocationEvent;
use crate::db::identity::users::{self, User};
use crate::db::identity::{assignments, domains};
use crate::db::now;
use crate::error::{Error, Result};
use serde_json::Value;

const USER_OPTIONS: &[&str] = &[
    "ignore_change_password_upon_first_use",
    "ignore_password_expiry",
    "ignore_lockout_failure_attempts",
    "lock_password",
    "multi_factor_auth_enabled",
    "multi_factor_auth_rules",
    "ignore_user_inactivity",
];

impl App {
    fn password_expiry(&self, at: i64) -> Option<i64> {
        let days = self.cfg.identity.password_expires_days;
        (days > 0).then_some(at + days * 86_400)
    }

    /// Merges a user `options` object, validating names like Keystone (null removes an option).
    fn merge_options(existing: &str, given: Option<Value>) -> Result<String> {
        let mut opts = input::extra_object(existing);
        match given {
            None => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    if !USER_OPTIONS.contains(&k.as_str()) {
                        return Err(Error::bad_request(format!(
                            "Invalid input for field 'options': unknown option '{k}'"
                        )));
                    }
                    if v.is_null() {
                        opts.remove(&k);
                    } else {
                        opts.insert(k, v);
                    }
                }
            }
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'options': {v} is not of type 'object'"
                )))
            }
        }
        Ok(Value::Object(opts).to_string())
    }

    pub async fn create_user(&self, caller: &Caller, mut body: Body) -> Result<User> {
        caller.require_admin()?;
        body.remove("id");
        let name = input::name(&mut body, "name", 255)?;
        let domain_id = input::opt_str(&mut body, "domain_id", 64, true)?.unwrap_or_else(|| self.caller_domain(caller));
        if domains::get(&self.db, &domain_id).await?.is_none() {
            return Err(Error::not_found("domain", &domain_id));
        }
        let password = input::opt_str(&mut body, "password", 4096, true)?;
        let enabled = input::opt_bool(&mut body, "enabled")?.unwrap_or(true);
        let default_project_id = input::opt_str(&mut body, "default_project_id", 64, true)?;
        let options = Self::merge_options("{}", body.remove("options"))?;
        let created = now();
        let mut u = User {
            id: new_id(),
            name,
            domain_id,
            enabled,
            default_project_id,
            password_hash: None,
            password_created_at: None,
            password_expires_at: None,
            failed_auth_count: 0,
            last_failed_auth_at: None,
            options,
            extra: input::merge_extra("{}", body),
            created_at: created,
        };
        let mut tx = crate::db::begin(&self.db).await?;
        users::insert(&mut *tx, &u).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store user - Duplicate entry found with name {}.",
                u.name
            )),
            other => other,
        })?;
        if let Some(pw) = password {
            let hash = passwords::hash(pw).await?;
            let expires = self.password_expiry(created);
            users::set_password(&mut tx, &u.id, &hash, created, expires).await?;
            u.password_hash = Some(hash);
            u.password_created_at = Some(created);
            u.password_expires_at = expires;
        }
        tx.commit().await?;
        self.identity_changed();
        Ok(u)
    }

    pub async fn get_user(&self, caller: &Caller, id: &str) -> Result<User> {
        caller.require_self_or_admin(id)?;
        users::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("user", id))
    }

    pub async fn list_users(&self, caller: &Caller) -> Result<Vec<User>> {
        caller.require_admin()?;
        users::list(&self.db).await
    }

    pub async fn update_user(&self, caller: &Caller, id: &str, mut body: Body) -> Result<User> {
        caller.require_admin()?;
        let mut u = users::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("user", id))?;
        if body.get("id").is_some_and(|v| v.as_str() != Some(id)) {
            return Err(Error::bad_request("Cannot change user ID"));
        }
        body.remove("id");
        if let Some(d) = input::opt_str(&mut body, "domain_id", 64, true)? {
            if d != u.domain_id {
                return Err(Error::bad_request("Cannot change Domain ID"));
            }
        }
        if let Some(n) = input::opt_name(&mut body, "name", 255)? {
            u.name = n;
        }
        let was_enabled = u.enabled;
        if let Some(e) = input::opt_bool(&mut body, "enabled")? {
            u.enabled = e;
        }
        if body.contains_key("default_project_id") {
            u.default_project_id = input::opt_str(&mut body, "default_project_id", 64, true)?;
        }
        let password = input::opt_str(&mut body, "password", 4096, true)?;
        let pw_changed = password.is_some();
        u.options = Self::merge_options(&u.options, body.remove("options"))?;
        u.extra = input::merge_extra(&u.extra, body);
        let mut tx = crate::db::begin(&self.db).await?;
        users::update(&mut *tx, &u).await?;
        // An admin reset is not subject to the password history (as in Keystone).
        if let Some(pw) = password {
            let hash = passwords::hash(pw).await?;
            let at = now();
            users::set_password(&mut tx, &u.id, &hash, at, self.password_expiry(at)).await?;
        }
        tx.commit().await?;
        if (was_enabled && !u.enabled) || pw_changed {
            self.revoke(RevocationEvent {
                user_id: Some(u.id.clone()),
                ..Default::default()
            })
            .await?;
        }
        self.identity_changed();
        users::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("user", id))
    }

    pub async fn delete_user(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = crate::db::begin(&self.db).await?;
        users::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("user", id))?;
        assignments::delete_for(&mut *tx, id).await?;
        crate::db::identity::credentials::delete_owned_by(&mut tx, id).await?;
        users::delete(&mut *tx, id).await?;
        tx.commit().await?;
        self.revoke(RevocationEvent {
            user_id: Some(id.to_string()),
            ..Default::default()
        })
        .await?;
        self.identity_changed();
        Ok(())
    }

    /// Rejects a password among the last `unique_last_password_count` ones.
    async fn check_history(&self, user_id: &str, password: &str) -> Result<()> {
        let n = self.cfg.identity.unique_last_password_count;
        if n <= 1 {
            return Ok(());
        }
        for old in users::password_history(&self.db, user_id, n).await? {
            if passwords::verify(password.to_string(), old).await {
                return Err(Error::bad_request(format!(
                    "Password validation error: The new password cannot be identical to a previous password. \
                     The total number which includes the new password must be unique is {n}."
                )));
            }
        }
        Ok(())
    }

    /// Self-service `POST /v3/users/{id}/password`: checks the original password, the minimum
    /// age and the history, then revokes every token of the user.
    pub async fn change_own_password(&self, user_id: &str, original: String, new: String) -> Result<()> {
        let user = users::get(&self.db, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id))?;
        let ok = match &user.password_hash {
            Some(h) => passwords::verify(original, h.clone()).await,
            None => false,
        };
        if !ok {
            return Err(Error::Unauthorized(
                "The request you have made requires authentication.".into(),
            ));
        }
        let opts = input::extra_object(&user.options);
        if opts.get("lock_password") == Some(&Value::Bool(true)) {
            return Err(Error::bad_request(
                "You are not allowed to change the password of this user.",
            ));
        }
        let min_age_days = self.cfg.identity.minimum_password_age;
        if min_age_days > 0 {
            if let Some(created) = user.password_created_at {
                if now() < created + min_age_days * 86_400 {
                    return Err(Error::bad_request(format!(
                        "You cannot change your password at this time due to the minimum password age. \
                         Once you change your password, it must be used for {min_age_days} day(s) before it can be changed."
                    )));
                }
            }
        }
        self.check_history(user_id, &new).await?;
        let hash = passwords::hash(new).await?;
        let at = now();
        let mut tx = crate::db::begin(&self.db).await?;
        users::set_password(&mut tx, user_id, &hash, at, self.password_expiry(at)).await?;
        tx.commit().await?;
        self.revoke(RevocationEvent {
            user_id: Some(user_id.to_string()),
            ..Default::default()
        })
        .await?;
        self.identity_changed();
        Ok(())
    }
}

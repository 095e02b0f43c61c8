use super::caller::Caller;
use super::params::{PasswordChange, UserCreate, UserOptions, UserUpdate};
use super::{new_id, passwords};
use crate::app::json_input as input;
use crate::app::App;
use crate::db::identity::revocations::RevocationEvent;
use crate::db::identity::users::{self, User};
use crate::db::identity::{assignments, domains};
use crate::db::now;
use crate::error::{Error, Result};
use serde_json::Value;

impl App {
    fn password_expiry(&self, at: i64) -> Option<i64> {
        let days = self.cfg.identity.password_expires_days;
        (days > 0).then_some(at + days * 86_400)
    }

    pub async fn create_user(&self, caller: &Caller, new: UserCreate) -> Result<User> {
        caller.require_admin()?;
        let domain_id = new.domain_id.unwrap_or_else(|| self.caller_domain(caller));
        if domains::get(&self.db, &domain_id).await?.is_none() {
            return Err(Error::not_found("domain", &domain_id));
        }
        let password = new.password;
        let created = now();
        let mut u = User {
            id: new_id(),
            name: new.name,
            domain_id,
            enabled: new.enabled,
            default_project_id: new.default_project_id,
            password_hash: None,
            password_created_at: None,
            password_expires_at: None,
            failed_auth_count: 0,
            last_failed_auth_at: None,
            options: UserOptions::merged_over(new.options, "{}"),
            extra: input::merge_extra("{}", new.extra),
            created_at: created,
        };
        let mut tx = self.begin().await?;
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
        self.identity_changed().await?;
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

    pub async fn update_user(&self, caller: &Caller, id: &str, change: UserUpdate) -> Result<User> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut u = users::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("user", id))?;
        if change.id.is_some_and(|given| !given.is(id)) {
            return Err(Error::bad_request("Cannot change user ID"));
        }
        if change.domain_id.is_some_and(|d| d != u.domain_id) {
            return Err(Error::bad_request("Cannot change Domain ID"));
        }
        if let Some(n) = change.name {
            u.name = n;
        }
        let was_enabled = u.enabled;
        if let Some(e) = change.enabled {
            u.enabled = e;
        }
        if let Some(p) = change.default_project_id {
            u.default_project_id = p;
        }
        let password = change.password;
        let pw_changed = password.is_some();
        u.options = UserOptions::merged_over(change.options, &u.options);
        u.extra = input::merge_extra(&u.extra, change.extra);
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
        self.identity_changed().await?;
        users::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("user", id))
    }

    pub async fn delete_user(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
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
        self.identity_changed().await?;
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
    pub async fn change_own_password(&self, user_id: &str, change: PasswordChange) -> Result<()> {
        let PasswordChange {
            original_password: original,
            password: new,
        } = change;
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
        let mut tx = self.begin().await?;
        users::set_password(&mut tx, user_id, &hash, at, self.password_expiry(at)).await?;
        tx.commit().await?;
        self.revoke(RevocationEvent {
            user_id: Some(user_id.to_string()),
            ..Default::default()
        })
        .await?;
        self.identity_changed().await?;
        Ok(())
    }
}

use super::caller::Caller;
use super::input::{self, Body};
use super::new_id;
use crate::app::App;
use crate::db::identity::groups::{self, Group};
use crate::db::identity::users::{self, User};
use crate::db::identity::{assignments, domains};
use crate::error::{Error, Result};

impl App {
    pub async fn create_group(&self, caller: &Caller, mut body: Body) -> Result<Group> {
        caller.require_admin()?;
        body.remove("id");
        let g = Group {
            id: new_id(),
            name: input::name(&mut body, "name", 64)?,
            domain_id: input::opt_str(&mut body, "domain_id", 64, true)?.unwrap_or_else(|| self.caller_domain(caller)),
            description: input::opt_str(&mut body, "description", 65535, true)?.unwrap_or_default(),
            extra: String::new(),
        };
        if domains::get(&self.db, &g.domain_id).await?.is_none() {
            return Err(Error::not_found("domain", &g.domain_id));
        }
        let g = Group {
            extra: input::merge_extra("{}", body),
            ..g
        };
        groups::insert(&self.db, &g).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store group - Duplicate entry found with name {}.",
                g.name
            )),
            other => other,
        })?;
        Ok(g)
    }

    pub async fn get_group(&self, caller: &Caller, id: &str) -> Result<Group> {
        caller.require_admin()?;
        groups::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("group", id))
    }

    pub async fn list_groups(&self, caller: &Caller) -> Result<Vec<Group>> {
        caller.require_admin()?;
        groups::list(&self.db).await
    }

    pub async fn update_group(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Group> {
        caller.require_admin()?;
        let mut g = groups::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("group", id))?;
        body.remove("id");
        if body
            .get("domain_id")
            .is_some_and(|v| v.as_str() != Some(g.domain_id.as_str()))
        {
            return Err(Error::bad_request("Cannot change Domain ID"));
        }
        body.remove("domain_id");
        if let Some(n) = input::opt_name(&mut body, "name", 64)? {
            g.name = n;
        }
        if let Some(d) = input::opt_str(&mut body, "description", 65535, true)? {
            g.description = d;
        }
        g.extra = input::merge_extra(&g.extra, body);
        groups::update(&self.db, &g).await?;
        Ok(g)
    }

    pub async fn delete_group(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = crate::db::begin(&self.db).await?;
        groups::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("group", id))?;
        assignments::delete_for(&mut *tx, id).await?;
        groups::delete(&mut *tx, id).await?;
        tx.commit().await?;
        self.identity_changed();
        Ok(())
    }

    async fn group_and_user(&self, group_id: &str, user_id: &str) -> Result<()> {
        groups::get(&self.db, group_id)
            .await?
            .ok_or_else(|| Error::not_found("group", group_id))?;
        users::get(&self.db, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id))?;
        Ok(())
    }

    pub async fn add_group_member(&self, caller: &Caller, group_id: &str, user_id: &str) -> Result<()> {
        caller.require_admin()?;
        self.group_and_user(group_id, user_id).await?;
        groups::add_member(&self.db, group_id, user_id).await?;
        self.identity_changed();
        Ok(())
    }

    pub async fn check_group_member(&self, caller: &Caller, group_id: &str, user_id: &str) -> Result<()> {
        caller.require_admin()?;
        self.group_and_user(group_id, user_id).await?;
        if groups::is_member(&self.db, group_id, user_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: "user in group",
                id: format!("{user_id} in {group_id}"),
            })
        }
    }

    pub async fn remove_group_member(&self, caller: &Caller, group_id: &str, user_id: &str) -> Result<()> {
        caller.require_admin()?;
        self.group_and_user(group_id, user_id).await?;
        if !groups::remove_member(&self.db, group_id, user_id).await? {
            return Err(Error::NotFound {
                kind: "user in group",
                id: format!("{user_id} in {group_id}"),
            });
        }
        self.identity_changed();
        Ok(())
    }

    pub async fn list_group_users(&self, caller: &Caller, group_id: &str) -> Result<Vec<User>> {
        caller.require_admin()?;
        groups::get(&self.db, group_id)
            .await?
            .ok_or_else(|| Error::not_found("group", group_id))?;
        users::list_in_group(&self.db, group_id).await
    }

    pub async fn list_user_groups(&self, caller: &Caller, user_id: &str) -> Result<Vec<Group>> {
        caller.require_self_or_admin(user_id)?;
        users::get(&self.db, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id))?;
        groups::list_for_user(&self.db, user_id).await
    }
}

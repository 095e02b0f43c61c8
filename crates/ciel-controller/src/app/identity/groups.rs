use super::caller::Caller;
use super::new_id;
use super::params::{GroupCreate, GroupUpdate};
use crate::app::json_input as input;
use crate::app::App;
use crate::db::identity::groups::{self, Group};
use crate::db::identity::users::{self, User};
use crate::db::identity::{assignments, domains};
use crate::error::{Error, Result};

impl App {
    pub async fn create_group(&self, caller: &Caller, new: GroupCreate) -> Result<Group> {
        caller.require_admin()?;
        let g = Group {
            id: new_id(),
            name: new.name,
            domain_id: new.domain_id.unwrap_or_else(|| self.caller_domain(caller)),
            description: new.description,
            extra: input::merge_extra("{}", new.extra),
        };
        if domains::get(&self.db, &g.domain_id).await?.is_none() {
            return Err(Error::not_found("domain", &g.domain_id));
        }
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

    pub async fn update_group(&self, caller: &Caller, id: &str, change: GroupUpdate) -> Result<Group> {
        caller.require_admin()?;
        // Read and written in one write transaction: concurrent updates do not lose fields.
        let mut tx = self.begin().await?;
        let mut g = groups::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("group", id))?;
        if change.domain_id.is_some_and(|given| !given.is(&g.domain_id)) {
            return Err(Error::bad_request("Cannot change Domain ID"));
        }
        if let Some(n) = change.name {
            g.name = n;
        }
        if let Some(d) = change.description {
            g.description = d;
        }
        g.extra = input::merge_extra(&g.extra, change.extra);
        groups::update(&mut *tx, &g).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn delete_group(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        groups::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("group", id))?;
        assignments::delete_for(&mut *tx, id).await?;
        groups::delete(&mut *tx, id).await?;
        tx.commit().await?;
        self.identity_changed().await?;
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
        self.identity_changed().await?;
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
        self.identity_changed().await?;
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

//! Group types (3.11+): what kind of group a group is, with its group specs. Admins make and
//! see all of them; others see the public ones, without their specs (Cinder's defaults).

use super::group_params::{CreateGroupType, UpdateGroupType};
use super::{parse_map, to_json};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::volume::groups::{self as db, GroupType};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

fn duplicate(name: &str) -> Error {
    Error::conflict(format!("Group Type {name} already exists."))
}

impl App {
    pub async fn create_group_type(&self, caller: &Caller, p: CreateGroupType) -> Result<GroupType> {
        caller.require_admin()?;
        let now = crate::db::now();
        let t = GroupType {
            id: uuid::Uuid::new_v4().to_string(),
            name: p.name,
            description: p.description,
            is_public: p.is_public,
            group_specs: to_json(&p.group_specs),
            created_at: now,
            updated_at: None,
        };
        let mut tx = self.begin().await?;
        if db::type_by_name(&mut *tx, &t.name).await?.is_some() {
            return Err(duplicate(&t.name));
        }
        db::insert_type(&mut *tx, &t).await?;
        tx.commit().await?;
        Ok(t)
    }

    /// A group type by id or name the caller may see.
    pub async fn get_group_type(&self, caller: &Caller, key: &str) -> Result<GroupType> {
        let mut tx = self.begin().await?;
        let t = db::find_type(&mut tx, key).await?;
        tx.commit().await?;
        match t {
            Some(t) if t.is_public || caller.is_admin() => Ok(t),
            _ => Err(Error::not_found("group type", key)),
        }
    }

    /// `public`: Some(true) public only, Some(false) private only, None both (admins; others
    /// always get the public ones).
    pub async fn list_group_types(&self, caller: &Caller, public: Option<bool>) -> Result<Vec<GroupType>> {
        let public = if caller.is_admin() { public } else { Some(true) };
        Ok(db::list_types(&self.db)
            .await?
            .into_iter()
            .filter(|t| public.is_none_or(|p| p == t.is_public))
            .collect())
    }

    pub async fn update_group_type(&self, caller: &Caller, id: &str, p: UpdateGroupType) -> Result<GroupType> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut t = db::find_type(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("group type", id))?;
        if let Some(n) = p.name {
            if n != t.name && db::type_by_name(&mut *tx, &n).await?.is_some() {
                return Err(duplicate(&n));
            }
            t.name = n;
        }
        if let Some(d) = p.description {
            t.description = d;
        }
        if let Some(public) = p.is_public {
            t.is_public = public;
        }
        t.updated_at = Some(crate::db::now());
        db::update_type(&mut *tx, &t).await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn delete_group_type(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let t = db::find_type(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("group type", id))?;
        if db::type_in_use(&mut *tx, &t.id).await? {
            return Err(Error::bad_request(format!(
                "Target group type is still in use. Group type {id} deletion is not allowed with groups present with the type."
            )));
        }
        db::delete_type(&mut *tx, &t.id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn group_type_specs(&self, caller: &Caller, id: &str) -> Result<BTreeMap<String, String>> {
        caller.require_admin()?;
        Ok(parse_map(&self.get_group_type(caller, id).await?.group_specs))
    }

    /// Merges `set` into the type's specs, or with `remove` deletes that key (404 if absent).
    pub async fn change_group_type_specs(
        &self,
        caller: &Caller,
        id: &str,
        set: BTreeMap<String, String>,
        remove: Option<&str>,
    ) -> Result<BTreeMap<String, String>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut t = db::find_type(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("group type", id))?;
        let mut cur = parse_map(&t.group_specs);
        cur.extend(set);
        if let Some(k) = remove {
            if cur.remove(k).is_none() {
                return Err(Error::not_found("group type spec", k));
            }
        }
        t.group_specs = to_json(&cur);
        t.updated_at = Some(crate::db::now());
        db::update_type(&mut *tx, &t).await?;
        tx.commit().await?;
        Ok(cur)
    }
}

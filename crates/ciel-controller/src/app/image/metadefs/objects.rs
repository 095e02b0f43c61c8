//! Metadefs objects of a namespace.

use super::params::{parse_limit, parse_sort_dir, ObjectInput};
use super::{object_not_found, protected, readable, writable, ListQuery};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::image::metadefs::{self as md, Object};
use crate::error::{Error, Result};

impl App {
    /// Glance validates the paging parameters of an object listing but returns every object.
    pub async fn list_metadef_objects(&self, caller: &Caller, ns: &str, q: &ListQuery) -> Result<Vec<Object>> {
        parse_sort_dir(q)?;
        if let Some(l) = q.get("limit") {
            if parse_limit(l)? <= 0 {
                return Err(Error::bad_request("limit param must be positive"));
            }
        }
        let ns = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        md::list_objects(&self.db, &ns.id).await
    }

    pub async fn create_metadef_object(&self, caller: &Caller, ns: &str, input: ObjectInput) -> Result<Object> {
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        if md::get_object(&mut *tx, &namespace.id, &input.name).await?.is_some() {
            return Err(Error::conflict(format!(
                "A metadata definition object with name={} in namespace={ns} already exists.",
                input.name
            )));
        }
        let row = input.into_row(&namespace.id, crate::db::now());
        md::insert_object(&mut *tx, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn get_metadef_object(&self, caller: &Caller, ns: &str, name: &str) -> Result<Object> {
        let namespace = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        md::get_object(&self.db, &namespace.id, name)
            .await?
            .ok_or_else(|| object_not_found(name))
    }

    /// Replaces an object (its name included).
    pub async fn update_metadef_object(
        &self,
        caller: &Caller,
        ns: &str,
        name: &str,
        input: ObjectInput,
    ) -> Result<Object> {
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        let old = md::get_object(&mut *tx, &namespace.id, name)
            .await?
            .ok_or_else(|| object_not_found(name))?;
        if input.name != name && md::get_object(&mut *tx, &namespace.id, &input.name).await?.is_some() {
            return Err(Error::conflict(format!(
                "Invalid update. It would result in a duplicate metadata definition object with the same name={} in namespace={ns}.",
                input.name
            )));
        }
        let mut row = input.into_row(&namespace.id, crate::db::now());
        row.created_at = old.created_at;
        md::update_object(&mut *tx, name, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_metadef_object(&self, caller: &Caller, ns: &str, name: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        md::get_object(&mut *tx, &namespace.id, name)
            .await?
            .ok_or_else(|| object_not_found(name))?;
        protected(&namespace, "object", name)?;
        md::delete_object(&mut *tx, &namespace.id, name).await?;
        tx.commit().await?;
        Ok(())
    }
}

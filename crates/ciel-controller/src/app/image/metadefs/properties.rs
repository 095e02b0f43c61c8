//! Metadefs property definitions of a namespace.

use super::params::PropertyInput;
use super::{property_not_found, protected, readable, writable};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::image::metadefs::{self as md, Property};
use crate::error::{Error, Result};
use serde_json::Value;

impl App {
    pub async fn list_metadef_properties(&self, caller: &Caller, ns: &str) -> Result<Vec<Property>> {
        let ns = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        md::list_properties(&self.db, &ns.id).await
    }

    pub async fn create_metadef_property(&self, caller: &Caller, ns: &str, input: PropertyInput) -> Result<Property> {
        let PropertyInput { name, definition: def } = input;
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        if md::get_property(&mut *tx, &namespace.id, &name).await?.is_some() {
            return Err(Error::conflict(format!(
                "A metadata definition property with name={name} already exists in namespace={ns}."
            )));
        }
        let now = crate::db::now();
        let row = Property {
            namespace_id: namespace.id,
            name,
            definition: Value::Object(def).to_string(),
            created_at: now,
            updated_at: now,
        };
        md::insert_property(&mut *tx, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// With `resource_type`, `name` carries that association's prefix, which must match.
    pub async fn get_metadef_property(
        &self,
        caller: &Caller,
        ns: &str,
        name: &str,
        resource_type: Option<&str>,
    ) -> Result<Property> {
        let namespace = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        let mut lookup = name;
        if let Some(rt) = resource_type.filter(|r| !r.is_empty()) {
            let assoc = md::list_associations(&self.db, &namespace.id)
                .await?
                .into_iter()
                .find(|a| a.name == rt)
                .ok_or_else(|| Error::not_found("resource type association", rt))?;
            let prefix = assoc.prefix.unwrap_or_default();
            lookup = match name.strip_prefix(prefix.as_str()) {
                Some(rest) if !prefix.is_empty() => rest,
                _ => {
                    return Err(Error::NotFound {
                        kind: "property",
                        id: format!("{name} (it does not start with the resource type prefix '{prefix}')"),
                    })
                }
            };
        }
        let mut p = md::get_property(&self.db, &namespace.id, lookup)
            .await?
            .ok_or_else(|| property_not_found(name))?;
        p.name = name.to_string();
        Ok(p)
    }

    pub async fn update_metadef_property(
        &self,
        caller: &Caller,
        ns: &str,
        name: &str,
        input: PropertyInput,
    ) -> Result<Property> {
        let PropertyInput {
            name: new_name,
            definition: def,
        } = input;
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        let old = md::get_property(&mut *tx, &namespace.id, name)
            .await?
            .ok_or_else(|| property_not_found(name))?;
        if new_name != name && md::get_property(&mut *tx, &namespace.id, &new_name).await?.is_some() {
            return Err(Error::conflict(format!(
                "Invalid update. It would result in a duplicate metadata definition property with the same name={new_name} in namespace={ns}."
            )));
        }
        let row = Property {
            namespace_id: namespace.id,
            name: new_name,
            definition: Value::Object(def).to_string(),
            created_at: old.created_at,
            updated_at: crate::db::now(),
        };
        md::update_property(&mut *tx, name, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_metadef_property(&self, caller: &Caller, ns: &str, name: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        md::get_property(&mut *tx, &namespace.id, name)
            .await?
            .ok_or_else(|| property_not_found(name))?;
        protected(&namespace, "property", name)?;
        md::delete_property(&mut *tx, &namespace.id, name).await?;
        tx.commit().await?;
        Ok(())
    }
}

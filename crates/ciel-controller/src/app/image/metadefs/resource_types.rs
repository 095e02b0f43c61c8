//! Metadefs resource types and their associations with namespaces.

use super::params::AssociationInput;
use super::{protected, readable, writable};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::image::metadefs::{self as md, Association, ResourceType};
use crate::error::{Error, Result};

impl App {
    /// Every known resource type; reading them needs only a valid token.
    pub async fn list_metadef_resource_types(&self, _caller: &Caller) -> Result<Vec<ResourceType>> {
        md::list_resource_types(&self.db).await
    }

    pub async fn list_metadef_associations(&self, caller: &Caller, ns: &str) -> Result<Vec<Association>> {
        let namespace = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        md::list_associations(&self.db, &namespace.id).await
    }

    /// Associates a namespace with a resource type, registering the type if it is new.
    pub async fn create_metadef_association(
        &self,
        caller: &Caller,
        ns: &str,
        input: AssociationInput,
    ) -> Result<Association> {
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        if md::list_associations(&mut *tx, &namespace.id)
            .await?
            .iter()
            .any(|a| a.name == input.name)
        {
            return Err(Error::conflict(format!(
                "The metadata definition resource-type association of resource-type={} to namespace={ns}, already exists.",
                input.name
            )));
        }
        let now = crate::db::now();
        let row = input.into_row(&namespace.id, now);
        md::ensure_resource_type(&mut *tx, &row.name, now).await?;
        md::insert_association(&mut *tx, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_metadef_association(&self, caller: &Caller, ns: &str, resource_type: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        if !md::list_associations(&mut *tx, &namespace.id)
            .await?
            .iter()
            .any(|a| a.name == resource_type)
        {
            return Err(Error::NotFound {
                kind: "resource type association",
                id: resource_type.to_string(),
            });
        }
        protected(&namespace, "resource-type-association", resource_type)?;
        md::delete_association(&mut *tx, &namespace.id, resource_type).await?;
        tx.commit().await?;
        Ok(())
    }
}

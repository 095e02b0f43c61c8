//! Tags on network resources (Neutron's standard-attr-tag): any visible resource's tags can be
//! read, only its owner (or an admin) changes them.

use crate::app::identity::caller::Caller;
use crate::app::policy::may_write;
use crate::app::App;
use crate::db::network::tags as db_tags;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Resource kinds that carry tags, named by their URL collection.
pub const TAGGED: &[&str] = &[
    "networks",
    "subnets",
    "ports",
    "routers",
    "floatingips",
    "security-groups",
    "subnetpools",
];

const MAX_TAG_LEN: usize = 255;

/// What a tag request does.
pub enum TagChange {
    Replace(Vec<String>),
    Add(String),
    Remove(String),
    RemoveAll,
}

impl App {
    /// Tags of every resource of a kind, for rendering lists (authorization is the list's).
    pub async fn tags_of_kind(&self, kind: &str) -> Result<HashMap<String, Vec<String>>> {
        db_tags::all_of_kind(&self.db, kind).await
    }

    /// Tags of resources the caller has already been allowed to see, by resource id.
    pub async fn tags_of_resources(&self, ids: &[String]) -> Result<HashMap<String, Vec<String>>> {
        db_tags::of_resources(&self.db, ids).await
    }

    /// Tags of one resource the caller has already been allowed to see.
    pub async fn tags_of_resource(&self, id: &str) -> Result<Vec<String>> {
        db_tags::of(&self.db, id).await
    }

    /// Tags of a resource the caller can see (404 otherwise).
    pub async fn resource_tags(&self, caller: &Caller, kind: &str, id: &str) -> Result<Vec<String>> {
        self.tagged_owner(caller, kind, id).await?;
        db_tags::of(&self.db, id).await
    }

    pub async fn change_tags(&self, caller: &Caller, kind: &str, id: &str, change: TagChange) -> Result<Vec<String>> {
        let owner = self.tagged_owner(caller, kind, id).await?;
        if !may_write(caller, &owner) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        match change {
            TagChange::Replace(tags) => {
                tags.iter().try_for_each(|t| valid(t))?;
                db_tags::remove(&mut *tx, id, None).await?;
                for t in &tags {
                    db_tags::add(&mut *tx, kind, id, t).await?;
                }
            }
            TagChange::Add(t) => {
                valid(&t)?;
                db_tags::add(&mut *tx, kind, id, &t).await?;
            }
            TagChange::Remove(t) => {
                if !db_tags::remove(&mut *tx, id, Some(&t)).await? {
                    return Err(Error::Typed {
                        status: 404,
                        kind: "TagNotFound",
                        message: format!("Tag {t} could not be found."),
                    });
                }
            }
            TagChange::RemoveAll => {
                db_tags::remove(&mut *tx, id, None).await?;
            }
        }
        let tags = db_tags::of(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(tags)
    }

    /// The owning project of a taggable resource the caller can see.
    async fn tagged_owner(&self, caller: &Caller, kind: &str, id: &str) -> Result<String> {
        Ok(match kind {
            "networks" => self.get_network(caller, id).await?.project_id.into_string(),
            "subnets" => self.get_subnet(caller, id).await?.project_id,
            "ports" => self.get_port(caller, id).await?.port.project_id.into_string(),
            "routers" => self.get_router(caller, id).await?.router.project_id,
            "floatingips" => self.get_floating_ip(caller, id).await?.project_id,
            "security-groups" => self.get_security_group(caller, id).await?.group.project_id,
            "subnetpools" => self.get_subnet_pool(caller, id).await?.project_id,
            _ => return Err(Error::not_found("resource", id)),
        })
    }
}

fn valid(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.chars().count() > MAX_TAG_LEN || tag.contains('\0') {
        return Err(Error::bad_request(format!(
            "Invalid input for tags: '{tag}' must be 1 to {MAX_TAG_LEN} characters."
        )));
    }
    Ok(())
}

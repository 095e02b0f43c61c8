//! Metadefs tags of a namespace.

use super::params::{invalid, parse_limit, parse_sort_dir, TagInput, TagsInput};
use super::{after, protected, readable, tag_not_found, writable, Contents, ListQuery, NAME_MAX};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::image::metadefs::{self as md, Tag};
use crate::error::{Error, Result};
use std::cmp::Ordering;

fn compare_tags(a: &Tag, b: &Tag, key: &str) -> Ordering {
    let primary = match key {
        "name" => a.name.cmp(&b.name),
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        _ => Ordering::Equal,
    };
    primary.then(a.created_at.cmp(&b.created_at)).then(a.name.cmp(&b.name))
}

fn duplicate_tag(name: &str, ns: &str) -> Error {
    Error::conflict(format!(
        "A metadata tag with name={name} already exists in namespace={ns}."
    ))
}

impl App {
    /// Tags sorted by `sort_key` (name, created_at, updated_at), paged by tag-name marker.
    pub async fn list_metadef_tags(&self, caller: &Caller, ns: &str, q: &ListQuery) -> Result<Vec<Tag>> {
        let sort_key = q.get("sort_key").unwrap_or("created_at");
        if !["name", "created_at", "updated_at"].contains(&sort_key) {
            return Err(Error::bad_request(format!("Invalid sort key: {sort_key}")));
        }
        let desc = parse_sort_dir(q)?;
        let limit = match q.get("limit").filter(|l| !l.is_empty()) {
            Some(l) => {
                let n = parse_limit(l)?;
                if n < 0 {
                    return Err(Error::bad_request("limit param must be positive"));
                }
                Some(n as usize)
            }
            None => None,
        };
        let namespace = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        let mut tags = md::list_tags(&self.db, &namespace.id).await?;
        if let Some(m) = q.get("marker").filter(|m| !m.is_empty()) {
            let marker = tags
                .iter()
                .find(|t| t.name == m)
                .cloned()
                .ok_or_else(|| tag_not_found(m))?;
            tags.retain(|t| after(compare_tags(t, &marker, sort_key), desc));
        }
        tags.sort_by(|a, b| {
            let o = compare_tags(a, b, sort_key);
            if desc {
                o.reverse()
            } else {
                o
            }
        });
        if let Some(l) = limit {
            tags.truncate(l);
        }
        Ok(tags)
    }

    pub async fn create_metadef_tag(&self, caller: &Caller, ns: &str, name: &str) -> Result<Tag> {
        if name.chars().count() > NAME_MAX {
            return Err(invalid("tag", format!("'{name}' is too long")));
        }
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        if md::get_tag(&mut *tx, &namespace.id, name).await?.is_some() {
            return Err(duplicate_tag(name, ns));
        }
        let now = crate::db::now();
        let tag = Tag {
            namespace_id: namespace.id,
            name: name.to_string(),
            created_at: now,
            updated_at: now,
        };
        md::insert_tag(&mut *tx, &tag).await?;
        tx.commit().await?;
        Ok(tag)
    }

    /// `{"tags": [{"name": ..}, ..]}`: replaces every tag of the namespace, or adds to them
    /// when `append` (the `X-Openstack-Append` header). An empty list changes nothing.
    pub async fn create_metadef_tags(
        &self,
        caller: &Caller,
        ns: &str,
        input: TagsInput,
        append: bool,
    ) -> Result<Vec<Tag>> {
        let names = input.names;
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        if names.is_empty() {
            return Ok(vec![]);
        }
        if !append {
            md::delete_contents(&mut *tx, &namespace.id, Contents::Tags).await?;
        }
        let now = crate::db::now();
        let mut out = vec![];
        for name in names {
            if md::get_tag(&mut *tx, &namespace.id, &name).await?.is_some() {
                return Err(duplicate_tag(&name, ns));
            }
            let tag = Tag {
                namespace_id: namespace.id.clone(),
                name,
                created_at: now,
                updated_at: now,
            };
            md::insert_tag(&mut *tx, &tag).await?;
            out.push(tag);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn get_metadef_tag(&self, caller: &Caller, ns: &str, name: &str) -> Result<Tag> {
        let namespace = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        md::get_tag(&self.db, &namespace.id, name)
            .await?
            .ok_or_else(|| tag_not_found(name))
    }

    /// Renames a tag: `{"name": "new"}`.
    pub async fn update_metadef_tag(&self, caller: &Caller, ns: &str, name: &str, input: TagInput) -> Result<Tag> {
        let new_name = input.name;
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        let mut tag = md::get_tag(&mut *tx, &namespace.id, name)
            .await?
            .ok_or_else(|| tag_not_found(name))?;
        if new_name != name && md::get_tag(&mut *tx, &namespace.id, &new_name).await?.is_some() {
            return Err(duplicate_tag(&new_name, ns));
        }
        tag.updated_at = crate::db::now();
        md::rename_tag(&mut *tx, &namespace.id, name, &new_name, tag.updated_at).await?;
        tag.name = new_name;
        tx.commit().await?;
        Ok(tag)
    }

    pub async fn delete_metadef_tag(&self, caller: &Caller, ns: &str, name: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let namespace = writable(caller, md::get_namespace(&mut *tx, ns).await?, ns)?;
        md::get_tag(&mut *tx, &namespace.id, name)
            .await?
            .ok_or_else(|| tag_not_found(name))?;
        protected(&namespace, "tag", name)?;
        md::delete_tag(&mut *tx, &namespace.id, name).await?;
        tx.commit().await?;
        Ok(())
    }
}

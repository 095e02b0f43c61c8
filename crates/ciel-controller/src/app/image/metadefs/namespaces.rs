//! Metadefs namespaces: listing, create (with contents), show, update and delete.

use super::params::{parse_limit, parse_sort_dir, NamespaceInput};
use super::{
    after, default_owner, protected, readable, visible, writable, Contents, ListQuery, NamespaceDetail, NamespacePage,
    DEFAULT_LIMIT, MAX_LIMIT,
};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::image::metadefs::{self as md, Namespace, Property, Tag};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::cmp::Ordering;

fn compare_namespaces(a: &Namespace, b: &Namespace, key: &str) -> Ordering {
    let primary = match key {
        "namespace" => a.namespace.cmp(&b.namespace),
        "display_name" => a.display_name.cmp(&b.display_name),
        "description" => a.description.cmp(&b.description),
        "visibility" => a.visibility.cmp(&b.visibility),
        "protected" => a.protected.cmp(&b.protected),
        "owner" => a.owner.cmp(&b.owner),
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        "id" => a.id.cmp(&b.id),
        _ => Ordering::Equal,
    };
    primary
        .then(a.created_at.cmp(&b.created_at))
        .then(a.namespace.cmp(&b.namespace))
}

const NAMESPACE_SORT_KEYS: &[&str] = &[
    "namespace",
    "display_name",
    "description",
    "visibility",
    "protected",
    "owner",
    "created_at",
    "updated_at",
    "id",
];

/// `prefix + name` for every property (and object property and requirement) of a namespace
/// shown for a resource type whose association declares a prefix.
fn apply_prefix(d: &mut NamespaceDetail, resource_type: &str) {
    let prefix = d
        .associations
        .iter()
        .flatten()
        .find(|a| a.name == resource_type)
        .and_then(|a| a.prefix.clone())
        .filter(|p| !p.is_empty());
    let Some(prefix) = prefix else { return };
    for p in d.properties.iter_mut().flatten() {
        p.name = format!("{prefix}{}", p.name);
    }
    for o in d.objects.iter_mut().flatten() {
        let props: Map<String, Value> = o
            .property_map()
            .into_iter()
            .map(|(k, v)| (format!("{prefix}{k}"), v))
            .collect();
        o.properties = Value::Object(props).to_string();
        let required: Vec<Value> = o
            .required_list()
            .into_iter()
            .map(|r| Value::from(format!("{prefix}{}", r.as_str().unwrap_or_default())))
            .collect();
        o.required = Value::from(required).to_string();
    }
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

impl App {
    pub async fn list_metadef_namespaces(&self, caller: &Caller, q: &ListQuery) -> Result<NamespacePage> {
        let sort_key = q.get("sort_key").unwrap_or("created_at");
        if !NAMESPACE_SORT_KEYS.contains(&sort_key) {
            return Err(Error::bad_request(format!("Invalid sort key: {sort_key}")));
        }
        let desc = parse_sort_dir(q)?;
        let visibility = q.get("visibility").filter(|v| !v.is_empty());
        if let Some(v) = visibility {
            if v != "public" && v != "private" {
                return Err(Error::bad_request(format!("Invalid visibility value: {v}")));
            }
        }
        let limit = match q.get("limit") {
            Some(v) => parse_limit(v)?.min(MAX_LIMIT as i64),
            None => DEFAULT_LIMIT as i64,
        };
        if limit < 0 {
            return Err(Error::bad_request("limit param must be positive"));
        }
        let limit = limit as usize;
        let marker = match q.get("marker") {
            Some(m) => Some(readable(caller, md::get_namespace(&self.db, m).await?, m)?),
            None => None,
        };
        let resource_types: Option<Vec<&str>> = q.get("resource_types").map(|r| r.split(',').collect());

        let associations = md::list_all_associations(&self.db).await?;
        let mut namespaces: Vec<Namespace> = md::list_namespaces(&self.db)
            .await?
            .into_iter()
            .filter(|n| visible(caller, n))
            .filter(|n| visibility.is_none_or(|v| n.visibility == v))
            .filter(|n| {
                resource_types.as_ref().is_none_or(|rts| {
                    associations
                        .iter()
                        .any(|a| a.namespace_id == n.id && rts.contains(&a.name.as_str()))
                })
            })
            .filter(|n| {
                marker
                    .as_ref()
                    .is_none_or(|m| after(compare_namespaces(n, m, sort_key), desc))
            })
            .collect();
        namespaces.sort_by(|a, b| {
            let o = compare_namespaces(a, b, sort_key);
            if desc {
                o.reverse()
            } else {
                o
            }
        });
        namespaces.truncate(limit);
        let next = (!namespaces.is_empty() && namespaces.len() == limit)
            .then(|| namespaces.last().map(|n| n.namespace.clone()))
            .flatten();
        let namespaces = namespaces
            .into_iter()
            .map(|n| {
                let assocs = associations
                    .iter()
                    .filter(|a| a.namespace_id == n.id)
                    .cloned()
                    .collect();
                (n, assocs)
            })
            .collect();
        Ok(NamespacePage { namespaces, next })
    }

    /// Creates a namespace and whatever contents the body carries, all or nothing. The
    /// response echoes the sections the request had.
    pub async fn create_metadef_namespace(&self, caller: &Caller, input: NamespaceInput) -> Result<NamespaceDetail> {
        caller.require_admin()?;
        let now = crate::db::now();
        let ns = Namespace {
            id: uuid::Uuid::new_v4().to_string(),
            namespace: input.namespace,
            display_name: input.display_name,
            description: input.description,
            visibility: input.visibility.unwrap_or_else(|| "private".into()),
            protected: input.protected.unwrap_or(false),
            owner: input.owner.unwrap_or_else(|| default_owner(caller)),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.begin().await?;
        if md::get_namespace(&mut *tx, &ns.namespace).await?.is_some() {
            return Err(Error::conflict(format!(
                "A metadata definition namespace with name={} already exists.",
                ns.namespace
            )));
        }
        md::insert_namespace(&mut *tx, &ns).await?;
        let mut associations = None;
        if let Some(list) = input.associations {
            let mut rows = vec![];
            for a in list {
                let row = a.into_row(&ns.id, now);
                md::ensure_resource_type(&mut *tx, &row.name, now).await?;
                md::insert_association(&mut *tx, &row).await?;
                rows.push(row);
            }
            associations = Some(rows);
        }
        let mut objects = None;
        if let Some(list) = input.objects {
            let mut rows = vec![];
            for o in list {
                let row = o.into_row(&ns.id, now);
                md::insert_object(&mut *tx, &row).await?;
                rows.push(row);
            }
            objects = Some(rows);
        }
        let mut properties = None;
        if let Some(map) = input.properties {
            let mut rows = vec![];
            for (name, def) in map {
                let row = Property {
                    namespace_id: ns.id.clone(),
                    name,
                    definition: def.to_string(),
                    created_at: now,
                    updated_at: now,
                };
                md::insert_property(&mut *tx, &row).await?;
                rows.push(row);
            }
            properties = Some(rows);
        }
        let mut tags = None;
        if let Some(list) = input.tags {
            let mut rows = vec![];
            for name in list {
                let row = Tag {
                    namespace_id: ns.id.clone(),
                    name,
                    created_at: now,
                    updated_at: now,
                };
                md::insert_tag(&mut *tx, &row).await?;
                rows.push(row);
            }
            tags = Some(rows);
        }
        tx.commit().await?;
        Ok(NamespaceDetail {
            namespace: ns,
            associations,
            properties,
            objects,
            tags,
        })
    }

    /// A namespace with all its contents; with `resource_type`, property names carry that
    /// association's prefix.
    pub async fn get_metadef_namespace(
        &self,
        caller: &Caller,
        name: &str,
        resource_type: Option<&str>,
    ) -> Result<NamespaceDetail> {
        let ns = readable(caller, md::get_namespace(&self.db, name).await?, name)?;
        let mut d = NamespaceDetail {
            associations: non_empty(md::list_associations(&self.db, &ns.id).await?),
            properties: non_empty(md::list_properties(&self.db, &ns.id).await?),
            objects: non_empty(md::list_objects(&self.db, &ns.id).await?),
            tags: non_empty(md::list_tags(&self.db, &ns.id).await?),
            namespace: ns,
        };
        if let Some(rt) = resource_type.filter(|r| !r.is_empty()) {
            apply_prefix(&mut d, rt);
        }
        Ok(d)
    }

    /// Replaces the namespace's attributes (not its contents); omitted ones take their create
    /// defaults, as in Glance.
    pub async fn update_metadef_namespace(
        &self,
        caller: &Caller,
        name: &str,
        input: NamespaceInput,
    ) -> Result<Namespace> {
        let mut tx = self.begin().await?;
        let mut ns = writable(caller, md::get_namespace(&mut *tx, name).await?, name)?;
        if input.namespace != ns.namespace && md::get_namespace(&mut *tx, &input.namespace).await?.is_some() {
            return Err(Error::conflict(format!(
                "Invalid update. It would result in a duplicate metadata definition namespace with the same name of {}",
                input.namespace
            )));
        }
        ns.namespace = input.namespace;
        ns.display_name = input.display_name;
        ns.description = input.description;
        ns.visibility = input.visibility.unwrap_or_else(|| "private".into());
        ns.protected = input.protected.unwrap_or(false);
        ns.owner = input.owner.unwrap_or_else(|| default_owner(caller));
        ns.updated_at = crate::db::now();
        md::update_namespace(&mut *tx, &ns).await?;
        tx.commit().await?;
        Ok(ns)
    }

    pub async fn delete_metadef_namespace(&self, caller: &Caller, name: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let ns = writable(caller, md::get_namespace(&mut *tx, name).await?, name)?;
        protected(&ns, "namespace", name)?;
        md::delete_namespace(&mut *tx, &ns.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes every object, property or tag of a namespace; not allowed while it is protected.
    pub async fn delete_metadef_contents(&self, caller: &Caller, name: &str, kind: Contents) -> Result<()> {
        let mut tx = self.begin().await?;
        let ns = writable(caller, md::get_namespace(&mut *tx, name).await?, name)?;
        protected(&ns, "namespace", name)?;
        md::delete_contents(&mut *tx, &ns.id, kind).await?;
        tx.commit().await?;
        Ok(())
    }
}

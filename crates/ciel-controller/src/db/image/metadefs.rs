//! Metadata definitions catalog: namespaces and their objects, properties, tags and
//! resource-type associations. Contents are keyed by (namespace id, name); JSON columns hold
//! definitions exactly as the client gave them.

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;
use serde_json::{Map, Value};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Namespace {
    pub id: String,
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub visibility: String,
    pub protected: bool,
    pub owner: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Object {
    pub namespace_id: String,
    pub name: String,
    pub description: Option<String>,
    /// JSON array of property names.
    pub required: String,
    /// JSON object of property definitions.
    pub properties: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Object {
    pub fn required_list(&self) -> Vec<Value> {
        match serde_json::from_str(&self.required) {
            Ok(Value::Array(a)) => a,
            _ => vec![],
        }
    }
    pub fn property_map(&self) -> Map<String, Value> {
        json_object(&self.properties)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Property {
    pub namespace_id: String,
    pub name: String,
    /// JSON object: the definition without its name.
    pub definition: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Property {
    pub fn definition_map(&self) -> Map<String, Value> {
        json_object(&self.definition)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tag {
    pub namespace_id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResourceType {
    pub name: String,
    pub protected: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A namespace's association with a resource type (`name` is the resource type).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Association {
    pub namespace_id: String,
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A JSON object column; anything else reads as empty rather than failing the request.
fn json_object(s: &str) -> Map<String, Value> {
    match serde_json::from_str(s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

// --- namespaces --------------------------------------------------------------

const NS_COLS: &str = "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at";

pub async fn insert_namespace(e: impl sql::Executor<'_>, n: &Namespace) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO metadef_namespaces ({NS_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&n.id)
    .bind(&n.namespace)
    .bind(&n.display_name)
    .bind(&n.description)
    .bind(&n.visibility)
    .bind(n.protected)
    .bind(&n.owner)
    .bind(n.created_at)
    .bind(n.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_namespace(e: impl sql::Executor<'_>, name: &str) -> Result<Option<Namespace>> {
    Ok(
        sql::query_as(&format!("SELECT {NS_COLS} FROM metadef_namespaces WHERE namespace = ?"))
            .bind(name)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_namespaces(e: impl sql::Executor<'_>) -> Result<Vec<Namespace>> {
    Ok(sql::query_as(&format!("SELECT {NS_COLS} FROM metadef_namespaces"))
        .fetch_all(e)
        .await?)
}

/// Writes every mutable column (the name included: namespaces can be renamed).
pub async fn update_namespace(e: impl sql::Executor<'_>, n: &Namespace) -> Result<()> {
    let r = sql::query(
        "UPDATE metadef_namespaces SET namespace = ?, display_name = ?, description = ?, visibility = ?, \
         protected = ?, owner = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&n.namespace)
    .bind(&n.display_name)
    .bind(&n.description)
    .bind(&n.visibility)
    .bind(n.protected)
    .bind(&n.owner)
    .bind(n.updated_at)
    .bind(&n.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "namespace", &n.namespace)
}

/// Deletes a namespace; its contents go with it (ON DELETE CASCADE).
pub async fn delete_namespace(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM metadef_namespaces WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// The contents a namespace holds, for the "delete all of a kind" calls.
#[derive(Debug, Clone, Copy)]
pub enum Contents {
    Objects,
    Properties,
    Tags,
}

pub async fn delete_contents(e: impl sql::Executor<'_>, namespace_id: &str, kind: Contents) -> Result<()> {
    let table = match kind {
        Contents::Objects => "metadef_objects",
        Contents::Properties => "metadef_properties",
        Contents::Tags => "metadef_tags",
    };
    sql::query(&format!("DELETE FROM {table} WHERE namespace_id = ?"))
        .bind(namespace_id)
        .execute(e)
        .await?;
    Ok(())
}

// --- objects -----------------------------------------------------------------

const OBJ_COLS: &str = "namespace_id, name, description, required, properties, created_at, updated_at";

pub async fn insert_object(e: impl sql::Executor<'_>, o: &Object) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO metadef_objects ({OBJ_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&o.namespace_id)
    .bind(&o.name)
    .bind(&o.description)
    .bind(&o.required)
    .bind(&o.properties)
    .bind(o.created_at)
    .bind(o.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_object(e: impl sql::Executor<'_>, namespace_id: &str, name: &str) -> Result<Option<Object>> {
    Ok(sql::query_as(&format!(
        "SELECT {OBJ_COLS} FROM metadef_objects WHERE namespace_id = ? AND name = ?"
    ))
    .bind(namespace_id)
    .bind(name)
    .fetch_optional(e)
    .await?)
}

pub async fn list_objects(e: impl sql::Executor<'_>, namespace_id: &str) -> Result<Vec<Object>> {
    Ok(sql::query_as(&format!(
        "SELECT {OBJ_COLS} FROM metadef_objects WHERE namespace_id = ? ORDER BY created_at, name"
    ))
    .bind(namespace_id)
    .fetch_all(e)
    .await?)
}

/// Replaces the object called `old_name` with `o` (which may carry a new name).
pub async fn update_object(e: impl sql::Executor<'_>, old_name: &str, o: &Object) -> Result<()> {
    let r = sql::query(
        "UPDATE metadef_objects SET name = ?, description = ?, required = ?, properties = ?, updated_at = ? \
         WHERE namespace_id = ? AND name = ?",
    )
    .bind(&o.name)
    .bind(&o.description)
    .bind(&o.required)
    .bind(&o.properties)
    .bind(o.updated_at)
    .bind(&o.namespace_id)
    .bind(old_name)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "object", old_name)
}

pub async fn delete_object(e: impl sql::Executor<'_>, namespace_id: &str, name: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM metadef_objects WHERE namespace_id = ? AND name = ?")
        .bind(namespace_id)
        .bind(name)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

// --- properties --------------------------------------------------------------

const PROP_COLS: &str = "namespace_id, name, definition, created_at, updated_at";

pub async fn insert_property(e: impl sql::Executor<'_>, p: &Property) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO metadef_properties ({PROP_COLS}) VALUES (?, ?, ?, ?, ?)"
    ))
    .bind(&p.namespace_id)
    .bind(&p.name)
    .bind(&p.definition)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_property(e: impl sql::Executor<'_>, namespace_id: &str, name: &str) -> Result<Option<Property>> {
    Ok(sql::query_as(&format!(
        "SELECT {PROP_COLS} FROM metadef_properties WHERE namespace_id = ? AND name = ?"
    ))
    .bind(namespace_id)
    .bind(name)
    .fetch_optional(e)
    .await?)
}

pub async fn list_properties(e: impl sql::Executor<'_>, namespace_id: &str) -> Result<Vec<Property>> {
    Ok(sql::query_as(&format!(
        "SELECT {PROP_COLS} FROM metadef_properties WHERE namespace_id = ? ORDER BY name"
    ))
    .bind(namespace_id)
    .fetch_all(e)
    .await?)
}

pub async fn update_property(e: impl sql::Executor<'_>, old_name: &str, p: &Property) -> Result<()> {
    let r = sql::query(
        "UPDATE metadef_properties SET name = ?, definition = ?, updated_at = ? WHERE namespace_id = ? AND name = ?",
    )
    .bind(&p.name)
    .bind(&p.definition)
    .bind(p.updated_at)
    .bind(&p.namespace_id)
    .bind(old_name)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "property", old_name)
}

pub async fn delete_property(e: impl sql::Executor<'_>, namespace_id: &str, name: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM metadef_properties WHERE namespace_id = ? AND name = ?")
        .bind(namespace_id)
        .bind(name)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

// --- tags --------------------------------------------------------------------

const TAG_COLS: &str = "namespace_id, name, created_at, updated_at";

pub async fn insert_tag(e: impl sql::Executor<'_>, t: &Tag) -> Result<()> {
    sql::query(&format!("INSERT INTO metadef_tags ({TAG_COLS}) VALUES (?, ?, ?, ?)"))
        .bind(&t.namespace_id)
        .bind(&t.name)
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_tag(e: impl sql::Executor<'_>, namespace_id: &str, name: &str) -> Result<Option<Tag>> {
    Ok(sql::query_as(&format!(
        "SELECT {TAG_COLS} FROM metadef_tags WHERE namespace_id = ? AND name = ?"
    ))
    .bind(namespace_id)
    .bind(name)
    .fetch_optional(e)
    .await?)
}

pub async fn list_tags(e: impl sql::Executor<'_>, namespace_id: &str) -> Result<Vec<Tag>> {
    Ok(sql::query_as(&format!(
        "SELECT {TAG_COLS} FROM metadef_tags WHERE namespace_id = ? ORDER BY created_at, name"
    ))
    .bind(namespace_id)
    .fetch_all(e)
    .await?)
}

pub async fn rename_tag(e: impl sql::Executor<'_>, namespace_id: &str, old: &str, new: &str, at: i64) -> Result<()> {
    let r = sql::query("UPDATE metadef_tags SET name = ?, updated_at = ? WHERE namespace_id = ? AND name = ?")
        .bind(new)
        .bind(at)
        .bind(namespace_id)
        .bind(old)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "tag", old)
}

pub async fn delete_tag(e: impl sql::Executor<'_>, namespace_id: &str, name: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM metadef_tags WHERE namespace_id = ? AND name = ?")
        .bind(namespace_id)
        .bind(name)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

// --- resource types and associations -----------------------------------------

pub async fn list_resource_types(e: impl sql::Executor<'_>) -> Result<Vec<ResourceType>> {
    Ok(sql::query_as(
        "SELECT name, protected, created_at, updated_at FROM metadef_resource_types ORDER BY created_at, name",
    )
    .fetch_all(e)
    .await?)
}

/// Creates the resource type unless it exists: associating a namespace with an unknown
/// resource type registers it, as Glance does.
pub async fn ensure_resource_type(e: impl sql::Executor<'_>, name: &str, at: i64) -> Result<()> {
    sql::query(
        "INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES (?, FALSE, ?, ?) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(at)
    .bind(at)
    .execute(e)
    .await?;
    Ok(())
}

const ASSOC_SELECT: &str = "SELECT namespace_id, resource_type AS name, prefix, properties_target, created_at, \
     updated_at FROM metadef_namespace_resource_types";

pub async fn insert_association(e: impl sql::Executor<'_>, a: &Association) -> Result<()> {
    sql::query(
        "INSERT INTO metadef_namespace_resource_types \
         (namespace_id, resource_type, prefix, properties_target, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.namespace_id)
    .bind(&a.name)
    .bind(&a.prefix)
    .bind(&a.properties_target)
    .bind(a.created_at)
    .bind(a.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn list_associations(e: impl sql::Executor<'_>, namespace_id: &str) -> Result<Vec<Association>> {
    Ok(sql::query_as(&format!(
        "{ASSOC_SELECT} WHERE namespace_id = ? ORDER BY created_at, resource_type"
    ))
    .bind(namespace_id)
    .fetch_all(e)
    .await?)
}

/// Every association of every namespace (namespace listings embed them).
pub async fn list_all_associations(e: impl sql::Executor<'_>) -> Result<Vec<Association>> {
    Ok(
        sql::query_as(&format!("{ASSOC_SELECT} ORDER BY created_at, resource_type"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn delete_association(e: impl sql::Executor<'_>, namespace_id: &str, resource_type: &str) -> Result<bool> {
    let r = sql::query("DELETE FROM metadef_namespace_resource_types WHERE namespace_id = ? AND resource_type = ?")
        .bind(namespace_id)
        .bind(resource_type)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deleting_a_namespace_removes_its_contents() {
        let db = crate::db::open_memory().await.unwrap();
        let ns = Namespace {
            id: "n1".into(),
            namespace: "NS".into(),
            display_name: None,
            description: None,
            visibility: "public".into(),
            protected: false,
            owner: "p".into(),
            created_at: 1,
            updated_at: 1,
        };
        insert_namespace(&db, &ns).await.unwrap();
        let tag = Tag {
            namespace_id: "n1".into(),
            name: "t".into(),
            created_at: 1,
            updated_at: 1,
        };
        insert_tag(&db, &tag).await.unwrap();
        assert!(insert_tag(&db, &tag).await.is_err(), "duplicate tag");
        ensure_resource_type(&db, "OS::Glance::Image", 2).await.unwrap();
        ensure_resource_type(&db, "Custom::Type", 2).await.unwrap();
        let a = Association {
            namespace_id: "n1".into(),
            name: "Custom::Type".into(),
            prefix: None,
            properties_target: None,
            created_at: 2,
            updated_at: 2,
        };
        insert_association(&db, &a).await.unwrap();
        assert_eq!(list_resource_types(&db).await.unwrap().len(), 7);
        delete_namespace(&db, "n1").await.unwrap();
        assert!(list_tags(&db, "n1").await.unwrap().is_empty());
        assert!(list_all_associations(&db).await.unwrap().is_empty());
    }
}

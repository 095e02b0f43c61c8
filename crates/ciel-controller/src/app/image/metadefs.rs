//! Glance's metadata definitions catalog ("metadefs"): namespaces holding property, object
//! and tag definitions, associated with the resource types they describe.
//!
//! Policy is Glance's default: everyone may read the namespaces they can see (public ones,
//! their project's, all for admins; others are 404), and only admins write (`metadef_admin`).
//! Request bodies are checked against the same rules as Glance's JSON schemas: unknown keys
//! and wrong types are 400, server-owned keys 403.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::metadefs::{self as md, Association, Namespace, Object, Property, ResourceType, Tag};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub use md::Contents;

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 1000;
const NAME_MAX: usize = 80;

/// A namespace and its contents; a `None` section is left out of the response.
pub struct NamespaceDetail {
    pub namespace: Namespace,
    pub associations: Option<Vec<Association>>,
    pub properties: Option<Vec<Property>>,
    pub objects: Option<Vec<Object>>,
    pub tags: Option<Vec<Tag>>,
}

/// One page of namespaces (each with its resource-type associations).
pub struct NamespacePage {
    pub namespaces: Vec<(Namespace, Vec<Association>)>,
    /// Marker of the next page, when this page is full.
    pub next: Option<String>,
}

/// Query parameters of a listing, in request order.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub params: Vec<(String, String)>,
}

impl ListQuery {
    fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

// --- policy --------------------------------------------------------------------------------

fn ns_not_found(name: &str) -> Error {
    Error::not_found("namespace", name)
}

/// Admins see every namespace; others public ones and their project's.
fn visible(caller: &Caller, ns: &Namespace) -> bool {
    caller.is_admin() || ns.visibility == "public" || caller.project_id() == Some(ns.owner.as_str())
}

fn readable(caller: &Caller, ns: Option<Namespace>, name: &str) -> Result<Namespace> {
    ns.filter(|n| visible(caller, n)).ok_or_else(|| ns_not_found(name))
}

/// An invisible namespace is 404 before the admin-only write rule answers 403.
fn writable(caller: &Caller, ns: Option<Namespace>, name: &str) -> Result<Namespace> {
    let ns = readable(caller, ns, name)?;
    caller.require_admin()?;
    Ok(ns)
}

fn protected(ns: &Namespace, what: &str, name: &str) -> Result<()> {
    if ns.protected {
        return Err(Error::Forbidden(format!(
            "Metadata definition {what} {name} is protected and cannot be deleted."
        )));
    }
    Ok(())
}

/// The project a caller's new namespaces belong to by default.
fn default_owner(caller: &Caller) -> String {
    caller.project_id().unwrap_or(caller.user_id()).to_string()
}

// --- request validation (Glance's schemas) -------------------------------------------------

type Body = Map<String, Value>;

fn invalid(schema: &str, reason: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Provided object does not match schema '{schema}': {reason}"))
}

/// Server-owned attributes are 403 in a request body, as in Glance.
fn check_read_only(body: &Body, keys: &[&str]) -> Result<()> {
    match keys.iter().find(|k| body.contains_key(**k)) {
        Some(k) => Err(Error::Forbidden(format!("Attribute '{k}' is read-only."))),
        None => Ok(()),
    }
}

fn check_keys(schema: &str, body: &Body, allowed: &[&str]) -> Result<()> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            schema,
            format!("Additional properties are not allowed ('{k}' was unexpected)"),
        )),
        None => Ok(()),
    }
}

fn as_object(schema: &str, v: Value) -> Result<Body> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(invalid(schema, format!("{other} is not of type 'object'"))),
    }
}

fn opt_str(schema: &str, body: &Body, key: &str, max: Option<usize>) -> Result<Option<String>> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => match max {
            Some(m) if s.chars().count() > m => Err(invalid(schema, format!("'{s}' is too long ({key})"))),
            _ => Ok(Some(s.clone())),
        },
        Some(other) => Err(invalid(schema, format!("{other} is not of type 'string' ({key})"))),
    }
}

fn req_str(schema: &str, body: &Body, key: &str, max: Option<usize>) -> Result<String> {
    opt_str(schema, body, key, max)?.ok_or_else(|| invalid(schema, format!("'{key}' is a required property")))
}

fn opt_bool(schema: &str, body: &Body, key: &str) -> Result<Option<bool>> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(invalid(schema, format!("{other} is not of type 'boolean' ({key})"))),
    }
}

/// A JSON-schema `stringArray`: strings, no duplicates.
fn string_array(schema: &str, key: &str, v: &Value) -> Result<Vec<String>> {
    let items = v
        .as_array()
        .ok_or_else(|| invalid(schema, format!("{v} is not of type 'array' ({key})")))?;
    let mut out: Vec<String> = vec![];
    for i in items {
        let s = i
            .as_str()
            .ok_or_else(|| invalid(schema, format!("{i} is not of type 'string' ({key})")))?;
        if out.iter().any(|x| x == s) {
            return Err(invalid(schema, format!("{v} has non-unique elements ({key})")));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

const PROPERTY_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];
const PROPERTY_TYPES_TEXT: &str = "['array', 'boolean', 'integer', 'number', 'object', 'string']";
const PROPERTY_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "operators",
    "type",
    "required",
    "minimum",
    "maximum",
    "maxLength",
    "minLength",
    "pattern",
    "enum",
    "readonly",
    "default",
    "items",
    "maxItems",
    "minItems",
    "uniqueItems",
    "additionalItems",
];

/// Checks a property definition against Glance's property schema and returns it without its
/// name (the name is the key it is stored under).
fn property_definition(v: Value, require_name: bool) -> Result<(Option<String>, Body)> {
    const S: &str = "property";
    let mut body = as_object(S, v)?;
    check_keys(S, &body, PROPERTY_KEYS)?;
    let name = if require_name {
        Some(req_str(S, &body, "name", Some(NAME_MAX))?)
    } else {
        opt_str(S, &body, "name", Some(NAME_MAX))?
    };
    req_str(S, &body, "title", None)?;
    let ty = req_str(S, &body, "type", None)?;
    if !PROPERTY_TYPES.contains(&ty.as_str()) {
        return Err(invalid(S, format!("'{ty}' is not one of {PROPERTY_TYPES_TEXT}")));
    }
    opt_str(S, &body, "description", None)?;
    opt_str(S, &body, "pattern", None)?;
    for k in ["readonly", "uniqueItems", "additionalItems"] {
        opt_bool(S, &body, k)?;
    }
    for k in ["minimum", "maximum"] {
        if let Some(x) = body.get(k).filter(|x| !x.is_number()) {
            return Err(invalid(S, format!("{x} is not of type 'number' ({k})")));
        }
    }
    for k in ["maxLength", "minLength", "maxItems", "minItems"] {
        if let Some(x) = body.get(k).filter(|x| x.as_u64().is_none()) {
            return Err(invalid(S, format!("{x} is not a non-negative integer ({k})")));
        }
    }
    for k in ["operators", "required"] {
        if let Some(x) = body.get(k) {
            string_array(S, k, x)?;
        }
    }
    if let Some(x) = body.get("enum").filter(|x| !x.is_array()) {
        return Err(invalid(S, format!("{x} is not of type 'array' (enum)")));
    }
    if let Some(items) = body.get("items") {
        let Value::Object(items) = items else {
            return Err(invalid(S, format!("{items} is not of type 'object' (items)")));
        };
        if let Some(t) = items.get("type") {
            if !t.as_str().is_some_and(|t| PROPERTY_TYPES.contains(&t)) {
                return Err(invalid(
                    S,
                    format!("{t} is not one of {PROPERTY_TYPES_TEXT} (items.type)"),
                ));
            }
        }
        if let Some(x) = items.get("enum").filter(|x| !x.is_array()) {
            return Err(invalid(S, format!("{x} is not of type 'array' (items.enum)")));
        }
    }
    body.remove("name");
    Ok((name, body))
}

/// A dict of property definitions keyed by name, as objects and namespaces carry them.
fn property_map(schema: &str, v: Value) -> Result<Body> {
    let mut out = Map::new();
    for (name, def) in as_object(schema, v)? {
        let (_, def) = property_definition(def, false)?;
        out.insert(name, Value::Object(def));
    }
    Ok(out)
}

/// An object definition: name, description, required, properties.
struct ObjectInput {
    name: String,
    description: Option<String>,
    required: Vec<String>,
    properties: Body,
}

impl ObjectInput {
    fn parse(body: Body) -> Result<Self> {
        const S: &str = "object";
        check_read_only(&body, &["self", "schema", "created_at", "updated_at"])?;
        check_keys(S, &body, &["name", "description", "required", "properties"])?;
        let required = match body.get("required") {
            None | Some(Value::Null) => vec![],
            Some(v) => string_array(S, "required", v)?,
        };
        let properties = match body.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(v) => property_map(S, v.clone())?,
        };
        Ok(Self {
            name: req_str(S, &body, "name", Some(NAME_MAX))?,
            description: opt_str(S, &body, "description", None)?,
            required,
            properties,
        })
    }

    fn into_row(self, namespace_id: &str, now: i64) -> Object {
        Object {
            namespace_id: namespace_id.into(),
            name: self.name,
            description: self.description,
            required: Value::from(self.required).to_string(),
            properties: Value::Object(self.properties).to_string(),
            created_at: now,
            updated_at: now,
        }
    }
}

struct AssociationInput {
    name: String,
    prefix: Option<String>,
    properties_target: Option<String>,
}

impl AssociationInput {
    fn parse(body: Body) -> Result<Self> {
        const S: &str = "resource_type_association";
        check_read_only(&body, &["created_at", "updated_at"])?;
        check_keys(S, &body, &["name", "prefix", "properties_target"])?;
        Ok(Self {
            name: req_str(S, &body, "name", Some(NAME_MAX))?,
            prefix: opt_str(S, &body, "prefix", Some(NAME_MAX))?,
            properties_target: opt_str(S, &body, "properties_target", Some(NAME_MAX))?,
        })
    }

    fn into_row(self, namespace_id: &str, now: i64) -> Association {
        Association {
            namespace_id: namespace_id.into(),
            name: self.name,
            prefix: self.prefix,
            properties_target: self.properties_target,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A namespace body (create or update); the contents only matter on create.
struct NamespaceInput {
    namespace: String,
    display_name: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    protected: Option<bool>,
    owner: Option<String>,
    associations: Option<Vec<AssociationInput>>,
    properties: Option<Body>,
    objects: Option<Vec<ObjectInput>>,
    tags: Option<Vec<String>>,
}

impl NamespaceInput {
    fn parse(body: Body) -> Result<Self> {
        const S: &str = "namespace";
        check_read_only(&body, &["self", "schema", "created_at", "updated_at"])?;
        check_keys(
            S,
            &body,
            &[
                "namespace",
                "display_name",
                "description",
                "visibility",
                "protected",
                "owner",
                "resource_type_associations",
                "properties",
                "objects",
                "tags",
            ],
        )?;
        let visibility = opt_str(S, &body, "visibility", None)?;
        if let Some(v) = visibility.as_deref() {
            if v != "public" && v != "private" {
                return Err(invalid(S, format!("'{v}' is not one of ['public', 'private']")));
            }
        }
        let list = |key: &str| -> Result<Option<Vec<Body>>> {
            match body.get(key) {
                None => Ok(None),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| as_object(S, v.clone()))
                    .collect::<Result<_>>()
                    .map(Some),
                Some(other) => Err(invalid(S, format!("{other} is not of type 'array' ({key})"))),
            }
        };
        let associations = list("resource_type_associations")?
            .map(|v| v.into_iter().map(AssociationInput::parse).collect::<Result<Vec<_>>>())
            .transpose()?;
        let objects = list("objects")?
            .map(|v| v.into_iter().map(ObjectInput::parse).collect::<Result<Vec<_>>>())
            .transpose()?;
        let tags = list("tags")?
            .map(|v| v.iter().map(|t| tag_name(S, t)).collect::<Result<Vec<_>>>())
            .transpose()?;
        let properties = body.get("properties").map(|v| property_map(S, v.clone())).transpose()?;
        Ok(Self {
            namespace: req_str(S, &body, "namespace", Some(NAME_MAX))?,
            display_name: opt_str(S, &body, "display_name", Some(NAME_MAX))?,
            description: opt_str(S, &body, "description", Some(500))?,
            visibility,
            protected: opt_bool(S, &body, "protected")?,
            owner: opt_str(S, &body, "owner", Some(255))?,
            associations,
            properties,
            objects,
            tags,
        })
    }
}

/// `{"name": "..."}` of a tag, nothing else.
fn tag_name(schema: &str, body: &Body) -> Result<String> {
    check_keys(schema, body, &["name"])?;
    req_str(schema, body, "name", Some(NAME_MAX))
}

fn parse_limit(v: &str) -> Result<i64> {
    v.parse()
        .map_err(|_| Error::bad_request("limit param must be an integer"))
}

fn parse_sort_dir(q: &ListQuery) -> Result<bool> {
    match q.get("sort_dir").unwrap_or("desc") {
        "desc" => Ok(true),
        "asc" => Ok(false),
        d => Err(Error::bad_request(format!("Invalid sort direction: {d}"))),
    }
}

/// Whether an item whose ascending comparison with the marker is `ord` comes after the
/// marker in a listing sorted ascending or (`desc`) descending.
fn after(ord: Ordering, desc: bool) -> bool {
    if desc {
        ord == Ordering::Less
    } else {
        ord == Ordering::Greater
    }
}

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

fn compare_tags(a: &Tag, b: &Tag, key: &str) -> Ordering {
    let primary = match key {
        "name" => a.name.cmp(&b.name),
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        _ => Ordering::Equal,
    };
    primary.then(a.created_at.cmp(&b.created_at)).then(a.name.cmp(&b.name))
}

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

// --- namespaces ----------------------------------------------------------------------------

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
    pub async fn create_metadef_namespace(&self, caller: &Caller, body: Body) -> Result<NamespaceDetail> {
        caller.require_admin()?;
        let input = NamespaceInput::parse(body)?;
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
        let mut tx = crate::db::begin(&self.db).await?;
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
    pub async fn update_metadef_namespace(&self, caller: &Caller, name: &str, body: Body) -> Result<Namespace> {
        let input = NamespaceInput::parse(body)?;
        let mut tx = crate::db::begin(&self.db).await?;
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
        let mut tx = crate::db::begin(&self.db).await?;
        let ns = writable(caller, md::get_namespace(&mut *tx, name).await?, name)?;
        protected(&ns, "namespace", name)?;
        md::delete_namespace(&mut *tx, &ns.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes every object, property or tag of a namespace; not allowed while it is protected.
    pub async fn delete_metadef_contents(&self, caller: &Caller, name: &str, kind: Contents) -> Result<()> {
        let mut tx = crate::db::begin(&self.db).await?;
        let ns = writable(caller, md::get_namespace(&mut *tx, name).await?, name)?;
        protected(&ns, "namespace", name)?;
        md::delete_contents(&mut *tx, &ns.id, kind).await?;
        tx.commit().await?;
        Ok(())
    }
}

// --- objects -------------------------------------------------------------------------------

fn object_not_found(name: &str) -> Error {
    Error::not_found("object", name)
}

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

    pub async fn create_metadef_object(&self, caller: &Caller, ns: &str, body: Body) -> Result<Object> {
        let input = ObjectInput::parse(body)?;
        let mut tx = crate::db::begin(&self.db).await?;
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
    pub async fn update_metadef_object(&self, caller: &Caller, ns: &str, name: &str, body: Body) -> Result<Object> {
        let input = ObjectInput::parse(body)?;
        let mut tx = crate::db::begin(&self.db).await?;
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
        let mut tx = crate::db::begin(&self.db).await?;
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

// --- properties ----------------------------------------------------------------------------

fn property_not_found(name: &str) -> Error {
    Error::not_found("property", name)
}

impl App {
    pub async fn list_metadef_properties(&self, caller: &Caller, ns: &str) -> Result<Vec<Property>> {
        let ns = readable(caller, md::get_namespace(&self.db, ns).await?, ns)?;
        md::list_properties(&self.db, &ns.id).await
    }

    pub async fn create_metadef_property(&self, caller: &Caller, ns: &str, body: Body) -> Result<Property> {
        check_read_only(&body, &["created_at", "updated_at"])?;
        let (name, def) = property_definition(Value::Object(body), true)?;
        let name = name.unwrap_or_default();
        let mut tx = crate::db::begin(&self.db).await?;
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

    pub async fn update_metadef_property(&self, caller: &Caller, ns: &str, name: &str, body: Body) -> Result<Property> {
        check_read_only(&body, &["created_at", "updated_at"])?;
        let (new_name, def) = property_definition(Value::Object(body), true)?;
        let new_name = new_name.unwrap_or_default();
        let mut tx = crate::db::begin(&self.db).await?;
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
        let mut tx = crate::db::begin(&self.db).await?;
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

// --- tags ----------------------------------------------------------------------------------

fn tag_not_found(name: &str) -> Error {
    Error::not_found("tag", name)
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
        let mut tx = crate::db::begin(&self.db).await?;
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
    pub async fn create_metadef_tags(&self, caller: &Caller, ns: &str, body: Body, append: bool) -> Result<Vec<Tag>> {
        const S: &str = "tags";
        check_read_only(&body, &["created_at", "updated_at"])?;
        check_keys(S, &body, &["tags"])?;
        let names = match body.get("tags") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|t| tag_name(S, &as_object(S, t.clone())?))
                .collect::<Result<Vec<_>>>()?,
            Some(other) => return Err(invalid(S, format!("{other} is not of type 'array' (tags)"))),
            None => return Err(invalid(S, "'tags' is a required property")),
        };
        let mut tx = crate::db::begin(&self.db).await?;
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
    pub async fn update_metadef_tag(&self, caller: &Caller, ns: &str, name: &str, body: Body) -> Result<Tag> {
        check_read_only(&body, &["created_at", "updated_at"])?;
        let new_name = tag_name("tag", &body)?;
        let mut tx = crate::db::begin(&self.db).await?;
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
        let mut tx = crate::db::begin(&self.db).await?;
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

// --- resource types ------------------------------------------------------------------------

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
    pub async fn create_metadef_association(&self, caller: &Caller, ns: &str, body: Body) -> Result<Association> {
        let input = AssociationInput::parse(body)?;
        let mut tx = crate::db::begin(&self.db).await?;
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
        let mut tx = crate::db::begin(&self.db).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(v: Value) -> Result<(Option<String>, Body)> {
        property_definition(v, true)
    }

    #[test]
    fn property_definitions_follow_glance_schema() {
        let (name, body) = def(json!({"name": "p", "title": "P", "type": "string", "enum": ["a"]})).unwrap();
        assert_eq!(name.as_deref(), Some("p"));
        assert!(!body.contains_key("name"));
        assert!(
            def(json!({"title": "P", "type": "string"})).is_err(),
            "name is required"
        );
        assert!(
            def(json!({"name": "p", "type": "string"})).is_err(),
            "title is required"
        );
        assert!(def(json!({"name": "p", "title": "P", "type": "text"})).is_err());
        assert!(def(json!({"name": "p", "title": "P", "type": "string", "bogus": 1})).is_err());
        assert!(def(json!({"name": "p", "title": "P", "type": "integer", "minimum": "1"})).is_err());
        assert!(def(json!({"name": "p", "title": "P", "type": "array", "items": {"type": "nope"}})).is_err());
        assert!(property_definition(json!({"title": "P", "type": "string"}), false).is_ok());
    }

    #[test]
    fn read_only_attributes_are_forbidden() {
        let body = json!({"namespace": "n", "self": "/x"});
        let Value::Object(m) = body else { unreachable!() };
        assert!(matches!(NamespaceInput::parse(m), Err(Error::Forbidden(_))));
    }

    #[test]
    fn namespace_bodies_are_checked() {
        let parse = |v: Value| NamespaceInput::parse(v.as_object().cloned().unwrap_or_default());
        assert!(parse(json!({"namespace": "n", "visibility": "shared"})).is_err());
        assert!(parse(json!({"namespace": "n", "protected": "yes"})).is_err());
        assert!(parse(json!({"display_name": "n"})).is_err());
        let ok = parse(json!({"namespace": "n", "tags": [{"name": "t"}], "objects": [{"name": "o", "required": ["a"]}],
            "properties": {"a": {"title": "A", "type": "string"}}, "resource_type_associations": [{"name": "OS::Glance::Image"}]}))
        .unwrap();
        assert_eq!(ok.tags.unwrap(), vec!["t".to_string()]);
        assert!(parse(json!({"namespace": "n", "objects": [{"name": "o", "required": ["a", "a"]}]})).is_err());
    }

    #[test]
    fn paging_order() {
        assert!(after(Ordering::Greater, false));
        assert!(after(Ordering::Less, true));
        assert!(!after(Ordering::Equal, true));
    }
}

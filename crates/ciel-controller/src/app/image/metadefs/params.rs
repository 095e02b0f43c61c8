//! Typed request bodies of Glance's metadefs API, checked against Glance's metadefs schemas
//! (namespaces, objects, property definitions, resource-type associations, tags; unknown
//! keys and wrong types 400, server-owned keys 403), and listing query parameters.
//!
//! Each body type is `Deserialize` (through `TryFrom<Map>`); the HTTP edge calls `try_from`
//! directly so that the error keeps its status code. A property definition is a JSON-schema
//! fragment (`type`, `enum`, `items`, ...): checked here, then kept as the object it is.

use super::{Body, ListQuery, NAME_MAX};
use crate::db::image::metadefs::{Association, Object};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

pub(super) fn invalid(schema: &str, reason: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Provided object does not match schema '{schema}': {reason}"))
}

/// Server-owned attributes are 403 in a request body, as in Glance.
pub(super) fn check_read_only(body: &Body, keys: &[&str]) -> Result<()> {
    match keys.iter().find(|k| body.contains_key(**k)) {
        Some(k) => Err(Error::Forbidden(format!("Attribute '{k}' is read-only."))),
        None => Ok(()),
    }
}

pub(super) fn check_keys(schema: &str, body: &Body, allowed: &[&str]) -> Result<()> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            schema,
            format!("Additional properties are not allowed ('{k}' was unexpected)"),
        )),
        None => Ok(()),
    }
}

pub(super) fn as_object(schema: &str, v: Value) -> Result<Body> {
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
pub(super) fn property_definition(v: Value, require_name: bool) -> Result<(Option<String>, Body)> {
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
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct ObjectInput {
    pub(super) name: String,
    description: Option<String>,
    required: Vec<String>,
    properties: Body,
}

impl TryFrom<Body> for ObjectInput {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Self::parse(body)
    }
}

impl ObjectInput {
    pub(super) fn parse(body: Body) -> Result<Self> {
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

    pub(super) fn into_row(self, namespace_id: &str, now: i64) -> Object {
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

/// A resource-type association: name, prefix, properties target.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct AssociationInput {
    pub(super) name: String,
    prefix: Option<String>,
    properties_target: Option<String>,
}

impl TryFrom<Body> for AssociationInput {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Self::parse(body)
    }
}

impl AssociationInput {
    pub(super) fn parse(body: Body) -> Result<Self> {
        const S: &str = "resource_type_association";
        check_read_only(&body, &["created_at", "updated_at"])?;
        check_keys(S, &body, &["name", "prefix", "properties_target"])?;
        Ok(Self {
            name: req_str(S, &body, "name", Some(NAME_MAX))?,
            prefix: opt_str(S, &body, "prefix", Some(NAME_MAX))?,
            properties_target: opt_str(S, &body, "properties_target", Some(NAME_MAX))?,
        })
    }

    pub(super) fn into_row(self, namespace_id: &str, now: i64) -> Association {
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
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct NamespaceInput {
    pub(super) namespace: String,
    pub(super) display_name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) visibility: Option<String>,
    pub(super) protected: Option<bool>,
    pub(super) owner: Option<String>,
    pub(super) associations: Option<Vec<AssociationInput>>,
    pub(super) properties: Option<Body>,
    pub(super) objects: Option<Vec<ObjectInput>>,
    pub(super) tags: Option<Vec<String>>,
}

impl TryFrom<Body> for NamespaceInput {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Self::parse(body)
    }
}

impl NamespaceInput {
    pub(super) fn parse(body: Body) -> Result<Self> {
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

/// A property definition (`POST`/`PUT .../properties[/{name}]`): its name and the checked
/// JSON-schema fragment that defines it.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct PropertyInput {
    pub name: String,
    pub definition: Body,
}

impl TryFrom<Body> for PropertyInput {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        check_read_only(&body, &["created_at", "updated_at"])?;
        let (name, definition) = property_definition(Value::Object(body), true)?;
        Ok(Self {
            name: name.unwrap_or_default(),
            definition,
        })
    }
}

/// `PUT .../tags/{name}` `{"name": "new"}`: a tag's new name.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct TagInput {
    pub name: String,
}

impl TryFrom<Body> for TagInput {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        check_read_only(&body, &["created_at", "updated_at"])?;
        Ok(Self {
            name: tag_name("tag", &body)?,
        })
    }
}

/// `POST .../tags` `{"tags": [{"name": ..}, ..]}`: tag names.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct TagsInput {
    pub names: Vec<String>,
}

impl TryFrom<Body> for TagsInput {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
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
        Ok(Self { names })
    }
}

/// `{"name": "..."}` of a tag, nothing else.
pub(super) fn tag_name(schema: &str, body: &Body) -> Result<String> {
    check_keys(schema, body, &["name"])?;
    req_str(schema, body, "name", Some(NAME_MAX))
}

pub(super) fn parse_limit(v: &str) -> Result<i64> {
    v.parse()
        .map_err(|_| Error::bad_request("limit param must be an integer"))
}

pub(super) fn parse_sort_dir(q: &ListQuery) -> Result<bool> {
    match q.get("sort_dir").unwrap_or("desc") {
        "desc" => Ok(true),
        "asc" => Ok(false),
        d => Err(Error::bad_request(format!("Invalid sort direction: {d}"))),
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
        let m = json!({"namespace": "n", "self": "/x"})
            .as_object()
            .cloned()
            .unwrap_or_default();
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
}

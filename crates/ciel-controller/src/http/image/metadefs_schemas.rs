//! `/v2/schemas/metadefs/*`: Glance's JSON schemas of the metadata definitions catalog, built
//! the way `glance.schema` builds them (an item schema, and a collection wrapping it).

use serde_json::{json, Map, Value};

/// The schema called `name` (`namespace`, `namespaces`, `object`, ... `tags`).
pub fn get(name: &str) -> Option<Value> {
    Some(match name {
        "namespace" => namespace(),
        "namespaces" => collection("namespaces", namespace()),
        "object" => object(),
        "objects" => collection("objects", object()),
        "property" => property(true),
        "properties" => dict_collection("properties", property(false)),
        "tag" => tag(),
        "tags" => collection("tags", tag()),
        "resource_type" => resource_type(),
        "resource_types" => collection("resource_type_associations", resource_type()),
        _ => return None,
    })
}

/// `glance.schema.Schema.raw()`: closed to unknown attributes.
fn item(name: &str, properties: Value, required: &[&str], definitions: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("properties".into(), properties);
    m.insert("additionalProperties".into(), json!(false));
    if let Some(d) = definitions {
        m.insert("definitions".into(), d);
    }
    if !required.is_empty() {
        m.insert("required".into(), json!(required));
    }
    Value::Object(m)
}

/// Moves an item schema's definitions up to the collection, as Glance does.
fn split_definitions(mut item: Value) -> (Value, Option<Value>) {
    let defs = item.as_object_mut().and_then(|m| m.remove("definitions"));
    (item, defs)
}

fn wrap(name: &str, member: Value, item: Value) -> Value {
    let (item, defs) = split_definitions(item);
    let mut member = member;
    if let Some(m) = member.as_object_mut() {
        let key = if m.get("type") == Some(&json!("array")) {
            "items"
        } else {
            "additionalProperties"
        };
        m.insert(key.into(), item);
    }
    let mut out = json!({
        "name": name,
        "properties": {
            name: member,
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    });
    if let (Some(d), Some(m)) = (defs, out.as_object_mut()) {
        m.insert("definitions".into(), d);
    }
    out
}

/// `glance.schema.CollectionSchema`: `{name: [item, ...]}`.
fn collection(name: &str, item: Value) -> Value {
    wrap(name, json!({"type": "array"}), item)
}

/// `glance.schema.DictCollectionSchema`: `{name: {key: item, ...}}`.
fn dict_collection(name: &str, item: Value) -> Value {
    wrap(name, json!({"type": "object"}), item)
}

fn timestamp(desc: &str) -> Value {
    json!({"type": "string", "readOnly": true, "description": desc, "format": "date-time"})
}

fn type_enum() -> Value {
    json!({"type": "string", "enum": ["array", "boolean", "integer", "number", "object", "string", null]})
}

/// The attributes of one property definition.
fn property_attributes() -> Value {
    json!({
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": type_enum(),
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object", "properties": {"type": type_enum(), "enum": {"type": "array"}}},
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": false},
        "additionalItems": {"type": "boolean"},
    })
}

/// Definitions shared by the namespace and object schemas; `string_array_min` is the
/// property schema's variant, which requires at least one element.
fn definitions(with_property: bool, string_array_min: bool) -> Value {
    let mut string_array = json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true});
    if string_array_min {
        string_array["minItems"] = json!(1);
    }
    let mut d = json!({
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
        "stringArray": string_array,
    });
    if with_property {
        d["property"] = json!({
            "type": "object",
            "additionalProperties": {"type": "object", "required": ["title", "type"], "properties": property_attributes()},
        });
    }
    d
}

fn namespace() -> Value {
    let props = json!({
        "namespace": {"type": "string", "description": "The unique namespace text.", "maxLength": 80},
        "display_name": {"type": "string", "description": "The user friendly name for the namespace. Used by UI if available.", "maxLength": 80},
        "description": {"type": "string", "description": "Provides a user friendly description of the namespace.", "maxLength": 500},
        "visibility": {"type": "string", "description": "Scope of namespace accessibility.", "enum": ["public", "private"]},
        "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "description": "Owner of the namespace.", "maxLength": 255},
        "created_at": timestamp("Date and time of namespace creation"),
        "updated_at": timestamp("Date and time of the last namespace modification"),
        "schema": {"readOnly": true, "type": "string"},
        "self": {"readOnly": true, "type": "string"},
        "resource_type_associations": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "prefix": {"type": "string"}, "properties_target": {"type": "string"}}}},
        "properties": {"$ref": "#/definitions/property"},
        "objects": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "description": {"type": "string"},
            "required": {"$ref": "#/definitions/stringArray"}, "properties": {"$ref": "#/definitions/property"}}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    });
    item("namespace", props, &["namespace"], Some(definitions(true, false)))
}

fn object() -> Value {
    let props = json!({
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": {"readOnly": true, "type": "string"},
        "self": {"readOnly": true, "type": "string"},
        "created_at": timestamp("Date and time of object creation"),
        "updated_at": timestamp("Date and time of the last object modification"),
    });
    item("object", props, &["name"], Some(definitions(true, false)))
}

/// A single property requires its name; inside a collection the name is the key.
fn property(require_name: bool) -> Value {
    let required: &[&str] = if require_name {
        &["type", "title", "name"]
    } else {
        &["type", "title"]
    };
    item(
        "property",
        property_attributes(),
        required,
        Some(definitions(false, true)),
    )
}

fn tag() -> Value {
    let props = json!({
        "name": {"type": "string", "maxLength": 80},
        "created_at": timestamp("Date and time of tag creation"),
        "updated_at": timestamp("Date and time of the last tag modification"),
    });
    item("tag", props, &["name"], None)
}

fn resource_type() -> Value {
    let props = json!({
        "name": {"type": "string", "maxLength": 80, "description": "Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html"},
        "prefix": {"type": "string", "maxLength": 80, "description": "Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :)."},
        "properties_target": {"type": "string", "maxLength": 80, "description": "Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity."},
        "created_at": timestamp("Date and time of resource type association"),
        "updated_at": timestamp("Date and time of the last resource type association modification"),
    });
    item("resource_type_association", props, &["name"], None)
}

#[cfg(test)]
mod tests {
    use super::get;

    /// Tempest checks each schema's `name`; the resource type ones are named for associations.
    #[test]
    fn schema_names() {
        for (path, name) in [
            ("namespace", "namespace"),
            ("namespaces", "namespaces"),
            ("object", "object"),
            ("objects", "objects"),
            ("property", "property"),
            ("properties", "properties"),
            ("tag", "tag"),
            ("tags", "tags"),
            ("resource_type", "resource_type_association"),
            ("resource_types", "resource_type_associations"),
        ] {
            assert_eq!(get(path).unwrap()["name"], name, "{path}");
        }
        assert!(get("image").is_none());
    }

    #[test]
    fn collections_hoist_definitions() {
        let s = get("namespaces").unwrap();
        assert!(s["definitions"]["property"].is_object());
        assert!(s["properties"]["namespaces"]["items"].get("definitions").is_none());
        let p = get("properties").unwrap();
        assert_eq!(
            p["properties"]["properties"]["additionalProperties"]["required"],
            serde_json::json!(["type", "title"])
        );
    }
}

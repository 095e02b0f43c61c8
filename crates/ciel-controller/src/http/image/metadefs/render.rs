//! JSON renderings of metadefs rows, as Glance's WSME models render them.

use crate::app::image::metadefs::NamespaceDetail;
use crate::db::image::metadefs::{Association, Namespace, Object, Property, ResourceType, Tag};
use crate::http::image::render::time;
use serde_json::{json, Map, Value};

pub(super) fn namespace_href(name: &str) -> String {
    format!("/v2/metadefs/namespaces/{name}")
}

/// Inserts `v` under `k` unless it is absent.
fn put_opt(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.into(), json!(v));
    }
}

pub(super) fn namespace_map(n: &Namespace) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("namespace".into(), json!(n.namespace));
    put_opt(&mut m, "display_name", &n.display_name);
    put_opt(&mut m, "description", &n.description);
    m.insert("visibility".into(), json!(n.visibility));
    m.insert("protected".into(), json!(n.protected));
    m.insert("owner".into(), json!(n.owner));
    m.insert("created_at".into(), json!(time(n.created_at)));
    m.insert("updated_at".into(), json!(time(n.updated_at)));
    m.insert("self".into(), json!(namespace_href(&n.namespace)));
    m.insert("schema".into(), json!("/v2/schemas/metadefs/namespace"));
    m
}

pub(super) fn association(a: &Association) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    put_opt(&mut m, "prefix", &a.prefix);
    put_opt(&mut m, "properties_target", &a.properties_target);
    m.insert("created_at".into(), json!(time(a.created_at)));
    m.insert("updated_at".into(), json!(time(a.updated_at)));
    Value::Object(m)
}

pub(super) fn object(ns: &str, o: &Object) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(o.name));
    put_opt(&mut m, "description", &o.description);
    m.insert("required".into(), Value::Array(o.required_list()));
    m.insert("properties".into(), Value::Object(o.property_map()));
    m.insert("created_at".into(), json!(time(o.created_at)));
    m.insert("updated_at".into(), json!(time(o.updated_at)));
    m.insert(
        "self".into(),
        json!(format!("{}/objects/{}", namespace_href(ns), o.name)),
    );
    m.insert("schema".into(), json!("/v2/schemas/metadefs/object"));
    Value::Object(m)
}

/// One property on its own carries its name.
pub(super) fn property(p: &Property) -> Value {
    let mut m = p.definition_map();
    m.insert("name".into(), json!(p.name));
    Value::Object(m)
}

/// In a collection, a property's name is its key.
pub(super) fn property_dict(props: &[Property]) -> Value {
    Value::Object(
        props
            .iter()
            .map(|p| (p.name.clone(), Value::Object(p.definition_map())))
            .collect(),
    )
}

pub(super) fn tag(t: &Tag) -> Value {
    json!({"name": t.name, "created_at": time(t.created_at), "updated_at": time(t.updated_at)})
}

/// Tag collections list names only.
pub(super) fn tag_names(tags: &[Tag]) -> Value {
    Value::Array(tags.iter().map(|t| json!({"name": t.name})).collect())
}

pub(super) fn resource_type(r: &ResourceType) -> Value {
    json!({"name": r.name, "created_at": time(r.created_at), "updated_at": time(r.updated_at)})
}

pub(super) fn namespace_detail(d: &NamespaceDetail) -> Value {
    let ns = &d.namespace.namespace;
    let mut m = namespace_map(&d.namespace);
    if let Some(a) = &d.associations {
        m.insert("resource_type_associations".into(), a.iter().map(association).collect());
    }
    if let Some(p) = &d.properties {
        m.insert("properties".into(), property_dict(p));
    }
    if let Some(o) = &d.objects {
        m.insert("objects".into(), o.iter().map(|o| object(ns, o)).collect());
    }
    if let Some(t) = &d.tags {
        m.insert("tags".into(), tag_names(t));
    }
    Value::Object(m)
}

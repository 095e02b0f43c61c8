//! Glance's JSON shapes.

use crate::app::json_input::extra_object;
use crate::db::image::{Image, Member};
use serde_json::{json, Map, Value};

pub fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn image(i: &Image) -> Value {
    let mut m: Map<String, Value> = match json!({
        "id": i.id, "name": i.name, "status": i.status, "visibility": i.visibility, "protected": i.protected,
        "os_hidden": i.os_hidden, "checksum": i.checksum, "os_hash_algo": i.os_hash_algo,
        "os_hash_value": i.os_hash_value, "owner": i.owner, "size": i.size, "virtual_size": i.virtual_size,
        "min_ram": i.min_ram, "min_disk": i.min_disk, "disk_format": i.disk_format,
        "container_format": i.container_format, "created_at": time(i.created_at), "updated_at": time(i.updated_at),
        "tags": i.tag_list(), "self": format!("/v2/images/{}", i.id), "file": format!("/v2/images/{}/file", i.id),
        "schema": "/v2/schemas/image",
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    for (k, v) in extra_object(&i.properties) {
        m.entry(k).or_insert(v);
    }
    Value::Object(m)
}

pub fn member(m: &Member) -> Value {
    json!({
        "image_id": m.image_id, "member_id": m.member_id, "status": m.status,
        "created_at": time(m.created_at), "updated_at": time(m.updated_at), "schema": "/v2/schemas/member",
    })
}

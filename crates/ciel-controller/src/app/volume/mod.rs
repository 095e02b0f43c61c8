//! Block storage (Cinder v3). A volume lives on one hypervisor host (the `file` backend: a
//! qcow2 file there); the controller records what should exist and the host's agent makes
//! it so, reporting back what it holds. Status moves as Cinder's does: `creating` until the
//! agent reports the volume, `attaching`/`detaching` until the VM reports its disks.

pub mod attachments;
pub mod backup_params;
pub mod backup_report;
pub mod backups;
pub mod boot;
pub mod capabilities;
pub mod cinder_attachments;
pub mod encryption;
pub mod group_params;
pub mod group_types;
pub mod groups;
pub mod messages;
pub mod metadata;
pub mod migration;
pub mod params;
pub mod qos;
pub mod quotas;
pub mod report;
pub mod services;
pub mod snapshots;
pub mod transfers;
pub mod types;
pub mod upload;
pub mod views;
pub mod volumes;

use crate::app::identity::caller::Caller;
use crate::app::metadata_schema::{check_items, shown};
use crate::db::volume::Volume;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The only availability zone (as Nova's default).
pub const ZONE: &str = "nova";

/// Cinder's default quotas.
pub const DEFAULT_QUOTAS: &[(&str, i64)] = &[
    ("volumes", 10),
    ("snapshots", 10),
    ("gigabytes", 1000),
    ("backups", 10),
    ("backup_gigabytes", 1000),
    ("groups", 10),
    ("per_volume_gigabytes", -1),
];

pub fn own_project(caller: &Caller) -> Result<String> {
    caller
        .project_id()
        .map(str::to_owned)
        .ok_or_else(|| Error::Forbidden("Block storage needs a project-scoped token.".into()))
}

/// A metadata body as Cinder's schema (`parameter_types.metadata_allows_null`) takes it:
/// keys of 1–255 characters out of letters, digits and `-_:. `, string values of up to 255
/// characters.
pub fn metadata(v: &Value) -> Result<BTreeMap<String, String>> {
    let Value::Object(m) = v else {
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute metadata. Value: {}. It is not of type 'object'",
            shown(&v.to_string())
        )));
    };
    check_items(m)?;
    Ok(m.iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect())
}

pub fn parse_map(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub fn to_json(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// A stored metadata map with `md` merged in (`replace`: `md` alone), for volumes and snapshots.
pub fn merged(json: &str, md: BTreeMap<String, String>, replace: bool) -> BTreeMap<String, String> {
    let mut cur = if replace { BTreeMap::new() } else { parse_map(json) };
    cur.extend(md);
    cur
}

/// A stored metadata map without `key`, or None when it has no such key.
pub fn without(json: &str, key: &str) -> Option<BTreeMap<String, String>> {
    let mut cur = parse_map(json);
    cur.remove(key).map(|_| cur)
}

/// An optional string field of a request body (null allowed), at most 255 characters.
pub fn opt_text(body: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 255 => Ok(Some(s.clone())),
        Some(Value::String(s)) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {}. '{}' is too long",
            shown(s),
            shown(s)
        ))),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {}. {} is not of type 'string'",
            shown(&other.to_string()),
            shown(&other.to_string())
        ))),
    }
}

/// A size in GiB: a positive integer (or a string of one, as Cinder accepts).
pub fn size_gb(v: &Value) -> Result<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        // Cinder's `volume_size`: 1 to MAX_INT.
        Some(n) if n > 0 && n <= i64::from(i32::MAX) => Ok(n),
        _ => Err(Error::bad_request(format!(
            "Invalid input received: 'size' parameter must be an integer greater than 0, got {v}."
        ))),
    }
}

/// A volume the caller can see, or 404.
pub fn visible(caller: &Caller, v: Option<Volume>, id: &str) -> Result<Volume> {
    match v {
        Some(v) if crate::app::policy::in_project(caller, &v.project_id) => Ok(v),
        _ => Err(Error::not_found("volume", id)),
    }
}

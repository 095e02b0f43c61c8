//! Typed request bodies of `/backups`, checked once with Cinder's error texts (its
//! `backups` JSON schemas: `volume_id` a UUID, strings of up to 255 characters, booleans as
//! Cinder's `boolean` type takes them, metadata from 3.43).

use super::{metadata, opt_text};
use crate::app::metadata_schema::shown;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Body = Map<String, Value>;

/// A boolean as Cinder's `parameter_types.boolean` takes it.
fn flag(body: &Body, key: &str) -> Result<bool> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" | "t" => Ok(true),
            "false" | "0" | "no" | "off" | "n" | "f" => Ok(false),
            _ => Err(not_boolean(key, &Value::String(s.clone()))),
        },
        Some(v) => Err(not_boolean(key, v)),
    }
}

fn not_boolean(key: &str, v: &Value) -> Error {
    Error::bad_request(format!(
        "Invalid input for field/attribute {key}. Value: {}. {} is not a valid boolean.",
        shown(&v.to_string()),
        shown(&v.to_string())
    ))
}

/// An optional UUID field (null allowed).
fn opt_uuid(body: &Body, key: &str) -> Result<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => Ok(Some(s.clone())),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {}. {} is not a 'uuid'",
            shown(&other.to_string()),
            shown(&other.to_string())
        ))),
    }
}

fn only(body: &Body, allowed: &[&str], what: &str) -> Result<()> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {what}. Additional properties are not allowed ('{k}' was unexpected)"
        ))),
        None => Ok(()),
    }
}

/// `POST /backups` `{"backup": {...}}`.
#[derive(Debug, Clone, Default)]
pub struct CreateBackup {
    pub volume_id: String,
    pub container: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub incremental: bool,
    /// Needed to back up an attached (`in-use`) volume.
    pub force: bool,
    pub snapshot_id: Option<String>,
    /// 3.43+.
    pub metadata: BTreeMap<String, String>,
    pub availability_zone: Option<String>,
}

impl CreateBackup {
    /// `with_metadata`: microversion 3.43 or later (earlier ones refuse the key).
    pub fn parse(b: Body, with_metadata: bool) -> Result<Self> {
        let mut allowed = vec![
            "volume_id",
            "container",
            "description",
            "incremental",
            "force",
            "name",
            "snapshot_id",
        ];
        if with_metadata {
            allowed.extend(["metadata", "availability_zone"]);
        }
        only(&b, &allowed, "backup")?;
        let volume_id = opt_uuid(&b, "volume_id")?.ok_or_else(|| {
            Error::bad_request(
                "Invalid input for field/attribute backup. Value: {}. 'volume_id' is a required property",
            )
        })?;
        Ok(Self {
            volume_id,
            container: opt_text(&b, "container")?,
            name: opt_text(&b, "name")?,
            description: opt_text(&b, "description")?,
            incremental: flag(&b, "incremental")?,
            force: flag(&b, "force")?,
            snapshot_id: opt_uuid(&b, "snapshot_id")?,
            metadata: match b.get("metadata") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(v) => metadata(v)?,
            },
            availability_zone: opt_text(&b, "availability_zone")?,
        })
    }
}

/// `PUT /backups/{id}` `{"backup": {...}}` (3.9+; metadata 3.43+): what is given changes.
#[derive(Debug, Clone, Default)]
pub struct UpdateBackup {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub metadata: Option<BTreeMap<String, String>>,
}

impl UpdateBackup {
    pub fn parse(b: Body, with_metadata: bool) -> Result<Self> {
        let allowed: &[&str] = if with_metadata {
            &["name", "description", "metadata"]
        } else {
            &["name", "description"]
        };
        only(&b, allowed, "backup")?;
        Ok(Self {
            name: b.contains_key("name").then(|| opt_text(&b, "name")).transpose()?,
            description: b
                .contains_key("description")
                .then(|| opt_text(&b, "description"))
                .transpose()?,
            metadata: b.get("metadata").filter(|v| !v.is_null()).map(metadata).transpose()?,
        })
    }
}

/// `POST /backups/{id}/restore` `{"restore": {...}}`: onto an existing volume, or (none
/// named) a new one of the backup's size named `name`.
#[derive(Debug, Clone, Default)]
pub struct RestoreBackup {
    pub volume_id: Option<String>,
    pub name: Option<String>,
}

impl TryFrom<Body> for RestoreBackup {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        only(&b, &["volume_id", "name"], "restore")?;
        Ok(Self {
            volume_id: opt_uuid(&b, "volume_id")?,
            name: opt_text(&b, "name")?,
        })
    }
}

/// `POST /backups/{id}/action`.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupAction {
    ResetStatus { status: String },
    ForceDelete,
}

impl TryFrom<Value> for BackupAction {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        if let Some(a) = v.get("os-reset_status") {
            let status = a
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::bad_request("Must specify 'status'"))?;
            Ok(Self::ResetStatus { status })
        } else if v.get("os-force_delete").is_some() {
            Ok(Self::ForceDelete)
        } else {
            Err(Error::bad_request("There is no such backup action"))
        }
    }
}

/// `POST /backups/import_record` `{"backup-record": {"backup_service", "backup_url"}}`.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    pub backup_service: String,
    pub backup_url: String,
}

impl TryFrom<Body> for ImportRecord {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        let text = |k: &str| {
            opt_text(&b, k)?.ok_or_else(|| {
                Error::bad_request(format!(
                    "Invalid input for field/attribute backup-record. Value: {{}}. '{k}' is a required property"
                ))
            })
        };
        Ok(Self {
            backup_service: text("backup_service")?,
            backup_url: match b.get("backup_url") {
                Some(Value::String(s)) => s.clone(),
                _ => text("backup_url")?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn create_checks_fields() {
        let id = uuid::Uuid::new_v4().to_string();
        let b = CreateBackup::parse(
            body(json!({"volume_id": id, "incremental": "True", "force": true})),
            false,
        )
        .unwrap();
        assert!(b.incremental && b.force);
        assert!(CreateBackup::parse(body(json!({"volume_id": "x"})), false).is_err());
        assert!(CreateBackup::parse(body(json!({})), false).is_err());
        assert!(CreateBackup::parse(body(json!({"volume_id": id, "force": "maybe"})), false).is_err());
        assert!(CreateBackup::parse(body(json!({"volume_id": id, "metadata": {"a": "b"}})), false).is_err());
        let b = CreateBackup::parse(body(json!({"volume_id": id, "metadata": {"a": "b"}})), true).unwrap();
        assert_eq!(b.metadata.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn update_and_actions() {
        let u = UpdateBackup::parse(body(json!({"name": null})), false).unwrap();
        assert_eq!(u.name, Some(None));
        assert!(u.description.is_none());
        assert!(UpdateBackup::parse(body(json!({"metadata": {}})), false).is_err());
        assert_eq!(
            BackupAction::try_from(json!({"os-force_delete": {}})).unwrap(),
            BackupAction::ForceDelete
        );
        assert!(BackupAction::try_from(json!({"os-reset_status": {}})).is_err());
    }
}

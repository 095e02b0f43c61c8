//! Typed request bodies of generic volume groups (group types, groups, group snapshots),
//! checked as Cinder's schemas do (no unknown keys, texts of at most 255 characters).

use super::{metadata, opt_text};
use crate::db::volume::groups::GroupStatus;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Body = Map<String, Value>;

/// Refuses keys the schema does not know (Cinder's `additionalProperties: false`).
fn only(body: &Body, allowed: &[&str]) -> Result<()> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute. Additional properties are not allowed ('{k}' was unexpected)"
        ))),
        None => Ok(()),
    }
}

/// A trimmed optional text; `required` names the field when it must be there and non-empty.
fn text(body: &Body, key: &str, required: bool) -> Result<Option<String>> {
    let v = opt_text(body, key)?.map(|s| s.trim().to_string());
    if required && v.as_deref().is_none_or(str::is_empty) {
        return Err(Error::bad_request(format!(
            "Invalid input received: '{key}' is required."
        )));
    }
    Ok(v)
}

/// For an update: None when absent, Some(value or null) when present.
fn change(body: &Body, key: &str) -> Result<Option<Option<String>>> {
    if body.contains_key(key) {
        Ok(Some(text(body, key, false)?))
    } else {
        Ok(None)
    }
}

fn boolean(body: &Body, key: &str) -> Result<Option<bool>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" => Ok(Some(false)),
            _ => Err(Error::bad_request(format!("Invalid value '{s}' for {key}"))),
        },
        Some(v) => Err(Error::bad_request(format!("Invalid value '{v}' for {key}"))),
    }
}

/// Comma-separated ids (`add_volumes`, `remove_volumes`).
fn id_list(body: &Body, key: &str) -> Result<Vec<String>> {
    Ok(opt_long_text(body, key)?
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// A string field without the 255-character bound (lists of ids).
fn opt_long_text(body: &Body, key: &str) -> Result<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {v}. It is not of type 'string'"
        ))),
    }
}

/// `POST /group_types` `{"group_type": {...}}`.
#[derive(Debug, Clone)]
pub struct CreateGroupType {
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub group_specs: BTreeMap<String, String>,
}

impl TryFrom<Body> for CreateGroupType {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        only(&body, &["name", "description", "is_public", "group_specs"])?;
        Ok(Self {
            name: text(&body, "name", true)?.unwrap_or_default(),
            description: text(&body, "description", false)?,
            is_public: boolean(&body, "is_public")?.unwrap_or(true),
            group_specs: match body.get("group_specs") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(v) => metadata(v)?,
            },
        })
    }
}

/// `PUT /group_types/{id}`: at least one field.
#[derive(Debug, Clone)]
pub struct UpdateGroupType {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
}

impl TryFrom<Body> for UpdateGroupType {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        only(&body, &["name", "description", "is_public"])?;
        if body.is_empty() {
            return Err(Error::bad_request(
                "Invalid input received: Specify group type name, description or a combination thereof.",
            ));
        }
        let name = change(&body, "name")?.map(|n| n.unwrap_or_default());
        if name.as_deref().is_some_and(str::is_empty) {
            return Err(Error::bad_request(
                "Invalid input received: Group type name can not be empty.",
            ));
        }
        Ok(Self {
            name,
            description: change(&body, "description")?,
            is_public: boolean(&body, "is_public")?,
        })
    }
}

/// `POST /groups` `{"group": {...}}`.
#[derive(Debug, Clone)]
pub struct CreateGroup {
    pub name: Option<String>,
    pub description: Option<String>,
    /// A group type's id or name.
    pub group_type: String,
    /// Volume types' ids or names, at least one.
    pub volume_types: Vec<String>,
    pub availability_zone: Option<String>,
}

impl TryFrom<Body> for CreateGroup {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        only(
            &body,
            &["name", "description", "group_type", "volume_types", "availability_zone"],
        )?;
        let volume_types = match body.get("volume_types") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|t| match t {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    v => Err(Error::bad_request(format!(
                        "Invalid input for field/attribute volume_types. Value: {v}. It is not a volume type"
                    ))),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => {
                return Err(Error::bad_request(
                    "Invalid input received: 'volume_types' must be a list of at least one volume type.",
                ))
            }
        };
        let mut seen = volume_types.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != volume_types.len() {
            return Err(Error::bad_request(
                "Invalid input received: 'volume_types' has duplicates.",
            ));
        }
        let availability_zone = text(&body, "availability_zone", false)?;
        if let Some(z) = availability_zone.as_deref().filter(|z| *z != super::ZONE) {
            return Err(Error::bad_request(format!(
                "Invalid input received: Availability zone '{z}' is invalid."
            )));
        }
        Ok(Self {
            name: text(&body, "name", false)?,
            description: text(&body, "description", false)?,
            group_type: text(&body, "group_type", true)?.unwrap_or_default(),
            volume_types,
            availability_zone,
        })
    }
}

/// `PUT /groups/{id}` `{"group": {...}}`.
#[derive(Debug, Clone, Default)]
pub struct UpdateGroup {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub add_volumes: Vec<String>,
    pub remove_volumes: Vec<String>,
}

impl TryFrom<Body> for UpdateGroup {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        only(&body, &["name", "description", "add_volumes", "remove_volumes"])?;
        let u = Self {
            name: change(&body, "name")?,
            description: change(&body, "description")?,
            add_volumes: id_list(&body, "add_volumes")?,
            remove_volumes: id_list(&body, "remove_volumes")?,
        };
        if u.name.is_none() && u.description.is_none() && u.add_volumes.is_empty() && u.remove_volumes.is_empty() {
            return Err(Error::bad_request(
                "Invalid input received: Name, description, add_volumes, and remove_volumes can not be all empty in the request body.",
            ));
        }
        if let Some(v) = u.add_volumes.iter().find(|v| u.remove_volumes.contains(v)) {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume {v} is in both add_volumes and remove_volumes."
            )));
        }
        Ok(u)
    }
}

/// Where `create-from-src` copies from.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupSource {
    Snapshot(String),
    Group(String),
}

/// `POST /groups/action` `{"create-from-src": {...}}`.
#[derive(Debug, Clone)]
pub struct CreateGroupFromSrc {
    pub source: GroupSource,
    pub name: Option<String>,
    pub description: Option<String>,
}

impl TryFrom<Body> for CreateGroupFromSrc {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        only(&body, &["group_snapshot_id", "source_group_id", "name", "description"])?;
        let source = match (
            text(&body, "group_snapshot_id", false)?,
            text(&body, "source_group_id", false)?,
        ) {
            (Some(s), None) => GroupSource::Snapshot(s),
            (None, Some(g)) => GroupSource::Group(g),
            _ => return Err(Error::bad_request(
                "Invalid input received: Either 'group_snapshot_id' or 'source_group_id' must be provided, not both.",
            )),
        };
        Ok(Self {
            source,
            name: text(&body, "name", false)?,
            description: text(&body, "description", false)?,
        })
    }
}

/// `POST /group_snapshots` `{"group_snapshot": {...}}`.
#[derive(Debug, Clone)]
pub struct CreateGroupSnapshot {
    pub group_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
}

impl TryFrom<Body> for CreateGroupSnapshot {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        only(&body, &["group_id", "name", "description"])?;
        Ok(Self {
            group_id: text(&body, "group_id", true)?.unwrap_or_default(),
            name: text(&body, "name", false)?,
            description: text(&body, "description", false)?,
        })
    }
}

/// `{"reset_status": {"status": ...}}`: any of the statuses, in any case.
pub fn reset_status(body: &Body) -> Result<GroupStatus> {
    only(body, &["status"])?;
    let s = opt_text(body, "status")?.unwrap_or_default().to_ascii_lowercase();
    s.parse()
        .map_err(|_| Error::bad_request(format!("Invalid input received: Must specify a valid status ({s}).")))
}

/// `{"delete": {"delete-volumes": bool}}`.
pub fn delete_volumes(body: &Body) -> Result<bool> {
    only(body, &["delete-volumes"])?;
    Ok(boolean(body, "delete-volumes")?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn group_bodies_are_checked_as_cinders_schemas() {
        let g = CreateGroup::try_from(body(json!({"group_type": "gt", "volume_types": ["a", "b"]}))).unwrap();
        assert_eq!(g.volume_types, ["a", "b"]);
        for bad in [
            json!({"group_type": "gt", "volume_types": []}),
            json!({"group_type": "gt", "volume_types": ["a", "a"]}),
            json!({"volume_types": ["a"]}),
            json!({"group_type": "gt", "volume_types": ["a"], "extra": 1}),
            json!({"group_type": "gt", "volume_types": ["a"], "availability_zone": "elsewhere"}),
        ] {
            assert!(CreateGroup::try_from(body(bad.clone())).is_err(), "{bad}");
        }
        let u = UpdateGroup::try_from(body(json!({"add_volumes": "v1, v2,", "remove_volumes": "v3"}))).unwrap();
        assert_eq!(u.add_volumes, ["v1", "v2"]);
        assert!(UpdateGroup::try_from(body(json!({}))).is_err());
        assert!(UpdateGroup::try_from(body(json!({"add_volumes": "v1", "remove_volumes": "v1"}))).is_err());
        assert!(CreateGroupFromSrc::try_from(body(json!({"name": "x"}))).is_err());
        assert!(CreateGroupFromSrc::try_from(body(json!({"group_snapshot_id": "a", "source_group_id": "b"}))).is_err());
        assert_eq!(
            reset_status(&body(json!({"status": "ERROR"}))).unwrap(),
            GroupStatus::Error
        );
        assert!(reset_status(&body(json!({"status": "in-use"}))).is_err());
        assert!(UpdateGroupType::try_from(body(json!({}))).is_err());
        assert!(delete_volumes(&body(json!({"delete-volumes": true}))).unwrap());
    }
}

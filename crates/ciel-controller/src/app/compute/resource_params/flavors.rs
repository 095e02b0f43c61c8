//! `/flavors` bodies: create, update (description), extra specs, tenant access actions.

use super::Body;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `POST /flavors` `{"flavor": {...}}`. Unknown fields are ignored, as before.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateFlavor {
    /// None: `auto` or not given, the flavor gets a UUID.
    pub id: Option<String>,
    pub name: String,
    pub ram: i64,
    pub vcpus: i64,
    pub disk: i64,
    /// `OS-FLV-EXT-DATA:ephemeral`.
    pub ephemeral: i64,
    pub swap: i64,
    pub rxtx_factor: f64,
    /// `os-flavor-access:is_public`, true unless given.
    pub is_public: bool,
    /// 2.55+.
    pub description: Option<String>,
}

/// An integer field of at least `min` (a number or a numeric string), at most 2^31-1.
fn int_field(body: &mut Body, field: &str, min: i64, default: Option<i64>) -> Result<i64> {
    let bad = || {
        Error::bad_request(format!(
            "Invalid input for field/attribute {field}. Value must be an integer >= {min}."
        ))
    };
    match body.remove(field) {
        None | Some(Value::Null) => default.ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid input for field/attribute flavor. '{field}' is a required property"
            ))
        }),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|v| *v >= min && *v <= i32::MAX as i64)
            .ok_or_else(bad),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= min && *v <= i32::MAX as i64)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// A flavor description: a string of up to 65535 characters, or null.
fn description(v: Option<Value>) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 65535 => Ok(Some(s)),
        Some(_) => Err(Error::bad_request("Invalid input for field/attribute description.")),
    }
}

fn name(v: Option<Value>) -> Result<String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 && s.trim() == s => Ok(s),
        _ => Err(Error::bad_request("Invalid input for field/attribute name. Value must be a 1 to 255 character string without leading or trailing spaces.")),
    }
}

fn id(v: Option<Value>) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "auto" => Ok(None),
        // Nova's schema takes numbers as ids, too (clients like Tempest send them).
        Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
        Some(Value::String(s))
            if !s.is_empty()
                && s.len() <= 255
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c))
                && s.trim() == s =>
        {
            Ok(Some(s))
        }
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute id. Value: {v}."
        ))),
    }
}

fn rxtx_factor(v: Option<Value>) -> Result<f64> {
    match v {
        None | Some(Value::Null) => Ok(1.0),
        Some(v) => v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|f| *f > 0.0)
            .ok_or_else(|| Error::bad_request("Invalid input for field/attribute rxtx_factor.")),
    }
}

fn is_public(v: Option<Value>) -> Result<bool> {
    match v {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::String(s)) if matches!(s.to_lowercase().as_str(), "true" | "1" | "yes") => Ok(true),
        Some(Value::String(s)) if matches!(s.to_lowercase().as_str(), "false" | "0" | "no") => Ok(false),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute os-flavor-access:is_public. Value: {v}."
        ))),
    }
}

impl TryFrom<Body> for CreateFlavor {
    type Error = Error;

    fn try_from(mut body: Body) -> Result<Self> {
        let name = name(body.remove("name"))?;
        let id = id(body.remove("id"))?;
        let rxtx_factor = rxtx_factor(body.remove("rxtx_factor"))?;
        let is_public = is_public(body.remove("os-flavor-access:is_public"))?;
        Ok(Self {
            id,
            name,
            ram: int_field(&mut body, "ram", 1, None)?,
            vcpus: int_field(&mut body, "vcpus", 1, None)?,
            disk: int_field(&mut body, "disk", 0, None)?,
            ephemeral: int_field(&mut body, "OS-FLV-EXT-DATA:ephemeral", 0, Some(0))?,
            swap: int_field(&mut body, "swap", 0, Some(0))?,
            rxtx_factor,
            is_public,
            description: description(body.remove("description"))?,
        })
    }
}

impl CreateFlavor {
    /// Before 2.55 a flavor has no description: one given is ignored.
    pub fn at_microversion(mut body: Body, minor: u16) -> Result<Self> {
        if minor < 55 {
            body.remove("description");
        }
        Self::try_from(body)
    }
}

/// `PUT /flavors/{id}` `{"flavor": {"description": ...}}` (2.55+): nothing else changes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateFlavor {
    pub description: Option<String>,
}

impl TryFrom<Body> for UpdateFlavor {
    type Error = Error;

    fn try_from(mut body: Body) -> Result<Self> {
        if !body.contains_key("description") || body.len() != 1 {
            return Err(Error::bad_request(
                "Invalid input for field/attribute flavor. Only 'description' can be updated.",
            ));
        }
        Ok(Self {
            description: description(body.remove("description"))?,
        })
    }
}

/// Extra spec keys Nova accepts.
fn valid_spec_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
}

/// A spec value: a string, or a number or boolean stored as its text; up to 255 characters.
fn spec_value(k: &str, v: &Value) -> Result<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute {k}. Value: {v} is not a string or number"
            )))
        }
    };
    if s.chars().count() > 255 {
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute {k}. Value is too long"
        )));
    }
    if k == IMAGES_TYPE_SPEC && !IMAGES_TYPES.contains(&s.as_str()) {
        return Err(Error::bad_request(format!(
            "Validation failed; {k} must be one of {}; got '{s}'.",
            IMAGES_TYPES.join(", ")
        )));
    }
    Ok(s)
}

/// The flavor extra spec that places root disks of servers booted from an image (Nova's
/// `[libvirt] images_type`, per flavor): `file` (a qcow2 overlay on the hypervisor) or `rbd`
/// (a clone in the Ceph cluster; only hosts reaching it are chosen). Without it, the host's
/// own `images_type` decides.
pub const IMAGES_TYPE_SPEC: &str = "ciel:images_type";
const IMAGES_TYPES: [&str; 2] = ["file", "rbd"];

/// Extra specs to set: `POST .../os-extra_specs` `{"extra_specs": {...}}`, or one item
/// through `PUT .../os-extra_specs/{key}` (see [`ExtraSpecs::item`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct ExtraSpecs(pub BTreeMap<String, String>);

impl TryFrom<Body> for ExtraSpecs {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        let mut out = BTreeMap::new();
        for (k, v) in &body {
            if !valid_spec_key(k) {
                return Err(Error::bad_request(format!("Invalid input for field/attribute extra_specs. Additional properties are not allowed ('{k}' was unexpected)")));
            }
            out.insert(k.clone(), spec_value(k, v)?);
        }
        Ok(Self(out))
    }
}

impl ExtraSpecs {
    /// `PUT .../os-extra_specs/{key}` with `{"KEY": "value"}`: exactly that one key.
    pub fn item(doc: Value, key: &str) -> Result<Self> {
        let Value::Object(doc) = doc else {
            return Err(Error::bad_request("Malformed request body"));
        };
        if doc.len() != 1 || !doc.contains_key(key) {
            return Err(Error::bad_request("Request body and URI mismatch"));
        }
        Self::try_from(doc)
    }
}

/// `POST /flavors/{id}/action`: `addTenantAccess` or `removeTenantAccess`, naming a project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum FlavorAccessAction {
    Add { tenant: String },
    Remove { tenant: String },
}

impl TryFrom<Value> for FlavorAccessAction {
    type Error = Error;

    fn try_from(doc: Value) -> Result<Self> {
        let (add, inner) = match (doc.get("addTenantAccess"), doc.get("removeTenantAccess")) {
            (Some(i), None) => (true, i),
            (None, Some(i)) => (false, i),
            _ => {
                return Err(Error::bad_request(
                    "Invalid flavor action: expected addTenantAccess or removeTenantAccess.",
                ))
            }
        };
        let tenant = inner
            .get("tenant")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::bad_request("Invalid input for field/attribute tenant."))?
            .to_string();
        Ok(if add {
            Self::Add { tenant }
        } else {
            Self::Remove { tenant }
        })
    }
}

impl FlavorAccessAction {
    pub fn tenant(&self) -> &str {
        match self {
            Self::Add { tenant } | Self::Remove { tenant } => tenant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn create_defaults_and_numbers() {
        let f =
            CreateFlavor::try_from(body(json!({"name": "f", "ram": "64", "vcpus": 1, "disk": 0, "id": 7}))).unwrap();
        assert_eq!(
            (f.id.as_deref(), f.ram, f.swap, f.rxtx_factor, f.is_public),
            (Some("7"), 64, 0, 1.0, true)
        );
        let auto = CreateFlavor::try_from(body(
            json!({"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "id": "auto"}),
        ));
        assert_eq!(auto.unwrap().id, None);
        let e = CreateFlavor::try_from(body(json!({"name": "f", "ram": 1, "vcpus": 1}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field/attribute flavor. 'disk' is a required property"
        );
        let e = CreateFlavor::try_from(body(json!({"name": "f", "ram": 0, "vcpus": 1, "disk": 0}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field/attribute ram. Value must be an integer >= 1."
        );
        let old = CreateFlavor::at_microversion(
            body(json!({"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "description": 5})),
            54,
        );
        assert_eq!(old.unwrap().description, None, "ignored before 2.55");
    }

    #[test]
    fn extra_specs_and_access() {
        let s = ExtraSpecs::try_from(body(json!({"hw:cpu_policy": "shared", "n": 4, "b": true}))).unwrap();
        assert_eq!(s.0.get("n").map(String::as_str), Some("4"));
        assert_eq!(s.0.get("b").map(String::as_str), Some("true"));
        assert_eq!(
            ExtraSpecs::try_from(body(json!({"bad/key": "v"})))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            ExtraSpecs::item(json!({"a": "1", "b": "2"}), "a")
                .unwrap_err()
                .to_string(),
            "Request body and URI mismatch"
        );
        assert!(ExtraSpecs::item(json!({"a": "1"}), "a").is_ok());
        let a: FlavorAccessAction = serde_json::from_value(json!({"removeTenantAccess": {"tenant": "p"}})).unwrap();
        assert_eq!(a, FlavorAccessAction::Remove { tenant: "p".into() });
        assert!(FlavorAccessAction::try_from(json!({"addTenantAccess": {"tenant": ""}})).is_err());
    }
}

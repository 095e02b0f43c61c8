//! `/os-aggregates` bodies: create, update, and the `add_host`, `remove_host`,
//! `set_metadata` actions.

use super::Body;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A string field of up to 255 characters: None when absent, Some(None) when null.
fn opt_string(b: &Body, k: &str) -> Result<Option<Option<String>>> {
    match b.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.chars().count() <= 255 => Ok(Some(Some(s.clone()))),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {k}. Value: {v}."
        ))),
    }
}

/// An aggregate name: not blank, up to 255 characters.
fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(Error::bad_request("Invalid input for field/attribute name."));
    }
    Ok(())
}

/// `POST /os-aggregates` `{"aggregate": {"name": ..., "availability_zone": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateAggregate {
    pub name: String,
    pub availability_zone: Option<String>,
}

impl TryFrom<Body> for CreateAggregate {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        let name = opt_string(&b, "name")?
            .flatten()
            .ok_or_else(|| Error::bad_request("Invalid input for field/attribute name."))?;
        let availability_zone = opt_string(&b, "availability_zone")?.flatten();
        check_name(&name)?;
        Ok(Self {
            name,
            availability_zone,
        })
    }
}

/// `PUT /os-aggregates/{id}` `{"aggregate": {...}}`: only what is given changes (a null
/// name is ignored, a null zone clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateAggregate {
    pub name: Option<String>,
    pub availability_zone: Option<Option<String>>,
}

impl TryFrom<Body> for UpdateAggregate {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        let name = opt_string(&b, "name")?.flatten();
        let availability_zone = opt_string(&b, "availability_zone")?;
        if let Some(n) = &name {
            check_name(n)?;
        }
        Ok(Self {
            name,
            availability_zone,
        })
    }
}

/// Metadata to merge into an aggregate's: a null value removes the key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct AggregateMetadata(pub BTreeMap<String, Option<String>>);

impl TryFrom<Body> for AggregateMetadata {
    type Error = Error;

    fn try_from(given: Body) -> Result<Self> {
        let mut out = BTreeMap::new();
        for (k, v) in given {
            match v {
                Value::Null => {
                    out.insert(k, None);
                }
                Value::String(s) if !k.is_empty() && k.len() <= 255 && s.len() <= 255 => {
                    out.insert(k, Some(s));
                }
                other => return Err(Error::bad_request(format!("Invalid metadata value for {k}: {other}"))),
            }
        }
        Ok(Self(out))
    }
}

/// `POST /os-aggregates/{id}/action`: exactly one action.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum AggregateAction {
    AddHost { host: String },
    RemoveHost { host: String },
    SetMetadata { metadata: AggregateMetadata },
}

impl TryFrom<Value> for AggregateAction {
    type Error = Error;

    fn try_from(doc: Value) -> Result<Self> {
        let doc = match doc {
            Value::Object(m) if m.len() == 1 => m,
            _ => {
                return Err(Error::bad_request(
                    "Malformed request body: expected exactly one action",
                ))
            }
        };
        let (action, args) = doc.into_iter().next().unwrap_or_default();
        let host = || {
            args.get("host")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::bad_request("Invalid input for field/attribute host."))
        };
        Ok(match action.as_str() {
            "add_host" => Self::AddHost { host: host()? },
            "remove_host" => Self::RemoveHost { host: host()? },
            "set_metadata" => {
                let m = args
                    .get("metadata")
                    .and_then(Value::as_object)
                    .cloned()
                    .ok_or_else(|| Error::bad_request("Invalid input for field/attribute metadata."))?;
                Self::SetMetadata {
                    metadata: AggregateMetadata::try_from(m)?,
                }
            }
            other => return Err(Error::bad_request(format!("There is no such action: {other}"))),
        })
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
    fn create_and_update() {
        let c = CreateAggregate::try_from(body(json!({"name": "a", "availability_zone": null}))).unwrap();
        assert_eq!((c.name.as_str(), c.availability_zone), ("a", None));
        for bad in [
            json!({}),
            json!({"name": " "}),
            json!({"name": 1}),
            json!({"name": "a", "availability_zone": 2}),
        ] {
            assert_eq!(
                CreateAggregate::try_from(body(bad.clone())).unwrap_err().status(),
                400,
                "{bad}"
            );
        }
        let u = UpdateAggregate::try_from(body(json!({"name": null, "availability_zone": null}))).unwrap();
        assert_eq!(
            u,
            UpdateAggregate {
                name: None,
                availability_zone: Some(None)
            }
        );
    }

    #[test]
    fn actions() {
        let a: AggregateAction = serde_json::from_value(json!({"add_host": {"host": "h"}})).unwrap();
        assert_eq!(a, AggregateAction::AddHost { host: "h".into() });
        let m = AggregateAction::try_from(json!({"set_metadata": {"metadata": {"a": "b", "c": null}}})).unwrap();
        let AggregateAction::SetMetadata { metadata } = m else {
            panic!("{m:?}")
        };
        assert_eq!(metadata.0.get("c"), Some(&None));
        let e = AggregateAction::try_from(json!({"explode": {}})).unwrap_err();
        assert_eq!(e.to_string(), "There is no such action: explode");
        let e = AggregateAction::try_from(json!({"set_metadata": {"metadata": {"a": 1}}})).unwrap_err();
        assert_eq!(e.to_string(), "Invalid metadata value for a: 1");
        assert!(AggregateAction::try_from(json!({"add_host": {}, "remove_host": {}})).is_err());
    }
}

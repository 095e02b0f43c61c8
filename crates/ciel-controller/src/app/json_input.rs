//! Readers of JSON request bodies shared by every service: a body is a JSON object from which
//! known fields are taken one by one (with the "Invalid input for field ..." texts OpenStack's
//! JSON-schema validation gives), and what is left may be kept as the resource's open "extra"
//! attributes.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// A JSON object as a request body (or the object under its resource key).
pub type Body = Map<String, Value>;

pub(crate) fn invalid(field: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid input for field '{field}': {why}"))
}

/// A string field; `None` when absent. `null` is rejected unless `nullable`.
pub fn opt_str(body: &mut Body, field: &str, max: usize, nullable: bool) -> Result<Option<String>> {
    match body.remove(field) {
        None => Ok(None),
        Some(Value::Null) if nullable => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > max {
                return Err(invalid(field, format!("'{s}' is too long")));
            }
            Ok(Some(s))
        }
        Some(v) => Err(invalid(field, format!("{v} is not of type 'string'"))),
    }
}

/// A required, non-empty, not-only-whitespace name.
pub fn name(body: &mut Body, field: &str, max: usize) -> Result<String> {
    match opt_str(body, field, max, false)? {
        None => Err(invalid(field, format!("'{field}' is a required property"))),
        Some(s) if s.trim().is_empty() => Err(invalid(field, format!("'{s}' does not match '[\\S]+'"))),
        Some(s) => Ok(s),
    }
}

/// An optional name on update: present means non-empty.
pub fn opt_name(body: &mut Body, field: &str, max: usize) -> Result<Option<String>> {
    match opt_str(body, field, max, false)? {
        Some(s) if s.trim().is_empty() => Err(invalid(field, format!("'{s}' does not match '[\\S]+'"))),
        other => Ok(other),
    }
}

pub fn opt_bool(body: &mut Body, field: &str) -> Result<Option<bool>> {
    match body.remove(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(v) => Err(invalid(field, format!("{v} is not of type 'boolean'"))),
    }
}

/// Rejects fields that must never be set by a client (e.g. `id` on update).
pub fn forbid(body: &Body, fields: &[&str]) -> Result<()> {
    for f in fields {
        if body.contains_key(*f) {
            return Err(Error::bad_request(format!(
                "Invalid input for field '{f}': additional properties are not allowed"
            )));
        }
    }
    Ok(())
}

/// Whatever is left of the body, merged over an existing `extra` object.
pub fn merge_extra(existing: &str, rest: Body) -> String {
    let mut base: Body = serde_json::from_str(existing).unwrap_or_default();
    for (k, v) in rest {
        if k == "links" {
            continue;
        }
        base.insert(k, v);
    }
    Value::Object(base).to_string()
}

/// A stored JSON object (extra attributes, properties); empty when it is not one.
pub fn extra_object(extra: &str) -> Body {
    serde_json::from_str(extra).unwrap_or_default()
}

/// A list of strings (tags and the like), each non-empty and at most `max` characters.
pub fn opt_str_list(body: &mut Body, field: &str, max: usize) -> Result<Option<Vec<String>>> {
    match body.remove(field) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() && s.chars().count() <= max => Ok(s),
                other => Err(invalid(field, format!("{other} is not a valid entry"))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(v) => Err(invalid(field, format!("{v} is not of type 'array'"))),
    }
}

//! The metadata schema Nova and Cinder share (`parameter_types.metadata`): keys of 1–255
//! characters out of letters, digits and `-_:. `, string values of up to 255 characters,
//! refused with the jsonschema texts both services answer.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// A value as shown in an error: at most 64 characters, escaped.
pub fn shown(s: &str) -> String {
    let mut out = s.chars().take(64).collect::<String>().escape_debug().to_string();
    if s.chars().count() > 64 {
        out.push_str("...");
    }
    out
}

/// The key pattern `^[a-zA-Z0-9-_:. ]{1,255}$`.
fn key_ok(k: &str) -> bool {
    !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:. ".contains(&b))
}

/// Checks every item of a metadata object against the schema.
pub fn check_items(m: &Map<String, Value>) -> Result<()> {
    for (k, v) in m {
        if !key_ok(k) {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute metadata. Value: {{...}}. Additional properties are not allowed ('{}' was unexpected)",
                shown(k)
            )));
        }
        match v {
            Value::String(s) if s.chars().count() <= 255 => {}
            Value::String(s) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute {}. Value: {}. '{}' is too long",
                    shown(k),
                    shown(s),
                    shown(s)
                )))
            }
            other => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute {}. Value: {}. {} is not of type 'string'",
                    shown(k),
                    shown(&other.to_string()),
                    shown(&other.to_string())
                )))
            }
        }
    }
    Ok(())
}

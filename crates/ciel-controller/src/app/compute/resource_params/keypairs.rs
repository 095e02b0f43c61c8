//! `POST /os-keypairs` `{"keypair": {...}}`: import (`public_key`) or generate; `type` from
//! 2.2, `user_id` (an admin creating one for another user) from 2.10.

use super::Body;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

/// What a key pair holds: an OpenSSH public key or an x509 certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeypairType {
    #[default]
    Ssh,
    X509,
}

impl KeypairType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssh => "ssh",
            Self::X509 => "x509",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateKeypair {
    pub name: String,
    pub kind: KeypairType,
    /// The owner, when given (2.10+); None: the caller.
    pub user_id: Option<String>,
    /// The key to import (trimmed); None: Ciel generates one and returns its private half.
    pub public_key: Option<String>,
}

fn invalid(reason: &str) -> Error {
    Error::bad_request(format!("Keypair data is invalid: {reason}"))
}

/// Nova's key pair name rule: 1–255 characters out of letters, digits, space, `_ - . @`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 255
        && name.trim() == name
        && name.chars().all(|c| c.is_ascii_alphanumeric() || " _-.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "Keypair name contains unsafe characters or has an invalid length",
        ))
    }
}

impl TryFrom<Body> for CreateKeypair {
    type Error = Error;

    fn try_from(mut body: Body) -> Result<Self> {
        let name = match body.remove("name") {
            Some(Value::String(s)) => s,
            _ => return Err(Error::bad_request("Invalid input for field/attribute name.")),
        };
        check_name(&name)?;
        let kind = match body.remove("type") {
            None | Some(Value::Null) => KeypairType::Ssh,
            Some(Value::String(t)) if t == "ssh" => KeypairType::Ssh,
            Some(Value::String(t)) if t == "x509" => KeypairType::X509,
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute type. Value: {v}."
                )))
            }
        };
        let user_id = match body.remove("user_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) => Some(u),
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute user_id. Value: {v}."
                )))
            }
        };
        let public_key = match body.remove("public_key") {
            Some(Value::String(k)) => Some(k.trim().to_string()),
            None | Some(Value::Null) => None,
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute public_key.")),
        };
        Ok(Self {
            name,
            kind,
            user_id,
            public_key,
        })
    }
}

impl CreateKeypair {
    /// `type` is refused before 2.2, `user_id` before 2.10.
    pub fn at_microversion(body: Body, minor: u16) -> Result<Self> {
        if minor < 2 && body.contains_key("type") {
            return Err(Error::bad_request(
                "Invalid input for field/attribute keypair. Additional properties are not allowed ('type' was unexpected)",
            ));
        }
        if minor < 10 && body.contains_key("user_id") {
            return Err(Error::bad_request("Invalid input for field/attribute keypair. Additional properties are not allowed ('user_id' was unexpected)"));
        }
        Self::try_from(body)
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
    fn names_types_and_versions() {
        assert!(check_name("my key-1_x.y@z").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("bad#name").is_err());
        assert!(check_name(&"a".repeat(256)).is_err());
        let k: CreateKeypair =
            serde_json::from_value(json!({"name": "k", "type": "x509", "public_key": " x "})).unwrap();
        assert_eq!(
            (k.kind, k.public_key.as_deref(), k.user_id),
            (KeypairType::X509, Some("x"), None)
        );
        let e = CreateKeypair::try_from(body(json!({"name": "k", "type": "pgp"}))).unwrap_err();
        assert_eq!(e.to_string(), "Invalid input for field/attribute type. Value: \"pgp\".");
        assert!(CreateKeypair::at_microversion(body(json!({"name": "k", "type": "ssh"})), 1).is_err());
        assert!(CreateKeypair::at_microversion(body(json!({"name": "k", "user_id": "u"})), 9).is_err());
        let k = CreateKeypair::at_microversion(body(json!({"name": "k", "user_id": "u"})), 10).unwrap();
        assert_eq!(k.user_id.as_deref(), Some("u"));
    }
}

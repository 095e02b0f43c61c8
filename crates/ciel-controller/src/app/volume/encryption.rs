//! Volume type encryption (`/types/{id}/encryption`, admin): which provider, cipher and key
//! size the volumes of a type are encrypted with. Ciel has no key manager yet to keep the
//! volumes' keys, so a volume of an encrypted type is refused (never made unencrypted);
//! the specs can be set, read and changed while no volume has the type, as in Cinder.

use crate::app::identity::caller::Caller;
use crate::app::json_input::{invalid, opt_str, Body};
use crate::app::App;
use crate::db::volume::encryption::{self as edb, TypeEncryption};
use crate::db::volume::{self as db, VolumeType};
use crate::error::{Error, Result};
use serde_json::Value;

/// `POST /types/{id}/encryption` and `PUT /types/{id}/encryption/{encryption_id}`
/// `{"encryption": {...}}`; on update, absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionSpecs {
    pub provider: Option<String>,
    /// `Some(None)`: set to null.
    pub cipher: Option<Option<String>>,
    pub key_size: Option<Option<i64>>,
    pub control_location: Option<String>,
}

impl EncryptionSpecs {
    /// Cinder's schema: `provider` (required on create), `cipher`, `key_size` (a
    /// non-negative integer, or its digits as a string), `control_location` (`front-end` or
    /// `back-end`); nothing else.
    pub fn parse(mut body: Body, create: bool) -> Result<Self> {
        let provider = opt_str(&mut body, "provider", 255, false)?;
        if create && provider.is_none() {
            return Err(invalid("provider", "'provider' is a required property"));
        }
        let cipher = match body.contains_key("cipher") {
            true => Some(opt_str(&mut body, "cipher", 255, true)?),
            false => None,
        };
        let key_size = match body.remove("key_size") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(k) if k >= 0 => Some(Some(k)),
                _ => return Err(invalid("key_size", format!("{n} is less than the minimum of 0"))),
            },
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Some(Some(
                s.parse()
                    .map_err(|_| invalid("key_size", format!("'{s}' is too large")))?,
            )),
            Some(v) => {
                return Err(invalid(
                    "key_size",
                    format!("{v} is not valid under any of the given schemas"),
                ))
            }
        };
        let control_location = opt_str(&mut body, "control_location", 255, false)?;
        if let Some(c) = control_location
            .as_deref()
            .filter(|c| !["front-end", "back-end"].contains(c))
        {
            return Err(invalid(
                "control_location",
                format!("'{c}' is not one of ['front-end', 'back-end']"),
            ));
        }
        if let Some(k) = body.keys().next() {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute encryption. Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
        Ok(Self {
            provider,
            cipher,
            key_size,
            control_location,
        })
    }
}

fn in_use(what: &str) -> Error {
    Error::bad_request(format!("Cannot {what} encryption specs. Volume type in use."))
}

impl App {
    async fn admin_type(&self, tx: &mut crate::db::Tx<'_>, caller: &Caller, id: &str) -> Result<VolumeType> {
        caller.require_admin()?;
        db::get_type(&mut **tx, id)
            .await?
            .ok_or_else(|| Error::not_found("volume type", id))
    }

    /// The type's encryption specs (None: not encrypted).
    pub async fn volume_type_encryption(&self, caller: &Caller, type_id: &str) -> Result<Option<TypeEncryption>> {
        let mut tx = self.begin().await?;
        self.admin_type(&mut tx, caller, type_id).await?;
        let e = edb::get(&mut *tx, type_id).await?;
        tx.commit().await?;
        Ok(e)
    }

    pub async fn create_volume_type_encryption(
        &self,
        caller: &Caller,
        type_id: &str,
        p: EncryptionSpecs,
    ) -> Result<TypeEncryption> {
        let mut tx = self.begin().await?;
        self.admin_type(&mut tx, caller, type_id).await?;
        if edb::get(&mut *tx, type_id).await?.is_some() {
            return Err(Error::bad_request(format!(
                "Volume type encryption for type {type_id} already exists."
            )));
        }
        if db::type_in_use(&mut *tx, type_id).await? {
            return Err(in_use("create"));
        }
        let e = TypeEncryption {
            volume_type_id: type_id.into(),
            encryption_id: uuid::Uuid::new_v4().to_string(),
            provider: p.provider.unwrap_or_default(),
            cipher: p.cipher.flatten(),
            key_size: p.key_size.flatten(),
            control_location: p.control_location.unwrap_or_else(|| "front-end".into()),
            created_at: crate::db::now(),
            updated_at: None,
        };
        edb::save(&mut *tx, &e).await?;
        tx.commit().await?;
        tracing::info!(volume_type = %type_id, provider = %e.provider, "volume type encryption set");
        Ok(e)
    }

    pub async fn update_volume_type_encryption(
        &self,
        caller: &Caller,
        type_id: &str,
        encryption_id: &str,
        p: EncryptionSpecs,
    ) -> Result<TypeEncryption> {
        let mut tx = self.begin().await?;
        self.admin_type(&mut tx, caller, type_id).await?;
        let mut e = edb::get(&mut *tx, type_id)
            .await?
            .filter(|e| e.encryption_id == encryption_id)
            .ok_or_else(|| Error::not_found("volume type encryption", encryption_id))?;
        if db::type_in_use(&mut *tx, type_id).await? {
            return Err(in_use("update"));
        }
        let EncryptionSpecs {
            provider,
            cipher,
            key_size,
            control_location,
        } = p;
        e.provider = provider.unwrap_or(e.provider);
        e.cipher = cipher.unwrap_or(e.cipher);
        e.key_size = key_size.unwrap_or(e.key_size);
        e.control_location = control_location.unwrap_or(e.control_location);
        e.updated_at = Some(crate::db::now());
        edb::save(&mut *tx, &e).await?;
        tx.commit().await?;
        Ok(e)
    }

    pub async fn delete_volume_type_encryption(
        &self,
        caller: &Caller,
        type_id: &str,
        encryption_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        self.admin_type(&mut tx, caller, type_id).await?;
        edb::get(&mut *tx, type_id)
            .await?
            .filter(|e| e.encryption_id == encryption_id)
            .ok_or_else(|| Error::not_found("volume type encryption", encryption_id))?;
        if db::type_in_use(&mut *tx, type_id).await? {
            return Err(in_use("delete"));
        }
        edb::delete(&mut *tx, type_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses a volume of an encrypted type: without a key manager Ciel cannot keep its
    /// key, and an unencrypted volume would break the type's promise.
    pub(crate) async fn refuse_encrypted(&self, tx: &mut crate::db::Tx<'_>, t: &VolumeType) -> Result<()> {
        match edb::get(&mut **tx, &t.id).await? {
            None => Ok(()),
            Some(e) => Err(Error::bad_request(format!(
                "Invalid volume type: volumes of type {} are encrypted ({}), and Ciel has no key manager to keep \
                 their keys yet; use a volume type without encryption.",
                t.name, e.provider
            ))),
        }
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
    fn specs_follow_cinders_schema() {
        let p = EncryptionSpecs::parse(
            body(json!({"provider": "luks", "key_size": "256", "cipher": null, "control_location": "back-end"})),
            true,
        )
        .unwrap();
        assert_eq!(p.provider.as_deref(), Some("luks"));
        assert_eq!(p.key_size, Some(Some(256)));
        assert_eq!(p.cipher, Some(None));
        assert_eq!(p.control_location.as_deref(), Some("back-end"));
        assert!(EncryptionSpecs::parse(body(json!({"key_size": 1})), true).is_err());
        assert!(EncryptionSpecs::parse(body(json!({"key_size": 1})), false).is_ok());
        for bad in [
            json!({"provider": "p", "key_size": -1}),
            json!({"provider": "p", "key_size": "12a"}),
            json!({"provider": "p", "control_location": "middle"}),
            json!({"provider": "p", "colour": "red"}),
            json!({"provider": 3}),
        ] {
            assert_eq!(
                EncryptionSpecs::parse(body(bad.clone()), true).unwrap_err().status(),
                400,
                "{bad}"
            );
        }
    }
}

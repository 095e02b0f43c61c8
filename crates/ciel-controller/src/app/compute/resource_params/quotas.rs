//! `PUT /os-quota-sets/{project}` and `PUT /os-quota-class-sets/{class}`: new limits by
//! resource name (-1: unlimited). Before 2.36 (quota sets) and 2.50 (quota classes) the
//! network quotas Nova then kept are taken too.

use super::Body;
use crate::app::compute::quotas::{DEFAULTS, LEGACY_NETWORK};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The limits of a body: known resources only, each an integer (or numeric string) >= -1.
/// `set` names the body in the error (`quota_set`, `quota_class_set`); `skip` is a field
/// that is taken and ignored.
fn limits(body: Body, set: &str, legacy: bool, skip: Option<&str>) -> Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for (k, v) in body {
        if Some(k.as_str()) == skip {
            continue;
        }
        let known = DEFAULTS.iter().any(|(r, _)| *r == k) || (legacy && LEGACY_NETWORK.iter().any(|(r, _)| *r == k));
        if !known {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute {set}. Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
        let limit = v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|l| *l >= -1)
            .ok_or_else(|| Error::bad_request(format!("Invalid input for field/attribute {k}. Value: {v}.")))?;
        out.insert(k, limit);
    }
    Ok(out)
}

/// `{"quota_set": {...}}`; `force` is accepted and ignored (Ciel checks no usage against a
/// lowered limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateQuotaSet {
    pub limits: BTreeMap<String, i64>,
}

impl TryFrom<Body> for UpdateQuotaSet {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Self::at_microversion(body, u16::MAX)
    }
}

impl UpdateQuotaSet {
    pub fn at_microversion(body: Body, minor: u16) -> Result<Self> {
        Ok(Self {
            limits: limits(body, "quota_set", minor < 36, Some("force"))?,
        })
    }
}

/// `{"quota_class_set": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateQuotaClassSet {
    pub limits: BTreeMap<String, i64>,
}

impl TryFrom<Body> for UpdateQuotaClassSet {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Self::at_microversion(body, u16::MAX)
    }
}

impl UpdateQuotaClassSet {
    pub fn at_microversion(body: Body, minor: u16) -> Result<Self> {
        Ok(Self {
            limits: limits(body, "quota_class_set", minor < 50, None)?,
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
    fn limits_by_version() {
        let q = UpdateQuotaSet::try_from(body(json!({"instances": "3", "cores": -1, "force": true}))).unwrap();
        assert_eq!(
            q.limits,
            BTreeMap::from([("cores".into(), -1), ("instances".into(), 3)])
        );
        let e = UpdateQuotaSet::try_from(body(json!({"floating_ips": 1}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field/attribute quota_set. Additional properties are not allowed ('floating_ips' was unexpected)"
        );
        assert!(UpdateQuotaSet::at_microversion(body(json!({"floating_ips": 1})), 35).is_ok());
        let e = UpdateQuotaSet::try_from(body(json!({"ram": -2}))).unwrap_err();
        assert_eq!(e.to_string(), "Invalid input for field/attribute ram. Value: -2.");
        assert!(UpdateQuotaClassSet::try_from(body(json!({"force": true}))).is_err());
        assert!(UpdateQuotaClassSet::at_microversion(body(json!({"fixed_ips": 1})), 49).is_ok());
        assert!(UpdateQuotaClassSet::at_microversion(body(json!({"fixed_ips": 1})), 50).is_err());
    }
}

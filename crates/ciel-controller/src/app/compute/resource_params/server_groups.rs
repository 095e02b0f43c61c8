//! `POST /os-server-groups` `{"server_group": {...}}`: `name` with `policy` and `rules` from
//! 2.64, with a one-item `policies` list before.

use super::Body;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Where a group's members may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupPolicy {
    /// All on one host.
    Affinity,
    /// Each on its own host (or at most `max_server_per_host` on one).
    AntiAffinity,
    /// Preferred, not insisted on.
    SoftAffinity,
    SoftAntiAffinity,
}

impl GroupPolicy {
    pub const ALL: [GroupPolicy; 4] = [
        Self::Affinity,
        Self::AntiAffinity,
        Self::SoftAffinity,
        Self::SoftAntiAffinity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Affinity => "affinity",
            Self::AntiAffinity => "anti-affinity",
            Self::SoftAffinity => "soft-affinity",
            Self::SoftAntiAffinity => "soft-anti-affinity",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::bad_request(format!("Invalid input for field/attribute policy. Value: {s}.")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateServerGroup {
    pub name: String,
    pub policy: GroupPolicy,
    /// The one rule Nova has (2.64+, anti-affinity only): at least 1.
    pub max_server_per_host: Option<i64>,
}

fn name(body: &mut Body) -> Result<String> {
    match body.remove("name") {
        Some(Value::String(n)) => Ok(n),
        _ => Err(Error::bad_request("Invalid input for field/attribute name.")),
    }
}

/// The checks both versions share, once the fields are taken out of the body.
fn build(body: Body, name: String, policy: &str, rules: Map<String, Value>) -> Result<CreateServerGroup> {
    if let Some(k) = body.keys().next() {
        return Err(Error::bad_request(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        )));
    }
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(Error::bad_request("Invalid input for field/attribute name."));
    }
    let policy = GroupPolicy::parse(policy)?;
    let mut max_server_per_host = None;
    if !rules.is_empty() {
        max_server_per_host = rules
            .get("max_server_per_host")
            .and_then(Value::as_i64)
            .filter(|n| *n >= 1 && policy == GroupPolicy::AntiAffinity && rules.len() == 1);
        if max_server_per_host.is_none() {
            return Err(Error::bad_request("Invalid input for field/attribute rules."));
        }
    }
    Ok(CreateServerGroup {
        name,
        policy,
        max_server_per_host,
    })
}

impl TryFrom<Body> for CreateServerGroup {
    type Error = Error;

    /// 2.64+: `policy` and optional `rules`.
    fn try_from(mut body: Body) -> Result<Self> {
        let name = name(&mut body)?;
        let policy = match body.remove("policy") {
            Some(Value::String(p)) => p,
            _ => return Err(Error::bad_request("Invalid input for field/attribute policy.")),
        };
        let rules = match body.remove("rules") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(r)) => r,
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute rules.")),
        };
        build(body, name, &policy, rules)
    }
}

impl CreateServerGroup {
    /// Before 2.64: `policies`, a list of exactly one policy.
    pub fn at_microversion(mut body: Body, minor: u16) -> Result<Self> {
        if minor >= 64 {
            return Self::try_from(body);
        }
        let name = name(&mut body)?;
        let policy = match body.remove("policies") {
            Some(Value::Array(p)) if p.len() == 1 && p[0].is_string() => p[0].as_str().unwrap_or_default().to_string(),
            _ => return Err(Error::bad_request("Invalid input for field/attribute policies.")),
        };
        build(body, name, &policy, Map::new())
    }

    /// The rules as stored and shown: `{}` or `{"max_server_per_host": N}`.
    pub fn rules_json(&self) -> Value {
        match self.max_server_per_host {
            Some(n) => serde_json::json!({ "max_server_per_host": n }),
            None => serde_json::json!({}),
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
    fn policy_rules_and_versions() {
        let g: CreateServerGroup = serde_json::from_value(
            json!({"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}),
        )
        .unwrap();
        assert_eq!((g.policy, g.max_server_per_host), (GroupPolicy::AntiAffinity, Some(2)));
        assert_eq!(g.rules_json().to_string(), r#"{"max_server_per_host":2}"#);
        for bad in [
            json!({"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}),
            json!({"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}),
            json!({"name": "g", "policy": "anti-affinity", "rules": {"other": 1}}),
            json!({"name": "g", "policy": "anti-affinity", "rules": 1}),
        ] {
            let e = CreateServerGroup::try_from(body(bad.clone())).unwrap_err();
            assert_eq!(e.to_string(), "Invalid input for field/attribute rules.", "{bad}");
        }
        let e = CreateServerGroup::try_from(body(json!({"name": "g", "policy": "near"}))).unwrap_err();
        assert_eq!(e.to_string(), "Invalid input for field/attribute policy. Value: near.");
        let e = CreateServerGroup::try_from(body(json!({"name": "g", "policy": "affinity", "x": 1}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Additional properties are not allowed ('x' was unexpected)"
        );
        let old = CreateServerGroup::at_microversion(body(json!({"name": "g", "policies": ["affinity"]})), 63);
        assert_eq!(old.unwrap().policy, GroupPolicy::Affinity);
        assert!(CreateServerGroup::at_microversion(body(json!({"name": "g", "policy": "affinity"})), 63).is_err());
        assert!(CreateServerGroup::at_microversion(body(json!({"name": " ", "policies": ["affinity"]})), 2).is_err());
    }
}

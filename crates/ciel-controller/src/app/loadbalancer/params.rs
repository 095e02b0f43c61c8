//! Typed requests of the load balancer API, read from JSON bodies with Octavia's (wsme's)
//! rules and texts: unknown keys are refused, numbers may come as decimal strings, `null`
//! on an optional field means "not given" (on updates: "back to the default").

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A JSON object read field by field; [`Fields::finish`] refuses whatever was not read.
pub struct Fields {
    arg: &'static str,
    map: Map<String, Value>,
    read: BTreeSet<String>,
}

fn bad(field: &str, value: &Value, reason: &str) -> Error {
    let shown = match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        other => other.to_string(),
    };
    Error::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: '{shown}'. {reason}"
    ))
}

impl Fields {
    pub fn new(arg: &'static str, body: Value) -> Result<Fields> {
        match body {
            Value::Object(map) => Ok(Fields {
                arg,
                map,
                read: BTreeSet::new(),
            }),
            other => Err(bad(arg, &other, "Value should be an object")),
        }
    }

    /// Whether the key is present (even as null).
    pub fn has(&self, k: &str) -> bool {
        self.map.contains_key(k)
    }

    /// Whether the key is present with an explicit null.
    pub fn map_has_null(&self, k: &str) -> bool {
        self.map.get(k).is_some_and(Value::is_null)
    }

    /// The raw value: None when absent or null.
    pub fn raw(&mut self, k: &str) -> Option<Value> {
        self.read.insert(k.to_string());
        self.map.get(k).filter(|v| !v.is_null()).cloned()
    }

    pub fn required(&mut self, k: &str) -> Result<Value> {
        self.raw(k)
            .ok_or_else(|| bad(k, &Value::Null, "Mandatory field missing."))
    }

    pub fn string(&mut self, k: &str, max: usize) -> Result<Option<String>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s)),
            Some(v @ Value::String(_)) => Err(bad(
                k,
                &v,
                &format!("Value should have a maximum character requirement of {max}"),
            )),
            Some(v) => Err(bad(k, &v, "Value should be string")),
        }
    }

    pub fn uuid(&mut self, k: &str) -> Result<Option<String>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::String(s)) if uuid::Uuid::try_parse(&s).is_ok() => Ok(Some(s)),
            Some(v) => Err(bad(k, &v, "Value should be UUID format")),
        }
    }

    pub fn int(&mut self, k: &str, min: i64, max: i64) -> Result<Option<i64>> {
        let Some(v) = self.raw(k) else { return Ok(None) };
        let n = match &v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| bad(k, &v, "Value should be integer"))?;
        if n < min {
            return Err(bad(k, &v, &format!("Value should be greater or equal to {min}")));
        }
        if n > max {
            return Err(bad(k, &v, &format!("Value should be lower or equal to {max}")));
        }
        Ok(Some(n))
    }

    pub fn port(&mut self, k: &str) -> Result<Option<u16>> {
        Ok(self.int(k, 1, 65535)?.map(|n| n as u16))
    }

    /// A boolean; an explicit null reads as false (wsme).
    pub fn bool(&mut self, k: &str) -> Result<Option<bool>> {
        if self.map.get(k).is_some_and(Value::is_null) {
            self.read.insert(k.to_string());
            return Ok(Some(false));
        }
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(v @ Value::String(_)) => match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("true" | "1" | "yes" | "on" | "y" | "t") => Ok(Some(true)),
                Some("false" | "0" | "no" | "off" | "n" | "f") => Ok(Some(false)),
                _ => Err(bad(k, &v, "Value should be boolean")),
            },
            Some(v) => Err(bad(k, &v, "Value should be boolean")),
        }
    }

    pub fn one_of(&mut self, k: &str, allowed: &[&str]) -> Result<Option<String>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(v) => Err(bad(k, &v, &format!("Value should be one of: {}", allowed.join(", ")))),
        }
    }

    pub fn ip(&mut self, k: &str) -> Result<Option<String>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::String(s)) if s.parse::<std::net::IpAddr>().is_ok() => Ok(Some(s)),
            Some(v) => Err(bad(k, &v, "Value should be IPv4 or IPv6 format")),
        }
    }

    pub fn strings(&mut self, k: &str, max: usize) -> Result<Option<Vec<String>>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) if s.chars().count() <= max => Ok(s),
                    other => Err(bad(k, &other, "Value should be a list of strings")),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Err(bad(k, &v, "Value should be a list")),
        }
    }

    pub fn tags(&mut self) -> Result<Option<Vec<String>>> {
        self.strings("tags", 255)
    }

    /// `allowed_cidrs`, normalised to their networks as Octavia renders them.
    pub fn cidrs(&mut self, k: &str) -> Result<Option<Vec<String>>> {
        let Some(list) = self.strings(k, 64)? else {
            return Ok(None);
        };
        list.into_iter()
            .map(|c| {
                c.parse::<ipnet::IpNet>()
                    .map(|n| n.trunc().to_string())
                    .map_err(|_| bad(k, &Value::String(c.clone()), "Value should be IPv4 or IPv6 CIDR format"))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    pub fn string_map(&mut self, k: &str) -> Result<Option<BTreeMap<String, String>>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Object(m)) => m
                .into_iter()
                .map(|(key, v)| match v {
                    Value::String(s) if s.len() <= 255 => Ok((key, s)),
                    Value::Bool(b) => Ok((key, b.to_string())),
                    other => Err(bad(k, &other, "Value should be a string")),
                })
                .collect::<Result<BTreeMap<_, _>>>()
                .map(Some),
            Some(v) => Err(bad(k, &v, "Value should be a dict")),
        }
    }

    /// A nested object read with its own rules.
    pub fn object(&mut self, k: &str, arg: &'static str) -> Result<Option<Fields>> {
        self.raw(k).map(|v| Fields::new(arg, v)).transpose()
    }

    pub fn objects(&mut self, k: &str, arg: &'static str) -> Result<Option<Vec<Fields>>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| Fields::new(arg, v))
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Err(bad(k, &v, "Value should be a list")),
        }
    }

    /// The object back as JSON (for a nested object read by another type's rules).
    pub fn into_value(self) -> Value {
        Value::Object(self.map)
    }

    /// Refuses keys that were not read: Octavia's `Unknown attribute for argument …`.
    pub fn finish(self) -> Result<()> {
        let unknown: Vec<&String> = self.map.keys().filter(|k| !self.read.contains(*k)).collect();
        match unknown.as_slice() {
            [] => Ok(()),
            [one] => Err(Error::bad_request(format!(
                "Unknown attribute for argument {}: {one}",
                self.arg
            ))),
            many => Err(Error::bad_request(format!(
                "Unknown attributes for argument {}: {}",
                self.arg,
                many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

/// An update's value for a resettable field: absent, set, or reset to the default (null).
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    Keep,
    Reset,
    Set(T),
}

impl<T> Change<T> {
    pub fn read(f: &mut Fields, k: &str, get: impl FnOnce(&mut Fields) -> Result<Option<T>>) -> Result<Change<T>> {
        let present = f.has(k);
        Ok(match get(f)? {
            Some(v) => Change::Set(v),
            None if present => Change::Reset,
            None => Change::Keep,
        })
    }

    /// Applies to `slot`, with `default` for a reset.
    pub fn apply(self, slot: &mut T, default: T) {
        match self {
            Change::Keep => {}
            Change::Reset => *slot = default,
            Change::Set(v) => *slot = v,
        }
    }
}

pub const LISTENER_PROTOCOLS: &[&str] = &["TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"];
pub const POOL_PROTOCOLS: &[&str] = &["TCP", "HTTP", "HTTPS", "PROXY", "PROXYV2", "UDP", "SCTP"];
pub const ALGORITHMS: &[&str] = &["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"];
pub const PERSISTENCE: &[&str] = &["SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"];
pub const MONITOR_TYPES: &[&str] = &["HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"];
pub const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH",
];
/// The longest timeout Octavia takes (24 days, in ms).
pub const MAX_TIMEOUT: i64 = 2_073_600_000;

/// Octavia's listener ↔ pool protocol map.
pub fn pool_fits_listener(listener: &str, pool: &str) -> bool {
    let allowed: &[&str] = match listener {
        "TCP" => &["HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"],
        "HTTP" | "TERMINATED_HTTPS" => &["HTTP", "PROXY", "PROXYV2"],
        "HTTPS" => &["HTTPS", "PROXY", "PROXYV2", "TCP"],
        "UDP" => &["UDP"],
        "SCTP" => &["SCTP"],
        _ => &[],
    };
    allowed.contains(&pool)
}

pub fn check_pool_fits(listener: &str, pool: &str) -> Result<()> {
    if pool_fits_listener(listener, pool) {
        Ok(())
    } else {
        Err(super::invalid(format!(
            "The pool protocol '{pool}' is invalid while the listener protocol is '{listener}'."
        )))
    }
}

/// The transport class of a protocol (two listeners of one class cannot share a port).
pub fn l4(protocol: &str) -> &'static str {
    match protocol {
        "UDP" => "UDP",
        "SCTP" => "SCTP",
        _ => "TCP",
    }
}

/// Octavia's `expected_codes` pattern: `200`, `200,202`, `200-204`.
pub fn valid_expected_codes(s: &str) -> bool {
    let code = |c: &str| c.len() == 3 && c.chars().all(|d| d.is_ascii_digit());
    if let Some((a, b)) = s.split_once('-') {
        return code(a) && code(b);
    }
    s.split(',').all(|c| code(c.trim()))
}

/// Octavia's URL path type: starts with `/`, no whitespace or control characters.
pub fn valid_url_path(s: &str) -> bool {
    s.starts_with('/') && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A DNS name as Octavia's `domain_name` takes it.
pub fn valid_domain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_like_wsme() {
        let mut f = Fields::new(
            "listener_",
            json!({"protocol_port": "80", "admin_state_up": null, "x": 1}),
        )
        .unwrap();
        assert_eq!(f.port("protocol_port").unwrap(), Some(80));
        assert_eq!(f.bool("admin_state_up").unwrap(), Some(false));
        let e = f.finish().unwrap_err().to_string();
        assert_eq!(e, "Unknown attribute for argument listener_: x");
        let mut f = Fields::new("pool", json!({"protocol": "FOO"})).unwrap();
        let e = f.one_of("protocol", POOL_PROTOCOLS).unwrap_err().to_string();
        assert!(
            e.starts_with("Invalid input for field/attribute protocol. Value: 'FOO'. Value should be one of:"),
            "{e}"
        );
        let mut f = Fields::new("m", json!({"protocol_port": 0})).unwrap();
        assert!(f
            .port("protocol_port")
            .unwrap_err()
            .to_string()
            .contains("greater or equal to 1"));
    }

    #[test]
    fn octavia_value_rules() {
        assert!(valid_expected_codes("200"));
        assert!(valid_expected_codes("200, 202"));
        assert!(valid_expected_codes("200-204"));
        assert!(!valid_expected_codes("2000"));
        assert!(!valid_expected_codes("200\nbind"));
        assert!(valid_url_path("/health?x=1"));
        assert!(!valid_url_path("/a b"));
        assert!(!valid_url_path("http://x/"));
        assert!(valid_domain_name("www.example.com"));
        assert!(!valid_domain_name("a b"));
        assert!(pool_fits_listener("TCP", "PROXYV2"));
        assert!(!pool_fits_listener("HTTP", "TCP"));
    }
}

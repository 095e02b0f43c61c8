//! What a storage backend offers (Cinder's capabilities) and whether a volume type's extra
//! specs ask for something it lacks, with the operators of Cinder's CapabilitiesFilter: a
//! type asking for `multiattach: "<is> True"` or another vendor gets no backend, and its
//! volumes go to `error` with a user message, as in Cinder.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const VENDOR: &str = "Open Source";
pub const DRIVER_VERSION: &str = "1.0.0";

/// How a guest reaches the backend's data: QEMU opens the host's files or logical volumes
/// itself, and Ceph images through librbd.
pub fn protocol(backend: &str) -> &'static str {
    if backend == "rbd" {
        "ceph"
    } else {
        "local"
    }
}

/// The capabilities every pool of `backend` reports (capacity figures are the pool's own).
pub fn of_backend(backend: &str) -> Map<String, Value> {
    let v = json!({
        "volume_backend_name": backend, "vendor_name": VENDOR, "driver_version": DRIVER_VERSION,
        "storage_protocol": protocol(backend), "QoS_support": true, "reserved_percentage": 0,
        "thin_provisioning_support": true, "thick_provisioning_support": false, "multiattach": false,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Whether `backend` satisfies every extra spec that speaks of capabilities: unscoped keys
/// and `capabilities:` ones (other scopes, such as `RESKEY:` or `ciel:`, are for others). A
/// key the backend does not report fails it, as in Cinder.
pub fn satisfies(extra_specs: &BTreeMap<String, String>, backend: &str) -> bool {
    let caps = Value::Object(of_backend(backend));
    extra_specs.iter().all(|(key, req)| {
        let mut path: Vec<&str> = key.split(':').collect();
        if path.len() > 1 {
            if path[0] != "capabilities" {
                return true;
            }
            path.remove(0);
        }
        let mut cap = &caps;
        for p in path {
            match cap.get(p) {
                Some(c) => cap = c,
                None => return false,
            }
        }
        match cap {
            Value::Array(items) => items.iter().any(|c| matches(c, req)),
            c => matches(c, req),
        }
    })
}

/// Python's `str()` of a capability, for the string operators.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        v => Some(v.to_string()),
    }
}

fn number(v: &str) -> Option<f64> {
    v.trim().parse().ok()
}

fn boolean(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// One extra spec against one capability value (Cinder's `extra_specs_ops.match`): a
/// requirement without an operator is the whole string, equal to a string capability; with
/// one, only its first argument counts (`<or>` takes them all).
fn matches(value: &Value, req: &str) -> bool {
    let words: Vec<&str> = req.split_whitespace().collect();
    const OPS: &[&str] = &[
        "=", "<in>", "<is>", "<or>", "==", "!=", ">=", "<=", "s==", "s!=", "s<", "s<=", "s>", "s>=",
    ];
    let Some(op) = words.first().copied().filter(|w| OPS.contains(w)) else {
        return matches!(value, Value::String(s) if s == req);
    };
    let Some(v) = text(value) else {
        return false;
    };
    if op == "<or>" {
        return words[1..].iter().filter(|w| **w != "<or>").any(|w| *w == v);
    }
    let Some(arg) = words.get(1).copied() else {
        return false;
    };
    let num = |f: fn(f64, f64) -> bool| number(&v).zip(number(arg)).is_some_and(|(a, b)| f(a, b));
    match op {
        "=" | ">=" => num(|a, b| a >= b),
        "==" => num(|a, b| a == b),
        "!=" => num(|a, b| a != b),
        "<=" => num(|a, b| a <= b),
        "<in>" => v.contains(arg),
        "<is>" => boolean(&v).zip(boolean(arg)).is_some_and(|(a, b)| a == b),
        "s==" => v == arg,
        "s!=" => v != arg,
        "s<" => v.as_str() < arg,
        "s<=" => v.as_str() <= arg,
        "s>" => v.as_str() > arg,
        _ => v.as_str() >= arg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn extra_specs_match_as_in_cinders_filter() {
        assert!(satisfies(&specs(&[]), "file"));
        assert!(satisfies(
            &specs(&[("vendor_name", "Open Source"), ("storage_protocol", "local")]),
            "file"
        ));
        assert!(satisfies(&specs(&[("storage_protocol", "ceph")]), "rbd"));
        assert!(!satisfies(&specs(&[("storage_protocol", "ceph")]), "file"));
        assert!(!satisfies(&specs(&[("vendor_name", "tempest-vendor_name-1")]), "file"));
        // A capability the backend does not report fails it; other scopes are not ours.
        assert!(!satisfies(&specs(&[("replication_enabled", "<is> True")]), "file"));
        assert!(satisfies(
            &specs(&[("RESKEY:availability_zones", "az1"), ("ciel:x", "y")]),
            "file"
        ));
        assert!(satisfies(&specs(&[("capabilities:volume_backend_name", "lvm")]), "lvm"));
        assert!(!satisfies(&specs(&[("multiattach", "<is> True")]), "file"));
        assert!(satisfies(&specs(&[("thin_provisioning_support", "<is> True")]), "file"));
        // A bool capability is not the string "True" without an operator.
        assert!(!satisfies(&specs(&[("QoS_support", "True")]), "file"));
        assert!(satisfies(
            &specs(&[("storage_protocol", "<or> iSCSI <or> local")]),
            "lvm"
        ));
        assert!(satisfies(&specs(&[("driver_version", "s>= 1.0")]), "file"));
        assert!(satisfies(&specs(&[("reserved_percentage", "<= 10")]), "file"));
        assert!(!satisfies(&specs(&[("reserved_percentage", ">= 10")]), "file"));
        assert!(satisfies(&specs(&[("vendor_name", "<in> Open")]), "file"));
    }
}

//! Octavia's list parameters, applied to rendered objects: exact-match filters on any
//! attribute (400 for an unknown one), tag filters, `sort`/`sort_key`/`sort_dir`,
//! `limit`/`marker`/`page_reverse` with `<resources>_links`, and `fields`.

use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

const RESERVED: &[&str] = &[
    "limit",
    "marker",
    "sort",
    "sort_key",
    "sort_dir",
    "fields",
    "page_reverse",
];
const TAG_FILTERS: &[&str] = &["tags", "tags-any", "not-tags", "not-tags-any"];
const MAX_LIMIT: usize = 1000;

pub type Query = Vec<(String, String)>;

pub fn parse(raw: Option<&str>) -> Result<Query> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| Error::bad_request("One or more arguments are either duplicate or invalid"))
}

pub fn param<'a>(q: &'a Query, k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

pub fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on" | "y" | "t")
}

/// The requested `fields` (repeated or comma-separated).
pub fn fields(q: &Query) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == "fields")
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Only the named attributes (all when none are named).
pub fn select(v: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return v;
    }
    let Value::Object(m) = v else { return v };
    let out: Map<String, Value> = m.into_iter().filter(|(k, _)| fields.contains(k)).collect();
    Value::Object(out)
}

/// Whether `v` (an attribute's value) equals the filter text; lists of `{id}` match
/// any of their ids (`loadbalancer_id` against `loadbalancers`).
fn matches(v: &Value, want: &str) -> bool {
    match v {
        Value::Null => want.is_empty() || want == "None",
        Value::Bool(b) => *b == truthy(want),
        Value::String(s) => s == want,
        Value::Number(n) => n.to_string() == want,
        Value::Array(items) => items.iter().any(|i| i.get("id").and_then(Value::as_str) == Some(want)),
        _ => false,
    }
}

fn tags_of(v: &Value) -> Vec<&str> {
    v.get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn values(q: &Query, k: &str) -> Vec<String> {
    q.iter()
        .filter(|(n, _)| n == k)
        .flat_map(|(_, v)| v.split(','))
        .map(str::to_string)
        .collect()
}

/// Keys a filter may name that are rendered under another name.
fn attribute(key: &str) -> &str {
    match key {
        "loadbalancer_id" => "loadbalancers",
        "listener_id" => "listeners",
        "pool_id" => "pools",
        other => other,
    }
}

fn sort_keys(q: &Query) -> Result<Vec<(String, bool)>> {
    let mut out = vec![];
    if let Some(s) = param(q, "sort") {
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (k, d) = part.split_once(':').unwrap_or((part, "asc"));
            out.push((k.to_string(), direction(d)?));
        }
    } else if let Some(keys) = param(q, "sort_key") {
        let dirs: Vec<&str> = param(q, "sort_dir").map(|d| d.split(',').collect()).unwrap_or_default();
        for (i, k) in keys.split(',').enumerate() {
            out.push((k.to_string(), direction(dirs.get(i).copied().unwrap_or("asc"))?));
        }
    }
    Ok(out)
}

fn direction(d: &str) -> Result<bool> {
    match d {
        "asc" => Ok(true),
        "desc" => Ok(false),
        other => Err(Error::bad_request(format!(
            "Supplied sort direction '{other}' is not valid."
        ))),
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// A list answer: `{key: [...], links_key: [...]}` after filtering, sorting and paging.
/// `items` are in the default order (creation); `path` is the list's URL for the links.
pub fn list(items: Vec<Value>, q: &Query, key: &str, links_key: &str, path: &str, extra_ok: &[&str]) -> Result<Value> {
    let mut items = items;
    for (k, want) in q.iter() {
        if RESERVED.contains(&k.as_str()) || TAG_FILTERS.contains(&k.as_str()) || extra_ok.contains(&k.as_str()) {
            continue;
        }
        // The key itself when objects have it (an L7 policy's `listener_id`), else the
        // attribute it names (a pool's `listeners` for `listener_id`).
        let attr = if items.iter().any(|v| v.get(k.as_str()).is_some()) {
            k.as_str()
        } else {
            attribute(k)
        };
        if !items.is_empty() && items.iter().all(|v| v.get(attr).is_none()) {
            return Err(Error::bad_request(
                "One or more arguments are either duplicate or invalid",
            ));
        }
        if items.is_empty() && !KNOWN_FILTERS.contains(&k.as_str()) {
            return Err(Error::bad_request(
                "One or more arguments are either duplicate or invalid",
            ));
        }
        items.retain(|v| v.get(attr).is_some_and(|x| matches(x, want)));
    }
    let (all, any, not_all, not_any) = (
        values(q, "tags"),
        values(q, "tags-any"),
        values(q, "not-tags"),
        values(q, "not-tags-any"),
    );
    items.retain(|v| {
        let t = tags_of(v);
        (all.is_empty() || all.iter().all(|x| t.contains(&x.as_str())))
            && (any.is_empty() || any.iter().any(|x| t.contains(&x.as_str())))
            && (not_all.is_empty() || !not_all.iter().all(|x| t.contains(&x.as_str())))
            && (not_any.is_empty() || !not_any.iter().any(|x| t.contains(&x.as_str())))
    });
    let keys = sort_keys(q)?;
    for (k, _) in &keys {
        if items.first().is_some_and(|v| v.get(k).is_none()) {
            return Err(Error::bad_request(format!("Supplied sort key '{k}' is not valid.")));
        }
    }
    if !keys.is_empty() {
        items.sort_by(|a, b| {
            for (k, asc) in &keys {
                let o = compare(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null));
                let o = if *asc { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let reverse = param(q, "page_reverse") == Some("True");
    if reverse {
        items.reverse();
    }
    let limit = match param(q, "limit") {
        None => MAX_LIMIT,
        Some("infinite") => usize::MAX,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n < 1 => usize::MAX,
            Ok(n) => (n as usize).min(MAX_LIMIT),
            Err(_) => {
                return Err(Error::bad_request(format!(
                    "Supplied pagination limit '{l}' is not valid."
                )))
            }
        },
    };
    let marker = param(q, "marker");
    if let Some(m) = marker {
        let Some(i) = items
            .iter()
            .position(|v| v.get("id").and_then(Value::as_str) == Some(m))
        else {
            return Err(Error::bad_request(format!(
                "Supplied pagination marker '{m}' is not valid."
            )));
        };
        items.drain(..=i);
    }
    let full = items.len() > limit;
    items.truncate(limit);
    if reverse {
        items.reverse();
    }
    let mut links = vec![];
    if full && param(q, "limit").is_some() {
        if let Some(last) = items.last().and_then(|v| v.get("id")).and_then(Value::as_str) {
            links.push(json!({"rel": "next", "href": format!("{path}?limit={limit}&marker={last}")}));
        }
    }
    if let (Some(_), Some(first)) = (marker, items.first().and_then(|v| v.get("id")).and_then(Value::as_str)) {
        links
            .push(json!({"rel": "previous", "href": format!("{path}?limit={limit}&marker={first}&page_reverse=True")}));
    }
    let f = fields(q);
    let items: Vec<Value> = items.into_iter().map(|v| select(v, &f)).collect();
    Ok(json!({ key: items, links_key: links }))
}

/// Filters accepted on an empty list (when no object shows which attributes exist).
const KNOWN_FILTERS: &[&str] = &[
    "id",
    "name",
    "description",
    "project_id",
    "tenant_id",
    "admin_state_up",
    "provisioning_status",
    "operating_status",
    "loadbalancer_id",
    "listener_id",
    "pool_id",
    "protocol",
    "protocol_port",
    "lb_algorithm",
    "address",
    "subnet_id",
    "weight",
    "type",
    "vip_address",
    "vip_port_id",
    "vip_subnet_id",
    "vip_network_id",
    "provider",
    "flavor_id",
    "availability_zone",
    "enabled",
    "provider_name",
    "delay",
    "timeout",
    "max_retries",
    "max_retries_down",
    "http_method",
    "url_path",
    "expected_codes",
    "default_pool_id",
    "connection_limit",
    "monitor_address",
    "monitor_port",
    "backup",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        (0..5)
            .map(|i| {
                json!({"id": format!("id{i}"), "name": format!("n{}", 4 - i), "admin_state_up": i % 2 == 0,
                            "tags": if i < 2 { json!(["a", "b"]) } else { json!(["b"]) },
                            "loadbalancers": [{"id": "lb1"}]})
            })
            .collect()
    }

    fn q(s: &str) -> Query {
        parse(Some(s)).unwrap()
    }

    #[test]
    fn filters_sorting_paging_and_fields() {
        let v = list(items(), &q("admin_state_up=true"), "xs", "xs_links", "/p", &[]).unwrap();
        assert_eq!(v["xs"].as_array().unwrap().len(), 3);
        let v = list(items(), &q("loadbalancer_id=lb1&tags=a,b"), "xs", "xs_links", "/p", &[]).unwrap();
        assert_eq!(v["xs"].as_array().unwrap().len(), 2);
        let v = list(items(), &q("not-tags-any=a"), "xs", "xs_links", "/p", &[]).unwrap();
        assert_eq!(v["xs"].as_array().unwrap().len(), 3);
        let v = list(items(), &q("sort=name:asc&limit=2"), "xs", "xs_links", "/p", &[]).unwrap();
        assert_eq!(v["xs"][0]["name"], "n0");
        assert_eq!(v["xs_links"][0]["href"], "/p?limit=2&marker=id3");
        let v = list(
            items(),
            &q("sort=name:asc&limit=2&marker=id3"),
            "xs",
            "xs_links",
            "/p",
            &[],
        )
        .unwrap();
        assert_eq!(v["xs"][0]["id"], "id2");
        let v = list(items(), &q("fields=id&fields=name"), "xs", "xs_links", "/p", &[]).unwrap();
        assert_eq!(v["xs"][0].as_object().unwrap().len(), 2);
        assert!(list(items(), &q("bogus=1"), "xs", "xs_links", "/p", &[]).is_err());
        assert!(list(items(), &q("sort=nope:asc"), "xs", "xs_links", "/p", &[]).is_err());
        assert!(list(items(), &q("sort=name:up"), "xs", "xs_links", "/p", &[]).is_err());
        assert!(list(items(), &q("marker=zzz"), "xs", "xs_links", "/p", &[]).is_err());
    }
}

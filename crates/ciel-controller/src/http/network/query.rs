//! Neutron's collection conventions, shared by every resource: filters on any attribute
//! (repeated keys mean "any of"), `fields=` selection, `sort_key`/`sort_dir`, and
//! `limit`/`marker`/`page_reverse` paging with `<collection>_links`.

use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

const CONTROL: &[&str] = &["fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"];

pub struct ListQuery {
    params: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(raw: Option<&str>) -> Result<Self> {
        let params = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| Error::bad_request(format!("Invalid query string: {e}")))?;
        Ok(Self { params })
    }

    /// The values given for `key` (a repeated key means any of them).
    pub fn values(&self, key: &str) -> Vec<&str> {
        self.all(key)
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Selected fields of one resource (all when `fields` is absent).
    pub fn select(&self, item: Value) -> Value {
        let fields = self.all("fields");
        match (fields.is_empty(), item) {
            (false, Value::Object(m)) => Value::Object(
                m.into_iter()
                    .filter(|(k, _)| fields.contains(&k.as_str()))
                    .collect::<Map<_, _>>(),
            ),
            (_, v) => v,
        }
    }

    /// When the listing is a page in Neutron's default order (by id, `limit` given, no other
    /// sort, not reversed): the marker and the limit, so the page can be read from the
    /// table's primary key, continuing after the marker, instead of from the whole table.
    pub fn keyset(&self) -> Result<Option<(Option<&str>, usize)>> {
        let Some(l) = self.all("limit").first().copied() else {
            return Ok(None);
        };
        let limit = l
            .parse::<usize>()
            .map_err(|_| Error::bad_request(format!("Invalid limit: {l}")))?;
        let by_id = self.all("sort_key").iter().all(|k| *k == "id")
            && self.all("sort_dir").iter().all(|d| *d == "asc")
            && self.all("sort_key").len() <= 1;
        let reverse = self
            .all("page_reverse")
            .first()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok((limit > 0 && by_id && !reverse).then(|| (self.all("marker").first().copied(), limit)))
    }

    /// Whether an item passes the query's filters.
    pub fn matches(&self, item: &Value) -> bool {
        let mut keys: Vec<&str> = self
            .params
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !CONTROL.contains(k))
            .collect();
        keys.dedup();
        keys.into_iter().all(|k| {
            let wanted = self.all(k);
            if let Some(m) = tag_filter(k, item, &wanted) {
                return m;
            }
            match item.get(k) {
                None => true, // unknown attributes are ignored, as in Neutron
                Some(have) => wanted.iter().any(|w| value_eq(have, w)),
            }
        })
    }

    /// Filters, sorts and pages rendered items, returning the response body.
    pub fn collection(&self, key: &str, base_url: &str, items: Vec<Value>) -> Result<Value> {
        let mut items: Vec<Value> = items.into_iter().filter(|i| self.matches(i)).collect();
        let keys = self.all("sort_key");
        let dirs = self.all("sort_dir");
        if dirs.len() > keys.len() {
            return Err(Error::bad_request("The number of sort_keys and sort_dirs must be same"));
        }
        let mut order: Vec<(String, bool)> = vec![];
        for (i, k) in keys.iter().enumerate() {
            let desc = match dirs.get(i).copied().unwrap_or("asc") {
                "asc" => false,
                "desc" => true,
                other => return Err(Error::bad_request(format!("{other} is an invalid value for sort_dir"))),
            };
            if items.first().is_some_and(|i| i.get(*k).is_none()) {
                return Err(Error::bad_request(format!("{k} is an invalid attribute for sort_key")));
            }
            order.push((k.to_string(), desc));
        }
        if !order.iter().any(|(k, _)| k == "id") {
            order.push(("id".into(), order.last().map(|o| o.1).unwrap_or(false)));
        }
        items.sort_by(|a, b| {
            order
                .iter()
                .map(|(k, desc)| {
                    let o = cmp_values(&a[k.as_str()], &b[k.as_str()]);
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        let reverse = self
            .all("page_reverse")
            .first()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if reverse {
            items.reverse();
        }
        if let Some(marker) = self.all("marker").first() {
            if let Some(pos) = items.iter().position(|i| i["id"] == *marker) {
                items.drain(..=pos);
            }
        }
        let limit = match self.all("limit").first() {
            Some(l) => Some(
                l.parse::<usize>()
                    .map_err(|_| Error::bad_request(format!("Invalid limit: {l}")))?,
            ),
            None => None,
        };
        let mut links = vec![];
        if let Some(l) = limit.filter(|l| *l > 0) {
            if items.len() > l {
                items.truncate(l);
                let last = items.last().map(|i| i["id"].clone()).unwrap_or(Value::Null);
                let mut next: Vec<(String, String)> =
                    self.params.iter().filter(|(k, _)| k != "marker").cloned().collect();
                next.push(("marker".into(), last.as_str().unwrap_or_default().to_string()));
                let qs = serde_urlencoded::to_string(&next).unwrap_or_default();
                links.push(json!({"rel": "next", "href": format!("{base_url}?{qs}")}));
            }
        }
        if reverse {
            items.reverse();
        }
        let items: Vec<Value> = items.into_iter().map(|i| self.select(i)).collect();
        let mut body = json!({ key: items });
        if !links.is_empty() {
            body[format!("{key}_links")] = Value::Array(links);
        }
        Ok(body)
    }
}

fn value_eq(have: &Value, want: &str) -> bool {
    match have {
        Value::String(s) => s == want,
        Value::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => n.to_string() == want,
        Value::Null => want.is_empty() || want == "None",
        Value::Array(a) => a.iter().any(|x| value_eq(x, want)),
        // `fixed_ips=ip_address=10.0.0.5`, `fixed_ips=subnet_id=…`, `fixed_ips=ip_address_substr=10.0`
        Value::Object(m) => match want.split_once('=') {
            Some((k, v)) => match k.strip_suffix("_substr") {
                Some(k) => m.get(k).and_then(Value::as_str).is_some_and(|s| s.contains(v)),
                None => m.get(k).is_some_and(|have| value_eq(have, v)),
            },
            None => false,
        },
    }
}

/// Neutron's tag filters: `tags` (all of), `tags-any`, `not-tags`, `not-tags-any`, each a
/// comma-separated list (and repeatable).
fn tag_filter(key: &str, item: &Value, wanted: &[&str]) -> Option<bool> {
    if !matches!(key, "tags" | "tags-any" | "not-tags" | "not-tags-any") {
        return None;
    }
    let have: Vec<&str> = item["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let wanted: Vec<&str> = wanted
        .iter()
        .flat_map(|w| w.split(','))
        .filter(|t| !t.is_empty())
        .collect();
    let all = wanted.iter().all(|t| have.contains(t));
    let any = wanted.iter().any(|t| have.contains(t));
    Some(match key {
        "tags" => all,
        "tags-any" => any,
        "not-tags" => !all,
        _ => !any,
    })
}

fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_fields_sort_and_pages() {
        let items: Vec<Value> = (0..5)
            .map(|i| json!({"id": format!("id{i}"), "name": format!("n{}", 4 - i), "shared": i % 2 == 0}))
            .collect();
        let q = ListQuery::parse(Some("shared=True&fields=id&sort_key=name&sort_dir=asc&limit=2")).unwrap();
        let body = q.collection("networks", "http://x/v2.0/networks", items).unwrap();
        assert_eq!(body["networks"], json!([{"id": "id4"}, {"id": "id2"}]));
        let next = body["networks_links"][0]["href"].as_str().unwrap();
        assert!(next.contains("marker=id2"), "{next}");
    }

    #[test]
    fn fixed_ip_and_tag_filters() {
        let items = vec![
            json!({"id": "a", "tags": ["red", "big"], "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"}]}),
            json!({"id": "b", "tags": ["red"], "fixed_ips": [{"subnet_id": "s2", "ip_address": "10.0.0.15"}]}),
        ];
        let ids = |qs: &str| {
            let q = ListQuery::parse(Some(qs)).unwrap();
            let body = q.collection("ports", "u", items.clone()).unwrap();
            body["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("fixed_ips=ip_address%3D10.0.0.5"), ["a"]);
        assert_eq!(ids("fixed_ips=subnet_id%3Ds2"), ["b"]);
        assert_eq!(ids("fixed_ips=ip_address_substr%3D10.0.0.1"), ["b"]);
        assert_eq!(ids("tags=red,big"), ["a"]);
        assert_eq!(ids("tags-any=big,nothing"), ["a"]);
        assert_eq!(ids("not-tags=big"), ["b"]);
        assert_eq!(ids("not-tags-any=red"), Vec::<String>::new());
    }
}

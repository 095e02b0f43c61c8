//! What users change on a server besides its power: `PUT /servers/{id}`, its metadata
//! (`/servers/{id}/metadata[/{key}]`) and its tags (`PUT /servers/{id}/tags`).

use super::Body;
use crate::app::compute::server_meta::{access_ip, check_tag, description, name, MAX_METADATA_ITEMS, MAX_TAGS};
use crate::app::metadata_schema::check_items;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `PUT /servers/{id}` `{"server": {...}}`: only what is given changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateServer {
    pub name: Option<String>,
    /// An IPv4 address (canonical) or "" to clear it.
    pub access_ipv4: Option<String>,
    /// An IPv6 address (canonical) or "" to clear it.
    pub access_ipv6: Option<String>,
    /// 2.19+; `Some(None)` clears it.
    pub description: Option<Option<String>>,
}

impl TryFrom<Body> for UpdateServer {
    type Error = Error;

    fn try_from(mut body: Body) -> Result<Self> {
        let name = name(&mut body)?;
        let access_ipv4 = match body.contains_key("accessIPv4") {
            true => Some(access_ip(&mut body, "accessIPv4", false)?),
            false => None,
        };
        let access_ipv6 = match body.contains_key("accessIPv6") {
            true => Some(access_ip(&mut body, "accessIPv6", true)?),
            false => None,
        };
        let description = match body.contains_key("description") {
            true => Some(description(&mut body)?),
            false => None,
        };
        if let Some(k) = body.keys().next() {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute server. Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
        Ok(Self {
            name,
            access_ipv4,
            access_ipv6,
            description,
        })
    }
}

/// Server metadata to set (`{"metadata": {...}}` of POST and PUT, or one item): keys of
/// 1–255 characters out of letters, digits and `-_:. `, string values of up to 255
/// characters, at most 128 items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct Metadata(pub BTreeMap<String, String>);

/// More than 128 items is Nova's quota error (403).
pub fn check_count(items: usize) -> Result<()> {
    if items > MAX_METADATA_ITEMS {
        return Err(Error::Typed {
            status: 403,
            kind: "forbidden",
            message: "Quota exceeded for metadata_items: Requested more than 128 metadata items".into(),
        });
    }
    Ok(())
}

impl TryFrom<Body> for Metadata {
    type Error = Error;

    fn try_from(m: Body) -> Result<Self> {
        check_count(m.len())?;
        check_items(&m)?;
        Ok(Self(
            m.into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    _ => None,
                })
                .collect(),
        ))
    }
}

/// `PUT /servers/{id}/metadata/{key}` `{"meta": {"KEY": "value"}}`: exactly that one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataItem {
    pub key: String,
    pub value: String,
}

impl MetadataItem {
    /// `meta` is the object under `meta`; `key` the one the URL names.
    pub fn parse(meta: Body, key: &str) -> Result<Self> {
        if meta.len() != 1 {
            return Err(Error::bad_request("Request body contains too many items"));
        }
        if !meta.contains_key(key) {
            return Err(Error::bad_request("Request body and URI mismatch"));
        }
        let Metadata(mut m) = Metadata::try_from(meta)?;
        let value = m.remove(key).unwrap_or_default();
        Ok(Self {
            key: key.to_string(),
            value,
        })
    }
}

impl From<MetadataItem> for Metadata {
    fn from(item: MetadataItem) -> Self {
        Self(BTreeMap::from([(item.key, item.value)]))
    }
}

/// `PUT /servers/{id}/tags` `{"tags": [...]}`: the tags a server gets; each up to 60
/// characters without `/` or `,`, at most 50.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct ServerTags(pub Vec<String>);

impl TryFrom<Value> for ServerTags {
    type Error = Error;

    fn try_from(doc: Value) -> Result<Self> {
        let invalid = || Error::bad_request("Invalid input for field/attribute tags.");
        let tags = match doc.get("tags") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(invalid)?,
            _ => return Err(invalid()),
        };
        if tags.len() > MAX_TAGS {
            return Err(Error::bad_request("Invalid input: more than 50 tags."));
        }
        for t in &tags {
            check_tag(t)?;
        }
        Ok(Self(tags))
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
    fn server_update_fields() {
        let u = UpdateServer::try_from(body(json!({"name": "n", "accessIPv4": "", "description": null}))).unwrap();
        assert_eq!(u.name.as_deref(), Some("n"));
        assert_eq!(u.access_ipv4.as_deref(), Some(""));
        assert_eq!((u.access_ipv6, u.description), (None, Some(None)));
        let e = UpdateServer::try_from(body(json!({"flavor": "x"}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field/attribute server. Additional properties are not allowed ('flavor' was unexpected)"
        );
        assert_eq!(
            UpdateServer::try_from(body(json!({"accessIPv4": "::1"})))
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn metadata_items_and_tags() {
        let many: Body = (0..129).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert_eq!(Metadata::try_from(many).unwrap_err().status(), 403);
        assert_eq!(Metadata::try_from(body(json!({"a": 1}))).unwrap_err().status(), 400);
        let item = MetadataItem::parse(body(json!({"k": "v"})), "k").unwrap();
        assert_eq!((item.key.as_str(), item.value.as_str()), ("k", "v"));
        let e = MetadataItem::parse(body(json!({"k": "v"})), "other").unwrap_err();
        assert_eq!(e.to_string(), "Request body and URI mismatch");
        let e = MetadataItem::parse(body(json!({"k": "v", "l": "w"})), "k").unwrap_err();
        assert_eq!(e.to_string(), "Request body contains too many items");
        assert_eq!(ServerTags::try_from(json!({"tags": ["a", "b"]})).unwrap().0, ["a", "b"]);
        for bad in [
            json!({"tags": "a"}),
            json!({"tags": [1]}),
            json!({"tags": ["a/b"]}),
            json!({}),
        ] {
            assert_eq!(ServerTags::try_from(bad.clone()).unwrap_err().status(), 400, "{bad}");
        }
        let many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
        assert_eq!(
            ServerTags::try_from(json!({ "tags": many })).unwrap_err().to_string(),
            "Invalid input: more than 50 tags."
        );
    }
}

//! What users change on a server besides its power: name, access addresses, description
//! (PUT /servers/{id}), metadata and tags. Nova's limits: metadata keys 1–255 characters,
//! values up to 255, 128 items; tags up to 60 characters without `/` or `,`, 50 per server.

use super::actions::Guard;
use super::resource_params::server_meta::check_count;
use super::resource_params::{Metadata, ServerTags, UpdateServer};
use crate::app::identity::caller::Caller;
use crate::app::json_input::{self as input, Body};
use crate::app::metadata_schema::{check_items, shown};
use crate::app::App;
use crate::db::compute::server_tags;
use crate::db::compute::servers::{self as db, Server};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

pub const MAX_METADATA_ITEMS: usize = 128;
pub const MAX_TAGS: usize = 50;

fn invalid(field: &str, v: &Value) -> Error {
    Error::bad_request(format!("Invalid input for field/attribute {field}. Value: {v}."))
}

/// Checks a metadata object as Nova's `parameter_types.metadata` does: keys of 1–255
/// characters out of letters, digits and `-_:. `, string values of up to 255 characters.
pub fn validate(m: Map<String, Value>) -> Result<Map<String, Value>> {
    check_count(m.len())?;
    check_items(&m)?;
    Ok(m)
}

/// Nova's printable characters (`parameter_types._is_printable`): no Unicode "other"
/// (controls, format characters, private use, unassigned) and no separator but spaces.
/// Rust has no category table, so the format and private-use ranges are listed.
pub fn printable(c: char) -> bool {
    let format_or_private = matches!(c,
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E000}'..='\u{F8FF}'
        | '\u{F0000}'..='\u{10FFFF}' | '\u{FFFE}' | '\u{FFFF}');
    !c.is_control() && !format_or_private
}

/// Nova's `name` format (server, rebuild and snapshot names from 2.1 on): 1–255 printable
/// characters, not starting or ending with whitespace.
pub fn check_name(field: &str, v: &Value) -> Result<String> {
    let Value::String(s) = v else {
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute {field}. Value: {}. {} is not of type 'string'",
            shown(&v.to_string()),
            shown(&v.to_string())
        )));
    };
    let n = s.chars().count();
    if n == 0 || n > 255 {
        let why = if n == 0 { "is too short" } else { "is too long" };
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute {field}. Value: {}. '{}' {why}",
            shown(s),
            shown(s)
        )));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| printable(c) && !c.is_whitespace());
    if !s.chars().all(printable) || !edge_ok(s.chars().next()) || !edge_ok(s.chars().last()) {
        return Err(Error::bad_request(
            "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.",
        ));
    }
    Ok(s.clone())
}

/// `accessIPv4`/`accessIPv6`: an address of that family, or empty.
pub fn access_ip(body: &mut Body, field: &str, v6: bool) -> Result<String> {
    match body.remove(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(s),
        Some(Value::String(s)) => {
            // Stored in canonical form, as Nova does (`0:0::babe:1.2.3.4` -> `::babe:102:304`).
            match s.parse::<std::net::IpAddr>() {
                Ok(a) if a.is_ipv6() == v6 => Ok(a.to_string()),
                _ => Err(invalid(field, &Value::String(s))),
            }
        }
        Some(v) => Err(invalid(field, &v)),
    }
}

/// `description` (2.19): up to 255 printable characters, or null.
pub fn description(body: &mut Body) -> Result<Option<String>> {
    let d = input::opt_str(body, "description", 255, true)?;
    if let Some(s) = &d {
        if !s.chars().all(printable) {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute description. Value: {}. '{}' does not match the description pattern (printable characters)",
                shown(s),
                shown(s)
            )));
        }
    }
    Ok(d)
}

/// A server name (Nova's `name` format); None when absent.
pub fn name(body: &mut Body) -> Result<Option<String>> {
    body.remove("name").map(|v| check_name("name", &v)).transpose()
}

/// Nova's tag rule: 1–60 characters without `/` or `,`.
pub fn check_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.chars().count() > 60 || tag.contains('/') || tag.contains(',') {
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute tag. Value: {tag}."
        )));
    }
    Ok(())
}

impl App {
    /// PUT /servers/{id}: name, access addresses, description.
    pub async fn update_server(&self, caller: &Caller, id: &str, req: UpdateServer) -> Result<Server> {
        // Read and written in one transaction: a state the host reports meanwhile is kept.
        let mut tx = self.begin().await?;
        let mut s = self
            .server_for_update_in(&mut tx, caller, id, Guard::IgnoreLock)
            .await?;
        if let Some(n) = req.name {
            s.name = n;
        }
        if let Some(a) = req.access_ipv4 {
            s.access_ipv4 = a;
        }
        if let Some(a) = req.access_ipv6 {
            s.access_ipv6 = a;
        }
        if let Some(d) = req.description {
            s.description = d;
        }
        s.updated_at = crate::db::now();
        db::update_state(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(s)
    }

    pub async fn server_metadata(&self, caller: &Caller, id: &str) -> Result<Map<String, Value>> {
        let s = self.get_server(caller, id).await?;
        Ok(serde_json::from_str(&s.metadata).unwrap_or_default())
    }

    /// Sets metadata: `replace` drops the keys not given (PUT), otherwise merges (POST).
    pub async fn set_server_metadata(
        &self,
        caller: &Caller,
        id: &str,
        given: Metadata,
        replace: bool,
    ) -> Result<Map<String, Value>> {
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        let mut m: Map<String, Value> = if replace {
            Map::new()
        } else {
            serde_json::from_str(&s.metadata).unwrap_or_default()
        };
        m.extend(given.0.into_iter().map(|(k, v)| (k, Value::String(v))));
        let m = validate(m)?;
        s.metadata = Value::Object(m.clone()).to_string();
        s.updated_at = crate::db::now();
        db::update_state(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(m)
    }

    pub async fn delete_server_metadata(&self, caller: &Caller, id: &str, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        let mut m: Map<String, Value> = serde_json::from_str(&s.metadata).unwrap_or_default();
        if m.remove(key).is_none() {
            return Err(Error::not_found("metadata item", key));
        }
        s.metadata = Value::Object(m).to_string();
        s.updated_at = crate::db::now();
        db::update_state(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn server_tags(&self, caller: &Caller, id: &str) -> Result<Vec<String>> {
        let s = self.get_server(caller, id).await?;
        server_tags::list(&self.db, &s.id).await
    }

    /// PUT /servers/{id}/tags: the tags become exactly `tags`.
    pub async fn replace_server_tags(&self, caller: &Caller, id: &str, tags: ServerTags) -> Result<Vec<String>> {
        let mut tx = self.begin().await?;
        let s = self
            .server_for_update_in(&mut tx, caller, id, Guard::IgnoreLock)
            .await?;
        server_tags::clear(&mut *tx, &s.id).await?;
        for t in &tags.0 {
            server_tags::add(&mut *tx, &s.id, t).await?;
        }
        let out = server_tags::list(&mut *tx, &s.id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// PUT /servers/{id}/tags/{tag}; true when the tag is new.
    pub async fn add_server_tag(&self, caller: &Caller, id: &str, tag: &str) -> Result<bool> {
        check_tag(tag)?;
        let mut tx = self.begin().await?;
        let s = self
            .server_for_update_in(&mut tx, caller, id, Guard::IgnoreLock)
            .await?;
        let existing = server_tags::list(&mut *tx, &s.id).await?;
        if existing.iter().any(|t| t == tag) {
            return Ok(false);
        }
        if existing.len() >= MAX_TAGS {
            return Err(Error::bad_request(
                "The number of tags exceeded the per-server limit 50",
            ));
        }
        server_tags::add(&mut *tx, &s.id, tag).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn delete_server_tag(&self, caller: &Caller, id: &str, tag: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let s = self
            .server_for_update_in(&mut tx, caller, id, Guard::IgnoreLock)
            .await?;
        if !server_tags::remove(&mut *tx, &s.id, tag).await? {
            return Err(Error::not_found("tag", tag));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_server_tags(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let s = self
            .server_for_update_in(&mut tx, caller, id, Guard::IgnoreLock)
            .await?;
        server_tags::clear(&mut *tx, &s.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tags of many servers at once (for listings).
    pub async fn tags_of(&self, s: &Server) -> Result<Vec<String>> {
        server_tags::list(&self.db, &s.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn access_addresses_are_checked_and_canonical() {
        let mut b = body(json!({"accessIPv6": "0000:0000:0000:0000:0000:babe:220.12.22.2", "accessIPv4": "::1"}));
        assert_eq!(access_ip(&mut b, "accessIPv6", true).unwrap(), "::babe:dc0c:1602");
        assert_eq!(access_ip(&mut b, "accessIPv4", false).unwrap_err().status(), 400);
        let mut b = body(json!({"accessIPv6": "notvalid"}));
        assert_eq!(access_ip(&mut b, "accessIPv6", true).unwrap_err().status(), 400);
    }

    #[test]
    fn metadata_limits() {
        assert!(validate(body(json!({"a": "b"}))).is_ok());
        assert_eq!(validate(body(json!({"a": "b".repeat(256)}))).unwrap_err().status(), 400);
        assert_eq!(validate(body(json!({"": "b"}))).unwrap_err().status(), 400);
        assert_eq!(validate(body(json!({"a": 1}))).unwrap_err().status(), 400);
        assert_eq!(validate(body(json!({"a/b": "c"}))).unwrap_err().status(), 400);
        assert!(validate(body(json!({"Key-1_x:y. z": "c"}))).is_ok());
    }

    #[test]
    fn names_are_printable_without_edge_whitespace() {
        for ok in ["vm", "my vm", "ünïcode näme", "a", &"x".repeat(255)] {
            assert_eq!(check_name("name", &json!(ok)).unwrap(), ok);
        }
        for bad in [
            " vm",
            "vm ",
            "\u{a0}vm",
            "v\tm",
            "v\nm",
            "v\u{200b}m",
            "",
            &"x".repeat(256),
        ] {
            assert_eq!(check_name("name", &json!(bad)).unwrap_err().status(), 400, "{bad:?}");
        }
        assert!(check_name("name", &json!(null)).is_err());
        let mut b = body(json!({"description": "line\nbreak"}));
        assert!(description(&mut b).is_err());
        let mut b = body(json!({"description": "fine, text"}));
        assert_eq!(description(&mut b).unwrap().as_deref(), Some("fine, text"));
    }
}

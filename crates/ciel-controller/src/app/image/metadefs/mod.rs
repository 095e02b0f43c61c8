//! Glance's metadata definitions catalog ("metadefs"): namespaces holding property, object
//! and tag definitions, associated with the resource types they describe.
//!
//! Policy is Glance's default: everyone may read the namespaces they can see (public ones,
//! their project's, all for admins; others are 404), and only admins write (`metadef_admin`).
//! Request bodies are checked against the same rules as Glance's JSON schemas: unknown keys
//! and wrong types are 400, server-owned keys 403.

mod namespaces;
mod objects;
pub mod params;
mod properties;
mod resource_types;
mod tags;

use crate::app::identity::caller::Caller;
use crate::db::image::metadefs::{self as md, Association, Namespace, Object, Property, Tag};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub use md::Contents;

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 1000;
const NAME_MAX: usize = 80;

/// A namespace and its contents; a `None` section is left out of the response.
pub struct NamespaceDetail {
    pub namespace: Namespace,
    pub associations: Option<Vec<Association>>,
    pub properties: Option<Vec<Property>>,
    pub objects: Option<Vec<Object>>,
    pub tags: Option<Vec<Tag>>,
}

/// One page of namespaces (each with its resource-type associations).
pub struct NamespacePage {
    pub namespaces: Vec<(Namespace, Vec<Association>)>,
    /// Marker of the next page, when this page is full.
    pub next: Option<String>,
}

/// Query parameters of a listing, in request order.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub params: Vec<(String, String)>,
}

impl ListQuery {
    fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A request body: a JSON object.
type Body = Map<String, Value>;

// --- policy --------------------------------------------------------------------------------

/// Admins see every namespace; others public ones and their project's.
fn visible(caller: &Caller, ns: &Namespace) -> bool {
    ns.visibility == "public" || crate::app::policy::in_project(caller, &ns.owner)
}

fn readable(caller: &Caller, ns: Option<Namespace>, name: &str) -> Result<Namespace> {
    ns.filter(|n| visible(caller, n)).ok_or_else(|| ns_not_found(name))
}

/// An invisible namespace is 404 before the admin-only write rule answers 403.
fn writable(caller: &Caller, ns: Option<Namespace>, name: &str) -> Result<Namespace> {
    let ns = readable(caller, ns, name)?;
    caller.require_admin()?;
    Ok(ns)
}

fn protected(ns: &Namespace, what: &str, name: &str) -> Result<()> {
    if ns.protected {
        return Err(Error::Forbidden(format!(
            "Metadata definition {what} {name} is protected and cannot be deleted."
        )));
    }
    Ok(())
}

/// The project a caller's new namespaces belong to by default.
fn default_owner(caller: &Caller) -> String {
    caller.project_id().unwrap_or(caller.user_id()).to_string()
}

// --- not found -----------------------------------------------------------------------------

fn ns_not_found(name: &str) -> Error {
    Error::not_found("namespace", name)
}

fn object_not_found(name: &str) -> Error {
    Error::not_found("object", name)
}

fn property_not_found(name: &str) -> Error {
    Error::not_found("property", name)
}

fn tag_not_found(name: &str) -> Error {
    Error::not_found("tag", name)
}

// --- listing -------------------------------------------------------------------------------

/// Whether an item whose ascending comparison with the marker is `ord` comes after the
/// marker in a listing sorted ascending or (`desc`) descending.
fn after(ord: Ordering, desc: bool) -> bool {
    if desc {
        ord == Ordering::Less
    } else {
        ord == Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_order() {
        assert!(after(Ordering::Greater, false));
        assert!(after(Ordering::Less, true));
        assert!(!after(Ordering::Equal, true));
    }
}

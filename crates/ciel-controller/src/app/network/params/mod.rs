//! Typed requests of the network service. Each write's body (the object inside
//! `{"network": {...}}` and the like) is parsed once, here, into a struct of typed values with
//! Neutron's validators and error texts (`validate.rs`); the app's methods take those structs,
//! and other services (compute) build them directly.
//!
//! Parsing is a validation step over the JSON object rather than a serde derive: Neutron
//! answers a bad attribute with one of several error types (`HTTPBadRequest`, `InvalidInput`,
//! named exceptions, sometimes a 404), which serde's string-only errors cannot carry.
//!
//! Updates keep Neutron's three cases apart: an attribute absent (`None`), `null`
//! (`Some(None)`, where `null` means something, e.g. "no gateway") and a value.
//! Checks that need stored state (the network's MTU bound, a subnet's IP version, whether a
//! referenced resource exists and may be used) stay in the app.

mod floating_ips;
mod networks;
mod ports;
mod quotas;
mod routers;
mod security_groups;
mod subnet_pools;
mod subnets;

pub use floating_ips::*;
pub use networks::*;
pub use ports::*;
pub use quotas::*;
pub use routers::*;
pub use security_groups::*;
pub use subnet_pools::*;
pub use subnets::*;

use crate::app::json_input::Body;
use crate::error::{Error, Result};
use serde_json::Value;

/// A request parsed from the JSON object of its body.
pub trait FromBody: Sized {
    fn from_body(body: Body) -> Result<Self>;
}

/// `project_id`/`tenant_id` as a request names them (the first that is a string); whether the
/// caller may act for it is the app's `target_project`.
pub(crate) fn requested_project(body: &mut Body) -> Option<String> {
    [body.remove("project_id"), body.remove("tenant_id")]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().map(str::to_owned))
}

/// An attribute where `null` means something: absent → `None`, `null` → `Some(None)`.
pub(crate) fn nullable<T>(
    body: &mut Body,
    attr: &str,
    parse: impl FnOnce(Value) -> Result<T>,
) -> Result<Option<Option<T>>> {
    match body.remove(attr) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => parse(v).map(|t| Some(Some(t))),
    }
}

/// An attribute where `null` counts as absent.
pub(crate) fn optional<T>(body: &mut Body, attr: &str, parse: impl FnOnce(Value) -> Result<T>) -> Result<Option<T>> {
    match body.remove(attr) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse(v).map(Some),
    }
}

/// Attributes an update may not change: "cannot update '{attr}'" for the first one present.
pub(crate) fn refuse_read_only(body: &mut Body, attrs: &[&str]) -> Result<()> {
    for k in attrs {
        if body.remove(*k).is_some() {
            return Err(Error::bad_request(format!(
                "Invalid input for operation: cannot update '{k}'."
            )));
        }
    }
    Ok(())
}

/// `PUT .../tags`: `{"tags": [...]}`, every tag a string (each checked by the app).
#[derive(Debug, Clone, Default)]
pub struct ReplaceTags {
    pub tags: Vec<String>,
}

impl FromBody for ReplaceTags {
    fn from_body(mut body: Body) -> Result<Self> {
        body.remove("tags")
            .as_ref()
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|t| t.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .map(|tags| ReplaceTags { tags })
            .ok_or_else(|| Error::bad_request("Invalid input for tags: expected a list of strings."))
    }
}

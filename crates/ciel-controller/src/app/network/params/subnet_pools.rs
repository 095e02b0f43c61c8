//! Subnet pool create and update.

use super::{requested_project, FromBody};
use crate::app::json_input::{self as input, Body};
use crate::app::network::validate;
use crate::error::{Error, Result};
use ipnet::IpNet;
use serde_json::Value;

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid input for operation: {msg}"))
}

/// `POST /v2.0/subnetpools`. Prefix lengths default by the prefixes' IP version (in the app).
#[derive(Debug, Clone, Default)]
pub struct CreateSubnetPool {
    pub project_id: Option<String>,
    /// Non-empty, one IP version, network prefixes, merged where nested or adjacent.
    pub prefixes: Vec<IpNet>,
    /// Admin only.
    pub shared: Option<bool>,
    /// Admin only.
    pub is_default: Option<bool>,
    pub min_prefixlen: Option<i64>,
    pub max_prefixlen: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub default_prefixlen: Option<i64>,
    pub default_quota: Option<i64>,
}

impl FromBody for CreateSubnetPool {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(CreateSubnetPool {
            project_id: requested_project(&mut body),
            prefixes: parse_prefixes(body.remove("prefixes").unwrap_or(Value::Null))?,
            shared: input::opt_bool(&mut body, "shared")?,
            is_default: input::opt_bool(&mut body, "is_default")?,
            min_prefixlen: opt_len(&mut body, "min_prefixlen")?,
            max_prefixlen: opt_len(&mut body, "max_prefixlen")?,
            name: validate::opt_name(&mut body)?,
            description: validate::opt_description(&mut body)?,
            default_prefixlen: opt_len(&mut body, "default_prefixlen")?,
            default_quota: opt_len(&mut body, "default_quota")?,
        })
    }
}

/// `PUT /v2.0/subnetpools/{id}`.
#[derive(Debug, Clone, Default)]
pub struct UpdateSubnetPool {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Must keep the IP version and cover every current prefix.
    pub prefixes: Option<Vec<IpNet>>,
    pub min_prefixlen: Option<i64>,
    pub max_prefixlen: Option<i64>,
    pub default_prefixlen: Option<i64>,
    /// `Some(None)` (`null`) removes the quota.
    pub default_quota: Option<Option<i64>>,
    /// Changing it is admin only.
    pub is_default: Option<bool>,
}

impl FromBody for UpdateSubnetPool {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(UpdateSubnetPool {
            name: validate::opt_name(&mut body)?,
            description: validate::opt_description(&mut body)?,
            prefixes: body.remove("prefixes").map(parse_prefixes).transpose()?,
            min_prefixlen: opt_len(&mut body, "min_prefixlen")?,
            max_prefixlen: opt_len(&mut body, "max_prefixlen")?,
            default_prefixlen: opt_len(&mut body, "default_prefixlen")?,
            default_quota: match body.contains_key("default_quota") {
                true => Some(opt_len(&mut body, "default_quota")?),
                false => None,
            },
            is_default: input::opt_bool(&mut body, "is_default")?,
        })
    }
}

fn parse_prefixes(v: Value) -> Result<Vec<IpNet>> {
    let list = v.as_array().ok_or_else(|| bad("prefixes must be a list of CIDRs."))?;
    let mut out = vec![];
    for p in list {
        let net = validate::subnet(p).map_err(|r| validate::invalid("prefixes", r))?;
        out.push(net.trunc());
    }
    if out.is_empty() {
        return Err(bad("a subnet pool needs at least one prefix."));
    }
    if out.iter().any(|n| n.addr().is_ipv4() != out[0].addr().is_ipv4()) {
        return Err(bad("prefixes of one subnet pool must all have the same IP version."));
    }
    // Neutron keeps the pool compacted: nested and adjacent prefixes are merged.
    Ok(IpNet::aggregate(&out))
}

fn opt_len(body: &mut Body, field: &str) -> Result<Option<i64>> {
    match body.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| bad(format!("'{v}' is not an integer for {field}."))),
    }
}

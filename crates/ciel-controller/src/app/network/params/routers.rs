//! Router create and update, its external gateway, and interface add/remove.

use super::{requested_project, FromBody};
use crate::app::json_input::{self as input, Body};
use crate::app::network::validate::{self, FixedIpSpec, Route};
use crate::error::{Error, Result};
use serde_json::Value;

/// `external_gateway_info` naming a network (`null` and `{}` mean "no gateway").
#[derive(Debug, Clone, Default)]
pub struct GatewayInfo {
    pub network_id: String,
    /// Admin only.
    pub enable_snat: Option<bool>,
    /// Admin only; an empty list is none.
    pub external_fixed_ips: Option<Vec<FixedIpSpec>>,
}

impl GatewayInfo {
    /// `None` for "no gateway" (`null`, `{}`, or anything but an object, as before).
    fn parse(v: Value) -> Result<Option<Self>> {
        let mut info = match v {
            Value::Object(o) if !o.is_empty() => o,
            _ => return Ok(None),
        };
        let network_id = info
            .remove("network_id")
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| Error::bad_request("Invalid input for external_gateway_info: network_id is required."))?;
        let enable_snat = match info.remove("enable_snat") {
            None => None,
            Some(v) => Some(
                v.as_bool()
                    .ok_or_else(|| Error::bad_request("enable_snat must be a boolean"))?,
            ),
        };
        let external_fixed_ips = match info.remove("external_fixed_ips") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.is_empty() => None,
            Some(v) => Some(validate::fixed_ips("external_gateway_info", v)?),
        };
        Ok(Some(GatewayInfo {
            network_id,
            enable_snat,
            external_fixed_ips,
        }))
    }
}

/// `POST /v2.0/routers`.
#[derive(Debug, Clone, Default)]
pub struct CreateRouter {
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub admin_state_up: Option<bool>,
    pub description: Option<String>,
    pub external_gateway_info: Option<GatewayInfo>,
}

impl FromBody for CreateRouter {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(CreateRouter {
            project_id: requested_project(&mut body),
            name: validate::opt_name(&mut body)?,
            admin_state_up: input::opt_bool(&mut body, "admin_state_up")?,
            description: validate::opt_description(&mut body)?,
            external_gateway_info: match body.remove("external_gateway_info") {
                None => None,
                Some(v) => GatewayInfo::parse(v)?,
            },
        })
    }
}

/// `PUT /v2.0/routers/{id}`.
#[derive(Debug, Clone, Default)]
pub struct UpdateRouter {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    /// Extra routes, replacing the router's (`null` clears them).
    pub routes: Option<Vec<Route>>,
    /// `Some(None)` clears the gateway.
    pub external_gateway_info: Option<Option<GatewayInfo>>,
}

impl FromBody for UpdateRouter {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(UpdateRouter {
            name: validate::opt_name(&mut body)?,
            description: validate::opt_description(&mut body)?,
            admin_state_up: input::opt_bool(&mut body, "admin_state_up")?,
            routes: match body.remove("routes") {
                None => None,
                Some(Value::Null) => Some(vec![]),
                Some(v) => Some(validate::routes("routes", v)?),
            },
            external_gateway_info: body
                .remove("external_gateway_info")
                .map(GatewayInfo::parse)
                .transpose()?,
        })
    }
}

/// `PUT /v2.0/routers/{id}/add_router_interface` and `remove_router_interface`: a subnet or
/// a port.
#[derive(Debug, Clone, Default)]
pub struct RouterInterface {
    pub subnet_id: Option<String>,
    pub port_id: Option<String>,
}

impl FromBody for RouterInterface {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(RouterInterface {
            subnet_id: input::opt_str(&mut body, "subnet_id", 64, true)?,
            port_id: input::opt_str(&mut body, "port_id", 64, true)?,
        })
    }
}

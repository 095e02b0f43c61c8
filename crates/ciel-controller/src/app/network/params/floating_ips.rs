//! Floating IP create and update (association).

use super::{requested_project, FromBody};
use crate::app::json_input::{self as input, Body};
use crate::app::network::validate;
use crate::error::{Error, Result};
use serde_json::Value;
use std::net::IpAddr;

/// `POST /v2.0/floatingips`, and Nova's allocation from a pool.
#[derive(Debug, Clone, Default)]
pub struct CreateFloatingIp {
    pub project_id: Option<String>,
    /// The external network to allocate from.
    pub floating_network_id: String,
    pub floating_ip_address: Option<IpAddr>,
    pub subnet_id: Option<String>,
    /// Associated at once with this port.
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<IpAddr>,
    pub description: Option<String>,
}

impl CreateFloatingIp {
    pub fn on_network(floating_network_id: &str) -> Self {
        CreateFloatingIp {
            floating_network_id: floating_network_id.into(),
            ..Default::default()
        }
    }
}

impl FromBody for CreateFloatingIp {
    fn from_body(mut body: Body) -> Result<Self> {
        let project_id = requested_project(&mut body);
        let floating_network_id = input::opt_str(&mut body, "floating_network_id", 64, false)?
            .ok_or_else(|| Error::bad_request("Invalid input for operation: floating_network_id is required."))?;
        Ok(CreateFloatingIp {
            project_id,
            floating_network_id,
            floating_ip_address: validate::opt_ip(&mut body, "floating_ip_address")?,
            subnet_id: validate::opt_uuid(&mut body, "subnet_id")?,
            port_id: validate::opt_uuid(&mut body, "port_id")?,
            fixed_ip_address: validate::opt_ip(&mut body, "fixed_ip_address")?,
            description: validate::opt_description(&mut body)?,
        })
    }
}

/// `PUT /v2.0/floatingips/{id}`: `port_id` associates, `port_id: null` disassociates.
#[derive(Debug, Clone, Default)]
pub struct UpdateFloatingIp {
    pub description: Option<String>,
    /// Which of the port's addresses, when it has several.
    pub fixed_ip_address: Option<IpAddr>,
    pub port_id: Option<Option<String>>,
}

impl UpdateFloatingIp {
    /// Associates with `port_id` (at `fixed_ip_address`, when given).
    pub fn associate(port_id: &str, fixed_ip_address: Option<IpAddr>) -> Self {
        UpdateFloatingIp {
            port_id: Some(Some(port_id.into())),
            fixed_ip_address,
            ..Default::default()
        }
    }

    pub fn disassociate() -> Self {
        UpdateFloatingIp {
            port_id: Some(None),
            ..Default::default()
        }
    }
}

impl FromBody for UpdateFloatingIp {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(UpdateFloatingIp {
            description: validate::opt_description(&mut body)?,
            fixed_ip_address: validate::opt_ip(&mut body, "fixed_ip_address")?,
            port_id: match body.remove("port_id") {
                None => None,
                Some(Value::Null) => Some(None),
                Some(v) => Some(Some(validate::uuid(&v).map_err(|r| validate::invalid("port_id", r))?)),
            },
        })
    }
}

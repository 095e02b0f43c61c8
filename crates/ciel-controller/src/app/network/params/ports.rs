//! Port create and update.

use super::{nullable, optional, requested_project, FromBody};
use crate::app::json_input::{self as input, Body};
use crate::app::network::validate::{self, AddressPairRequest, FixedIpSpec, Mac};
use crate::error::{Error, Result};
use serde_json::Value;

/// `security_groups` of a port request: a list of group ids (checked by the app).
fn group_ids(v: Value) -> Result<Vec<String>> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::bad_request("Invalid input for security_groups."))
            })
            .collect(),
        v => Err(Error::bad_request(format!("Invalid input for security_groups: {v}"))),
    }
}

fn unicast_mac(v: Value) -> Result<Mac> {
    validate::unicast_mac(&v).map_err(|r| validate::invalid("mac_address", r))
}

fn fixed_ips(v: Value) -> Result<Vec<FixedIpSpec>> {
    validate::fixed_ips("fixed_ips", v)
}

/// `POST /v2.0/ports`, and the ports compute makes for servers.
#[derive(Debug, Clone, Default)]
pub struct CreatePort {
    pub project_id: Option<String>,
    pub network_id: String,
    pub mac_address: Option<Mac>,
    /// Addresses wanted (by subnet, address or both); Neutron's default allocation when absent.
    pub fixed_ips: Option<Vec<FixedIpSpec>>,
    /// Groups by id; the project's default group when absent (and port security is on).
    pub security_groups: Option<Vec<String>>,
    pub allowed_address_pairs: Option<Vec<AddressPairRequest>>,
    pub name: Option<String>,
    pub admin_state_up: Option<bool>,
    pub device_id: Option<String>,
    pub device_owner: Option<String>,
    /// The network's setting when absent.
    pub port_security_enabled: Option<bool>,
    /// `binding:host_id`.
    pub binding_host_id: Option<String>,
    pub description: Option<String>,
}

impl CreatePort {
    /// A port on `network_id` bound to a device (a server: `compute:nova`).
    pub fn for_device(network_id: &str, device_id: &str, device_owner: &str) -> Self {
        CreatePort {
            network_id: network_id.into(),
            device_id: Some(device_id.into()),
            device_owner: Some(device_owner.into()),
            ..Default::default()
        }
    }
}

impl FromBody for CreatePort {
    fn from_body(mut body: Body) -> Result<Self> {
        let project_id = requested_project(&mut body);
        let network_id = input::opt_str(&mut body, "network_id", 64, false)?
            .ok_or_else(|| Error::bad_request("Invalid input for operation: network_id is required."))?;
        let mac_address = optional(&mut body, "mac_address", unicast_mac)?;
        let fixed_ips = optional(&mut body, "fixed_ips", fixed_ips)?;
        let groups = body.remove("security_groups");
        let pairs = body.remove("allowed_address_pairs").filter(|v| !v.is_null());
        let mut port = CreatePort {
            project_id,
            network_id,
            mac_address,
            fixed_ips,
            name: validate::opt_name(&mut body)?,
            admin_state_up: input::opt_bool(&mut body, "admin_state_up")?,
            device_id: validate::opt_string(&mut body, "device_id", 255)?,
            device_owner: validate::opt_string(&mut body, "device_owner", 255)?,
            port_security_enabled: input::opt_bool(&mut body, "port_security_enabled")?,
            binding_host_id: validate::opt_string(&mut body, "binding:host_id", 255)?,
            description: validate::opt_description(&mut body)?,
            ..Default::default()
        };
        port.allowed_address_pairs = pairs.map(validate::address_pair_requests).transpose()?;
        port.security_groups = match groups {
            None | Some(Value::Null) => None,
            Some(v) => Some(group_ids(v)?),
        };
        Ok(port)
    }
}

/// Attributes a port update may not change, except by an admin (for whom they are ignored).
const PORT_READ_ONLY: &[&str] = &["network_id", "id", "project_id", "tenant_id", "mac_address"];

/// `PUT /v2.0/ports/{id}`, and compute binding or unbinding a port.
#[derive(Debug, Clone, Default)]
pub struct UpdatePort {
    /// The first read-only attribute the request names, refused unless the caller is an admin.
    pub read_only: Option<&'static str>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub device_id: Option<String>,
    pub device_owner: Option<String>,
    pub port_security_enabled: Option<bool>,
    /// `binding:host_id`.
    pub binding_host_id: Option<String>,
    /// `null` clears them.
    pub allowed_address_pairs: Option<Option<Vec<AddressPairRequest>>>,
    /// Replaces the port's addresses.
    pub fixed_ips: Option<Vec<FixedIpSpec>>,
    /// `null` puts the port back in its project's default group (none without port security).
    pub security_groups: Option<Option<Vec<String>>>,
}

impl UpdatePort {
    /// Binds the port to a device, or unbinds it with empty strings.
    pub fn device(device_id: &str, device_owner: &str) -> Self {
        UpdatePort {
            device_id: Some(device_id.into()),
            device_owner: Some(device_owner.into()),
            ..Default::default()
        }
    }

    /// Puts the port in exactly these groups.
    pub fn security_groups(ids: Vec<String>) -> Self {
        UpdatePort {
            security_groups: Some(Some(ids)),
            ..Default::default()
        }
    }
}

impl FromBody for UpdatePort {
    fn from_body(mut body: Body) -> Result<Self> {
        let mut read_only = None;
        for k in PORT_READ_ONLY {
            if body.remove(*k).is_some() && read_only.is_none() {
                read_only = Some(*k);
            }
        }
        Ok(UpdatePort {
            read_only,
            name: validate::opt_name(&mut body)?,
            description: validate::opt_description(&mut body)?,
            admin_state_up: input::opt_bool(&mut body, "admin_state_up")?,
            device_id: validate::opt_string(&mut body, "device_id", 255)?,
            device_owner: validate::opt_string(&mut body, "device_owner", 255)?,
            port_security_enabled: input::opt_bool(&mut body, "port_security_enabled")?,
            binding_host_id: validate::opt_string(&mut body, "binding:host_id", 255)?,
            allowed_address_pairs: nullable(&mut body, "allowed_address_pairs", validate::address_pair_requests)?,
            fixed_ips: body.remove("fixed_ips").map(fixed_ips).transpose()?,
            security_groups: nullable(&mut body, "security_groups", group_ids)?,
        })
    }
}

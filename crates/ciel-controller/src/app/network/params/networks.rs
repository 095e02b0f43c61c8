//! Network create and update.

use super::{optional, refuse_read_only, requested_project, FromBody};
use crate::app::json_input::{self as input, Body};
use crate::app::network::validate::{self, MtuRequest};
use crate::error::{Error, Result};

/// `provider:network_type`: what Ciel's data plane implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkType {
    Vxlan,
    Flat,
    Vlan,
}

impl NetworkType {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkType::Vxlan => "vxlan",
            NetworkType::Flat => "flat",
            NetworkType::Vlan => "vlan",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vxlan" => Some(NetworkType::Vxlan),
            "flat" => Some(NetworkType::Flat),
            "vlan" => Some(NetworkType::Vlan),
            _ => None,
        }
    }
}

/// `POST /v2.0/networks`.
#[derive(Debug, Clone, Default)]
pub struct CreateNetwork {
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub shared: Option<bool>,
    /// `router:external`.
    pub external: Option<bool>,
    /// `provider:network_type` (Ciel's default, VXLAN, when absent).
    pub network_type: Option<NetworkType>,
    /// `provider:physical_network`.
    pub physical_network: Option<String>,
    /// `provider:segmentation_id`, in the range of the network type.
    pub segmentation_id: Option<i64>,
    /// Checked against the network type's maximum by the app.
    pub mtu: Option<MtuRequest>,
    pub port_security_enabled: Option<bool>,
}

impl CreateNetwork {
    /// Attributes only an admin may set (to anything but `false`).
    pub fn sets_admin_only(&self) -> bool {
        self.shared == Some(true)
            || self.external == Some(true)
            || self.network_type.is_some()
            || self.physical_network.is_some()
            || self.segmentation_id.is_some()
    }
}

impl FromBody for CreateNetwork {
    fn from_body(mut body: Body) -> Result<Self> {
        let project_id = requested_project(&mut body);
        let network_type = match input::opt_str(&mut body, "provider:network_type", 32, true)? {
            None => None,
            Some(t) => Some(NetworkType::parse(&t).ok_or_else(|| {
                Error::bad_request(format!(
                    "Invalid input for operation: network_type value '{t}' not supported."
                ))
            })?),
        };
        let kind = network_type.unwrap_or(NetworkType::Vxlan);
        let physical_network = validate::opt_string(&mut body, "provider:physical_network", 64)?;
        let segmentation_id = optional(&mut body, "provider:segmentation_id", |v| validate::int_value(&v))?;
        if let Some(id) = segmentation_id {
            let (lo, hi) = match kind {
                NetworkType::Vlan => (1, 4094),
                NetworkType::Vxlan => (1, (1 << 24) - 1),
                NetworkType::Flat => {
                    return Err(validate::invalid_input(
                        "segmentation_id prohibited for flat provider network",
                    ))
                }
            };
            if !(lo..=hi).contains(&id) {
                return Err(validate::invalid_input(format!(
                    "segmentation_id out of range ({lo} through {hi})"
                )));
            }
        }
        if kind != NetworkType::Vxlan && physical_network.is_none() {
            return Err(Error::bad_request(format!(
                "Invalid input for operation: {} networks need provider:physical_network.",
                kind.as_str()
            )));
        }
        let mtu = optional(&mut body, "mtu", |v| validate::mtu_request(&v))?;
        Ok(CreateNetwork {
            project_id,
            network_type,
            physical_network,
            segmentation_id,
            mtu,
            name: validate::opt_name(&mut body)?,
            admin_state_up: input::opt_bool(&mut body, "admin_state_up")?,
            shared: input::opt_bool(&mut body, "shared")?,
            external: input::opt_bool(&mut body, "router:external")?,
            port_security_enabled: input::opt_bool(&mut body, "port_security_enabled")?,
            description: validate::opt_description(&mut body)?,
        })
    }
}

/// `PUT /v2.0/networks/{id}`.
#[derive(Debug, Clone, Default)]
pub struct UpdateNetwork {
    pub name: Option<String>,
    pub description: Option<String>,
    pub mtu: Option<MtuRequest>,
    pub admin_state_up: Option<bool>,
    pub shared: Option<bool>,
    /// `router:external`.
    pub external: Option<bool>,
    pub port_security_enabled: Option<bool>,
}

impl UpdateNetwork {
    /// Attributes only an admin may change.
    pub fn sets_admin_only(&self) -> bool {
        self.shared.is_some() || self.external.is_some()
    }
}

impl FromBody for UpdateNetwork {
    fn from_body(mut body: Body) -> Result<Self> {
        refuse_read_only(
            &mut body,
            &[
                "provider:network_type",
                "provider:physical_network",
                "provider:segmentation_id",
                "id",
                "project_id",
                "tenant_id",
            ],
        )?;
        Ok(UpdateNetwork {
            name: validate::opt_name(&mut body)?,
            description: validate::opt_description(&mut body)?,
            mtu: optional(&mut body, "mtu", |v| validate::mtu_request(&v))?,
            admin_state_up: input::opt_bool(&mut body, "admin_state_up")?,
            shared: input::opt_bool(&mut body, "shared")?,
            external: input::opt_bool(&mut body, "router:external")?,
            port_security_enabled: input::opt_bool(&mut body, "port_security_enabled")?,
        })
    }
}

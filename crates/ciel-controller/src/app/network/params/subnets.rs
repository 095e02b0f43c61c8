//! Subnet create and update.

use super::{nullable, optional, refuse_read_only, requested_project, FromBody};
use crate::app::json_input::{self as input, Body};
use crate::app::network::ipam::Pool;
use crate::app::network::validate::{self, invalid, show, Nameserver, Route};
use crate::error::Result;
use serde_json::Value;
use std::net::IpAddr;

/// A `gateway_ip` address (its text is what Neutron's messages show); whether it is a host of
/// the subnet is checked by the app once the CIDR is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub ip: IpAddr,
    pub text: String,
}

fn gateway(v: Value) -> Result<Gateway> {
    let ip = validate::ip_address(&v).map_err(|r| invalid("gateway_ip", r))?;
    Ok(Gateway { ip, text: show(&v) })
}

/// `validate_ip_pools`: a list of objects with exactly `start` and `end`, both IP addresses.
fn pools(v: Value) -> Result<Vec<Pool>> {
    const ATTR: &str = "allocation_pools";
    let Value::Array(items) = &v else {
        return Err(invalid(
            ATTR,
            format!("Invalid data format for IP pool: '{}'", show(&v)),
        ));
    };
    items
        .iter()
        .map(|p| {
            let Value::Object(m) = p else {
                return Err(invalid(
                    ATTR,
                    format!("Invalid input. '{}' must be a dictionary with keys: ['start', 'end']", show(p)),
                ));
            };
            if m.len() != 2 || !m.contains_key("start") || !m.contains_key("end") {
                let provided: Vec<String> = m.keys().map(|k| format!("'{k}'")).collect();
                return Err(invalid(
                    ATTR,
                    format!(
                        "Validation of dictionary's keys failed. Expected keys: {{'end', 'start'}} Provided keys: {{{}}}",
                        provided.join(", ")
                    ),
                ));
            }
            let start = validate::ip_address(&m["start"]).map_err(|r| invalid(ATTR, r))?;
            let end = validate::ip_address(&m["end"]).map_err(|r| invalid(ATTR, r))?;
            Ok(Pool { start, end })
        })
        .collect()
}

fn host_routes(v: Value) -> Result<Vec<Route>> {
    validate::routes("host_routes", v)
}

/// `POST /v2.0/subnets`. What depends on the network, the pool or the final CIDR (its IP
/// version, overlaps, gateway and pools inside it, DNS servers and routes of its version) is
/// checked by the app.
#[derive(Debug, Clone, Default)]
pub struct CreateSubnet {
    pub project_id: Option<String>,
    pub network_id: String,
    /// 4 or 6; the pool's when absent.
    pub ip_version: Option<u8>,
    pub use_default_subnetpool: bool,
    pub subnetpool_id: Option<String>,
    /// As written (a valid subnet; host bits are judged with the IP version).
    pub cidr: Option<String>,
    pub prefixlen: Option<i64>,
    /// Absent: the CIDR's first host; `null`: no gateway.
    pub gateway_ip: Option<Option<Gateway>>,
    /// The whole CIDR but the gateway when absent.
    pub allocation_pools: Option<Vec<Pool>>,
    pub ipv6_ra_mode: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub name: Option<String>,
    pub dns_nameservers: Option<Vec<Nameserver>>,
    pub host_routes: Option<Vec<Route>>,
    pub enable_dhcp: Option<bool>,
    pub description: Option<String>,
}

impl FromBody for CreateSubnet {
    fn from_body(mut body: Body) -> Result<Self> {
        let project_id = requested_project(&mut body);
        let network_id = input::opt_str(&mut body, "network_id", 64, false)?
            .ok_or_else(|| crate::error::Error::bad_request("Invalid input for operation: network_id is required."))?;
        let ip_version = optional(&mut body, "ip_version", |v| {
            match v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
                Some(n @ (4 | 6)) => Ok(n as u8),
                _ => Err(invalid("ip_version", format!("{} is not in [4, 6]", show(&v)))),
            }
        })?;
        let use_default_subnetpool = input::opt_bool(&mut body, "use_default_subnetpool")?.unwrap_or(false);
        let subnetpool_id = input::opt_str(&mut body, "subnetpool_id", 64, true)?;
        let cidr = optional(&mut body, "cidr", |v| {
            validate::subnet(&v).map_err(|r| invalid("cidr", r))?;
            Ok(show(&v))
        })?;
        let prefixlen = optional(&mut body, "prefixlen", |v| validate::int_value(&v))?;
        Ok(CreateSubnet {
            project_id,
            network_id,
            ip_version,
            use_default_subnetpool,
            subnetpool_id,
            cidr,
            prefixlen,
            gateway_ip: nullable(&mut body, "gateway_ip", gateway)?,
            allocation_pools: optional(&mut body, "allocation_pools", pools)?,
            ipv6_ra_mode: input::opt_str(&mut body, "ipv6_ra_mode", 32, true)?,
            ipv6_address_mode: input::opt_str(&mut body, "ipv6_address_mode", 32, true)?,
            name: validate::opt_name(&mut body)?,
            dns_nameservers: optional(&mut body, "dns_nameservers", validate::nameserver_list)?,
            host_routes: optional(&mut body, "host_routes", host_routes)?,
            enable_dhcp: input::opt_bool(&mut body, "enable_dhcp")?,
            description: validate::opt_description(&mut body)?,
        })
    }
}

/// `PUT /v2.0/subnets/{id}`.
#[derive(Debug, Clone, Default)]
pub struct UpdateSubnet {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enable_dhcp: Option<bool>,
    /// `null` clears them.
    pub dns_nameservers: Option<Option<Vec<Nameserver>>>,
    /// `null` clears them.
    pub host_routes: Option<Option<Vec<Route>>>,
    /// `null`: no gateway.
    pub gateway_ip: Option<Option<Gateway>>,
    pub allocation_pools: Option<Vec<Pool>>,
}

impl FromBody for UpdateSubnet {
    fn from_body(mut body: Body) -> Result<Self> {
        refuse_read_only(
            &mut body,
            &[
                "cidr",
                "ip_version",
                "network_id",
                "ipv6_ra_mode",
                "ipv6_address_mode",
                "id",
                "project_id",
                "tenant_id",
            ],
        )?;
        Ok(UpdateSubnet {
            name: validate::opt_name(&mut body)?,
            description: validate::opt_description(&mut body)?,
            enable_dhcp: input::opt_bool(&mut body, "enable_dhcp")?,
            dns_nameservers: nullable(&mut body, "dns_nameservers", validate::nameserver_list)?,
            host_routes: nullable(&mut body, "host_routes", host_routes)?,
            gateway_ip: nullable(&mut body, "gateway_ip", gateway)?,
            allocation_pools: body.remove("allocation_pools").map(pools).transpose()?,
        })
    }
}

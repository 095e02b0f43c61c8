//! Security group and rule create and update.

use super::{requested_project, FromBody};
use crate::app::json_input::{self as input, Body};
use crate::app::network::not_found;
use crate::app::network::validate::{self, show};
use crate::error::{Error, Result};
use serde_json::Value;

/// `POST /v2.0/security-groups`.
#[derive(Debug, Clone, Default)]
pub struct CreateSecurityGroup {
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub stateful: Option<bool>,
}

impl FromBody for CreateSecurityGroup {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(CreateSecurityGroup {
            project_id: requested_project(&mut body),
            name: validate::opt_string(&mut body, "name", validate::NAME_MAX)?,
            description: validate::opt_description(&mut body)?,
            stateful: input::opt_bool(&mut body, "stateful")?,
        })
    }
}

/// `PUT /v2.0/security-groups/{id}`.
#[derive(Debug, Clone, Default)]
pub struct UpdateSecurityGroup {
    pub name: Option<String>,
    pub description: Option<String>,
    pub stateful: Option<bool>,
}

impl FromBody for UpdateSecurityGroup {
    fn from_body(mut body: Body) -> Result<Self> {
        Ok(UpdateSecurityGroup {
            name: validate::opt_string(&mut body, "name", validate::NAME_MAX)?,
            description: validate::opt_description(&mut body)?,
            stateful: input::opt_bool(&mut body, "stateful")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtherType {
    IPv4,
    IPv6,
}

impl EtherType {
    pub fn as_str(self) -> &'static str {
        match self {
            EtherType::IPv4 => "IPv4",
            EtherType::IPv6 => "IPv6",
        }
    }
}

/// A security group rule's attributes. `Prefix` is the remote prefix: as parsed, with the text
/// the request wrote (a [`RuleSpec`], before the checks between attributes), or as Neutron
/// stores it (a [`CreateSecurityGroupRule`], once checked).
#[derive(Debug, Clone)]
pub struct SecurityGroupRule<Prefix> {
    pub security_group_id: String,
    pub direction: Direction,
    pub ethertype: EtherType,
    /// A protocol name (lower case) or number (0-255) as Neutron stores it; `None` for any.
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<Prefix>,
    pub remote_group_id: Option<String>,
    pub description: Option<String>,
}

/// `POST /v2.0/security-group-rules`, checked as Neutron checks a rule on its own; the group
/// (and a remote group) must exist and be the caller's, which the app checks. Its prefix is a
/// network (an address is stored as its host prefix).
pub type CreateSecurityGroupRule = SecurityGroupRule<String>;

/// A `remote_ip_prefix` as parsed (`convert_ip_prefix_to_cidr`) and as the request wrote it,
/// which Neutron's messages show.
#[derive(Debug, Clone)]
pub struct RemotePrefix {
    pub net: ipnet::IpNet,
    pub text: String,
}

/// A rule's attributes once each is parsed, before the checks between them.
pub type RuleSpec = SecurityGroupRule<RemotePrefix>;

fn invalid_typed(kind: &'static str, message: String) -> Error {
    Error::Typed {
        status: 400,
        kind,
        message,
    }
}

impl RuleSpec {
    /// Neutron's checks between a rule's attributes: legacy ICMPv6 names canonicalised, port
    /// ranges only for protocols with ports (ICMP type and code 0-255), IPv6-only protocols not
    /// with IPv4, the prefix of the ethertype's family, one remote at most.
    pub fn check(self) -> Result<CreateSecurityGroupRule> {
        let RuleSpec {
            security_group_id,
            direction,
            ethertype,
            mut protocol,
            port_range_min: min,
            port_range_max: max,
            remote_ip_prefix,
            remote_group_id,
            description,
        } = self;
        // Legacy IPv6 ICMP names and number 1 with IPv6 mean ICMPv6, as Neutron canonicalises.
        if ethertype == EtherType::IPv6 {
            match protocol.as_deref() {
                Some("icmpv6") | Some("icmp") => protocol = Some("ipv6-icmp".into()),
                Some("1") => protocol = Some("58".into()),
                _ => {}
            }
        }
        let number = protocol.as_deref().and_then(protocol_number);
        match number {
            _ if min.is_none() && max.is_none() => {}
            None => {
                return Err(invalid_typed(
                    "SecurityGroupProtocolRequiredWithPorts",
                    "Must also specify protocol if port range is given.".into(),
                ))
            }
            Some(p) if PORTED.contains(&p) => {
                if min == Some(0) || max == Some(0) {
                    return Err(invalid_typed("SecurityGroupInvalidPortValue", "Invalid value for port 0".into()));
                }
                if !matches!((min, max), (Some(lo), Some(hi)) if lo <= hi) {
                    return Err(invalid_typed(
                        "SecurityGroupInvalidPortRange",
                        "For TCP/UDP protocols, port_range_min must be <= port_range_max".into(),
                    ));
                }
            }
            Some(p) if ICMP.contains(&p) => {
                for (v, field, attr) in [(min, "type", "port_range_min"), (max, "code", "port_range_max")] {
                    if let Some(v) = v.filter(|v| !(0..=255).contains(v)) {
                        return Err(invalid_typed(
                            "SecurityGroupInvalidIcmpValue",
                            format!("Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."),
                        ));
                    }
                }
                if let (None, Some(code)) = (min, max) {
                    return Err(invalid_typed(
                        "SecurityGroupMissingIcmpType",
                        format!(
                            "ICMP code (port-range-max) {code} is provided but ICMP type (port-range-min) is missing."
                        ),
                    ));
                }
            }
            Some(p) => {
                return Err(invalid_typed(
                    "SecurityGroupInvalidProtocolForPort",
                    format!(
                        "Ports cannot be specified for protocol {p}. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE."
                    ),
                ))
            }
        }
        if let (Some(p), EtherType::IPv4) = (number, ethertype) {
            if IPV6_ONLY.contains(&p) {
                return Err(invalid_typed(
                    "SecurityGroupEthertypeConflictWithProtocol",
                    format!(
                        "Invalid ethertype {} for protocol {}.",
                        ethertype.as_str(),
                        protocol.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
        let prefix = match remote_ip_prefix {
            None => None,
            Some(RemotePrefix { net, text }) => {
                if (ethertype == EtherType::IPv4) != net.addr().is_ipv4() {
                    return Err(invalid_typed(
                        "SecurityGroupRuleParameterConflict",
                        format!("Conflicting value ethertype {} for CIDR {text}", ethertype.as_str()),
                    ));
                }
                Some(net.trunc().to_string())
            }
        };
        if prefix.is_some() && remote_group_id.is_some() {
            return Err(Error::Typed {
                status: 400,
                kind: "SecurityGroupMultipleRemoteEntites",
                message: "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided."
                    .into(),
            });
        }
        Ok(CreateSecurityGroupRule {
            security_group_id,
            direction,
            ethertype,
            protocol,
            port_range_min: min,
            port_range_max: max,
            remote_ip_prefix: prefix,
            remote_group_id,
            description,
        })
    }
}

impl FromBody for CreateSecurityGroupRule {
    fn from_body(mut body: Body) -> Result<Self> {
        let security_group_id = input::opt_str(&mut body, "security_group_id", 64, false)?
            .ok_or_else(|| Error::bad_request("Invalid input for operation: security_group_id is required."))?;
        let direction = match body.remove("direction") {
            Some(Value::String(d)) if d == "ingress" => Direction::Ingress,
            Some(Value::String(d)) if d == "egress" => Direction::Egress,
            other => {
                let shown = other.as_ref().map(show).unwrap_or_else(|| "None".into());
                return Err(Error::bad_request(format!(
                    "Invalid input for direction. Reason: '{shown}' is not in ['ingress', 'egress']."
                )));
            }
        };
        // `convert_ethertype_to_case_insensitive`.
        let ethertype = match body.remove("ethertype") {
            None | Some(Value::Null) => EtherType::IPv4,
            Some(Value::String(e)) if e.eq_ignore_ascii_case("ipv4") => EtherType::IPv4,
            Some(Value::String(e)) if e.eq_ignore_ascii_case("ipv6") => EtherType::IPv6,
            Some(other) => {
                return Err(invalid_typed(
                    "SecurityGroupRuleInvalidEtherType",
                    format!(
                        "Security group rule for ethertype '{}' not supported. Allowed values are ['IPv4', 'IPv6'].",
                        show(&other)
                    ),
                ))
            }
        };
        let protocol = protocol(body.remove("protocol"))?;
        let port_range_min = port_value(body.remove("port_range_min"))?;
        let port_range_max = port_value(body.remove("port_range_max"))?;
        // `convert_ip_prefix_to_cidr`: an address or a prefix.
        let remote_ip_prefix = match body.remove("remote_ip_prefix") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.is_empty() => None,
            Some(v) => {
                let net = match &v {
                    Value::String(p) if p.contains('/') => validate::subnet(&v).ok(),
                    Value::String(_) => validate::ip_address(&v).ok().map(ipnet::IpNet::from),
                    _ => None,
                }
                .ok_or_else(|| {
                    invalid_typed("InvalidCIDR", format!("Invalid CIDR {} given as IP prefix.", show(&v)))
                })?;
                Some(RemotePrefix { net, text: show(&v) })
            }
        };
        // Neutron does not check the id's format: any other string is a group that does not
        // exist (404, as Tempest expects), anything but a string is a 400.
        let remote_group_id = match body.remove("remote_group_id") {
            None | Some(Value::Null) => None,
            Some(v @ Value::String(_)) => match validate::uuid(&v) {
                Ok(id) => Some(id),
                Err(_) => return Err(not_found("security group", &show(&v))),
            },
            Some(v) => {
                return Err(validate::invalid(
                    "remote_group_id",
                    format!("{} is not a valid UUID", show(&v)),
                ))
            }
        };
        RuleSpec {
            security_group_id,
            direction,
            ethertype,
            protocol,
            port_range_min,
            port_range_max,
            remote_ip_prefix,
            remote_group_id,
            description: validate::opt_description(&mut body)?,
        }
        .check()
    }
}

/// Neutron's protocol names (`IP_PROTOCOL_MAP`) and their numbers.
const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];
/// Protocols whose rules may carry a port range (`SG_PORT_PROTO_NUMS`).
const PORTED: &[u8] = &[33, 132, 6, 17, 136];
const ICMP: &[u8] = &[1, 58];
/// IPv6-only protocols, refused with ethertype IPv4.
const IPV6_ONLY: &[u8] = &[41, 43, 44, 58, 59, 60];

/// The number of a stored protocol (a name from `PROTOCOLS` or a number).
fn protocol_number(p: &str) -> Option<u8> {
    PROTOCOLS
        .iter()
        .find(|(n, _)| *n == p)
        .map(|(_, num)| *num)
        .or_else(|| p.parse().ok())
}

/// `convert_protocol`: `null`, `""` and `any` mean any protocol; a number 0-255 (or its
/// string) or a known name otherwise, as Neutron stores it.
fn protocol(v: Option<Value>) -> Result<Option<String>> {
    let unsupported = |shown: String| {
        let names: Vec<String> = PROTOCOLS.iter().map(|(n, _)| format!("'{n}'")).collect();
        Error::Typed {
            status: 400,
            kind: "SecurityGroupRuleInvalidProtocol",
            message: format!(
                "Security group rule protocol {shown} not supported. Only protocol values (None, 'any', {}) and integer representations [0 to 255] are supported.",
                names.join(", ")
            ),
        }
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(p)) if p.is_empty() || p.eq_ignore_ascii_case("any") => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().filter(|n| *n <= 255) {
            Some(n) => Ok(Some(n.to_string())),
            None => Err(unsupported(n.to_string())),
        },
        Some(Value::String(p)) => {
            let t = p.trim();
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                return match t.parse::<u16>() {
                    Ok(n) if n <= 255 => Ok(Some(n.to_string())),
                    _ => Err(unsupported(p)),
                };
            }
            let lower = p.to_ascii_lowercase();
            if PROTOCOLS.iter().any(|(n, _)| *n == lower) {
                Ok(Some(lower))
            } else {
                Err(unsupported(p))
            }
        }
        Some(other) => Err(unsupported(show(&other))),
    }
}

/// A port number as a rule's range takes it: 0-65535 (`SecurityGroupInvalidPortValue`).
pub fn port_number(n: i64) -> Result<i64> {
    match n {
        0..=65535 => Ok(n),
        _ => Err(invalid_typed(
            "SecurityGroupInvalidPortValue",
            format!("Invalid value for port {n}"),
        )),
    }
}

/// `convert_validate_port_value`: an integer 0-65535 (or its string).
fn port_value(v: Option<Value>) -> Result<Option<i64>> {
    let bad = |shown: String| Error::Typed {
        status: 400,
        kind: "SecurityGroupInvalidPortValue",
        message: format!("Invalid value for port {shown}"),
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().filter(|p| *p <= 65535) {
            Some(p) => Ok(Some(p as i64)),
            None => Err(bad(n.to_string())),
        },
        Some(Value::String(s)) => match s.trim().parse::<u32>() {
            Ok(p) if p <= 65535 && !s.trim().starts_with('+') => Ok(Some(p as i64)),
            _ => Err(bad(s)),
        },
        Some(other) => Err(bad(show(&other))),
    }
}

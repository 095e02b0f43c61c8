//! Security groups and rules: the per-project `default` group (created on first use), Neutron's
//! rule validation and duplicate detection, and which groups a port is in.

use super::validate::{self, show};
use super::{may_write, not_found, owns, target_project_of};
use crate::app::identity::caller::Caller;
use crate::app::identity::input::{self, Body};
use crate::app::App;
use crate::db::security_groups::{self as sg, Rule, SecurityGroup};
use crate::db::Tx;
use crate::error::{Error, Result};
use serde_json::Value;

/// A group with its rules.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: SecurityGroup,
    pub rules: Vec<Rule>,
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

fn rule_row(group: &SecurityGroup, direction: &str, ethertype: &str, remote_group: Option<&str>, now: i64) -> Rule {
    Rule {
        id: uuid::Uuid::new_v4().to_string(),
        security_group_id: group.id.clone(),
        project_id: group.project_id.clone(),
        direction: direction.into(),
        ethertype: ethertype.into(),
        protocol: None,
        port_range_min: None,
        port_range_max: None,
        remote_ip_prefix: None,
        remote_group_id: remote_group.map(str::to_owned),
        description: String::new(),
        created_at: now,
        updated_at: now,
        revision_number: 0,
    }
}

/// Inserts a group with Neutron's default rules: all egress, ingress from the group itself
/// when `default`, for IPv4 and IPv6.
async fn insert_with_default_rules(tx: &mut Tx<'_>, g: &SecurityGroup) -> Result<()> {
    sg::insert_group(&mut **tx, g).await?;
    for eth in ["IPv4", "IPv6"] {
        sg::insert_rule(&mut **tx, &rule_row(g, "egress", eth, None, g.created_at)).await?;
        if g.is_default {
            sg::insert_rule(&mut **tx, &rule_row(g, "ingress", eth, Some(&g.id), g.created_at)).await?;
        }
    }
    Ok(())
}

impl App {
    /// The project's `default` group, created on first use; racing creators end with one group.
    pub(crate) async fn default_security_group(&self, tx: &mut Tx<'_>, project_id: &str) -> Result<SecurityGroup> {
        if let Some(g) = sg::default_group(&mut **tx, project_id).await? {
            return Ok(g);
        }
        let now = crate::db::now();
        let g = SecurityGroup {
            id: uuid::Uuid::new_v4().to_string(),
            name: "default".into(),
            project_id: project_id.into(),
            description: "Default security group".into(),
            stateful: true,
            is_default: true,
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        insert_with_default_rules(tx, &g).await?;
        Ok(g)
    }

    async fn ensure_default_group(&self, caller: &Caller) -> Result<()> {
        if let Some(p) = caller.project_id() {
            let mut tx = crate::db::begin(&self.db).await?;
            self.default_security_group(&mut tx, p).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn group_view(&self, g: SecurityGroup) -> Result<GroupView> {
        let rules = sg::list_rules(&self.db)
            .await?
            .into_iter()
            .filter(|r| r.security_group_id == g.id)
            .collect();
        Ok(GroupView { group: g, rules })
    }

    pub async fn create_security_group(&self, caller: &Caller, mut body: Body) -> Result<GroupView> {
        let project_id = target_project_of(caller, &mut body)?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        let name = validate::opt_string(&mut body, "name", validate::NAME_MAX)?.unwrap_or_default();
        if name.eq_ignore_ascii_case("default") {
            return Err(Error::Typed {
                status: 409,
                kind: "SecurityGroupDefaultAlreadyExists",
                message: "Default security group already exists.".into(),
            });
        }
        let now = crate::db::now();
        let g = SecurityGroup {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            project_id: project_id.clone(),
            description: validate::opt_description(&mut body)?.unwrap_or_default(),
            stateful: input::opt_bool(&mut body, "stateful")?.unwrap_or(true),
            is_default: false,
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        let mut tx = crate::db::begin(&self.db).await?;
        self.check_network_quota(&mut tx, &project_id, "security_group").await?;
        self.default_security_group(&mut tx, &project_id).await?;
        insert_with_default_rules(&mut tx, &g).await?;
        tx.commit().await?;
        self.group_view(g).await
    }

    pub async fn get_security_group(&self, caller: &Caller, id: &str) -> Result<GroupView> {
        match sg::get_group(&self.db, id).await? {
            Some(g) if owns(caller, &g.project_id) => self.group_view(g).await,
            _ => Err(not_found("security group", id)),
        }
    }

    pub async fn list_security_groups(&self, caller: &Caller) -> Result<Vec<GroupView>> {
        self.ensure_default_group(caller).await?;
        let rules = sg::list_rules(&self.db).await?;
        Ok(sg::list_groups(&self.db)
            .await?
            .into_iter()
            .filter(|g| owns(caller, &g.project_id))
            .map(|g| GroupView {
                rules: rules.iter().filter(|r| r.security_group_id == g.id).cloned().collect(),
                group: g,
            })
            .collect())
    }

    pub async fn update_security_group(&self, caller: &Caller, id: &str, mut body: Body) -> Result<GroupView> {
        let mut g = self.get_security_group(caller, id).await?.group;
        if !may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(n) = validate::opt_string(&mut body, "name", validate::NAME_MAX)? {
            if g.is_default && n != "default" {
                return Err(Error::Typed {
                    status: 409,
                    kind: "SecurityGroupCannotUpdateDefault",
                    message: "Updating default security group not allowed.".into(),
                });
            }
            if !g.is_default && n.eq_ignore_ascii_case("default") {
                return Err(Error::Typed {
                    status: 409,
                    kind: "SecurityGroupDefaultAlreadyExists",
                    message: "Default security group already exists.".into(),
                });
            }
            g.name = n;
        }
        if let Some(d) = validate::opt_description(&mut body)? {
            g.description = d;
        }
        if let Some(s) = input::opt_bool(&mut body, "stateful")? {
            g.stateful = s;
        }
        g.updated_at = crate::db::now();
        sg::update_group(&self.db, &g).await?;
        self.get_security_group(caller, id).await
    }

    pub async fn delete_security_group(&self, caller: &Caller, id: &str) -> Result<()> {
        let g = self.get_security_group(caller, id).await?.group;
        if !may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        if g.is_default && !caller.is_admin() {
            return Err(Error::Typed {
                status: 409,
                kind: "SecurityGroupCannotRemoveDefault",
                message: "Insufficient rights for removing default security group.".into(),
            });
        }
        let mut tx = crate::db::begin(&self.db).await?;
        if sg::ports_using(&mut *tx, id).await? > 0 {
            return Err(Error::Typed {
                status: 409,
                kind: "SecurityGroupInUse",
                message: format!("Security Group {id} in use."),
            });
        }
        sg::delete_group(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_security_group_rule(&self, caller: &Caller, mut body: Body) -> Result<Rule> {
        let group_id = input::opt_str(&mut body, "security_group_id", 64, false)?
            .ok_or_else(|| Error::bad_request("Invalid input for operation: security_group_id is required."))?;
        let g = self.get_security_group(caller, &group_id).await?.group;
        if !may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        let direction = match body.remove("direction") {
            Some(Value::String(d)) if d == "ingress" || d == "egress" => d,
            other => {
                let shown = other.as_ref().map(show).unwrap_or_else(|| "None".into());
                return Err(Error::bad_request(format!(
                    "Invalid input for direction. Reason: '{shown}' is not in ['ingress', 'egress']."
                )));
            }
        };
        // `convert_ethertype_to_case_insensitive`.
        let ethertype = match body.remove("ethertype") {
            None | Some(Value::Null) => "IPv4".to_string(),
            Some(Value::String(e)) if e.eq_ignore_ascii_case("ipv4") => "IPv4".into(),
            Some(Value::String(e)) if e.eq_ignore_ascii_case("ipv6") => "IPv6".into(),
            Some(other) => {
                return Err(Error::Typed {
                    status: 400,
                    kind: "SecurityGroupRuleInvalidEtherType",
                    message: format!(
                        "Security group rule for ethertype '{}' not supported. Allowed values are ['IPv4', 'IPv6'].",
                        show(&other)
                    ),
                })
            }
        };
        let mut protocol = protocol(body.remove("protocol"))?;
        // Legacy IPv6 ICMP names and number 1 with IPv6 mean ICMPv6, as Neutron canonicalises.
        if ethertype == "IPv6" {
            match protocol.as_deref() {
                Some("icmpv6") | Some("icmp") => protocol = Some("ipv6-icmp".into()),
                Some("1") => protocol = Some("58".into()),
                _ => {}
            }
        }
        let number = protocol.as_deref().and_then(protocol_number);
        let min = port_value(body.remove("port_range_min"))?;
        let max = port_value(body.remove("port_range_max"))?;
        let invalid_typed = |kind: &'static str, message: String| Error::Typed {
            status: 400,
            kind,
            message,
        };
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
        if let (Some(p), true) = (number, ethertype == "IPv4") {
            if IPV6_ONLY.contains(&p) {
                return Err(invalid_typed(
                    "SecurityGroupEthertypeConflictWithProtocol",
                    format!(
                        "Invalid ethertype {ethertype} for protocol {}.",
                        protocol.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
        // `convert_ip_prefix_to_cidr`: an address or prefix, stored as the network prefix.
        let prefix = match body.remove("remote_ip_prefix") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.is_empty() => None,
            Some(v) => {
                let net = match &v {
                    Value::String(p) if p.contains('/') => validate::subnet(&v).ok(),
                    Value::String(_) => validate::ip_address(&v).ok().map(ipnet::IpNet::from),
                    _ => None,
                }
                .ok_or_else(|| Error::Typed {
                    status: 400,
                    kind: "InvalidCIDR",
                    message: format!("Invalid CIDR {} given as IP prefix.", show(&v)),
                })?;
                if (ethertype == "IPv4") != net.addr().is_ipv4() {
                    return Err(invalid_typed(
                        "SecurityGroupRuleParameterConflict",
                        format!("Conflicting value ethertype {ethertype} for CIDR {}", show(&v)),
                    ));
                }
                Some(net.trunc().to_string())
            }
        };
        // Neutron does not check the id's format: any other string is a group that does not
        // exist (404, as Tempest expects), anything but a string is a 400.
        let remote_group = match body.remove("remote_group_id") {
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
        if prefix.is_some() && remote_group.is_some() {
            return Err(Error::Typed {
                status: 400,
                kind: "SecurityGroupMultipleRemoteEntites",
                message: "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided."
                    .into(),
            });
        }
        if let Some(rg) = &remote_group {
            self.get_security_group(caller, rg).await?;
        }
        let now = crate::db::now();
        let rule = Rule {
            protocol,
            port_range_min: min,
            port_range_max: max,
            remote_ip_prefix: prefix,
            description: validate::opt_description(&mut body)?.unwrap_or_default(),
            ..rule_row(&g, &direction, &ethertype, remote_group.as_deref(), now)
        };
        let mut tx = crate::db::begin(&self.db).await?;
        self.check_network_quota(&mut tx, &rule.project_id, "security_group_rule")
            .await?;
        sg::insert_rule(&mut *tx, &rule).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Typed {
                status: 409,
                kind: "SecurityGroupRuleExists",
                message: "Security group rule already exists.".into(),
            },
            other => other,
        })?;
        self.security_groups_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(rule)
    }

    pub async fn get_security_group_rule(&self, caller: &Caller, id: &str) -> Result<Rule> {
        match sg::get_rule(&self.db, id).await? {
            Some(r) if owns(caller, &r.project_id) => Ok(r),
            _ => Err(not_found("security group rule", id)),
        }
    }

    pub async fn list_security_group_rules(&self, caller: &Caller) -> Result<Vec<Rule>> {
        self.ensure_default_group(caller).await?;
        Ok(sg::list_rules(&self.db)
            .await?
            .into_iter()
            .filter(|r| owns(caller, &r.project_id))
            .collect())
    }

    pub async fn delete_security_group_rule(&self, caller: &Caller, id: &str) -> Result<()> {
        let r = self.get_security_group_rule(caller, id).await?;
        if !may_write(caller, &r.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = crate::db::begin(&self.db).await?;
        sg::delete_rule(&mut *tx, id).await?;
        self.security_groups_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Groups for a new or updated port: the requested ones (which must be the caller's), the
    /// project default when none is named and port security is on, none when it is off.
    pub(crate) async fn port_groups_for(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        project_id: &str,
        requested: Option<Vec<String>>,
        port_security: bool,
    ) -> Result<Vec<String>> {
        let Some(ids) = requested else {
            return if port_security {
                Ok(vec![self.default_security_group(tx, project_id).await?.id])
            } else {
                Ok(vec![])
            };
        };
        if !port_security && !ids.is_empty() {
            return Err(Error::Typed {
                status: 409,
                kind: "PortSecurityAndIPRequiredForSecurityGroups",
                message:
                    "Port security must be enabled and port must have an IP address in order to use security groups."
                        .into(),
            });
        }
        for id in &ids {
            match sg::get_group(&mut **tx, id).await? {
                Some(g) if owns(caller, &g.project_id) => {}
                _ => return Err(not_found("security group", id)),
            }
        }
        Ok(ids)
    }
}

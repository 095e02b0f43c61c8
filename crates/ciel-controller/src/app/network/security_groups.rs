//! Security groups and rules: the per-project `default` group (created on first use), Neutron's
//! rule validation and duplicate detection, and which groups a port is in.

use super::{may_write, not_found, owns, target_project};
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

const PROTOCOLS: &[(&str, i64)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("sctp", 132),
    ("dccp", 33),
    ("ospf", 89),
    ("vrrp", 112),
    ("pgm", 113),
    ("udplite", 136),
];
/// Protocols whose rules may carry a port range.
const PORTED: &[&str] = &["tcp", "udp", "sctp", "dccp", "udplite", "6", "17", "132", "33", "136"];
const ICMP: &[&str] = &["icmp", "icmpv6", "ipv6-icmp", "1", "58"];

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
        let project_id = target_project(caller, &mut body)?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        let name = input::opt_str(&mut body, "name", 255, true)?.unwrap_or_default();
        if name == "default" {
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
            description: input::opt_str(&mut body, "description", 255, true)?.unwrap_or_default(),
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
        if let Some(n) = input::opt_str(&mut body, "name", 255, true)? {
            if g.is_default && n != "default" {
                return Err(Error::Typed {
                    status: 409,
                    kind: "SecurityGroupCannotUpdateDefault",
                    message: "Updating default security group not allowed.".into(),
                });
            }
            if !g.is_default && n == "default" {
                return Err(Error::Typed {
                    status: 409,
                    kind: "SecurityGroupDefaultAlreadyExists",
                    message: "Default security group already exists.".into(),
                });
            }
            g.name = n;
        }
        if let Some(d) = input::opt_str(&mut body, "description", 255, true)? {
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
        let direction = input::opt_str(&mut body, "direction", 16, false)?.unwrap_or_default();
        if direction != "ingress" && direction != "egress" {
            return Err(Error::bad_request(format!(
                "Invalid input for direction. Reason: '{direction}' is not in ['ingress', 'egress']."
            )));
        }
        let ethertype = input::opt_str(&mut body, "ethertype", 8, true)?.unwrap_or_else(|| "IPv4".into());
        if ethertype != "IPv4" && ethertype != "IPv6" {
            return Err(Error::bad_request(format!(
                "Invalid input for ethertype. Reason: '{ethertype}' is not in ['IPv4', 'IPv6']."
            )));
        }
        let protocol = match body.remove("protocol") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.is_empty() || p == "any" => None,
            Some(Value::String(p)) => Some(p.to_ascii_lowercase()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(v) => return Err(Error::bad_request(format!("Invalid input for protocol: {v}"))),
        };
        if let Some(p) = &protocol {
            let known = PROTOCOLS.iter().any(|(n, _)| n == p) || p.parse::<u8>().is_ok();
            if !known {
                return Err(Error::Typed {
                    status: 400,
                    kind: "SecurityGroupRuleInvalidProtocol",
                    message: format!("Security group rule protocol {p} not supported."),
                });
            }
            if ethertype == "IPv4" && (p == "icmpv6" || p == "ipv6-icmp" || p == "58") {
                return Err(Error::bad_request(format!(
                    "Protocol {p} is not supported with ethertype IPv4."
                )));
            }
        }
        let num = |k: &str, v: Option<Value>| -> Result<Option<i64>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .map(Some)
                    .ok_or_else(|| Error::bad_request(format!("Invalid value for {k}: {v}"))),
            }
        };
        let min = num("port_range_min", body.remove("port_range_min"))?;
        let max = num("port_range_max", body.remove("port_range_max"))?;
        let invalid = |kind: &'static str, message: String| Error::Typed {
            status: 400,
            kind,
            message,
        };
        match protocol.as_deref() {
            _ if min.is_none() && max.is_none() => {}
            Some(p) if PORTED.contains(&p) => {
                if let Some(bad) = [min, max].into_iter().flatten().find(|v| !(1..=65535).contains(v)) {
                    return Err(invalid(
                        "SecurityGroupInvalidPortValue",
                        format!("Invalid value for port {bad}"),
                    ));
                }
                if !matches!((min, max), (Some(lo), Some(hi)) if lo <= hi) {
                    return Err(invalid(
                        "SecurityGroupInvalidPortRange",
                        "For TCP/UDP protocols, port_range_min must be <= port_range_max".into(),
                    ));
                }
            }
            Some(p) if ICMP.contains(&p) => {
                for (v, field, attr) in [(min, "type", "port-range-min"), (max, "code", "port-range-max")] {
                    if let Some(v) = v.filter(|v| !(0..=255).contains(v)) {
                        return Err(invalid(
                            "SecurityGroupInvalidIcmpValue",
                            format!("Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."),
                        ));
                    }
                }
                if let (None, Some(code)) = (min, max) {
                    return Err(invalid(
                        "SecurityGroupMissingIcmpType",
                        format!(
                            "ICMP code (port-range-max) {code} is provided but ICMP type (port-range-min) is missing."
                        ),
                    ));
                }
            }
            _ => {
                return Err(Error::Typed {
                    status: 400,
                    kind: "SecurityGroupInvalidPortRange",
                    message: "Port ranges require a TCP, UDP, SCTP or DCCP protocol.".into(),
                })
            }
        }
        let prefix = match input::opt_str(&mut body, "remote_ip_prefix", 64, true)? {
            None => None,
            Some(p) => {
                let net: ipnet::IpNet = p
                    .parse()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| Error::bad_request(format!("Invalid input for remote_ip_prefix: '{p}'.")))?;
                if (ethertype == "IPv4") != net.addr().is_ipv4() {
                    return Err(Error::bad_request(format!(
                        "Conflicting value ethertype {ethertype} for CIDR {p}"
                    )));
                }
                Some(net.trunc().to_string())
            }
        };
        let remote_group = input::opt_str(&mut body, "remote_group_id", 64, true)?;
        if prefix.is_some() && remote_group.is_some() {
            return Err(Error::bad_request(
                "Only remote_ip_prefix or remote_group_id may be provided.",
            ));
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
            description: input::opt_str(&mut body, "description", 255, true)?.unwrap_or_default(),
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
        requested: Option<Value>,
        port_security: bool,
    ) -> Result<Vec<String>> {
        let ids: Vec<String> = match requested {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Error::bad_request("Invalid input for security_groups."))
                })
                .collect::<Result<_>>()?,
            Some(Value::Null) | None => {
                return if port_security {
                    Ok(vec![self.default_security_group(tx, project_id).await?.id])
                } else {
                    Ok(vec![])
                }
            }
            Some(v) => return Err(Error::bad_request(format!("Invalid input for security_groups: {v}"))),
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

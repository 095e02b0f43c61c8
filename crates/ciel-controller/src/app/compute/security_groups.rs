//! Nova's legacy security-group API (`/os-security-groups`, `/os-security-group-rules`,
//! a server's groups and `addSecurityGroup`/`removeSecurityGroup`), proxied onto the
//! network service's groups as Nova proxies them to Neutron: Nova's validation and status
//! codes, Neutron's data.

use super::actions::Guard;
use crate::app::identity::caller::Caller;
use crate::app::json_input::Body;
use crate::app::network::params::{
    port_number, CreateSecurityGroup, Direction, EtherType, FromBody, RemotePrefix, RuleSpec, UpdatePort,
    UpdateSecurityGroup,
};
use crate::app::network::security_groups::GroupView;
use crate::app::App;
use crate::db::network::security_groups::Rule;
use crate::error::{Error, Result};
use serde_json::Value;

/// A group name or description as Nova checks them: at most 255 characters; names not blank.
fn text(field: &str, v: Option<Value>, required: bool) -> Result<Option<String>> {
    let bad = || Error::bad_request(format!("Invalid input for field/attribute {field}."));
    match v {
        None | Some(Value::Null) if required => Err(bad()),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > 255 || (field == "name" && s.trim().is_empty()) {
                return Err(bad());
            }
            Ok(Some(s))
        }
        Some(_) => Err(bad()),
    }
}

/// Nova's `security_group` body: a name (required on create) and a description.
#[derive(Debug, Clone, Default)]
pub struct NovaSecurityGroup {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl NovaSecurityGroup {
    pub fn for_create(mut body: Body) -> Result<Self> {
        Ok(NovaSecurityGroup {
            name: text("name", body.remove("name"), true)?,
            description: text("description", body.remove("description"), false)?,
        })
    }

    pub fn for_update(mut body: Body) -> Result<Self> {
        Ok(NovaSecurityGroup {
            name: text("name", body.remove("name"), false)?,
            description: text("description", body.remove("description"), false)?,
        })
    }
}

fn bad_field(f: &str) -> Error {
    Error::bad_request(format!("Invalid input for field/attribute {f}."))
}

/// Nova's `security_group_rule` body: always an ingress rule of `parent_group_id`, for
/// `ip_protocol` between `from_port` and `to_port`, from `cidr` or members of `group_id`.
#[derive(Debug, Clone)]
pub struct NovaSecurityGroupRule {
    pub parent_group_id: String,
    /// Lower case; `None` for any.
    pub ip_protocol: Option<String>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub cidr: Option<String>,
    pub group_id: Option<String>,
}

impl FromBody for NovaSecurityGroupRule {
    fn from_body(mut body: Body) -> Result<Self> {
        let parent_group_id = body
            .remove("parent_group_id")
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| bad_field("parent_group_id"))?;
        check_id(&parent_group_id)?;
        let port = |v: Option<Value>, f: &str| -> Result<Option<i64>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .map(Some)
                    .ok_or_else(|| bad_field(f)),
            }
        };
        let from_port = port(body.remove("from_port"), "from_port")?;
        let to_port = port(body.remove("to_port"), "to_port")?;
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        };
        Ok(NovaSecurityGroupRule {
            parent_group_id,
            from_port,
            to_port,
            ip_protocol: text(body.remove("ip_protocol")).map(|p| p.to_lowercase()),
            cidr: text(body.remove("cidr")),
            group_id: text(body.remove("group_id")),
        })
    }
}

/// Neutron's refusals become Nova's: what cannot be deleted is a 400 there.
fn as_nova(e: Error) -> Error {
    match e {
        Error::Typed {
            status: 409, message, ..
        }
        | Error::Conflict(message) => Error::BadRequest(message),
        other => other,
    }
}

/// Neutron ids are UUIDs; anything else cannot name a group (Nova answers 400 on update).
fn check_id(id: &str) -> Result<()> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| Error::bad_request(format!("Invalid security group id {id}")))
}

impl App {
    pub async fn nova_create_security_group(&self, caller: &Caller, req: NovaSecurityGroup) -> Result<GroupView> {
        let group = CreateSecurityGroup {
            name: Some(req.name.unwrap_or_default()),
            description: Some(req.description.unwrap_or_default()),
            ..Default::default()
        };
        self.create_security_group(caller, group).await.map_err(as_nova)
    }

    pub async fn nova_update_security_group(
        &self,
        caller: &Caller,
        id: &str,
        req: NovaSecurityGroup,
    ) -> Result<GroupView> {
        check_id(id)?;
        let change = UpdateSecurityGroup {
            name: req.name,
            description: req.description,
            ..Default::default()
        };
        self.update_security_group(caller, id, change).await.map_err(as_nova)
    }

    pub async fn nova_delete_security_group(&self, caller: &Caller, id: &str) -> Result<()> {
        let g = self.get_security_group(caller, id).await?;
        if g.group.is_default {
            return Err(Error::bad_request("Removing default security group not allowed."));
        }
        self.delete_security_group(caller, id).await.map_err(as_nova)
    }

    /// Creates a rule from Nova's request: always ingress.
    pub async fn nova_create_security_group_rule(&self, caller: &Caller, req: NovaSecurityGroupRule) -> Result<Rule> {
        self.get_security_group(caller, &req.parent_group_id).await?;
        let (from, to) = (req.from_port, req.to_port);
        let mut rule = RuleSpec {
            security_group_id: req.parent_group_id,
            direction: Direction::Ingress,
            ethertype: EtherType::IPv4,
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: None,
            description: None,
        };
        if let Some(p) = req.ip_protocol {
            if !matches!(p.as_str(), "tcp" | "udp" | "icmp") {
                return Err(Error::bad_request(format!("Invalid IP protocol {p}.")));
            }
            // ICMP: from_port is the type, to_port the code; -1 means any.
            let (min, max) = (from.filter(|n| *n >= 0), to.filter(|n| *n >= 0));
            if p != "icmp" && (min.is_none() || max.is_none() || min > max) {
                return Err(Error::bad_request("Invalid port range."));
            }
            rule.protocol = Some(p);
            rule.port_range_min = min.map(port_number).transpose().map_err(as_nova)?;
            rule.port_range_max = max.map(port_number).transpose().map_err(as_nova)?;
        }
        match (req.cidr, req.group_id) {
            (_, Some(g)) => {
                // As the network API reads it: an id that is no UUID is a group that does not exist.
                if uuid::Uuid::parse_str(&g).is_err() {
                    return Err(Error::not_found("security group", &g));
                }
                rule.remote_group_id = Some(g);
            }
            (Some(c), None) => {
                let net = c.parse::<ipnet::IpNet>().map_err(|_| bad_field("cidr"))?;
                if net.addr().is_ipv6() {
                    rule.ethertype = EtherType::IPv6;
                }
                rule.remote_ip_prefix = Some(RemotePrefix { net, text: c });
            }
            (None, None) => {
                let any = ipnet::IpNet::V4(ipnet::Ipv4Net::default());
                rule.remote_ip_prefix = Some(RemotePrefix {
                    net: any,
                    text: "0.0.0.0/0".into(),
                });
            }
        }
        let rule = rule.check().map_err(as_nova)?;
        self.create_security_group_rule(caller, rule).await.map_err(as_nova)
    }

    pub async fn nova_delete_security_group_rule(&self, caller: &Caller, id: &str) -> Result<()> {
        self.delete_security_group_rule(caller, id).await
    }

    /// The groups on the server's ports, each once.
    pub async fn server_security_groups(&self, caller: &Caller, id: &str) -> Result<Vec<GroupView>> {
        let s = self.get_server(caller, id).await?;
        let ports = self.ports_of_server(caller, &s.id).await?;
        let mut ids: Vec<String> = vec![];
        for p in &ports {
            for g in &p.security_groups {
                if !ids.contains(g) {
                    ids.push(g.clone());
                }
            }
        }
        let groups = self.list_security_groups(caller).await?;
        Ok(ids
            .iter()
            .filter_map(|id| groups.iter().find(|g| &g.group.id == id).cloned())
            .collect())
    }

    /// `addSecurityGroup`/`removeSecurityGroup`: the named group on (or off) every port of
    /// the server.
    pub async fn server_security_group(&self, caller: &Caller, id: &str, name: &str, add: bool) -> Result<()> {
        let s = self.server_for_update(caller, id, Guard::Lock).await?;
        let groups = self.list_security_groups(caller).await?;
        let own: Vec<_> = groups.iter().filter(|g| g.group.project_id == s.project_id).collect();
        let group = own
            .iter()
            .find(|g| g.group.id == name)
            .or_else(|| own.iter().find(|g| g.group.name == name))
            .ok_or_else(|| Error::not_found("security group", name))?;
        let ports = self.ports_of_server(caller, &s.id).await?;
        if !add && !ports.iter().any(|p| p.security_groups.contains(&group.group.id)) {
            return Err(Error::bad_request(format!(
                "Security group {name} not associated with the instance {id}"
            )));
        }
        for p in ports {
            let mut ids = p.security_groups.clone();
            if add && !ids.contains(&group.group.id) {
                ids.push(group.group.id.clone());
            } else if !add {
                ids.retain(|g| g != &group.group.id);
            } else {
                continue;
            }
            self.update_port(caller, &p.port.id, UpdatePort::security_groups(ids))
                .await?;
        }
        Ok(())
    }
}

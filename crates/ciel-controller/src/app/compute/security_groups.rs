//! Nova's legacy security-group API (`/os-security-groups`, `/os-security-group-rules`,
//! a server's groups and `addSecurityGroup`/`removeSecurityGroup`), proxied onto the
//! network service's groups as Nova proxies them to Neutron: Nova's validation and status
//! codes, Neutron's data.

use super::actions::Guard;
use crate::app::identity::caller::Caller;
use crate::app::identity::input::Body;
use crate::app::network::params::UpdatePort;
use crate::app::network::security_groups::GroupView;
use crate::app::App;
use crate::db::security_groups::Rule;
use crate::error::{Error, Result};
use serde_json::{json, Value};

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
    pub async fn nova_create_security_group(&self, caller: &Caller, mut body: Body) -> Result<GroupView> {
        let name = text("name", body.remove("name"), true)?.unwrap_or_default();
        let description = text("description", body.remove("description"), false)?.unwrap_or_default();
        let mut b = Body::new();
        b.insert("name".into(), json!(name));
        b.insert("description".into(), json!(description));
        self.create_security_group(caller, b).await.map_err(as_nova)
    }

    pub async fn nova_update_security_group(&self, caller: &Caller, id: &str, mut body: Body) -> Result<GroupView> {
        check_id(id)?;
        let mut b = Body::new();
        if let Some(n) = text("name", body.remove("name"), false)? {
            b.insert("name".into(), json!(n));
        }
        if let Some(d) = text("description", body.remove("description"), false)? {
            b.insert("description".into(), json!(d));
        }
        self.update_security_group(caller, id, b).await.map_err(as_nova)
    }

    pub async fn nova_delete_security_group(&self, caller: &Caller, id: &str) -> Result<()> {
        let g = self.get_security_group(caller, id).await?;
        if g.group.is_default {
            return Err(Error::bad_request("Removing default security group not allowed."));
        }
        self.delete_security_group(caller, id).await.map_err(as_nova)
    }

    /// Creates a rule from Nova's body (`parent_group_id`, `ip_protocol`, `from_port`,
    /// `to_port`, `cidr` or `group_id`): always ingress.
    pub async fn nova_create_security_group_rule(&self, caller: &Caller, mut body: Body) -> Result<Rule> {
        let bad = |f: &str| Error::bad_request(format!("Invalid input for field/attribute {f}."));
        let parent = body
            .remove("parent_group_id")
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| bad("parent_group_id"))?;
        check_id(&parent)?;
        self.get_security_group(caller, &parent).await?;
        let port = |v: Option<Value>, f: &str| -> Result<Option<i64>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .map(Some)
                    .ok_or_else(|| bad(f)),
            }
        };
        let from = port(body.remove("from_port"), "from_port")?;
        let to = port(body.remove("to_port"), "to_port")?;
        let protocol = body
            .remove("ip_protocol")
            .and_then(|v| v.as_str().map(str::to_lowercase))
            .filter(|p| !p.is_empty());
        let mut b = Body::new();
        b.insert("security_group_id".into(), json!(parent));
        b.insert("direction".into(), json!("ingress"));
        b.insert("ethertype".into(), json!("IPv4"));
        if let Some(p) = &protocol {
            if !matches!(p.as_str(), "tcp" | "udp" | "icmp") {
                return Err(Error::bad_request(format!("Invalid IP protocol {p}.")));
            }
            b.insert("protocol".into(), json!(p));
            // ICMP: from_port is the type, to_port the code; -1 means any.
            let (min, max) = (from.filter(|n| *n >= 0), to.filter(|n| *n >= 0));
            if p != "icmp" && (min.is_none() || max.is_none() || min > max) {
                return Err(Error::bad_request("Invalid port range."));
            }
            if let Some(n) = min {
                b.insert("port_range_min".into(), json!(n));
            }
            if let Some(n) = max {
                b.insert("port_range_max".into(), json!(n));
            }
        }
        match (body.remove("cidr"), body.remove("group_id")) {
            (_, Some(Value::String(g))) if !g.is_empty() => {
                b.insert("remote_group_id".into(), json!(g));
            }
            (Some(Value::String(c)), _) if !c.is_empty() => {
                if c.parse::<ipnet::IpNet>().is_err() {
                    return Err(bad("cidr"));
                }
                if c.contains(':') {
                    b.insert("ethertype".into(), json!("IPv6"));
                }
                b.insert("remote_ip_prefix".into(), json!(c));
            }
            _ => {
                b.insert("remote_ip_prefix".into(), json!("0.0.0.0/0"));
            }
        }
        self.create_security_group_rule(caller, b).await.map_err(as_nova)
    }

    pub async fn nova_delete_security_group_rule(&self, caller: &Caller, id: &str) -> Result<()> {
        self.delete_security_group_rule(caller, id).await
    }

    /// The groups on the server's ports, each once.
    pub async fn server_security_groups(&self, caller: &Caller, id: &str) -> Result<Vec<GroupView>> {
        let s = self.get_server(caller, id).await?;
        let ports = self.list_ports(caller).await?;
        let mut ids: Vec<String> = vec![];
        for p in ports.iter().filter(|p| p.port.device_id == s.id) {
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
        let ports: Vec<_> = self
            .list_ports(caller)
            .await?
            .into_iter()
            .filter(|p| p.port.device_id == s.id)
            .collect();
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

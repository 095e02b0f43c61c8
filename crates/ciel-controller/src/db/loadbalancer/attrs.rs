//! The attributes of load balancers and their children that are stored as a JSON body:
//! typed here, so a stored body either reads back whole or is a loud internal error.

use super::ChildKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbAttrs {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    pub vip_address: String,
    pub vip_subnet_id: String,
    pub vip_network_id: String,
    pub vip_qos_policy_id: Option<String>,
    /// The name requested (`amphora`, `octavia`, `ciel`): echoed as given, as Octavia does.
    pub provider: String,
    pub flavor_id: Option<String>,
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Ciel made the VIP port (and deletes it with the load balancer); false when the user
    /// gave `vip_port_id`.
    #[serde(default)]
    pub vip_port_created: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerAttrs {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: bool,
    pub protocol: String,
    pub protocol_port: u16,
    /// -1: unlimited.
    pub connection_limit: i64,
    pub default_pool_id: Option<String>,
    #[serde(default)]
    pub insert_headers: BTreeMap<String, String>,
    pub timeout_client_data: i64,
    pub timeout_member_connect: i64,
    pub timeout_member_data: i64,
    pub timeout_tcp_inspect: i64,
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub default_tls_container_ref: Option<String>,
    #[serde(default)]
    pub sni_container_refs: Vec<String>,
    pub client_ca_tls_container_ref: Option<String>,
    #[serde(default = "client_auth_none")]
    pub client_authentication: String,
    pub client_crl_container_ref: Option<String>,
}

fn client_auth_none() -> String {
    "NONE".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionPersistenceAttrs {
    #[serde(rename = "type")]
    pub kind: String,
    pub cookie_name: Option<String>,
    pub persistence_timeout: Option<i64>,
    pub persistence_granularity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolAttrs {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: bool,
    pub protocol: String,
    pub lb_algorithm: String,
    pub session_persistence: Option<SessionPersistenceAttrs>,
    #[serde(default)]
    pub tls_enabled: bool,
    pub tls_container_ref: Option<String>,
    pub ca_tls_container_ref: Option<String>,
    pub crl_container_ref: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAttrs {
    pub name: Option<String>,
    pub admin_state_up: bool,
    /// Echoed as submitted (Octavia does not normalise it).
    pub address: String,
    pub protocol_port: u16,
    pub weight: i64,
    pub backup: bool,
    pub subnet_id: Option<String>,
    pub monitor_address: Option<String>,
    pub monitor_port: Option<u16>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorAttrs {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub delay: i64,
    pub timeout: i64,
    pub max_retries: i64,
    pub max_retries_down: i64,
    pub http_method: Option<String>,
    pub url_path: Option<String>,
    pub expected_codes: Option<String>,
    pub http_version: Option<f64>,
    pub domain_name: Option<String>,
    pub admin_state_up: bool,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L7PolicyAttrs {
    pub name: Option<String>,
    pub description: Option<String>,
    pub action: String,
    pub position: i64,
    pub redirect_pool_id: Option<String>,
    pub redirect_url: Option<String>,
    pub redirect_prefix: Option<String>,
    pub redirect_http_code: Option<i64>,
    pub admin_state_up: bool,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L7RuleAttrs {
    #[serde(rename = "type")]
    pub kind: String,
    pub compare_type: String,
    pub key: Option<String>,
    pub value: String,
    pub invert: bool,
    pub admin_state_up: bool,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A child's attributes by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildAttrs {
    Listener(ListenerAttrs),
    Pool(PoolAttrs),
    Member(MemberAttrs),
    HealthMonitor(MonitorAttrs),
    L7Policy(L7PolicyAttrs),
    L7Rule(L7RuleAttrs),
}

impl ChildAttrs {
    pub fn kind(&self) -> ChildKind {
        match self {
            ChildAttrs::Listener(_) => ChildKind::Listener,
            ChildAttrs::Pool(_) => ChildKind::Pool,
            ChildAttrs::Member(_) => ChildKind::Member,
            ChildAttrs::HealthMonitor(_) => ChildKind::HealthMonitor,
            ChildAttrs::L7Policy(_) => ChildKind::L7Policy,
            ChildAttrs::L7Rule(_) => ChildKind::L7Rule,
        }
    }

    pub fn parse(kind: ChildKind, body: &str) -> serde_json::Result<Self> {
        Ok(match kind {
            ChildKind::Listener => ChildAttrs::Listener(serde_json::from_str(body)?),
            ChildKind::Pool => ChildAttrs::Pool(serde_json::from_str(body)?),
            ChildKind::Member => ChildAttrs::Member(serde_json::from_str(body)?),
            ChildKind::HealthMonitor => ChildAttrs::HealthMonitor(serde_json::from_str(body)?),
            ChildKind::L7Policy => ChildAttrs::L7Policy(serde_json::from_str(body)?),
            ChildKind::L7Rule => ChildAttrs::L7Rule(serde_json::from_str(body)?),
        })
    }

    pub fn to_json(&self) -> String {
        let v = match self {
            ChildAttrs::Listener(a) => serde_json::to_string(a),
            ChildAttrs::Pool(a) => serde_json::to_string(a),
            ChildAttrs::Member(a) => serde_json::to_string(a),
            ChildAttrs::HealthMonitor(a) => serde_json::to_string(a),
            ChildAttrs::L7Policy(a) => serde_json::to_string(a),
            ChildAttrs::L7Rule(a) => serde_json::to_string(a),
        };
        v.unwrap_or_default()
    }

    /// The name shown, and `admin_state_up`.
    pub fn name(&self) -> Option<&str> {
        match self {
            ChildAttrs::Listener(a) => a.name.as_deref(),
            ChildAttrs::Pool(a) => a.name.as_deref(),
            ChildAttrs::Member(a) => a.name.as_deref(),
            ChildAttrs::HealthMonitor(a) => a.name.as_deref(),
            ChildAttrs::L7Policy(a) => a.name.as_deref(),
            ChildAttrs::L7Rule(_) => None,
        }
    }

    pub fn admin_state_up(&self) -> bool {
        match self {
            ChildAttrs::Listener(a) => a.admin_state_up,
            ChildAttrs::Pool(a) => a.admin_state_up,
            ChildAttrs::Member(a) => a.admin_state_up,
            ChildAttrs::HealthMonitor(a) => a.admin_state_up,
            ChildAttrs::L7Policy(a) => a.admin_state_up,
            ChildAttrs::L7Rule(a) => a.admin_state_up,
        }
    }

    pub fn tags(&self) -> &[String] {
        match self {
            ChildAttrs::Listener(a) => &a.tags,
            ChildAttrs::Pool(a) => &a.tags,
            ChildAttrs::Member(a) => &a.tags,
            ChildAttrs::HealthMonitor(a) => &a.tags,
            ChildAttrs::L7Policy(a) => &a.tags,
            ChildAttrs::L7Rule(a) => &a.tags,
        }
    }
}

impl LbAttrs {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

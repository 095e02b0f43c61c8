//! Listeners: a protocol and port on the VIP, with a default pool, timeouts, headers and
//! allowed source CIDRs.

use super::params::{self, Change, Fields, MAX_TIMEOUT};
use super::{invalid, not_found, Tree};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::loadbalancer::{ChildAttrs, ChildKind, ListenerAttrs, OperatingStatus, ProvisioningStatus};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

const HEADERS: &[&str] = &[
    "X-Forwarded-For",
    "X-Forwarded-Port",
    "X-Forwarded-Proto",
    "X-Forwarded-IP",
    "X-Client-IP",
    "X-Real-IP",
];
const TLS_HEADERS: &[&str] = &[
    "X-SSL-Client-Verify",
    "X-SSL-Client-Has-Cert",
    "X-SSL-Client-DN",
    "X-SSL-Client-CN",
    "X-SSL-Issuer",
    "X-SSL-Client-SHA1",
    "X-SSL-Client-Not-Before",
    "X-SSL-Client-Not-After",
];

#[derive(Debug, Clone)]
pub struct CreateListener {
    pub loadbalancer_id: String,
    pub attrs: ListenerAttrs,
}

/// What a listener update changes.
#[derive(Debug, Clone)]
pub struct UpdateListener {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub connection_limit: Change<i64>,
    pub default_pool_id: Change<Option<String>>,
    pub insert_headers: Option<BTreeMap<String, String>>,
    pub timeouts: [Change<i64>; 4],
    pub allowed_cidrs: Change<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

fn timeout(f: &mut Fields, k: &str) -> Result<Option<i64>> {
    f.int(k, 0, MAX_TIMEOUT)
}

/// TLS and HSTS options: accepted and kept only where Ciel cannot serve them yet (refused
/// with Octavia's texts for the protocols that never take them).
/// `(default_tls_container_ref, sni_container_refs, client_ca_tls_container_ref, client_crl_container_ref)`.
type TlsRefs = (Option<String>, Vec<String>, Option<String>, Option<String>);

fn tls_refs(f: &mut Fields) -> Result<TlsRefs> {
    let d = f.string("default_tls_container_ref", 255)?;
    let sni = f.strings("sni_container_refs", 255)?.unwrap_or_default();
    let ca = f.string("client_ca_tls_container_ref", 255)?;
    let crl = f.string("client_crl_container_ref", 255)?;
    for k in [
        "tls_ciphers",
        "tls_versions",
        "alpn_protocols",
        "hsts_max_age",
        "hsts_include_subdomains",
        "hsts_preload",
    ] {
        f.raw(k);
    }
    Ok((d, sni, ca, crl))
}

/// A listener's own attributes (also of a listener in a fully populated create).
pub(super) fn read_attrs(f: &mut Fields) -> Result<ListenerAttrs> {
    let protocol = f
        .one_of("protocol", params::LISTENER_PROTOCOLS)?
        .ok_or_else(|| mandatory("protocol"))?;
    let protocol_port = f.port("protocol_port")?.ok_or_else(|| mandatory("protocol_port"))?;
    let (d, sni, ca, crl) = tls_refs(f)?;
    Ok(ListenerAttrs {
        name: f.string("name", 255)?,
        description: f.string("description", 255)?,
        admin_state_up: f.bool("admin_state_up")?.unwrap_or(true),
        protocol,
        protocol_port,
        connection_limit: f.int("connection_limit", -1, i64::from(i32::MAX))?.unwrap_or(-1),
        default_pool_id: f.uuid("default_pool_id")?,
        insert_headers: f.string_map("insert_headers")?.unwrap_or_default(),
        timeout_client_data: timeout(f, "timeout_client_data")?.unwrap_or(50_000),
        timeout_member_connect: timeout(f, "timeout_member_connect")?.unwrap_or(5_000),
        timeout_member_data: timeout(f, "timeout_member_data")?.unwrap_or(50_000),
        timeout_tcp_inspect: timeout(f, "timeout_tcp_inspect")?.unwrap_or(0),
        allowed_cidrs: f.cidrs("allowed_cidrs")?.unwrap_or_default(),
        tags: f.tags()?.unwrap_or_default(),
        default_tls_container_ref: d,
        sni_container_refs: sni,
        client_ca_tls_container_ref: ca,
        client_authentication: f
            .one_of("client_authentication", &["NONE", "OPTIONAL", "MANDATORY"])?
            .unwrap_or_else(|| "NONE".into()),
        client_crl_container_ref: crl,
    })
}

impl TryFrom<serde_json::Value> for CreateListener {
    type Error = Error;

    fn try_from(v: serde_json::Value) -> Result<Self> {
        let mut f = Fields::new("listener_", v)?;
        let attrs = read_attrs(&mut f)?;
        let loadbalancer_id = f.uuid("loadbalancer_id")?.ok_or_else(|| mandatory("loadbalancer_id"))?;
        f.raw("project_id");
        f.raw("tenant_id");
        f.finish()?;
        Ok(CreateListener { loadbalancer_id, attrs })
    }
}

impl TryFrom<serde_json::Value> for UpdateListener {
    type Error = Error;

    fn try_from(v: serde_json::Value) -> Result<Self> {
        let mut f = Fields::new("listener_", v)?;
        let r = UpdateListener {
            name: f.string("name", 255)?,
            description: f.string("description", 255)?,
            admin_state_up: f.bool("admin_state_up")?,
            connection_limit: Change::read(&mut f, "connection_limit", |f| {
                f.int("connection_limit", -1, i64::from(i32::MAX))
            })?,
            default_pool_id: Change::read(&mut f, "default_pool_id", |f| Ok(f.uuid("default_pool_id")?.map(Some)))?,
            insert_headers: f.string_map("insert_headers")?,
            timeouts: [
                Change::read(&mut f, "timeout_client_data", |f| timeout(f, "timeout_client_data"))?,
                Change::read(&mut f, "timeout_member_connect", |f| {
                    timeout(f, "timeout_member_connect")
                })?,
                Change::read(&mut f, "timeout_member_data", |f| timeout(f, "timeout_member_data"))?,
                Change::read(&mut f, "timeout_tcp_inspect", |f| timeout(f, "timeout_tcp_inspect"))?,
            ],
            allowed_cidrs: Change::read(&mut f, "allowed_cidrs", |f| f.cidrs("allowed_cidrs"))?,
            tags: f.tags()?,
        };
        tls_refs(&mut f)?;
        f.raw("client_authentication");
        f.finish()?;
        Ok(r)
    }
}

pub fn mandatory(field: &str) -> Error {
    Error::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: 'None'. Mandatory field missing."
    ))
}

/// The checks Octavia makes of a listener's options against its protocol and VIP.
pub(super) fn check_listener(t: &Tree, id: Option<&str>, a: &ListenerAttrs) -> Result<()> {
    let p = a.protocol.as_str();
    if !a.insert_headers.is_empty() {
        if matches!(p, "UDP" | "SCTP") {
            return Err(invalid(format!("{p} protocol listener does not support TLS.")));
        }
        if !matches!(p, "HTTP" | "TERMINATED_HTTPS") {
            return Err(Error::bad_request(format!(
                "insert-headers is not a valid option for a {p} protocol listener."
            )));
        }
        let bad: Vec<&str> = a
            .insert_headers
            .keys()
            .map(String::as_str)
            .filter(|h| !(HEADERS.contains(h) || (p == "TERMINATED_HTTPS" && TLS_HEADERS.contains(h))))
            .collect();
        if !bad.is_empty() {
            return Err(Error::bad_request(format!(
                "{} is not a valid option for insert_headers",
                bad.join(", ")
            )));
        }
    }
    let has_tls = a.default_tls_container_ref.is_some() || !a.sni_container_refs.is_empty();
    if has_tls && p != "TERMINATED_HTTPS" {
        return Err(invalid(format!(
            "Certificate container references are not allowed on {p} protocol listeners."
        )));
    }
    if p == "TERMINATED_HTTPS" && !has_tls {
        return Err(invalid(
            "An SNI or default certificate container reference must be provided for TERMINATED_HTTPS protocol listeners.",
        ));
    }
    let vip_v4 =
        t.lb.attrs
            .vip_address
            .parse::<std::net::IpAddr>()
            .map(|a| a.is_ipv4())
            .unwrap_or(true);
    for c in &a.allowed_cidrs {
        let v4 = c
            .parse::<ipnet::IpNet>()
            .map(|n| matches!(n, ipnet::IpNet::V4(_)))
            .unwrap_or(true);
        if v4 != vip_v4 {
            return Err(invalid(format!(
                "CIDR {c} IP version incompatible with all VIPs ['{}'] IP version.",
                t.lb.attrs.vip_address
            )));
        }
    }
    for other in t.of_kind(ChildKind::Listener).filter(|l| Some(l.id.as_str()) != id) {
        if let ChildAttrs::Listener(o) = &other.attrs {
            if o.protocol_port == a.protocol_port && params::l4(&o.protocol) == params::l4(p) {
                return Err(Error::conflict(format!(
                    "Another Listener on this Load Balancer is already using protocol {} and protocol_port {}",
                    o.protocol, o.protocol_port
                )));
            }
        }
    }
    if let Some(pool_id) = &a.default_pool_id {
        if p == "PROMETHEUS" {
            return Err(Error::bad_request(
                "Protocol PROMETHEUS listeners cannot have child objects.",
            ));
        }
        let pool = t
            .child(pool_id)
            .filter(|c| c.kind() == ChildKind::Pool)
            .ok_or_else(|| not_found(Some(ChildKind::Pool), pool_id))?;
        if let ChildAttrs::Pool(pa) = &pool.attrs {
            params::check_pool_fits(p, &pa.protocol)?;
        }
        if t.of_kind(ChildKind::Listener).any(|l| {
            Some(l.id.as_str()) != id
                && matches!(&l.attrs, ChildAttrs::Listener(o) if o.default_pool_id.as_deref() == Some(pool_id))
        }) {
            return Err(Error::conflict(format!(
                "Pool {pool_id} is in use and cannot be modified."
            )));
        }
    }
    Ok(())
}

impl App {
    pub async fn create_listener(&self, caller: &Caller, req: CreateListener) -> Result<(Tree, String)> {
        let mut tx = self.begin().await?;
        let mut t = super::writable_tree(&mut tx, caller, &req.loadbalancer_id).await?;
        self.check_lb_quota(&mut tx, &t.lb.project_id, Some(ChildKind::Listener), 1)
            .await?;
        check_listener(&t, None, &req.attrs)?;
        t.lock()?;
        let c = t.new_child(None, ChildAttrs::Listener(req.attrs), OperatingStatus::Offline);
        let id = c.id.clone();
        t.add(c);
        let t = super::commit_change(tx, t, &[]).await?;
        Ok((t, id))
    }

    pub async fn update_listener(&self, caller: &Caller, id: &str, req: UpdateListener) -> Result<Tree> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::Listener, id).await?;
        let Some(ChildAttrs::Listener(mut a)) = t.child(id).map(|c| c.attrs.clone()) else {
            return Err(not_found(Some(ChildKind::Listener), id));
        };
        if let Some(n) = req.name {
            a.name = Some(n);
        }
        if let Some(d) = req.description {
            a.description = Some(d);
        }
        if let Some(up) = req.admin_state_up {
            a.admin_state_up = up;
        }
        req.connection_limit.apply(&mut a.connection_limit, -1);
        req.default_pool_id.apply(&mut a.default_pool_id, None);
        if let Some(h) = req.insert_headers {
            a.insert_headers = h;
        }
        let [c, mc, md, ti] = req.timeouts;
        c.apply(&mut a.timeout_client_data, 50_000);
        mc.apply(&mut a.timeout_member_connect, 5_000);
        md.apply(&mut a.timeout_member_data, 50_000);
        ti.apply(&mut a.timeout_tcp_inspect, 0);
        req.allowed_cidrs.apply(&mut a.allowed_cidrs, vec![]);
        if let Some(tags) = req.tags {
            a.tags = tags;
        }
        check_listener(&t, Some(id), &a)?;
        t.lock()?;
        if let Some(l) = t.child_mut(id) {
            l.attrs = ChildAttrs::Listener(a);
        }
        let t = super::commit_change(tx, t, &[id.to_string()]).await?;
        Ok(t)
    }

    pub async fn delete_listener(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::Listener, id).await?;
        t.lock()?;
        if let Some(l) = t.child_mut(id) {
            l.provisioning_status = ProvisioningStatus::PendingDelete;
        }
        super::commit_change(tx, t, &[]).await?;
        Ok(())
    }
}

//! Pools: the members a listener balances over, with the algorithm and session persistence.

use super::listeners::mandatory;
use super::params::{self, Change, Fields};
use super::{invalid, not_found, Tree};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::loadbalancer::{
    ChildAttrs, ChildKind, OperatingStatus, PoolAttrs, ProvisioningStatus, SessionPersistenceAttrs,
};
use crate::error::{Error, Result};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct CreatePool {
    pub loadbalancer_id: Option<String>,
    pub listener_id: Option<String>,
    pub attrs: PoolAttrs,
}

#[derive(Debug, Clone)]
pub struct UpdatePool {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub lb_algorithm: Option<String>,
    pub session_persistence: Change<SessionPersistenceAttrs>,
    pub tags: Option<Vec<String>>,
}

fn persistence(f: &mut Fields) -> Result<Option<SessionPersistenceAttrs>> {
    let Some(mut s) = f.object("session_persistence", "session_persistence")? else {
        return Ok(None);
    };
    let kind = s
        .one_of("type", params::PERSISTENCE)?
        .ok_or_else(|| mandatory("type"))?;
    let cookie_name = s.string("cookie_name", 255)?;
    if let Some(c) = &cookie_name {
        if c.is_empty() || c.chars().any(|ch| ch.is_whitespace() || matches!(ch, ',' | ';' | '\\')) {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute cookie_name. Value: '{c}'. Value should match the pattern ^[^\\s,;\\\\]+$"
            )));
        }
    }
    let r = SessionPersistenceAttrs {
        kind,
        cookie_name,
        persistence_timeout: s.int("persistence_timeout", 0, i64::from(i32::MAX))?,
        persistence_granularity: s.ip("persistence_granularity")?,
    };
    s.finish()?;
    Ok(Some(r))
}

/// A pool's own attributes (also of a pool in a fully populated create).
pub(super) fn read_attrs(f: &mut Fields) -> Result<PoolAttrs> {
    Ok(PoolAttrs {
        name: f.string("name", 255)?,
        description: f.string("description", 255)?,
        admin_state_up: f.bool("admin_state_up")?.unwrap_or(true),
        protocol: f
            .one_of("protocol", params::POOL_PROTOCOLS)?
            .ok_or_else(|| mandatory("protocol"))?,
        lb_algorithm: f
            .one_of("lb_algorithm", params::ALGORITHMS)?
            .ok_or_else(|| mandatory("lb_algorithm"))?,
        session_persistence: persistence(f)?,
        tls_enabled: f.bool("tls_enabled")?.unwrap_or(false),
        tls_container_ref: f.string("tls_container_ref", 255)?,
        ca_tls_container_ref: f.string("ca_tls_container_ref", 255)?,
        crl_container_ref: f.string("crl_container_ref", 255)?,
        tags: f.tags()?.unwrap_or_default(),
    })
}

impl TryFrom<Value> for CreatePool {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("pool", v)?;
        let r = CreatePool {
            loadbalancer_id: f.uuid("loadbalancer_id")?,
            listener_id: f.uuid("listener_id")?,
            attrs: read_attrs(&mut f)?,
        };
        for k in [
            "project_id",
            "tenant_id",
            "tls_ciphers",
            "tls_versions",
            "alpn_protocols",
        ] {
            f.raw(k);
        }
        f.finish()?;
        if r.loadbalancer_id.is_none() && r.listener_id.is_none() {
            return Err(invalid("Must provide at least one of: loadbalancer_id, listener_id"));
        }
        Ok(r)
    }
}

impl TryFrom<Value> for UpdatePool {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("pool", v)?;
        let r = UpdatePool {
            name: f.string("name", 255)?,
            description: f.string("description", 255)?,
            admin_state_up: f.bool("admin_state_up")?,
            lb_algorithm: f.one_of("lb_algorithm", params::ALGORITHMS)?,
            session_persistence: Change::read(&mut f, "session_persistence", persistence)?,
            tags: f.tags()?,
        };
        for k in [
            "tls_enabled",
            "tls_container_ref",
            "ca_tls_container_ref",
            "crl_container_ref",
            "tls_ciphers",
            "tls_versions",
            "alpn_protocols",
        ] {
            f.raw(k);
        }
        f.finish()?;
        Ok(r)
    }
}

/// Octavia's checks of a pool's persistence and algorithm for its protocol.
pub(super) fn check_pool(a: &PoolAttrs) -> Result<()> {
    if a.lb_algorithm == "SOURCE_IP_PORT" {
        return Err(Error::Typed {
            status: 501,
            kind: "ProviderUnsupportedOptionError",
            message: "Provider 'amphora' does not support a requested option: Amphora provider does not support SOURCE_IP_PORT algorithm.".into(),
        });
    }
    let udp = matches!(a.protocol.as_str(), "UDP" | "SCTP");
    if let Some(s) = &a.session_persistence {
        if udp {
            if s.cookie_name.is_some() {
                return Err(invalid("Cookie names are not supported for UDP/SCTP pools."));
            }
            if s.kind != "SOURCE_IP" {
                return Err(invalid(format!(
                    "Session persistence of type {} is not supported for UDP/SCTP protocol pools.",
                    s.kind
                )));
            }
        } else {
            if s.persistence_timeout.is_some() || s.persistence_granularity.is_some() {
                return Err(invalid(
                    "persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.",
                ));
            }
            if s.kind == "APP_COOKIE" && s.cookie_name.is_none() {
                return Err(invalid(
                    "Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session persistence type.",
                ));
            }
            if s.kind != "APP_COOKIE" && s.cookie_name.is_some() {
                return Err(invalid(
                    "Field \"cookie_name\" can only be specified with session persistence of type \"APP_COOKIE\".",
                ));
            }
        }
    }
    Ok(())
}

impl App {
    pub async fn create_pool(&self, caller: &Caller, req: CreatePool) -> Result<(Tree, String)> {
        let mut tx = self.begin().await?;
        let lb_id = match (&req.listener_id, &req.loadbalancer_id) {
            (Some(l), _) => {
                crate::db::loadbalancer::get_child(&mut *tx, l)
                    .await?
                    .filter(|c| c.kind() == ChildKind::Listener)
                    .ok_or_else(|| not_found(Some(ChildKind::Listener), l))?
                    .loadbalancer_id
            }
            (None, Some(lb)) => lb.clone(),
            (None, None) => return Err(invalid("Must provide at least one of: loadbalancer_id, listener_id")),
        };
        let mut t = super::writable_tree(&mut tx, caller, &lb_id).await?;
        if req.loadbalancer_id.as_deref().is_some_and(|id| id != lb_id) {
            return Err(invalid("Listener and pool must be on the same load balancer."));
        }
        self.check_lb_quota(&mut tx, &t.lb.project_id, Some(ChildKind::Pool), 1)
            .await?;
        check_pool(&req.attrs)?;
        let mut locked = vec![];
        if let Some(l) = &req.listener_id {
            let Some(ChildAttrs::Listener(la)) = t.child(l).map(|c| c.attrs.clone()) else {
                return Err(not_found(Some(ChildKind::Listener), l));
            };
            if la.protocol == "PROMETHEUS" {
                return Err(Error::bad_request(
                    "Protocol PROMETHEUS listeners cannot have child objects.",
                ));
            }
            params::check_pool_fits(&la.protocol, &req.attrs.protocol)?;
            if la.default_pool_id.is_some() {
                return Err(Error::conflict("This listener already has a default pool"));
            }
            locked.push(l.clone());
        }
        t.lock()?;
        let c = t.new_child(None, ChildAttrs::Pool(req.attrs), OperatingStatus::Offline);
        let id = c.id.clone();
        t.add(c);
        if let Some(l) = &req.listener_id {
            if let Some(ChildAttrs::Listener(la)) = t.child_mut(l).map(|c| &mut c.attrs) {
                la.default_pool_id = Some(id.clone());
            }
        }
        let t = super::commit_change(tx, t, &locked).await?;
        Ok((t, id))
    }

    pub async fn update_pool(&self, caller: &Caller, id: &str, req: UpdatePool) -> Result<Tree> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::Pool, id).await?;
        let Some(ChildAttrs::Pool(mut a)) = t.child(id).map(|c| c.attrs.clone()) else {
            return Err(not_found(Some(ChildKind::Pool), id));
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
        if let Some(alg) = req.lb_algorithm {
            a.lb_algorithm = alg;
        }
        match req.session_persistence {
            Change::Keep => {}
            Change::Reset => a.session_persistence = None,
            Change::Set(s) => a.session_persistence = Some(s),
        }
        if let Some(tags) = req.tags {
            a.tags = tags;
        }
        check_pool(&a)?;
        t.lock()?;
        if let Some(p) = t.child_mut(id) {
            p.attrs = ChildAttrs::Pool(a);
        }
        let mut locked = t.listeners_of_pool(id);
        locked.push(id.to_string());
        let t = super::commit_change(tx, t, &locked).await?;
        Ok(t)
    }

    pub async fn delete_pool(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::Pool, id).await?;
        if let Some(p) = t
            .of_kind(ChildKind::L7Policy)
            .find(|p| matches!(&p.attrs, ChildAttrs::L7Policy(a) if a.redirect_pool_id.as_deref() == Some(id)))
        {
            return Err(Error::conflict(format!("Pool {id} is in use by L7 policy {}", p.id)));
        }
        t.lock()?;
        let locked = t.listeners_of_pool(id);
        if let Some(p) = t.child_mut(id) {
            p.provisioning_status = ProvisioningStatus::PendingDelete;
        }
        super::commit_change(tx, t, &locked).await?;
        Ok(())
    }
}

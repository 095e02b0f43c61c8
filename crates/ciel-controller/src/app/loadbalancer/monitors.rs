//! Health monitors: one per pool; the data plane checks members with it.

use super::listeners::mandatory;
use super::params::{self, Change, Fields};
use super::{invalid, not_found, Tree};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::loadbalancer::{ChildAttrs, ChildKind, MonitorAttrs, OperatingStatus, ProvisioningStatus};
use crate::error::{Error, Result};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct CreateMonitor {
    pub pool_id: String,
    pub attrs: MonitorAttrs,
    /// HTTP options given explicitly (refused for other types).
    pub http_given: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub struct UpdateMonitor {
    pub name: Option<String>,
    pub delay: Option<i64>,
    pub timeout: Option<i64>,
    pub max_retries: Option<i64>,
    pub max_retries_down: Change<i64>,
    pub http_method: Change<String>,
    pub url_path: Change<String>,
    pub expected_codes: Change<String>,
    pub http_version: Change<Option<f64>>,
    pub domain_name: Change<Option<String>>,
    pub admin_state_up: Option<bool>,
    pub tags: Option<Vec<String>>,
}

fn url_path(f: &mut Fields) -> Result<Option<String>> {
    match f.string("url_path", 2048)? {
        Some(p) if !params::valid_url_path(&p) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute url_path. Value: '{p}'. Value must be a valid URL Path string"
        ))),
        other => Ok(other),
    }
}

fn expected_codes(f: &mut Fields) -> Result<Option<String>> {
    match f.string("expected_codes", 64)? {
        Some(c) if !params::valid_expected_codes(&c) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute expected_codes. Value: '{c}'. Value should match the pattern ^(\\d{{3}}(\\s*,\\s*\\d{{3}})*)$|^(\\d{{3}}-\\d{{3}})$"
        ))),
        other => Ok(other),
    }
}

fn http_version(f: &mut Fields) -> Result<Option<f64>> {
    match f.raw("http_version") {
        None => Ok(None),
        Some(v) => match v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
            Some(x) if x == 1.0 || x == 1.1 => Ok(Some(x)),
            _ => Err(Error::bad_request(format!(
                "Invalid input for field/attribute http_version. Value: '{v}'. Value should be one of: 1.0, 1.1"
            ))),
        },
    }
}

fn domain_name(f: &mut Fields) -> Result<Option<String>> {
    match f.string("domain_name", 255)? {
        Some(d) if !params::valid_domain_name(&d) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute domain_name. Value: '{d}'. Value should be a valid domain name"
        ))),
        other => Ok(other),
    }
}

/// A monitor's own attributes, and which HTTP options were given (refused for other types).
pub(super) fn read_attrs(f: &mut Fields) -> Result<(MonitorAttrs, Vec<&'static str>)> {
    let http_given: Vec<&'static str> = ["http_method", "url_path", "expected_codes"]
        .into_iter()
        .filter(|k| f.has(k))
        .collect();
    let kind = f
        .one_of("type", params::MONITOR_TYPES)?
        .ok_or_else(|| mandatory("type"))?;
    let http = matches!(kind.as_str(), "HTTP" | "HTTPS");
    let attrs = MonitorAttrs {
        name: f.string("name", 255)?,
        delay: f
            .int("delay", 0, i64::from(i32::MAX))?
            .ok_or_else(|| mandatory("delay"))?,
        timeout: f
            .int("timeout", 0, i64::from(i32::MAX))?
            .ok_or_else(|| mandatory("timeout"))?,
        max_retries: f.int("max_retries", 1, 10)?.ok_or_else(|| mandatory("max_retries"))?,
        max_retries_down: f.int("max_retries_down", 1, 10)?.unwrap_or(3),
        http_method: f
            .one_of("http_method", params::HTTP_METHODS)?
            .or_else(|| http.then(|| "GET".into())),
        url_path: url_path(f)?.or_else(|| http.then(|| "/".into())),
        expected_codes: expected_codes(f)?.or_else(|| http.then(|| "200".into())),
        http_version: http_version(f)?,
        domain_name: domain_name(f)?,
        admin_state_up: f.bool("admin_state_up")?.unwrap_or(true),
        tags: f.tags()?.unwrap_or_default(),
        kind,
    };
    Ok((attrs, http_given))
}

impl TryFrom<Value> for CreateMonitor {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("health_monitor", v)?;
        let (attrs, http_given) = read_attrs(&mut f)?;
        let pool_id = f.uuid("pool_id")?.ok_or_else(|| mandatory("pool_id"))?;
        f.raw("project_id");
        f.raw("tenant_id");
        f.finish()?;
        Ok(CreateMonitor {
            pool_id,
            attrs,
            http_given,
        })
    }
}

impl TryFrom<Value> for UpdateMonitor {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("health_monitor", v)?;
        for k in ["delay", "timeout", "max_retries"] {
            if f.map_has_null(k) {
                return Err(Error::bad_request(format!("None is not a valid option for {k}")));
            }
        }
        let r = UpdateMonitor {
            name: f.string("name", 255)?,
            delay: f.int("delay", 0, i64::from(i32::MAX))?,
            timeout: f.int("timeout", 0, i64::from(i32::MAX))?,
            max_retries: f.int("max_retries", 1, 10)?,
            max_retries_down: Change::read(&mut f, "max_retries_down", |f| f.int("max_retries_down", 1, 10))?,
            http_method: Change::read(&mut f, "http_method", |f| f.one_of("http_method", params::HTTP_METHODS))?,
            url_path: Change::read(&mut f, "url_path", url_path)?,
            expected_codes: Change::read(&mut f, "expected_codes", expected_codes)?,
            http_version: Change::read(&mut f, "http_version", |f| Ok(http_version(f)?.map(Some)))?,
            domain_name: Change::read(&mut f, "domain_name", |f| Ok(domain_name(f)?.map(Some)))?,
            admin_state_up: f.bool("admin_state_up")?,
            tags: f.tags()?,
        };
        f.finish()?;
        Ok(r)
    }
}

/// Octavia's checks of a monitor against its pool.
pub(super) fn check_monitor(a: &MonitorAttrs, pool_protocol: &str, http_given: &[&str]) -> Result<()> {
    let udp = matches!(pool_protocol, "UDP" | "SCTP");
    if udp && !matches!(a.kind.as_str(), "UDP-CONNECT" | "SCTP" | "TCP" | "HTTP") {
        return Err(invalid(format!(
            "The associated pool protocol is {pool_protocol}, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."
        )));
    }
    if udp && a.kind == "UDP-CONNECT" && a.delay < 3 {
        return Err(invalid(format!(
            "The request delay value {} should be larger than 3 for UDP-CONNECT health monitor type.",
            a.delay
        )));
    }
    if !udp && matches!(a.kind.as_str(), "UDP-CONNECT" | "SCTP") {
        return Err(invalid(format!(
            "The {} type is only supported for pools of type UDP/SCTP.",
            a.kind
        )));
    }
    if !matches!(a.kind.as_str(), "HTTP" | "HTTPS") {
        if let Some(k) = http_given.first() {
            return Err(Error::bad_request(format!(
                "{k} is not a valid option for health monitors of type {}",
                a.kind
            )));
        }
    }
    if a.domain_name.is_some() && a.http_version.is_none() {
        return Err(invalid(
            "'http_version' must be specified when 'domain_name' is provided.",
        ));
    }
    if a.domain_name.is_some() && a.http_version == Some(1.0) {
        return Err(Error::bad_request(
            "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check",
        ));
    }
    Ok(())
}

fn pool_protocol(t: &Tree, pool_id: &str) -> Result<String> {
    match t.child(pool_id).map(|c| &c.attrs) {
        Some(ChildAttrs::Pool(p)) => Ok(p.protocol.clone()),
        _ => Err(not_found(Some(ChildKind::Pool), pool_id)),
    }
}

impl App {
    pub async fn create_monitor(&self, caller: &Caller, req: CreateMonitor) -> Result<(Tree, String)> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::Pool, &req.pool_id).await?;
        let protocol = pool_protocol(&t, &req.pool_id)?;
        check_monitor(&req.attrs, &protocol, &req.http_given)?;
        if t.monitor_of(&req.pool_id).is_some() {
            return Err(Error::conflict("This pool already has a health monitor"));
        }
        self.check_lb_quota(&mut tx, &t.lb.project_id, Some(ChildKind::HealthMonitor), 1)
            .await?;
        let pool = t
            .child(&req.pool_id)
            .cloned()
            .ok_or_else(|| not_found(Some(ChildKind::Pool), &req.pool_id))?;
        t.lock_parent(&pool)?;
        t.lock()?;
        let c = t.new_child(
            Some(req.pool_id.clone()),
            ChildAttrs::HealthMonitor(req.attrs),
            OperatingStatus::Offline,
        );
        let id = c.id.clone();
        t.add(c);
        let mut locked = t.listeners_of_pool(&req.pool_id);
        locked.push(req.pool_id.clone());
        let t = super::commit_change(tx, t, &locked).await?;
        Ok((t, id))
    }

    pub async fn update_monitor(&self, caller: &Caller, id: &str, req: UpdateMonitor) -> Result<Tree> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::HealthMonitor, id).await?;
        let hm = t
            .child(id)
            .cloned()
            .ok_or_else(|| not_found(Some(ChildKind::HealthMonitor), id))?;
        let ChildAttrs::HealthMonitor(mut a) = hm.attrs.clone() else {
            return Err(not_found(Some(ChildKind::HealthMonitor), id));
        };
        let pool_id = hm.parent_id.clone().unwrap_or_default();
        let http = matches!(a.kind.as_str(), "HTTP" | "HTTPS");
        let mut http_given = vec![];
        for (k, given) in [
            ("http_method", req.http_method != Change::Keep),
            ("url_path", req.url_path != Change::Keep),
            ("expected_codes", req.expected_codes != Change::Keep),
        ] {
            if given {
                http_given.push(k);
            }
        }
        if let Some(n) = req.name {
            a.name = Some(n);
        }
        if let Some(d) = req.delay {
            a.delay = d;
        }
        if let Some(x) = req.timeout {
            a.timeout = x;
        }
        if let Some(r) = req.max_retries {
            a.max_retries = r;
        }
        req.max_retries_down.apply(&mut a.max_retries_down, 3);
        let mut method = a.http_method.clone().unwrap_or_default();
        req.http_method.apply(&mut method, "GET".into());
        let mut path = a.url_path.clone().unwrap_or_default();
        req.url_path.apply(&mut path, "/".into());
        let mut codes = a.expected_codes.clone().unwrap_or_default();
        req.expected_codes.apply(&mut codes, "200".into());
        if http {
            a.http_method = Some(method);
            a.url_path = Some(path);
            a.expected_codes = Some(codes);
        }
        req.http_version.apply(&mut a.http_version, None);
        req.domain_name.apply(&mut a.domain_name, None);
        if let Some(up) = req.admin_state_up {
            a.admin_state_up = up;
        }
        if let Some(tags) = req.tags {
            a.tags = tags;
        }
        check_monitor(&a, &pool_protocol(&t, &pool_id)?, &http_given)?;
        let pool = t
            .child(&pool_id)
            .cloned()
            .ok_or_else(|| not_found(Some(ChildKind::Pool), &pool_id))?;
        t.lock_parent(&pool)?;
        t.lock()?;
        if let Some(m) = t.child_mut(id) {
            m.attrs = ChildAttrs::HealthMonitor(a);
        }
        let mut locked = t.listeners_of_pool(&pool_id);
        locked.extend([pool_id.clone(), id.to_string()]);
        let t = super::commit_change(tx, t, &locked).await?;
        Ok(t)
    }

    pub async fn delete_monitor(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::HealthMonitor, id).await?;
        let pool_id = t.child(id).and_then(|c| c.parent_id.clone()).unwrap_or_default();
        if let Some(pool) = t.child(&pool_id).cloned() {
            t.lock_parent(&pool)?;
        }
        t.lock()?;
        if let Some(m) = t.child_mut(id) {
            m.provisioning_status = ProvisioningStatus::PendingDelete;
        }
        let mut locked = t.listeners_of_pool(&pool_id);
        locked.push(pool_id);
        super::commit_change(tx, t, &locked).await?;
        Ok(())
    }
}

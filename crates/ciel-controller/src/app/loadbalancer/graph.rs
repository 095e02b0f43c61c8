//! The fully populated create: a load balancer POSTed with its listeners, their default
//! pools (defined inline or named from `pools`), the pools' members and health monitors,
//! all created in the load balancer's one transaction and served by its first revision
//! (what Kubernetes' cloud provider sends for a Service). Octavia's rules: every pool is
//! named, names are unique, a default pool carrying more than its name is a definition.

use super::listeners::{self, mandatory};
use super::members::{initial_status, CreateMember};
use super::params::Fields;
use super::{invalid, monitors, params, pools, Tree};
use crate::db::loadbalancer::{ChildAttrs, ListenerAttrs, MemberAttrs, MonitorAttrs, OperatingStatus, PoolAttrs};
use crate::error::{Error, Result};
use serde_json::Value;

/// A pool with its members and monitor, as defined in the create.
#[derive(Debug, Clone)]
pub struct GraphPool {
    pub attrs: PoolAttrs,
    pub members: Vec<MemberAttrs>,
    pub monitor: Option<(MonitorAttrs, Vec<&'static str>)>,
}

#[derive(Debug, Clone)]
pub struct GraphListener {
    pub attrs: ListenerAttrs,
    /// The default pool's name.
    pub default_pool: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub listeners: Vec<GraphListener>,
    pub pools: Vec<GraphPool>,
}

impl Graph {
    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty() && self.pools.is_empty()
    }

    pub fn count(&self) -> (i64, i64, i64, i64) {
        (
            self.listeners.len() as i64,
            self.pools.len() as i64,
            self.pools.iter().map(|p| p.members.len() as i64).sum(),
            self.pools.iter().filter(|p| p.monitor.is_some()).count() as i64,
        )
    }
}

fn read_pool(v: Value) -> Result<GraphPool> {
    let mut f = Fields::new("pool", v)?;
    let attrs = pools::read_attrs(&mut f)?;
    let members = f
        .objects("members", "member_")?
        .unwrap_or_default()
        .into_iter()
        .map(|m| CreateMember::try_from(m.into_value()).map(|c| c.attrs))
        .collect::<Result<Vec<_>>>()?;
    let monitor = match f.object("healthmonitor", "health_monitor")? {
        Some(mut h) => {
            let m = monitors::read_attrs(&mut h)?;
            h.finish()?;
            Some(m)
        }
        None => None,
    };
    f.raw("project_id");
    f.raw("tenant_id");
    f.finish()?;
    Ok(GraphPool {
        attrs,
        members,
        monitor,
    })
}

/// A pool given as a listener's default: a name only (a reference), or a definition.
fn pool_or_name(v: Value) -> Result<(String, Option<GraphPool>)> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid("Pools must be named when creating a fully populated loadbalancer."))?;
    let only_name = v.as_object().is_some_and(|m| m.keys().all(|k| k == "name"));
    if only_name {
        Ok((name, None))
    } else {
        Ok((name, Some(read_pool(v)?)))
    }
}

/// Reads `listeners` and `pools` of a load balancer create (None when neither is given).
pub fn read(f: &mut Fields) -> Result<Graph> {
    let mut g = Graph::default();
    for p in f.objects("pools", "pool")?.unwrap_or_default() {
        let p = read_pool(p.into_value())?;
        if p.attrs.name.is_none() {
            return Err(invalid(
                "Pools must be named when creating a fully populated loadbalancer.",
            ));
        }
        g.pools.push(p);
    }
    for l in f.objects("listeners", "listener_")?.unwrap_or_default() {
        let mut lf = l;
        let attrs = listeners::read_attrs(&mut lf)?;
        let default_pool = match lf.raw("default_pool") {
            None => None,
            Some(v) => {
                let (name, def) = pool_or_name(v)?;
                if let Some(mut def) = def {
                    def.attrs.name = Some(name.clone());
                    g.pools.push(def);
                }
                Some(name)
            }
        };
        if lf.raw("l7policies").and_then(|v| v.as_array().map(|a| !a.is_empty())) == Some(true) {
            return Err(Error::Typed {
                status: 501,
                kind: "ProviderNotImplementedError",
                message: "Provider 'amphora' does not support a requested action: L7 policies in a fully populated create are not served yet.".into(),
            });
        }
        lf.raw("project_id");
        lf.raw("tenant_id");
        lf.finish()?;
        g.listeners.push(GraphListener { attrs, default_pool });
    }
    let mut names: Vec<&str> = g.pools.iter().filter_map(|p| p.attrs.name.as_deref()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid(
            "Pools must be unique when creating a fully populated loadbalancer.",
        ));
    }
    for l in &g.listeners {
        if let Some(n) = &l.default_pool {
            if !names.contains(&n.as_str()) {
                return Err(invalid(format!(
                    "Pool '{n}' was referenced but no full definition was found."
                )));
            }
        }
    }
    Ok(g)
}

/// Adds the graph to a new load balancer's tree, every object `PENDING_CREATE`.
pub fn add(t: &mut Tree, g: Graph) -> Result<()> {
    let mut pool_ids: Vec<(String, String, String)> = vec![];
    for p in g.pools {
        pools::check_pool(&p.attrs)?;
        let name = p.attrs.name.clone().unwrap_or_default();
        let protocol = p.attrs.protocol.clone();
        let pool = t.new_child(None, ChildAttrs::Pool(p.attrs), OperatingStatus::Offline);
        let pid = pool.id.clone();
        t.add(pool);
        if let Some((m, http_given)) = p.monitor {
            monitors::check_monitor(&m, &protocol, &http_given)?;
            let hm = t.new_child(
                Some(pid.clone()),
                ChildAttrs::HealthMonitor(m),
                OperatingStatus::Offline,
            );
            t.add(hm);
        }
        let status = initial_status(t, &pid);
        for m in p.members {
            let c = t.new_child(Some(pid.clone()), ChildAttrs::Member(m), status);
            t.add(c);
        }
        pool_ids.push((name, pid, protocol));
    }
    for l in g.listeners {
        let mut attrs = l.attrs;
        if let Some(name) = &l.default_pool {
            let (_, pid, protocol) = pool_ids
                .iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(|| mandatory("default_pool"))?;
            if attrs.protocol == "PROMETHEUS" {
                return Err(Error::bad_request(
                    "Protocol PROMETHEUS listeners cannot have child objects.",
                ));
            }
            params::check_pool_fits(&attrs.protocol, protocol)?;
            attrs.default_pool_id = Some(pid.clone());
        }
        listeners::check_listener(t, None, &attrs)?;
        let c = t.new_child(None, ChildAttrs::Listener(attrs), OperatingStatus::Offline);
        t.add(c);
    }
    Ok(())
}

//! Load balancer quotas (`/v2/lbaas/quotas`): per project, per kind; -1 is unlimited and
//! the default of every kind, as in Octavia. Hitting one is a 403.

use super::{check_read, forbidden, params::Fields};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::loadbalancer::{self as db, ChildKind};
use crate::db::quota_overrides::{self, Service};
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The quota keys with the kind each counts (None: load balancers).
pub const KEYS: &[(&str, Option<ChildKind>)] = &[
    ("loadbalancer", None),
    ("listener", Some(ChildKind::Listener)),
    ("member", Some(ChildKind::Member)),
    ("pool", Some(ChildKind::Pool)),
    ("healthmonitor", Some(ChildKind::HealthMonitor)),
    ("l7policy", Some(ChildKind::L7Policy)),
    ("l7rule", Some(ChildKind::L7Rule)),
];

/// Deprecated spellings Octavia still takes and shows.
pub const ALIASES: &[(&str, &str)] = &[("load_balancer", "loadbalancer"), ("health_monitor", "healthmonitor")];

fn key_of(kind: Option<ChildKind>) -> &'static str {
    KEYS.iter()
        .find(|(_, k)| *k == kind)
        .map(|(n, _)| *n)
        .unwrap_or("loadbalancer")
}

/// A quota update: per key a limit, or None for back to the default.
pub type QuotaUpdate = BTreeMap<String, Option<i64>>;

pub fn parse_update(v: serde_json::Value) -> Result<QuotaUpdate> {
    let mut f = Fields::new("quotas", v)?;
    let mut out = QuotaUpdate::new();
    for (k, _) in KEYS {
        if f.has(k) {
            out.insert(k.to_string(), f.int(k, -1, 2_000_000_000)?);
        }
    }
    for (alias, k) in ALIASES {
        if f.has(alias) {
            out.insert(k.to_string(), f.int(alias, -1, 2_000_000_000)?);
        }
    }
    f.finish()?;
    Ok(out)
}

impl App {
    /// 403 when `project` would have more than its quota of `kind` with `more` added.
    pub(crate) async fn check_lb_quota(
        &self,
        tx: &mut Tx<'_>,
        project: &str,
        kind: Option<ChildKind>,
        more: i64,
    ) -> Result<()> {
        let key = key_of(kind);
        let limit = quota_overrides::overrides(&mut **tx, Service::LoadBalancer, project)
            .await?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, l)| l)
            .unwrap_or(-1);
        if limit < 0 {
            return Ok(());
        }
        if db::count(&mut **tx, kind, project).await? + more > limit {
            return Err(Error::Forbidden(format!(
                "Quota has been met for resources: {}",
                super::display(kind)
            )));
        }
        Ok(())
    }

    /// The effective quotas of a project (defaults filled in).
    pub async fn lb_quota(&self, caller: &Caller, project: &str) -> Result<BTreeMap<String, i64>> {
        check_read(caller, project)?;
        let set = quota_overrides::overrides(&self.db, Service::LoadBalancer, project).await?;
        Ok(KEYS
            .iter()
            .map(|(k, _)| {
                let v = set.iter().find(|(n, _)| n == k).map(|(_, l)| *l).unwrap_or(-1);
                (k.to_string(), v)
            })
            .collect())
    }

    /// The projects with quota rows, with what they set (None: the default).
    pub async fn lb_quota_rows(
        &self,
        caller: &Caller,
        project: Option<&str>,
    ) -> Result<Vec<(String, BTreeMap<String, Option<i64>>)>> {
        let scope = super::list_scope(caller, project)?;
        let projects: Vec<String> = match scope {
            Some(p) => vec![p],
            None => {
                crate::db::sql::query_scalar("SELECT DISTINCT project_id FROM lb_quotas ORDER BY project_id")
                    .fetch_all(&self.db)
                    .await?
            }
        };
        let mut out = vec![];
        for p in projects {
            let set = quota_overrides::overrides(&self.db, Service::LoadBalancer, &p).await?;
            if set.is_empty() {
                continue;
            }
            let row = KEYS
                .iter()
                .map(|(k, _)| (k.to_string(), set.iter().find(|(n, _)| n == k).map(|(_, l)| *l)))
                .collect();
            out.push((p, row));
        }
        Ok(out)
    }

    pub async fn set_lb_quota(
        &self,
        caller: &Caller,
        project: &str,
        update: QuotaUpdate,
    ) -> Result<BTreeMap<String, i64>> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let mut tx = self.begin().await?;
        let current = quota_overrides::overrides(&mut *tx, Service::LoadBalancer, project).await?;
        quota_overrides::reset(&mut *tx, Service::LoadBalancer, project).await?;
        for (k, _) in KEYS {
            let v = match update.get(*k) {
                Some(v) => *v,
                None => current.iter().find(|(n, _)| n == k).map(|(_, l)| *l),
            };
            if let Some(v) = v {
                quota_overrides::set(&mut *tx, Service::LoadBalancer, project, k, v).await?;
            }
        }
        tx.commit().await?;
        self.lb_quota(caller, project).await
    }

    pub async fn reset_lb_quota(&self, caller: &Caller, project: &str) -> Result<()> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        if quota_overrides::overrides(&self.db, Service::LoadBalancer, project)
            .await?
            .is_empty()
        {
            return Err(Error::not_found("Quotas", project));
        }
        quota_overrides::reset(&self.db, Service::LoadBalancer, project).await
    }
}

//! Network quotas: defaults from config, per-project overrides, and a check made inside the
//! same write transaction as the creation (SQLite's write lock makes check-then-insert atomic).

use super::params::UpdateNetworkQuota;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::network::quotas as q;
use crate::db::quota_overrides as ov;
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

pub const RESOURCES: &[&str] = &[
    "network",
    "subnet",
    "port",
    "router",
    "floatingip",
    "security_group",
    "security_group_rule",
    "subnetpool",
];

/// Neutron's defaults (-1 means unlimited).
pub fn default_limit(resource: &str) -> i64 {
    match resource {
        "network" | "subnet" | "router" => 100,
        "port" => 500,
        "floatingip" => 50,
        "security_group" => 10,
        "security_group_rule" => 100,
        _ => -1,
    }
}

impl App {
    pub async fn network_quota(&self, caller: &Caller, project_id: &str) -> Result<BTreeMap<String, i64>> {
        if !caller.is_admin() && caller.project_id() != Some(project_id) {
            return Err(Error::forbidden());
        }
        let mut out: BTreeMap<String, i64> = RESOURCES.iter().map(|r| (r.to_string(), default_limit(r))).collect();
        for (r, l) in ov::overrides(&self.db, ov::Service::Network, project_id).await? {
            out.insert(r, l);
        }
        Ok(out)
    }

    /// (limit, used) per resource.
    pub async fn network_quota_details(
        &self,
        caller: &Caller,
        project_id: &str,
    ) -> Result<BTreeMap<String, (i64, i64)>> {
        let limits = self.network_quota(caller, project_id).await?;
        let mut out = BTreeMap::new();
        for (r, l) in limits {
            let used = q::usage(&self.db, project_id, &r).await?;
            out.insert(r, (l, used));
        }
        Ok(out)
    }

    pub async fn list_network_quotas(&self, caller: &Caller) -> Result<Vec<(String, BTreeMap<String, i64>)>> {
        caller.require_admin()?;
        let mut out = vec![];
        for p in q::projects(&self.db).await? {
            out.push((p.clone(), self.network_quota(caller, &p).await?));
        }
        Ok(out)
    }

    pub async fn set_network_quota(
        &self,
        caller: &Caller,
        project_id: &str,
        req: UpdateNetworkQuota,
    ) -> Result<BTreeMap<String, i64>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        for (resource, limit) in req.limits {
            if req.check_limit && limit >= 0 {
                let used = q::usage(&mut *tx, project_id, resource).await?;
                if used > limit {
                    return Err(Error::bad_request(format!(
                        "Invalid input for {resource}. Reason: quota limit {limit} is below the current usage {used}."
                    )));
                }
            }
            ov::set(&mut *tx, ov::Service::Network, project_id, resource, limit).await?;
        }
        tx.commit().await?;
        self.network_quota(caller, project_id).await
    }

    pub async fn reset_network_quota(&self, caller: &Caller, project_id: &str) -> Result<()> {
        caller.require_admin()?;
        ov::reset(&self.db, ov::Service::Network, project_id).await
    }

    /// Called inside the creating transaction: refuses when the project is at its limit.
    pub(crate) async fn check_network_quota(&self, tx: &mut Tx<'_>, project_id: &str, resource: &str) -> Result<()> {
        let limit = ov::overrides(&mut **tx, ov::Service::Network, project_id)
            .await?
            .into_iter()
            .find(|(r, _)| r == resource)
            .map(|(_, l)| l)
            .unwrap_or_else(|| default_limit(resource));
        if limit >= 0 && q::usage(&mut **tx, project_id, resource).await? >= limit {
            return Err(Error::Typed {
                status: 409,
                kind: "OverQuota",
                message: format!("Quota exceeded for resources: ['{resource}']."),
            });
        }
        Ok(())
    }
}

//! Compute quotas (`os-quota-sets`): Nova's defaults, per-project overrides set by admins,
//! enforced inside the transactions that consume them.

use super::resource_params::{UpdateQuotaClassSet, UpdateQuotaSet};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::quota_classes;
use crate::db::quota_overrides::{self as db, Service};
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Nova's default limits (-1: unlimited).
pub const DEFAULTS: &[(&str, i64)] = &[
    ("instances", 10),
    ("cores", 20),
    ("ram", 51200),
    ("key_pairs", 100),
    ("metadata_items", 128),
    ("server_groups", 10),
    ("server_group_members", 10),
    ("injected_files", 5),
    ("injected_file_content_bytes", 10240),
    ("injected_file_path_bytes", 255),
];

pub fn default_limit(resource: &str) -> i64 {
    DEFAULTS
        .iter()
        .find(|(r, _)| *r == resource)
        .map(|(_, l)| *l)
        .unwrap_or(-1)
}

/// The network quotas of the compute API before 2.36, with Nova's defaults.
pub const LEGACY_NETWORK: &[(&str, i64)] = &[
    ("floating_ips", 10),
    ("fixed_ips", -1),
    ("security_groups", 10),
    ("security_group_rules", 20),
];

/// The default limits: Nova's, with the `default` quota class applied.
pub async fn class_defaults(tx: &mut Tx<'_>) -> Result<BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, i64> = DEFAULTS.iter().map(|(r, l)| (r.to_string(), *l)).collect();
    for (r, l) in quota_classes::limits(&mut **tx, "default").await? {
        out.insert(r, l);
    }
    Ok(out)
}

/// A project's effective limits: the defaults with its overrides applied.
pub async fn limits_in(tx: &mut Tx<'_>, project_id: &str) -> Result<BTreeMap<String, i64>> {
    let mut out = class_defaults(tx).await?;
    for (r, l) in db::overrides(&mut **tx, Service::Compute, project_id).await? {
        out.insert(r, l);
    }
    Ok(out)
}

impl App {
    /// Admins see any project's quota, members their own.
    pub async fn compute_quota(&self, caller: &Caller, project_id: &str) -> Result<BTreeMap<String, i64>> {
        if !caller.is_admin() && caller.project_id() != Some(project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = crate::db::begin_read(&self.db).await?;
        limits_in(&mut tx, project_id).await
    }

    /// Sets per-project limits (before 2.36 also the network quotas Nova still stored then:
    /// recorded and shown, but the network service enforces its own).
    pub async fn set_compute_quota(
        &self,
        caller: &Caller,
        project_id: &str,
        req: UpdateQuotaSet,
    ) -> Result<BTreeMap<String, i64>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        for (k, limit) in &req.limits {
            db::set(&mut *tx, Service::Compute, project_id, k, *limit).await?;
        }
        let out = limits_in(&mut tx, project_id).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn reset_compute_quota(&self, caller: &Caller, project_id: &str) -> Result<()> {
        caller.require_admin()?;
        db::reset(&self.db, Service::Compute, project_id).await
    }
}

impl App {
    /// The limits a project without overrides gets (anyone may see them).
    pub async fn compute_quota_defaults(&self) -> Result<BTreeMap<String, i64>> {
        let mut tx = self.begin().await?;
        class_defaults(&mut tx).await
    }

    /// A quota class's limits (any name shows the defaults; only `default` is applied).
    pub async fn quota_class(&self, caller: &Caller, class: &str) -> Result<BTreeMap<String, i64>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut out = class_defaults(&mut tx).await?;
        if class != "default" {
            for (r, l) in quota_classes::limits(&mut *tx, class).await? {
                out.insert(r, l);
            }
        }
        Ok(out)
    }

    /// Sets a quota class's limits (as `set_compute_quota`, for a class).
    pub async fn set_quota_class(
        &self,
        caller: &Caller,
        class: &str,
        req: UpdateQuotaClassSet,
    ) -> Result<BTreeMap<String, i64>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        for (k, limit) in &req.limits {
            quota_classes::set(&mut *tx, class, k, *limit).await?;
        }
        tx.commit().await?;
        self.quota_class(caller, class).await
    }
}

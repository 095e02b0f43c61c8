//! Per volume type quotas (`volumes_<type>`, `gigabytes_<type>`, `snapshots_<type>`), as
//! Cinder keeps them next to the project-wide ones: shown, defaulted, set and enforced on
//! create, extend, retype, snapshot and transfer. Usage is counted from the rows (volumes and
//! snapshots carry their project), so moving a row moves its usage.

use super::volumes::volume_limits;
use crate::app::App;
use crate::db::volume::{self as db};
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// A 413 in Cinder's words for the quota `name` (`volumes`, `gigabytes_<type>`, ...).
pub(crate) fn over_limit(name: &str, limit: i64, used: i64, more: i64) -> Error {
    let message = if name.starts_with("gigabytes") {
        format!(
            "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed {name} quota. \
             Requested {more}G, quota is {limit}G and {used}G has been consumed."
        )
    } else if name.starts_with("snapshots") {
        format!("SnapshotLimitExceeded: Maximum number of snapshots allowed ({limit}) exceeded")
    } else if name == "volumes" {
        format!("Maximum number of volumes allowed ({limit}) exceeded")
    } else {
        format!("VolumeLimitExceeded: Maximum number of volumes allowed ({limit}) exceeded for quota '{name}'.")
    };
    Error::Typed {
        status: 413,
        kind: "overLimit",
        message,
    }
}

impl App {
    /// Refuses with 413 when `project` would exceed a quota of the volume type `type_name`
    /// by adding `volumes`, `snapshots` and `gigabytes` of that type.
    pub(crate) async fn check_type_quota(
        &self,
        tx: &mut Tx<'_>,
        project: &str,
        type_name: &str,
        volumes: i64,
        snapshots: i64,
        gigabytes: i64,
    ) -> Result<()> {
        let limits = volume_limits(tx, project).await?;
        let used = db::usage_by_type(&mut *tx, project)
            .await?
            .remove(type_name)
            .unwrap_or_default();
        for (res, used, more) in [
            ("volumes", used.0, volumes),
            ("snapshots", used.1, snapshots),
            ("gigabytes", used.2, gigabytes),
        ] {
            let name = format!("{res}_{type_name}");
            let limit = limits.get(&name).copied().unwrap_or(-1);
            if more > 0 && limit >= 0 && used + more > limit {
                return Err(over_limit(&name, limit, used, more));
            }
        }
        Ok(())
    }

    /// The name of a volume type by id (for its quota keys).
    pub(crate) async fn type_name(&self, tx: &mut Tx<'_>, type_id: &str) -> Result<String> {
        Ok(db::get_type(&mut **tx, type_id)
            .await?
            .map(|t| t.name)
            .unwrap_or_default())
    }

    /// What a project uses, by quota key: the project-wide keys and every per-type one.
    pub async fn volume_quota_in_use(
        &self,
        caller: &crate::app::identity::caller::Caller,
        project: &str,
    ) -> Result<BTreeMap<String, i64>> {
        crate::app::policy::require_in_project(caller, project)?;
        let mut tx = crate::db::begin_read(&self.db).await?;
        let (v, s, gb) = db::usage(&mut tx, project).await?;
        let mut out: BTreeMap<String, i64> = [("volumes", v), ("snapshots", s), ("gigabytes", gb)]
            .map(|(k, n)| (k.to_string(), n))
            .into();
        let (b, bgb) = db::backups::usage(&mut *tx, project).await?;
        out.insert("backups".into(), b);
        out.insert("backup_gigabytes".into(), bgb);
        let groups = db::groups::count_groups(&mut *tx, project).await?;
        out.insert("groups".into(), groups);
        for (t, (v, s, gb)) in db::usage_by_type(&mut tx, project).await? {
            out.insert(format!("volumes_{t}"), v);
            out.insert(format!("snapshots_{t}"), s);
            out.insert(format!("gigabytes_{t}"), gb);
        }
        Ok(out)
    }
}

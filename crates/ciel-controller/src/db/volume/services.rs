//! What an admin set on a volume service (`os-services` enable/disable, freeze/thaw).
//! Services themselves are derived from the hosts table; a service without a row here is
//! enabled and not frozen.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ServiceState {
    pub service_binary: String,
    pub host: String,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub frozen: bool,
    pub updated_at: i64,
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<ServiceState>> {
    Ok(
        sql::query_as(
            "SELECT service_binary, host, disabled, disabled_reason, frozen, updated_at FROM volume_services",
        )
        .fetch_all(e)
        .await?,
    )
}

pub async fn save(e: impl sql::Executor<'_>, s: &ServiceState) -> Result<()> {
    sql::query(
        "INSERT INTO volume_services (service_binary, host, disabled, disabled_reason, frozen, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (service_binary, host) DO UPDATE SET disabled = excluded.disabled, \
         disabled_reason = excluded.disabled_reason, frozen = excluded.frozen, updated_at = excluded.updated_at",
    )
    .bind(&s.service_binary)
    .bind(&s.host)
    .bind(s.disabled)
    .bind(&s.disabled_reason)
    .bind(s.frozen)
    .bind(s.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

/// The controllers sharing the database: (hostname, last beat), the newest beat per name.
pub async fn controllers(e: impl sql::Executor<'_>) -> Result<Vec<(String, i64)>> {
    Ok(sql::query_as(
        "SELECT hostname, CAST(max(seen_at) AS BIGINT) FROM controllers GROUP BY hostname ORDER BY hostname",
    )
    .fetch_all(e)
    .await?)
}

/// Per host and backend: (volumes, their gigabytes) stored there.
pub async fn volumes_on(e: impl sql::Executor<'_>, host_id: &str, backend: &str) -> Result<(i64, i64)> {
    Ok(sql::query_as(
        "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volumes WHERE host_id = ? AND backend = ?",
    )
    .bind(host_id)
    .bind(backend)
    .fetch_one(e)
    .await?)
}

/// Per project, on a host and backend: (project, volumes, volume GB, snapshots, snapshot GB).
pub async fn usage_on(
    e: &mut sql::Conn<'_>,
    host_id: &str,
    backend: &str,
) -> Result<Vec<(String, i64, i64, i64, i64)>> {
    let vols: Vec<(String, i64, i64)> = sql::query_as(
        "SELECT project_id, count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volumes \
         WHERE host_id = ? AND backend = ? GROUP BY project_id ORDER BY project_id",
    )
    .bind(host_id)
    .bind(backend)
    .fetch_all(&mut *e)
    .await?;
    let snaps: Vec<(String, i64, i64)> = sql::query_as(
        "SELECT s.project_id, count(*), CAST(coalesce(sum(s.size), 0) AS BIGINT) FROM volume_snapshots s \
         JOIN volumes v ON v.id = s.volume_id WHERE v.host_id = ? AND v.backend = ? GROUP BY s.project_id",
    )
    .bind(host_id)
    .bind(backend)
    .fetch_all(&mut *e)
    .await?;
    let mut out: std::collections::BTreeMap<String, (i64, i64, i64, i64)> = Default::default();
    for (p, n, gb) in vols {
        let u = out.entry(p).or_default();
        u.0 = n;
        u.1 = gb;
    }
    for (p, n, gb) in snaps {
        let u = out.entry(p).or_default();
        u.2 = n;
        u.3 = gb;
    }
    Ok(out.into_iter().map(|(p, (a, b, c, d))| (p, a, b, c, d)).collect())
}

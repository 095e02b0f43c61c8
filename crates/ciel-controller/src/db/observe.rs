//! The counts a metrics scrape reads: resources by type and state, what each project uses
//! of its quotas, the controllers alive. Each is one grouped query over indexed columns.

use crate::db::sql;
use crate::error::Result;

/// (type, state, count) of every kind of resource operators watch.
pub async fn resources_by_state(e: impl sql::Executor<'_>) -> Result<Vec<(String, String, i64)>> {
    Ok(sql::query_as(
        "SELECT 'server', vm_state, COUNT(*) FROM servers GROUP BY vm_state \
         UNION ALL SELECT 'volume', status, COUNT(*) FROM volumes GROUP BY status \
         UNION ALL SELECT 'snapshot', status, COUNT(*) FROM volume_snapshots GROUP BY status \
         UNION ALL SELECT 'backup', status, COUNT(*) FROM volume_backups GROUP BY status \
         UNION ALL SELECT 'port', status, COUNT(*) FROM ports GROUP BY status \
         UNION ALL SELECT 'network', 'ACTIVE', COUNT(*) FROM networks \
         UNION ALL SELECT 'router', 'ACTIVE', COUNT(*) FROM routers \
         UNION ALL SELECT 'floating_ip', CASE WHEN port_id IS NULL THEN 'DOWN' ELSE 'ACTIVE' END, COUNT(*) \
                   FROM floating_ips GROUP BY CASE WHEN port_id IS NULL THEN 'DOWN' ELSE 'ACTIVE' END \
         UNION ALL SELECT 'load_balancer', provisioning_status, COUNT(*) FROM lb_loadbalancers \
                   GROUP BY provisioning_status \
         UNION ALL SELECT 'image', status, COUNT(*) FROM images WHERE NOT deleted GROUP BY status",
    )
    .fetch_all(e)
    .await?)
}

/// (project, quota resource, used) for every project using something, in the quota
/// resources' own names (Nova's `instances`, `cores`, `ram`; Cinder's `volumes`,
/// `gigabytes`; Neutron's `network`, `port`, `router`, `floatingip`, `security_group`).
pub async fn quota_usage(e: impl sql::Executor<'_>) -> Result<Vec<(String, String, i64)>> {
    Ok(sql::query_as(
        "SELECT project_id, 'instances', COUNT(*) FROM servers GROUP BY project_id \
         UNION ALL SELECT project_id, 'cores', CAST(SUM(vcpus) AS BIGINT) FROM servers GROUP BY project_id \
         UNION ALL SELECT project_id, 'ram', CAST(SUM(memory_mb) AS BIGINT) FROM servers GROUP BY project_id \
         UNION ALL SELECT project_id, 'volumes', COUNT(*) FROM volumes GROUP BY project_id \
         UNION ALL SELECT project_id, 'gigabytes', CAST(SUM(size) AS BIGINT) FROM volumes GROUP BY project_id \
         UNION ALL SELECT project_id, 'network', COUNT(*) FROM networks GROUP BY project_id \
         UNION ALL SELECT project_id, 'port', COUNT(*) FROM ports GROUP BY project_id \
         UNION ALL SELECT project_id, 'router', COUNT(*) FROM routers GROUP BY project_id \
         UNION ALL SELECT project_id, 'floatingip', COUNT(*) FROM floating_ips GROUP BY project_id \
         UNION ALL SELECT project_id, 'security_group', COUNT(*) FROM security_groups GROUP BY project_id",
    )
    .fetch_all(e)
    .await?)
}

/// Controllers sharing the database seen since `since` (Unix seconds).
pub async fn controllers_alive(e: impl sql::Executor<'_>, since: i64) -> Result<i64> {
    Ok(sql::query_scalar("SELECT COUNT(*) FROM controllers WHERE seen_at >= ?")
        .bind(since)
        .fetch_one(e)
        .await?)
}

/// (id, hostname, started_at, seen_at) of the controllers sharing the database.
pub async fn controllers(e: impl sql::Executor<'_>) -> Result<Vec<(String, String, i64, i64)>> {
    Ok(
        sql::query_as("SELECT id, hostname, started_at, seen_at FROM controllers ORDER BY started_at")
            .fetch_all(e)
            .await?,
    )
}

/// The latest resources in error: (type, id, project, why, when), newest first.
pub async fn recent_errors(
    e: impl sql::Executor<'_>,
    limit: i64,
) -> Result<Vec<(String, String, String, String, i64)>> {
    Ok(sql::query_as(
        "SELECT kind, id, project_id, why, at FROM ( \
           SELECT 'server' AS kind, id, project_id, COALESCE(fault, '') AS why, updated_at AS at \
             FROM servers WHERE vm_state = 'error' \
           UNION ALL SELECT 'volume', id, project_id, status, COALESCE(updated_at, created_at) \
             FROM volumes WHERE status LIKE 'error%' \
           UNION ALL SELECT 'load_balancer', id, project_id, COALESCE(fault, ''), COALESCE(updated_at, created_at) \
             FROM lb_loadbalancers WHERE provisioning_status = 'ERROR' \
         ) errors ORDER BY at DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(e)
    .await?)
}

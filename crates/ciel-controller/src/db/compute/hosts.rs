//! Hypervisor hosts.

use crate::db::sql;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Host {
    pub id: String,
    pub hostname: String,
    pub underlay_ip: Option<String>,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub disk_gb: i64,
    pub hypervisor_type: String,
    pub token_hash: String,
    pub enabled: bool,
    pub generation: i64,
    pub applied_generation: i64,
    pub last_seen: i64,
    pub created_at: i64,
    pub agent_url: Option<String>,
    pub agent_secret: String,
    /// JSON list of the physical networks the host has an interface on.
    pub provider_networks: String,
    /// JSON list of the storage backends the host keeps volumes in.
    pub storage_backends: String,
    /// Where the host puts root disks made from images: `file` or `rbd`.
    pub images_type: String,
    /// An operator said the host is down (`os-services` `forced_down`).
    pub forced_down: bool,
    /// The last report applied in full and the generation then (`app::compute::heartbeats`).
    pub report_digest: Option<String>,
}

impl Host {
    /// Whether the host counts as up: heard from within `down_after` seconds and not
    /// forced down.
    pub fn is_up(&self, now: i64, down_after: i64) -> bool {
        !self.forced_down && now - self.last_seen <= down_after
    }

    pub fn provides(&self, physical_network: &str) -> bool {
        serde_json::from_str::<Vec<String>>(&self.provider_networks)
            .unwrap_or_default()
            .iter()
            .any(|p| p == physical_network)
    }

    pub fn stores(&self, backend: &str) -> bool {
        serde_json::from_str::<Vec<String>>(&self.storage_backends)
            .unwrap_or_default()
            .iter()
            .any(|b| b == backend)
    }
}

const COLS: &str = "id, hostname, underlay_ip, vcpus, memory_mb, disk_gb, hypervisor_type, token_hash, enabled, \
     generation, applied_generation, last_seen, created_at, agent_url, agent_secret, provider_networks, storage_backends, images_type";
/// What reads return: the registered facts and the operator's flags.
const READ_COLS: &str = "id, hostname, underlay_ip, vcpus, memory_mb, disk_gb, hypervisor_type, token_hash, enabled, \
     generation, applied_generation, last_seen, created_at, agent_url, agent_secret, provider_networks, storage_backends, images_type, \
     forced_down, report_digest";

/// Inserts a host or, for a known hostname, refreshes its facts and token (keeping its id).
pub async fn upsert(e: impl sql::Executor<'_>, h: &Host) -> Result<Host> {
    Ok(sql::query_as(&format!(
        "INSERT INTO hosts ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (hostname) DO UPDATE SET underlay_ip = excluded.underlay_ip, vcpus = excluded.vcpus, \
         memory_mb = excluded.memory_mb, disk_gb = excluded.disk_gb, hypervisor_type = excluded.hypervisor_type, \
         token_hash = excluded.token_hash, last_seen = excluded.last_seen, agent_url = excluded.agent_url, \
         agent_secret = excluded.agent_secret, provider_networks = excluded.provider_networks, \
         storage_backends = excluded.storage_backends, images_type = excluded.images_type, \
         generation = hosts.generation + 1 \
         RETURNING {READ_COLS}"
    ))
    .bind(&h.id)
    .bind(&h.hostname)
    .bind(&h.underlay_ip)
    .bind(h.vcpus)
    .bind(h.memory_mb)
    .bind(h.disk_gb)
    .bind(&h.hypervisor_type)
    .bind(&h.token_hash)
    .bind(h.enabled)
    .bind(h.generation)
    .bind(h.applied_generation)
    .bind(h.last_seen)
    .bind(h.created_at)
    .bind(&h.agent_url)
    .bind(&h.agent_secret)
    .bind(&h.provider_networks)
    .bind(&h.storage_backends)
    .bind(&h.images_type)
    .fetch_one(e)
    .await?)
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Host>> {
    Ok(sql::query_as(&format!("SELECT {READ_COLS} FROM hosts WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list(e: impl sql::Executor<'_>) -> Result<Vec<Host>> {
    Ok(
        sql::query_as(&format!("SELECT {READ_COLS} FROM hosts ORDER BY hostname"))
            .fetch_all(e)
            .await?,
    )
}

/// Marks that the host's desired state changed; returns 1, or 0 when the host is gone.
pub async fn bump_host(e: impl sql::Executor<'_>, id: &str, mark: i64) -> Result<Vec<String>> {
    bump_where(e, "WHERE id = ?", Some(id), mark).await
}

/// Records the report just applied in full (see [`Host::report_digest`]).
pub async fn set_report_digest(e: impl sql::Executor<'_>, id: &str, digest: &str) -> Result<()> {
    sql::query("UPDATE hosts SET report_digest = ? WHERE id = ?")
        .bind(digest)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn seen(e: impl sql::Executor<'_>, id: &str, applied: i64, at: i64) -> Result<()> {
    // Neither moves back: sightings written late (coalesced, or by another controller)
    // may be older than one already written.
    sql::query(
        "UPDATE hosts SET applied_generation = CASE WHEN applied_generation > ? THEN applied_generation ELSE ? END, \
         last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END WHERE id = ?",
    )
    .bind(applied)
    .bind(applied)
    .bind(at)
    .bind(at)
    .bind(id)
    .execute(e)
    .await?;
    Ok(())
}

/// vCPUs, MiB of RAM and GiB of disk already claimed by servers on each host. A server
/// that is moving claims on both hosts, as Nova's placement does: a live or cold migration
/// under way holds its destination too, and a cold migration awaiting confirm (`finished`,
/// the server already on its destination) keeps its source for a revert.
pub async fn usage(e: impl sql::Executor<'_>) -> Result<Vec<(String, i64, i64, i64)>> {
    Ok(sql::query_as(&claims_sql(false)).fetch_all(e).await?)
}

/// [`usage`] of one host, read by index: what a scheduling decision checks its choice with.
pub async fn usage_of(e: impl sql::Executor<'_>, id: &str) -> Result<(i64, i64, i64)> {
    let row: Option<(String, i64, i64, i64)> = sql::query_as(&claims_sql(true))
        .bind(id)
        .bind(id)
        .bind(id)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|(_, cpu, ram, disk)| (cpu, ram, disk)).unwrap_or((0, 0, 0)))
}

/// The claims per host: servers where they are, plus moving servers at their other end.
/// `one`: of the host bound three times (`?`), else of every host.
fn claims_sql(one: bool) -> String {
    use super::migrations::IN_PROGRESS_SQL;
    let only = |col: &str| if one { format!(" AND {col} = ?") } else { String::new() };
    let moving = |end: &str| {
        format!(
            "SELECT m.{end} AS host_id, s.vcpus, s.memory_mb, s.root_gb FROM migrations m \
             JOIN servers s ON s.id = m.server_id \
             WHERE (m.status IN {IN_PROGRESS_SQL} OR m.status = 'finished') AND m.{end} <> s.host_id{}",
            only(&format!("m.{end}"))
        )
    };
    format!(
        "SELECT host_id, CAST(coalesce(sum(vcpus), 0) AS BIGINT), CAST(coalesce(sum(memory_mb), 0) AS BIGINT), CAST(coalesce(sum(root_gb), 0) AS BIGINT) \
         FROM (SELECT host_id, vcpus, memory_mb, root_gb FROM servers WHERE host_id IS NOT NULL{} \
         UNION ALL {} UNION ALL {}) claims GROUP BY host_id",
        only("host_id"),
        moving("dest_host_id"),
        moving("source_host_id")
    )
}

/// Bumps the hosts that have a VM port in any security group: their firewalls may change
/// with any rule or membership change. Returns how many.
pub async fn bump_hosts_with_secured_ports(e: impl sql::Executor<'_>, mark: i64) -> Result<Vec<String>> {
    bump_where(
        e,
        "WHERE id IN (SELECT s.host_id FROM servers s JOIN ports p ON p.device_id = s.id \
         JOIN port_security_groups g ON g.port_id = p.id)",
        None,
        mark,
    )
    .await
}

/// Bumps the hosts whose ports have rules naming, as remote group, a group with members on
/// `network_id`: a port change there may change those rules' member addresses.
pub async fn bump_remote_group_peers(e: impl sql::Executor<'_>, network_id: &str, mark: i64) -> Result<Vec<String>> {
    bump_where(
        e,
        "WHERE id IN (SELECT s.host_id FROM servers s JOIN ports p ON p.device_id = s.id \
         JOIN port_security_groups g ON g.port_id = p.id \
         JOIN security_group_rules r ON r.security_group_id = g.security_group_id \
         WHERE r.remote_group_id IN \
         (SELECT g2.security_group_id FROM port_security_groups g2 JOIN ports p2 ON p2.id = g2.port_id \
          WHERE p2.network_id = ?))",
        Some(network_id),
        mark,
    )
    .await
}

/// Bumps every host (routing changes: where routers run and what every host must know
/// about their ports). Returns how many.
pub async fn bump_all(e: impl sql::Executor<'_>, mark: i64) -> Result<u64> {
    Ok(
        sql::query("UPDATE hosts SET generation = generation + 1, changed_mark = ?")
            .bind(mark)
            .execute(e)
            .await?
            .rows_affected(),
    )
}

pub async fn bump_hosts_on_network(e: impl sql::Executor<'_>, network_id: &str, mark: i64) -> Result<Vec<String>> {
    // The network nodes of load balancers whose VIP is on the network too: they reach its
    // members through the same l2 population as the servers' hosts.
    let sql = "UPDATE hosts SET generation = generation + 1, changed_mark = ? \
               WHERE id IN (SELECT s.host_id FROM servers s JOIN ports p ON p.device_id = s.id WHERE p.network_id = ?) \
               OR id IN (SELECT l.host_id FROM lb_loadbalancers l JOIN ports p ON p.id = l.vip_port_id \
                         WHERE p.network_id = ?) \
               RETURNING id";
    Ok(sql::query_scalar(sql)
        .bind(mark)
        .bind(network_id)
        .bind(network_id)
        .fetch_all(e)
        .await?)
}

/// Bumps the generation of the hosts `filter` (a WHERE clause, with at most one `?` for
/// `arg`) selects, marking them with `mark` (the cluster's hosts counter of this commit);
/// returns their ids.
async fn bump_where(e: impl sql::Executor<'_>, filter: &str, arg: Option<&str>, mark: i64) -> Result<Vec<String>> {
    let sql = format!("UPDATE hosts SET generation = generation + 1, changed_mark = ? {filter} RETURNING id");
    let mut q = sql::query_scalar(&sql).bind(mark);
    if let Some(a) = arg {
        q = q.bind(a);
    }
    Ok(q.fetch_all(e).await?)
}

/// The hosts changed by commits marked after `mark` (what another controller changed).
pub async fn changed_after(e: impl sql::Executor<'_>, mark: i64) -> Result<Vec<String>> {
    Ok(sql::query_scalar("SELECT id FROM hosts WHERE changed_mark > ?")
        .bind(mark)
        .fetch_all(e)
        .await?)
}

/// Sets or clears the operator's `forced_down` flag.
pub async fn set_forced_down(e: impl sql::Executor<'_>, id: &str, down: bool) -> Result<()> {
    sql::query("UPDATE hosts SET forced_down = ? WHERE id = ?")
        .bind(down)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn set_enabled(e: impl sql::Executor<'_>, id: &str, enabled: bool) -> Result<()> {
    sql::query("UPDATE hosts SET enabled = ? WHERE id = ?")
        .bind(enabled)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// `(id, hostname)` of hosts `ids`.
pub async fn names(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(e, "SELECT id, hostname FROM hosts WHERE id IN (LIST)", ids).await
}

//! Metering runs (`usage_records`): a resource's shape over a stretch of time. See the
//! migration `0046_usage_records.sql` and `app::metering`.

use crate::db::sql;
use crate::error::Result;

/// What a metered resource is (or was) during a run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Shape {
    /// `server`, `volume`, `floating_ip` or `load_balancer`.
    pub kind: String,
    pub resource_id: String,
    pub project_id: String,
    pub name: String,
    /// A server's flavor id, a volume's type id.
    pub flavor: String,
    pub vcpus: i64,
    pub memory_mb: i64,
    /// A server's root disk, a volume's size.
    pub disk_gb: i64,
}

impl Shape {
    /// Whether `other` is the same for billing (a rename is not a new run).
    pub fn bills_as(&self, other: &Shape) -> bool {
        (&self.project_id, &self.flavor, self.vcpus, self.memory_mb, self.disk_gb)
            == (
                &other.project_id,
                &other.flavor,
                other.vcpus,
                other.memory_mb,
                other.disk_gb,
            )
    }
}

/// A run of one shape: from `started_at` to `ended_at` (None: still going).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Run {
    #[sqlx(flatten)]
    pub shape: Shape,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// Every metered resource that exists now, with its creation time.
pub async fn current(e: impl sql::Executor<'_>) -> Result<Vec<(Shape, i64)>> {
    created_since(e, i64::MIN).await
}

/// A metered resource that exists, and when it was made.
#[derive(sqlx::FromRow)]
struct Existing {
    #[sqlx(flatten)]
    shape: Shape,
    created_at: i64,
}

/// The metered resources created at or after `since`, with their creation time.
pub async fn created_since(e: impl sql::Executor<'_>, since: i64) -> Result<Vec<(Shape, i64)>> {
    let rows: Vec<Existing> = sql::query_as(
        "SELECT 'server' AS kind, id AS resource_id, project_id, name, flavor_id AS flavor, \
                CAST(vcpus AS BIGINT) AS vcpus, CAST(memory_mb AS BIGINT) AS memory_mb, \
                CAST(root_gb AS BIGINT) AS disk_gb, created_at FROM servers WHERE created_at >= ? \
         UNION ALL SELECT 'volume', id, project_id, COALESCE(name, ''), volume_type_id, CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(size AS BIGINT), created_at FROM volumes WHERE created_at >= ? \
         UNION ALL SELECT 'floating_ip', id, project_id, floating_ip_address, '', CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), created_at FROM floating_ips WHERE created_at >= ? \
         UNION ALL SELECT 'load_balancer', id, project_id, '', '', CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), created_at FROM lb_loadbalancers WHERE created_at >= ?",
    )
    .bind(since)
    .bind(since)
    .bind(since)
    .bind(since)
    .fetch_all(e)
    .await?;
    Ok(rows.into_iter().map(|r| (r.shape, r.created_at)).collect())
}

const RUN_COLUMNS: &str =
    "kind, resource_id, project_id, name, flavor, vcpus, memory_mb, disk_gb, started_at, ended_at";

/// The runs still going.
pub async fn open_runs(e: impl sql::Executor<'_>) -> Result<Vec<Run>> {
    Ok(sql::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM usage_records WHERE ended_at IS NULL"
    ))
    .fetch_all(e)
    .await?)
}

/// The table a kind of metered resource lives in (fixed names, never from input).
fn table(kind: &str) -> Option<&'static str> {
    match kind {
        "server" => Some("servers"),
        "volume" => Some("volumes"),
        "floating_ip" => Some("floating_ips"),
        "load_balancer" => Some("lb_loadbalancers"),
        _ => None,
    }
}

/// Starts a run at `at` (or at the end of the resource's latest run, if later), unless the
/// resource has one going already (another controller's sample got there first) or is gone
/// (deleted since the sample looked).
pub async fn open(e: impl sql::Executor<'_>, s: &Shape, at: i64) -> Result<()> {
    let Some(table) = table(&s.kind) else {
        return Ok(());
    };
    let text = format!(
        "INSERT INTO usage_records (kind, resource_id, project_id, name, flavor, vcpus, memory_mb, disk_gb, \
                started_at) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, \
                COALESCE((SELECT MAX(ended_at) FROM usage_records WHERE kind = ? AND resource_id = ? \
                          AND ended_at > ?), ?) \
         WHERE NOT EXISTS (SELECT 1 FROM usage_records WHERE kind = ? AND resource_id = ? AND ended_at IS NULL) \
           AND EXISTS (SELECT 1 FROM {table} WHERE id = ?) \
         ON CONFLICT (kind, resource_id, started_at) DO NOTHING"
    );
    sql::query(&text)
        .bind(&s.kind)
        .bind(&s.resource_id)
        .bind(&s.project_id)
        .bind(&s.name)
        .bind(&s.flavor)
        .bind(s.vcpus)
        .bind(s.memory_mb)
        .bind(s.disk_gb)
        .bind(&s.kind)
        .bind(&s.resource_id)
        .bind(at)
        .bind(at)
        .bind(&s.kind)
        .bind(&s.resource_id)
        .bind(&s.resource_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Ends the resource's open run at `at` (no later than it started).
pub async fn close(e: impl sql::Executor<'_>, kind: &str, resource_id: &str, at: i64) -> Result<()> {
    sql::query(
        "UPDATE usage_records SET ended_at = CASE WHEN started_at > ? THEN started_at ELSE ? END \
         WHERE kind = ? AND resource_id = ? AND ended_at IS NULL",
    )
    .bind(at)
    .bind(at)
    .bind(kind)
    .bind(resource_id)
    .execute(e)
    .await?;
    Ok(())
}

/// When the latest sample was taken.
pub async fn sampled_at(e: impl sql::Executor<'_>) -> Result<Option<i64>> {
    Ok(sql::query_scalar("SELECT sampled_at FROM usage_sampled WHERE id = 1")
        .fetch_optional(e)
        .await?)
}

pub async fn set_sampled_at(e: impl sql::Executor<'_>, at: i64) -> Result<()> {
    sql::query(
        "INSERT INTO usage_sampled (id, sampled_at) VALUES (1, ?) \
         ON CONFLICT (id) DO UPDATE SET sampled_at = CASE WHEN excluded.sampled_at > usage_sampled.sampled_at \
         THEN excluded.sampled_at ELSE usage_sampled.sampled_at END",
    )
    .bind(at)
    .execute(e)
    .await?;
    Ok(())
}

/// Runs that overlap `[start, end)`, of one project or all.
pub async fn runs_between(e: impl sql::Executor<'_>, project: Option<&str>, start: i64, end: i64) -> Result<Vec<Run>> {
    let filter = if project.is_some() { "AND project_id = ?" } else { "" };
    let text = format!(
        "SELECT {RUN_COLUMNS} FROM usage_records \
         WHERE started_at < ? AND (ended_at IS NULL OR ended_at > ?) {filter} \
         ORDER BY project_id, kind, started_at"
    );
    let mut q = sql::query_as(&text).bind(end).bind(start);
    if let Some(p) = project {
        q = q.bind(p);
    }
    Ok(q.fetch_all(e).await?)
}

/// Forgets runs that ended before `before` (the retention).
pub async fn purge(e: impl sql::Executor<'_>, before: i64) -> Result<u64> {
    Ok(
        sql::query("DELETE FROM usage_records WHERE ended_at IS NOT NULL AND ended_at < ?")
            .bind(before)
            .execute(e)
            .await?
            .rows_affected(),
    )
}

//! Load balancers and their trees (Octavia v2). A change always reads and writes one load
//! balancer's whole tree in its transaction ([`Tree`] in `app::loadbalancer`), so children
//! share one table keyed by their load balancer; the attributes only the API reads are a
//! typed JSON body per kind.

mod attrs;
pub mod catalog;

pub use attrs::*;

use crate::db::sql;
use crate::db::text_enum::text_enum;
use crate::error::{Error, Result};

text_enum! {
    /// Octavia's provisioning status: `PENDING_*` until the data plane has applied a change.
    pub enum ProvisioningStatus {
        Active = "ACTIVE",
        PendingCreate = "PENDING_CREATE",
        PendingUpdate = "PENDING_UPDATE",
        PendingDelete = "PENDING_DELETE",
        Deleted = "DELETED",
        Error = "ERROR",
    }
}

impl ProvisioningStatus {
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ProvisioningStatus::PendingCreate | ProvisioningStatus::PendingUpdate | ProvisioningStatus::PendingDelete
        )
    }
}

text_enum! {
    /// Octavia's operating status, from what the data plane observes.
    pub enum OperatingStatus {
        Online = "ONLINE",
        Offline = "OFFLINE",
        Degraded = "DEGRADED",
        Error = "ERROR",
        NoMonitor = "NO_MONITOR",
        Draining = "DRAINING",
    }
}

text_enum! {
    /// What a child row is.
    pub enum ChildKind {
        Listener = "listener",
        Pool = "pool",
        Member = "member",
        HealthMonitor = "healthmonitor",
        L7Policy = "l7policy",
        L7Rule = "l7rule",
    }
}

/// A load balancer row.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancer {
    pub id: String,
    pub project_id: String,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub host_id: Option<String>,
    pub vip_port_id: Option<String>,
    pub revision: i64,
    pub applied_revision: i64,
    pub fault: Option<String>,
    pub attrs: LbAttrs,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

/// A listener, pool, member, health monitor, L7 policy or rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    pub id: String,
    pub loadbalancer_id: String,
    /// The pool of a member or monitor, the listener of a policy, the policy of a rule.
    pub parent_id: Option<String>,
    pub project_id: String,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub attrs: ChildAttrs,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    pub seq: i64,
}

impl Child {
    pub fn kind(&self) -> ChildKind {
        self.attrs.kind()
    }
}

#[derive(sqlx::FromRow)]
struct LbRow {
    id: String,
    project_id: String,
    provisioning_status: ProvisioningStatus,
    operating_status: OperatingStatus,
    host_id: Option<String>,
    vip_port_id: Option<String>,
    revision: i64,
    applied_revision: i64,
    fault: Option<String>,
    body: String,
    created_at: i64,
    updated_at: Option<i64>,
}

impl TryFrom<LbRow> for LoadBalancer {
    type Error = Error;

    fn try_from(r: LbRow) -> Result<Self> {
        Ok(LoadBalancer {
            attrs: serde_json::from_str(&r.body)
                .map_err(|e| Error::Internal(format!("stored load balancer {}: {e}", r.id)))?,
            id: r.id,
            project_id: r.project_id,
            provisioning_status: r.provisioning_status,
            operating_status: r.operating_status,
            host_id: r.host_id,
            vip_port_id: r.vip_port_id,
            revision: r.revision,
            applied_revision: r.applied_revision,
            fault: r.fault,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ChildRow {
    id: String,
    kind: ChildKind,
    loadbalancer_id: String,
    parent_id: Option<String>,
    project_id: String,
    provisioning_status: ProvisioningStatus,
    operating_status: OperatingStatus,
    body: String,
    created_at: i64,
    updated_at: Option<i64>,
    seq: i64,
}

impl TryFrom<ChildRow> for Child {
    type Error = Error;

    fn try_from(r: ChildRow) -> Result<Self> {
        Ok(Child {
            attrs: ChildAttrs::parse(r.kind, &r.body)
                .map_err(|e| Error::Internal(format!("stored {} {}: {e}", r.kind, r.id)))?,
            id: r.id,
            loadbalancer_id: r.loadbalancer_id,
            parent_id: r.parent_id,
            project_id: r.project_id,
            provisioning_status: r.provisioning_status,
            operating_status: r.operating_status,
            created_at: r.created_at,
            updated_at: r.updated_at,
            seq: r.seq,
        })
    }
}

const LB_COLS: &str = "id, project_id, provisioning_status, operating_status, host_id, vip_port_id, revision, \
     applied_revision, fault, body, created_at, updated_at";
const CHILD_COLS: &str = "id, kind, loadbalancer_id, parent_id, project_id, provisioning_status, operating_status, \
     body, created_at, updated_at, seq";

fn lbs(rows: Vec<LbRow>) -> Result<Vec<LoadBalancer>> {
    rows.into_iter().map(LoadBalancer::try_from).collect()
}

fn children(rows: Vec<ChildRow>) -> Result<Vec<Child>> {
    rows.into_iter().map(Child::try_from).collect()
}

pub async fn get(e: impl sql::Executor<'_>, id: &str) -> Result<Option<LoadBalancer>> {
    sql::query_as::<LbRow>(&format!("SELECT {LB_COLS} FROM lb_loadbalancers WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(LoadBalancer::try_from)
        .transpose()
}

/// Load balancers of one project, or of all; oldest first.
pub async fn list(e: impl sql::Executor<'_>, project_id: Option<&str>) -> Result<Vec<LoadBalancer>> {
    let rows = match project_id {
        Some(p) => {
            sql::query_as::<LbRow>(&format!(
                "SELECT {LB_COLS} FROM lb_loadbalancers WHERE project_id = ? ORDER BY created_at, id"
            ))
            .bind(p)
            .fetch_all(e)
            .await?
        }
        None => {
            sql::query_as::<LbRow>(&format!(
                "SELECT {LB_COLS} FROM lb_loadbalancers ORDER BY created_at, id"
            ))
            .fetch_all(e)
            .await?
        }
    };
    lbs(rows)
}

/// The load balancers a host serves.
pub async fn on_host(e: impl sql::Executor<'_>, host_id: &str) -> Result<Vec<LoadBalancer>> {
    lbs(sql::query_as::<LbRow>(&format!(
        "SELECT {LB_COLS} FROM lb_loadbalancers WHERE host_id = ? ORDER BY id"
    ))
    .bind(host_id)
    .fetch_all(e)
    .await?)
}

pub async fn insert(e: impl sql::Executor<'_>, lb: &LoadBalancer) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO lb_loadbalancers ({LB_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&lb.id)
    .bind(&lb.project_id)
    .bind(lb.provisioning_status)
    .bind(lb.operating_status)
    .bind(&lb.host_id)
    .bind(&lb.vip_port_id)
    .bind(lb.revision)
    .bind(lb.applied_revision)
    .bind(&lb.fault)
    .bind(lb.attrs.to_json())
    .bind(lb.created_at)
    .bind(lb.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update(e: impl sql::Executor<'_>, lb: &LoadBalancer) -> Result<()> {
    sql::query(
        "UPDATE lb_loadbalancers SET provisioning_status = ?, operating_status = ?, host_id = ?, vip_port_id = ?, \
         revision = ?, applied_revision = ?, fault = ?, body = ?, updated_at = ? WHERE id = ?",
    )
    .bind(lb.provisioning_status)
    .bind(lb.operating_status)
    .bind(&lb.host_id)
    .bind(&lb.vip_port_id)
    .bind(lb.revision)
    .bind(lb.applied_revision)
    .bind(&lb.fault)
    .bind(lb.attrs.to_json())
    .bind(lb.updated_at)
    .bind(&lb.id)
    .execute(e)
    .await?;
    Ok(())
}

/// Removes a load balancer with its children.
pub async fn delete(e: &mut sql::Conn<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM lb_children WHERE loadbalancer_id = ?")
        .bind(id)
        .execute(&mut *e)
        .await?;
    sql::query("DELETE FROM lb_loadbalancers WHERE id = ?")
        .bind(id)
        .execute(&mut *e)
        .await?;
    Ok(())
}

/// Every child of a load balancer, in creation order.
pub async fn children_of(e: impl sql::Executor<'_>, loadbalancer_id: &str) -> Result<Vec<Child>> {
    children(
        sql::query_as::<ChildRow>(&format!(
            "SELECT {CHILD_COLS} FROM lb_children WHERE loadbalancer_id = ? ORDER BY created_at, seq, id"
        ))
        .bind(loadbalancer_id)
        .fetch_all(e)
        .await?,
    )
}

/// Children of one kind, of one project or of all, in creation order.
pub async fn list_children(e: impl sql::Executor<'_>, kind: ChildKind, project_id: Option<&str>) -> Result<Vec<Child>> {
    let rows = match project_id {
        Some(p) => {
            sql::query_as::<ChildRow>(&format!(
                "SELECT {CHILD_COLS} FROM lb_children WHERE kind = ? AND project_id = ? ORDER BY created_at, seq, id"
            ))
            .bind(kind)
            .bind(p)
            .fetch_all(e)
            .await?
        }
        None => {
            sql::query_as::<ChildRow>(&format!(
                "SELECT {CHILD_COLS} FROM lb_children WHERE kind = ? ORDER BY created_at, seq, id"
            ))
            .bind(kind)
            .fetch_all(e)
            .await?
        }
    };
    children(rows)
}

pub async fn get_child(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Child>> {
    sql::query_as::<ChildRow>(&format!("SELECT {CHILD_COLS} FROM lb_children WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(Child::try_from)
        .transpose()
}

pub async fn insert_child(e: impl sql::Executor<'_>, c: &Child) -> Result<()> {
    sql::query(&format!(
        "INSERT INTO lb_children ({CHILD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&c.id)
    .bind(c.kind())
    .bind(&c.loadbalancer_id)
    .bind(&c.parent_id)
    .bind(&c.project_id)
    .bind(c.provisioning_status)
    .bind(c.operating_status)
    .bind(c.attrs.to_json())
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.seq)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn update_child(e: impl sql::Executor<'_>, c: &Child) -> Result<()> {
    sql::query(
        "UPDATE lb_children SET parent_id = ?, provisioning_status = ?, operating_status = ?, body = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(&c.parent_id)
    .bind(c.provisioning_status)
    .bind(c.operating_status)
    .bind(c.attrs.to_json())
    .bind(c.updated_at)
    .bind(&c.id)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_child(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    sql::query("DELETE FROM lb_children WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// How many objects of a kind a project has (quota), load balancers included as `None`.
pub async fn count(e: impl sql::Executor<'_>, kind: Option<ChildKind>, project_id: &str) -> Result<i64> {
    Ok(match kind {
        None => {
            sql::query_scalar("SELECT COUNT(*) FROM lb_loadbalancers WHERE project_id = ?")
                .bind(project_id)
                .fetch_one(e)
                .await?
        }
        Some(k) => {
            sql::query_scalar("SELECT COUNT(*) FROM lb_children WHERE kind = ? AND project_id = ?")
                .bind(k)
                .bind(project_id)
                .fetch_one(e)
                .await?
        }
    })
}

/// A listener's statistics: `(bytes_in, bytes_out, active, total, request_errors)`.
pub type Stats = (i64, i64, i64, i64, i64);

pub async fn stats_of(e: impl sql::Executor<'_>, loadbalancer_id: &str) -> Result<Vec<(String, Stats)>> {
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = sql::query_as(
        "SELECT listener_id, bytes_in, bytes_out, active_connections, total_connections, request_errors \
         FROM lb_listener_stats WHERE loadbalancer_id = ?",
    )
    .bind(loadbalancer_id)
    .fetch_all(e)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, a, b, c, d, f)| (id, (a, b, c, d, f)))
        .collect())
}

pub async fn set_stats(e: impl sql::Executor<'_>, loadbalancer_id: &str, listener_id: &str, s: Stats) -> Result<()> {
    sql::query(
        "INSERT INTO lb_listener_stats (listener_id, loadbalancer_id, bytes_in, bytes_out, active_connections, \
         total_connections, request_errors) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (listener_id) DO UPDATE SET \
         bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, active_connections = excluded.active_connections, \
         total_connections = excluded.total_connections, request_errors = excluded.request_errors",
    )
    .bind(listener_id)
    .bind(loadbalancer_id)
    .bind(s.0)
    .bind(s.1)
    .bind(s.2)
    .bind(s.3)
    .bind(s.4)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn drop_stats(e: impl sql::Executor<'_>, loadbalancer_id: &str) -> Result<()> {
    sql::query("DELETE FROM lb_listener_stats WHERE loadbalancer_id = ?")
        .bind(loadbalancer_id)
        .execute(e)
        .await?;
    Ok(())
}

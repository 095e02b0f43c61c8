//! Load balancers (Octavia v2) served by Ciel's own provider: haproxy in a namespace on a
//! network node, driven by desired state like routers. No worker: a change commits its
//! objects in `PENDING_*` and bumps the load balancer's `revision`; the network node's report
//! of the revision it serves (or could not apply) ends those states (`report.rs`).
//!
//! Every change reads the load balancer's whole tree in its write transaction ([`Tree`]),
//! checks Octavia's locks on it, changes it and writes back what changed.

pub mod catalog;
pub mod failover;
pub mod graph;
pub mod l7;
pub mod listeners;
pub mod loadbalancers;
pub mod members;
pub mod monitors;
pub mod params;
pub mod placement;
pub mod pools;
pub mod quotas;
pub mod report;
pub mod spec;

use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::db::loadbalancer::{
    self as db, Child, ChildAttrs, ChildKind, LoadBalancer, OperatingStatus, ProvisioningStatus,
};
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// The providers Ciel accepts: all served by its haproxy provider. `amphora` is what OCCM
/// asks for by default, `octavia` its deprecated alias.
/// No commas in descriptions: octavia-tempest-plugin reads them from a comma-separated option.
pub const PROVIDERS: &[(&str, &str)] = &[
    (
        "amphora",
        "Ciel's haproxy provider (served under Octavia's amphora name): haproxy in a network namespace on a network node with no service VM.",
    ),
    ("octavia", "Deprecated alias of the amphora provider (Ciel's haproxy provider)."),
    ("ciel", "Ciel's haproxy provider: haproxy in a network namespace on a network node."),
];
pub const DEFAULT_PROVIDER: &str = "amphora";

/// Octavia's names of its objects in messages.
pub fn display(kind: Option<ChildKind>) -> &'static str {
    match kind {
        None => "Load Balancer",
        Some(ChildKind::Listener) => "Listener",
        Some(ChildKind::Pool) => "Pool",
        Some(ChildKind::Member) => "Member",
        Some(ChildKind::HealthMonitor) => "Health Monitor",
        Some(ChildKind::L7Policy) => "L7 Policy",
        Some(ChildKind::L7Rule) => "L7 Rule",
    }
}

/// Octavia's 404: `Load Balancer <id> not found.` (rendered by the HTTP layer from the kind).
pub fn not_found(kind: Option<ChildKind>, id: &str) -> Error {
    Error::not_found(display(kind), id)
}

/// Octavia's 409 on a locked object.
pub fn immutable(kind: Option<ChildKind>, id: &str) -> Error {
    Error::conflict(format!("{} {id} is immutable and cannot be updated.", display(kind)))
}

/// Octavia's PolicyForbidden.
pub fn forbidden() -> Error {
    Error::Forbidden("Policy does not allow this request to be performed.".into())
}

/// `Validation failure: …` (400).
pub fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Validation failure: {msg}"))
}

/// The project a caller acts for.
pub fn own_project(caller: &Caller) -> Result<String> {
    caller.project_id().map(str::to_owned).ok_or_else(forbidden)
}

/// Octavia answers 403 (not 404) for another project's objects.
pub fn check_read(caller: &Caller, project_id: &str) -> Result<()> {
    if in_project(caller, project_id) {
        Ok(())
    } else {
        Err(forbidden())
    }
}

pub fn check_write(caller: &Caller, project_id: &str) -> Result<()> {
    check_read(caller, project_id)?;
    if may_write(caller, project_id) {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// One load balancer with all its children, as read in a transaction; [`Tree::save`] writes
/// back what changed.
#[derive(Debug, Clone)]
pub struct Tree {
    pub lb: LoadBalancer,
    pub children: Vec<Child>,
    original_lb: LoadBalancer,
    original: HashMap<String, Child>,
}

impl Tree {
    pub async fn load(tx: &mut Tx<'_>, id: &str) -> Result<Option<Tree>> {
        let Some(lb) = db::get(&mut **tx, id).await? else {
            return Ok(None);
        };
        let children = db::children_of(&mut **tx, id).await?;
        Ok(Some(Tree::from_rows(lb, children)))
    }

    pub fn from_rows(lb: LoadBalancer, children: Vec<Child>) -> Tree {
        Tree {
            original_lb: lb.clone(),
            original: children.iter().map(|c| (c.id.clone(), c.clone())).collect(),
            lb,
            children,
        }
    }

    /// A new load balancer's tree (nothing stored yet).
    pub fn new(lb: LoadBalancer) -> Tree {
        let mut original_lb = lb.clone();
        original_lb.id = String::new();
        Tree {
            original_lb,
            original: HashMap::new(),
            lb,
            children: vec![],
        }
    }

    pub fn child(&self, id: &str) -> Option<&Child> {
        self.children.iter().find(|c| c.id == id)
    }

    pub fn child_mut(&mut self, id: &str) -> Option<&mut Child> {
        self.children.iter_mut().find(|c| c.id == id)
    }

    pub fn of_kind(&self, kind: ChildKind) -> impl Iterator<Item = &Child> + '_ {
        self.children.iter().filter(move |c| c.kind() == kind)
    }

    pub fn children_of<'a>(&'a self, parent: &'a str, kind: ChildKind) -> impl Iterator<Item = &'a Child> + 'a {
        self.children
            .iter()
            .filter(move |c| c.kind() == kind && c.parent_id.as_deref() == Some(parent))
    }

    /// The listeners using a pool: as default pool, or through an enabled L7 policy that
    /// redirects there and has a rule (Octavia's `pool.listeners`).
    pub fn listeners_of_pool(&self, pool_id: &str) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for l in self.of_kind(ChildKind::Listener) {
            let ChildAttrs::Listener(a) = &l.attrs else { continue };
            let by_policy = self.children_of(&l.id, ChildKind::L7Policy).any(|p| {
                matches!(&p.attrs, ChildAttrs::L7Policy(pa) if pa.admin_state_up && pa.redirect_pool_id.as_deref() == Some(pool_id))
                    && self.children_of(&p.id, ChildKind::L7Rule).next().is_some()
            });
            if a.default_pool_id.as_deref() == Some(pool_id) || by_policy {
                out.push(l.id.clone());
            }
        }
        out
    }

    /// The health monitor of a pool.
    pub fn monitor_of<'a>(&'a self, pool_id: &'a str) -> Option<&'a Child> {
        self.children_of(pool_id, ChildKind::HealthMonitor).next()
    }

    /// Octavia's lock: the load balancer must be ACTIVE for any change below it.
    pub fn lock(&self) -> Result<()> {
        if self.lb.provisioning_status == ProvisioningStatus::Active {
            Ok(())
        } else {
            Err(immutable(None, &self.lb.id))
        }
    }

    /// A parent (pool or L7 policy) that must be ACTIVE for a change to its children.
    pub fn lock_parent(&self, parent: &Child) -> Result<()> {
        if parent.provisioning_status == ProvisioningStatus::Active {
            Ok(())
        } else {
            let kind = match parent.kind() {
                ChildKind::L7Policy => {
                    return Err(Error::conflict(format!(
                        "L7Policy {} is immutable and cannot be updated.",
                        parent.id
                    )))
                }
                k => Some(k),
            };
            Err(immutable(kind, &parent.id))
        }
    }

    /// Marks the load balancer and the given objects `PENDING_UPDATE` and asks the data plane
    /// for a new revision.
    pub fn pending_update(&mut self, ids: &[String]) {
        self.lb.provisioning_status = ProvisioningStatus::PendingUpdate;
        for c in self.children.iter_mut().filter(|c| ids.contains(&c.id)) {
            if c.provisioning_status != ProvisioningStatus::PendingCreate {
                c.provisioning_status = ProvisioningStatus::PendingUpdate;
            }
        }
        self.lb.revision = self.original_lb.revision.max(self.lb.revision) + 1;
    }

    /// A new child in `PENDING_CREATE`, after the existing ones.
    pub fn add(&mut self, c: Child) {
        self.children.push(c);
    }

    /// A new child row for this load balancer.
    pub fn new_child(&self, parent_id: Option<String>, attrs: ChildAttrs, operating: OperatingStatus) -> Child {
        let seq = self.children.iter().map(|c| c.seq).max().unwrap_or(0) + 1;
        Child {
            id: uuid::Uuid::new_v4().to_string(),
            loadbalancer_id: self.lb.id.clone(),
            parent_id,
            project_id: self.lb.project_id.clone(),
            provisioning_status: ProvisioningStatus::PendingCreate,
            operating_status: operating,
            attrs,
            created_at: crate::db::now(),
            updated_at: None,
            seq,
        }
    }

    /// Writes the changes: the load balancer row, new, changed and removed children. The
    /// load balancer's host, if its desired state changed, learns of it at commit.
    pub async fn save(&self, tx: &mut Tx<'_>) -> Result<()> {
        if self.original_lb.id.is_empty() {
            db::insert(&mut **tx, &self.lb).await?;
        } else if self.lb != self.original_lb {
            db::update(&mut **tx, &self.lb).await?;
        }
        for c in &self.children {
            match self.original.get(&c.id) {
                None => db::insert_child(&mut **tx, c).await?,
                Some(o) if o != c => db::update_child(&mut **tx, c).await?,
                Some(_) => {}
            }
        }
        for id in self.original.keys() {
            if self.child(id).is_none() {
                db::delete_child(&mut **tx, id).await?;
            }
        }
        let created = self.original_lb.id.is_empty();
        if created || self.lb.revision != self.original_lb.revision || self.lb.host_id != self.original_lb.host_id {
            for h in [&self.lb.host_id, &self.original_lb.host_id].into_iter().flatten() {
                tx.host_changed(h);
            }
        }
        Ok(())
    }
}

/// A change's common end: the locked objects (and the load balancer) pending, the tree
/// written and the transaction committed, which tells the load balancer's host.
pub(crate) async fn commit_change(mut tx: Tx<'_>, mut t: Tree, locked: &[String]) -> Result<Tree> {
    t.pending_update(locked);
    t.save(&mut tx).await?;
    tx.commit().await?;
    Ok(t)
}

/// A change's common start: the tree of `lb_id` in a write transaction, visible to and
/// writable by the caller.
pub(crate) async fn writable_tree(tx: &mut Tx<'_>, caller: &Caller, lb_id: &str) -> Result<Tree> {
    let t = Tree::load(tx, lb_id).await?.ok_or_else(|| not_found(None, lb_id))?;
    check_write(caller, &t.lb.project_id)?;
    Ok(t)
}

/// The tree holding child `id` of `kind`, in a write transaction, writable by the caller.
pub(crate) async fn tree_of_child(tx: &mut Tx<'_>, caller: &Caller, kind: ChildKind, id: &str) -> Result<Tree> {
    let c = db::get_child(&mut **tx, id)
        .await?
        .filter(|c| c.kind() == kind && c.provisioning_status != ProvisioningStatus::Deleted)
        .ok_or_else(|| not_found(Some(kind), id))?;
    writable_tree(tx, caller, &c.loadbalancer_id).await
}

/// A readable child of `kind`.
pub(crate) async fn readable_child(app: &crate::app::App, caller: &Caller, kind: ChildKind, id: &str) -> Result<Child> {
    let c = db::get_child(&app.db, id)
        .await?
        .filter(|c| c.kind() == kind)
        .ok_or_else(|| not_found(Some(kind), id))?;
    check_read(caller, &c.project_id)?;
    Ok(c)
}

/// Octavia's get_all: admins see every project (or the one asked), others their own; a
/// foreign `project_id` is 403.
pub fn list_scope(caller: &Caller, project: Option<&str>) -> Result<Option<String>> {
    if caller.is_admin() {
        return Ok(project.map(str::to_owned));
    }
    let own = own_project(caller)?;
    match project {
        Some(p) if p != own => Err(forbidden()),
        _ => Ok(Some(own)),
    }
}

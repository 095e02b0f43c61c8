//! Members of a pool, one by one or as a batch (`PUT pools/{id}/members`: the new list).

use super::listeners::mandatory;
use super::params::{Change, Fields};
use super::{invalid, not_found, Tree};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::loadbalancer::{ChildAttrs, ChildKind, MemberAttrs, OperatingStatus, ProvisioningStatus};
use crate::error::{Error, Result};
use serde_json::Value;

/// Addresses no member may have (Octavia's `reserved_ips`).
const RESERVED: &[&str] = &["169.254.169.254"];

/// A member as POSTed (also each entry of a batch update).
#[derive(Debug, Clone)]
pub struct CreateMember {
    pub attrs: MemberAttrs,
    /// Which of the optional keys were given (a batch update keeps the others).
    pub has_name: bool,
    pub has_tags: bool,
    pub has_subnet: bool,
}

#[derive(Debug, Clone)]
pub struct UpdateMember {
    pub name: Option<String>,
    pub admin_state_up: Option<bool>,
    pub weight: Change<i64>,
    pub backup: Change<bool>,
    pub monitor_address: Change<Option<String>>,
    pub monitor_port: Change<Option<u16>>,
    pub tags: Option<Vec<String>>,
}

impl TryFrom<Value> for CreateMember {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("member_", v)?;
        let (has_name, has_tags, has_subnet) = (f.has("name"), f.has("tags"), f.has("subnet_id"));
        let attrs = MemberAttrs {
            name: f.string("name", 255)?,
            admin_state_up: f.bool("admin_state_up")?.unwrap_or(true),
            address: f.ip("address")?.ok_or_else(|| mandatory("address"))?,
            protocol_port: f.port("protocol_port")?.ok_or_else(|| mandatory("protocol_port"))?,
            weight: f.int("weight", 0, 256)?.unwrap_or(1),
            backup: f.bool("backup")?.unwrap_or(false),
            subnet_id: f.uuid("subnet_id")?,
            monitor_address: f.ip("monitor_address")?,
            monitor_port: f.port("monitor_port")?,
            tags: f.tags()?.unwrap_or_default(),
        };
        for k in ["project_id", "tenant_id", "request_sriov"] {
            f.raw(k);
        }
        f.finish()?;
        if RESERVED.contains(&attrs.address.as_str()) {
            return Err(Error::bad_request(format!(
                "{} is not a valid option for member address",
                attrs.address
            )));
        }
        Ok(CreateMember {
            attrs,
            has_name,
            has_tags,
            has_subnet,
        })
    }
}

impl TryFrom<Value> for UpdateMember {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("member_", v)?;
        let r = UpdateMember {
            name: f.string("name", 255)?,
            admin_state_up: f.bool("admin_state_up")?,
            weight: Change::read(&mut f, "weight", |f| f.int("weight", 0, 256))?,
            backup: Change::read(&mut f, "backup", |f| f.bool("backup"))?,
            monitor_address: Change::read(&mut f, "monitor_address", |f| Ok(f.ip("monitor_address")?.map(Some)))?,
            monitor_port: Change::read(&mut f, "monitor_port", |f| Ok(f.port("monitor_port")?.map(Some)))?,
            tags: f.tags()?,
        };
        f.finish()?;
        Ok(r)
    }
}

fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The pool and its load balancer's tree, both lockable: the pool ACTIVE, then the load
/// balancer (Octavia's order of checks and texts).
async fn pool_tree(tx: &mut crate::db::Tx<'_>, caller: &Caller, pool_id: &str) -> Result<Tree> {
    let t = super::tree_of_child(tx, caller, ChildKind::Pool, pool_id).await?;
    Ok(t)
}

fn lock_pool(t: &Tree, pool_id: &str) -> Result<()> {
    let pool = t
        .child(pool_id)
        .ok_or_else(|| not_found(Some(ChildKind::Pool), pool_id))?;
    t.lock_parent(pool)?;
    t.lock()
}

pub(super) fn initial_status(t: &Tree, pool_id: &str) -> OperatingStatus {
    if t.monitor_of(pool_id).is_some() {
        OperatingStatus::Offline
    } else {
        OperatingStatus::NoMonitor
    }
}

impl App {
    pub async fn create_member(&self, caller: &Caller, pool_id: &str, req: CreateMember) -> Result<(Tree, String)> {
        let mut tx = self.begin().await?;
        let mut t = pool_tree(&mut tx, caller, pool_id).await?;
        self.check_subnet(&mut tx, req.attrs.subnet_id.as_deref()).await?;
        self.check_lb_quota(&mut tx, &t.lb.project_id, Some(ChildKind::Member), 1)
            .await?;
        if let Some(dup) = t.children_of(pool_id, ChildKind::Member).find(|m| {
            matches!(&m.attrs, ChildAttrs::Member(a) if same_address(&a.address, &req.attrs.address) && a.protocol_port == req.attrs.protocol_port)
        }) {
            let _ = dup;
            return Err(Error::conflict(format!(
                "Another member on this pool is already using ip {} on protocol_port {}",
                req.attrs.address, req.attrs.protocol_port
            )));
        }
        lock_pool(&t, pool_id)?;
        let status = initial_status(&t, pool_id);
        let c = t.new_child(Some(pool_id.to_string()), ChildAttrs::Member(req.attrs), status);
        let id = c.id.clone();
        t.add(c);
        let mut locked = t.listeners_of_pool(pool_id);
        locked.push(pool_id.to_string());
        let t = super::commit_change(tx, t, &locked).await?;
        Ok((t, id))
    }

    async fn check_subnet(&self, tx: &mut crate::db::Tx<'_>, subnet: Option<&str>) -> Result<()> {
        if let Some(s) = subnet {
            if crate::db::network::get_subnet(&mut **tx, s).await?.is_none() {
                return Err(Error::bad_request(format!("Subnet {s} not found.")));
            }
        }
        Ok(())
    }

    pub async fn update_member(&self, caller: &Caller, pool_id: &str, id: &str, req: UpdateMember) -> Result<Tree> {
        let mut tx = self.begin().await?;
        let mut t = pool_tree(&mut tx, caller, pool_id).await?;
        let Some(ChildAttrs::Member(mut a)) = t
            .child(id)
            .filter(|m| m.parent_id.as_deref() == Some(pool_id))
            .map(|c| c.attrs.clone())
        else {
            return Err(not_found(Some(ChildKind::Member), id));
        };
        if let Some(n) = req.name {
            a.name = Some(n);
        }
        if let Some(up) = req.admin_state_up {
            a.admin_state_up = up;
        }
        req.weight.apply(&mut a.weight, 1);
        req.backup.apply(&mut a.backup, false);
        req.monitor_address.apply(&mut a.monitor_address, None);
        req.monitor_port.apply(&mut a.monitor_port, None);
        if let Some(tags) = req.tags {
            a.tags = tags;
        }
        lock_pool(&t, pool_id)?;
        if let Some(m) = t.child_mut(id) {
            m.attrs = ChildAttrs::Member(a);
        }
        let mut locked = t.listeners_of_pool(pool_id);
        locked.extend([pool_id.to_string(), id.to_string()]);
        let t = super::commit_change(tx, t, &locked).await?;
        Ok(t)
    }

    pub async fn delete_member(&self, caller: &Caller, pool_id: &str, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = pool_tree(&mut tx, caller, pool_id).await?;
        if !t
            .child(id)
            .is_some_and(|m| m.parent_id.as_deref() == Some(pool_id) && m.kind() == ChildKind::Member)
        {
            return Err(not_found(Some(ChildKind::Member), id));
        }
        lock_pool(&t, pool_id)?;
        if let Some(m) = t.child_mut(id) {
            m.provisioning_status = ProvisioningStatus::PendingDelete;
        }
        let mut locked = t.listeners_of_pool(pool_id);
        locked.push(pool_id.to_string());
        super::commit_change(tx, t, &locked).await?;
        Ok(())
    }

    /// Octavia's batch update: the request is the pool's new member list, matched on
    /// (address, port): unmatched entries are created, matched ones updated (with POST
    /// defaults reapplied), members not named deleted unless `additive_only`.
    pub async fn batch_update_members(
        &self,
        caller: &Caller,
        pool_id: &str,
        members: Vec<CreateMember>,
        additive_only: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = pool_tree(&mut tx, caller, pool_id).await?;
        let mut seen: Vec<(String, u16)> = vec![];
        for m in &members {
            let key = (m.attrs.address.clone(), m.attrs.protocol_port);
            if seen.iter().any(|(a, p)| same_address(a, &key.0) && *p == key.1) {
                return Err(invalid("Member must be updated only once in the same request."));
            }
            seen.push(key);
            self.check_subnet(&mut tx, m.attrs.subnet_id.as_deref()).await?;
        }
        let existing: Vec<(String, MemberAttrs)> = t
            .children_of(pool_id, ChildKind::Member)
            .filter(|m| m.provisioning_status != ProvisioningStatus::PendingDelete)
            .filter_map(|m| match &m.attrs {
                ChildAttrs::Member(a) => Some((m.id.clone(), a.clone())),
                _ => None,
            })
            .collect();
        let find = |m: &CreateMember| {
            existing
                .iter()
                .find(|(_, a)| same_address(&a.address, &m.attrs.address) && a.protocol_port == m.attrs.protocol_port)
                .map(|(id, a)| (id.clone(), a.clone()))
        };
        let mut creates = vec![];
        let mut updates = vec![];
        for m in members {
            match find(&m) {
                None => creates.push(m),
                Some((id, old)) => {
                    let mut a = m.attrs.clone();
                    if !m.has_name {
                        a.name = old.name.clone();
                    }
                    if !m.has_tags {
                        a.tags = old.tags.clone();
                    }
                    if !m.has_subnet {
                        a.subnet_id = old.subnet_id.clone();
                    }
                    a.address = old.address.clone();
                    if a != old {
                        updates.push((id, a));
                    }
                }
            }
        }
        let deletes: Vec<String> = if additive_only {
            vec![]
        } else {
            existing
                .iter()
                .filter(|(_, a)| {
                    !seen
                        .iter()
                        .any(|(ad, p)| same_address(ad, &a.address) && *p == a.protocol_port)
                })
                .map(|(id, _)| id.clone())
                .collect()
        };
        if creates.is_empty() && updates.is_empty() && deletes.is_empty() {
            return Ok(());
        }
        let growth = creates.len() as i64 - deletes.len() as i64;
        if growth > 0 {
            self.check_lb_quota(&mut tx, &t.lb.project_id, Some(ChildKind::Member), growth)
                .await?;
        }
        lock_pool(&t, pool_id)?;
        let status = initial_status(&t, pool_id);
        let mut locked = t.listeners_of_pool(pool_id);
        locked.push(pool_id.to_string());
        for m in creates {
            let c = t.new_child(Some(pool_id.to_string()), ChildAttrs::Member(m.attrs), status);
            t.add(c);
        }
        for (id, a) in updates {
            if let Some(m) = t.child_mut(&id) {
                m.attrs = ChildAttrs::Member(a);
            }
            locked.push(id);
        }
        for id in deletes {
            if let Some(m) = t.child_mut(&id) {
                m.provisioning_status = ProvisioningStatus::PendingDelete;
            }
        }
        super::commit_change(tx, t, &locked).await?;
        Ok(())
    }
}

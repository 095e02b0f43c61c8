//! A network node's report turned into Octavia's statuses, in the report's transaction:
//! the revision it serves settles the `PENDING_*` objects (ACTIVE, deleted children
//! removed), a revision it could not apply puts them in ERROR and unlocks their parents, a
//! load balancer being deleted goes once its host no longer runs it; operating statuses
//! follow the health the host observed, with Octavia's roll-up rules. Level-triggered: a
//! repeated report changes nothing, a lost one is made up by the next.

use super::loadbalancers::finish_delete;
use super::Tree;
use crate::db::loadbalancer::{self as db, ChildAttrs, ChildKind, OperatingStatus, ProvisioningStatus};
use crate::db::network::{self, PortStatus};
use crate::db::Tx;
use crate::error::Result;
use ciel_proto::{HostReport, LoadBalancerStatus, MemberState};
use std::collections::HashSet;

/// Applies what `host_id` reported (`up_to_date`: the report answers the host's newest
/// desired state, so what it no longer runs is gone).
pub(crate) async fn apply(
    tx: &mut Tx<'_>,
    host_id: &str,
    hostname: &str,
    report: &HostReport,
    up_to_date: bool,
    now: i64,
) -> Result<()> {
    for lb in db::on_host(&mut **tx, host_id).await? {
        let status = report.load_balancers.iter().find(|s| s.id == lb.id);
        if lb.provisioning_status == ProvisioningStatus::PendingDelete {
            if status.is_none() && up_to_date {
                finish_delete(tx, &lb).await?;
                tracing::info!(loadbalancer = %lb.id, "load balancer deleted");
            }
            continue;
        }
        if let Some(p) = &lb.vip_port_id {
            let state = if report.ports_up.contains(p) {
                PortStatus::Active
            } else {
                PortStatus::Down
            };
            network::set_port_status(&mut **tx, p, state, hostname, now).await?;
        }
        let Some(s) = status else { continue };
        let children = db::children_of(&mut **tx, &lb.id).await?;
        let mut t = Tree::from_rows(lb, children);
        if s.applied_revision as i64 >= t.lb.revision {
            t.lb.applied_revision = s.applied_revision as i64;
            t.lb.fault = None;
            settle(&mut t, now);
        } else if let Some((rev, why)) = &s.failed {
            if *rev as i64 == t.lb.revision && is_pending(&t) {
                tracing::warn!(loadbalancer = %t.lb.id, revision = rev, error = %why, "load balancer change failed on its host");
                t.lb.fault = Some(why.clone());
                fail(&mut t, now);
            }
        }
        if t.lb.provisioning_status != ProvisioningStatus::PendingCreate {
            operate(&mut t, s);
        }
        for l in &s.listeners {
            let st = &l.stats;
            let stats = (
                st.bytes_in as i64,
                st.bytes_out as i64,
                st.active_connections as i64,
                st.total_connections as i64,
                st.request_errors as i64,
            );
            if t.child(&l.id).is_some() {
                db::set_stats(&mut **tx, &t.lb.id, &l.id, stats).await?;
            }
        }
        t.save(tx).await?;
    }
    Ok(())
}

fn is_pending(t: &Tree) -> bool {
    t.lb.provisioning_status.is_pending() || t.children.iter().any(|c| c.provisioning_status.is_pending())
}

/// The data plane serves the current revision: every pending object is done.
fn settle(t: &mut Tree, now: i64) {
    if !is_pending(t) {
        return;
    }
    let mut gone: HashSet<String> = t
        .children
        .iter()
        .filter(|c| c.provisioning_status == ProvisioningStatus::PendingDelete)
        .map(|c| c.id.clone())
        .collect();
    // Children of deleted objects go with them (a pool's members and monitor, a listener's
    // policies and their rules).
    loop {
        let more: Vec<String> = t
            .children
            .iter()
            .filter(|c| !gone.contains(&c.id) && c.parent_id.as_ref().is_some_and(|p| gone.contains(p)))
            .map(|c| c.id.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        gone.extend(more);
    }
    t.children.retain(|c| !gone.contains(&c.id));
    for c in t.children.iter_mut() {
        if let ChildAttrs::Listener(a) = &mut c.attrs {
            if a.default_pool_id.as_ref().is_some_and(|p| gone.contains(p)) {
                a.default_pool_id = None;
            }
        }
        if c.provisioning_status.is_pending() {
            c.provisioning_status = ProvisioningStatus::Active;
            c.updated_at = Some(now);
        }
        // Monitors, policies and rules are ONLINE once applied (OFFLINE when disabled).
        if matches!(
            c.kind(),
            ChildKind::HealthMonitor | ChildKind::L7Policy | ChildKind::L7Rule
        ) {
            c.operating_status = if c.attrs.admin_state_up() {
                OperatingStatus::Online
            } else {
                OperatingStatus::Offline
            };
        }
    }
    if t.lb.provisioning_status.is_pending() {
        t.lb.provisioning_status = ProvisioningStatus::Active;
        t.lb.updated_at = Some(now);
    }
}

/// The data plane refused the current revision: the changed objects are in ERROR, their
/// parents unlocked (a load balancer never served is in ERROR itself).
fn fail(t: &mut Tree, now: i64) {
    for c in t.children.iter_mut().filter(|c| c.provisioning_status.is_pending()) {
        c.provisioning_status = match c.kind() {
            ChildKind::Listener | ChildKind::Pool if c.provisioning_status == ProvisioningStatus::PendingUpdate => {
                ProvisioningStatus::Active
            }
            _ => ProvisioningStatus::Error,
        };
        c.updated_at = Some(now);
    }
    t.lb.provisioning_status = if t.lb.provisioning_status == ProvisioningStatus::PendingCreate {
        ProvisioningStatus::Error
    } else {
        ProvisioningStatus::Active
    };
    t.lb.updated_at = Some(now);
}

fn member_status(h: MemberState) -> OperatingStatus {
    match h {
        MemberState::Up => OperatingStatus::Online,
        MemberState::Down => OperatingStatus::Error,
        MemberState::NoCheck => OperatingStatus::NoMonitor,
        MemberState::Maint => OperatingStatus::Offline,
    }
}

/// Operating statuses from observed health (Octavia's health manager rules).
fn operate(t: &mut Tree, s: &LoadBalancerStatus) {
    for m in &s.members {
        if let Some(c) = t.child_mut(&m.id) {
            c.operating_status = member_status(m.health);
        }
    }
    let serving: HashSet<String> = s.listeners.iter().filter(|l| l.up).map(|l| l.id.clone()).collect();
    for l in &s.listeners {
        if let Some(c) = t.child_mut(&l.id) {
            c.operating_status = if !c.attrs.admin_state_up() {
                OperatingStatus::Offline
            } else if l.up {
                OperatingStatus::Online
            } else {
                OperatingStatus::Error
            };
        }
    }
    let pools: Vec<String> = t.of_kind(ChildKind::Pool).map(|p| p.id.clone()).collect();
    let mut any_error = false;
    let mut any_degraded = false;
    for p in pools {
        let attached = t.listeners_of_pool(&p).iter().any(|l| serving.contains(l));
        let members: Vec<OperatingStatus> = t
            .children_of(&p, ChildKind::Member)
            .filter(|m| m.attrs.admin_state_up())
            .map(|m| m.operating_status)
            .collect();
        let down = members.iter().filter(|s| **s == OperatingStatus::Error).count();
        let Some(c) = t.child_mut(&p) else { continue };
        c.operating_status = if !c.attrs.admin_state_up() || !attached {
            OperatingStatus::Offline
        } else if !members.is_empty() && down == members.len() {
            any_error = true;
            OperatingStatus::Error
        } else if down > 0 {
            any_degraded = true;
            OperatingStatus::Degraded
        } else {
            OperatingStatus::Online
        };
    }
    t.lb.operating_status = if !t.lb.attrs.admin_state_up {
        OperatingStatus::Offline
    } else if any_error {
        OperatingStatus::Error
    } else if any_degraded {
        OperatingStatus::Degraded
    } else {
        OperatingStatus::Online
    };
}

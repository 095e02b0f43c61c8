//! Server groups: affinity (all members on one host), anti-affinity (each on its own host,
//! or at most `max_server_per_host`), and their soft variants, which the scheduler prefers
//! but does not insist on. Members join at boot through the `group` scheduler hint.

use super::resource_params::CreateServerGroup;
use crate::app::identity::caller::Caller;
use crate::app::policy::in_project;
use crate::app::App;
use crate::db::compute::server_groups::{self as db, ServerGroup};
use crate::db::Tx;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// A group with its members.
pub struct GroupView {
    pub group: ServerGroup,
    pub members: Vec<String>,
}

/// What placement must respect for a new member of a group.
pub struct Placement {
    pub policy: String,
    /// Hosts of the current members, one entry per member.
    pub member_hosts: Vec<String>,
    pub max_per_host: i64,
}

impl Placement {
    /// Whether `host` may take one more member (soft policies always may).
    pub fn allows(&self, host: &str) -> bool {
        let here = self.member_hosts.iter().filter(|h| *h == host).count() as i64;
        match self.policy.as_str() {
            "affinity" => self.member_hosts.is_empty() || here > 0,
            "anti-affinity" => here < self.max_per_host,
            _ => true,
        }
    }
}

impl App {
    /// Creates a group in the caller's project (within its `server_groups` quota).
    pub async fn create_server_group(&self, caller: &Caller, req: CreateServerGroup) -> Result<GroupView> {
        let project_id = caller
            .project_id()
            .ok_or_else(|| Error::bad_request("A project-scoped token is required."))?
            .to_string();
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let g = ServerGroup {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: project_id.clone(),
            user_id: caller.user_id().to_string(),
            policy: req.policy.as_str().to_string(),
            rules: req.rules_json().to_string(),
            name: req.name,
            created_at: crate::db::now(),
        };
        let mut tx = self.begin().await?;
        let limit = super::quotas::limits_in(&mut tx, &project_id)
            .await?
            .get("server_groups")
            .copied()
            .unwrap_or_else(|| super::quotas::default_limit("server_groups"));
        if limit >= 0 && db::count_for_project(&mut *tx, &project_id).await? >= limit {
            return Err(Error::Typed {
                status: 403,
                kind: "forbidden",
                message: "Quota exceeded, too many server groups.".into(),
            });
        }
        db::insert(&mut *tx, &g).await?;
        tx.commit().await?;
        Ok(GroupView {
            group: g,
            members: vec![],
        })
    }

    pub async fn get_server_group(&self, caller: &Caller, id: &str) -> Result<GroupView> {
        match db::get(&self.db, id).await? {
            Some(g) if in_project(caller, &g.project_id) => Ok(GroupView {
                members: db::members(&self.db, &g.id).await?,
                group: g,
            }),
            _ => Err(Error::not_found("server group", id)),
        }
    }

    pub async fn list_server_groups(&self, caller: &Caller, all_projects: bool) -> Result<Vec<GroupView>> {
        let mut out = vec![];
        for g in db::list(&self.db).await? {
            let visible = if all_projects && caller.is_admin() {
                true
            } else {
                caller.project_id() == Some(g.project_id.as_str())
            };
            if visible {
                out.push(GroupView {
                    members: db::members(&self.db, &g.id).await?,
                    group: g,
                });
            }
        }
        Ok(out)
    }

    pub async fn delete_server_group(&self, caller: &Caller, id: &str) -> Result<()> {
        let g = self.get_server_group(caller, id).await?.group;
        if !crate::app::policy::may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        db::delete(&self.db, id).await
    }
}

impl App {
    /// The groups a server belongs to (at most one).
    pub async fn groups_of_server(&self, server_id: &str) -> Result<Vec<String>> {
        db::groups_of(&self.db, server_id).await
    }
}

/// The group a create request names in its `group` hint, as a placement constraint.
pub async fn placement(tx: &mut Tx<'_>, caller: &Caller, group_id: &str) -> Result<Placement> {
    let g = match db::get(&mut **tx, group_id).await? {
        Some(g) if in_project(caller, &g.project_id) => g,
        _ => return Err(Error::bad_request(format!("Invalid server group {group_id}"))),
    };
    let rules: Map<String, Value> = serde_json::from_str(&g.rules).unwrap_or_default();
    Ok(Placement {
        policy: g.policy,
        member_hosts: db::member_hosts(&mut **tx, group_id).await?,
        max_per_host: rules.get("max_server_per_host").and_then(Value::as_i64).unwrap_or(1),
    })
}

#[cfg(test)]
mod tests {
    use super::Placement;

    fn p(policy: &str, hosts: &[&str], max: i64) -> Placement {
        Placement {
            policy: policy.into(),
            member_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            max_per_host: max,
        }
    }

    #[test]
    fn placement_follows_the_policy() {
        assert!(p("affinity", &[], 1).allows("a"));
        assert!(p("affinity", &["a"], 1).allows("a"));
        assert!(!p("affinity", &["a"], 1).allows("b"));
        assert!(!p("anti-affinity", &["a"], 1).allows("a"));
        assert!(p("anti-affinity", &["a"], 2).allows("a"));
        assert!(p("anti-affinity", &["a"], 1).allows("b"));
        assert!(p("soft-anti-affinity", &["a", "a"], 1).allows("a"));
    }
}

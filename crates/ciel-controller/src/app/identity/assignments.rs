//! Role assignments: grants, inheritance (OS-INHERIT), group expansion and implied roles.

use super::caller::{Caller, NamedRef};
use crate::app::App;
use crate::db::identity::assignments::{self, Assignment};
use crate::db::identity::projects::Project;
use crate::db::identity::revocations::RevocationEvent;
use crate::db::identity::{domains, groups, projects, roles, users};
use crate::error::{Error, Result};
use ciel_proto::ids::ProjectId;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Who holds the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    Group,
}

/// Where the role applies.
/// Target id of system-scoped assignments.
pub const SYSTEM_TARGET: &str = "system";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    Project,
    Domain,
    System,
}

/// A grant addressed by the URL forms `/{targets}/{t}/{actors}/{a}/roles/{r}`.
#[derive(Debug, Clone)]
pub struct GrantRef {
    pub actor: ActorKind,
    pub actor_id: String,
    pub target: TargetKind,
    pub target_id: String,
    pub role_id: String,
    pub inherited: bool,
}

impl GrantRef {
    fn row(&self) -> Assignment {
        let kind = match (self.actor, self.target) {
            (ActorKind::User, TargetKind::Project) => "UserProject",
            (ActorKind::Group, TargetKind::Project) => "GroupProject",
            (ActorKind::User, TargetKind::Domain) => "UserDomain",
            (ActorKind::Group, TargetKind::Domain) => "GroupDomain",
            (ActorKind::User, TargetKind::System) => "UserSystem",
            (ActorKind::Group, TargetKind::System) => "GroupSystem",
        };
        Assignment {
            kind: kind.into(),
            actor_id: self.actor_id.clone(),
            target_id: self.target_id.clone(),
            role_id: self.role_id.clone(),
            inherited: self.inherited,
        }
    }
}

/// One entry of `/v3/role_assignments`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssignmentView {
    pub role_id: String,
    pub actor: (bool, String), // (is_user, id)
    pub target: (TargetKind, String),
    pub inherited: bool,
    /// Set when an effective user assignment comes from a group membership.
    pub via_group: Option<String>,
    /// Set when the role is implied by another assigned role.
    pub prior_role: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct AssignmentFilter {
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub role_id: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub inherited_only: bool,
    pub effective: bool,
    pub include_subtree: bool,
    /// Only system-scoped assignments (`scope.system`).
    pub system: bool,
}

fn target_kind(a: &Assignment) -> TargetKind {
    if a.kind.ends_with("Project") {
        TargetKind::Project
    } else if a.kind.ends_with("Domain") {
        TargetKind::Domain
    } else {
        TargetKind::System
    }
}

/// Names for rendering `include_names`.
#[derive(Debug, Default)]
pub struct Names {
    pub roles: HashMap<String, (String, Option<String>)>,
    pub users: HashMap<String, (String, String)>,
    pub groups: HashMap<String, (String, String)>,
    pub projects: HashMap<String, (String, String)>,
    pub domains: HashMap<String, String>,
}

impl App {
    async fn check_grant_refs(&self, g: &GrantRef) -> Result<()> {
        roles::get(&self.db, &g.role_id)
            .await?
            .ok_or_else(|| Error::not_found("role", &g.role_id))?;
        match g.actor {
            ActorKind::User => {
                users::get(&self.db, &g.actor_id)
                    .await?
                    .ok_or_else(|| Error::not_found("user", &g.actor_id))?;
            }
            ActorKind::Group => {
                groups::get(&self.db, &g.actor_id)
                    .await?
                    .ok_or_else(|| Error::not_found("group", &g.actor_id))?;
            }
        }
        match g.target {
            TargetKind::Project => {
                projects::get(&self.db, &g.target_id)
                    .await?
                    .ok_or_else(|| Error::not_found("project", &g.target_id))?;
            }
            TargetKind::Domain => {
                domains::get(&self.db, &g.target_id)
                    .await?
                    .ok_or_else(|| Error::not_found("domain", &g.target_id))?;
            }
            TargetKind::System => {}
        }
        Ok(())
    }

    pub async fn grant_role(&self, caller: &Caller, g: GrantRef) -> Result<()> {
        caller.require_admin()?;
        self.check_grant_refs(&g).await?;
        assignments::insert(&self.db, &g.row()).await?;
        self.identity_changed().await?;
        Ok(())
    }

    pub async fn check_grant(&self, caller: &Caller, g: GrantRef) -> Result<()> {
        caller.require_admin()?;
        self.check_grant_refs(&g).await?;
        if assignments::exists(&self.db, &g.row()).await? {
            Ok(())
        } else {
            Err(Error::not_found("role assignment", &g.role_id))
        }
    }

    pub async fn revoke_grant(&self, caller: &Caller, g: GrantRef) -> Result<()> {
        caller.require_admin()?;
        self.check_grant_refs(&g).await?;
        if !assignments::delete(&self.db, &g.row()).await? {
            return Err(Error::not_found("role assignment", &g.role_id));
        }
        if g.actor == ActorKind::User && g.target == TargetKind::Project && !g.inherited {
            // Tokens are validated against current roles anyway; this also ends tokens whose
            // cached grant would otherwise linger on other controllers.
            self.revoke(RevocationEvent {
                user_id: Some(g.actor_id.clone()),
                project_id: Some(g.target_id.clone()),
                ..Default::default()
            })
            .await?;
        }
        self.identity_changed().await?;
        Ok(())
    }

    /// Roles listed under `/{targets}/{t}/{actors}/{a}/roles` (direct or inherited flavour).
    pub async fn list_grants(&self, caller: &Caller, g: GrantRef) -> Result<Vec<String>> {
        caller.require_admin()?;
        let probe = GrantRef {
            role_id: String::new(),
            ..g.clone()
        };
        let row = probe.row();
        let all = assignments::list_for_actors(&self.db, std::slice::from_ref(&g.actor_id)).await?;
        Ok(all
            .into_iter()
            .filter(|a| a.kind == row.kind && a.target_id == row.target_id && a.inherited == row.inherited)
            .map(|a| a.role_id)
            .collect())
    }

    /// Ancestors of a project, nearest first.
    pub(crate) async fn project_ancestors(&self, p: &Project) -> Result<Vec<String>> {
        let mut out = vec![];
        let mut cur = p.parent_id.clone();
        while let Some(id) = cur {
            if out.contains(&id) {
                break;
            }
            let parent = projects::get(&self.db, &id).await?;
            out.push(id);
            cur = parent.and_then(|x| x.parent_id);
        }
        Ok(out.into_iter().map(ProjectId::into_string).collect())
    }

    async fn actor_ids(&self, user_id: &str) -> Result<Vec<String>> {
        let mut actors = vec![user_id.to_string()];
        actors.extend(
            groups::list_for_user(&self.db, user_id)
                .await?
                .into_iter()
                .map(|g| g.id),
        );
        Ok(actors)
    }

    pub(crate) async fn effective_roles_on_project(&self, user_id: &str, project: &Project) -> Result<Vec<NamedRef>> {
        let actors = self.actor_ids(user_id).await?;
        let ancestors = self.project_ancestors(project).await?;
        let rows = assignments::list_for_actors(&self.db, &actors).await?;
        let direct: BTreeSet<String> = rows
            .into_iter()
            .filter(|a| match target_kind(a) {
                TargetKind::Project => {
                    (!a.inherited && a.target_id == project.id) || (a.inherited && ancestors.contains(&a.target_id))
                }
                TargetKind::Domain => a.inherited && a.target_id == project.domain_id,
                TargetKind::System => false,
            })
            .map(|a| a.role_id)
            .collect();
        self.expand_roles(direct).await
    }

    pub(crate) async fn effective_roles_on_domain(&self, user_id: &str, domain_id: &str) -> Result<Vec<NamedRef>> {
        let actors = self.actor_ids(user_id).await?;
        let rows = assignments::list_for_actors(&self.db, &actors).await?;
        let direct: BTreeSet<String> = rows
            .into_iter()
            .filter(|a| target_kind(a) == TargetKind::Domain && !a.inherited && a.target_id == domain_id)
            .map(|a| a.role_id)
            .collect();
        self.expand_roles(direct).await
    }

    pub(crate) async fn effective_roles_on_system(&self, user_id: &str) -> Result<Vec<NamedRef>> {
        let actors = self.actor_ids(user_id).await?;
        let rows = assignments::list_for_actors(&self.db, &actors).await?;
        let direct: BTreeSet<String> = rows
            .into_iter()
            .filter(|a| a.kind.ends_with("System"))
            .map(|a| a.role_id)
            .collect();
        self.expand_roles(direct).await
    }

    /// Adds implied roles transitively and drops domain-specific roles (they only carry implications).
    async fn expand_roles(&self, direct: BTreeSet<String>) -> Result<Vec<NamedRef>> {
        if direct.is_empty() {
            return Ok(vec![]);
        }
        let implications = roles::list_implications(&self.db).await?;
        let mut all = direct.clone();
        let mut frontier: Vec<String> = direct.into_iter().collect();
        while let Some(r) = frontier.pop() {
            for (prior, implied) in &implications {
                if *prior == r && all.insert(implied.clone()) {
                    frontier.push(implied.clone());
                }
            }
        }
        let mut out = vec![];
        for id in all {
            if let Some(role) = roles::get(&self.db, &id).await? {
                if role.domain_id.is_empty() {
                    out.push(NamedRef {
                        id: role.id,
                        name: role.name,
                    });
                }
            }
        }
        Ok(out)
    }

    /// `GET /v3/role_assignments`. Non-admins may only list their own assignments.
    pub async fn list_role_assignments(&self, caller: &Caller, f: AssignmentFilter) -> Result<Vec<AssignmentView>> {
        if !caller.is_admin() && f.user_id.as_deref() != Some(caller.user_id()) {
            return Err(Error::forbidden());
        }
        if f.effective && f.group_id.is_some() {
            return Err(Error::bad_request(
                "Combining effective and group filter will always result in an empty list.",
            ));
        }
        let rows = assignments::list(&self.db).await?;
        let mut views: Vec<AssignmentView> = rows
            .iter()
            .map(|a| AssignmentView {
                role_id: a.role_id.clone(),
                actor: (a.actor_is_user(), a.actor_id.clone()),
                target: (target_kind(a), a.target_id.clone()),
                inherited: a.inherited,
                via_group: None,
                prior_role: None,
            })
            .collect();
        if f.effective {
            views = self.effective_views(views).await?;
        }
        let subtree: Option<HashSet<String>> = match (&f.project_id, f.include_subtree) {
            (Some(pid), true) => Some(self.subtree_ids(pid).await?),
            _ => None,
        };
        views.retain(|v| {
            f.user_id.as_ref().is_none_or(|u| v.actor.0 && &v.actor.1 == u)
                && f.group_id.as_ref().is_none_or(|g| !v.actor.0 && &v.actor.1 == g)
                && f.role_id.as_ref().is_none_or(|r| &v.role_id == r)
                && f.project_id.as_ref().is_none_or(|p| {
                    v.target.0 == TargetKind::Project
                        && (&v.target.1 == p || subtree.as_ref().is_some_and(|s| s.contains(&v.target.1)))
                })
                && f.domain_id
                    .as_ref()
                    .is_none_or(|d| v.target.0 == TargetKind::Domain && &v.target.1 == d)
                && (!f.system || v.target.0 == TargetKind::System)
                && (!f.inherited_only || v.inherited)
        });
        views.sort();
        views.dedup();
        Ok(views)
    }

    /// Project ids below (and including) a project.
    pub(crate) async fn subtree_ids(&self, root: &str) -> Result<HashSet<String>> {
        let all = projects::list(&self.db).await?;
        let mut set: HashSet<String> = HashSet::from([root.to_string()]);
        loop {
            let before = set.len();
            for p in &all {
                if p.parent_id.as_deref().is_some_and(|pid| set.contains(pid)) {
                    set.insert(p.id.to_string());
                }
            }
            if set.len() == before {
                return Ok(set);
            }
        }
    }

    /// Expands groups into their members, inherited assignments onto the projects below their
    /// target, and implied roles, as Keystone's `effective` does.
    async fn effective_views(&self, views: Vec<AssignmentView>) -> Result<Vec<AssignmentView>> {
        let all_projects = projects::list(&self.db).await?;
        let implications = roles::list_implications(&self.db).await?;
        let mut out = vec![];
        for v in views {
            let members: Vec<(String, Option<String>)> = if v.actor.0 {
                vec![(v.actor.1.clone(), None)]
            } else {
                groups::member_ids(&self.db, &v.actor.1)
                    .await?
                    .into_iter()
                    .map(|u| (u, Some(v.actor.1.clone())))
                    .collect()
            };
            let targets: Vec<(TargetKind, String)> = if !v.inherited {
                vec![v.target.clone()]
            } else if v.target.0 == TargetKind::Project {
                let mut below: Vec<(TargetKind, String)> = vec![];
                let mut frontier = vec![v.target.1.clone()];
                while let Some(parent) = frontier.pop() {
                    for p in all_projects
                        .iter()
                        .filter(|p| p.parent_id.as_deref() == Some(parent.as_str()))
                    {
                        below.push((TargetKind::Project, p.id.to_string()));
                        frontier.push(p.id.to_string());
                    }
                }
                below
            } else {
                all_projects
                    .iter()
                    .filter(|p| p.domain_id == v.target.1)
                    .map(|p| (TargetKind::Project, p.id.to_string()))
                    .collect()
            };
            for (user, via) in &members {
                for t in &targets {
                    let base = AssignmentView {
                        role_id: v.role_id.clone(),
                        actor: (true, user.clone()),
                        target: t.clone(),
                        inherited: false,
                        via_group: via.clone(),
                        prior_role: None,
                    };
                    let mut frontier = vec![v.role_id.clone()];
                    let mut seen = HashSet::from([v.role_id.clone()]);
                    while let Some(r) = frontier.pop() {
                        for (prior, implied) in implications.iter().filter(|(p, _)| *p == r) {
                            if seen.insert(implied.clone()) {
                                frontier.push(implied.clone());
                                out.push(AssignmentView {
                                    role_id: implied.clone(),
                                    prior_role: Some(prior.clone()),
                                    ..base.clone()
                                });
                            }
                        }
                    }
                    out.push(base);
                }
            }
        }
        // Domain-specific roles never reach tokens; only the roles they imply do.
        let domain_roles: HashSet<String> = roles::list(&self.db)
            .await?
            .into_iter()
            .filter(|r| !r.domain_id.is_empty())
            .map(|r| r.id)
            .collect();
        out.retain(|v| !domain_roles.contains(&v.role_id));
        Ok(out)
    }

    /// Names of everything the views mention (for `include_names`).
    pub async fn assignment_names(&self, views: &[AssignmentView]) -> Result<Names> {
        let mut n = Names::default();
        for d in domains::list(&self.db).await? {
            n.domains.insert(d.id, d.name);
        }
        for r in roles::list(&self.db).await? {
            let dom = (!r.domain_id.is_empty()).then_some(r.domain_id);
            n.roles.insert(r.id, (r.name, dom));
        }
        for v in views {
            if v.actor.0 && !n.users.contains_key(&v.actor.1) {
                if let Some(u) = users::get(&self.db, &v.actor.1).await? {
                    n.users.insert(u.id, (u.name, u.domain_id));
                }
            }
            if !v.actor.0 && !n.groups.contains_key(&v.actor.1) {
                if let Some(g) = groups::get(&self.db, &v.actor.1).await? {
                    n.groups.insert(g.id, (g.name, g.domain_id));
                }
            }
            if v.target.0 == TargetKind::Project && !n.projects.contains_key(&v.target.1) {
                if let Some(p) = projects::get(&self.db, &v.target.1).await? {
                    n.projects.insert(p.id.into_string(), (p.name, p.domain_id));
                }
            }
        }
        Ok(n)
    }
}

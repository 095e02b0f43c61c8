use super::caller::{Caller, Scope};
use super::domains::DEFAULT_DOMAIN_ID;
use super::new_id;
use super::params::{self, ProjectCreate, ProjectTags, ProjectUpdate, MAX_TAGS};
use crate::app::json_input as input;
use crate::app::App;
use crate::db::identity::projects::{self, Project};
use crate::db::identity::revocations::RevocationEvent;
use crate::db::identity::{assignments, domains, users};
use crate::error::{Error, Result};

impl App {
    /// The domain a new user/project/group lands in when the request names none.
    pub(crate) fn caller_domain(&self, caller: &Caller) -> String {
        match &caller.grant.scope {
            Scope::Domain(d) => d.id.clone(),
            Scope::Project(p) => p.domain.id.clone(),
            Scope::Unscoped | Scope::System => DEFAULT_DOMAIN_ID.to_string(),
        }
    }

    pub async fn create_project(&self, caller: &Caller, new: ProjectCreate) -> Result<Project> {
        caller.require_admin()?;
        let new = match new {
            ProjectCreate::Domain(d) => return Ok(domain_as_project(self.create_domain(caller, d).await?)),
            ProjectCreate::Project(p) => p,
        };
        let (mut domain_id, mut parent_id) = (new.domain_id, new.parent_id);
        // A parent that is the domain itself means "top level".
        if let Some(pid) = parent_id.clone() {
            if domains::get(&self.db, &pid).await?.is_some() {
                domain_id.get_or_insert(pid.clone());
                parent_id = None;
            } else {
                let parent = projects::get(&self.db, &pid)
                    .await?
                    .ok_or_else(|| Error::not_found("project", &pid))?;
                if domain_id.as_ref().is_some_and(|d| *d != parent.domain_id) {
                    return Err(Error::bad_request(
                        "Cannot create project, the parent is in a different domain.",
                    ));
                }
                domain_id = Some(parent.domain_id);
            }
        }
        let domain_id = domain_id.unwrap_or_else(|| self.caller_domain(caller));
        if domains::get(&self.db, &domain_id).await?.is_none() {
            return Err(Error::bad_request(format!("Could not find domain: {domain_id}.")));
        }
        let tags = new.tags;
        let p = Project {
            id: new_id().into(),
            name: new.name,
            domain_id,
            parent_id: parent_id.map(Into::into),
            description: new.description,
            enabled: new.enabled,
            extra: input::merge_extra("{}", new.extra),
            tags: Some(tags.join("\u{1f}")),
            is_domain: false,
        };
        let mut tx = self.begin().await?;
        projects::insert(&mut *tx, &p).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : {}.",
                p.name
            )),
            other => other,
        })?;
        projects::set_tags(&mut tx, &p.id, &tags).await?;
        tx.commit().await?;
        self.identity_changed().await?;
        Ok(p)
    }

    /// Admins see every project; others only projects they hold a role on.
    pub async fn get_project(&self, caller: &Caller, id: &str) -> Result<Project> {
        if let Some(d) = self.project_domain(caller, id).await? {
            return Ok(d);
        }
        let p = projects::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("project", id))?;
        if caller.is_admin() || caller.project_id() == Some(id) {
            return Ok(p);
        }
        if self.effective_roles_on_project(caller.user_id(), &p).await?.is_empty() {
            return Err(Error::forbidden());
        }
        Ok(p)
    }

    pub async fn list_projects(&self, caller: &Caller) -> Result<Vec<Project>> {
        caller.require_admin()?;
        let mut all = projects::list(&self.db).await?;
        all.extend(domains::list(&self.db).await?.into_iter().map(domain_as_project));
        Ok(all)
    }

    /// The domain with this id seen as a project, when `id` names a domain.
    async fn project_domain(&self, caller: &Caller, id: &str) -> Result<Option<Project>> {
        if projects::get(&self.db, id).await?.is_some() {
            return Ok(None);
        }
        match domains::get(&self.db, id).await? {
            Some(_) => Ok(Some(domain_as_project(self.get_domain(caller, id).await?))),
            None => Ok(None),
        }
    }

    /// Projects a user holds a role on (`/v3/users/{id}/projects`, `/v3/auth/projects`).
    pub async fn list_user_projects(&self, caller: &Caller, user_id: &str) -> Result<Vec<Project>> {
        caller.require_self_or_admin(user_id)?;
        users::get(&self.db, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id))?;
        let mut out = vec![];
        for p in projects::list(&self.db).await? {
            if !self.effective_roles_on_project(user_id, &p).await?.is_empty() {
                out.push(p);
            }
        }
        Ok(out)
    }

    pub async fn update_project(&self, caller: &Caller, id: &str, change: ProjectUpdate) -> Result<Project> {
        caller.require_admin()?;
        if self.project_domain(caller, id).await?.is_some() {
            let change = change.into_domain_update();
            return Ok(domain_as_project(self.update_domain(caller, id, change).await?));
        }
        let mut p = projects::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("project", id))?;
        if change.id.is_some_and(|given| !given.is(id)) {
            return Err(Error::bad_request("Cannot change the project ID."));
        }
        if change.domain_id.is_some_and(|given| !given.is(&p.domain_id)) {
            return Err(Error::bad_request("Update of `domain_id` is not allowed."));
        }
        if change.is_domain_given {
            return Err(Error::bad_request("Update of `is_domain` is not allowed."));
        }
        if change.parent_id_given {
            return Err(Error::Forbidden("Update of `parent_id` is not allowed.".into()));
        }
        if let Some(n) = change.name {
            p.name = n;
        }
        if let Some(d) = change.description {
            p.description = d;
        }
        if let Some(e) = change.enabled {
            p.enabled = e;
        }
        let tags = change.tags;
        p.extra = input::merge_extra(&p.extra, change.extra);
        let mut tx = self.begin().await?;
        projects::update(&mut *tx, &p).await.map_err(|e| match e {
            Error::Conflict(_) => Error::conflict(format!(
                "Conflict occurred attempting to store project - Duplicate entry found with name {}.",
                p.name
            )),
            other => other,
        })?;
        if let Some(tags) = tags {
            projects::set_tags(&mut tx, id, &tags).await?;
        }
        tx.commit().await?;
        if !p.enabled {
            self.revoke(RevocationEvent {
                project_id: Some(p.id.to_string()),
                ..Default::default()
            })
            .await?;
        }
        self.identity_changed().await?;
        projects::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("project", id))
    }

    pub async fn delete_project(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        if self.project_domain(caller, id).await?.is_some() {
            return self.delete_domain(caller, id).await;
        }
        projects::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("project", id))?;
        if !projects::list_children(&self.db, id).await?.is_empty() {
            return Err(Error::Forbidden(format!(
                "Cannot delete the project {id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree."
            )));
        }
        let mut tx = self.begin().await?;
        assignments::delete_for(&mut *tx, id).await?;
        crate::db::identity::credentials::delete_owned_by(&mut tx, id).await?;
        projects::delete(&mut *tx, id).await?;
        tx.commit().await?;
        self.revoke(RevocationEvent {
            project_id: Some(id.to_string()),
            ..Default::default()
        })
        .await?;
        self.identity_changed().await?;
        Ok(())
    }

    /// Parent chain of a project, nearest first.
    pub async fn project_parents(&self, p: &Project) -> Result<Vec<Project>> {
        let mut out = vec![];
        for id in self.project_ancestors(p).await? {
            if let Some(pp) = projects::get(&self.db, &id).await? {
                out.push(pp);
            }
        }
        Ok(out)
    }

    /// Every project below `p`.
    pub async fn project_subtree(&self, p: &Project) -> Result<Vec<Project>> {
        let ids = self.subtree_ids(&p.id).await?;
        Ok(projects::list(&self.db)
            .await?
            .into_iter()
            .filter(|x| x.id != p.id && ids.contains(x.id.as_str()))
            .collect())
    }

    pub async fn project_tags(&self, caller: &Caller, id: &str) -> Result<Vec<String>> {
        Ok(self.get_project(caller, id).await?.tag_list())
    }

    pub async fn set_project_tags(
        &self,
        caller: &Caller,
        id: &str,
        ProjectTags(tags): ProjectTags,
    ) -> Result<Vec<String>> {
        caller.require_admin()?;
        projects::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("project", id))?;
        let mut tx = self.begin().await?;
        projects::set_tags(&mut tx, id, &tags).await?;
        tx.commit().await?;
        self.project_tags(caller, id).await
    }

    pub async fn add_project_tag(&self, caller: &Caller, id: &str, tag: &str) -> Result<()> {
        caller.require_admin()?;
        let p = projects::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("project", id))?;
        params::validate_tag(tag)?;
        if p.tag_list().len() >= MAX_TAGS && !p.tag_list().iter().any(|t| t == tag) {
            return Err(Error::bad_request(
                "Invalid input for field 'tags': too many tags (at most 80).",
            ));
        }
        projects::add_tag(&self.db, id, tag).await
    }

    pub async fn check_project_tag(&self, caller: &Caller, id: &str, tag: &str) -> Result<()> {
        if self.project_tags(caller, id).await?.iter().any(|t| t == tag) {
            Ok(())
        } else {
            Err(Error::not_found("tag", tag))
        }
    }

    pub async fn remove_project_tag(&self, caller: &Caller, id: &str, tag: &str) -> Result<()> {
        caller.require_admin()?;
        projects::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("project", id))?;
        if projects::remove_tag(&self.db, id, tag).await? {
            Ok(())
        } else {
            Err(Error::not_found("tag", tag))
        }
    }

    pub async fn clear_project_tags(&self, caller: &Caller, id: &str) -> Result<()> {
        self.set_project_tags(caller, id, ProjectTags(vec![])).await.map(|_| ())
    }
}

/// Keystone shows domains through the projects API with `is_domain: true`.
fn domain_as_project(d: crate::db::identity::domains::Domain) -> Project {
    Project {
        id: d.id.into(),
        name: d.name,
        domain_id: String::new(),
        parent_id: None,
        description: d.description,
        enabled: d.enabled,
        extra: d.extra,
        tags: None,
        is_domain: true,
    }
}

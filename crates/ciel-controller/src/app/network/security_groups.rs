//! Security groups and rules: the per-project `default` group (created on first use), Neutron's
//! rule validation and duplicate detection, and which groups a port is in.

use super::params::{CreateSecurityGroup, CreateSecurityGroupRule, UpdateSecurityGroup};
use super::{not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::network::security_groups::{self as sg, Rule, SecurityGroup};
use crate::db::Tx;
use crate::error::{Error, Result};

/// A group with its rules.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: SecurityGroup,
    pub rules: Vec<Rule>,
}

fn rule_row(group: &SecurityGroup, direction: &str, ethertype: &str, remote_group: Option<&str>, now: i64) -> Rule {
    Rule {
        id: uuid::Uuid::new_v4().to_string(),
        security_group_id: group.id.clone(),
        project_id: group.project_id.clone(),
        direction: direction.into(),
        ethertype: ethertype.into(),
        protocol: None,
        port_range_min: None,
        port_range_max: None,
        remote_ip_prefix: None,
        remote_group_id: remote_group.map(str::to_owned),
        description: String::new(),
        created_at: now,
        updated_at: now,
        revision_number: 0,
    }
}

/// Inserts a group with Neutron's default rules: all egress, ingress from the group itself
/// when `default`, for IPv4 and IPv6.
async fn insert_with_default_rules(tx: &mut Tx<'_>, g: &SecurityGroup) -> Result<()> {
    sg::insert_group(&mut **tx, g).await?;
    for eth in ["IPv4", "IPv6"] {
        sg::insert_rule(&mut **tx, &rule_row(g, "egress", eth, None, g.created_at)).await?;
        if g.is_default {
            sg::insert_rule(&mut **tx, &rule_row(g, "ingress", eth, Some(&g.id), g.created_at)).await?;
        }
    }
    Ok(())
}

impl App {
    /// The project's `default` group, created on first use; racing creators end with one group.
    pub(crate) async fn default_security_group(&self, tx: &mut Tx<'_>, project_id: &str) -> Result<SecurityGroup> {
        if let Some(g) = sg::default_group(&mut **tx, project_id).await? {
            return Ok(g);
        }
        let now = crate::db::now();
        let g = SecurityGroup {
            id: uuid::Uuid::new_v4().to_string(),
            name: "default".into(),
            project_id: project_id.into(),
            description: "Default security group".into(),
            stateful: true,
            is_default: true,
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        insert_with_default_rules(tx, &g).await?;
        Ok(g)
    }

    async fn ensure_default_group(&self, caller: &Caller) -> Result<()> {
        if let Some(p) = caller.project_id() {
            let mut tx = self.begin().await?;
            self.default_security_group(&mut tx, p).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn group_view(&self, g: SecurityGroup) -> Result<GroupView> {
        let rules = sg::list_rules(&self.db)
            .await?
            .into_iter()
            .filter(|r| r.security_group_id == g.id)
            .collect();
        Ok(GroupView { group: g, rules })
    }

    pub async fn create_security_group(&self, caller: &Caller, req: CreateSecurityGroup) -> Result<GroupView> {
        let project_id = target_project(caller, req.project_id)?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        let name = req.name.unwrap_or_default();
        if name.eq_ignore_ascii_case("default") {
            return Err(Error::Typed {
                status: 409,
                kind: "SecurityGroupDefaultAlreadyExists",
                message: "Default security group already exists.".into(),
            });
        }
        let now = crate::db::now();
        let g = SecurityGroup {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            project_id: project_id.clone(),
            description: req.description.unwrap_or_default(),
            stateful: req.stateful.unwrap_or(true),
            is_default: false,
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        let mut tx = self.begin().await?;
        self.check_network_quota(&mut tx, &project_id, "security_group").await?;
        self.default_security_group(&mut tx, &project_id).await?;
        insert_with_default_rules(&mut tx, &g).await?;
        tx.commit().await?;
        self.group_view(g).await
    }

    pub async fn get_security_group(&self, caller: &Caller, id: &str) -> Result<GroupView> {
        match sg::get_group(&self.db, id).await? {
            Some(g) if in_project(caller, &g.project_id) => self.group_view(g).await,
            _ => Err(not_found("security group", id)),
        }
    }

    pub async fn list_security_groups(&self, caller: &Caller) -> Result<Vec<GroupView>> {
        self.ensure_default_group(caller).await?;
        let rules = sg::list_rules(&self.db).await?;
        Ok(sg::list_groups(&self.db)
            .await?
            .into_iter()
            .filter(|g| in_project(caller, &g.project_id))
            .map(|g| GroupView {
                rules: rules.iter().filter(|r| r.security_group_id == g.id).cloned().collect(),
                group: g,
            })
            .collect())
    }

    pub async fn update_security_group(
        &self,
        caller: &Caller,
        id: &str,
        req: UpdateSecurityGroup,
    ) -> Result<GroupView> {
        let mut tx = self.begin().await?;
        let mut g = match sg::get_group(&mut *tx, id).await? {
            Some(g) if in_project(caller, &g.project_id) => g,
            _ => return Err(not_found("security group", id)),
        };
        if !may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(n) = req.name {
            if g.is_default && n != "default" {
                return Err(Error::Typed {
                    status: 409,
                    kind: "SecurityGroupCannotUpdateDefault",
                    message: "Updating default security group not allowed.".into(),
                });
            }
            if !g.is_default && n.eq_ignore_ascii_case("default") {
                return Err(Error::Typed {
                    status: 409,
                    kind: "SecurityGroupDefaultAlreadyExists",
                    message: "Default security group already exists.".into(),
                });
            }
            g.name = n;
        }
        if let Some(d) = req.description {
            g.description = d;
        }
        if let Some(s) = req.stateful {
            if s != g.stateful {
                // Connection tracking on or off changes the members' rules.
                tx.security_groups_changed();
            }
            g.stateful = s;
        }
        g.updated_at = crate::db::now();
        sg::update_group(&mut *tx, &g).await?;
        tx.commit().await?;
        self.get_security_group(caller, id).await
    }

    pub async fn delete_security_group(&self, caller: &Caller, id: &str) -> Result<()> {
        let g = self.get_security_group(caller, id).await?.group;
        if !may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        if g.is_default && !caller.is_admin() {
            return Err(Error::Typed {
                status: 409,
                kind: "SecurityGroupCannotRemoveDefault",
                message: "Insufficient rights for removing default security group.".into(),
            });
        }
        let mut tx = self.begin().await?;
        if sg::ports_using(&mut *tx, id).await? > 0 {
            return Err(Error::Typed {
                status: 409,
                kind: "SecurityGroupInUse",
                message: format!("Security Group {id} in use."),
            });
        }
        sg::delete_group(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_security_group_rule(&self, caller: &Caller, req: CreateSecurityGroupRule) -> Result<Rule> {
        let g = self.get_security_group(caller, &req.security_group_id).await?.group;
        if !may_write(caller, &g.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(rg) = &req.remote_group_id {
            self.get_security_group(caller, rg).await?;
        }
        let now = crate::db::now();
        let rule = Rule {
            protocol: req.protocol,
            port_range_min: req.port_range_min,
            port_range_max: req.port_range_max,
            remote_ip_prefix: req.remote_ip_prefix,
            description: req.description.unwrap_or_default(),
            ..rule_row(
                &g,
                req.direction.as_str(),
                req.ethertype.as_str(),
                req.remote_group_id.as_deref(),
                now,
            )
        };
        let mut tx = self.begin().await?;
        self.check_network_quota(&mut tx, &rule.project_id, "security_group_rule")
            .await?;
        sg::insert_rule(&mut *tx, &rule).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Typed {
                status: 409,
                kind: "SecurityGroupRuleExists",
                message: "Security group rule already exists.".into(),
            },
            other => other,
        })?;
        self.security_groups_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(rule)
    }

    pub async fn get_security_group_rule(&self, caller: &Caller, id: &str) -> Result<Rule> {
        match sg::get_rule(&self.db, id).await? {
            Some(r) if in_project(caller, &r.project_id) => Ok(r),
            _ => Err(not_found("security group rule", id)),
        }
    }

    pub async fn list_security_group_rules(&self, caller: &Caller) -> Result<Vec<Rule>> {
        self.ensure_default_group(caller).await?;
        Ok(sg::list_rules(&self.db)
            .await?
            .into_iter()
            .filter(|r| in_project(caller, &r.project_id))
            .collect())
    }

    pub async fn delete_security_group_rule(&self, caller: &Caller, id: &str) -> Result<()> {
        let r = self.get_security_group_rule(caller, id).await?;
        if !may_write(caller, &r.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        sg::delete_rule(&mut *tx, id).await?;
        self.security_groups_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Groups for a new or updated port: the requested ones (which must be the caller's), the
    /// project default when none is named and port security is on, none when it is off.
    pub(crate) async fn port_groups_for(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        project_id: &str,
        requested: Option<Vec<String>>,
        port_security: bool,
    ) -> Result<Vec<String>> {
        let Some(ids) = requested else {
            return if port_security {
                Ok(vec![self.default_security_group(tx, project_id).await?.id])
            } else {
                Ok(vec![])
            };
        };
        if !port_security && !ids.is_empty() {
            return Err(Error::Typed {
                status: 409,
                kind: "PortSecurityAndIPRequiredForSecurityGroups",
                message:
                    "Port security must be enabled and port must have an IP address in order to use security groups."
                        .into(),
            });
        }
        for id in &ids {
            match sg::get_group(&mut **tx, id).await? {
                Some(g) if in_project(caller, &g.project_id) => {}
                _ => return Err(not_found("security group", id)),
            }
        }
        Ok(ids)
    }
}

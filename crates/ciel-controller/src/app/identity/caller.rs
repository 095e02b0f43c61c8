//! The authenticated caller: a validated token plus what it grants. Building the grant needs
//! database reads, so it is cached per (user, scope, application credential) and rebuilt
//! whenever the identity data changes; the per-request cost is a decrypt, a revocation scan
//! and a map lookup.

use super::tokens::TokenPayload;
use crate::app::App;
use crate::db::identity::revocations::{self, RevocationEvent};
use crate::db::identity::{credentials, domains, projects, users};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct ProjectRef {
    pub id: String,
    pub name: String,
    pub domain: NamedRef,
}

#[derive(Debug, Clone)]
pub enum Scope {
    Unscoped,
    Project(ProjectRef),
    Domain(NamedRef),
    System,
}

#[derive(Debug, Clone)]
pub struct UserRef {
    pub id: String,
    pub name: String,
    pub domain: NamedRef,
    pub password_expires_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct AppCredRef {
    pub id: String,
    pub name: String,
    pub restricted: bool,
}

/// What a (user, scope, application credential) triple grants; cached.
#[derive(Debug)]
pub struct Grant {
    pub user: UserRef,
    pub scope: Scope,
    pub roles: Vec<NamedRef>,
    pub app_cred: Option<AppCredRef>,
    /// Application credential expiry (seconds), checked on every request.
    pub app_cred_expires_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub token: TokenPayload,
    pub grant: Arc<Grant>,
}

impl Caller {
    pub fn user_id(&self) -> &str {
        &self.token.user_id
    }
    pub fn project_id(&self) -> Option<&str> {
        self.token.project_id.as_deref()
    }
    pub fn has_role(&self, name: &str) -> bool {
        self.grant.roles.iter().any(|r| r.name == name)
    }
    /// OpenStack's `admin` role, on whatever scope, is cloud-wide admin (as in Keystone's and
    /// Nova's default policies with scope enforcement off).
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }
    /// `member` (implied by `admin`): may write within its scope.
    pub fn can_write(&self) -> bool {
        self.has_role("member") || self.is_admin()
    }
    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }
    /// Admin, or the caller itself acting on its own user.
    pub fn require_self_or_admin(&self, user_id: &str) -> Result<()> {
        if self.is_admin() || self.user_id() == user_id {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }
}

type ScopeKey = (String, Option<String>, Option<String>, Option<String>, bool);

#[derive(Default)]
pub struct ScopeCache {
    entries: Mutex<HashMap<ScopeKey, (u64, Arc<Grant>)>>,
}

impl App {
    /// Validates a token string: integrity, expiry, revocation, and that the user, scope and
    /// roles still exist. Errors are 404 "token not found"; the HTTP layer turns them into 401
    /// for `X-Auth-Token`.
    pub async fn validate_token(&self, token: &str) -> Result<Caller> {
        let payload = self.tokens.open_token(token)?;
        self.check_payload(&payload)?;
        let grant = self.grant_for(&payload).await?;
        if let Some(exp) = grant.app_cred_expires_at {
            if exp <= crate::db::now_micros() {
                return Err(Error::not_found("token", "the application credential has expired"));
            }
        }
        Ok(Caller { token: payload, grant })
    }

    /// A short-lived caller acting as `user_id` in `project_id`, for work Ciel does on its own
    /// behalf at start (seeding images, the external network) through the same checks as the API.
    pub async fn internal_caller(&self, user_id: &str, project_id: &str) -> Result<Caller> {
        let now = crate::db::now_micros();
        let token = TokenPayload {
            user_id: user_id.into(),
            methods: vec!["password".into()],
            project_id: Some(project_id.into()),
            domain_id: None,
            app_cred_id: None,
            system: false,
            issued_at: now,
            expires_at: now + 60_000_000,
            audit_ids: vec![],
        };
        Ok(Caller {
            grant: self.grant_for(&token).await?,
            token,
        })
    }

    fn check_payload(&self, p: &TokenPayload) -> Result<()> {
        if p.expires_at <= crate::db::now_micros() {
            return Err(Error::not_found("token", "the token has expired"));
        }
        let revoked = self
            .revocations
            .read()
            .expect("revocations lock")
            .iter()
            .any(|ev| matches(ev, p));
        if revoked {
            return Err(Error::not_found("token", "the token has been revoked"));
        }
        Ok(())
    }

    pub(crate) async fn grant_for(&self, p: &TokenPayload) -> Result<Arc<Grant>> {
        let key = (
            p.user_id.clone(),
            p.project_id.clone(),
            p.domain_id.clone(),
            p.app_cred_id.clone(),
            p.system,
        );
        let generation = self.identity_generation();
        if let Some((g, grant)) = self.scope_cache.entries.lock().expect("scope cache").get(&key) {
            if *g == generation {
                return Ok(grant.clone());
            }
        }
        let grant = Arc::new(self.build_grant(p).await?);
        let mut map = self.scope_cache.entries.lock().expect("scope cache");
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(key, (generation, grant.clone()));
        Ok(grant)
    }

    /// Reads the user, scope and effective roles from the database.
    pub(crate) async fn build_grant(&self, p: &TokenPayload) -> Result<Grant> {
        let gone = |why: &str| Error::not_found("token", why.to_string());
        let user = users::get(&self.db, &p.user_id)
            .await?
            .ok_or_else(|| gone("the user no longer exists"))?;
        if !user.enabled {
            return Err(gone("the user is disabled"));
        }
        let user_domain = domains::get(&self.db, &user.domain_id)
            .await?
            .ok_or_else(|| gone("the user's domain is gone"))?;
        if !user_domain.enabled {
            return Err(gone("the user's domain is disabled"));
        }
        let user_ref = UserRef {
            id: user.id.clone(),
            name: user.name.clone(),
            domain: NamedRef {
                id: user_domain.id.clone(),
                name: user_domain.name.clone(),
            },
            password_expires_at: user.password_expires_at,
        };
        let (scope, mut roles) = match (&p.project_id, &p.domain_id) {
            (Some(pid), _) => {
                let project = projects::get(&self.db, pid)
                    .await?
                    .ok_or_else(|| gone("the project no longer exists"))?;
                let domain = domains::get(&self.db, &project.domain_id)
                    .await?
                    .ok_or_else(|| gone("domain gone"))?;
                if !project.enabled || !domain.enabled {
                    return Err(gone("the project is disabled"));
                }
                let roles = self.effective_roles_on_project(&user.id, &project).await?;
                let scope = Scope::Project(ProjectRef {
                    id: project.id.into_string(),
                    name: project.name,
                    domain: NamedRef {
                        id: domain.id,
                        name: domain.name,
                    },
                });
                (scope, roles)
            }
            (None, Some(did)) => {
                let domain = domains::get(&self.db, did)
                    .await?
                    .ok_or_else(|| gone("the domain no longer exists"))?;
                if !domain.enabled {
                    return Err(gone("the domain is disabled"));
                }
                let roles = self.effective_roles_on_domain(&user.id, &domain.id).await?;
                (
                    Scope::Domain(NamedRef {
                        id: domain.id,
                        name: domain.name,
                    }),
                    roles,
                )
            }
            (None, None) if p.system => (Scope::System, self.effective_roles_on_system(&user.id).await?),
            (None, None) => (Scope::Unscoped, vec![]),
        };
        let mut app_cred = None;
        let mut app_cred_expires_at = None;
        if let Some(acid) = &p.app_cred_id {
            let ac = credentials::get_app_cred(&self.db, acid)
                .await?
                .ok_or_else(|| gone("the application credential no longer exists"))?;
            let allowed: Vec<String> = serde_json::from_str(&ac.roles).unwrap_or_default();
            roles.retain(|r| allowed.contains(&r.id));
            app_cred_expires_at = ac.expires_at;
            app_cred = Some(AppCredRef {
                id: ac.id,
                name: ac.name,
                restricted: !ac.unrestricted,
            });
        }
        if !matches!(scope, Scope::Unscoped) && roles.is_empty() {
            return Err(gone("the user has no role on the token's scope"));
        }
        Ok(Grant {
            user: user_ref,
            scope,
            roles,
            app_cred,
            app_cred_expires_at,
        })
    }

    pub(crate) async fn load_revocations(&self) -> Result<()> {
        let horizon = crate::db::now_micros() - self.cfg.identity.token_expiration * 1_000_000;
        revocations::prune(&self.db, horizon).await?;
        let events = revocations::list_since(&self.db, horizon).await?;
        *self.revocations.write().expect("revocations lock") = events;
        Ok(())
    }

    /// Records a revocation event: every matching token issued until now stops working.
    pub async fn revoke(&self, mut ev: RevocationEvent) -> Result<()> {
        ev.issued_before = crate::db::now_micros();
        revocations::insert(&self.db, &ev, crate::db::now()).await?;
        self.revocations.write().expect("revocations lock").push(ev);
        // The other controllers reload their lists when they see this.
        self.identity_changed().await
    }
}

fn matches(ev: &RevocationEvent, p: &TokenPayload) -> bool {
    if p.issued_at > ev.issued_before {
        return false;
    }
    let field = |want: &Option<String>, have: Option<&str>| match want {
        None => true,
        Some(w) => have == Some(w.as_str()),
    };
    field(&ev.user_id, Some(&p.user_id))
        && field(&ev.project_id, p.project_id.as_deref())
        && field(&ev.domain_id, p.domain_id.as_deref())
        && match &ev.audit_id {
            None => true,
            Some(a) => p.audit_ids.iter().any(|x| x == a),
        }
}

impl App {
    /// Revokes one token (and tokens rescoped from it) by its audit id.
    pub async fn revoke_token(&self, c: &Caller) -> Result<()> {
        self.revoke(RevocationEvent {
            audit_id: c.token.audit_ids.first().cloned(),
            ..Default::default()
        })
        .await
    }
}

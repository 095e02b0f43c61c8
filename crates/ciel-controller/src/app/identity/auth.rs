//! `POST /v3/auth/tokens`: authenticate by password, token or application credential, resolve
//! the requested scope, and seal a token.

use super::caller::Caller;
use super::passwords;
use super::tokens::{new_audit_id, TokenPayload};
use crate::app::App;
use crate::db::identity::users::User;
use crate::db::identity::{credentials, domains, projects, users};
use crate::db::{now, now_micros};
use crate::error::{Error, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthRequest {
    pub identity: IdentityReq,
    #[serde(default)]
    pub scope: Option<ScopeReq>,
}

#[derive(Debug, Deserialize)]
pub struct IdentityReq {
    pub methods: Vec<String>,
    pub password: Option<PasswordReq>,
    pub token: Option<TokenReq>,
    pub application_credential: Option<AppCredReq>,
}

#[derive(Debug, Deserialize)]
pub struct PasswordReq {
    pub user: UserIdent,
}

#[derive(Debug, Deserialize)]
pub struct UserIdent {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain: Option<DomainIdent>,
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DomainIdent {
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TokenReq {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct AppCredReq {
    pub id: Option<String>,
    pub name: Option<String>,
    pub secret: String,
    pub user: Option<UserIdent>,
}

#[derive(Debug, Deserialize)]
pub struct ScopeReq {
    pub project: Option<ProjectIdent>,
    pub domain: Option<DomainIdent>,
    pub system: Option<serde_json::Value>,
    #[serde(rename = "OS-TRUST:trust")]
    pub trust: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct ProjectIdent {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain: Option<DomainIdent>,
}

/// A freshly issued token and what it grants.
pub struct Issued {
    pub token: String,
    pub caller: Caller,
}

fn unauthorized() -> Error {
    Error::Unauthorized("The request you have made requires authentication.".into())
}

impl App {
    pub async fn authenticate(&self, req: AuthRequest) -> Result<Issued> {
        let methods = &req.identity.methods;
        if methods.is_empty() {
            return Err(Error::bad_request(
                "Invalid input for field 'identity/methods': [] is too short",
            ));
        }
        if req.scope.as_ref().is_some_and(|s| s.trust.is_some()) {
            return Err(Error::forbidden());
        }
        let now_us = now_micros();
        let (user, mut token_methods, parent, app_cred_id, forced_project) = match methods[0].as_str() {
            "password" => {
                let p = req
                    .identity
                    .password
                    .as_ref()
                    .ok_or_else(|| Error::bad_request("Expecting to find password in identity."))?;
                let user = self.password_auth(&p.user).await?;
                (user, vec!["password".to_string()], None, None, None)
            }
            "token" => {
                let t = req
                    .identity
                    .token
                    .as_ref()
                    .ok_or_else(|| Error::bad_request("Expecting to find token in identity."))?;
                // Keystone answers 404 for a token that is revoked or invalid.
                let old = self.validate_token(&t.id).await?;
                if old.token.app_cred_id.is_some() {
                    return Err(Error::forbidden());
                }
                let user = users::get(&self.db, old.user_id()).await?.ok_or_else(unauthorized)?;
                let mut m = vec!["token".to_string()];
                m.extend(old.token.methods.iter().filter(|x| *x != "token").cloned());
                (user, m, Some(old.token), None, None)
            }
            "application_credential" => {
                let a = req
                    .identity
                    .application_credential
                    .as_ref()
                    .ok_or_else(|| Error::bad_request("Expecting to find application_credential in identity."))?;
                if req.scope.is_some() {
                    return Err(Error::Unauthorized(
                        "Application credentials cannot request a scope.".into(),
                    ));
                }
                let (user, ac) = self.app_cred_auth(a).await?;
                (
                    user,
                    vec!["application_credential".to_string()],
                    None,
                    Some(ac.id),
                    Some(ac.project_id),
                )
            }
            other => {
                return Err(Error::Unauthorized(format!(
                    "Attempted to authenticate with an unsupported method: {other}"
                )))
            }
        };
        if !user.enabled {
            return Err(Error::Unauthorized(format!(
                "The account is disabled for user: {}",
                user.id
            )));
        }
        token_methods.dedup();

        let system = req
            .scope
            .as_ref()
            .is_some_and(|s| s.system.as_ref().is_some_and(|v| v["all"] == true))
            || (req.scope.is_none() && parent.as_ref().is_some_and(|p| p.system));
        let (project_id, domain_id) = match (&forced_project, &req.scope) {
            (Some(p), _) => (Some(p.clone()), None),
            (None, Some(scope)) => self.resolve_scope(scope).await?,
            (None, None) => match (&parent, &user.default_project_id) {
                // Rescoping to nothing keeps the parent token's scope.
                (Some(p), _) => (p.project_id.clone(), p.domain_id.clone()),
                (None, Some(dp)) => (self.default_project_if_allowed(&user, dp).await?, None),
                (None, None) => (None, None),
            },
        };
        let expires_at = match &parent {
            Some(p) => p.expires_at,
            None => now_us + self.cfg.identity.token_expiration * 1_000_000,
        };
        let mut audit_ids = vec![new_audit_id()];
        if let Some(p) = &parent {
            audit_ids.push(p.audit_ids[0].clone());
        }
        let payload = TokenPayload {
            user_id: user.id.clone(),
            methods: token_methods,
            project_id,
            domain_id,
            app_cred_id,
            system,
            issued_at: now_us,
            expires_at,
            audit_ids,
        };
        let grant = self.build_grant(&payload).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::Unauthorized(match (&payload.project_id, &payload.domain_id) {
                (Some(p), _) => format!("User {} has no access to project {p}", user.id),
                (None, Some(d)) => format!("User {} has no access to domain {d}", user.id),
                _ if system => format!("User {} has no access to the system", user.id),
                _ => "The request you have made requires authentication.".into(),
            }),
            other => other,
        })?;
        let token = self.tokens.seal(&payload);
        tracing::debug!(user = %user.id, project = ?payload.project_id, "token issued");
        Ok(Issued {
            token,
            caller: Caller {
                token: payload,
                grant: std::sync::Arc::new(grant),
            },
        })
    }

    async fn find_user(&self, ident: &UserIdent) -> Result<Option<User>> {
        if let Some(id) = &ident.id {
            return users::get(&self.db, id).await;
        }
        let name = ident
            .name
            .as_ref()
            .ok_or_else(|| Error::bad_request("Expecting to find user id or name."))?;
        let dom = ident
            .domain
            .as_ref()
            .ok_or_else(|| Error::bad_request("Expecting to find domain in user."))?;
        let Some(domain_id) = self.domain_id_of(dom).await? else {
            return Ok(None);
        };
        users::get_by_name(&self.db, &domain_id, name).await
    }

    async fn domain_id_of(&self, d: &DomainIdent) -> Result<Option<String>> {
        match (&d.id, &d.name) {
            (Some(id), _) => Ok(domains::get(&self.db, id).await?.map(|d| d.id)),
            (None, Some(name)) => Ok(domains::get_by_name(&self.db, name).await?.map(|d| d.id)),
            _ => Err(Error::bad_request("Expecting to find domain id or name.")),
        }
    }

    async fn password_auth(&self, ident: &UserIdent) -> Result<User> {
        let password = ident
            .password
            .clone()
            .ok_or_else(|| Error::bad_request("Expecting to find password in user."))?;
        let user = self.find_user(ident).await?.ok_or_else(unauthorized)?;
        let opts: serde_json::Value = serde_json::from_str(&user.options).unwrap_or_default();
        let sc = &self.cfg.identity;
        let lockout_applies = sc.lockout_failure_attempts > 0 && opts["ignore_lockout_failure_attempts"] != true;
        if lockout_applies && user.failed_auth_count >= sc.lockout_failure_attempts as i64 {
            let locked_until = user.last_failed_auth_at.unwrap_or(0) + sc.lockout_duration;
            if now() < locked_until {
                return Err(Error::Unauthorized(format!(
                    "The account is locked for user: {}. Please contact your administrator.",
                    user.id
                )));
            }
            users::reset_auth_failures(&self.db, &user.id).await?;
        }
        let ok = match &user.password_hash {
            Some(h) => passwords::verify(password, h.clone()).await,
            None => false,
        };
        if !ok {
            if lockout_applies {
                users::record_auth_failure(&self.db, &user.id, now()).await?;
            }
            return Err(unauthorized());
        }
        if user.failed_auth_count > 0 {
            users::reset_auth_failures(&self.db, &user.id).await?;
        }
        if let Some(exp) = user.password_expires_at {
            if exp <= now() && opts["ignore_password_expiry"] != true {
                return Err(Error::Unauthorized(format!(
                    "The password is expired and needs to be changed for user: {}.",
                    user.id
                )));
            }
        }
        Ok(user)
    }

    async fn app_cred_auth(&self, a: &AppCredReq) -> Result<(User, credentials::AppCred)> {
        let ac = match (&a.id, &a.name, &a.user) {
            (Some(id), _, _) => credentials::get_app_cred(&self.db, id).await?,
            (None, Some(name), Some(u)) => match self.find_user(u).await? {
                Some(user) => credentials::get_app_cred_by_name(&self.db, &user.id, name).await?,
                None => None,
            },
            _ => {
                return Err(Error::bad_request(
                    "Expecting to find application credential id, or name and user.",
                ))
            }
        }
        .ok_or_else(unauthorized)?;
        if ac.expires_at.is_some_and(|e| e <= now_micros()) {
            return Err(Error::Unauthorized("The application credential has expired.".into()));
        }
        if !passwords::verify(a.secret.clone(), ac.secret_hash.clone()).await {
            return Err(unauthorized());
        }
        let user = users::get(&self.db, &ac.user_id).await?.ok_or_else(unauthorized)?;
        Ok((user, ac))
    }

    async fn resolve_scope(&self, scope: &ScopeReq) -> Result<(Option<String>, Option<String>)> {
        if let Some(p) = &scope.project {
            let project = match (&p.id, &p.name) {
                (Some(id), _) => projects::get(&self.db, id).await?,
                (None, Some(name)) => {
                    let d = p
                        .domain
                        .as_ref()
                        .ok_or_else(|| Error::bad_request("Expecting to find domain in project."))?;
                    match self.domain_id_of(d).await? {
                        Some(did) => projects::get_by_name(&self.db, &did, name).await?,
                        None => None,
                    }
                }
                _ => return Err(Error::bad_request("Expecting to find project id or name.")),
            };
            let project = project.ok_or_else(|| Error::Unauthorized("Could not find the requested project.".into()))?;
            return Ok((Some(project.id.into_string()), None));
        }
        if let Some(d) = &scope.domain {
            let id = self
                .domain_id_of(d)
                .await?
                .ok_or_else(|| Error::Unauthorized("Could not find the requested domain.".into()))?;
            return Ok((None, Some(id)));
        }
        Ok((None, None))
    }

    /// Keystone scopes an unscoped request to the user's default project when the user has a role there.
    async fn default_project_if_allowed(&self, user: &User, project_id: &str) -> Result<Option<String>> {
        let Some(project) = projects::get(&self.db, project_id).await? else {
            return Ok(None);
        };
        if !project.enabled {
            return Ok(None);
        }
        let roles = self.effective_roles_on_project(&user.id, &project).await?;
        Ok((!roles.is_empty()).then_some(project.id.into_string()))
    }
}

/// The token a caller asks about with `X-Subject-Token`. Holding a token tells its existence,
/// so a refusal is 403, not 404.
struct SubjectToken<'a>(&'a Caller);

impl crate::app::policy::Target for SubjectToken<'_> {
    fn kind(&self) -> &'static str {
        "token"
    }
    fn id(&self) -> &str {
        "the subject token"
    }
    fn project_id(&self) -> Option<&str> {
        None
    }
    fn user_id(&self) -> Option<&str> {
        Some(self.0.user_id())
    }
    fn shared_with(&self, _caller: &Caller) -> bool {
        true
    }
}

impl App {
    /// The caller behind `token`, for `action` on `/v3/auth/tokens`: the caller's own token,
    /// or any for an admin (404 when the token is not valid).
    pub async fn token_subject(&self, caller: &Caller, action: &str, token: &str) -> Result<Caller> {
        let subject = self
            .validate_token(token)
            .await
            .map_err(|_| Error::not_found("token", "the subject token"))?;
        caller.authorize(action, &SubjectToken(&subject))?;
        Ok(subject)
    }

    /// The catalog shown at `/v3/auth/catalog`: only to a scoped token, as Keystone answers.
    pub async fn catalog_for(&self, caller: &Caller) -> Result<std::sync::Arc<Vec<super::catalog::CatalogEntry>>> {
        if matches!(caller.grant.scope, super::caller::Scope::Unscoped) {
            return Err(Error::forbidden());
        }
        self.catalog().await
    }
}

//! Typed request bodies of Keystone's write routes.
//!
//! Each type is read from the JSON object under the body's resource key (`{"user": {...}}`)
//! by one `TryFrom<Body>`, which checks the fields in Keystone's order with Keystone's error
//! texts (all 400s); the types are also `Deserialize` through that same conversion. Checks that
//! need stored state (does the domain exist, may this id change) stay in the `App` methods.
//!
//! Keystone keeps attributes it does not know on most resources and shows them back as given
//! ("extra" in Keystone's models): those are kept explicitly in an [`Extra`] field.

use crate::app::json_input::{self as input, invalid, Body};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Attributes Keystone does not know, stored and shown back as given. This is Keystone's open
/// "extra" property set: any names, any JSON values.
pub type Extra = Map<String, Value>;

/// The most tags a project may carry.
pub const MAX_TAGS: usize = 80;

/// An `id` (or `domain_id`) repeated in an update body. Keystone refuses one that differs from
/// the stored value; a non-string never matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyId {
    Text(String),
    NotText,
}

impl BodyId {
    fn take(body: &mut Body, field: &str) -> Option<BodyId> {
        body.remove(field).map(|v| match v {
            Value::String(s) => BodyId::Text(s),
            _ => BodyId::NotText,
        })
    }

    /// Whether this names `id`.
    pub fn is(&self, id: &str) -> bool {
        matches!(self, BodyId::Text(s) if s == id)
    }

    /// The string given, a non-string read as "" (how role updates compare `domain_id`).
    pub fn as_str_or_empty(&self) -> &str {
        match self {
            BodyId::Text(s) => s,
            BodyId::NotText => "",
        }
    }
}

/// A nullable field on update: `None` absent (keep), `Some(None)` null (clear), `Some(Some(_))` set.
fn opt_nullable(body: &mut Body, field: &str, max: usize) -> Result<Option<Option<String>>> {
    if body.contains_key(field) {
        input::opt_str(body, field, max, true).map(Some)
    } else {
        Ok(None)
    }
}

/// Project tags: at most 80 per project, 255 characters each, no '/' or ','.
pub fn validate_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.chars().count() > 255 || tag.contains('/') || tag.contains(',') {
        return Err(invalid("tags", format!("'{tag}' is not a valid tag")));
    }
    Ok(())
}

/// A whole tag list: at most 80 valid tags.
pub fn validate_tags(tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::bad_request(
            "Invalid input for field 'tags': too many tags (at most 80).",
        ));
    }
    tags.iter().try_for_each(|t| validate_tag(t))
}

/// Implements `Deserialize` for a params type through its `TryFrom<Body>`.
macro_rules! from_body {
    ($($t:ident),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let body = Body::deserialize(d)?;
                $t::try_from(body).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

from_body!(
    DomainCreate,
    DomainUpdate,
    ProjectCreate,
    ProjectUpdate,
    UserCreate,
    UserUpdate,
    PasswordChange,
    GroupCreate,
    GroupUpdate,
    RoleCreate,
    RoleUpdate,
    RegionCreate,
    RegionUpdate,
    ServiceCreate,
    ServiceUpdate,
    EndpointCreate,
    EndpointUpdate,
    AppCredCreate,
    CredentialCreate,
    CredentialUpdate,
    PolicyCreate,
    PolicyUpdate,
);

// ---------------------------------------------------------------- domains

/// `POST /v3/domains` (and a project created with `is_domain: true`).
#[derive(Debug, Clone)]
pub struct DomainCreate {
    /// `explicit_domain_id`: the id to use instead of a generated one.
    pub explicit_id: Option<String>,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub extra: Extra,
}

impl TryFrom<Body> for DomainCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        let explicit_id = input::opt_str(&mut body, "explicit_domain_id", 64, true)?;
        body.remove("id");
        Ok(DomainCreate {
            explicit_id,
            name: input::name(&mut body, "name", 64)?,
            description: input::opt_str(&mut body, "description", 65535, true)?.unwrap_or_default(),
            enabled: input::opt_bool(&mut body, "enabled")?.unwrap_or(true),
            extra: body,
        })
    }
}

/// `PATCH /v3/domains/{id}`.
#[derive(Debug, Clone)]
pub struct DomainUpdate {
    pub id: Option<BodyId>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub extra: Extra,
}

impl TryFrom<Body> for DomainUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        Ok(DomainUpdate {
            id: BodyId::take(&mut body, "id"),
            name: input::opt_name(&mut body, "name", 64)?,
            description: input::opt_str(&mut body, "description", 65535, true)?,
            enabled: input::opt_bool(&mut body, "enabled")?,
            extra: body,
        })
    }
}

// ---------------------------------------------------------------- projects

/// `POST /v3/projects`: a project, or a domain when `is_domain` is true.
#[derive(Debug, Clone)]
pub enum ProjectCreate {
    Project(NewProject),
    Domain(DomainCreate),
}

#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub domain_id: Option<String>,
    pub parent_id: Option<String>,
    pub tags: Vec<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for ProjectCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        let name = input::name(&mut body, "name", 64)?;
        if input::opt_bool(&mut body, "is_domain")? == Some(true) {
            // A project acting as a domain is a domain.
            body.insert("name".into(), name.into());
            body.remove("domain_id");
            body.remove("parent_id");
            return DomainCreate::try_from(body).map(ProjectCreate::Domain);
        }
        let description = input::opt_str(&mut body, "description", 65535, true)?.unwrap_or_default();
        let enabled = input::opt_bool(&mut body, "enabled")?.unwrap_or(true);
        let domain_id = input::opt_str(&mut body, "domain_id", 64, true)?;
        let parent_id = input::opt_str(&mut body, "parent_id", 64, true)?;
        let tags = input::opt_str_list(&mut body, "tags", 255)?.unwrap_or_default();
        validate_tags(&tags)?;
        Ok(ProjectCreate::Project(NewProject {
            name,
            description,
            enabled,
            domain_id,
            parent_id,
            tags,
            extra: body,
        }))
    }
}

/// `PATCH /v3/projects/{id}`. When the id names a domain this is a domain update (see
/// [`ProjectUpdate::into_domain_update`]).
#[derive(Debug, Clone)]
pub struct ProjectUpdate {
    pub id: Option<BodyId>,
    pub domain_id: Option<BodyId>,
    /// `is_domain` was given (never updatable).
    pub is_domain_given: bool,
    /// `parent_id` was given (never updatable).
    pub parent_id_given: bool,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub extra: Extra,
}

impl TryFrom<Body> for ProjectUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        let id = BodyId::take(&mut body, "id");
        let domain_id = BodyId::take(&mut body, "domain_id");
        let is_domain_given = body.remove("is_domain").is_some();
        let parent_id_given = body.remove("parent_id").is_some();
        let name = input::opt_name(&mut body, "name", 64)?;
        let description = input::opt_str(&mut body, "description", 65535, true)?;
        let enabled = input::opt_bool(&mut body, "enabled")?;
        let tags = input::opt_str_list(&mut body, "tags", 255)?;
        if let Some(t) = &tags {
            validate_tags(t)?;
        }
        Ok(ProjectUpdate {
            id,
            domain_id,
            is_domain_given,
            parent_id_given,
            name,
            description,
            enabled,
            tags,
            extra: body,
        })
    }
}

impl ProjectUpdate {
    /// A domain updated through the projects API: the domain keeps given tags among its extra
    /// attributes; `is_domain`, `domain_id` and `parent_id` are ignored.
    pub fn into_domain_update(self) -> DomainUpdate {
        let mut extra = self.extra;
        if let Some(tags) = self.tags {
            extra.insert("tags".into(), tags.into());
        }
        DomainUpdate {
            id: self.id,
            name: self.name,
            description: self.description,
            enabled: self.enabled,
            extra,
        }
    }
}

/// `PUT /v3/projects/{id}/tags`: `{"tags": [...]}`.
#[derive(Debug, Clone)]
pub struct ProjectTags(pub Vec<String>);

impl TryFrom<Value> for ProjectTags {
    type Error = Error;
    fn try_from(v: Value) -> Result<Self> {
        let tags: Vec<String> = serde_json::from_value(v.get("tags").cloned().unwrap_or(Value::Null))
            .map_err(|_| Error::bad_request("Invalid input for field 'tags': expected a list of strings"))?;
        validate_tags(&tags)?;
        Ok(ProjectTags(tags))
    }
}

// ---------------------------------------------------------------- users

/// Names Keystone accepts in a user's `options`.
pub const USER_OPTIONS: &[&str] = &[
    "ignore_change_password_upon_first_use",
    "ignore_password_expiry",
    "ignore_lockout_failure_attempts",
    "lock_password",
    "multi_factor_auth_enabled",
    "multi_factor_auth_rules",
    "ignore_user_inactivity",
];

/// A user's `options` as given: known option names only; a `null` value removes the option.
/// The values are kept as given (booleans, and lists of method lists for MFA rules).
#[derive(Debug, Clone, Default)]
pub struct UserOptions(pub Map<String, Value>);

impl UserOptions {
    fn take(body: &mut Body) -> Result<Option<UserOptions>> {
        match body.remove("options") {
            None => Ok(None),
            Some(Value::Object(m)) => {
                if let Some(k) = m.keys().find(|k| !USER_OPTIONS.contains(&k.as_str())) {
                    return Err(Error::bad_request(format!(
                        "Invalid input for field 'options': unknown option '{k}'"
                    )));
                }
                Ok(Some(UserOptions(m)))
            }
            Some(v) => Err(Error::bad_request(format!(
                "Invalid input for field 'options': {v} is not of type 'object'"
            ))),
        }
    }

    /// These options applied over the stored ones (a JSON object text).
    pub fn merged_over(given: Option<UserOptions>, existing: &str) -> String {
        let mut opts = input::extra_object(existing);
        for (k, v) in given.map(|g| g.0).unwrap_or_default() {
            if v.is_null() {
                opts.remove(&k);
            } else {
                opts.insert(k, v);
            }
        }
        Value::Object(opts).to_string()
    }
}

/// `POST /v3/users`.
#[derive(Debug, Clone)]
pub struct UserCreate {
    pub name: String,
    pub domain_id: Option<String>,
    pub password: Option<String>,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub options: Option<UserOptions>,
    pub extra: Extra,
}

impl TryFrom<Body> for UserCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(UserCreate {
            name: input::name(&mut body, "name", 255)?,
            domain_id: input::opt_str(&mut body, "domain_id", 64, true)?,
            password: input::opt_str(&mut body, "password", 4096, true)?,
            enabled: input::opt_bool(&mut body, "enabled")?.unwrap_or(true),
            default_project_id: input::opt_str(&mut body, "default_project_id", 64, true)?,
            options: UserOptions::take(&mut body)?,
            extra: body,
        })
    }
}

/// `PATCH /v3/users/{id}` (an admin's update; a new password skips the history check).
#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub id: Option<BodyId>,
    pub domain_id: Option<String>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub default_project_id: Option<Option<String>>,
    pub password: Option<String>,
    pub options: Option<UserOptions>,
    pub extra: Extra,
}

impl TryFrom<Body> for UserUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        Ok(UserUpdate {
            id: BodyId::take(&mut body, "id"),
            domain_id: input::opt_str(&mut body, "domain_id", 64, true)?,
            name: input::opt_name(&mut body, "name", 255)?,
            enabled: input::opt_bool(&mut body, "enabled")?,
            default_project_id: opt_nullable(&mut body, "default_project_id", 64)?,
            password: input::opt_str(&mut body, "password", 4096, true)?,
            options: UserOptions::take(&mut body)?,
            extra: body,
        })
    }
}

/// `POST /v3/users/{id}/password`: the user's own change, proven by the original password.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub original_password: String,
    pub password: String,
}

impl TryFrom<Body> for PasswordChange {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        let mut take = |k: &str| match body.remove(k) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(invalid(k, format!("'{k}' is a required property"))),
        };
        Ok(PasswordChange {
            original_password: take("original_password")?,
            password: take("password")?,
        })
    }
}

// ---------------------------------------------------------------- groups

/// `POST /v3/groups`.
#[derive(Debug, Clone)]
pub struct GroupCreate {
    pub name: String,
    pub domain_id: Option<String>,
    pub description: String,
    pub extra: Extra,
}

impl TryFrom<Body> for GroupCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(GroupCreate {
            name: input::name(&mut body, "name", 64)?,
            domain_id: input::opt_str(&mut body, "domain_id", 64, true)?,
            description: input::opt_str(&mut body, "description", 65535, true)?.unwrap_or_default(),
            extra: body,
        })
    }
}

/// `PATCH /v3/groups/{id}`. A given `id` is ignored.
#[derive(Debug, Clone)]
pub struct GroupUpdate {
    pub domain_id: Option<BodyId>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for GroupUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(GroupUpdate {
            domain_id: BodyId::take(&mut body, "domain_id"),
            name: input::opt_name(&mut body, "name", 64)?,
            description: input::opt_str(&mut body, "description", 65535, true)?,
            extra: body,
        })
    }
}

// ---------------------------------------------------------------- roles

/// `POST /v3/roles`.
#[derive(Debug, Clone)]
pub struct RoleCreate {
    pub name: String,
    /// Empty for a global role.
    pub domain_id: String,
    /// Role options (Keystone's `immutable`), stored as given.
    pub options: Map<String, Value>,
    pub description: Option<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for RoleCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        let name = input::name(&mut body, "name", 255)?;
        let domain_id = input::opt_str(&mut body, "domain_id", 64, true)?.unwrap_or_default();
        let options = match body.remove("options") {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'options': {v} is not of type 'object'"
                )))
            }
        };
        Ok(RoleCreate {
            name,
            domain_id,
            options,
            description: input::opt_str(&mut body, "description", 255, true)?,
            extra: body,
        })
    }
}

/// `PATCH /v3/roles/{id}`. A given `id` is ignored.
#[derive(Debug, Clone)]
pub struct RoleUpdate {
    pub domain_id: Option<BodyId>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    /// Role options replace the stored ones as given: an open JSON value, as the role update
    /// has always stored it (not checked to be an object).
    pub options: Option<Value>,
    pub extra: Extra,
}

impl TryFrom<Body> for RoleUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(RoleUpdate {
            domain_id: BodyId::take(&mut body, "domain_id"),
            name: input::opt_name(&mut body, "name", 255)?,
            description: opt_nullable(&mut body, "description", 255)?,
            options: body.remove("options"),
            extra: body,
        })
    }
}

// ---------------------------------------------------------------- catalog

/// `POST /v3/regions` and `PUT /v3/regions/{id}`.
#[derive(Debug, Clone)]
pub struct RegionCreate {
    pub id: Option<String>,
    pub parent_region_id: Option<String>,
    pub description: String,
    pub extra: Extra,
}

impl TryFrom<Body> for RegionCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        Ok(RegionCreate {
            id: input::opt_str(&mut body, "id", 255, true)?,
            parent_region_id: input::opt_str(&mut body, "parent_region_id", 255, true)?,
            description: input::opt_str(&mut body, "description", 255, true)?.unwrap_or_default(),
            extra: body,
        })
    }
}

/// `PATCH /v3/regions/{id}`. A given `id` is ignored.
#[derive(Debug, Clone)]
pub struct RegionUpdate {
    pub parent_region_id: Option<Option<String>>,
    pub description: Option<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for RegionUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(RegionUpdate {
            parent_region_id: opt_nullable(&mut body, "parent_region_id", 255)?,
            description: input::opt_str(&mut body, "description", 255, true)?,
            extra: body,
        })
    }
}

/// `POST /v3/services`. A service's `name` and `description` are extra attributes in Keystone.
#[derive(Debug, Clone)]
pub struct ServiceCreate {
    pub r#type: String,
    pub enabled: bool,
    pub extra: Extra,
}

impl TryFrom<Body> for ServiceCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(ServiceCreate {
            r#type: input::name(&mut body, "type", 255)?,
            enabled: input::opt_bool(&mut body, "enabled")?.unwrap_or(true),
            extra: body,
        })
    }
}

/// `PATCH /v3/services/{id}`.
#[derive(Debug, Clone)]
pub struct ServiceUpdate {
    pub r#type: Option<String>,
    pub enabled: Option<bool>,
    pub extra: Extra,
}

impl TryFrom<Body> for ServiceUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(ServiceUpdate {
            r#type: input::opt_name(&mut body, "type", 255)?,
            enabled: input::opt_bool(&mut body, "enabled")?,
            extra: body,
        })
    }
}

const INTERFACES: &[&str] = &["public", "internal", "admin"];

/// The endpoint fields, each optional (an update), in Keystone's order.
struct EndpointFields {
    interface: Option<String>,
    url: Option<String>,
    service_id: Option<String>,
    enabled: Option<bool>,
    region_id: Option<Option<String>>,
}

impl EndpointFields {
    fn take(body: &mut Body, create: bool) -> Result<EndpointFields> {
        body.remove("id");
        let required = |f: &str| invalid(f, format!("'{f}' is a required property"));
        let interface = input::opt_str(body, "interface", 10, false)?;
        match &interface {
            Some(i) if !INTERFACES.contains(&i.as_str()) => {
                return Err(invalid("interface", format!("'{i}' is not one of {INTERFACES:?}")))
            }
            None if create => return Err(required("interface")),
            _ => {}
        }
        let url = input::opt_str(body, "url", 225, false)?;
        match &url {
            Some(u) if !(u.contains("://") && u.len() > 3) => {
                return Err(invalid("url", format!("'{u}' is not a valid URL")))
            }
            None if create => return Err(required("url")),
            _ => {}
        }
        let service_id = input::opt_str(body, "service_id", 64, false)?;
        if service_id.is_none() && create {
            return Err(required("service_id"));
        }
        let enabled = input::opt_bool(body, "enabled")?;
        // `region` is the legacy spelling of `region_id`.
        let legacy = input::opt_str(body, "region", 255, true)?;
        let region_id = match opt_nullable(body, "region_id", 255)? {
            Some(r) => Some(r),
            None => legacy.map(Some),
        };
        Ok(EndpointFields {
            interface,
            url,
            service_id,
            enabled,
            region_id,
        })
    }
}

/// `POST /v3/endpoints`.
#[derive(Debug, Clone)]
pub struct EndpointCreate {
    pub interface: String,
    pub url: String,
    pub service_id: String,
    pub enabled: bool,
    pub region_id: Option<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for EndpointCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        let f = EndpointFields::take(&mut body, true)?;
        Ok(EndpointCreate {
            interface: f.interface.unwrap_or_default(),
            url: f.url.unwrap_or_default(),
            service_id: f.service_id.unwrap_or_default(),
            enabled: f.enabled.unwrap_or(true),
            region_id: f.region_id.flatten(),
            extra: body,
        })
    }
}

/// `PATCH /v3/endpoints/{id}`.
#[derive(Debug, Clone)]
pub struct EndpointUpdate {
    pub interface: Option<String>,
    pub url: Option<String>,
    pub service_id: Option<String>,
    pub enabled: Option<bool>,
    pub region_id: Option<Option<String>>,
    pub extra: Extra,
}

impl TryFrom<Body> for EndpointUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        let f = EndpointFields::take(&mut body, false)?;
        Ok(EndpointUpdate {
            interface: f.interface,
            url: f.url,
            service_id: f.service_id,
            enabled: f.enabled,
            region_id: f.region_id,
            extra: body,
        })
    }
}

// ---------------------------------------------------------------- credentials

/// A role named in an application credential request, by id or by name. Anything that is
/// not a string there names nothing (and is refused as a role the user does not hold).
#[derive(Debug, Clone, Default)]
pub struct RoleRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// `POST /v3/users/{id}/application_credentials`. Other attributes are ignored.
#[derive(Debug, Clone)]
pub struct AppCredCreate {
    pub name: String,
    pub description: Option<String>,
    /// The secret to use; one is generated when absent.
    pub secret: Option<String>,
    /// Expiry in µs since the epoch, in the future.
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    /// The roles to delegate; `None` (absent, null or empty) delegates every role the
    /// creating token holds.
    pub roles: Option<Vec<RoleRef>>,
}

impl TryFrom<Body> for AppCredCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        let name = input::name(&mut body, "name", 255)?;
        let description = input::opt_str(&mut body, "description", 65535, true)?;
        let secret = input::opt_str(&mut body, "secret", 4096, true)?;
        let expires_at = match body.remove("expires_at") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_time(&s)?),
            Some(v) => return Err(Error::bad_request(format!("Invalid input for field 'expires_at': {v}"))),
        };
        if expires_at.is_some_and(|e| e <= crate::db::now_micros()) {
            return Err(Error::bad_request(
                "Invalid input for field 'expires_at': the expiration time is in the past.",
            ));
        }
        let unrestricted = input::opt_bool(&mut body, "unrestricted")?.unwrap_or(false);
        let roles = match body.remove("roles") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.is_empty() => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|it| RoleRef {
                        id: it.get("id").and_then(Value::as_str).map(str::to_owned),
                        name: it.get("name").and_then(Value::as_str).map(str::to_owned),
                    })
                    .collect(),
            ),
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'roles': {v} is not of type 'array'"
                )))
            }
        };
        Ok(AppCredCreate {
            name,
            description,
            secret,
            expires_at,
            unrestricted,
            roles,
        })
    }
}

/// Parses an ISO 8601 timestamp as clients send it (with or without zone / fraction), to µs.
pub fn parse_time(s: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%SZ",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc().timestamp_micros());
        }
    }
    Err(Error::bad_request(format!(
        "Invalid input for field 'expires_at': '{s}' is not a valid date-time"
    )))
}

/// A credential or policy `blob`: a string as given, any other JSON value as its text;
/// `None` when absent or null.
fn take_blob(body: &mut Body) -> Option<String> {
    match body.remove("blob") {
        Some(Value::String(s)) => Some(s),
        Some(v) if !v.is_null() => Some(v.to_string()),
        _ => None,
    }
}

fn blob_required() -> Error {
    Error::bad_request("Invalid input for field 'blob': 'blob' is a required property")
}

/// `POST /v3/credentials`.
#[derive(Debug, Clone)]
pub struct CredentialCreate {
    pub user_id: String,
    pub r#type: String,
    pub blob: String,
    pub project_id: Option<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for CredentialCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        let user_id = input::opt_str(&mut body, "user_id", 64, false)?
            .ok_or_else(|| Error::bad_request("Invalid input for field 'user_id': 'user_id' is a required property"))?;
        let r#type = input::name(&mut body, "type", 255)?;
        let blob = take_blob(&mut body).ok_or_else(blob_required)?;
        let project_id = input::opt_str(&mut body, "project_id", 64, true)?;
        if r#type == "ec2" {
            let parsed: Option<Value> = serde_json::from_str(&blob).ok();
            if parsed.as_ref().is_none_or(|b| b.get("access").is_none()) {
                return Err(Error::bad_request(
                    "Invalid blob in credential: an ec2 credential blob needs an 'access' key.",
                ));
            }
            if project_id.is_none() {
                return Err(Error::bad_request(
                    "Invalid blob in credential: an ec2 credential needs a project_id.",
                ));
            }
        }
        body.remove("id");
        Ok(CredentialCreate {
            user_id,
            r#type,
            blob,
            project_id,
            extra: body,
        })
    }
}

/// `PATCH /v3/credentials/{id}`.
#[derive(Debug, Clone)]
pub struct CredentialUpdate {
    pub user_id: Option<String>,
    pub project_id: Option<Option<String>>,
    pub r#type: Option<String>,
    pub blob: Option<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for CredentialUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(CredentialUpdate {
            user_id: input::opt_str(&mut body, "user_id", 64, false)?,
            project_id: opt_nullable(&mut body, "project_id", 64)?,
            r#type: input::opt_name(&mut body, "type", 255)?,
            blob: take_blob(&mut body),
            extra: body,
        })
    }
}

/// `POST /v3/policies`.
#[derive(Debug, Clone)]
pub struct PolicyCreate {
    pub r#type: String,
    pub blob: String,
    pub extra: Extra,
}

impl TryFrom<Body> for PolicyCreate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        let r#type = input::name(&mut body, "type", 255)?;
        let blob = take_blob(&mut body).ok_or_else(blob_required)?;
        Ok(PolicyCreate {
            r#type,
            blob,
            extra: body,
        })
    }
}

/// `PATCH /v3/policies/{id}`.
#[derive(Debug, Clone)]
pub struct PolicyUpdate {
    pub r#type: Option<String>,
    pub blob: Option<String>,
    pub extra: Extra,
}

impl TryFrom<Body> for PolicyUpdate {
    type Error = Error;
    fn try_from(mut body: Body) -> Result<Self> {
        body.remove("id");
        Ok(PolicyUpdate {
            r#type: input::opt_name(&mut body, "type", 255)?,
            blob: take_blob(&mut body),
            extra: body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deserializes_through_the_same_checks() {
        let d: DomainCreate = serde_json::from_value(json!({"name": "d1", "colour": "blue"})).unwrap();
        assert_eq!(d.name, "d1");
        assert!(d.enabled);
        assert_eq!(d.extra.get("colour"), Some(&json!("blue")));
        let e = serde_json::from_value::<DomainCreate>(json!({"name": " "})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field 'name': ' ' does not match '[\\S]+'"
        );
    }

    #[test]
    fn project_with_is_domain_is_a_domain() {
        let p = ProjectCreate::try_from(
            json!({"name": "x", "is_domain": true, "parent_id": "p", "explicit_domain_id": "e"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        match p {
            ProjectCreate::Domain(d) => {
                assert_eq!(d.explicit_id.as_deref(), Some("e"));
                assert!(d.extra.is_empty());
            }
            ProjectCreate::Project(_) => panic!("expected a domain"),
        }
    }

    #[test]
    fn endpoint_checks_in_keystone_order() {
        let body = |v: Value| v.as_object().cloned().unwrap();
        let e = EndpointCreate::try_from(body(json!({"url": "nope"}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field 'interface': 'interface' is a required property"
        );
        let e = EndpointCreate::try_from(body(json!({"interface": "public", "url": "nope"}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field 'url': 'nope' is not a valid URL"
        );
        let ep = EndpointUpdate::try_from(body(json!({"region": "r1"}))).unwrap();
        assert_eq!(ep.region_id, Some(Some("r1".into())));
        let ep = EndpointUpdate::try_from(body(json!({"region": "r1", "region_id": null}))).unwrap();
        assert_eq!(ep.region_id, Some(None));
    }

    #[test]
    fn unknown_user_option_is_refused() {
        let e = UserCreate::try_from(
            json!({"name": "u", "options": {"nope": true}})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field 'options': unknown option 'nope'"
        );
    }
}

//! Keystone's JSON shapes for each resource.

use crate::app::identity::assignments::{AssignmentView, Names, TargetKind};
use crate::app::identity::caller::{Caller, NamedRef, Scope};
use crate::app::identity::catalog::{service_name, CatalogEntry};
use crate::app::json_input::extra_object;
use crate::db::identity::catalog::{Endpoint, Region, Service};
use crate::db::identity::credentials::{AppCred, Credential, Policy};
use crate::db::identity::domains::Domain;
use crate::db::identity::groups::Group;
use crate::db::identity::projects::Project;
use crate::db::identity::roles::Role;
use crate::db::identity::users::User;
use serde_json::{json, Map, Value};

/// `2015-11-06T15:32:17.893769Z` from microseconds (token times).
pub fn time_micros(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// `2018-02-27T18:30:59.123456` from microseconds (application credential expiry, as clients sent it).
pub fn time_micros_naive(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// `2016-11-06T15:32:17.000000` from seconds (password and credential expiry).
pub fn time_secs(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

fn with_extra(mut base: Map<String, Value>, extra: &str) -> Value {
    for (k, v) in extra_object(extra) {
        base.entry(k).or_insert(v);
    }
    Value::Object(base)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub fn link(base: &str, collection: &str, id: &str) -> Value {
    json!({"self": format!("{base}/{collection}/{id}")})
}

pub fn domain(base: &str, d: &Domain) -> Value {
    with_extra(
        obj(json!({
            "id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
            "tags": [], "options": {}, "links": link(base, "domains", &d.id),
        })),
        &d.extra,
    )
}

pub fn project(base: &str, p: &Project) -> Value {
    with_extra(
        obj(json!({
            "id": p.id, "name": p.name,
            "domain_id": if p.is_domain { Value::Null } else { json!(p.domain_id) },
            "parent_id": p.parent_id.as_ref().map(|p| p.to_string()).or_else(|| (!p.is_domain).then(|| p.domain_id.clone())),
            "description": p.description, "enabled": p.enabled, "is_domain": p.is_domain,
            "tags": p.tag_list(), "options": {}, "links": link(base, "projects", &p.id),
        })),
        &p.extra,
    )
}

pub fn user(base: &str, u: &User) -> Value {
    let mut m = obj(json!({
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "password_expires_at": u.password_expires_at.map(time_secs),
        "options": serde_json::from_str::<Value>(&u.options).unwrap_or(json!({})),
        "links": link(base, "users", &u.id),
    }));
    if let Some(dp) = &u.default_project_id {
        m.insert("default_project_id".into(), json!(dp));
    }
    with_extra(m, &u.extra)
}

pub fn group(base: &str, g: &Group) -> Value {
    with_extra(
        obj(json!({
            "id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
            "links": link(base, "groups", &g.id),
        })),
        &g.extra,
    )
}

pub fn role(base: &str, r: &Role) -> Value {
    with_extra(
        obj(json!({
            "id": r.id, "name": r.name,
            "domain_id": if r.domain_id.is_empty() { Value::Null } else { json!(r.domain_id) },
            "description": r.description,
            "options": serde_json::from_str::<Value>(&r.options).unwrap_or(json!({})),
            "links": link(base, "roles", &r.id),
        })),
        &r.extra,
    )
}

/// The short role form used in role inference bodies.
pub fn role_ref(base: &str, r: &Role) -> Value {
    json!({"id": r.id, "name": r.name, "links": link(base, "roles", &r.id)})
}

pub fn region(base: &str, r: &Region) -> Value {
    with_extra(
        obj(json!({
            "id": r.id, "description": r.description, "parent_region_id": r.parent_region_id,
            "links": link(base, "regions", &r.id),
        })),
        &r.extra,
    )
}

pub fn service(base: &str, s: &Service) -> Value {
    with_extra(
        obj(json!({"id": s.id, "type": s.r#type, "enabled": s.enabled, "links": link(base, "services", &s.id)})),
        &s.extra,
    )
}

pub fn endpoint(base: &str, e: &Endpoint) -> Value {
    with_extra(
        obj(json!({
            "id": e.id, "interface": e.interface, "region_id": e.region_id, "region": e.region_id,
            "url": e.url, "service_id": e.service_id, "enabled": e.enabled,
            "links": link(base, "endpoints", &e.id),
        })),
        &e.extra,
    )
}

pub fn app_cred(base: &str, a: &AppCred, roles: &[NamedRef], secret: Option<&str>) -> Value {
    let mut m = obj(json!({
        "id": a.id, "name": a.name, "description": a.description, "user_id": a.user_id,
        "project_id": a.project_id, "expires_at": a.expires_at.map(time_micros_naive),
        "unrestricted": a.unrestricted, "system": Value::Null, "access_rules": [],
        "roles": roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": Value::Null})).collect::<Vec<_>>(),
        "links": json!({"self": format!("{base}/users/{}/application_credentials/{}", a.user_id, a.id)}),
    }));
    if let Some(s) = secret {
        m.insert("secret".into(), json!(s));
    }
    Value::Object(m)
}

pub fn credential(base: &str, c: &Credential) -> Value {
    with_extra(
        obj(json!({
            "id": c.id, "user_id": c.user_id, "project_id": c.project_id, "type": c.r#type,
            "blob": c.blob, "links": link(base, "credentials", &c.id),
        })),
        &c.extra,
    )
}

pub fn policy(base: &str, p: &Policy) -> Value {
    with_extra(
        obj(json!({"id": p.id, "type": p.r#type, "blob": p.blob, "links": link(base, "policies", &p.id)})),
        &p.extra,
    )
}

pub fn catalog(entries: &[CatalogEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|c| {
                json!({
                    "id": c.service.id, "type": c.service.r#type, "name": service_name(&c.service),
                    "endpoints": c.endpoints.iter().map(|e| json!({
                        "id": e.id, "interface": e.interface, "region": e.region_id,
                        "region_id": e.region_id, "url": e.url,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// The `token` object of `POST`/`GET /v3/auth/tokens`.
pub fn token(c: &Caller, catalog_entries: Option<&[CatalogEntry]>) -> Value {
    let g = &c.grant;
    let mut t = obj(json!({
        "methods": c.token.methods,
        "user": {
            "id": g.user.id, "name": g.user.name,
            "domain": {"id": g.user.domain.id, "name": g.user.domain.name},
            "password_expires_at": g.user.password_expires_at.map(time_secs),
        },
        "audit_ids": c.token.audit_ids,
        "expires_at": time_micros(c.token.expires_at),
        "issued_at": time_micros(c.token.issued_at),
    }));
    match &g.scope {
        Scope::Project(p) => {
            t.insert(
                "project".into(),
                json!({"id": p.id, "name": p.name, "domain": {"id": p.domain.id, "name": p.domain.name}}),
            );
            t.insert("is_domain".into(), json!(false));
        }
        Scope::Domain(d) => {
            t.insert("domain".into(), json!({"id": d.id, "name": d.name}));
        }
        Scope::System => {
            t.insert("system".into(), json!({"all": true}));
        }
        Scope::Unscoped => {}
    }
    if !matches!(g.scope, Scope::Unscoped) {
        t.insert(
            "roles".into(),
            json!(g
                .roles
                .iter()
                .map(|r| json!({"id": r.id, "name": r.name}))
                .collect::<Vec<_>>()),
        );
        if let Some(entries) = catalog_entries {
            t.insert("catalog".into(), catalog(entries));
        }
    }
    if let Some(ac) = &g.app_cred {
        t.insert(
            "application_credential".into(),
            json!({"id": ac.id, "name": ac.name, "restricted": ac.restricted}),
        );
    }
    json!({ "token": t })
}

/// One entry of `/v3/role_assignments`.
pub fn assignment(base: &str, v: &AssignmentView, names: Option<&Names>) -> Value {
    let domain_ref = |id: &str| match names {
        Some(n) => json!({"id": id, "name": n.domains.get(id).cloned().unwrap_or_default()}),
        None => json!({"id": id}),
    };
    let role = match names.and_then(|n| n.roles.get(&v.role_id)) {
        Some((name, Some(dom))) => {
            json!({"id": v.role_id, "name": name, "domain": domain_ref(dom)})
        }
        Some((name, None)) => json!({"id": v.role_id, "name": name}),
        None => json!({"id": v.role_id}),
    };
    let (actor_key, actor_coll) = if v.actor.0 {
        ("user", "users")
    } else {
        ("group", "groups")
    };
    let actor = match names {
        Some(n) => {
            let found = if v.actor.0 {
                n.users.get(&v.actor.1)
            } else {
                n.groups.get(&v.actor.1)
            };
            match found {
                Some((name, dom)) => {
                    json!({"id": v.actor.1, "name": name, "domain": domain_ref(dom)})
                }
                None => json!({"id": v.actor.1}),
            }
        }
        None => json!({"id": v.actor.1}),
    };
    let (target_key, target_coll) = match v.target.0 {
        TargetKind::Project => ("project", "projects"),
        TargetKind::Domain => ("domain", "domains"),
        TargetKind::System => ("system", "system"),
    };
    let target = match names {
        _ if v.target.0 == TargetKind::System => json!({"all": true}),
        Some(n) if v.target.0 == TargetKind::Project => match n.projects.get(&v.target.1) {
            Some((name, dom)) => json!({"id": v.target.1, "name": name, "domain": domain_ref(dom)}),
            None => json!({"id": v.target.1}),
        },
        Some(_) => domain_ref(&v.target.1),
        None => json!({"id": v.target.1}),
    };
    let mut scope = obj(json!({ target_key: target }));
    let assignment_link = if v.inherited {
        scope.insert("OS-INHERIT:inherited_to".into(), json!("projects"));
        format!(
            "{base}/OS-INHERIT/{target_coll}/{}/{actor_coll}/{}/roles/{}/inherited_to_projects",
            v.target.1, v.actor.1, v.role_id
        )
    } else if v.target.0 == TargetKind::System {
        format!("{base}/system/{actor_coll}/{}/roles/{}", v.actor.1, v.role_id)
    } else {
        format!(
            "{base}/{target_coll}/{}/{actor_coll}/{}/roles/{}",
            v.target.1, v.actor.1, v.role_id
        )
    };
    let mut links = obj(json!({ "assignment": assignment_link }));
    if let Some(g) = &v.via_group {
        links.insert(
            "membership".into(),
            json!(format!("{base}/groups/{g}/users/{}", v.actor.1)),
        );
        // An effective assignment from a group points at the group's assignment.
        links.insert(
            "assignment".into(),
            json!(format!(
                "{base}/{target_coll}/{}/groups/{g}/roles/{}",
                v.target.1, v.role_id
            )),
        );
    }
    if let Some(p) = &v.prior_role {
        links.insert("prior_role".into(), json!(format!("{base}/roles/{p}")));
    }
    json!({"role": role, actor_key: actor, "scope": scope, "links": links})
}

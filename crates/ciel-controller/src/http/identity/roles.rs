//! Roles, implied roles, grants (direct and OS-INHERIT) and `/v3/role_assignments`.

use super::error::KsError;
use super::error::KsResult;
use super::{base, created, list, no_content, ok, params, render, KeystoneCaller, Query};
use crate::app::identity::assignments::{ActorKind, AssignmentFilter, GrantRef, TargetKind};
use crate::http::routes::{get, Routes};
use crate::http::AppState;
use crate::http::Authed;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::json;

pub fn routes() -> Routes<KsError> {
    let mut r = Routes::new()
        .route(
            "/roles",
            get("identity:list_roles", list_roles).post("identity:create_role", create_role),
        )
        .route(
            "/roles/{id}",
            get("identity:get_role", get_role)
                .patch("identity:update_role", update_role)
                .delete("identity:delete_role", delete_role),
        )
        .route("/roles/{id}/implies", get("identity:list_implied_roles", list_implies))
        .route(
            "/roles/{id}/implies/{implied}",
            get("identity:get_implied_role", get_implied)
                .head("identity:check_implied_role", check_implied)
                .put("identity:create_implied_role", create_implied)
                .delete("identity:delete_implied_role", delete_implied),
        )
        .route(
            "/role_inferences",
            get("identity:list_role_inference_rules", list_inferences),
        )
        .route(
            "/role_assignments",
            get("identity:list_role_assignments", list_assignments),
        );
    // Grants exist for every (target, actor) pair; project and domain grants also have an
    // inherited (OS-INHERIT) form.
    let targets = [
        (TargetKind::Project, "/projects/{t}"),
        (TargetKind::Domain, "/domains/{t}"),
        (TargetKind::System, "/system"),
    ];
    for (target, tpath) in targets {
        for (actor, acoll) in [(ActorKind::User, "users"), (ActorKind::Group, "groups")] {
            let base = format!("{tpath}/{acoll}/{{a}}/roles");
            let mut forms = vec![(base.clone(), "", false)];
            if target != TargetKind::System {
                forms.push((format!("/OS-INHERIT{base}"), "/inherited_to_projects", true));
            }
            for (prefix, suffix, inh) in forms {
                r = r
                    .route(
                        &format!("{prefix}{suffix}"),
                        get("identity:list_grants", move |s, c, p| {
                            list_grants(s, c, p, target, actor, inh)
                        }),
                    )
                    .route(
                        &format!("{prefix}/{{r}}{suffix}"),
                        get("identity:check_grant", move |s, c, p| {
                            check_grant(s, c, p, target, actor, inh)
                        })
                        .head("identity:check_grant", move |s, c, p| {
                            check_grant(s, c, p, target, actor, inh)
                        })
                        .put("identity:create_grant", move |s, c, p| {
                            put_grant(s, c, p, target, actor, inh)
                        })
                        .delete("identity:revoke_grant", move |s, c, p| {
                            delete_grant(s, c, p, target, actor, inh)
                        }),
                    );
            }
        }
    }
    r
}

async fn list_roles(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    // Without `domain_id` Keystone lists global roles only.
    let want_domain = q.get("domain_id").cloned().unwrap_or_default();
    let items = app
        .list_roles(&c)
        .await?
        .iter()
        .filter(|r| r.domain_id == want_domain)
        .map(|r| render::role(&b, r))
        .collect();
    Ok(list(&app, "roles", "roles", items, &q, &["name", "domain_id"]))
}

async fn create_role(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let r = app.create_role(&c, params(&body, "role")?).await?;
    Ok(created(json!({"role": render::role(&base(&app), &r)})))
}

async fn get_role(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let r = app.get_role(&c, &id).await?;
    Ok(ok(json!({"role": render::role(&base(&app), &r)})))
}

async fn update_role(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let r = app.update_role(&c, &id, params(&body, "role")?).await?;
    Ok(ok(json!({"role": render::role(&base(&app), &r)})))
}

async fn delete_role(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    app.delete_role(&c, &id).await?;
    Ok(no_content())
}

fn inference_body(
    app: &AppState,
    prior: &crate::db::identity::roles::Role,
    implied: &crate::db::identity::roles::Role,
) -> serde_json::Value {
    let b = base(app);
    json!({
        "role_inference": {"prior_role": render::role_ref(&b, prior), "implies": render::role_ref(&b, implied)},
        "links": {"self": format!("{b}/roles/{}/implies/{}", prior.id, implied.id)},
    })
}

async fn create_implied(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((p, i)): Path<(String, String)>,
) -> KsResult {
    let (prior, implied) = app.create_implied_role(&c, &p, &i).await?;
    Ok(created(inference_body(&app, &prior, &implied)))
}

async fn get_implied(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((p, i)): Path<(String, String)>,
) -> KsResult {
    let (prior, implied) = app.get_implied_role(&c, &p, &i).await?;
    Ok(ok(inference_body(&app, &prior, &implied)))
}

async fn check_implied(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((p, i)): Path<(String, String)>,
) -> KsResult {
    app.get_implied_role(&c, &p, &i).await?;
    Ok(no_content())
}

async fn delete_implied(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((p, i)): Path<(String, String)>,
) -> KsResult {
    app.delete_implied_role(&c, &p, &i).await?;
    Ok(no_content())
}

async fn list_implies(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let b = base(&app);
    let rules = app.list_implied_roles(&c, Some(&id)).await?;
    let (prior, implied) = rules.into_iter().next().expect("prior role exists");
    Ok(ok(json!({
        "role_inference": {
            "prior_role": render::role_ref(&b, &prior),
            "implies": implied.iter().map(|r| render::role_ref(&b, r)).collect::<Vec<_>>(),
        },
        "links": {"self": format!("{b}/roles/{id}/implies")},
    })))
}

async fn list_inferences(State(app): State<AppState>, Authed(c, ..): KeystoneCaller) -> KsResult {
    let b = base(&app);
    let rules = app.list_implied_roles(&c, None).await?;
    Ok(ok(json!({
        "role_inferences": rules.iter().map(|(p, i)| json!({
            "prior_role": render::role_ref(&b, p),
            "implies": i.iter().map(|r| render::role_ref(&b, r)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "links": {"self": format!("{b}/role_inferences")},
    })))
}

type GrantPath = std::collections::HashMap<String, String>;

/// A grant from the URL's `{t}` (absent for system), `{a}` and `{r}` (absent for lists).
fn grant(mut path: GrantPath, target: TargetKind, actor: ActorKind, inherited: bool) -> GrantRef {
    let target_id = if target == TargetKind::System {
        crate::app::identity::assignments::SYSTEM_TARGET.to_string()
    } else {
        path.remove("t").unwrap_or_default()
    };
    GrantRef {
        actor,
        actor_id: path.remove("a").unwrap_or_default(),
        target,
        target_id,
        role_id: path.remove("r").unwrap_or_default(),
        inherited,
    }
}

async fn put_grant(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(p): Path<GrantPath>,
    target: TargetKind,
    actor: ActorKind,
    inherited: bool,
) -> KsResult {
    app.grant_role(&c, grant(p, target, actor, inherited)).await?;
    Ok(no_content())
}

async fn check_grant(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(p): Path<GrantPath>,
    target: TargetKind,
    actor: ActorKind,
    inherited: bool,
) -> KsResult {
    app.check_grant(&c, grant(p, target, actor, inherited)).await?;
    Ok(no_content())
}

async fn delete_grant(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(p): Path<GrantPath>,
    target: TargetKind,
    actor: ActorKind,
    inherited: bool,
) -> KsResult {
    app.revoke_grant(&c, grant(p, target, actor, inherited)).await?;
    Ok(no_content())
}

async fn list_grants(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(p): Path<GrantPath>,
    target: TargetKind,
    actor: ActorKind,
    inherited: bool,
) -> KsResult {
    let role_ids = app.list_grants(&c, grant(p, target, actor, inherited)).await?;
    let b = base(&app);
    let mut items = vec![];
    for id in role_ids {
        if let Ok(r) = app.get_role(&c, &id).await {
            items.push(render::role(&b, &r));
        }
    }
    Ok(ok(
        json!({"roles": items, "links": {"self": format!("{b}/roles"), "previous": null, "next": null}}),
    ))
}

async fn list_assignments(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let get = |k: &str| q.get(k).cloned();
    let f = AssignmentFilter {
        user_id: get("user.id"),
        group_id: get("group.id"),
        role_id: get("role.id"),
        project_id: get("scope.project.id"),
        domain_id: get("scope.domain.id"),
        inherited_only: q.contains_key("scope.OS-INHERIT:inherited_to"),
        effective: q.contains_key("effective"),
        system: q.keys().any(|k| k.starts_with("scope.system")),
        include_subtree: q.get("include_subtree").is_some_and(|v| v != "false" && v != "0"),
    };
    let views = app.list_role_assignments(&c, f).await?;
    let names = if q.contains_key("include_names") {
        Some(app.assignment_names(&views).await?)
    } else {
        None
    };
    let b = base(&app);
    let items: Vec<_> = views
        .iter()
        .map(|v| render::assignment(&b, v, names.as_ref()))
        .collect();
    Ok(ok(
        json!({"role_assignments": items, "links": {"self": format!("{b}/role_assignments"), "previous": null, "next": null}}),
    ))
}

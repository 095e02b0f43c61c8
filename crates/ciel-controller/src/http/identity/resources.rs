//! Domains, projects (with tags), users, groups and memberships.

use super::error::KsError;
use super::error::KsResult;
use super::{base, created, list, no_content, ok, params, render, KeystoneCaller, Query};
use crate::app::identity::params::ProjectTags;
use crate::http::routes::{get, post, put, Routes};
use crate::http::Authed;
use crate::http::{parse_json, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};

pub fn routes() -> Routes<KsError> {
    Routes::new()
        .route(
            "/domains",
            get("identity:list_domains", list_domains).post("identity:create_domain", create_domain),
        )
        .route(
            "/domains/{id}",
            get("identity:get_domain", get_domain)
                .patch("identity:update_domain", update_domain)
                .delete("identity:delete_domain", delete_domain),
        )
        .route(
            "/projects",
            get("identity:list_projects", list_projects).post("identity:create_project", create_project),
        )
        .route(
            "/projects/{id}",
            get("identity:get_project", get_project)
                .patch("identity:update_project", update_project)
                .delete("identity:delete_project", delete_project),
        )
        .route(
            "/projects/{id}/tags",
            get("identity:list_project_tags", list_tags)
                .put("identity:update_project_tags", replace_tags)
                .delete("identity:delete_project_tags", clear_tags),
        )
        .route(
            "/projects/{id}/tags/{tag}",
            get("identity:get_project_tag", check_tag)
                .put("identity:create_project_tag", add_tag)
                .delete("identity:delete_project_tag", remove_tag),
        )
        .route(
            "/users",
            get("identity:list_users", list_users).post("identity:create_user", create_user),
        )
        .route(
            "/users/{id}",
            get("identity:get_user", get_user)
                .patch("identity:update_user", update_user)
                .delete("identity:delete_user", delete_user),
        )
        .route(
            "/users/{id}/password",
            post("identity:change_password", change_password),
        )
        .route(
            "/users/{id}/projects",
            get("identity:list_user_projects", user_projects),
        )
        .route("/users/{id}/groups", get("identity:list_groups_for_user", user_groups))
        .route(
            "/groups",
            get("identity:list_groups", list_groups).post("identity:create_group", create_group),
        )
        .route(
            "/groups/{id}",
            get("identity:get_group", get_group)
                .patch("identity:update_group", update_group)
                .delete("identity:delete_group", delete_group),
        )
        .route("/groups/{id}/users", get("identity:list_users_in_group", group_users))
        .route(
            "/groups/{id}/users/{uid}",
            put("identity:add_user_to_group", add_member)
                .get("identity:check_user_in_group", check_member)
                .delete("identity:remove_user_from_group", remove_member),
        )
}

async fn list_domains(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_domains(&c)
        .await?
        .iter()
        .map(|d| render::domain(&b, d))
        .collect();
    Ok(list(&app, "domains", "domains", items, &q, &["name", "enabled"]))
}

async fn create_domain(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let d = app.create_domain(&c, params(&body, "domain")?).await?;
    Ok(created(json!({"domain": render::domain(&base(&app), &d)})))
}

async fn get_domain(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let d = app.get_domain(&c, &id).await?;
    Ok(ok(json!({"domain": render::domain(&base(&app), &d)})))
}

async fn update_domain(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let d = app.update_domain(&c, &id, params(&body, "domain")?).await?;
    Ok(ok(json!({"domain": render::domain(&base(&app), &d)})))
}

async fn delete_domain(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    app.delete_domain(&c, &id).await?;
    Ok(no_content())
}

fn tag_set(q: &Query, key: &str) -> Option<Vec<String>> {
    q.get(key)
        .map(|v| v.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

async fn list_projects(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let all_of = tag_set(&q, "tags");
    let any_of = tag_set(&q, "tags-any");
    let none_of = tag_set(&q, "not-tags");
    let not_any = tag_set(&q, "not-tags-any");
    let items = app
        .list_projects(&c)
        .await?
        .iter()
        .filter(|p| p.is_domain == q.get("is_domain").is_some_and(|v| super::truthy(v)))
        .filter(|p| {
            let tags = p.tag_list();
            let has = |t: &String| tags.contains(t);
            all_of.as_ref().is_none_or(|w| w.iter().all(has))
                && any_of.as_ref().is_none_or(|w| w.iter().any(has))
                && none_of.as_ref().is_none_or(|w| !w.iter().all(has))
                && not_any.as_ref().is_none_or(|w| !w.iter().any(has))
        })
        .map(|p| render::project(&b, p))
        .collect();
    Ok(list(
        &app,
        "projects",
        "projects",
        items,
        &q,
        &["name", "enabled", "domain_id", "parent_id", "is_domain"],
    ))
}

async fn create_project(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let p = app.create_project(&c, params(&body, "project")?).await?;
    Ok(created(json!({"project": render::project(&base(&app), &p)})))
}

async fn get_project(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    q: Query,
) -> KsResult {
    let p = app.get_project(&c, &id).await?;
    let b = base(&app);
    let mut v = render::project(&b, &p);
    if q.contains_key("parents_as_list") || q.contains_key("parents_as_ids") {
        let parents = app.project_parents(&p).await?;
        v["parents"] = if q.contains_key("parents_as_list") {
            json!(parents
                .iter()
                .map(|x| json!({"project": render::project(&b, x)}))
                .collect::<Vec<_>>())
        } else {
            // Nested {parent: {grandparent: null}} as Keystone renders ids.
            parents
                .iter()
                .rev()
                .fold(Value::Null, |acc, x| json!({ x.id.clone(): acc }))
        };
    }
    if q.contains_key("subtree_as_list") || q.contains_key("subtree_as_ids") {
        let sub = app.project_subtree(&p).await?;
        v["subtree"] = if q.contains_key("subtree_as_list") {
            json!(sub
                .iter()
                .map(|x| json!({"project": render::project(&b, x)}))
                .collect::<Vec<_>>())
        } else {
            fn nest(id: &str, all: &[crate::db::identity::projects::Project]) -> Value {
                let kids: serde_json::Map<String, Value> = all
                    .iter()
                    .filter(|x| x.parent_id.as_deref() == Some(id))
                    .map(|x| (x.id.to_string(), nest(&x.id, all)))
                    .collect();
                if kids.is_empty() {
                    Value::Null
                } else {
                    Value::Object(kids)
                }
            }
            nest(&p.id, &sub)
        };
    }
    Ok(ok(json!({ "project": v })))
}

async fn update_project(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let p = app.update_project(&c, &id, params(&body, "project")?).await?;
    Ok(ok(json!({"project": render::project(&base(&app), &p)})))
}

async fn delete_project(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
) -> KsResult {
    app.delete_project(&c, &id).await?;
    Ok(no_content())
}

async fn list_tags(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    Ok(ok(json!({"tags": app.project_tags(&c, &id).await?})))
}

async fn replace_tags(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let tags = ProjectTags::try_from(parse_json::<Value>(&body)?)?;
    Ok(ok(json!({"tags": app.set_project_tags(&c, &id, tags).await?})))
}

async fn clear_tags(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    app.clear_project_tags(&c, &id).await?;
    Ok(no_content())
}

async fn check_tag(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((id, tag)): Path<(String, String)>,
) -> KsResult {
    app.check_project_tag(&c, &id, &tag).await?;
    Ok(no_content())
}

async fn add_tag(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((id, tag)): Path<(String, String)>,
) -> KsResult {
    app.add_project_tag(&c, &id, &tag).await?;
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = format!("{}/projects/{id}/tags/{tag}", base(&app)).parse() {
        resp.headers_mut().insert("location", v);
    }
    Ok(resp)
}

async fn remove_tag(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((id, tag)): Path<(String, String)>,
) -> KsResult {
    app.remove_project_tag(&c, &id, &tag).await?;
    Ok(no_content())
}

async fn list_users(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app.list_users(&c).await?.iter().map(|u| render::user(&b, u)).collect();
    Ok(list(
        &app,
        "users",
        "users",
        items,
        &q,
        &["name", "enabled", "domain_id"],
    ))
}

async fn create_user(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let u = app.create_user(&c, params(&body, "user")?).await?;
    Ok(created(json!({"user": render::user(&base(&app), &u)})))
}

async fn get_user(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let u = app.get_user(&c, &id).await?;
    Ok(ok(json!({"user": render::user(&base(&app), &u)})))
}

async fn update_user(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let u = app.update_user(&c, &id, params(&body, "user")?).await?;
    Ok(ok(json!({"user": render::user(&base(&app), &u)})))
}

async fn delete_user(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    app.delete_user(&c, &id).await?;
    Ok(no_content())
}

/// Self-service password change. Keystone needs no token here: the original password is the proof.
async fn change_password(State(app): State<AppState>, Path(id): Path<String>, body: Bytes) -> KsResult {
    app.change_own_password(&id, params(&body, "user")?).await?;
    Ok(no_content())
}

async fn user_projects(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    q: Query,
) -> KsResult {
    let b = base(&app);
    let items = app
        .list_user_projects(&c, &id)
        .await?
        .iter()
        .map(|p| render::project(&b, p))
        .collect();
    Ok(list(
        &app,
        "projects",
        &format!("users/{id}/projects"),
        items,
        &q,
        &["name", "enabled", "domain_id"],
    ))
}

async fn user_groups(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    q: Query,
) -> KsResult {
    let b = base(&app);
    let items = app
        .list_user_groups(&c, &id)
        .await?
        .iter()
        .map(|g| render::group(&b, g))
        .collect();
    Ok(list(
        &app,
        "groups",
        &format!("users/{id}/groups"),
        items,
        &q,
        &["name", "domain_id"],
    ))
}

async fn list_groups(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_groups(&c)
        .await?
        .iter()
        .map(|g| render::group(&b, g))
        .collect();
    Ok(list(&app, "groups", "groups", items, &q, &["name", "domain_id"]))
}

async fn create_group(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let g = app.create_group(&c, params(&body, "group")?).await?;
    Ok(created(json!({"group": render::group(&base(&app), &g)})))
}

async fn get_group(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let g = app.get_group(&c, &id).await?;
    Ok(ok(json!({"group": render::group(&base(&app), &g)})))
}

async fn update_group(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let g = app.update_group(&c, &id, params(&body, "group")?).await?;
    Ok(ok(json!({"group": render::group(&base(&app), &g)})))
}

async fn delete_group(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    app.delete_group(&c, &id).await?;
    Ok(no_content())
}

async fn group_users(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    q: Query,
) -> KsResult {
    let b = base(&app);
    let items = app
        .list_group_users(&c, &id)
        .await?
        .iter()
        .map(|u| render::user(&b, u))
        .collect();
    Ok(list(
        &app,
        "users",
        &format!("groups/{id}/users"),
        items,
        &q,
        &["name", "enabled", "domain_id"],
    ))
}

async fn add_member(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((id, uid)): Path<(String, String)>,
) -> KsResult {
    app.add_group_member(&c, &id, &uid).await?;
    Ok(no_content())
}

async fn check_member(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((id, uid)): Path<(String, String)>,
) -> KsResult {
    app.check_group_member(&c, &id, &uid).await?;
    Ok(no_content())
}

async fn remove_member(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((id, uid)): Path<(String, String)>,
) -> KsResult {
    app.remove_group_member(&c, &id, &uid).await?;
    Ok(no_content())
}

//! Application credentials, credentials and policies.

use super::error::KsError;
use super::error::KsResult;
use super::{base, created, list, no_content, ok, params, render, KeystoneCaller, Query};
use crate::http::routes::{get, Routes};
use crate::http::AppState;
use crate::http::Authed;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::json;

pub fn routes() -> Routes<KsError> {
    Routes::new()
        .route(
            "/users/{id}/application_credentials",
            get("identity:list_application_credentials", list_app_creds)
                .post("identity:create_application_credential", create_app_cred),
        )
        .route(
            "/users/{id}/application_credentials/{acid}",
            get("identity:get_application_credential", get_app_cred)
                .delete("identity:delete_application_credential", delete_app_cred),
        )
        .route(
            "/credentials",
            get("identity:list_credentials", list_credentials).post("identity:create_credential", create_credential),
        )
        .route(
            "/credentials/{id}",
            get("identity:get_credential", get_credential)
                .patch("identity:update_credential", update_credential)
                .delete("identity:delete_credential", delete_credential),
        )
        .route(
            "/policies",
            get("identity:list_policies", list_policies).post("identity:create_policy", create_policy),
        )
        .route(
            "/policies/{id}",
            get("identity:get_policy", get_policy)
                .patch("identity:update_policy", update_policy)
                .delete("identity:delete_policy", delete_policy),
        )
}

async fn create_app_cred(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(uid): Path<String>,
    body: Bytes,
) -> KsResult {
    let new = app
        .create_app_cred(&c, &uid, params(&body, "application_credential")?)
        .await?;
    let roles = app.app_cred_roles(&new.cred).await?;
    Ok(created(
        json!({"application_credential": render::app_cred(&base(&app), &new.cred, &roles, Some(&new.secret))}),
    ))
}

async fn get_app_cred(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((uid, id)): Path<(String, String)>,
) -> KsResult {
    let a = app.get_app_cred(&c, &uid, &id).await?;
    let roles = app.app_cred_roles(&a).await?;
    Ok(ok(
        json!({"application_credential": render::app_cred(&base(&app), &a, &roles, None)}),
    ))
}

async fn list_app_creds(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(uid): Path<String>,
    q: Query,
) -> KsResult {
    let b = base(&app);
    let mut items = vec![];
    for a in app.list_app_creds(&c, &uid).await? {
        let roles = app.app_cred_roles(&a).await?;
        items.push(render::app_cred(&b, &a, &roles, None));
    }
    Ok(list(
        &app,
        "application_credentials",
        &format!("users/{uid}/application_credentials"),
        items,
        &q,
        &["name"],
    ))
}

async fn delete_app_cred(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path((uid, id)): Path<(String, String)>,
) -> KsResult {
    app.delete_app_cred(&c, &uid, &id).await?;
    Ok(no_content())
}

async fn list_credentials(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_credentials(&c)
        .await?
        .iter()
        .map(|x| render::credential(&b, x))
        .collect();
    Ok(list(
        &app,
        "credentials",
        "credentials",
        items,
        &q,
        &["user_id", "type"],
    ))
}

async fn create_credential(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let x = app.create_credential(&c, params(&body, "credential")?).await?;
    Ok(created(json!({"credential": render::credential(&base(&app), &x)})))
}

async fn get_credential(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
) -> KsResult {
    let x = app.get_credential(&c, &id).await?;
    Ok(ok(json!({"credential": render::credential(&base(&app), &x)})))
}

async fn update_credential(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let x = app.update_credential(&c, &id, params(&body, "credential")?).await?;
    Ok(ok(json!({"credential": render::credential(&base(&app), &x)})))
}

async fn delete_credential(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
) -> KsResult {
    app.delete_credential(&c, &id).await?;
    Ok(no_content())
}

async fn list_policies(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_policies(&c)
        .await?
        .iter()
        .map(|x| render::policy(&b, x))
        .collect();
    Ok(list(&app, "policies", "policies", items, &q, &["type"]))
}

async fn create_policy(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let x = app.create_policy(&c, params(&body, "policy")?).await?;
    Ok(created(json!({"policy": render::policy(&base(&app), &x)})))
}

async fn get_policy(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let x = app.get_policy(&c, &id).await?;
    Ok(ok(json!({"policy": render::policy(&base(&app), &x)})))
}

async fn update_policy(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let x = app.update_policy(&c, &id, params(&body, "policy")?).await?;
    Ok(ok(json!({"policy": render::policy(&base(&app), &x)})))
}

async fn delete_policy(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    app.delete_policy(&c, &id).await?;
    Ok(no_content())
}

//! Application credentials, credentials and policies.

use super::error::KsResult;
use super::{base, created, list, no_content, ok, render, Ks, Query};
use crate::http::Authed;
use crate::http::{wrapped, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/users/{id}/application_credentials",
            get(list_app_creds).post(create_app_cred),
        )
        .route(
            "/users/{id}/application_credentials/{acid}",
            get(get_app_cred).delete(delete_app_cred),
        )
        .route("/credentials", get(list_credentials).post(create_credential))
        .route(
            "/credentials/{id}",
            get(get_credential).patch(update_credential).delete(delete_credential),
        )
        .route("/policies", get(list_policies).post(create_policy))
        .route(
            "/policies/{id}",
            get(get_policy).patch(update_policy).delete(delete_policy),
        )
}

async fn create_app_cred(
    State(app): State<AppState>,
    Authed(c, ..): Ks,
    Path(uid): Path<String>,
    body: Bytes,
) -> KsResult {
    let new = app
        .create_app_cred(&c, &uid, wrapped(&body, "application_credential")?)
        .await?;
    let roles = app.app_cred_roles(&new.cred).await?;
    Ok(created(
        json!({"application_credential": render::app_cred(&base(&app), &new.cred, &roles, Some(&new.secret))}),
    ))
}

async fn get_app_cred(
    State(app): State<AppState>,
    Authed(c, ..): Ks,
    Path((uid, id)): Path<(String, String)>,
) -> KsResult {
    let a = app.get_app_cred(&c, &uid, &id).await?;
    let roles = app.app_cred_roles(&a).await?;
    Ok(ok(
        json!({"application_credential": render::app_cred(&base(&app), &a, &roles, None)}),
    ))
}

async fn list_app_creds(State(app): State<AppState>, Authed(c, ..): Ks, Path(uid): Path<String>, q: Query) -> KsResult {
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
    Authed(c, ..): Ks,
    Path((uid, id)): Path<(String, String)>,
) -> KsResult {
    app.delete_app_cred(&c, &uid, &id).await?;
    Ok(no_content())
}

async fn list_credentials(State(app): State<AppState>, Authed(c, ..): Ks, q: Query) -> KsResult {
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

async fn create_credential(State(app): State<AppState>, Authed(c, ..): Ks, body: Bytes) -> KsResult {
    let x = app.create_credential(&c, wrapped(&body, "credential")?).await?;
    Ok(created(json!({"credential": render::credential(&base(&app), &x)})))
}

async fn get_credential(State(app): State<AppState>, Authed(c, ..): Ks, Path(id): Path<String>) -> KsResult {
    let x = app.get_credential(&c, &id).await?;
    Ok(ok(json!({"credential": render::credential(&base(&app), &x)})))
}

async fn update_credential(
    State(app): State<AppState>,
    Authed(c, ..): Ks,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let x = app.update_credential(&c, &id, wrapped(&body, "credential")?).await?;
    Ok(ok(json!({"credential": render::credential(&base(&app), &x)})))
}

async fn delete_credential(State(app): State<AppState>, Authed(c, ..): Ks, Path(id): Path<String>) -> KsResult {
    app.delete_credential(&c, &id).await?;
    Ok(no_content())
}

async fn list_policies(State(app): State<AppState>, Authed(c, ..): Ks, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_policies(&c)
        .await?
        .iter()
        .map(|x| render::policy(&b, x))
        .collect();
    Ok(list(&app, "policies", "policies", items, &q, &["type"]))
}

async fn create_policy(State(app): State<AppState>, Authed(c, ..): Ks, body: Bytes) -> KsResult {
    let x = app.create_policy(&c, wrapped(&body, "policy")?).await?;
    Ok(created(json!({"policy": render::policy(&base(&app), &x)})))
}

async fn get_policy(State(app): State<AppState>, Authed(c, ..): Ks, Path(id): Path<String>) -> KsResult {
    let x = app.get_policy(&c, &id).await?;
    Ok(ok(json!({"policy": render::policy(&base(&app), &x)})))
}

async fn update_policy(
    State(app): State<AppState>,
    Authed(c, ..): Ks,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let x = app.update_policy(&c, &id, wrapped(&body, "policy")?).await?;
    Ok(ok(json!({"policy": render::policy(&base(&app), &x)})))
}

async fn delete_policy(State(app): State<AppState>, Authed(c, ..): Ks, Path(id): Path<String>) -> KsResult {
    app.delete_policy(&c, &id).await?;
    Ok(no_content())
}

//! Regions, services and endpoints.

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
            "/regions",
            get("identity:list_regions", list_regions).post("identity:create_region", create_region),
        )
        .route(
            "/regions/{id}",
            get("identity:get_region", get_region)
                .put("identity:create_region", put_region)
                .patch("identity:update_region", update_region)
                .delete("identity:delete_region", delete_region),
        )
        .route(
            "/services",
            get("identity:list_services", list_services).post("identity:create_service", create_service),
        )
        .route(
            "/services/{id}",
            get("identity:get_service", get_service)
                .patch("identity:update_service", update_service)
                .delete("identity:delete_service", delete_service),
        )
        .route(
            "/endpoints",
            get("identity:list_endpoints", list_endpoints).post("identity:create_endpoint", create_endpoint),
        )
        .route(
            "/endpoints/{id}",
            get("identity:get_endpoint", get_endpoint)
                .patch("identity:update_endpoint", update_endpoint)
                .delete("identity:delete_endpoint", delete_endpoint),
        )
}

async fn list_regions(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_regions(&c)
        .await?
        .iter()
        .map(|r| render::region(&b, r))
        .collect();
    Ok(list(&app, "regions", "regions", items, &q, &["parent_region_id"]))
}

async fn create_region(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let r = app.create_region(&c, None, params(&body, "region")?).await?;
    Ok(created(json!({"region": render::region(&base(&app), &r)})))
}

async fn put_region(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let r = app.create_region(&c, Some(id), params(&body, "region")?).await?;
    Ok(created(json!({"region": render::region(&base(&app), &r)})))
}

async fn get_region(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let r = app.get_region(&c, &id).await?;
    Ok(ok(json!({"region": render::region(&base(&app), &r)})))
}

async fn update_region(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let r = app.update_region(&c, &id, params(&body, "region")?).await?;
    Ok(ok(json!({"region": render::region(&base(&app), &r)})))
}

async fn delete_region(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    app.delete_region(&c, &id).await?;
    Ok(no_content())
}

async fn list_services(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_services(&c)
        .await?
        .iter()
        .map(|s| render::service(&b, s))
        .collect();
    Ok(list(&app, "services", "services", items, &q, &["type", "name"]))
}

async fn create_service(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let s = app.create_service(&c, params(&body, "service")?).await?;
    Ok(created(json!({"service": render::service(&base(&app), &s)})))
}

async fn get_service(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let s = app.get_service(&c, &id).await?;
    Ok(ok(json!({"service": render::service(&base(&app), &s)})))
}

async fn update_service(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let s = app.update_service(&c, &id, params(&body, "service")?).await?;
    Ok(ok(json!({"service": render::service(&base(&app), &s)})))
}

async fn delete_service(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
) -> KsResult {
    app.delete_service(&c, &id).await?;
    Ok(no_content())
}

async fn list_endpoints(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, q: Query) -> KsResult {
    let b = base(&app);
    let items = app
        .list_endpoints(&c)
        .await?
        .iter()
        .map(|e| render::endpoint(&b, e))
        .collect();
    Ok(list(
        &app,
        "endpoints",
        "endpoints",
        items,
        &q,
        &["interface", "service_id", "region_id"],
    ))
}

async fn create_endpoint(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, body: Bytes) -> KsResult {
    let e = app.create_endpoint(&c, params(&body, "endpoint")?).await?;
    Ok(created(json!({"endpoint": render::endpoint(&base(&app), &e)})))
}

async fn get_endpoint(State(app): State<AppState>, Authed(c, ..): KeystoneCaller, Path(id): Path<String>) -> KsResult {
    let e = app.get_endpoint(&c, &id).await?;
    Ok(ok(json!({"endpoint": render::endpoint(&base(&app), &e)})))
}

async fn update_endpoint(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> KsResult {
    let e = app.update_endpoint(&c, &id, params(&body, "endpoint")?).await?;
    Ok(ok(json!({"endpoint": render::endpoint(&base(&app), &e)})))
}

async fn delete_endpoint(
    State(app): State<AppState>,
    Authed(c, ..): KeystoneCaller,
    Path(id): Path<String>,
) -> KsResult {
    app.delete_endpoint(&c, &id).await?;
    Ok(no_content())
}

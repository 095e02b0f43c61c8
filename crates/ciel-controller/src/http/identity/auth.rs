//! `/v3/auth/*`: issue, validate, check and revoke tokens; the caller's catalog, projects, domains.

use super::error::{KsError, KsResult};
use super::{base, no_content, ok, render, KeystoneCaller, Query};
use crate::app::identity::auth::AuthRequest;
use crate::app::identity::caller::Caller;
use crate::error::Error;
use crate::http::Authed;
use crate::http::{parse_json, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

fn with_subject(status: StatusCode, token: &str, body: Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(token) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    resp
}

pub async fn issue(State(app): State<AppState>, q: Query, body: Bytes) -> KsResult {
    let v: Value = parse_json(&body)?;
    let auth = v
        .get("auth")
        .cloned()
        .ok_or_else(|| Error::bad_request("Expecting to find auth in request body."))?;
    let req: AuthRequest =
        serde_json::from_value(auth).map_err(|e| Error::bad_request(format!("Invalid input for field 'auth': {e}")))?;
    let issued = app.authenticate(req).await?;
    let catalog = if q.contains_key("nocatalog") {
        None
    } else {
        Some(app.catalog().await?)
    };
    let body = render::token(&issued.caller, catalog.as_deref().map(Vec::as_slice));
    let mut resp = with_subject(StatusCode::CREATED, &issued.token, body);
    // The audit log names who authenticated (the route itself has no caller).
    resp.extensions_mut()
        .insert(crate::http::observe::Authenticated(issued.caller.clone()));
    Ok(resp)
}

/// The token named by `X-Subject-Token` and its caller, if `action` on it is allowed.
async fn subject(
    app: &AppState,
    caller: &Caller,
    action: &str,
    headers: &HeaderMap,
) -> Result<(String, Caller), KsError> {
    let token = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::bad_request("X-Subject-Token header is required."))?
        .to_string();
    let subject = app.token_subject(caller, action, &token).await?;
    Ok((token, subject))
}

pub async fn validate(
    State(app): State<AppState>,
    Authed(caller, ..): KeystoneCaller,
    q: Query,
    headers: HeaderMap,
) -> KsResult {
    let (token, subject) = subject(&app, &caller, "identity:validate_token", &headers).await?;
    let catalog = if q.contains_key("nocatalog") {
        None
    } else {
        Some(app.catalog().await?)
    };
    Ok(with_subject(
        StatusCode::OK,
        &token,
        render::token(&subject, catalog.as_deref().map(Vec::as_slice)),
    ))
}

pub async fn check(State(app): State<AppState>, Authed(caller, ..): KeystoneCaller, headers: HeaderMap) -> KsResult {
    let (token, _) = subject(&app, &caller, "identity:check_token", &headers).await?;
    let mut resp = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&token) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    Ok(resp)
}

pub async fn revoke(State(app): State<AppState>, Authed(caller, ..): KeystoneCaller, headers: HeaderMap) -> KsResult {
    let (_, subject) = subject(&app, &caller, "identity:revoke_token", &headers).await?;
    app.revoke_token(&subject).await?;
    Ok(no_content())
}

pub async fn catalog(State(app): State<AppState>, Authed(caller, ..): KeystoneCaller) -> KsResult {
    let entries = app.catalog_for(&caller).await?;
    Ok(ok(
        json!({"catalog": render::catalog(&entries), "links": {"self": format!("{}/auth/catalog", base(&app))}}),
    ))
}

pub async fn projects(State(app): State<AppState>, Authed(caller, ..): KeystoneCaller) -> KsResult {
    let ps = app.list_user_projects(&caller, caller.user_id()).await?;
    let b = base(&app);
    let items: Vec<Value> = ps
        .iter()
        .filter(|p| p.enabled)
        .map(|p| render::project(&b, p))
        .collect();
    Ok(ok(
        json!({"projects": items, "links": {"self": format!("{b}/auth/projects"), "previous": null, "next": null}}),
    ))
}

pub async fn domains(State(app): State<AppState>, Authed(caller, ..): KeystoneCaller) -> KsResult {
    let ds = app.list_my_domains(&caller).await?;
    let b = base(&app);
    let items: Vec<Value> = ds.iter().map(|d| render::domain(&b, d)).collect();
    Ok(ok(
        json!({"domains": items, "links": {"self": format!("{b}/auth/domains"), "previous": null, "next": null}}),
    ))
}

pub async fn system(State(app): State<AppState>, Authed(..): KeystoneCaller) -> KsResult {
    Ok(ok(
        json!({"system": [], "links": {"self": format!("{}/auth/system", base(&app))}}),
    ))
}

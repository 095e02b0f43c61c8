//! `/messages` (3.3+): the project's user messages; filters on their fields, paging and
//! sorting from 3.5, as Cinder.

use super::{base_url, empty, page, param, query, time, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::messages::UserMessage;
use crate::error::Error;
use crate::http::{AppState, Authed};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// The fields a caller may filter on.
const FILTERS: &[&str] = &[
    "resource_uuid",
    "resource_type",
    "event_id",
    "request_id",
    "message_level",
];

fn since_3_3(mv: Microversion) -> Result<(), Error> {
    if mv < Microversion(3) {
        return Err(Error::not_found("resource", "messages"));
    }
    Ok(())
}

fn field(m: &UserMessage, k: &str) -> Option<String> {
    match k {
        "resource_uuid" => m.row.resource_uuid.clone(),
        "resource_type" => Some(m.row.resource_type.clone()),
        "event_id" => Some(m.event_id()),
        "request_id" => Some(m.row.request_id.clone()),
        "message_level" => Some(m.row.message_level.clone()),
        "id" => Some(m.row.id.clone()),
        "created_at" => Some(format!("{:020}", m.row.created_at)),
        _ => None,
    }
}

fn render(m: &UserMessage, base: &str) -> Value {
    let href = format!("{base}/messages/{}", m.row.id);
    let mut v = json!({
        "id": m.row.id, "event_id": m.event_id(), "user_message": m.text(),
        "message_level": m.row.message_level, "resource_type": m.row.resource_type,
        "created_at": time(m.row.created_at), "guaranteed_until": time(m.row.expires_at),
        "request_id": m.row.request_id,
        "links": [{"rel": "self", "href": href}, {"rel": "bookmark", "href": href}],
    });
    // Cinder leaves the field out rather than null.
    if let Some(r) = &m.row.resource_uuid {
        v["resource_uuid"] = json!(r);
    }
    v
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    since_3_3(mv)?;
    let q = if mv >= Microversion(5) {
        query(raw.as_deref())?
    } else {
        vec![]
    };
    let all = param(&q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut items = app.list_volume_messages(&c, all).await?;
    for (k, want) in &q {
        if FILTERS.contains(&k.as_str()) {
            items.retain(|m| field(m, k).as_deref() == Some(want.as_str()));
        } else if !matches!(
            k.as_str(),
            "all_tenants" | "sort" | "sort_key" | "sort_dir" | "limit" | "marker" | "offset"
        ) && !c.is_admin()
        {
            return Err(Error::bad_request(format!("Invalid filter keys: {k}")).into());
        }
    }
    let base = base_url(&app, &h, Some(p.get("project_id")));
    let (items, next) = page(items, &q, |m| m.row.id.as_str(), field, &format!("{base}/messages"))?;
    let mut body = json!({"messages": items.iter().map(|m| render(m, &base)).collect::<Vec<_>>()});
    if let Some(n) = next {
        body["messages_links"] = json!([{"rel": "next", "href": n}]);
    }
    Ok(Json(body).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
) -> CResult {
    since_3_3(mv)?;
    let m = app.get_volume_message(&c, p.get("id")).await?;
    let base = base_url(&app, &h, Some(p.get("project_id")));
    Ok(Json(json!({"message": render(&m, &base)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): CinderCaller, mv: Microversion, p: Params) -> CResult {
    since_3_3(mv)?;
    app.delete_volume_message(&c, p.get("id")).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

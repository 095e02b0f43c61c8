//! `/qos-specs` (admin only): create, list, show, set and unset keys, delete, and the
//! association with volume types (`associate`, `disassociate`, `disassociate_all`,
//! `associations`), in Cinder's shapes.

use super::{base_url, empty, param, query, CResult, CinderCaller, Params};
use crate::app::volume::qos::CreateQos;
use crate::db::volume::qos::QosSpecs;
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn render(q: &QosSpecs) -> Value {
    json!({"id": q.id, "name": q.name, "consumer": q.consumer,
           "specs": crate::app::volume::parse_map(&q.specs)})
}

fn with_links(app: &AppState, headers: &HeaderMap, p: &Params, q: &QosSpecs) -> Value {
    let href = format!(
        "{}/qos-specs/{}",
        base_url(app, headers, Some(p.get("project_id"))),
        q.id
    );
    json!({"qos_specs": render(q), "links": [{"rel": "self", "href": href}, {"rel": "bookmark", "href": href}]})
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    headers: HeaderMap,
    p: Params,
    body: Bytes,
) -> CResult {
    let b = CreateQos::try_from(wrapped(&body, "qos_specs")?)?;
    let q = app.create_qos(&c, b).await?;
    Ok(Json(with_links(&app, &headers, &p, &q)).into_response())
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): CinderCaller) -> CResult {
    let list: Vec<Value> = app.list_qos(&c).await?.iter().map(render).collect();
    Ok(Json(json!({ "qos_specs": list })).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): CinderCaller, headers: HeaderMap, p: Params) -> CResult {
    let q = app.get_qos(&c, p.get("id")).await?;
    Ok(Json(with_links(&app, &headers, &p, &q)).into_response())
}

pub async fn set_keys(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    let set = app.set_qos_keys(&c, p.get("id"), wrapped(&body, "qos_specs")?).await?;
    Ok(Json(json!({ "qos_specs": set })).into_response())
}

pub async fn delete_keys(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    let v: Value = parse_json(&body)?;
    let keys: Vec<String> = match v.get("keys") {
        Some(Value::Array(a)) if a.iter().all(Value::is_string) && !a.is_empty() => {
            a.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect()
        }
        _ => return Err(Error::bad_request("Invalid input received: 'keys' must be a list of key names.").into()),
    };
    app.unset_qos_keys(&c, p.get("id"), &keys).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn delete(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    let q = query(raw.as_deref())?;
    let force = match param(&q, "force").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => false,
        Some("true") | Some("1") | Some("yes") => true,
        Some(other) => {
            return Err(
                Error::bad_request(format!("Invalid input received: Invalid value '{other}' for force.")).into(),
            )
        }
    };
    app.delete_qos(&c, p.get("id"), force).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn associations(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let list: Vec<Value> = app
        .qos_associations(&c, p.get("id"))
        .await?
        .into_iter()
        .map(|(id, name)| json!({"association_type": "volume_type", "id": id, "name": name}))
        .collect();
    Ok(Json(json!({ "qos_associations": list })).into_response())
}

fn type_id(raw: Option<&str>) -> Result<String, Error> {
    let q = query(raw)?;
    param(&q, "vol_type_id")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::bad_request("Volume Type id must not be None."))
}

pub async fn associate(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    let t = type_id(raw.as_deref())?;
    app.change_qos_association(&c, p.get("id"), Some(&t), true).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn disassociate(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    let t = type_id(raw.as_deref())?;
    app.change_qos_association(&c, p.get("id"), Some(&t), false).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn disassociate_all(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.change_qos_association(&c, p.get("id"), None, false).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

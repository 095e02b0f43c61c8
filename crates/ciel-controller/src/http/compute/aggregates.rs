//! `/os-aggregates` (admin): CRUD and the `add_host`, `remove_host`, `set_metadata` actions.

use super::error::NovaResult;
use super::{time_micro, Nv};
use crate::app::compute::aggregates::AggregateView;
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

fn aggregate_json(v: &AggregateView, with_members: bool) -> Value {
    let a = &v.aggregate;
    let mut out = json!({"id": a.id, "name": a.name, "availability_zone": a.availability_zone,
        "created_at": time_micro(a.created_at), "updated_at": a.updated_at.map(time_micro),
        "deleted": false, "deleted_at": null});
    if with_members {
        out["hosts"] = json!(v.hosts);
        let mut meta: Map<String, Value> = serde_json::from_str(&a.metadata).unwrap_or_default();
        if let Some(z) = &a.availability_zone {
            meta.insert("availability_zone".into(), json!(z));
        }
        out["metadata"] = Value::Object(meta);
    }
    out
}

fn opt_string(b: &Map<String, Value>, k: &str) -> Result<Option<Option<String>>, Error> {
    match b.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.chars().count() <= 255 => Ok(Some(Some(s.clone()))),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {k}. Value: {v}."
        ))),
    }
}

pub async fn list(State(app): State<AppState>, Authed(c, ..): Nv) -> NovaResult {
    let items: Vec<Value> = app
        .list_aggregates(&c)
        .await?
        .iter()
        .map(|v| aggregate_json(v, true))
        .collect();
    Ok(Json(json!({ "aggregates": items })).into_response())
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): Nv, body: Bytes) -> NovaResult {
    let b = wrapped(&body, "aggregate")?;
    let name = opt_string(&b, "name")?
        .flatten()
        .ok_or_else(|| Error::bad_request("Invalid input for field/attribute name."))?;
    let zone = opt_string(&b, "availability_zone")?.flatten();
    let v = app.create_aggregate(&c, &name, zone.as_deref()).await?;
    Ok(Json(json!({"aggregate": aggregate_json(&v, false)})).into_response())
}

pub async fn show(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>) -> NovaResult {
    let v = app.get_aggregate(&c, &id).await?;
    Ok(Json(json!({"aggregate": aggregate_json(&v, true)})).into_response())
}

pub async fn update(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>, body: Bytes) -> NovaResult {
    let b = wrapped(&body, "aggregate")?;
    let name = opt_string(&b, "name")?.flatten();
    let zone = opt_string(&b, "availability_zone")?;
    let v = app.update_aggregate(&c, &id, name, zone).await?;
    Ok(Json(json!({"aggregate": aggregate_json(&v, true)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>) -> NovaResult {
    app.delete_aggregate(&c, &id).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn action(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>, body: Bytes) -> NovaResult {
    let doc = match parse_json::<Value>(&body)? {
        Value::Object(m) if m.len() == 1 => m,
        _ => return Err(Error::bad_request("Malformed request body: expected exactly one action").into()),
    };
    let (action, args) = doc.into_iter().next().unwrap_or_default();
    let host = || {
        args.get("host")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::bad_request("Invalid input for field/attribute host."))
    };
    let v = match action.as_str() {
        "add_host" => app.aggregate_host(&c, &id, &host()?, true).await?,
        "remove_host" => app.aggregate_host(&c, &id, &host()?, false).await?,
        "set_metadata" => {
            let m = args
                .get("metadata")
                .and_then(Value::as_object)
                .cloned()
                .ok_or_else(|| Error::bad_request("Invalid input for field/attribute metadata."))?;
            app.set_aggregate_metadata(&c, &id, m).await?
        }
        other => return Err(Error::bad_request(format!("There is no such action: {other}")).into()),
    };
    Ok(Json(json!({"aggregate": aggregate_json(&v, true)})).into_response())
}

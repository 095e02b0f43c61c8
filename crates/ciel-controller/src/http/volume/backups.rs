//! `/backups`: create, list (filters, sorting, marker/limit), show, update (3.9+), delete,
//! restore, the admin actions (`os-reset_status`, `os-force_delete`) and export/import of a
//! backup's record. Bodies carry what each microversion adds: the project (3.18), metadata
//! (3.43) and the user (3.56).

use super::{base_url, empty, page, param, query, time, time_opt, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::backup_params::{BackupAction, CreateBackup, ImportRecord, RestoreBackup, UpdateBackup};
use crate::db::volume::backups::Backup;
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn links(base: &str, id: &str) -> Value {
    json!([{"rel": "self", "href": format!("{base}/backups/{id}")},
           {"rel": "bookmark", "href": format!("{base}/backups/{id}")}])
}

/// The short form (create, update, plain list).
fn summary(b: &Backup, base: &str, mv: Microversion) -> Value {
    let mut v = json!({"id": b.id, "name": b.name, "links": links(base, &b.id)});
    if mv >= Microversion(43) {
        v["metadata"] = json!(crate::app::volume::parse_map(&b.metadata));
    }
    v
}

fn detail(b: &Backup, base: &str, mv: Microversion, dependents: i64) -> Value {
    let mut v = json!({
        "id": b.id, "name": b.name, "description": b.description, "links": links(base, &b.id),
        "status": b.status, "object_count": b.object_count, "container": b.container,
        "availability_zone": b.availability_zone, "created_at": time(b.created_at),
        "updated_at": time_opt(b.updated_at), "has_dependent_backups": dependents > 0,
        "volume_id": b.volume_id, "fail_reason": b.fail_reason, "size": b.size,
        "is_incremental": b.parent_id.is_some(), "data_timestamp": time(b.data_timestamp),
        "snapshot_id": b.snapshot_id,
    });
    if mv >= Microversion(18) {
        v["os-backup-project-attr:project_id"] = json!(b.project_id);
    }
    if mv >= Microversion(43) {
        v["metadata"] = json!(crate::app::volume::parse_map(&b.metadata));
    }
    if mv >= Microversion(56) {
        v["user_id"] = json!(b.user_id);
    }
    v
}

/// The base URL links point at.
fn base(app: &AppState, h: &HeaderMap, p: &Params) -> String {
    base_url(app, h, Some(p.get("project_id")))
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    body: Bytes,
) -> CResult {
    let req = CreateBackup::parse(wrapped(&body, "backup")?, mv >= Microversion(43))?;
    let b = app.create_backup(&c, req).await?;
    let out = summary(&b, &base(&app, &h, &p), mv);
    Ok((StatusCode::ACCEPTED, Json(json!({ "backup": out }))).into_response())
}

async fn listing(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    h: &HeaderMap,
    p: &Params,
    raw: Option<&str>,
    full: bool,
    mv: Microversion,
) -> CResult {
    let q = query(raw)?;
    let all = param(&q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut list = app.list_backups(c, all).await?;
    list.reverse();
    list.retain(|b| {
        param(&q, "name").is_none_or(|n| b.name.as_deref() == Some(n))
            && param(&q, "status").is_none_or(|s| b.status.as_str() == s)
            && param(&q, "volume_id").is_none_or(|v| b.volume_id == v)
            && param(&q, "project_id").is_none_or(|v| b.project_id == v)
    });
    let base = base(app, h, p);
    let path = if full { "backups/detail" } else { "backups" };
    let (list, next) = page(
        list,
        &q,
        |b| b.id.as_str(),
        |b, k| match k {
            "id" => Some(b.id.clone()),
            "name" => b.name.clone(),
            "status" => Some(b.status.to_string()),
            "size" => Some(format!("{:020}", b.size)),
            "created_at" => Some(format!("{:020}", b.created_at)),
            "updated_at" => b.updated_at.map(|t| format!("{t:020}")),
            _ => None,
        },
        &format!("{base}/{path}"),
    )?;
    let items: Vec<Value> = if full {
        let ids: Vec<&str> = list.iter().map(|b| b.id.as_str()).collect();
        let deps = app.backup_dependents(&ids).await?;
        list.iter()
            .map(|b| detail(b, &base, mv, deps.get(&b.id).copied().unwrap_or(0)))
            .collect()
    } else {
        list.iter().map(|b| summary(b, &base, Microversion(0))).collect()
    };
    let mut body = json!({ "backups": items });
    if let Some(n) = next {
        body["backups_links"] = json!([{"rel": "next", "href": n}]);
    }
    Ok(Json(body).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, &h, &p, raw.as_deref(), false, mv).await
}

pub async fn list_detail(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, &h, &p, raw.as_deref(), true, mv).await
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
) -> CResult {
    let b = app.get_backup(&c, p.get("id")).await?;
    let deps = app.backup_dependents(&[b.id.as_str()]).await?;
    let out = detail(&b, &base(&app, &h, &p), mv, deps.get(&b.id).copied().unwrap_or(0));
    Ok(Json(json!({ "backup": out })).into_response())
}

/// 3.9+ (Cinder answers 404 below it: the method does not exist there).
pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    body: Bytes,
) -> CResult {
    if mv < Microversion(9) {
        return Err(Error::not_found("resource", "backups update").into());
    }
    let req = UpdateBackup::parse(wrapped(&body, "backup")?, mv >= Microversion(43))?;
    let b = app.update_backup(&c, p.get("id"), req).await?;
    Ok(Json(json!({"backup": summary(&b, &base(&app, &h, &p), mv)})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.delete_backup(&c, p.get("id"), false).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn restore(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    // `{"restore": {}}` and `{"restore": null}` both mean a new volume.
    let v: Value = parse_json(&body)?;
    let inner = match v.get("restore") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Null) => Default::default(),
        _ => wrapped(&body, "restore")?,
    };
    let r = app
        .restore_backup(&c, p.get("id"), RestoreBackup::try_from(inner)?)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"restore": {"backup_id": r.backup_id, "volume_id": r.volume_id, "volume_name": r.volume_name}})),
    )
        .into_response())
}

/// `os-reset_status` (admin) and `os-force_delete` (admin).
pub async fn action(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    let id = p.get("id");
    match BackupAction::try_from(parse_json::<Value>(&body)?)? {
        BackupAction::ResetStatus { status } => app.reset_backup_status(&c, id, &status).await?,
        BackupAction::ForceDelete => app.delete_backup(&c, id, true).await?,
    }
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn export_record(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    let (service, url) = app.export_backup_record(&c, p.get("id")).await?;
    Ok(Json(json!({"backup-record": {"backup_service": service, "backup_url": url}})).into_response())
}

pub async fn import_record(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    h: HeaderMap,
    p: Params,
    body: Bytes,
) -> CResult {
    let rec = ImportRecord::try_from(wrapped(&body, "backup-record")?)?;
    let b = app.import_backup_record(&c, rec).await?;
    let out = summary(&b, &base(&app, &h, &p), Microversion(0));
    Ok((StatusCode::CREATED, Json(json!({ "backup": out }))).into_response())
}

//! `/os-keypairs`.

use super::error::NovaResult;
use super::microversion::Mv;
use super::{param, query_pairs, time_micro, NovaCaller};
use crate::app::compute::resource_params::CreateKeypair;
use crate::db::compute::keypairs::Keypair;
use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn summary(k: &Keypair, mv: Mv) -> Value {
    let mut v = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if mv.at_least(2) {
        v["type"] = json!(k.r#type);
    }
    v
}

fn full(k: &Keypair, mv: Mv) -> Value {
    let mut v = summary(k, mv);
    v["user_id"] = json!(k.user_id);
    v["id"] = json!(k.id);
    v["created_at"] = json!(time_micro(k.created_at));
    v["updated_at"] = Value::Null;
    v["deleted_at"] = Value::Null;
    v["deleted"] = json!(false);
    v
}

/// `?user_id=` (2.10+, admins naming another user's key pairs).
fn user_param(q: &[(String, String)], mv: Mv) -> Option<String> {
    if mv.at_least(10) {
        param(q, "user_id").map(str::to_owned)
    } else {
        None
    }
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): NovaCaller, mv: Mv, body: Bytes) -> NovaResult {
    let req = CreateKeypair::at_microversion(wrapped(&body, "keypair")?, mv.1)?;
    let (k, private) = app.create_keypair(&c, req).await?;
    let mut v = summary(&k, mv);
    v["user_id"] = json!(k.user_id);
    if let Some(p) = private {
        v["private_key"] = json!(p);
    }
    let status = if mv.at_least(2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"keypair": v}))).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let q = query_pairs(raw.as_deref())?;
    let user = user_param(&q, mv);
    let mut all = app.list_keypairs(&c, user).await?;
    let mut links = vec![];
    if mv.at_least(35) {
        if let Some(m) = param(&q, "marker") {
            let pos = all
                .iter()
                .position(|k| k.name == m)
                .ok_or_else(|| Error::bad_request(format!("marker [{m}] not found")))?;
            all.drain(..=pos);
        }
        if let Some(l) = param(&q, "limit") {
            let l: usize = l
                .parse()
                .map_err(|_| Error::bad_request(format!("Invalid limit: {l}")))?;
            if all.len() > l {
                all.truncate(l);
                if let Some(last) = all.last() {
                    links.push(json!({"rel": "next", "href": format!("{}/compute/v2.1/os-keypairs?limit={l}&marker={}", app.cfg.public_url, last.name)}));
                }
            }
        }
    }
    let mut body = json!({"keypairs": all.iter().map(|k| json!({"keypair": summary(k, mv)})).collect::<Vec<_>>()});
    if !links.is_empty() {
        body["keypairs_links"] = json!(links);
    }
    Ok(Json(body).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let q = query_pairs(raw.as_deref())?;
    let user = user_param(&q, mv);
    let k = app.get_keypair(&c, &name, user).await?;
    Ok(Json(json!({"keypair": full(&k, mv)})).into_response())
}

pub async fn delete(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    let q = query_pairs(raw.as_deref())?;
    let user = user_param(&q, mv);
    app.delete_keypair(&c, &name, user).await?;
    let status = if mv.at_least(2) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    };
    Ok(status.into_response())
}

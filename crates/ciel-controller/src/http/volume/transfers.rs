//! `/os-volume-transfer` and (3.55+) `/volume-transfers`: offering a volume to another
//! project and taking it with the auth key. The 3.55 routes take `no_snapshots`; from 3.57
//! their bodies show the source and destination projects and whether it was accepted.

use super::{base_url, empty, param, query, time, CResult, CinderCaller, Microversion, Params};
use crate::app::volume::transfers::{AcceptTransfer, CreateTransfer};
use crate::db::volume::transfers::Transfer;
use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// Which of the two APIs a request came through.
#[derive(Clone, Copy, PartialEq)]
enum Api {
    /// `/os-volume-transfer`.
    Legacy,
    /// `/volume-transfers` (3.55+).
    V355,
}

fn api_of(uri: &Uri, mv: Microversion) -> Result<Api, Error> {
    if uri.path().contains("/os-volume-transfer") {
        return Ok(Api::Legacy);
    }
    if mv < Microversion(55) {
        // Cinder: the resource does not exist before 3.55.
        return Err(Error::not_found("resource", uri.path()));
    }
    Ok(Api::V355)
}

struct View {
    base: String,
    api: Api,
    mv: Microversion,
}

impl View {
    fn links(&self, t: &Transfer) -> Value {
        let path = match self.api {
            Api::Legacy => "os-volume-transfer",
            Api::V355 => "volume-transfers",
        };
        json!([{"rel": "self", "href": format!("{}/{path}/{}", self.base, t.id)},
               {"rel": "bookmark", "href": format!("{}/{path}/{}", self.base, t.id)}])
    }

    /// `detail`: with `created_at` (and, 3.57 on the new API, the projects and `accepted`).
    fn render(&self, t: &Transfer, detail: bool) -> Value {
        let mut v = json!({"id": t.id, "name": t.name, "volume_id": t.volume_id, "links": self.links(t)});
        if detail {
            v["created_at"] = json!(time(t.created_at));
            if self.api == Api::V355 && self.mv >= Microversion(57) {
                v["source_project_id"] = json!(t.source_project_id);
                v["destination_project_id"] = json!(t.destination_project_id);
                v["accepted"] = json!(t.accepted);
            }
        }
        v
    }
}

fn view(app: &AppState, headers: &HeaderMap, p: &Params, api: Api, mv: Microversion) -> View {
    View {
        base: base_url(app, headers, Some(p.get("project_id"))),
        api,
        mv,
    }
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    uri: Uri,
    headers: HeaderMap,
    p: Params,
    body: Bytes,
) -> CResult {
    let api = api_of(&uri, mv)?;
    let b = CreateTransfer::parse(wrapped(&body, "transfer")?, api == Api::V355)?;
    let (t, key) = app.create_transfer(&c, b).await?;
    let v = view(&app, &headers, &p, api, mv);
    let mut out = v.render(&t, true);
    out["auth_key"] = json!(key);
    Ok((StatusCode::ACCEPTED, Json(json!({ "transfer": out }))).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    c: CinderCaller,
    mv: Microversion,
    uri: Uri,
    headers: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    let v = view(&app, &headers, &p, api_of(&uri, mv)?, mv);
    listing(&app, c, v, raw.as_deref(), false).await
}

pub async fn detail(
    State(app): State<AppState>,
    c: CinderCaller,
    mv: Microversion,
    uri: Uri,
    headers: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    let v = view(&app, &headers, &p, api_of(&uri, mv)?, mv);
    listing(&app, c, v, raw.as_deref(), true).await
}

async fn listing(app: &AppState, Authed(c, ..): CinderCaller, v: View, raw: Option<&str>, detail: bool) -> CResult {
    let q = query(raw)?;
    let all = param(&q, "all_tenants").is_some_and(|v| !matches!(v, "0" | "false" | "False"));
    let list = app.list_transfers(&c, all).await?;
    let items: Vec<Value> = list.iter().map(|t| v.render(t, detail)).collect();
    Ok(Json(json!({ "transfers": items })).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    uri: Uri,
    headers: HeaderMap,
    p: Params,
) -> CResult {
    let api = api_of(&uri, mv)?;
    let t = app.get_transfer(&c, p.get("id")).await?;
    let v = view(&app, &headers, &p, api, mv);
    Ok(Json(json!({"transfer": v.render(&t, true)})).into_response())
}

pub async fn delete(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    uri: Uri,
    p: Params,
) -> CResult {
    api_of(&uri, mv)?;
    app.delete_transfer(&c, p.get("id")).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn accept(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    uri: Uri,
    headers: HeaderMap,
    p: Params,
    body: Bytes,
) -> CResult {
    let api = api_of(&uri, mv)?;
    let b = AcceptTransfer::try_from(wrapped(&body, "accept")?)?;
    let t = app.accept_transfer(&c, p.get("id"), b).await?;
    let v = view(&app, &headers, &p, api, mv);
    Ok((StatusCode::ACCEPTED, Json(json!({"transfer": v.render(&t, false)}))).into_response())
}

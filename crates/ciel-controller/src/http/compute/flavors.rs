//! `/flavors`, their extra specs and access lists.

use super::error::NovaResult;
use super::microversion::Mv;
use super::{links, param, query_pairs, NovaCaller};
use crate::app::compute::flavors::Visibility;
use crate::app::compute::resource_params::{CreateFlavor, ExtraSpecs, FlavorAccessAction, UpdateFlavor};
use crate::db::compute::flavors::Flavor;
use crate::error::Error;
use crate::http::{parse_json, wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn render(app: &AppState, f: &Flavor, mv: Mv, detail: bool, specs: Option<&BTreeMap<String, String>>) -> Value {
    let mut v = json!({"id": f.id, "name": f.name, "links": links(app, &format!("flavors/{}", f.id))});
    if mv.at_least(55) {
        v["description"] = json!(f.description);
    }
    if !detail {
        return v;
    }
    v["ram"] = json!(f.ram);
    v["vcpus"] = json!(f.vcpus);
    v["disk"] = json!(f.disk);
    v["OS-FLV-EXT-DATA:ephemeral"] = json!(f.ephemeral);
    v["OS-FLV-DISABLED:disabled"] = json!(false);
    v["os-flavor-access:is_public"] = json!(f.is_public);
    v["rxtx_factor"] = json!(f.rxtx_factor);
    // Before 2.75 Nova shows a swap of 0 as "".
    v["swap"] = if f.swap == 0 && !mv.at_least(75) {
        json!("")
    } else {
        json!(f.swap)
    };
    if mv.at_least(61) {
        v["extra_specs"] = json!(specs.cloned().unwrap_or_default());
    }
    v
}

async fn with_specs(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    f: &Flavor,
    mv: Mv,
) -> Result<Value, Error> {
    let specs = if mv.at_least(61) {
        Some(app.flavor_extra_specs(c, &f.id).await?)
    } else {
        None
    };
    Ok(render(app, f, mv, true, specs.as_ref()))
}

async fn listing(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    mv: Mv,
    raw: Option<&str>,
    detail: bool,
) -> NovaResult {
    let q = query_pairs(raw)?;
    let visibility = match param(&q, "is_public").map(str::to_lowercase).as_deref() {
        None => Visibility::Public,
        Some("none") | Some("all") => Visibility::All,
        Some("true") | Some("1") | Some("yes") | Some("t") | Some("on") => Visibility::Public,
        Some("false") | Some("0") | Some("no") | Some("f") | Some("off") => Visibility::Private,
        Some(other) => return Err(Error::bad_request(format!("Invalid is_public filter [{other}]")).into()),
    };
    let min = |k: &str| -> Result<i64, Error> {
        param(&q, k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| Error::bad_request(format!("Invalid {k} filter [{v}]")))
            })
            .transpose()
            .map(|v| v.unwrap_or(0))
    };
    let (min_ram, min_disk) = (min("minRam")?, min("minDisk")?);
    let mut list: Vec<Flavor> = app
        .list_flavors(c, visibility)
        .await?
        .into_iter()
        .filter(|f| f.ram >= min_ram && f.disk >= min_disk)
        .collect();
    let desc = match param(&q, "sort_dir").unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        d => return Err(Error::bad_request(format!("Invalid sort direction: {d}")).into()),
    };
    let key = param(&q, "sort_key").unwrap_or("flavorid");
    match key {
        "flavorid" | "id" => list.sort_by(|a, b| a.id.cmp(&b.id)),
        "name" => list.sort_by(|a, b| a.name.cmp(&b.name)),
        "memory_mb" => list.sort_by_key(|f| f.ram),
        "vcpus" => list.sort_by_key(|f| f.vcpus),
        "root_gb" => list.sort_by_key(|f| f.disk),
        "ephemeral_gb" => list.sort_by_key(|f| f.ephemeral),
        "swap" => list.sort_by_key(|f| f.swap),
        "rxtx_factor" => list.sort_by(|a, b| a.rxtx_factor.total_cmp(&b.rxtx_factor)),
        "created_at" => list.sort_by_key(|f| f.created_at),
        k => return Err(Error::bad_request(format!("Invalid sort key: {k}")).into()),
    }
    if desc {
        list.reverse();
    }
    if let Some(m) = param(&q, "marker") {
        let pos = list
            .iter()
            .position(|f| f.id == m)
            .ok_or_else(|| Error::bad_request(format!("marker [{m}] not found")))?;
        list.drain(..=pos);
    }
    let mut links_out = vec![];
    if let Some(l) = param(&q, "limit") {
        let l: usize = l
            .parse()
            .map_err(|_| Error::bad_request(format!("Invalid limit: {l}")))?;
        if list.len() > l {
            list.truncate(l);
            if let Some(last) = list.last() {
                let path = if detail { "flavors/detail" } else { "flavors" };
                links_out.push(json!({"rel": "next", "href": format!("{}/compute/v2.1/{path}?limit={l}&marker={}", app.cfg.public_url, last.id)}));
            }
        }
    }
    let mut items = vec![];
    for f in &list {
        items.push(if detail {
            with_specs(app, c, f, mv).await?
        } else {
            render(app, f, mv, false, None)
        });
    }
    let mut body = json!({ "flavors": items });
    if !links_out.is_empty() {
        body["flavors_links"] = json!(links_out);
    }
    Ok(Json(body).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    listing(&app, &c, mv, raw.as_deref(), false).await
}

pub async fn detail(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RawQuery(raw): RawQuery,
) -> NovaResult {
    listing(&app, &c, mv, raw.as_deref(), true).await
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    let f = app.get_flavor(&c, &id).await?;
    Ok(Json(json!({"flavor": with_specs(&app, &c, &f, mv).await?})).into_response())
}

pub async fn create(State(app): State<AppState>, Authed(c, ..): NovaCaller, mv: Mv, body: Bytes) -> NovaResult {
    let req = CreateFlavor::at_microversion(wrapped(&body, "flavor")?, mv.1)?;
    let f = app.create_flavor(&c, req).await?;
    Ok(Json(json!({"flavor": with_specs(&app, &c, &f, mv).await?})).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    if !mv.at_least(55) {
        return Err(Error::MethodNotAllowed("Updating a flavor needs microversion 2.55 or later.".into()).into());
    }
    let req = UpdateFlavor::try_from(wrapped(&body, "flavor")?)?;
    let f = app.update_flavor(&c, &id, req).await?;
    Ok(Json(json!({"flavor": with_specs(&app, &c, &f, mv).await?})).into_response())
}

pub async fn delete(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    app.delete_flavor(&c, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn extra_specs(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    Ok(Json(json!({"extra_specs": app.flavor_extra_specs(&c, &id).await?})).into_response())
}

pub async fn set_extra_specs(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let specs = ExtraSpecs::try_from(wrapped(&body, "extra_specs")?)?;
    Ok(Json(json!({"extra_specs": app.set_flavor_extra_specs(&c, &id, specs).await?})).into_response())
}

pub async fn extra_spec(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
) -> NovaResult {
    let specs = app.flavor_extra_specs(&c, &id).await?;
    let v = specs.get(&key).ok_or_else(|| Error::Typed {
        status: 404,
        kind: "itemNotFound",
        message: format!("Flavor {id} has no extra specs with key {key}."),
    })?;
    Ok(Json(json!({ key: v })).into_response())
}

/// `PUT .../os-extra_specs/KEY` with `{"KEY": "value"}`: exactly that one key.
pub async fn put_extra_spec(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
    body: Bytes,
) -> NovaResult {
    let specs = ExtraSpecs::item(parse_json(&body)?, &key)?;
    let set = app.set_flavor_extra_specs(&c, &id, specs).await?;
    Ok(Json(json!(set)).into_response())
}

pub async fn delete_extra_spec(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, key)): Path<(String, String)>,
) -> NovaResult {
    app.delete_flavor_extra_spec(&c, &id, &key).await?;
    // Nova answers 200 here (unlike the 202 of a flavor delete).
    Ok(StatusCode::OK.into_response())
}

fn access_body(id: &str, projects: Vec<String>) -> Value {
    json!({"flavor_access": projects.into_iter().map(|p| json!({"flavor_id": id, "tenant_id": p})).collect::<Vec<_>>()})
}

pub async fn access(State(app): State<AppState>, Authed(c, ..): NovaCaller, Path(id): Path<String>) -> NovaResult {
    let projects = app.flavor_access(&c, &id).await?;
    Ok(Json(access_body(&id, projects)).into_response())
}

/// `addTenantAccess` / `removeTenantAccess`.
pub async fn action(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let action = FlavorAccessAction::try_from(parse_json::<Value>(&body)?)?;
    let projects = app.change_flavor_access(&c, &id, action).await?;
    Ok(Json(access_body(&id, projects)).into_response())
}

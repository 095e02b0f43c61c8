//! What every Neutron resource shares, written once: list with filters/fields/sort/paging,
//! show with `fields=`, create (single or bulk, all-or-nothing), update, delete, and the
//! standard-attr-tag sub-resource. Each resource only says how to call the app and render.

use super::error::NeutronError;
use super::error::NeutronResult;
use super::query::ListQuery;
use super::NeutronCaller;
use crate::app::identity::caller::Caller;
use crate::app::keyset;
use crate::app::network::params::{FromBody, ReplaceTags};
use crate::app::network::tags::TagChange;
use crate::error::Error;
use crate::http::routes::{get, Routes};
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use std::future::Future;

type Res<T> = Result<T, Error>;

/// Rows of a table read in id order: the rendered ones the caller may see, and the id to
/// continue after (`None` when the table ended).
pub type Chunk = keyset::Chunk<Value, String>;

pub trait Resource: Send + Sync + 'static {
    /// JSON key of one item, e.g. `security_group`.
    const SINGULAR: &'static str;
    /// JSON key of a list, e.g. `security_groups`.
    const PLURAL: &'static str;
    /// URL collection, e.g. `security-groups`; also the kind tags are stored under.
    const PATH: &'static str;
    const TAGGED: bool = true;
    /// The typed bodies of create and update.
    type Create: FromBody + Send;
    type Update: FromBody + Send;

    fn list(app: &AppState, c: &Caller) -> impl Future<Output = Res<Vec<Value>>> + Send;
    /// The list for a query: resources that can select by its filters in SQL override this
    /// (the filters are applied again on what they return).
    fn list_for(app: &AppState, c: &Caller, _q: &ListQuery) -> impl Future<Output = Res<Vec<Value>>> + Send {
        Self::list(app, c)
    }
    /// Whether a listing with this query is read page by page (`page`); else the whole list
    /// is read (also for queries that `list_for` answers better). Resources that can grow
    /// large override both, so a page (`limit`) costs its size and not the table's.
    fn pages(_q: &ListQuery) -> bool {
        false
    }
    /// The items the caller may see among the next `n` rows after id `after`, in id order,
    /// read from the table's key, and the id to continue after (`None`: the table ended).
    fn page(_app: &AppState, _c: &Caller, _after: Option<&str>, _n: usize) -> impl Future<Output = Res<Chunk>> + Send {
        async {
            Ok(Chunk {
                items: vec![],
                next: None,
            })
        }
    }
    fn show(app: &AppState, c: &Caller, id: &str) -> impl Future<Output = Res<Value>> + Send;
    fn create(app: &AppState, c: &Caller, req: Self::Create) -> impl Future<Output = Res<Value>> + Send;
    fn update(app: &AppState, c: &Caller, id: &str, req: Self::Update) -> impl Future<Output = Res<Value>> + Send;
    fn delete(app: &AppState, c: &Caller, id: &str) -> impl Future<Output = Res<()>> + Send;
}

/// Adds the collection, item and tag routes of `R`.
/// Each route's policy action is `network:<collection>:<verb>` (`network:ports:update`); tags
/// share `network:tags:<verb>`.
pub fn routes<R: Resource>(router: Routes<NeutronError>) -> Routes<NeutronError> {
    let coll = format!("/v2.0/{}", R::PATH);
    let action = |verb: &str| format!("network:{}:{verb}", R::PLURAL);
    let router = router
        .route(
            &coll,
            get(action("list"), list::<R>).post(action("create"), create::<R>),
        )
        .route(
            &format!("{coll}/{{id}}"),
            get(action("show"), show::<R>)
                .put(action("update"), update::<R>)
                .delete(action("delete"), delete::<R>),
        );
    if !R::TAGGED {
        return router;
    }
    router
        .route(
            &format!("{coll}/{{id}}/tags"),
            get("network:tags:list", list_tags::<R>)
                .put("network:tags:replace", replace_tags::<R>)
                .delete("network:tags:remove_all", remove_all_tags::<R>),
        )
        .route(
            &format!("{coll}/{{id}}/tags/{{tag}}"),
            get("network:tags:check", check_tag::<R>)
                .put("network:tags:add", add_tag::<R>)
                .delete("network:tags:remove", remove_tag::<R>),
        )
}

fn url<R: Resource>(app: &AppState) -> String {
    format!("{}/network/v2.0/{}", app.cfg.public_url, R::PATH)
}

async fn with_tags<R: Resource>(app: &AppState, mut v: Value) -> Res<Value> {
    if R::TAGGED {
        if let Some(id) = v["id"].as_str() {
            let tags = app.tags_of_resource(id).await?;
            v["tags"] = json!(tags);
        }
    }
    Ok(v)
}

async fn list<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    if let Some(items) = keyset_page::<R>(&app, &c, &q).await? {
        return Ok(Json(q.collection(R::PLURAL, &url::<R>(&app), items)?).into_response());
    }
    let mut items = R::list_for(&app, &c, &q).await?;
    if R::TAGGED {
        let tags = app.tags_of_kind(R::PATH).await?;
        add_tags(&mut items, &tags);
    }
    Ok(Json(q.collection(R::PLURAL, &url::<R>(&app), items)?).into_response())
}

fn add_tags(items: &mut [Value], tags: &std::collections::HashMap<String, Vec<String>>) {
    for v in items {
        let t = v["id"]
            .as_str()
            .and_then(|id| tags.get(id))
            .cloned()
            .unwrap_or_default();
        v["tags"] = json!(t);
    }
}

/// A page in id order read from the table's key (see `keyset::fill`); `None` when the query
/// or the resource cannot be paged so.
async fn keyset_page<R: Resource>(app: &AppState, c: &Caller, q: &ListQuery) -> Res<Option<Vec<Value>>> {
    let Some((marker, limit)) = q.keyset()? else {
        return Ok(None);
    };
    if !R::pages(q) {
        return Ok(None);
    }
    let read = |after: Option<String>, n| async move {
        let mut chunk = R::page(app, c, after.as_deref(), n).await?;
        if R::TAGGED {
            let ids: Vec<String> = chunk
                .items
                .iter()
                .filter_map(|v| v["id"].as_str())
                .map(str::to_owned)
                .collect();
            add_tags(&mut chunk.items, &app.tags_of_resources(&ids).await?);
        }
        Ok::<_, Error>(chunk)
    };
    Ok(Some(
        keyset::fill(limit, marker.map(str::to_owned), read, |v| q.matches(v)).await?,
    ))
}

async fn show<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> NeutronResult {
    let q = ListQuery::parse(raw.as_deref())?;
    let v = with_tags::<R>(&app, R::show(&app, &c, &id).await?).await?;
    Ok(Json(json!({ R::SINGULAR: q.select(v) })).into_response())
}

/// `{"network": {...}}` creates one; `{"networks": [...]}` creates all of them or, if one
/// fails, none (those already made are deleted again), as Neutron's bulk create does.
async fn create<R: Resource>(State(app): State<AppState>, Authed(c, ..): NeutronCaller, body: Bytes) -> NeutronResult {
    let mut doc = match parse_json::<Value>(&body)? {
        Value::Object(m) => m,
        _ => return Err(Error::bad_request("Malformed request body: expected a JSON object").into()),
    };
    if let Some(list) = doc.remove(R::PLURAL) {
        let items = list.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid input for field '{}': expected a non-empty list",
                R::PLURAL
            ))
        })?;
        let mut made: Vec<Value> = vec![];
        for it in items {
            let result = match it {
                Value::Object(m) => match R::Create::from_body(m.clone()) {
                    Ok(req) => R::create(&app, &c, req).await,
                    Err(e) => Err(e),
                },
                _ => Err(Error::bad_request(format!(
                    "Invalid input for field '{}': expected objects",
                    R::PLURAL
                ))),
            };
            match result {
                Ok(v) => made.push(v),
                Err(e) => {
                    for v in made.iter().rev() {
                        if let Some(id) = v["id"].as_str() {
                            if let Err(undo) = R::delete(&app, &c, id).await {
                                tracing::warn!(resource = R::SINGULAR, %id, error = %undo, "bulk create rollback failed");
                            }
                        }
                    }
                    return Err(e.into());
                }
            }
        }
        return Ok((StatusCode::CREATED, Json(json!({ R::PLURAL: made }))).into_response());
    }
    let one = match doc.remove(R::SINGULAR) {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field '{}': {other} is not of type 'object'",
                R::SINGULAR
            ))
            .into())
        }
        None => {
            return Err(Error::bad_request(format!(
                "Invalid input for field '{0}': '{0}' is a required property",
                R::SINGULAR
            ))
            .into())
        }
    };
    let v = R::create(&app, &c, R::Create::from_body(one)?).await?;
    Ok((StatusCode::CREATED, Json(json!({ R::SINGULAR: v }))).into_response())
}

async fn update<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let req = R::Update::from_body(crate::http::wrapped(&body, R::SINGULAR)?)?;
    let v = R::update(&app, &c, &id, req).await?;
    let v = with_tags::<R>(&app, v).await?;
    Ok(Json(json!({ R::SINGULAR: v })).into_response())
}

async fn delete<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
) -> NeutronResult {
    R::delete(&app, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_tags<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
) -> NeutronResult {
    let tags = app.resource_tags(&c, R::PATH, &id).await?;
    Ok(Json(json!({ "tags": tags })).into_response())
}

async fn replace_tags<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> NeutronResult {
    let tags = match parse_json::<Value>(&body)? {
        Value::Object(doc) => ReplaceTags::from_body(doc)?.tags,
        _ => return Err(Error::bad_request("Invalid input for tags: expected a list of strings.").into()),
    };
    let tags = app.change_tags(&c, R::PATH, &id, TagChange::Replace(tags)).await?;
    Ok(Json(json!({ "tags": tags })).into_response())
}

async fn remove_all_tags<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path(id): Path<String>,
) -> NeutronResult {
    app.change_tags(&c, R::PATH, &id, TagChange::RemoveAll).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn check_tag<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult {
    if app.resource_tags(&c, R::PATH, &id).await?.contains(&tag) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Error::Typed {
            status: 404,
            kind: "TagNotFound",
            message: format!("Tag {tag} could not be found."),
        }
        .into())
    }
}

async fn add_tag<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult {
    app.change_tags(&c, R::PATH, &id, TagChange::Add(tag)).await?;
    Ok(StatusCode::CREATED.into_response())
}

async fn remove_tag<R: Resource>(
    State(app): State<AppState>,
    Authed(c, ..): NeutronCaller,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult {
    app.change_tags(&c, R::PATH, &id, TagChange::Remove(tag)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

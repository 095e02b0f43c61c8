//! Glance v2 metadata definitions catalog: `/v2/metadefs/...` and `/v2/schemas/metadefs/...`.
//! Fields a definition does not have are left out, as Glance's WSME models render them.

use super::error::{GlanceError, GlanceResult};
use super::metadefs_schemas;
use super::render::time;
use crate::app::image::metadefs::{Contents, ListQuery, NamespaceDetail};
use crate::db::metadefs::{Association, Namespace, Object, Property, ResourceType, Tag};
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

type Gl = Authed<GlanceError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/schemas/metadefs/{name}", get(schema))
        .route("/v2/metadefs/resource_types", get(list_resource_types))
        .route("/v2/metadefs/namespaces", get(list_namespaces).post(create_namespace))
        .route(
            "/v2/metadefs/namespaces/{ns}",
            get(show_namespace).put(update_namespace).delete(delete_namespace),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/resource_types",
            get(list_associations).post(create_association),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/resource_types/{rt}",
            delete(delete_association),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/objects",
            get(list_objects).post(create_object).delete(delete_objects),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/objects/{name}",
            get(show_object).put(update_object).delete(delete_object),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/properties",
            get(list_properties).post(create_property).delete(delete_properties),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/properties/{name}",
            get(show_property).put(update_property).delete(delete_property),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/tags",
            get(list_tags).post(create_tags).delete(delete_tags),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/tags/{name}",
            get(show_tag).post(create_tag).put(update_tag).delete(delete_tag),
        )
}

// --- request helpers -----------------------------------------------------------------------

fn query(raw: Option<String>) -> Result<ListQuery, Error> {
    let params = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| Error::bad_request(format!("Invalid query string: {e}")))?;
    Ok(ListQuery { params })
}

/// The JSON object a create or update needs; Glance answers an empty body with 400.
fn object_body(body: &Bytes) -> Result<Map<String, Value>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request("Body expected in request."));
    }
    match parse_json(body)? {
        Value::Object(m) => Ok(m),
        other => Err(Error::bad_request(format!("{other} is not of type 'object'"))),
    }
}

/// oslo's `bool_from_string` for the `X-Openstack-Append` header.
fn header_true(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "true" | "on" | "y" | "yes"))
}

fn created(app: &AppState, body: Value, href: Option<&str>) -> Response {
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if let Some(loc) = href.and_then(|h| HeaderValue::from_str(&format!("{}/image{h}", app.cfg.public_url)).ok()) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

fn no_content() -> GlanceResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

// --- rendering -----------------------------------------------------------------------------

fn namespace_href(name: &str) -> String {
    format!("/v2/metadefs/namespaces/{name}")
}

/// Inserts `v` under `k` unless it is absent.
fn put_opt(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.into(), json!(v));
    }
}

fn namespace_map(n: &Namespace) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("namespace".into(), json!(n.namespace));
    put_opt(&mut m, "display_name", &n.display_name);
    put_opt(&mut m, "description", &n.description);
    m.insert("visibility".into(), json!(n.visibility));
    m.insert("protected".into(), json!(n.protected));
    m.insert("owner".into(), json!(n.owner));
    m.insert("created_at".into(), json!(time(n.created_at)));
    m.insert("updated_at".into(), json!(time(n.updated_at)));
    m.insert("self".into(), json!(namespace_href(&n.namespace)));
    m.insert("schema".into(), json!("/v2/schemas/metadefs/namespace"));
    m
}

fn association(a: &Association) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    put_opt(&mut m, "prefix", &a.prefix);
    put_opt(&mut m, "properties_target", &a.properties_target);
    m.insert("created_at".into(), json!(time(a.created_at)));
    m.insert("updated_at".into(), json!(time(a.updated_at)));
    Value::Object(m)
}

fn object(ns: &str, o: &Object) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(o.name));
    put_opt(&mut m, "description", &o.description);
    m.insert("required".into(), Value::Array(o.required_list()));
    m.insert("properties".into(), Value::Object(o.property_map()));
    m.insert("created_at".into(), json!(time(o.created_at)));
    m.insert("updated_at".into(), json!(time(o.updated_at)));
    m.insert(
        "self".into(),
        json!(format!("{}/objects/{}", namespace_href(ns), o.name)),
    );
    m.insert("schema".into(), json!("/v2/schemas/metadefs/object"));
    Value::Object(m)
}

/// One property on its own carries its name.
fn property(p: &Property) -> Value {
    let mut m = p.definition_map();
    m.insert("name".into(), json!(p.name));
    Value::Object(m)
}

/// In a collection, a property's name is its key.
fn property_dict(props: &[Property]) -> Value {
    Value::Object(
        props
            .iter()
            .map(|p| (p.name.clone(), Value::Object(p.definition_map())))
            .collect(),
    )
}

fn tag(t: &Tag) -> Value {
    json!({"name": t.name, "created_at": time(t.created_at), "updated_at": time(t.updated_at)})
}

/// Tag collections list names only.
fn tag_names(tags: &[Tag]) -> Value {
    Value::Array(tags.iter().map(|t| json!({"name": t.name})).collect())
}

fn resource_type(r: &ResourceType) -> Value {
    json!({"name": r.name, "created_at": time(r.created_at), "updated_at": time(r.updated_at)})
}

fn namespace_detail(d: &NamespaceDetail) -> Value {
    let ns = &d.namespace.namespace;
    let mut m = namespace_map(&d.namespace);
    if let Some(a) = &d.associations {
        m.insert("resource_type_associations".into(), a.iter().map(association).collect());
    }
    if let Some(p) = &d.properties {
        m.insert("properties".into(), property_dict(p));
    }
    if let Some(o) = &d.objects {
        m.insert("objects".into(), o.iter().map(|o| object(ns, o)).collect());
    }
    if let Some(t) = &d.tags {
        m.insert("tags".into(), tag_names(t));
    }
    Value::Object(m)
}

// --- schemas and resource types ------------------------------------------------------------

async fn schema(Authed(..): Gl, Path(name): Path<String>) -> GlanceResult {
    let s = metadefs_schemas::get(&name).ok_or_else(|| Error::not_found("schema", format!("metadefs/{name}")))?;
    Ok(Json(s).into_response())
}

async fn list_resource_types(State(app): State<AppState>, Authed(c, ..): Gl) -> GlanceResult {
    let types = app.list_metadef_resource_types(&c).await?;
    Ok(Json(json!({"resource_types": types.iter().map(resource_type).collect::<Vec<_>>()})).into_response())
}

// --- namespaces ----------------------------------------------------------------------------

async fn list_namespaces(State(app): State<AppState>, Authed(c, ..): Gl, RawQuery(raw): RawQuery) -> GlanceResult {
    let q = query(raw)?;
    let page = app.list_metadef_namespaces(&c, &q).await?;
    let keep: Vec<(String, String)> = q.params.into_iter().filter(|(k, _)| k != "marker").collect();
    let encode = |p: &[(String, String)]| serde_urlencoded::to_string(p).unwrap_or_default();
    let base = "/v2/metadefs/namespaces";
    let first = if keep.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", encode(&keep))
    };
    let namespaces: Vec<Value> = page
        .namespaces
        .iter()
        .map(|(n, assocs)| {
            let mut m = namespace_map(n);
            if !assocs.is_empty() {
                m.insert(
                    "resource_type_associations".into(),
                    assocs.iter().map(association).collect(),
                );
            }
            Value::Object(m)
        })
        .collect();
    let mut body = json!({"namespaces": namespaces, "first": first, "schema": "/v2/schemas/metadefs/namespaces"});
    if let Some(marker) = page.next {
        let mut next = keep;
        next.push(("marker".into(), marker));
        body["next"] = json!(format!("{base}?{}", encode(&next)));
    }
    Ok(Json(body).into_response())
}

async fn create_namespace(State(app): State<AppState>, Authed(c, ..): Gl, body: Bytes) -> GlanceResult {
    let d = app.create_metadef_namespace(&c, object_body(&body)?).await?;
    let href = namespace_href(&d.namespace.namespace);
    Ok(created(&app, namespace_detail(&d), Some(&href)))
}

async fn show_namespace(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
    let q = query(raw)?;
    let rt = q
        .params
        .iter()
        .find(|(k, _)| k == "resource_type")
        .map(|(_, v)| v.as_str());
    Ok(Json(namespace_detail(&app.get_metadef_namespace(&c, &ns, rt).await?)).into_response())
}

async fn update_namespace(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let n = app.update_metadef_namespace(&c, &ns, object_body(&body)?).await?;
    Ok(Json(Value::Object(namespace_map(&n))).into_response())
}

async fn delete_namespace(State(app): State<AppState>, Authed(c, ..): Gl, Path(ns): Path<String>) -> GlanceResult {
    app.delete_metadef_namespace(&c, &ns).await?;
    no_content()
}

// --- resource type associations ------------------------------------------------------------

async fn list_associations(State(app): State<AppState>, Authed(c, ..): Gl, Path(ns): Path<String>) -> GlanceResult {
    let list = app.list_metadef_associations(&c, &ns).await?;
    Ok(Json(json!({"resource_type_associations": list.iter().map(association).collect::<Vec<_>>()})).into_response())
}

async fn create_association(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let a = app.create_metadef_association(&c, &ns, object_body(&body)?).await?;
    Ok(created(&app, association(&a), None))
}

async fn delete_association(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, rt)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_association(&c, &ns, &rt).await?;
    no_content()
}

// --- objects -------------------------------------------------------------------------------

async fn list_objects(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
    let objects = app.list_metadef_objects(&c, &ns, &query(raw)?).await?;
    // Glance's objects collection links its schema without the leading slash.
    let body = json!({
        "objects": objects.iter().map(|o| object(&ns, o)).collect::<Vec<_>>(),
        "schema": "v2/schemas/metadefs/objects",
    });
    Ok(Json(body).into_response())
}

async fn create_object(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let o = app.create_metadef_object(&c, &ns, object_body(&body)?).await?;
    Ok(created(&app, object(&ns, &o), None))
}

async fn show_object(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    Ok(Json(object(&ns, &app.get_metadef_object(&c, &ns, &name).await?)).into_response())
}

async fn update_object(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let o = app.update_metadef_object(&c, &ns, &name, object_body(&body)?).await?;
    Ok(Json(object(&ns, &o)).into_response())
}

async fn delete_object(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_object(&c, &ns, &name).await?;
    no_content()
}

async fn delete_objects(State(app): State<AppState>, Authed(c, ..): Gl, Path(ns): Path<String>) -> GlanceResult {
    app.delete_metadef_contents(&c, &ns, Contents::Objects).await?;
    no_content()
}

// --- properties ----------------------------------------------------------------------------

async fn list_properties(State(app): State<AppState>, Authed(c, ..): Gl, Path(ns): Path<String>) -> GlanceResult {
    let props = app.list_metadef_properties(&c, &ns).await?;
    Ok(Json(json!({"properties": property_dict(&props)})).into_response())
}

async fn create_property(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let p = app.create_metadef_property(&c, &ns, object_body(&body)?).await?;
    Ok(created(&app, property(&p), None))
}

async fn show_property(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
    let q = query(raw)?;
    let rt = q
        .params
        .iter()
        .find(|(k, _)| k == "resource_type")
        .map(|(_, v)| v.as_str());
    Ok(Json(property(&app.get_metadef_property(&c, &ns, &name, rt).await?)).into_response())
}

async fn update_property(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let p = app.update_metadef_property(&c, &ns, &name, object_body(&body)?).await?;
    Ok(Json(property(&p)).into_response())
}

async fn delete_property(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_property(&c, &ns, &name).await?;
    no_content()
}

async fn delete_properties(State(app): State<AppState>, Authed(c, ..): Gl, Path(ns): Path<String>) -> GlanceResult {
    app.delete_metadef_contents(&c, &ns, Contents::Properties).await?;
    no_content()
}

// --- tags ----------------------------------------------------------------------------------

async fn list_tags(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
    let tags = app.list_metadef_tags(&c, &ns, &query(raw)?).await?;
    Ok(Json(json!({"tags": tag_names(&tags)})).into_response())
}

async fn create_tags(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path(ns): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GlanceResult {
    let append = header_true(&headers, "x-openstack-append");
    let tags = app.create_metadef_tags(&c, &ns, object_body(&body)?, append).await?;
    Ok(created(&app, json!({"tags": tag_names(&tags)}), None))
}

async fn delete_tags(State(app): State<AppState>, Authed(c, ..): Gl, Path(ns): Path<String>) -> GlanceResult {
    app.delete_metadef_contents(&c, &ns, Contents::Tags).await?;
    no_content()
}

async fn show_tag(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    Ok(Json(tag(&app.get_metadef_tag(&c, &ns, &name).await?)).into_response())
}

async fn create_tag(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    let t = app.create_metadef_tag(&c, &ns, &name).await?;
    Ok(created(&app, tag(&t), None))
}

async fn update_tag(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let t = app.update_metadef_tag(&c, &ns, &name, object_body(&body)?).await?;
    Ok(Json(tag(&t)).into_response())
}

async fn delete_tag(
    State(app): State<AppState>,
    Authed(c, ..): Gl,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_tag(&c, &ns, &name).await?;
    no_content()
}

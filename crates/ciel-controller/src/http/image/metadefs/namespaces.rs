//! Namespaces, resource types and resource-type associations.

use super::render::{association, namespace_detail, namespace_href, namespace_map, resource_type};
use super::{created, no_content, object_body, query, GlanceCaller};
use crate::http::image::error::GlanceResult;
use crate::http::{AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

// --- resource types ------------------------------------------------------------------------

pub(super) async fn list_resource_types(State(app): State<AppState>, Authed(c, ..): GlanceCaller) -> GlanceResult {
    let types = app.list_metadef_resource_types(&c).await?;
    Ok(Json(json!({"resource_types": types.iter().map(resource_type).collect::<Vec<_>>()})).into_response())
}

// --- namespaces ----------------------------------------------------------------------------

pub(super) async fn list_namespaces(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
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

pub(super) async fn create_namespace(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    body: Bytes,
) -> GlanceResult {
    let d = app.create_metadef_namespace(&c, object_body(&body)?).await?;
    let href = namespace_href(&d.namespace.namespace);
    Ok(created(&app, namespace_detail(&d), Some(&href)))
}

pub(super) async fn show_namespace(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
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

pub(super) async fn update_namespace(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let n = app.update_metadef_namespace(&c, &ns, object_body(&body)?).await?;
    Ok(Json(Value::Object(namespace_map(&n))).into_response())
}

pub(super) async fn delete_namespace(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
) -> GlanceResult {
    app.delete_metadef_namespace(&c, &ns).await?;
    no_content()
}

// --- resource type associations ------------------------------------------------------------

pub(super) async fn list_associations(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
) -> GlanceResult {
    let list = app.list_metadef_associations(&c, &ns).await?;
    Ok(Json(json!({"resource_type_associations": list.iter().map(association).collect::<Vec<_>>()})).into_response())
}

pub(super) async fn create_association(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let a = app.create_metadef_association(&c, &ns, object_body(&body)?).await?;
    Ok(created(&app, association(&a), None))
}

pub(super) async fn delete_association(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, rt)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_association(&c, &ns, &rt).await?;
    no_content()
}

//! A namespace's contents: objects, properties and tags.

use super::render::{object, property, property_dict, tag, tag_names};
use super::{created, header_true, no_content, object_body, query, GlanceCaller};
use crate::app::image::metadefs::Contents;
use crate::http::image::error::GlanceResult;
use crate::http::{AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

// --- objects -------------------------------------------------------------------------------

pub(super) async fn list_objects(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
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

pub(super) async fn create_object(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let o = app.create_metadef_object(&c, &ns, object_body(&body)?).await?;
    Ok(created(&app, object(&ns, &o), None))
}

pub(super) async fn show_object(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    Ok(Json(object(&ns, &app.get_metadef_object(&c, &ns, &name).await?)).into_response())
}

pub(super) async fn update_object(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let o = app.update_metadef_object(&c, &ns, &name, object_body(&body)?).await?;
    Ok(Json(object(&ns, &o)).into_response())
}

pub(super) async fn delete_object(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_object(&c, &ns, &name).await?;
    no_content()
}

pub(super) async fn delete_objects(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
) -> GlanceResult {
    app.delete_metadef_contents(&c, &ns, Contents::Objects).await?;
    no_content()
}

// --- properties ----------------------------------------------------------------------------

pub(super) async fn list_properties(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
) -> GlanceResult {
    let props = app.list_metadef_properties(&c, &ns).await?;
    Ok(Json(json!({"properties": property_dict(&props)})).into_response())
}

pub(super) async fn create_property(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let p = app.create_metadef_property(&c, &ns, object_body(&body)?).await?;
    Ok(created(&app, property(&p), None))
}

pub(super) async fn show_property(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
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

pub(super) async fn update_property(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let p = app.update_metadef_property(&c, &ns, &name, object_body(&body)?).await?;
    Ok(Json(property(&p)).into_response())
}

pub(super) async fn delete_property(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_property(&c, &ns, &name).await?;
    no_content()
}

pub(super) async fn delete_properties(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
) -> GlanceResult {
    app.delete_metadef_contents(&c, &ns, Contents::Properties).await?;
    no_content()
}

// --- tags ----------------------------------------------------------------------------------

pub(super) async fn list_tags(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
    let tags = app.list_metadef_tags(&c, &ns, &query(raw)?).await?;
    Ok(Json(json!({"tags": tag_names(&tags)})).into_response())
}

pub(super) async fn create_tags(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GlanceResult {
    let append = header_true(&headers, "x-openstack-append");
    let tags = app.create_metadef_tags(&c, &ns, object_body(&body)?, append).await?;
    Ok(created(&app, json!({"tags": tag_names(&tags)}), None))
}

pub(super) async fn delete_tags(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(ns): Path<String>,
) -> GlanceResult {
    app.delete_metadef_contents(&c, &ns, Contents::Tags).await?;
    no_content()
}

pub(super) async fn show_tag(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    Ok(Json(tag(&app.get_metadef_tag(&c, &ns, &name).await?)).into_response())
}

pub(super) async fn create_tag(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    let t = app.create_metadef_tag(&c, &ns, &name).await?;
    Ok(created(&app, tag(&t), None))
}

pub(super) async fn update_tag(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let t = app.update_metadef_tag(&c, &ns, &name, object_body(&body)?).await?;
    Ok(Json(tag(&t)).into_response())
}

pub(super) async fn delete_tag(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((ns, name)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_metadef_tag(&c, &ns, &name).await?;
    no_content()
}

//! Glance v2 metadata definitions catalog: `/v2/metadefs/...` and `/v2/schemas/metadefs/...`.
//! Fields a definition does not have are left out, as Glance's WSME models render them.

mod contents;
mod namespaces;
mod render;

use super::error::{GlanceError, GlanceResult};
use super::metadefs_schemas;
use crate::app::image::metadefs::ListQuery;
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use contents::{
    create_object, create_property, create_tag, create_tags, delete_object, delete_objects, delete_properties,
    delete_property, delete_tag, delete_tags, list_objects, list_properties, list_tags, show_object, show_property,
    show_tag, update_object, update_property, update_tag,
};
use namespaces::{
    create_association, create_namespace, delete_association, delete_namespace, list_associations, list_namespaces,
    list_resource_types, show_namespace, update_namespace,
};
use serde_json::{Map, Value};

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

// --- schemas -------------------------------------------------------------------------------

async fn schema(Authed(..): Gl, Path(name): Path<String>) -> GlanceResult {
    let s = metadefs_schemas::get(&name).ok_or_else(|| Error::not_found("schema", format!("metadefs/{name}")))?;
    Ok(Json(s).into_response())
}

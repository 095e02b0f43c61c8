//! Glance v2 metadata definitions catalog: `/v2/metadefs/...` and `/v2/schemas/metadefs/...`.
//! Fields a definition does not have are left out, as Glance's WSME models render them.

mod contents;
mod namespaces;
mod render;

use super::error::{GlanceError, GlanceResult};
use super::metadefs_schemas;
use crate::app::image::metadefs::ListQuery;
use crate::error::Error;
use crate::http::routes::{delete, get, Routes};
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
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

/// The authenticated caller of a metadefs route (its errors rendered as Glance's).
type GlanceCaller = Authed<GlanceError>;

pub fn routes() -> Routes<GlanceError> {
    Routes::new()
        .route("/v2/schemas/metadefs/{name}", get("image:metadefs:schema", schema))
        .route(
            "/v2/metadefs/resource_types",
            get("image:metadefs:list_resource_types", list_resource_types),
        )
        .route(
            "/v2/metadefs/namespaces",
            get("image:metadefs:list_namespaces", list_namespaces)
                .post("image:metadefs:create_namespace", create_namespace),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}",
            get("image:metadefs:show_namespace", show_namespace)
                .put("image:metadefs:update_namespace", update_namespace)
                .delete("image:metadefs:delete_namespace", delete_namespace),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/resource_types",
            get("image:metadefs:list_associations", list_associations)
                .post("image:metadefs:create_association", create_association),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/resource_types/{rt}",
            delete("image:metadefs:delete_association", delete_association),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/objects",
            get("image:metadefs:list_objects", list_objects)
                .post("image:metadefs:create_object", create_object)
                .delete("image:metadefs:delete_objects", delete_objects),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/objects/{name}",
            get("image:metadefs:show_object", show_object)
                .put("image:metadefs:update_object", update_object)
                .delete("image:metadefs:delete_object", delete_object),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/properties",
            get("image:metadefs:list_properties", list_properties)
                .post("image:metadefs:create_property", create_property)
                .delete("image:metadefs:delete_properties", delete_properties),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/properties/{name}",
            get("image:metadefs:show_property", show_property)
                .put("image:metadefs:update_property", update_property)
                .delete("image:metadefs:delete_property", delete_property),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/tags",
            get("image:metadefs:list_tags", list_tags)
                .post("image:metadefs:create_tags", create_tags)
                .delete("image:metadefs:delete_tags", delete_tags),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/tags/{name}",
            get("image:metadefs:show_tag", show_tag)
                .post("image:metadefs:create_tag", create_tag)
                .put("image:metadefs:update_tag", update_tag)
                .delete("image:metadefs:delete_tag", delete_tag),
        )
}

// --- request helpers -----------------------------------------------------------------------

fn query(raw: Option<String>) -> Result<ListQuery, Error> {
    let params = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| Error::bad_request(format!("Invalid query string: {e}")))?;
    Ok(ListQuery { params })
}

/// The typed body of a create or update, from the JSON object it needs; Glance answers an
/// empty body with 400.
fn object_body<T: TryFrom<Map<String, Value>, Error = Error>>(body: &Bytes) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request("Body expected in request."));
    }
    match parse_json(body)? {
        Value::Object(m) => T::try_from(m),
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

async fn schema(Authed(..): GlanceCaller, Path(name): Path<String>) -> GlanceResult {
    let s = metadefs_schemas::get(&name).ok_or_else(|| Error::not_found("schema", format!("metadefs/{name}")))?;
    Ok(Json(s).into_response())
}

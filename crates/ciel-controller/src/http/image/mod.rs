//! Glance v2 at `/image`.

pub(crate) mod error;
mod metadefs;
mod metadefs_schemas;
mod render;
mod schemas;

use crate::app::image::list::ImageQuery;
use crate::app::image::params::{AddMember, CreateImage, PatchOp, UpdateMember};
use crate::error::Error;
use crate::http::routes::{get, post, put, Routes};
use crate::http::{parse_json, AppState, Authed};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use error::{GlanceError, GlanceResult};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The authenticated caller of a Glance route (its errors rendered as Glance's).
type GlanceCaller = Authed<GlanceError>;

pub fn router() -> Routes<GlanceError> {
    Routes::new()
        .route("/", get("image:versions", versions))
        .route("/versions", get("image:versions_ok", versions_ok))
        .route(
            "/v2/images",
            get("image:list_images", list_images).post("image:create_image", create_image),
        )
        .route(
            "/v2/images/{id}",
            get("image:show_image", show_image)
                .patch("image:patch_image", patch_image)
                .delete("image:delete_image", delete_image),
        )
        .route(
            "/v2/images/{id}/file",
            put("image:upload", upload).get("image:download", download),
        )
        .route(
            "/v2/images/{id}/tags/{tag}",
            put("image:add_tag", add_tag).delete("image:delete_tag", delete_tag),
        )
        .route(
            "/v2/images/{id}/members",
            get("image:list_members", list_members).post("image:add_member", add_member),
        )
        .route(
            "/v2/images/{id}/members/{member}",
            get("image:show_member", show_member)
                .put("image:update_member", update_member)
                .delete("image:delete_member", delete_member),
        )
        .route("/v2/images/{id}/tasks", get("image:image_tasks", image_tasks))
        .route(
            "/v2/images/{id}/actions/deactivate",
            post("image:deactivate", deactivate),
        )
        .route(
            "/v2/images/{id}/actions/reactivate",
            post("image:reactivate", reactivate),
        )
        .route("/v2/schemas/{name}", get("image:schema", schema))
        .route("/v2/info/import", get("image:import_info", import_info))
        .merge(metadefs::routes())
}

fn versions_doc(app: &AppState) -> Value {
    let href = format!("{}/image/v2/", app.cfg.public_url);
    let v = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": href}]});
    json!({"versions": [v("v2.16", "CURRENT"), v("v2.15", "SUPPORTED"), v("v2.9", "SUPPORTED"), v("v2.7", "SUPPORTED"),
        v("v2.6", "SUPPORTED"), v("v2.5", "SUPPORTED"), v("v2.4", "SUPPORTED"), v("v2.3", "SUPPORTED"),
        v("v2.2", "SUPPORTED"), v("v2.1", "SUPPORTED"), v("v2.0", "SUPPORTED")]})
}

pub async fn versions(State(app): State<AppState>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, Json(versions_doc(&app))).into_response()
}

async fn versions_ok(State(app): State<AppState>) -> Response {
    Json(versions_doc(&app)).into_response()
}

fn query(raw: Option<String>) -> Result<ImageQuery, Error> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| Error::bad_request(format!("Invalid query string: {e}")))?;
    Ok(ImageQuery { params })
}

async fn list_images(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
    let q = query(raw)?;
    let page = app.list_images(&c, &q).await?;
    let keep: Vec<(String, String)> = q.params.iter().filter(|(k, _)| k != "marker").cloned().collect();
    let encode = |p: &[(String, String)]| serde_urlencoded::to_string(p).unwrap_or_default();
    let first = if keep.is_empty() {
        "/v2/images".to_string()
    } else {
        format!("/v2/images?{}", encode(&keep))
    };
    let mut body = json!({
        "images": page.images.iter().map(render::image).collect::<Vec<_>>(),
        "schema": "/v2/schemas/images",
        "first": first,
    });
    if let Some(marker) = page.next_marker {
        let mut next: Vec<(String, String)> = keep.into_iter().filter(|(k, _)| k != "limit").collect();
        next.push(("marker".into(), marker));
        next.push(("limit".into(), page.limit.to_string()));
        body["next"] = json!(format!("/v2/images?{}", encode(&next)));
    }
    Ok(Json(body).into_response())
}

async fn create_image(State(app): State<AppState>, Authed(c, ..): GlanceCaller, body: Bytes) -> GlanceResult {
    let img = app
        .create_image(&c, CreateImage::from_body(parse_json(&body)?)?)
        .await?;
    let mut resp = (StatusCode::CREATED, Json(render::image(&img))).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("{}/image/v2/images/{}", app.cfg.public_url, img.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

async fn show_image(State(app): State<AppState>, Authed(c, ..): GlanceCaller, Path(id): Path<String>) -> GlanceResult {
    Ok(Json(render::image(&app.get_image(&c, &id).await?)).into_response())
}

async fn patch_image(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GlanceResult {
    // Glance answers any other media type with 415 and the accepted ones in `Accept-Patch`.
    const PATCH_TYPES: [&str; 2] = [
        "application/openstack-images-v2.1-json-patch",
        "application/openstack-images-v2.0-json-patch",
    ];
    if !PATCH_TYPES.contains(&media_type(&headers).as_str()) {
        let mut resp = GlanceError::from(crate::http::body_rules::unsupported_media_type()).into_response();
        resp.headers_mut().insert(
            "accept-patch",
            HeaderValue::from_static(
                "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch",
            ),
        );
        return Ok(resp);
    }
    let raw: Vec<Value> = parse_json(&body)?;
    let ops = raw.into_iter().map(PatchOp::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(render::image(&app.patch_image(&c, &id, ops).await?)).into_response())
}

async fn delete_image(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(id): Path<String>,
) -> GlanceResult {
    app.delete_image(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The media type of a request, lower case without parameters ("" when absent).
fn media_type(headers: &HeaderMap) -> String {
    crate::http::body_rules::media_type(headers).unwrap_or_default()
}

/// Streams the request body to the store: never the whole image in memory. Glance takes
/// image data as `application/octet-stream` only (415 "Invalid content type ..." otherwise).
async fn upload(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> GlanceResult {
    let mt = media_type(&headers);
    if mt != "application/octet-stream" {
        let shown = if headers.contains_key(header::CONTENT_TYPE) {
            mt.as_str()
        } else {
            "None"
        };
        return Err(Error::Typed {
            status: 415,
            kind: "HTTPUnsupportedMediaType",
            message: format!("Invalid content type {shown}"),
        }
        .into());
    }
    app.upload_image(&c, &id, body.into_data_stream()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a file of `size` bytes: (start, end inclusive).
fn parse_range(h: &str, size: u64) -> Option<(u64, u64)> {
    let spec = h.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (s, "") => (s.parse().ok()?, size - 1),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
}

async fn download(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> GlanceResult {
    let dl = app.download_image(&c, &id).await?;
    let Some(path) = dl.path else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut file = tokio::fs::File::open(&path).await.map_err(Error::from)?;
    let size = file.metadata().await.map_err(Error::from)?.len();
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes");
    if let Some(sum) = &dl.image.checksum {
        builder = builder.header("content-md5", sum.as_str());
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let resp = match range {
        None => {
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
            builder
                .status(StatusCode::OK)
                .header(header::CONTENT_LENGTH, size)
                .body(Body::from_stream(stream))
        }
        Some(h) => match parse_range(h, size) {
            None => Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty()),
            Some((start, end)) => {
                file.seek(std::io::SeekFrom::Start(start)).await.map_err(Error::from)?;
                let len = end - start + 1;
                let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
                builder
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(header::CONTENT_LENGTH, len)
                    .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                    .body(Body::from_stream(stream))
            }
        },
    };
    resp.map_err(|e| Error::Internal(e.to_string()).into())
}

async fn add_tag(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((id, tag)): Path<(String, String)>,
) -> GlanceResult {
    app.add_image_tag(&c, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_tag(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((id, tag)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_image_tag(&c, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_members(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(id): Path<String>,
) -> GlanceResult {
    let members = app.list_image_members(&c, &id).await?;
    let body =
        json!({"members": members.iter().map(render::member).collect::<Vec<_>>(), "schema": "/v2/schemas/members"});
    Ok(Json(body).into_response())
}

async fn add_member(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let add = AddMember::try_from(parse_json::<Value>(&body)?)?;
    let m = app.add_image_member(&c, &id, &add.member).await?;
    Ok(Json(render::member(&m)).into_response())
}

async fn show_member(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((id, member)): Path<(String, String)>,
) -> GlanceResult {
    Ok(Json(render::member(&app.get_image_member(&c, &id, &member).await?)).into_response())
}

async fn update_member(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((id, member)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let update = UpdateMember::try_from(parse_json::<Value>(&body)?)?;
    Ok(Json(render::member(
        &app.update_image_member(&c, &id, &member, update.status).await?,
    ))
    .into_response())
}

async fn delete_member(
    State(app): State<AppState>,
    Authed(c, ..): GlanceCaller,
    Path((id, member)): Path<(String, String)>,
) -> GlanceResult {
    app.delete_image_member(&c, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn deactivate(State(app): State<AppState>, Authed(c, ..): GlanceCaller, Path(id): Path<String>) -> GlanceResult {
    app.set_image_active(&c, &id, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v2/images/{id}/tasks` (API 2.12): the image's import tasks. Ciel offers no
/// import methods (`/v2/info/import` lists none), so an image never has any.
async fn image_tasks(State(app): State<AppState>, Authed(c, ..): GlanceCaller, Path(id): Path<String>) -> GlanceResult {
    app.get_image(&c, &id).await?;
    Ok(Json(json!({ "tasks": [] })).into_response())
}

async fn reactivate(State(app): State<AppState>, Authed(c, ..): GlanceCaller, Path(id): Path<String>) -> GlanceResult {
    app.set_image_active(&c, &id, true).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn schema(Authed(..): GlanceCaller, Path(name): Path<String>) -> GlanceResult {
    let s = match name.as_str() {
        "image" => schemas::image(),
        "images" => schemas::images(),
        "member" => schemas::member(),
        "members" => schemas::members(),
        _ => {
            return Err(Error::NotFound {
                kind: "schema",
                id: name,
            }
            .into())
        }
    };
    Ok(Json(s).into_response())
}

/// The interoperable import methods; Ciel takes data by `PUT /file` only.
async fn import_info(Authed(..): GlanceCaller) -> GlanceResult {
    Ok(
        Json(json!({"import-methods": {"description": "Import methods available.", "type": "array", "value": []}}))
            .into_response(),
    )
}

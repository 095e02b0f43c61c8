//! `/volumes`: create, list (filters, sorting, paging), show, update, delete, metadata and
//! the `action` calls (extend, bootable, readonly, reset-status).

use super::{
    base_url, empty, metadata_filter, page, param, query, time, time_opt, CResult, CinderCaller, Microversion, Params,
};
use crate::app::keyset::{self, Chunk};
use crate::app::volume::params::{CreateVolume, UpdateVolume, VolumeAction};
use crate::app::volume::views::Related as View;
use crate::db::volume::{AttachmentStatus, Volume};
use crate::error::Error;
use crate::http::compute::request_id::RequestId;
use crate::http::{parse_json, wrapped, AppState};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn links(base: &str, id: &str) -> Value {
    json!([{"rel": "self", "href": format!("{base}/volumes/{id}")},
           {"rel": "bookmark", "href": format!("{base}/volumes/{id}")}])
}

/// Cinder's volume at 3.0; `detail` adds the attributes create/update omit.
fn render(v: &Volume, view: &View, base: &str, detail: bool, admin: bool, mv: Microversion) -> Value {
    let mut md = crate::app::volume::parse_map(&v.metadata);
    if let Some(r) = v.read_only {
        md.insert("readonly".into(), if r { "True" } else { "False" }.into());
    }
    let attachments: Vec<Value> = view
        .attachment
        .iter()
        .filter(|a| a.status != AttachmentStatus::Attaching)
        .map(|a| {
            json!({"server_id": a.server_id, "attachment_id": a.id, "attached_at": time(a.created_at),
                   "host_name": view.server_host, "volume_id": v.id, "device": a.device, "id": v.id})
        })
        .collect();
    let mut out = json!({
        "id": v.id, "name": v.name, "description": v.description, "status": v.status, "size": v.size,
        "availability_zone": v.availability_zone, "created_at": time(v.created_at),
        "updated_at": time_opt(v.updated_at), "attachments": attachments, "links": links(base, &v.id),
        "metadata": md, "bootable": if v.bootable { "true" } else { "false" }, "encrypted": false,
        "multiattach": false, "replication_status": null, "consistencygroup_id": null, "user_id": v.user_id,
        "volume_type": view.type_name, "snapshot_id": v.snapshot_id, "source_volid": v.source_volid,
        "migration_status": if admin { view.migration_status } else { None },
    });
    if mv >= Microversion(13) {
        out["group_id"] = json!(view.group_id);
    }
    if detail {
        out["os-vol-tenant-attr:tenant_id"] = json!(v.project_id);
        out["os-vol-mig-status-attr:migstat"] = json!(if admin { view.migration_status } else { None });
        out["os-vol-mig-status-attr:name_id"] = Value::Null;
        if admin {
            out["os-vol-host-attr:host"] =
                json!(view.volume_host.as_ref().map(|h| format!("{h}@{b}#{b}", b = v.backend)));
        }
        let im = crate::app::volume::parse_map(&v.image_metadata);
        if !im.is_empty() {
            out["volume_image_metadata"] = json!(im);
        }
    }
    out
}

/// Cinder's `osapi_max_limit`: the most volumes one listing answers with.
const MAX_LIMIT: usize = 1000;

async fn view(app: &AppState, v: &Volume) -> Result<View, Error> {
    Ok(app.volume_related(std::slice::from_ref(v)).await?.remove(0))
}

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RequestId(req): RequestId,
    body: Bytes,
) -> CResult {
    let b = CreateVolume::try_from(wrapped(&body, "volume")?)?;
    let v = app.create_volume(&c, b, &req).await?;
    let base = base_url(&app, &h, Some(p.get("project_id")));
    let vw = view(&app, &v).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"volume": render(&v, &vw, &base, false, false, mv)})),
    )
        .into_response())
}
use crate::http::Authed;

async fn listing(
    app: &AppState,
    c: &crate::app::identity::caller::Caller,
    h: &HeaderMap,
    p: &Params,
    raw: Option<&str>,
    detail: bool,
    mv: Microversion,
) -> CResult {
    let mut q = query(raw)?;
    // At most Cinder's `osapi_max_limit` (1,000) volumes a page, asked for or not.
    let limit = match param(&q, "limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| Error::bad_request(format!("Invalid limit: {l}")))?
            .min(MAX_LIMIT),
        None => MAX_LIMIT,
    };
    q.retain(|(k, _)| k != "limit");
    q.push(("limit".into(), limit.to_string()));
    let all = param(&q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let md = param(&q, "metadata").map(metadata_filter).transpose()?;
    let keep = |v: &Volume| {
        param(&q, "name")
            .or(param(&q, "display_name"))
            .is_none_or(|n| v.name.as_deref() == Some(n))
            && param(&q, "status").is_none_or(|s| v.status.as_str() == s)
            && param(&q, "availability_zone").is_none_or(|z| v.availability_zone == z)
            && param(&q, "bootable").is_none_or(|b| v.bootable == matches!(b, "true" | "True" | "1"))
            && param(&q, "project_id").is_none_or(|pid| v.project_id == pid)
            && md.as_ref().is_none_or(|m| {
                let have = crate::app::volume::parse_map(&v.metadata);
                m.iter().all(|(k, val)| have.get(k) == Some(val))
            })
    };
    let default_order = ["sort", "sort_key", "sort_dir", "offset"]
        .iter()
        .all(|k| param(&q, k).is_none());
    let vols = if default_order {
        // Newest first, Cinder's default: read from an index after the marker, a chunk at
        // a time, until one more than the page passes the filters.
        let after = match param(&q, "marker") {
            Some(m) => Some(
                match app.get_volume(c, m).await {
                    Ok(v) => Some(v),
                    Err(Error::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                }
                .filter(|v| (all && c.is_admin()) || c.project_id() == Some(v.project_id.as_str()))
                .filter(|v| keep(v))
                .map(|v| (v.created_at, v.id.to_string()))
                .ok_or_else(|| Error::not_found("marker", m))?,
            ),
            None => None,
        };
        let vols = keyset::fill(
            limit,
            after,
            |after: Option<(i64, String)>, n| async move {
                let rows = app
                    .volume_page(c, all, after.as_ref().map(|(t, i)| (*t, i.as_str())), n)
                    .await?;
                Ok::<_, Error>(Chunk::of(rows, n, |v| (v.created_at, v.id.to_string())))
            },
            &keep,
        )
        .await?;
        // The page starts after the marker already.
        q.retain(|(k, _)| k != "marker");
        vols
    } else {
        let mut vols = app.list_volumes(c, all).await?;
        vols.reverse(); // Cinder's default order: newest first.
        vols.retain(|v| keep(v));
        vols
    };
    let base = base_url(app, h, Some(p.get("project_id")));
    let path = if detail { "volumes/detail" } else { "volumes" };
    let (vols, next) = page(
        vols,
        &q,
        |v| v.id.as_str(),
        |v, k| match k {
            "id" => Some(v.id.to_string()),
            "name" => v.name.clone(),
            "status" => Some(v.status.to_string()),
            "size" => Some(format!("{:020}", v.size)),
            "created_at" => Some(format!("{:020}", v.created_at)),
            "updated_at" => v.updated_at.map(|t| format!("{t:020}")),
            _ => None,
        },
        &format!("{base}/{path}"),
    )?;
    let items: Vec<Value> = if detail {
        let admin = c.may("volume:volumes:host_attribute");
        let related = app.volume_related(&vols).await?;
        vols.iter()
            .zip(&related)
            .map(|(v, vw)| render(v, vw, &base, true, admin, mv))
            .collect()
    } else {
        vols.iter()
            .map(|v| json!({"id": v.id, "name": v.name, "links": links(&base, &v.id)}))
            .collect()
    };
    let mut body = json!({ "volumes": items });
    if let Some(n) = next {
        body["volumes_links"] = json!([{"rel": "next", "href": n}]);
    }
    Ok(Json(body).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, &h, &p, raw.as_deref(), false, mv).await
}

pub async fn detail(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    listing(&app, &c, &h, &p, raw.as_deref(), true, mv).await
}

/// `GET /volumes/summary` (3.12): how many volumes the caller sees and their total size;
/// from 3.36 also every metadata key with its values.
pub async fn summary(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    RawQuery(raw): RawQuery,
) -> CResult {
    if mv.0 < 12 {
        return Err(Error::not_found("Volume", "summary").into());
    }
    let q = query(raw.as_deref())?;
    let all = param(&q, "all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let s = app.volume_summary(&c, all).await?;
    let mut body = json!({"total_count": s.count, "total_size": s.size});
    if mv.0 >= 36 {
        body["metadata"] = json!(s.metadata);
    }
    Ok(Json(json!({ "volume-summary": body })).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
) -> CResult {
    let v = app.get_volume(&c, p.get("id")).await?;
    let base = base_url(&app, &h, Some(p.get("project_id")));
    let vw = view(&app, &v).await?;
    Ok(
        Json(json!({"volume": render(&v, &vw, &base, true, c.may("volume:volumes:host_attribute"), mv)}))
            .into_response(),
    )
}

pub async fn update(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    mv: Microversion,
    h: HeaderMap,
    p: Params,
    body: Bytes,
) -> CResult {
    let b = UpdateVolume::try_from(wrapped(&body, "volume")?)?;
    let v = app.update_volume(&c, p.get("id"), b).await?;
    let base = base_url(&app, &h, Some(p.get("project_id")));
    let vw = view(&app, &v).await?;
    Ok(Json(json!({"volume": render(&v, &vw, &base, false, false, mv)})).into_response())
}

pub async fn delete(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    RawQuery(raw): RawQuery,
) -> CResult {
    let q = query(raw.as_deref())?;
    let flag = |k: &str| param(&q, k).is_some_and(|v| matches!(v, "true" | "True" | "1"));
    app.delete_volume(&c, p.get("id"), flag("cascade"), flag("force"))
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn action(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params, body: Bytes) -> CResult {
    let action = VolumeAction::from_body(parse_json(&body)?)?;
    let id = p.get("id");
    match action {
        VolumeAction::Extend { new_size } => {
            app.extend_volume(&c, id, new_size).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::SetBootable { bootable } => {
            app.set_volume_flag(&c, id, Some(bootable), None).await?;
            Ok(empty(StatusCode::OK))
        }
        VolumeAction::UpdateReadonlyFlag { readonly } => {
            app.set_volume_flag(&c, id, None, Some(readonly)).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::ResetStatus { status } => {
            app.reset_volume_status(&c, id, &status).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::Bookkeeping(step) => {
            app.volume_bookkeeping(&c, id, step).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::Attach {
            instance_uuid,
            mountpoint,
        } => {
            app.attach_volume_from_cinder(&c, id, &instance_uuid, mountpoint)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::Detach => {
            app.detach_volume_from_cinder(&c, id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::ForceDelete => {
            app.force_delete_volume(&c, id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::ForceDetach => {
            app.force_detach_volume(&c, id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::Retype {
            new_type,
            migration_policy,
        } => {
            app.retype_volume(&c, id, &new_type, migration_policy).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::Migrate(m) => {
            app.migrate_volume(&c, id, m).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        VolumeAction::SetImageMetadata { metadata } => {
            let out = app.change_volume_image_metadata(&c, id, metadata, None).await?;
            Ok(Json(json!({ "metadata": out })).into_response())
        }
        VolumeAction::UnsetImageMetadata { key } => {
            app.change_volume_image_metadata(&c, id, Default::default(), Some(&key))
                .await?;
            Ok(empty(StatusCode::OK))
        }
        VolumeAction::ShowImageMetadata => {
            let v = app.get_volume(&c, id).await?;
            Ok(Json(json!({"metadata": crate::app::volume::parse_map(&v.image_metadata)})).into_response())
        }
        VolumeAction::UploadImage(upload) => {
            let u = app.upload_volume_to_image(&c, id, upload).await?;
            let v = &u.volume;
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"os-volume_upload_image": {
                    "id": v.id, "updated_at": time_opt(v.updated_at), "status": v.status,
                    "display_description": v.description, "size": v.size, "volume_type": null,
                    "image_id": u.image_id, "container_format": u.container_format,
                    "disk_format": u.disk_format, "image_name": u.image_name}})),
            )
                .into_response())
        }
    }
}

//! Cinder v3 at `/volume` (catalog types `block-storage` and `volumev3`, `/volume/v3`):
//! version discovery, volumes, snapshots, volume types, attachments (3.27+), quotas, limits,
//! availability zones, transfers, backups, QoS specs, user messages, generic volume groups
//! (group types, groups, group snapshots), and the admin views of services, pools, hosts
//! and backend capabilities.
//! Every resource is served both below `/v3/{project_id}` (the classic URL) and `/v3`
//! (project from the token, as Cinder 3.67 allows). Microversions 3.0–3.57 are accepted
//! (`OpenStack-API-Version: volume X.Y`, echoed); bodies carry what those versions add.

mod attachments;
mod backups;
mod group_types;
mod groups;
mod messages;
mod metadata;
mod qos;
mod services;
mod snapshots;
mod transfers;
mod types;
mod volumes;

use crate::app::volume::params::{QuotaClassSet, QuotaSet};
use crate::error::Error;
use crate::http::compute::error::NovaError as CinderError;
use crate::http::routes::{get, post, put, Routes};
use crate::http::{AppState, Authed};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use metadata::{OfSnapshot, OfVolume};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The authenticated caller of a Cinder route (its errors rendered as Cinder's).
type CinderCaller = Authed<CinderError>;
type CResult<T = Response> = Result<T, CinderError>;

/// The highest microversion served (3.57: volume transfers with snapshots, 3.55, and their
/// source/destination projects).
pub const VERSION: &str = "3.57";
const MAX_MINOR: u16 = 57;

/// The negotiated microversion's minor number (3.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u16);

impl<S: Send + Sync> FromRequestParts<S> for Microversion {
    type Rejection = CinderError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, CinderError> {
        Ok(parts
            .extensions
            .get::<Microversion>()
            .copied()
            .unwrap_or(Microversion(0)))
    }
}

/// The requested volume microversion: None when absent, Err when malformed or out of range.
fn requested(headers: &HeaderMap) -> Result<Option<Microversion>, String> {
    let Some(v) = headers.get_all("openstack-api-version").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.split(',').find_map(|part| {
            let mut w = part.split_whitespace();
            w.next()?
                .eq_ignore_ascii_case("volume")
                .then(|| w.next().unwrap_or("").to_string())
        })
    }) else {
        return Ok(None);
    };
    if v == "latest" {
        return Ok(Some(Microversion(MAX_MINOR)));
    }
    let (major, minor) = v.split_once('.').ok_or_else(|| format!("Invalid API version {v}"))?;
    let minor: u16 = minor.parse().map_err(|_| format!("Invalid API version {v}"))?;
    if major != "3" || minor > MAX_MINOR {
        return Err(format!(
            "Version {v} is not supported by the API. Minimum is 3.0 and maximum is {VERSION}."
        ));
    }
    Ok(Some(Microversion(minor)))
}

pub fn router() -> Routes<CinderError> {
    let api = Routes::<CinderError>::new()
        .route(
            "/volumes",
            get("volume:volumes:list", volumes::list).post("volume:volumes:create", volumes::create),
        )
        .route("/volumes/detail", get("volume:volumes:detail", volumes::detail))
        .route("/volumes/summary", get("volume:volumes:summary", volumes::summary))
        .route(
            "/volumes/",
            get("volume:volumes:not_found", not_found)
                .put("volume:volumes:not_found", not_found)
                .delete("volume:volumes:not_found", not_found),
        )
        .route(
            "/volumes/{id}",
            get("volume:volumes:show", volumes::show)
                .put("volume:volumes:update", volumes::update)
                .delete("volume:volumes:delete", volumes::delete),
        )
        .route("/volumes/{id}/action", post("volume:volumes:action", volumes::action))
        .route(
            "/volumes/{id}/metadata",
            get("volume:volume_metadata:show", metadata::show::<OfVolume>)
                .post("volume:volume_metadata:merge", metadata::merge::<OfVolume>)
                .put("volume:volume_metadata:replace", metadata::replace::<OfVolume>),
        )
        .route(
            "/volumes/{id}/metadata/{key}",
            get("volume:volume_metadata:item", metadata::item::<OfVolume>)
                .put("volume:volume_metadata:put_item", metadata::put_item::<OfVolume>)
                .delete("volume:volume_metadata:delete_item", metadata::delete_item::<OfVolume>),
        )
        .route(
            "/snapshots",
            get("volume:snapshots:list", snapshots::list).post("volume:snapshots:create", snapshots::create),
        )
        .route("/snapshots/detail", get("volume:snapshots:detail", snapshots::detail))
        .route(
            "/snapshots/{id}",
            get("volume:snapshots:show", snapshots::show)
                .put("volume:snapshots:update", snapshots::update)
                .delete("volume:snapshots:delete", snapshots::delete),
        )
        .route(
            "/snapshots/{id}/action",
            post("volume:snapshots:action", snapshots::action),
        )
        .route(
            "/snapshots/{id}/metadata",
            get("volume:snapshot_metadata:show", metadata::show::<OfSnapshot>)
                .post("volume:snapshot_metadata:merge", metadata::merge::<OfSnapshot>)
                .put("volume:snapshot_metadata:replace", metadata::replace::<OfSnapshot>),
        )
        .route(
            "/snapshots/{id}/metadata/{key}",
            get("volume:snapshot_metadata:item", metadata::item::<OfSnapshot>)
                .put("volume:snapshot_metadata:put_item", metadata::put_item::<OfSnapshot>)
                .delete(
                    "volume:snapshot_metadata:delete_item",
                    metadata::delete_item::<OfSnapshot>,
                ),
        )
        .route(
            "/types",
            get("volume:types:list", types::list).post("volume:types:create", types::create),
        )
        .route("/types/default", get("volume:types:show_default", types::show_default))
        .route(
            "/types/{id}",
            get("volume:types:show", types::show)
                .put("volume:types:update", types::update)
                .delete("volume:types:delete", types::delete),
        )
        .route("/types/{id}/action", post("volume:types:action", types::action))
        .route(
            "/types/{id}/os-volume-type-access",
            get("volume:types:access", types::access),
        )
        .route(
            "/types/{id}/extra_specs",
            get("volume:types:extra_specs", types::extra_specs)
                .post("volume:types:set_extra_specs", types::set_extra_specs),
        )
        .route(
            "/types/{id}/extra_specs/{key}",
            get("volume:types:extra_spec", types::extra_spec)
                .put("volume:types:put_extra_spec", types::put_extra_spec)
                .delete("volume:types:delete_extra_spec", types::delete_extra_spec),
        )
        .route(
            "/types/{id}/encryption",
            get("volume:types:encryption", types::encryption)
                .post("volume:types:create_encryption", types::create_encryption),
        )
        .route(
            "/types/{id}/encryption/{key}",
            get("volume:types:encryption_spec", types::encryption_spec)
                .put("volume:types:update_encryption", types::update_encryption)
                .delete("volume:types:delete_encryption", types::delete_encryption),
        )
        .route(
            "/attachments",
            get("volume:attachments:list", attachments::list).post("volume:attachments:create", attachments::create),
        )
        .route(
            "/attachments/detail",
            get("volume:attachments:detail", attachments::detail),
        )
        .route(
            "/attachments/{id}",
            get("volume:attachments:show", attachments::show)
                .put("volume:attachments:update", attachments::update)
                .delete("volume:attachments:delete", attachments::delete),
        )
        .route(
            "/attachments/{id}/action",
            post("volume:attachments:action", attachments::action),
        )
        .route(
            "/os-volume-transfer",
            get("volume:transfers:list", transfers::list).post("volume:transfers:create", transfers::create),
        )
        .route(
            "/os-volume-transfer/detail",
            get("volume:transfers:list", transfers::detail),
        )
        .route(
            "/os-volume-transfer/{id}",
            get("volume:transfers:show", transfers::show).delete("volume:transfers:delete", transfers::delete),
        )
        .route(
            "/os-volume-transfer/{id}/accept",
            post("volume:transfers:accept", transfers::accept),
        )
        .route(
            "/volume-transfers",
            get("volume:transfers:list", transfers::list).post("volume:transfers:create", transfers::create),
        )
        .route(
            "/volume-transfers/detail",
            get("volume:transfers:list", transfers::detail),
        )
        .route(
            "/volume-transfers/{id}",
            get("volume:transfers:show", transfers::show).delete("volume:transfers:delete", transfers::delete),
        )
        .route(
            "/volume-transfers/{id}/accept",
            post("volume:transfers:accept", transfers::accept),
        )
        .route(
            "/backups",
            get("volume:backups:list", backups::list).post("volume:backups:create", backups::create),
        )
        .route("/backups/detail", get("volume:backups:detail", backups::list_detail))
        .route(
            "/backups/import_record",
            post("volume:backups:import_record", backups::import_record),
        )
        .route(
            "/backups/{id}",
            get("volume:backups:show", backups::show)
                .put("volume:backups:update", backups::update)
                .delete("volume:backups:delete", backups::delete),
        )
        .route(
            "/backups/{id}/restore",
            post("volume:backups:restore", backups::restore),
        )
        .route("/backups/{id}/action", post("volume:backups:action", backups::action))
        .route(
            "/backups/{id}/export_record",
            get("volume:backups:export_record", backups::export_record),
        )
        .route(
            "/qos-specs",
            get("volume:qos_specs:list", qos::list).post("volume:qos_specs:create", qos::create),
        )
        .route(
            "/qos-specs/{id}",
            get("volume:qos_specs:show", qos::show)
                .put("volume:qos_specs:update", qos::set_keys)
                .delete("volume:qos_specs:delete", qos::delete),
        )
        .route(
            "/qos-specs/{id}/delete_keys",
            put("volume:qos_specs:update", qos::delete_keys),
        )
        .route(
            "/qos-specs/{id}/associate",
            get("volume:qos_specs:associate", qos::associate),
        )
        .route(
            "/qos-specs/{id}/disassociate",
            get("volume:qos_specs:disassociate", qos::disassociate),
        )
        .route(
            "/qos-specs/{id}/disassociate_all",
            get("volume:qos_specs:disassociate_all", qos::disassociate_all),
        )
        .route(
            "/qos-specs/{id}/associations",
            get("volume:qos_specs:associations", qos::associations),
        )
        .route(
            "/group_types",
            get("volume:group_types:list", group_types::list).post("volume:group_types:create", group_types::create),
        )
        .route(
            "/group_types/{id}",
            get("volume:group_types:show", group_types::show)
                .put("volume:group_types:update", group_types::update)
                .delete("volume:group_types:delete", group_types::delete),
        )
        .route(
            "/group_types/{id}/group_specs",
            get("volume:group_types:specs", group_types::specs)
                .post("volume:group_types:set_specs", group_types::set_specs),
        )
        .route(
            "/group_types/{id}/group_specs/{key}",
            get("volume:group_types:spec", group_types::spec)
                .put("volume:group_types:put_spec", group_types::put_spec)
                .delete("volume:group_types:delete_spec", group_types::delete_spec),
        )
        .route(
            "/groups",
            get("volume:groups:list", groups::list).post("volume:groups:create", groups::create),
        )
        .route("/groups/detail", get("volume:groups:detail", groups::detail))
        .route(
            "/groups/action",
            post("volume:groups:create_from_src", groups::create_from_src),
        )
        .route(
            "/groups/{id}",
            get("volume:groups:show", groups::show).put("volume:groups:update", groups::update),
        )
        .route("/groups/{id}/action", post("volume:groups:action", groups::action))
        .route(
            "/group_snapshots",
            get("volume:group_snapshots:list", groups::list_snapshots)
                .post("volume:group_snapshots:create", groups::create_snapshot),
        )
        .route(
            "/group_snapshots/detail",
            get("volume:group_snapshots:detail", groups::detail_snapshots),
        )
        .route(
            "/group_snapshots/{id}",
            get("volume:group_snapshots:show", groups::show_snapshot)
                .delete("volume:group_snapshots:delete", groups::delete_snapshot),
        )
        .route(
            "/group_snapshots/{id}/action",
            post("volume:group_snapshots:action", groups::snapshot_action),
        )
        .route("/messages", get("volume:messages:list", messages::list))
        .route(
            "/messages/{id}",
            get("volume:messages:show", messages::show).delete("volume:messages:delete", messages::delete),
        )
        .route("/os-services", get("volume:services:list", services::list_services))
        .route(
            "/os-services/{action}",
            put("volume:services:update", services::update_service),
        )
        .route(
            "/scheduler-stats/get_pools",
            get("volume:scheduler_stats:get_pools", services::pools),
        )
        .route("/os-hosts", get("volume:hosts:list", services::hosts))
        .route("/os-hosts/{host}", get("volume:hosts:show", services::host))
        .route(
            "/capabilities/{host}",
            get("volume:capabilities:show", services::capabilities_of),
        )
        .route("/os-availability-zone", get("volume:availability_zones:list", zones))
        .route("/extensions", get("volume:extensions:list", extensions))
        .route("/limits", get("volume:limits:show", limits))
        .route(
            "/os-quota-sets/{project}",
            get("volume:quotas:show", quota)
                .put("volume:quotas:update", set_quota)
                .delete("volume:quotas:delete", reset_quota),
        )
        .route(
            "/os-quota-sets/{project}/defaults",
            get("volume:quotas:defaults", quota_defaults),
        )
        .route(
            "/os-quota-class-sets/{class}",
            get("volume:quota_classes:show", quota_class).put("volume:quota_classes:update", set_quota_class),
        );
    Routes::new()
        .route("/", get("volume:versions", versions))
        .route("/v3", get("volume:version", version))
        .route("/v3/", get("volume:version", version))
        .nest("/v3", api.clone())
        .nest("/v3/{project_id}", api)
        .map(|r| {
            r.layer(axum::middleware::from_fn(stamp_version))
                .layer(axum::middleware::from_fn(crate::http::compute::request_id::stamp))
        })
}

/// Negotiates the microversion; every answer names the one it was rendered at.
async fn stamp_version(mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let v = match requested(req.headers()) {
        Ok(v) => v.unwrap_or(Microversion(0)),
        Err(msg) => {
            return (
                StatusCode::NOT_ACCEPTABLE,
                Json(json!({"computeFault": {"code": 406, "message": msg}})),
            )
                .into_response()
        }
    };
    req.extensions_mut().insert(v);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if let Ok(val) = HeaderValue::from_str(&format!("volume 3.{}", v.0)) {
        h.insert("openstack-api-version", val);
    }
    h.insert("vary", HeaderValue::from_static("OpenStack-API-Version"));
    resp
}

async fn not_found() -> CResult {
    Err(Error::not_found("volume", "").into())
}

/// Path parameters by name (the same handlers serve URLs with and without a project id).
pub struct Params(HashMap<String, String>);

impl Params {
    fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or("")
    }
}

impl FromRequestParts<AppState> for Params {
    type Rejection = CinderError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, CinderError> {
        let axum::extract::Path(m) = axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, s)
            .await
            .map_err(|e| CinderError(Error::bad_request(e.to_string())))?;
        Ok(Params(m))
    }
}

/// Base URL of the volume API as the client called it (links and next pages point there).
pub fn base_url(app: &AppState, headers: &HeaderMap, project: Option<&str>) -> String {
    let root = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| app.cfg.public_url.clone());
    match project {
        Some(p) if !p.is_empty() => format!("{root}/volume/v3/{p}"),
        _ => format!("{root}/volume/v3"),
    }
}

fn version_doc(app: &AppState, headers: &HeaderMap) -> Value {
    json!({
        "id": "v3.0", "status": "CURRENT", "version": VERSION, "min_version": "3.0",
        "updated": "2016-02-08T12:20:21Z",
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": format!("{}/", base_url(app, headers, None))}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}]
    })
}

pub async fn versions(State(app): State<AppState>, headers: HeaderMap) -> Response {
    (
        StatusCode::MULTIPLE_CHOICES,
        Json(json!({"versions": [version_doc(&app, &headers)]})),
    )
        .into_response()
}

async fn version(State(app): State<AppState>, headers: HeaderMap) -> Response {
    Json(json!({"versions": [version_doc(&app, &headers)]})).into_response()
}

async fn zones(Authed(..): CinderCaller) -> CResult {
    Ok(Json(
        json!({"availabilityZoneInfo": [{"zoneName": crate::app::volume::ZONE, "zoneState": {"available": true}}]}),
    )
    .into_response())
}

/// The extensions whose behaviour Ciel's volume API has.
const EXTENSIONS: &[(&str, &str, &str)] = &[
    (
        "os-availability-zone",
        "AvailabilityZones",
        "Describe Availability Zones.",
    ),
    (
        "os-extended-snapshot-attributes",
        "ExtendedSnapshotAttributes",
        "Extended SnapshotAttributes support.",
    ),
    ("os-quota-sets", "Quotas", "Quota management support."),
    (
        "os-snapshot-actions",
        "SnapshotActions",
        "Enable snapshot manager actions.",
    ),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    (
        "os-used-limits",
        "UsedLimits",
        "Provide data on limited resources that are being used.",
    ),
    (
        "os-vol-image-meta",
        "VolumeImageMetadata",
        "Show image metadata associated with the volume.",
    ),
    (
        "os-vol-tenant-attr",
        "VolumeTenantAttribute",
        "Expose the internal project_id as an attribute of a volume.",
    ),
    (
        "os-vol-host-attr",
        "VolumeHostAttribute",
        "Expose host as an attribute of a volume.",
    ),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
    (
        "os-volume-type-access",
        "VolumeTypeAccess",
        "Volume type access support.",
    ),
    ("os-admin-actions", "AdminActions", "Enable admin actions."),
    ("backups", "Backups", "Backups support."),
    (
        "os-backup-project-attr",
        "BackupProjectAttribute",
        "Expose project_id as an attribute of a backup.",
    ),
];

async fn extensions(Authed(..): CinderCaller) -> CResult {
    let list: Vec<Value> = EXTENSIONS
        .iter()
        .map(|(alias, name, description)| {
            json!({"alias": alias, "name": name, "description": description, "links": [],
                   "updated": "2013-04-18T00:00:00+00:00"})
        })
        .collect();
    Ok(Json(json!({"extensions": list})).into_response())
}

async fn limits(State(app): State<AppState>, Authed(c, ..): CinderCaller) -> CResult {
    let project = crate::app::volume::own_project(&c)?;
    let q = app.volume_quota(&c, &project).await?;
    let (v, s, gb) = app.volume_quota_usage(&c, &project).await?;
    let (b, bgb) = app.backup_usage(&project).await?;
    let l = |k: &str| q.get(k).copied().unwrap_or(-1);
    Ok(Json(json!({"limits": {"rate": [], "absolute": {
        "maxTotalVolumes": l("volumes"), "maxTotalSnapshots": l("snapshots"),
        "maxTotalVolumeGigabytes": l("gigabytes"), "maxTotalBackups": l("backups"),
        "maxTotalBackupGigabytes": l("backup_gigabytes"),
        "totalVolumesUsed": v, "totalSnapshotsUsed": s, "totalGigabytesUsed": gb,
        "totalBackupsUsed": b, "totalBackupGigabytesUsed": bgb}}}))
    .into_response())
}

fn query(raw: Option<&str>) -> Result<Vec<(String, String)>, Error> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| Error::bad_request(format!("Invalid query string: {e}")))
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

async fn quota(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> CResult {
    let project = p.get("project").to_string();
    let q = query(raw.as_deref())?;
    let limits = app.volume_quota(&c, &project).await?;
    let mut set = serde_json::Map::new();
    set.insert("id".into(), json!(project));
    if param(&q, "usage").is_some_and(|u| u.eq_ignore_ascii_case("true")) {
        let used = app.volume_quota_in_use(&c, &project).await?;
        for (k, limit) in &limits {
            let in_use = used.get(k).copied().unwrap_or(0);
            set.insert(
                k.clone(),
                json!({"limit": limit, "in_use": in_use, "reserved": 0, "allocated": 0}),
            );
        }
    } else {
        for (k, limit) in limits {
            set.insert(k, json!(limit));
        }
    }
    Ok(Json(json!({ "quota_set": set })).into_response())
}

async fn quota_defaults(State(app): State<AppState>, Authed(..): CinderCaller, p: Params) -> CResult {
    let mut set = serde_json::Map::new();
    set.insert("id".into(), json!(p.get("project")));
    for (k, v) in app.volume_quota_defaults().await? {
        set.insert(k, json!(v));
    }
    Ok(Json(json!({ "quota_set": set })).into_response())
}

async fn quota_class(State(app): State<AppState>, Authed(..): CinderCaller, p: Params) -> CResult {
    let mut set = serde_json::Map::new();
    set.insert("id".into(), json!(p.get("class")));
    for (k, v) in app.volume_quota_defaults().await? {
        set.insert(k, json!(v));
    }
    Ok(Json(json!({ "quota_class_set": set })).into_response())
}

async fn set_quota_class(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: axum::body::Bytes,
) -> CResult {
    let values = QuotaClassSet::try_from(crate::http::wrapped(&body, "quota_class_set")?)?.0;
    let out = app.set_volume_quota_class(&c, p.get("class"), values).await?;
    Ok(Json(json!({ "quota_class_set": out })).into_response())
}

async fn set_quota(
    State(app): State<AppState>,
    Authed(c, ..): CinderCaller,
    p: Params,
    body: axum::body::Bytes,
) -> CResult {
    let values = QuotaSet::try_from(crate::http::wrapped(&body, "quota_set")?)?.0;
    let limits = app.set_volume_quota(&c, p.get("project"), values).await?;
    Ok(Json(json!({ "quota_set": limits })).into_response())
}

async fn reset_quota(State(app): State<AppState>, Authed(c, ..): CinderCaller, p: Params) -> CResult {
    app.reset_volume_quota(&c, p.get("project")).await?;
    Ok(StatusCode::OK.into_response())
}

/// Cinder's time format: microseconds, no zone.
pub fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000000")
        .to_string()
}

pub fn time_opt(secs: Option<i64>) -> Value {
    secs.map(|s| json!(time(s))).unwrap_or(Value::Null)
}

/// Empty-bodied answers (Tempest requires them empty).
pub fn empty(status: StatusCode) -> Response {
    status.into_response()
}

/// The attributes lists sort by.
const SORT_KEYS: &[&str] = &["id", "name", "status", "size", "created_at", "updated_at"];

/// Sorting, marker/offset/limit paging and the `next` link shared by the list calls.
/// `items` are in the default order (newest first); `key` gives an item's sort value.
pub fn page<T>(
    mut items: Vec<T>,
    q: &[(String, String)],
    id: impl Fn(&T) -> &str,
    key: impl Fn(&T, &str) -> Option<String>,
    next_base: &str,
) -> Result<(Vec<T>, Option<String>), Error> {
    let sort = param(q, "sort")
        .map(str::to_owned)
        .or_else(|| param(q, "sort_key").map(|k| format!("{k}:{}", param(q, "sort_dir").unwrap_or("desc"))));
    if let Some(sort) = sort {
        let mut keys = vec![];
        for part in sort.split(',') {
            let (k, dir) = part.split_once(':').unwrap_or((part, "desc"));
            let k = if k == "display_name" { "name" } else { k };
            if !SORT_KEYS.contains(&k) {
                return Err(Error::bad_request(format!("Invalid sort key: {k}")));
            }
            if !matches!(dir, "asc" | "desc") {
                return Err(Error::bad_request(format!("Invalid sort direction: {dir}")));
            }
            keys.push((k.to_string(), dir == "desc"));
        }
        items.sort_by(|a, b| {
            for (k, desc) in &keys {
                let o = key(a, k).cmp(&key(b, k));
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    if let Some(m) = param(q, "marker") {
        let pos = items
            .iter()
            .position(|i| id(i) == m)
            .ok_or_else(|| Error::not_found("marker", m))?;
        items.drain(..=pos);
    }
    if let Some(o) = param(q, "offset") {
        let o: usize = o
            .parse()
            .map_err(|_| Error::bad_request(format!("Invalid offset: {o}")))?;
        items.drain(..o.min(items.len()));
    }
    let mut next = None;
    if let Some(l) = param(q, "limit") {
        let l: usize = l
            .parse()
            .map_err(|_| Error::bad_request(format!("Invalid limit: {l}")))?;
        if items.len() > l {
            items.truncate(l);
        }
        if l > 0 && items.len() == l {
            if let Some(last) = items.last() {
                let mut pairs: Vec<(String, String)> = q
                    .iter()
                    .filter(|(k, _)| k != "marker" && k != "offset")
                    .cloned()
                    .collect();
                pairs.push(("marker".into(), id(last).to_string()));
                let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
                next = Some(format!("{next_base}?{qs}"));
            }
        }
    }
    Ok((items, next))
}

/// A `metadata` filter: Python-literal (`{'k': 'v'}`) or JSON object.
pub fn metadata_filter(raw: &str) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let json_like = raw.replace('\'', "\"");
    let v: Value =
        serde_json::from_str(&json_like).map_err(|_| Error::bad_request(format!("Invalid metadata filter: {raw}")))?;
    crate::app::volume::metadata(&v)
}

//! `GET /v2/images`: Glance's default visibility rules, filters, sorting and marker/limit paging.

use super::{owns, VISIBILITIES};
use crate::app::identity::caller::Caller;
use crate::app::keyset::{self, Chunk};
use crate::app::App;
use crate::db::image::{self, Image, MemberStatus};
use crate::error::{Error, Result};
use std::cmp::Ordering;
use std::collections::HashMap;

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 1000;

/// Query parameters of an image listing; repeated keys (`tag`, `sort_key`) keep every value.
#[derive(Debug, Default)]
pub struct ImageQuery {
    pub params: Vec<(String, String)>,
}

impl ImageQuery {
    fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    fn all(&self, key: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One page of images and whether a next page may exist.
pub struct Page {
    pub images: Vec<Image>,
    pub next_marker: Option<String>,
    pub limit: usize,
}

const SORT_KEYS: &[&str] = &[
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
    "visibility",
    "owner",
    "min_disk",
    "min_ram",
    "virtual_size",
];

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Error::bad_request(format!(
            "Invalid value '{v}' for '{key}': expected a boolean"
        ))),
    }
}

fn parse_i64(key: &str, v: &str) -> Result<i64> {
    v.parse()
        .map_err(|_| Error::bad_request(format!("Invalid value '{v}' for '{key}': expected an integer")))
}

/// Glance's `in:a,b` operator or an exact value.
fn value_matches(filter: &str, actual: Option<&str>) -> bool {
    match filter.strip_prefix("in:") {
        Some(list) => list.split(',').any(|x| Some(x) == actual),
        None => Some(filter) == actual,
    }
}

fn compare(a: &Image, b: &Image, key: &str) -> Ordering {
    fn opt<T: Ord>(x: &Option<T>, y: &Option<T>) -> Ordering {
        x.cmp(y)
    }
    match key {
        "name" => opt(&a.name, &b.name),
        "status" => a.status.as_str().cmp(b.status.as_str()),
        "container_format" => opt(&a.container_format, &b.container_format),
        "disk_format" => opt(&a.disk_format, &b.disk_format),
        "size" => opt(&a.size, &b.size),
        "virtual_size" => opt(&a.virtual_size, &b.virtual_size),
        "id" => a.id.cmp(&b.id),
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        "visibility" => a.visibility.cmp(&b.visibility),
        "owner" => opt(&a.owner, &b.owner),
        "min_disk" => a.min_disk.cmp(&b.min_disk),
        "min_ram" => a.min_ram.cmp(&b.min_ram),
        _ => a.created_at.cmp(&b.created_at),
    }
}

impl App {
    pub async fn list_images(&self, caller: &Caller, q: &ImageQuery) -> Result<Page> {
        let project = caller.project_id().unwrap_or_default().to_string();
        let memberships: HashMap<String, MemberStatus> =
            image::memberships_of(&self.db, &project).await?.into_iter().collect();
        let visibility = q.get("visibility");
        if let Some(v) = visibility {
            if v != "all" && !VISIBILITIES.contains(&v) {
                return Err(Error::bad_request(format!("Invalid visibility value: {v}")));
            }
        }
        // None: `all`.
        let member_status: Option<MemberStatus> = match q.get("member_status") {
            None => Some(MemberStatus::Accepted),
            Some("all") => None,
            Some(s) => Some(
                s.parse()
                    .map_err(|_| Error::bad_request(format!("Invalid member_status value: {s}")))?,
            ),
        };
        let os_hidden = match q.get("os_hidden") {
            Some(v) => Some(parse_bool("os_hidden", v)?),
            None => Some(false),
        };
        let protected = q.get("protected").map(|v| parse_bool("protected", v)).transpose()?;
        let size_min = q.get("size_min").map(|v| parse_i64("size_min", v)).transpose()?;
        let size_max = q.get("size_max").map(|v| parse_i64("size_max", v)).transpose()?;
        let size = q.get("size").map(|v| parse_i64("size", v)).transpose()?;
        let tags = q.all("tag");
        let reserved = [
            "limit",
            "marker",
            "sort_key",
            "sort_dir",
            "sort",
            "visibility",
            "member_status",
            "os_hidden",
            "protected",
            "size_min",
            "size_max",
            "size",
            "checksum",
            "tag",
            "name",
            "status",
            "owner",
            "container_format",
            "disk_format",
            "id",
        ];
        let prop_filters: Vec<(&str, &str)> = q
            .params
            .iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();

        let keep = |img: &Image| {
            let mine = owns(caller, img);
            let membership = memberships.get(img.id.as_str()).copied();
            let shared_ok = img.visibility == "shared"
                && membership.is_some_and(|s| member_status.is_none_or(|wanted| s == wanted));
            let visible = match visibility {
                None => mine || img.visibility == "public" || shared_ok,
                Some("all") => mine || matches!(img.visibility.as_str(), "public" | "community") || shared_ok,
                Some("shared") => {
                    img.visibility == "shared" && (shared_ok || (mine && q.get("member_status").is_none()))
                }
                Some(v) => img.visibility == v && (mine || v == "public" || v == "community"),
            };
            if !visible {
                return false;
            }
            let props = crate::app::json_input::extra_object(&img.properties);
            q.get("name").is_none_or(|f| value_matches(f, img.name.as_deref()))
                && q.get("status")
                    .is_none_or(|f| value_matches(f, Some(img.status.as_str())))
                && q.get("owner").is_none_or(|f| value_matches(f, img.owner.as_deref()))
                && q.get("id").is_none_or(|f| value_matches(f, Some(&img.id)))
                && q.get("container_format")
                    .is_none_or(|f| value_matches(f, img.container_format.as_deref()))
                && q.get("disk_format")
                    .is_none_or(|f| value_matches(f, img.disk_format.as_deref()))
                && os_hidden.is_none_or(|h| img.os_hidden == h)
                && protected.is_none_or(|p| img.protected == p)
                && size_min.is_none_or(|m| img.size.is_some_and(|s| s >= m))
                && size_max.is_none_or(|m| img.size.is_some_and(|s| s <= m))
                && size.is_none_or(|m| img.size == Some(m))
                && q.get("checksum")
                    .is_none_or(|f| value_matches(f, img.checksum.as_deref()))
                && tags.iter().all(|t| img.tag_list().iter().any(|x| x == t))
                && prop_filters
                    .iter()
                    .all(|(k, v)| props.get(*k).and_then(|x| x.as_str()) == Some(*v))
        };
        let limit = match q.get("limit") {
            Some(v) => {
                let n = parse_i64("limit", v)?;
                if n < 0 {
                    return Err(Error::bad_request("limit param must be positive"));
                }
                (n as usize).min(MAX_LIMIT)
            }
            None => DEFAULT_LIMIT,
        };
        let invalid_marker = |m: &str| Error::bad_request(format!("Invalid marker. Image {m} could not be found."));
        let default_order = q.get("sort").is_none() && q.all("sort_key").is_empty() && q.all("sort_dir").is_empty();
        let mut images: Vec<Image> = if default_order {
            // Newest first, Glance's default: read from the (created_at, id) index after the
            // marker, a chunk at a time, until one more than the page passes the filters.
            let after = match q.get("marker") {
                Some(m) => {
                    let img = image::get(&self.db, m)
                        .await?
                        .filter(|i| keep(i))
                        .ok_or_else(|| invalid_marker(m))?;
                    Some((img.created_at, img.id.to_string()))
                }
                None => None,
            };
            let db = &self.db;
            keyset::fill(
                limit,
                after,
                |after: Option<(i64, String)>, n| async move {
                    let rows = image::page(db, after.as_ref().map(|(t, i)| (*t, i.as_str())), n as i64).await?;
                    Ok::<_, Error>(Chunk::of(rows, n, |i| (i.created_at, i.id.to_string())))
                },
                &keep,
            )
            .await?
        } else {
            image::list(&self.db).await?.into_iter().filter(|i| keep(i)).collect()
        };

        // Sorting: `sort=k1:dir,k2` or `sort_key`/`sort_dir` pairs; created_at desc then id as tie-break.
        let mut keys: Vec<(String, bool)> = vec![];
        if let Some(sort) = q.get("sort") {
            for part in sort.split(',').filter(|s| !s.is_empty()) {
                let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
                keys.push((k.to_string(), parse_dir(d)?));
            }
        } else {
            let dirs = q.all("sort_dir");
            for (i, k) in q.all("sort_key").into_iter().enumerate() {
                let d = dirs.get(i).or(dirs.first()).copied().unwrap_or("desc");
                keys.push((k.to_string(), parse_dir(d)?));
            }
            if keys.is_empty() {
                keys.push(("created_at".into(), true));
            }
        }
        for (k, _) in &keys {
            if !SORT_KEYS.contains(&k.as_str()) {
                return Err(Error::bad_request(format!("Invalid sort key: {k}")));
            }
        }
        if !keys.iter().any(|(k, _)| k == "id") {
            let last_desc = keys.last().map(|(_, d)| *d).unwrap_or(true);
            keys.push(("id".into(), last_desc));
        }
        if !default_order {
            images.sort_by(|a, b| {
                keys.iter()
                    .map(|(k, desc)| if *desc { compare(b, a, k) } else { compare(a, b, k) })
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            });
            if let Some(marker) = q.get("marker") {
                let pos = images
                    .iter()
                    .position(|i| i.id == marker)
                    .ok_or_else(|| invalid_marker(marker))?;
                images.drain(..=pos);
            }
        }
        let more = images.len() > limit;
        images.truncate(limit);
        let next_marker = if more || (images.len() == limit && limit > 0) {
            images.last().map(|i| i.id.to_string())
        } else {
            None
        };
        Ok(Page {
            images,
            next_marker,
            limit,
        })
    }
}

fn parse_dir(d: &str) -> Result<bool> {
    match d {
        "desc" => Ok(true),
        "asc" => Ok(false),
        other => Err(Error::bad_request(format!("Invalid sort direction: {other}"))),
    }
}

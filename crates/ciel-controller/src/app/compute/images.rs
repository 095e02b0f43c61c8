//! Nova's image list filters (`/images?server=...&type=snapshot&status=ACTIVE...`) over the
//! image service's images.

use crate::app::identity::caller::Caller;
use crate::app::image::list::ImageQuery;
use crate::app::App;
use crate::db::image::{Image, ImageStatus};
use crate::error::{Error, Result};

/// The image statuses Nova shows, from the image service's.
pub fn nova_status(glance: ImageStatus) -> &'static str {
    match glance {
        ImageStatus::Active => "ACTIVE",
        ImageStatus::Queued | ImageStatus::Saving | ImageStatus::Importing | ImageStatus::Uploading => "SAVING",
        ImageStatus::Deleted | ImageStatus::PendingDelete => "DELETED",
        ImageStatus::Killed => "ERROR",
        ImageStatus::Deactivated => "UNKNOWN",
    }
}

#[derive(Default)]
pub struct ImageFilter {
    pub name: Option<String>,
    pub status: Option<String>,
    pub server: Option<String>,
    pub image_type: Option<String>,
    pub changes_since: Option<i64>,
    pub min_disk: Option<i64>,
    pub min_ram: Option<i64>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
}

fn prop(i: &Image, key: &str) -> Option<String> {
    let props: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&i.properties).unwrap_or_default();
    props.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

impl App {
    pub async fn nova_list_images(&self, caller: &Caller, f: &ImageFilter) -> Result<Vec<Image>> {
        let q = ImageQuery {
            params: vec![("limit".into(), crate::app::image::list::MAX_LIMIT.to_string())],
        };
        let mut list = self.list_images(caller, &q).await?.images;
        list.retain(|i| {
            f.name.as_ref().is_none_or(|n| i.name.as_ref() == Some(n))
                && f.status
                    .as_ref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(nova_status(i.status)))
                && f.server.as_ref().is_none_or(|s| {
                    let id = s.rsplit('/').next().unwrap_or_default();
                    prop(i, "instance_uuid").as_deref() == Some(id)
                })
                && f.image_type
                    .as_ref()
                    .is_none_or(|t| prop(i, "image_type").as_ref() == Some(t))
                && f.changes_since.is_none_or(|t| i.updated_at >= t)
                && f.min_disk.is_none_or(|d| i.min_disk >= d)
                && f.min_ram.is_none_or(|r| i.min_ram >= r)
        });
        if let Some(m) = &f.marker {
            let pos = list
                .iter()
                .position(|i| &i.id == m)
                .ok_or_else(|| Error::bad_request(format!("marker [{m}] not found")))?;
            list.drain(..=pos);
        }
        if let Some(l) = f.limit {
            list.truncate(l);
        }
        Ok(list)
    }
}

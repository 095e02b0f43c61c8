//! `os-volume_upload_image`: a volume's data as a new image. The image is made at once
//! (queued); the volume's host exports the volume in the requested format and the data
//! streams into the image store like any upload. The volume is `uploading` meanwhile and
//! returns to the status it had; a failed upload deletes the image.

use super::params::UploadImage;
use crate::app::identity::caller::Caller;
use crate::app::image::params::{CreateImage, ImageAttr};
use crate::app::App;
use crate::db::cluster::{self, work};
use crate::db::compute::hosts;
use crate::db::volume::{self as db, VolumeStatus};
use crate::error::{Error, Result};
use std::sync::Arc;

/// What the caller gets back: the image id and the request as Cinder echoes it.
pub struct Upload {
    pub image_id: String,
    pub image_name: String,
    pub disk_format: String,
    pub container_format: String,
    pub volume: crate::db::volume::Volume,
}

impl App {
    pub async fn upload_volume_to_image(self: &Arc<Self>, caller: &Caller, id: &str, p: UploadImage) -> Result<Upload> {
        let UploadImage {
            image_name: name,
            disk_format,
            container_format,
            force,
            visibility,
            protected,
        } = p;

        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        let previous = v.status;
        if !(previous == VolumeStatus::Available || (force && previous == VolumeStatus::InUse)) {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume {id} status must be available or in-use (with force), but current status is: {previous}."
            )));
        }
        let host = match &v.host_id {
            Some(h) => hosts::get(&mut *tx, h).await?,
            None => None,
        }
        .and_then(|h| h.agent_url.map(|u| (u, h.agent_secret)))
        .ok_or_else(|| Error::Conflict(format!("The host of volume {id} cannot be reached.")))?;
        let mut image = CreateImage::default()
            .with(ImageAttr::name(Some(name.clone()))?)
            .with(ImageAttr::disk_format(disk_format.clone())?)
            .with(ImageAttr::container_format(container_format.clone())?)
            .with(ImageAttr::MinDisk(v.size));
        for (k, val) in super::parse_map(&v.image_metadata) {
            if ["kernel_id", "ramdisk_id", "os_command_line", "os_type", "os_distro"].contains(&k.as_str()) {
                image = image.with(ImageAttr::property(&k, val)?);
            }
        }
        if let Some(vis) = visibility {
            image = image.with(ImageAttr::visibility(vis)?);
        }
        if let Some(p) = protected {
            image = image.with(ImageAttr::Protected(p));
        }
        v.status = VolumeStatus::Uploading;
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        let img = match self.create_image(caller, image).await {
            Ok(i) => i,
            Err(e) => {
                self.end_upload(id, previous).await.ok();
                return Err(e);
            }
        };
        // From here a controller that dies leaves a lease another one recovers.
        let detail = format!("{}:{}", img.id, previous.as_str());
        cluster::take_lease(&self.db, &self.lease(work::VOLUME_UPLOAD, id, &detail)).await?;

        let (app, caller, vid, image_id) = (self.clone(), caller.clone(), id.to_string(), img.id.clone());
        let (url, secret) = host;
        let fmt = disk_format.clone();
        let backend = v.backend.clone();
        let back_to = previous;
        tokio::spawn(async move {
            let source = format!("{url}/v1/volumes/{vid}/export?format={fmt}&backend={backend}");
            if let Err(e) = app.upload_from_agent(&caller, &source, &secret, &image_id).await {
                tracing::warn!(volume = %vid, image = %image_id, error = %e, "volume upload failed; deleting the image");
                app.delete_image(&caller, &image_id).await.ok();
            }
            if let Err(e) = app.end_upload(&vid, back_to).await {
                tracing::warn!(volume = %vid, error = %e, "cannot end the upload");
            }
        });
        v.status = VolumeStatus::Uploading;
        Ok(Upload {
            image_id: img.id.into_string(),
            image_name: name,
            disk_format,
            container_format,
            volume: v,
        })
    }

    /// Puts an uploading volume back to `status` (also for an upload whose controller died).
    pub(crate) async fn end_upload(&self, id: &str, status: VolumeStatus) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(mut v) = db::get(&mut *tx, id).await? {
            if v.status == VolumeStatus::Uploading {
                v.status = status;
                v.updated_at = Some(crate::db::now());
                db::update(&mut *tx, &v).await?;
            }
        }
        cluster::release(&mut *tx, work::VOLUME_UPLOAD, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

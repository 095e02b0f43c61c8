//! Image data: streamed, hashed, inspected uploads and (ranged) downloads.

use super::inspect::inspect;
use super::not_found;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::cluster::{self, work};
use crate::db::image::{self, Image, ImageStatus};
use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::Stream;
use std::path::PathBuf;

/// What a download serves: the image and its file.
pub struct Download {
    pub image: Image,
    /// None when the image has no data yet (Glance answers 204).
    pub path: Option<PathBuf>,
}

impl App {
    /// `PUT /v2/images/{id}/file`. The image goes queued → saving → active; any failure puts it
    /// back to queued with no data, so nothing half-written is ever visible.
    pub async fn upload_image<S, E>(&self, caller: &Caller, id: &str, data: S) -> Result<Image>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let img = self.image_for_write(caller, id).await?;
        let (Some(disk_format), Some(_)) = (img.disk_format.clone(), img.container_format.clone()) else {
            return Err(Error::bad_request(
                "Properties disk_format, container_format must be set prior to saving data.",
            ));
        };
        // Saving and its lease together: if this controller dies, another puts it back.
        let mut tx = self.begin().await?;
        if !image::transition(
            &mut *tx,
            id,
            &[ImageStatus::Queued],
            ImageStatus::Saving,
            crate::db::now(),
        )
        .await?
        {
            return Err(Error::conflict(format!(
                "Image status transition from {} to saving is not allowed",
                img.status
            )));
        }
        cluster::take_lease(&mut *tx, &self.lease(work::IMAGE_UPLOAD, id, "")).await?;
        tx.commit().await?;
        let received = self.receive(&img, &disk_format, data).await;
        cluster::release(&self.db, work::IMAGE_UPLOAD, id).await.ok();
        match received {
            Ok(done) => Ok(done),
            Err(e) => {
                image::transition(
                    &self.db,
                    id,
                    &[ImageStatus::Saving],
                    ImageStatus::Queued,
                    crate::db::now(),
                )
                .await
                .ok();
                Err(e)
            }
        }
    }

    async fn receive<S, E>(&self, img: &Image, disk_format: &str, data: S) -> Result<Image>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let cfg = &self.cfg.image;
        let owner = img.owner.clone().unwrap_or_default();
        let (_, used) = image::usage(&self.db, &owner).await?;
        let room = if cfg.max_bytes_per_project > 0 {
            cfg.max_bytes_per_project - used
        } else {
            i64::MAX
        };
        let limit = cfg.max_image_bytes.min(room);
        let staged = self
            .image_store
            .stage(&img.id, data, limit)
            .await
            .map_err(|e| match e {
                Error::RequestTooLarge(_) if room < cfg.max_image_bytes => Error::RequestTooLarge(format!(
                    "Image storage quota exceeded: project {owner} may store at most {} bytes.",
                    cfg.max_bytes_per_project
                )),
                other => other,
            })?;
        let inspected = match inspect(
            &cfg.qemu_img,
            &staged.path,
            disk_format,
            cfg.max_virtual_size,
            cfg.require_format_match,
        )
        .await
        {
            Ok(i) => i,
            Err(e) => {
                self.image_store.discard(&staged).await;
                return Err(e);
            }
        };
        // Publish the file, then flip the row; if the image was deleted meanwhile, drop the data.
        self.image_store.publish(&img.id, &staged).await?;
        let mut done = img.clone();
        done.status = ImageStatus::Active;
        done.size = Some(staged.size);
        done.virtual_size = Some(inspected.virtual_size);
        done.checksum = Some(staged.md5.clone());
        done.os_hash_algo = Some("sha512".into());
        done.os_hash_value = Some(staged.sha512.clone());
        done.updated_at = crate::db::now();
        if image::update(&self.db, &done).await.is_err() {
            self.image_store.delete(&img.id).await.ok();
            return Err(not_found(&img.id));
        }
        tracing::info!(image = %img.id, size = staged.size, format = %inspected.format, "image data stored");
        image::get(&self.db, &img.id).await?.ok_or_else(|| not_found(&img.id))
    }

    pub async fn download_image(&self, caller: &Caller, id: &str) -> Result<Download> {
        let img = self.image_for_read(caller, id).await?;
        match img.status {
            ImageStatus::Active => Ok(Download {
                path: Some(self.image_store.local_path(id).await?),
                image: img,
            }),
            ImageStatus::Deactivated if caller.is_admin() => Ok(Download {
                path: Some(self.image_store.local_path(id).await?),
                image: img,
            }),
            ImageStatus::Deactivated => Err(Error::Forbidden(
                "The requested image has been deactivated. Image data download is forbidden.".into(),
            )),
            _ => Ok(Download { image: img, path: None }),
        }
    }
}

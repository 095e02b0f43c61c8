//! Image data: streamed, hashed, inspected uploads and (ranged) downloads.

use super::inspect::inspect;
use super::not_found;
use super::store::Staged;
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
        let (img, disk_format) = self.begin_saving(caller, id).await?;
        let received = self.receive(&img, &disk_format, data).await;
        self.end_saving(id, received).await
    }

    /// Image `id` goes queued → saving, with its lease (if this controller dies, another
    /// puts it back); returns it with its disk format.
    pub(crate) async fn begin_saving(&self, caller: &Caller, id: &str) -> Result<(Image, String)> {
        let img = self.image_for_write(caller, id).await?;
        let (Some(disk_format), Some(_)) = (img.disk_format.clone(), img.container_format.clone()) else {
            return Err(Error::bad_request(
                "Properties disk_format, container_format must be set prior to saving data.",
            ));
        };
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
        Ok((img, disk_format))
    }

    /// Ends what [`App::begin_saving`] began: a failure puts the image back to queued with
    /// no data, so nothing half-written is ever visible.
    pub(crate) async fn end_saving(&self, id: &str, received: Result<Image>) -> Result<Image> {
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

    /// How many bytes image `img` may hold: the store's limit, or what is left of its
    /// project's quota; and that room.
    async fn upload_limit(&self, img: &Image) -> Result<(i64, i64)> {
        let cfg = &self.cfg.image;
        let owner = img.owner.clone().unwrap_or_default();
        let (_, used) = image::usage(&self.db, &owner).await?;
        let room = if cfg.max_bytes_per_project > 0 {
            cfg.max_bytes_per_project - used
        } else {
            i64::MAX
        };
        Ok((cfg.max_image_bytes.min(room), room))
    }

    fn quota_exceeded(&self, img: &Image) -> Error {
        Error::RequestTooLarge(format!(
            "Image storage quota exceeded: project {} may store at most {} bytes.",
            img.owner.clone().unwrap_or_default(),
            self.cfg.image.max_bytes_per_project
        ))
    }

    async fn receive<S, E>(&self, img: &Image, disk_format: &str, data: S) -> Result<Image>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let (limit, room) = self.upload_limit(img).await?;
        let staged = self
            .image_store
            .stage(&img.id, data, limit)
            .await
            .map_err(|e| match e {
                Error::RequestTooLarge(_) if room < self.cfg.image.max_image_bytes => self.quota_exceeded(img),
                other => other,
            })?;
        self.store_staged(img, disk_format, staged, true).await
    }

    /// Image `img` made in the Ceph pool by a hypervisor (an image snapshot of a server on
    /// Ceph), between [`App::begin_saving`] and [`App::end_saving`]: hashed and inspected
    /// like an upload, within the same limits.
    pub(crate) async fn receive_from_rbd(&self, img: &Image, disk_format: &str) -> Result<Image> {
        let staged = self.image_store.adopt_rbd(&img.id).await?;
        let (limit, room) = self.upload_limit(img).await?;
        if staged.size > limit {
            self.image_store.discard(&staged).await;
            return Err(if room < self.cfg.image.max_image_bytes {
                self.quota_exceeded(img)
            } else {
                Error::RequestTooLarge(format!("Image exceeds the storage limit of {limit} bytes."))
            });
        }
        self.store_staged(img, disk_format, staged, false).await
    }

    /// Inspects a staged file, makes it the image's data (published to the pool too when
    /// `publish`), then flips the row to active.
    async fn store_staged(&self, img: &Image, disk_format: &str, staged: Staged, publish: bool) -> Result<Image> {
        let cfg = &self.cfg.image;
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
        if publish {
            self.image_store.publish(&img.id, &staged).await?;
        } else {
            self.image_store.keep(&img.id, &staged).await?;
        }
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

//! `os-volume_upload_image`: a volume's data as a new image. The image is made at once
//! (queued); the volume's host exports the volume in the requested format and the data
//! streams into the image store like any upload. The volume is `uploading` meanwhile and
//! returns to the status it had; a failed upload deletes the image.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::hosts;
use crate::db::volumes as db;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What the caller gets back: the image id and the request as Cinder echoes it.
pub struct Upload {
    pub image_id: String,
    pub image_name: String,
    pub disk_format: String,
    pub container_format: String,
    pub volume: crate::db::volumes::Volume,
}

impl App {
    pub async fn upload_volume_to_image(
        self: &Arc<Self>,
        caller: &Caller,
        id: &str,
        body: Map<String, Value>,
    ) -> Result<Upload> {
        let name = super::opt_text(&body, "image_name")?
            .ok_or_else(|| Error::bad_request("Invalid input received: 'image_name' is required"))?;
        let disk_format = super::opt_text(&body, "disk_format")?.unwrap_or_else(|| "raw".into());
        if !matches!(disk_format.as_str(), "raw" | "qcow2") {
            return Err(Error::bad_request(format!(
                "Invalid input received: disk_format {disk_format} is not supported (raw, qcow2)."
            )));
        }
        let container_format = super::opt_text(&body, "container_format")?.unwrap_or_else(|| "bare".into());
        let force = matches!(body.get("force"), Some(Value::Bool(true)));

        let mut tx = crate::db::begin(&self.db).await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        let previous = v.status.clone();
        if !(previous == "available" || (force && previous == "in-use")) {
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
        let mut image = Map::new();
        image.insert("name".into(), json!(name));
        image.insert("disk_format".into(), json!(disk_format));
        image.insert("container_format".into(), json!(container_format));
        image.insert("min_disk".into(), json!(v.size));
        for (k, val) in super::parse_map(&v.image_metadata) {
            if ["kernel_id", "ramdisk_id", "os_command_line", "os_type", "os_distro"].contains(&k.as_str()) {
                image.insert(k, json!(val));
            }
        }
        if let Some(vis) = super::opt_text(&body, "visibility")? {
            image.insert("visibility".into(), json!(vis));
        }
        if let Some(Value::Bool(p)) = body.get("protected") {
            image.insert("protected".into(), json!(p));
        }
        v.status = "uploading".into();
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        let img = match self.create_image(caller, image).await {
            Ok(i) => i,
            Err(e) => {
                self.end_upload(id, &previous).await.ok();
                return Err(e);
            }
        };

        let (app, caller, vid, image_id) = (self.clone(), caller.clone(), id.to_string(), img.id.clone());
        let (url, secret) = host;
        let fmt = disk_format.clone();
        let back_to = previous.clone();
        tokio::spawn(async move {
            let source = format!("{url}/v1/volumes/{vid}/export?format={fmt}");
            if let Err(e) = app.upload_from_agent(&caller, &source, &secret, &image_id).await {
                tracing::warn!(volume = %vid, image = %image_id, error = %e, "volume upload failed; deleting the image");
                app.delete_image(&caller, &image_id).await.ok();
            }
            if let Err(e) = app.end_upload(&vid, &back_to).await {
                tracing::warn!(volume = %vid, error = %e, "cannot end the upload");
            }
        });
        v.status = "uploading".into();
        Ok(Upload {
            image_id: img.id,
            image_name: name,
            disk_format,
            container_format,
            volume: v,
        })
    }

    async fn end_upload(&self, id: &str, status: &str) -> Result<()> {
        let mut tx = crate::db::begin(&self.db).await?;
        if let Some(mut v) = db::get(&mut *tx, id).await? {
            if v.status == "uploading" {
                v.status = status.into();
                v.updated_at = Some(crate::db::now());
                db::update(&mut *tx, &v).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

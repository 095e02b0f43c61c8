//! createImage: a snapshot of a server's disk as a new image. The image record is made at
//! once (queued, so the caller gets its id); the server's agent then produces a flattened
//! qcow2 of the disk, which streams into the image store like any upload and makes the
//! image active. A root disk in Ceph, with the image store in Ceph, is snapshotted inside
//! the cluster instead (a raw image cloned from an RBD snapshot and flattened; no data
//! crosses the network). A failed snapshot deletes the image, as Nova does.

use super::actions::{record, Guard};
use crate::app::identity::caller::Caller;
use crate::app::image::params::{CreateImage, ImageAttr};
use crate::app::App;
use crate::db::cluster::{self, work};
use crate::db::compute::server_states::{TaskState, VmState};
use crate::db::compute::{hosts, servers};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Properties of the source image a snapshot keeps, so that it boots the same way.
const INHERITED: &[&str] = &["kernel_id", "ramdisk_id", "os_command_line", "os_type", "os_distro"];

impl App {
    /// Starts a snapshot of server `id` into a new image named `name`; returns the image id.
    pub async fn snapshot_server(
        self: &Arc<Self>,
        caller: &Caller,
        id: &str,
        name: &str,
        metadata: Map<String, Value>,
        request_id: &str,
    ) -> Result<String> {
        let s = self.server_for_update(caller, id, Guard::Lock).await?;
        // (As Nova: a suspended server's disk is as still as a stopped one's.)
        let allowed = matches!(
            s.vm_state,
            VmState::Active | VmState::Stopped | VmState::Paused | VmState::Suspended
        );
        if !allowed || s.task_state.is_some() {
            return Err(Error::Conflict(format!(
                "Cannot 'createImage' instance {id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        let agent = match &s.host_id {
            Some(h) => hosts::get(&self.db, h).await?,
            None => None,
        }
        .and_then(|h| h.agent_url.map(|u| (u, h.agent_secret)))
        .ok_or_else(|| Error::Conflict(format!("The host of instance {id} cannot be reached.")))?;
        let metadata = super::server_meta::validate(metadata)?;

        // A root disk in Ceph with the images in Ceph too: the image is made inside the
        // cluster (raw, as Nova's RBD direct snapshot); otherwise the host streams a qcow2.
        let in_ceph = self.image_store.rbd_pool().is_some() && s.root_backend == "rbd" && !s.image_id.is_empty();
        let disk_format = if in_ceph { "raw" } else { "qcow2" };
        let mut image = CreateImage::default()
            .with(ImageAttr::name(Some(name.to_string()))?)
            .with(ImageAttr::DiskFormat(Some(disk_format.into())))
            .with(ImageAttr::ContainerFormat(Some("bare".into())));
        if let Ok(src) = self.get_image(caller, &s.image_id).await {
            image = image
                .with(ImageAttr::MinRam(src.min_ram))
                .with(ImageAttr::MinDisk(src.min_disk.max(s.root_gb)));
            let props: Map<String, Value> = serde_json::from_str(&src.properties).unwrap_or_default();
            for k in INHERITED {
                if let Some(v) = props.get(*k).and_then(Value::as_str) {
                    image = image.with(ImageAttr::property(k, v.to_string())?);
                }
            }
        }
        for (k, v) in [
            ("image_type", "snapshot"),
            ("instance_uuid", s.id.as_str()),
            ("base_image_ref", s.image_id.as_str()),
            ("owner_specified.openstack.object", "images/snapshot"),
        ] {
            image = image.with(ImageAttr::property(k, v.to_string())?);
        }
        // The snapshot's metadata is checked as an image body (it may set core attributes).
        let extra = CreateImage::try_from(metadata)?;
        image.attrs.extend(extra.attrs);
        image.id = extra.id;
        if !extra.tags.is_empty() {
            image.tags = extra.tags;
        }
        let image = self.create_image(caller, image).await?;

        // The server shows the snapshot as its task until the upload ends; a second one
        // meanwhile is refused above.
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if s.task_state.is_some() {
            return Err(Error::Conflict(format!(
                "Cannot 'createImage' instance {id} while it is in task_state {}",
                s.task_state.map(TaskState::as_str).unwrap_or_default()
            )));
        }
        s.task_state = Some(TaskState::ImageSnapshot);
        s.updated_at = crate::db::now();
        servers::update_state(&mut *tx, &s).await?;
        record(&mut tx, caller, &s, "createImage", request_id, s.updated_at).await?;
        cluster::take_lease(&mut *tx, &self.lease(work::SERVER_SNAPSHOT, &s.id, &image.id)).await?;
        tx.commit().await?;

        let (app, caller, server, image_id) = (self.clone(), caller.clone(), s.id.clone(), image.id.clone());
        tokio::spawn(async move {
            let (url, secret) = agent;
            let made = if in_ceph {
                app.snapshot_in_ceph(&caller, &url, &secret, &server, &image_id).await
            } else {
                let source = format!("{url}/v1/vms/{server}/snapshot");
                app.upload_from_agent(&caller, &source, &secret, &image_id).await
            };
            if let Err(e) = made {
                tracing::warn!(server = %server, image = %image_id, error = %e, "snapshot failed; deleting the image");
                app.delete_image(&caller, &image_id).await.ok();
            }
            if let Err(e) = app.end_snapshot_task(&server).await {
                tracing::warn!(server = %server, error = %e, "cannot end the snapshot task");
            }
        });
        Ok(image.id.into_string())
    }

    /// Image `image_id` made by the server's host from its RBD root disk, inside the
    /// cluster, then hashed and made active like an upload.
    async fn snapshot_in_ceph(
        &self,
        caller: &Caller,
        url: &str,
        secret: &str,
        server: &str,
        image_id: &str,
    ) -> Result<()> {
        let pool = match self.image_store.rbd_pool() {
            Some(p) => p.pool.clone(),
            None => return Err(Error::Internal("the image store is not in Ceph".into())),
        };
        let (img, disk_format) = self.begin_saving(caller, image_id).await?;
        let made = async {
            let resp = reqwest::Client::new()
                .post(format!("{url}/v1/vms/{server}/rbd-snapshot"))
                .bearer_auth(secret)
                .json(&serde_json::json!({"image_id": image_id, "pool": pool}))
                .send()
                .await
                .map_err(|e| Error::Internal(format!("{url}: {e}")))?;
            if !resp.status().is_success() {
                let status = resp.status();
                let why = resp.text().await.unwrap_or_default();
                return Err(Error::Internal(format!(
                    "the host refused the snapshot ({status}): {why}"
                )));
            }
            self.receive_from_rbd(&img, &disk_format).await
        }
        .await;
        self.end_saving(image_id, made).await.map(|_| ())
    }

    /// Ends the server's snapshot task (also for a snapshot whose controller died).
    pub(crate) async fn end_snapshot_task(&self, server: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(mut s) = servers::get(&mut *tx, server).await? {
            if s.task_state == Some(TaskState::ImageSnapshot) {
                s.task_state = None;
                s.updated_at = crate::db::now();
                servers::update_state(&mut *tx, &s).await?;
            }
        }
        cluster::release(&mut *tx, work::SERVER_SNAPSHOT, server).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Streams what an agent API call (`POST source`) answers into image `image_id`, as an
    /// upload (server snapshots, volumes uploaded as images).
    pub(crate) async fn upload_from_agent(
        &self,
        caller: &Caller,
        source: &str,
        secret: &str,
        image_id: &str,
    ) -> Result<()> {
        let mut resp = reqwest::Client::new()
            .post(source)
            .bearer_auth(secret)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| Error::Internal(format!("{source}: {e}")))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<bytes::Bytes, String>>(4);
        let pump = async move {
            loop {
                match resp.chunk().await {
                    Ok(Some(c)) => {
                        if tx.send(Ok(c)).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tx.send(Err(e.to_string())).await.ok();
                        break;
                    }
                }
            }
        };
        let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        let (_, uploaded) = tokio::join!(pump, self.upload_image(caller, image_id, Box::pin(stream)));
        uploaded.map(|_| ())
    }
}

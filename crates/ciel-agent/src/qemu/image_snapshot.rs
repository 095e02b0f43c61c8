//! Image snapshots of servers whose root disk is in Ceph, as Nova's RBD direct snapshot:
//! the disk is snapshotted (a crash-consistent point in time, as a power cut), the snapshot
//! cloned into the images pool and flattened so the image depends on nothing, and the
//! image given its protected `snap` (what the image service's RBD store keeps). The data
//! never leaves the cluster.

use super::{QemuDriver, ROOT_RBD};
use crate::storage::rbd::IMAGE_SNAPSHOT;
use anyhow::{bail, Context};

impl QemuDriver {
    /// Makes image `image_id` in `pool` (which must be this host's images pool) from VM
    /// `id`'s RBD root disk; returns its size in bytes. A failure leaves nothing behind.
    pub(super) async fn rbd_image_from_root(&self, id: &str, image_id: &str, pool: &str) -> anyhow::Result<u64> {
        let Some((ceph, rbd)) = &self.ceph else {
            bail!("this host has no Ceph cluster");
        };
        if !self.dir(id).join(ROOT_RBD).exists() {
            bail!("VM {id} has no root disk in Ceph on this host");
        }
        if pool != ceph.images_pool {
            bail!("the image service's pool {pool} is not this host's images pool");
        }
        let disk = format!("{}/{id}_disk", ceph.vms_pool);
        let point = format!("image-{image_id}");
        let image = format!("{pool}/{image_id}");
        let made = async {
            rbd.clone_from(&disk, &point, &image).await?;
            rbd.run(&["flatten", "--no-progress", &image]).await?;
            rbd.remove_snapshot(&disk, &point).await?;
            let at = format!("{image}@{IMAGE_SNAPSHOT}");
            rbd.run(&["snap", "create", "--no-progress", &at]).await?;
            rbd.run(&["snap", "protect", &at]).await?;
            rbd.size(&image).await
        }
        .await;
        match made {
            Ok(size) => {
                tracing::info!(vm = %id, image = %image, size, "image made from the RBD root disk");
                Ok(size)
            }
            Err(e) => {
                rbd.remove_image(pool, image_id).await.ok();
                rbd.remove_snapshot(&disk, &point).await.ok();
                Err(e).context("image snapshot in Ceph")
            }
        }
    }
}

//! The host's image cache: each image a VM needs is fetched once from the controller into
//! `<state>/images/<image id>` (through a temp file, renamed when complete and checked
//! against the image's MD5 checksum), and shared by every VM booted from it.

use anyhow::{bail, Context};
use ciel_proto::ImageRef;
use md5::Digest;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

pub fn images_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("images")
}

pub async fn ensure(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    dir: &Path,
    image: &ImageRef,
) -> anyhow::Result<()> {
    let path = dir.join(&image.id);
    if path.exists() {
        return Ok(());
    }
    // VMs fetch their images in parallel: one download per image at a time.
    let lock = {
        static LOCKS: std::sync::Mutex<Option<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
            std::sync::Mutex::new(None);
        let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
        locks
            .get_or_insert_with(HashMap::new)
            .entry(path.clone())
            .or_default()
            .clone()
    };
    let _held = lock.lock().await;
    if path.exists() {
        return Ok(());
    }
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(".{}.part", image.id));
    let mut resp = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()
        .with_context(|| format!("fetching image {}", image.id))?;
    let mut file = tokio::fs::File::create(&tmp).await?;
    let mut md5 = md5::Md5::new();
    while let Some(chunk) = resp.chunk().await? {
        md5.update(&chunk);
        file.write_all(&chunk).await?;
    }
    file.sync_all().await?;
    let got: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if !image.checksum.is_empty() && got != image.checksum {
        tokio::fs::remove_file(&tmp).await.ok();
        bail!(
            "image {} checksum mismatch: got {got}, expected {}",
            image.id,
            image.checksum
        );
    }
    tokio::fs::rename(&tmp, &path).await?;
    tracing::info!(image = %image.id, "image cached");
    Ok(())
}

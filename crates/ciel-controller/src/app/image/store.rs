//! The image store: data is streamed to a temporary file while it is hashed, and only
//! renamed into place once complete and accepted, so a crash mid-upload never leaves a half
//! image that looks active. With the `rbd` store the accepted data also goes to the Ceph
//! images pool as `<pool>/<id>` with a protected snapshot `snap`, as Glance's RBD store keeps
//! it: hosts clone raw images from there (copy-on-write) instead of copying them, and every
//! controller sees the same images. The directory is then this controller's cache of the
//! pool (downloads and host fetches are served from it; a missing file is exported again).

use crate::config::RbdPool;
use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::Md5;
use sha2::{Digest, Sha512};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

pub struct FileStore {
    dir: PathBuf,
    rbd: Option<RbdPool>,
}

/// The snapshot clones are made from.
pub const RBD_SNAPSHOT: &str = "snap";

/// A fully received upload, not yet published.
pub struct Staged {
    pub path: PathBuf,
    pub size: i64,
    pub md5: String,
    pub sha512: String,
}

impl FileStore {
    /// Opens the store. Partial uploads are left alone: in a directory several controllers
    /// share they may be another's work in progress ([`FileStore::drop_partials`] removes
    /// those of an upload whose controller died).
    pub fn open(dir: &Path, rbd: Option<RbdPool>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            rbd,
        })
    }

    /// Whether image data goes to a Ceph pool.
    pub fn is_rbd(&self) -> bool {
        self.rbd.is_some()
    }

    /// Removes what an interrupted upload of image `id` left.
    pub fn drop_partials(&self, id: &str) -> std::io::Result<()> {
        let prefix = format!(".upload-{id}-");
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                std::fs::remove_file(entry.path()).ok();
            }
        }
        Ok(())
    }

    fn path_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The image's data as a file here: the store's file, or with the `rbd` store this
    /// controller's copy of the pool's image (exported once, through a temporary name).
    pub async fn local_path(&self, id: &str) -> Result<PathBuf> {
        let path = self.path_of(id);
        let Some(pool) = &self.rbd else { return Ok(path) };
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        let tmp = self.dir.join(format!(".export-{id}-{}", uuid::Uuid::new_v4().simple()));
        let (spec, out) = (format!("{}/{id}", pool.pool), tmp.display().to_string());
        if let Err(e) = rbd(pool, &["export", "--no-progress", &spec, &out]).await {
            tokio::fs::remove_file(&tmp).await.ok();
            return Err(e);
        }
        tokio::fs::rename(&tmp, &path).await?;
        Ok(path)
    }

    /// Streams `data` into a temporary file, hashing as it goes; fails past `max_bytes`.
    pub async fn stage<S, E>(&self, id: &str, mut data: S, max_bytes: i64) -> Result<Staged>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.dir.join(format!(".upload-{id}-{}", uuid::Uuid::new_v4().simple()));
        let mut file = tokio::fs::File::create(&path).await?;
        let mut hasher = Hasher::default();
        let outcome: Result<()> = async {
            while let Some(chunk) = data.next().await {
                let chunk = chunk.map_err(|e| Error::bad_request(format!("Error reading the uploaded data: {e}")))?;
                hasher.update(&chunk);
                if hasher.size > max_bytes {
                    return Err(Error::RequestTooLarge(format!(
                        "Image exceeds the storage limit of {max_bytes} bytes."
                    )));
                }
                file.write_all(&chunk).await?;
            }
            file.flush().await?;
            file.sync_all().await?;
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            tokio::fs::remove_file(&path).await.ok();
            return Err(e);
        }
        Ok(hasher.staged(path))
    }

    /// Makes a staged upload the image's data (in the pool first, with the `rbd` store: an
    /// image there without its snapshot is not finished and is made again).
    pub async fn publish(&self, id: &str, staged: &Staged) -> Result<()> {
        if let Some(pool) = &self.rbd {
            let spec = format!("{}/{id}", pool.pool);
            let at = format!("{spec}@{RBD_SNAPSHOT}");
            remove_rbd_image(pool, id).await?;
            let file = staged.path.display().to_string();
            rbd(pool, &["import", "--no-progress", "--image-format", "2", &file, &spec]).await?;
            rbd(pool, &["snap", "create", "--no-progress", &at]).await?;
            rbd(pool, &["snap", "protect", &at]).await?;
        }
        tokio::fs::rename(&staged.path, self.path_of(id)).await?;
        Ok(())
    }

    /// Takes image `id`, already made in the pool with its snapshot by a hypervisor (a
    /// server's root disk in Ceph), as this store's: this controller's copy is exported and
    /// hashed like an upload, then kept with [`FileStore::keep`].
    pub async fn adopt_rbd(&self, id: &str) -> Result<Staged> {
        let Some(pool) = &self.rbd else {
            return Err(Error::Internal("the image store is not in Ceph".into()));
        };
        let path = self.dir.join(format!(".upload-{id}-{}", uuid::Uuid::new_v4().simple()));
        let (spec, out) = (format!("{}/{id}", pool.pool), path.display().to_string());
        let hashed = async {
            rbd(pool, &["export", "--no-progress", &spec, &out]).await?;
            hash_file(&path).await
        }
        .await;
        match hashed {
            Ok(hasher) => Ok(hasher.staged(path)),
            Err(e) => {
                tokio::fs::remove_file(&path).await.ok();
                Err(e)
            }
        }
    }

    /// Makes a staged file the image's data here, without publishing it to the pool (it is
    /// there already: [`FileStore::adopt_rbd`]).
    pub async fn keep(&self, id: &str, staged: &Staged) -> Result<()> {
        tokio::fs::rename(&staged.path, self.path_of(id)).await?;
        Ok(())
    }

    /// The Ceph pool image data goes to, if any.
    pub fn rbd_pool(&self) -> Option<&RbdPool> {
        self.rbd.as_ref()
    }

    pub async fn discard(&self, staged: &Staged) {
        tokio::fs::remove_file(&staged.path).await.ok();
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        if let Some(pool) = &self.rbd {
            remove_rbd_image(pool, id).await?;
        }
        match tokio::fs::remove_file(self.path_of(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// An image's size, MD5 (Glance's `checksum`) and SHA-512 (`os_hash_value`), as its data
/// goes by: an upload's chunks or a file's.
#[derive(Default)]
struct Hasher {
    md5: Md5,
    sha: Sha512,
    size: i64,
}

impl Hasher {
    fn update(&mut self, chunk: &[u8]) {
        self.size += chunk.len() as i64;
        self.md5.update(chunk);
        self.sha.update(chunk);
    }

    fn staged(self, path: PathBuf) -> Staged {
        Staged {
            path,
            size: self.size,
            md5: hex(&self.md5.finalize()),
            sha512: hex(&self.sha.finalize()),
        }
    }
}

/// A file hashed in chunks.
async fn hash_file(path: &Path) -> Result<Hasher> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Hasher::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher)
}

/// Ceph's `rbd` as the store's user; its stderr is the error.
async fn rbd(pool: &RbdPool, args: &[&str]) -> Result<String> {
    let conf = pool.conf.display().to_string();
    let out = tokio::process::Command::new(std::env::var("CIEL_RBD").unwrap_or_else(|_| "rbd".into()))
        .args(["--conf", &conf, "--id", &pool.client])
        .args(args)
        .output()
        .await
        .map_err(|e| Error::Internal(format!("cannot run rbd: {e}")))?;
    if !out.status.success() {
        return Err(Error::Internal(format!(
            "rbd {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the pool's image `id` and its snapshot; volumes and disks cloned from it are
/// flattened first (they keep their data). Nothing there: nothing to do.
async fn remove_rbd_image(pool: &RbdPool, id: &str) -> Result<()> {
    let spec = format!("{}/{id}", pool.pool);
    let listed = rbd(pool, &["ls", "--format", "json", &pool.pool]).await?;
    let names: Vec<String> = serde_json::from_str(listed.trim()).unwrap_or_default();
    if !names.iter().any(|n| n == id) {
        return Ok(());
    }
    let snaps = rbd(pool, &["snap", "ls", "--format", "json", &spec]).await?;
    let snaps: Vec<serde_json::Value> = serde_json::from_str(snaps.trim()).unwrap_or_default();
    for snap in snaps.iter().filter_map(|s| s["name"].as_str()) {
        let at = format!("{spec}@{snap}");
        let children = rbd(pool, &["children", "--format", "json", &at]).await?;
        let children: Vec<serde_json::Value> = serde_json::from_str(children.trim()).unwrap_or_default();
        for c in &children {
            if let (Some(p), Some(i)) = (c["pool"].as_str(), c["image"].as_str()) {
                tracing::info!(child = %format!("{p}/{i}"), image = %id, "flattening a clone of a deleted image");
                rbd(pool, &["flatten", "--no-progress", &format!("{p}/{i}")]).await?;
            }
        }
        rbd(pool, &["snap", "unprotect", &at]).await.ok();
        rbd(pool, &["snap", "rm", "--no-progress", &at]).await?;
    }
    rbd(pool, &["rm", "--no-progress", &spec]).await?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

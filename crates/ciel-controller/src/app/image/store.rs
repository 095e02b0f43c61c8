//! Filesystem image store: data is streamed to a temporary file while it is hashed, and only
//! renamed into place once complete and accepted, so a crash mid-upload never leaves a half
//! image that looks active. Another backend (object store, RBD) would implement the same calls.

use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::Md5;
use sha2::{Digest, Sha512};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

pub struct FileStore {
    dir: PathBuf,
}

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
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_owned() })
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

    pub fn path_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Streams `data` into a temporary file, hashing as it goes; fails past `max_bytes`.
    pub async fn stage<S, E>(&self, id: &str, mut data: S, max_bytes: i64) -> Result<Staged>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.dir.join(format!(".upload-{id}-{}", uuid::Uuid::new_v4().simple()));
        let mut file = tokio::fs::File::create(&path).await?;
        let (mut md5, mut sha) = (Md5::new(), Sha512::new());
        let mut size: i64 = 0;
        let outcome: Result<()> = async {
            while let Some(chunk) = data.next().await {
                let chunk = chunk.map_err(|e| Error::bad_request(format!("Error reading the uploaded data: {e}")))?;
                size += chunk.len() as i64;
                if size > max_bytes {
                    return Err(Error::RequestTooLarge(format!(
                        "Image exceeds the storage limit of {max_bytes} bytes."
                    )));
                }
                md5.update(&chunk);
                sha.update(&chunk);
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
        Ok(Staged {
            path,
            size,
            md5: hex(&md5.finalize()),
            sha512: hex(&sha.finalize()),
        })
    }

    /// Makes a staged upload the image's data.
    pub async fn publish(&self, id: &str, staged: &Staged) -> Result<()> {
        tokio::fs::rename(&staged.path, self.path_of(id)).await?;
        Ok(())
    }

    pub async fn discard(&self, staged: &Staged) {
        tokio::fs::remove_file(&staged.path).await.ok();
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        match tokio::fs::remove_file(self.path_of(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

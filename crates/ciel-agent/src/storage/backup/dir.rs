//! The `dir` backup target: a directory (local, or a mount several hosts share) holding each
//! backup as fixed-size chunks with a manifest, as Cinder's chunked drivers do. A chunk is
//! named by its index and carries a SHA-256 in the manifest; chunks of zeros are not stored.
//! An incremental backup stores only the chunks whose hash differs from its parent's and
//! refers to the parent's (or an older ancestor's) files for the rest, so every manifest
//! describes the whole volume: restoring any backup reads its chain through it.
//!
//! A backup is written under `<id>.part` and renamed to `<id>` once its manifest is
//! complete, so a backup directory with a manifest is always whole.

use super::safe_id;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes per chunk.
pub const CHUNK: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub version: u32,
    pub id: String,
    pub volume_id: String,
    /// Bytes of volume data.
    pub size: u64,
    pub chunk_size: u64,
    pub parent: Option<String>,
    /// Chunks holding data (others read as zeros), by index.
    pub chunks: Vec<ChunkRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChunkRef {
    pub index: u64,
    pub sha256: String,
    /// The backup whose directory holds the chunk's file.
    pub stored_in: String,
}

#[derive(Clone)]
pub struct DirTarget {
    root: PathBuf,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl DirTarget {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn dir(&self, id: &str) -> anyhow::Result<PathBuf> {
        if !safe_id(id) {
            bail!("not a backup id: {id:?}");
        }
        Ok(self.root.join(id))
    }

    fn chunk_path(&self, id: &str, index: u64) -> anyhow::Result<PathBuf> {
        Ok(self.dir(id)?.join(format!("chunk-{index:08}")))
    }

    pub fn manifest(&self, id: &str) -> anyhow::Result<Option<Manifest>> {
        let path = self.dir(id)?.join("manifest.json");
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(
                serde_json::from_slice(&b).with_context(|| format!("{}", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the raw image `raw` as backup `id` of `volume`; with `parent`, only chunks that
    /// differ from it. Returns how many chunk files this backup wrote. Blocking.
    pub fn make(&self, id: &str, volume: &str, raw: &Path, parent: Option<&str>) -> anyhow::Result<u64> {
        let parent_chunks: HashMap<u64, ChunkRef> = match parent {
            Some(p) => match self.manifest(p)? {
                Some(m) => m.chunks.into_iter().map(|c| (c.index, c)).collect(),
                None => bail!("the parent backup {p} is not in {}", self.root.display()),
            },
            None => HashMap::new(),
        };
        let done = self.dir(id)?;
        let part = self.root.join(format!("{id}.part"));
        std::fs::create_dir_all(&self.root)?;
        if part.exists() {
            std::fs::remove_dir_all(&part)?;
        }
        std::fs::create_dir_all(&part)?;
        let r = self.write_chunks(id, volume, raw, parent, &parent_chunks, &part);
        match r {
            Ok(written) => {
                if done.exists() {
                    std::fs::remove_dir_all(&done)?;
                }
                std::fs::rename(&part, &done)?;
                Ok(written)
            }
            Err(e) => {
                std::fs::remove_dir_all(&part).ok();
                Err(e)
            }
        }
    }

    fn write_chunks(
        &self,
        id: &str,
        volume: &str,
        raw: &Path,
        parent: Option<&str>,
        parent_chunks: &HashMap<u64, ChunkRef>,
        part: &Path,
    ) -> anyhow::Result<u64> {
        let mut f = std::fs::File::open(raw).with_context(|| format!("{}", raw.display()))?;
        let size = f.metadata()?.len();
        let mut buf = vec![0u8; CHUNK as usize];
        let mut chunks = vec![];
        let mut written = 0;
        let mut index = 0u64;
        loop {
            let n = read_full(&mut f, &mut buf)?;
            if n == 0 {
                break;
            }
            let data = &buf[..n];
            if data.iter().any(|&b| b != 0) {
                let sha = hex(&Sha256::digest(data));
                match parent_chunks.get(&index) {
                    Some(p) if p.sha256 == sha => chunks.push(p.clone()),
                    _ => {
                        let mut out = std::fs::File::create(part.join(format!("chunk-{index:08}")))?;
                        out.write_all(data)?;
                        written += 1;
                        chunks.push(ChunkRef {
                            index,
                            sha256: sha,
                            stored_in: id.to_string(),
                        });
                    }
                }
            }
            index += 1;
        }
        let m = Manifest {
            version: 1,
            id: id.to_string(),
            volume_id: volume.to_string(),
            size,
            chunk_size: CHUNK,
            parent: parent.map(str::to_owned),
            chunks,
        };
        let mut out = std::fs::File::create(part.join("manifest.json"))?;
        out.write_all(&serde_json::to_vec(&m)?)?;
        out.sync_all()?;
        Ok(written)
    }

    /// Writes backup `id` (its whole chain, through the manifest) as a sparse raw file `out`
    /// of the backed-up size, checking every chunk's hash. Blocking.
    pub fn restore(&self, id: &str, out: &Path) -> anyhow::Result<u64> {
        let m = self
            .manifest(id)?
            .with_context(|| format!("backup {id} is not in {}", self.root.display()))?;
        let mut f = std::fs::File::create(out)?;
        f.set_len(m.size)?;
        for c in &m.chunks {
            let path = self.chunk_path(&c.stored_in, c.index)?;
            let data = std::fs::read(&path).with_context(|| format!("chunk {} of backup {id}", c.index))?;
            if hex(&Sha256::digest(&data)) != c.sha256 {
                bail!("chunk {} of backup {id} ({}) is corrupt", c.index, path.display());
            }
            f.seek(SeekFrom::Start(c.index * m.chunk_size))?;
            f.write_all(&data)?;
        }
        f.sync_all()?;
        Ok(m.size)
    }

    /// Removes backup `id`'s files (an unfinished one's too). Chunks other backups refer to
    /// are never here: a backup with children is not deleted (the controller refuses).
    pub fn delete(&self, id: &str) -> anyhow::Result<()> {
        let dir = self.dir(id)?;
        for d in [dir.clone(), self.root.join(format!("{id}.part"))] {
            match std::fs::remove_dir_all(&d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Fills `buf` as far as the file goes.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_incremental_restore_and_delete() {
        let root = std::env::temp_dir().join(format!("ciel-backup-dir-{}", std::process::id()));
        std::fs::remove_dir_all(&root).ok();
        std::fs::create_dir_all(&root).unwrap();
        let t = DirTarget::new(root.join("b"));
        let raw = root.join("vol.raw");
        let mut data = vec![0u8; (CHUNK * 3) as usize];
        data[10] = 1;
        data[(CHUNK * 2) as usize + 5] = 2;
        std::fs::write(&raw, &data).unwrap();
        let (a, b) = (
            "0000000a-0000-0000-0000-000000000000",
            "0000000b-0000-0000-0000-000000000000",
        );
        assert_eq!(t.make(a, "v", &raw, None).unwrap(), 2, "zero chunks are not stored");
        data[10] = 0;
        data[CHUNK as usize] = 3;
        std::fs::write(&raw, &data).unwrap();
        assert_eq!(t.make(b, "v", &raw, Some(a)).unwrap(), 1, "only the changed chunk");
        let m = t.manifest(b).unwrap().unwrap();
        assert_eq!(m.chunks.len(), 2);
        assert_eq!(m.chunks[1].stored_in, a, "the unchanged chunk is the parent's");
        let out = root.join("out.raw");
        t.restore(b, &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), data);
        std::fs::remove_file(&out).unwrap();
        t.restore(a, &out).unwrap();
        let first = std::fs::read(&out).unwrap();
        assert_eq!((first[10], first[CHUNK as usize], first.len()), (1, 0, data.len()));
        t.delete(b).unwrap();
        assert!(t.manifest(b).unwrap().is_none());
        assert!(t.make("../x", "v", &raw, None).is_err());
        std::fs::remove_dir_all(&root).ok();
    }
}

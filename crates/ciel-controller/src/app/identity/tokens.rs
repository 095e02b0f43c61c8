//! Fernet-style tokens: the payload is serialized and sealed with ChaCha20-Poly1305 under the
//! primary key of a rotating key repository, so validating a token needs no database read.
//!
//! Key repository layout follows Keystone's: files named by integers in `DIR/token-keys`;
//! `0` is the staged key, the highest number is the primary (used to seal), all keys open.

use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// What a token carries. Names, roles and the catalog are looked up at validation time,
/// so that changes (a role removed, a project disabled) take effect at once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenPayload {
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "m")]
    pub methods: Vec<String>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub app_cred_id: Option<String>,
    /// System scope (`{"system": {"all": true}}`).
    #[serde(rename = "s", default, skip_serializing_if = "std::ops::Not::not")]
    pub system: bool,
    /// Issue time in microseconds since the epoch.
    #[serde(rename = "i")]
    pub issued_at: i64,
    /// Expiry in microseconds since the epoch.
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// This token's audit id, then the audit id of the token it was rescoped from.
    #[serde(rename = "a")]
    pub audit_ids: Vec<String>,
}

pub struct TokenKeys {
    dir: PathBuf,
    /// (index, cipher), highest index first: the first one is the primary.
    keys: RwLock<Vec<(u32, ChaCha20Poly1305)>>,
}

impl TokenKeys {
    /// Loads the key repository, creating it (staged + primary key) on first start.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        set_private(dir, 0o700)?;
        // Controllers starting together on a shared directory create one repository.
        let _lock = crate::app::shared_dir::lock(dir)?;
        if read_indexes(dir)?.is_empty() {
            write_key(dir, 0)?;
            write_key(dir, 1)?;
        }
        let keys = RwLock::new(load(dir)?);
        Ok(Self {
            dir: dir.to_owned(),
            keys,
        })
    }

    /// Keystone's rotation: the staged key becomes primary, a new staged key is created and the
    /// oldest secondaries beyond `max_active` are removed.
    pub fn rotate(dir: &Path, max_active: usize) -> anyhow::Result<()> {
        let idx = read_indexes(dir)?;
        let highest = idx.iter().copied().max().unwrap_or(0);
        std::fs::rename(dir.join("0"), dir.join((highest + 1).to_string()))?;
        write_key(dir, 0)?;
        let mut secondaries: Vec<u32> = read_indexes(dir)?.into_iter().filter(|i| *i != 0).collect();
        secondaries.sort_unstable();
        while secondaries.len() + 1 > max_active.max(3) {
            let oldest = secondaries.remove(0);
            std::fs::remove_file(dir.join(oldest.to_string()))?;
        }
        Ok(())
    }

    /// Re-reads the repository if another process rotated it.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = load(&self.dir)?;
        let mut keys = self.keys.write().expect("token keys lock");
        let same = fresh.len() == keys.len() && fresh.iter().zip(keys.iter()).all(|(a, b)| a.0 == b.0);
        if !same {
            tracing::info!(keys = fresh.len(), "token keys reloaded");
            *keys = fresh;
        }
        Ok(())
    }

    pub fn seal(&self, payload: &TokenPayload) -> String {
        let plain = serde_json::to_vec(payload).expect("token payload serializes");
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let keys = self.keys.read().expect("token keys lock");
        let cipher = &keys[0].1;
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_slice())
            .expect("encryption cannot fail");
        let mut out = Vec::with_capacity(1 + 12 + sealed.len());
        out.push(1u8); // format version
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        B64.encode(out)
    }

    /// Opens a token with any active key. Any failure is "not a valid token".
    pub fn open_token(&self, token: &str) -> Result<TokenPayload> {
        let invalid = || Error::not_found("token", "the token is invalid");
        let raw = B64.decode(token.trim()).map_err(|_| invalid())?;
        if raw.len() < 1 + 12 + 16 || raw[0] != 1 {
            return Err(invalid());
        }
        let nonce = Nonce::from_slice(&raw[1..13]);
        let keys = self.keys.read().expect("token keys lock");
        for (_, cipher) in keys.iter() {
            if let Ok(plain) = cipher.decrypt(nonce, &raw[13..]) {
                return serde_json::from_slice(&plain).map_err(|_| invalid());
            }
        }
        Err(invalid())
    }
}

/// A new random audit id, 22 url-safe characters like Keystone's.
pub fn new_audit_id() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    B64.encode(b)
}

fn read_indexes(dir: &Path) -> anyhow::Result<Vec<u32>> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir)? {
        if let Some(i) = entry?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
            out.push(i);
        }
    }
    Ok(out)
}

fn load(dir: &Path) -> anyhow::Result<Vec<(u32, ChaCha20Poly1305)>> {
    let mut idx = read_indexes(dir)?;
    idx.sort_unstable_by(|a, b| b.cmp(a));
    let mut keys = vec![];
    for i in idx {
        let text = std::fs::read_to_string(dir.join(i.to_string()))?;
        let bytes = B64.decode(text.trim())?;
        anyhow::ensure!(bytes.len() == 32, "token key {i} in {} is not 32 bytes", dir.display());
        keys.push((i, ChaCha20Poly1305::new(Key::from_slice(&bytes))));
    }
    anyhow::ensure!(!keys.is_empty(), "no token keys in {}", dir.display());
    Ok(keys)
}

fn write_key(dir: &Path, index: u32) -> anyhow::Result<()> {
    let mut k = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut k);
    let tmp = dir.join(format!(".tmp-{index}"));
    std::fs::write(&tmp, B64.encode(k))?;
    set_private(&tmp, 0o600)?;
    std::fs::rename(tmp, dir.join(index.to_string()))?;
    Ok(())
}

fn set_private(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> TokenPayload {
        TokenPayload {
            user_id: "u1".into(),
            methods: vec!["password".into()],
            project_id: Some("p1".into()),
            domain_id: None,
            app_cred_id: None,
            system: false,
            issued_at: 1,
            expires_at: 2,
            audit_ids: vec![new_audit_id()],
        }
    }

    #[test]
    fn seal_open_roundtrip_and_tamper_detection() {
        let dir = std::env::temp_dir().join(format!("ciel-keys-{}", uuid::Uuid::new_v4()));
        let keys = TokenKeys::open(&dir).unwrap();
        let p = payload();
        let t = keys.seal(&p);
        assert_eq!(keys.open_token(&t).unwrap(), p);
        let mut bad = t.clone().into_bytes();
        let n = bad.len() - 5;
        bad[n] = if bad[n] == b'A' { b'B' } else { b'A' };
        assert!(keys.open_token(std::str::from_utf8(&bad).unwrap()).is_err());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_key_dropped() {
        let dir = std::env::temp_dir().join(format!("ciel-keys-{}", uuid::Uuid::new_v4()));
        let keys = TokenKeys::open(&dir).unwrap();
        let t = keys.seal(&payload());
        TokenKeys::rotate(&dir, 3).unwrap();
        keys.reload().unwrap();
        assert!(keys.open_token(&t).is_ok(), "secondary key still opens");
        let t2 = keys.seal(&payload());
        TokenKeys::rotate(&dir, 3).unwrap();
        keys.reload().unwrap();
        assert!(keys.open_token(&t).is_err(), "dropped key no longer opens");
        assert!(keys.open_token(&t2).is_ok());
        std::fs::remove_dir_all(dir).ok();
    }
}

//! Join tokens: the secrets a new hypervisor presents once to join the cloud, created by an
//! admin on the controller (`ciel join-token create`), optionally expiring, revocable. Kept
//! in `SHARED_DIR/join-tokens.json` (mode 600) as SHA-256 hashes only, like the token keys, so
//! every controller sharing that directory honours them. A joined host re-registers with
//! its own host credential, so an expired join token never strands a host.
//!
//! A token reads `<id>.<secret>`: the id names it in lists and revocations, the secret is
//! shown once.

use super::hosts::{hex, random_secret};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JoinToken {
    pub id: String,
    pub secret_sha256: String,
    pub description: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; none: until revoked.
    pub expires_at: Option<i64>,
}

impl JoinToken {
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("join-tokens.json")
}

pub fn list(data_dir: &Path) -> Result<Vec<JoinToken>> {
    match std::fs::read_to_string(file(data_dir)) {
        Ok(s) => serde_json::from_str(&s).map_err(|e| Error::Internal(format!("join-tokens.json: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

fn save(data_dir: &Path, tokens: &[JoinToken]) -> Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let path = file(data_dir);
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_string_pretty(tokens).map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&tmp, body)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// Creates a token valid for `ttl_secs` (none: until revoked); returns it and its full
/// text, which is not stored anywhere.
pub fn create(data_dir: &Path, ttl_secs: Option<i64>, description: &str) -> Result<(JoinToken, String)> {
    let mut tokens = list(data_dir)?;
    let now = chrono::Utc::now().timestamp();
    // Expired tokens are dropped on the way.
    tokens.retain(|t| !t.expired(now));
    let id: String = random_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let secret = random_secret();
    let t = JoinToken {
        id: id.to_lowercase(),
        secret_sha256: hex(&sha2::Sha256::digest(secret.as_bytes())),
        description: description.to_string(),
        created_at: now,
        expires_at: ttl_secs.map(|s| now + s),
    };
    let text = format!("{}.{secret}", t.id);
    tokens.push(t.clone());
    save(data_dir, &tokens)?;
    Ok((t, text))
}

/// Removes token `id`; tells whether it existed.
pub fn revoke(data_dir: &Path, id: &str) -> Result<bool> {
    let mut tokens = list(data_dir)?;
    let before = tokens.len();
    tokens.retain(|t| t.id != id);
    save(data_dir, &tokens)?;
    Ok(tokens.len() != before)
}

/// Whether `presented` is a live join token.
pub fn accepts(data_dir: &Path, presented: &str) -> Result<bool> {
    let Some((id, secret)) = presented.split_once('.') else {
        return Ok(false);
    };
    let now = chrono::Utc::now().timestamp();
    let hash = hex(&sha2::Sha256::digest(secret.as_bytes()));
    Ok(list(data_dir)?.iter().any(|t| {
        t.id == id && !t.expired(now) && super::hosts::constant_eq(t.secret_sha256.as_bytes(), hash.as_bytes())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory removed when the test ends.
    struct Dir(PathBuf);
    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }
    fn scopeguard(p: PathBuf) -> Dir {
        Dir(p)
    }

    #[test]
    fn created_tokens_are_accepted_until_revoked_or_expired() {
        let dir = std::env::temp_dir().join(format!("ciel-join-tokens-{}", uuid::Uuid::new_v4()));
        let dir = scopeguard(dir);
        let (t, text) = create(dir.path(), None, "rack 2").unwrap();
        assert!(accepts(dir.path(), &text).unwrap());
        assert!(!accepts(dir.path(), &format!("{}.wrong", t.id)).unwrap());
        assert!(!accepts(dir.path(), "no-dot").unwrap());
        assert_eq!(list(dir.path()).unwrap(), vec![t.clone()]);
        assert!(revoke(dir.path(), &t.id).unwrap());
        assert!(!accepts(dir.path(), &text).unwrap());
        assert!(!revoke(dir.path(), &t.id).unwrap());

        let (_, expired) = create(dir.path(), Some(-1), "").unwrap();
        assert!(!accepts(dir.path(), &expired).unwrap());
        // The secret itself is never stored.
        let stored = std::fs::read_to_string(dir.path().join("join-tokens.json")).unwrap();
        assert!(!stored.contains(text.split_once('.').unwrap().1));
    }
}

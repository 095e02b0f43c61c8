//! Key pairs: imported public keys (checked and fingerprinted) or generated ones, whose
//! private half is returned once and never stored. Keys belong to a user.

use super::resource_params::{CreateKeypair, KeypairType};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::keypairs::{self as db, Keypair};
use crate::error::{Error, Result};
use base64::Engine;
use md5::Digest;

/// Nova's default `key_pairs` quota.
pub const MAX_KEYPAIRS_PER_USER: i64 = 100;

const SSH_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-ed25519",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

fn invalid(reason: &str) -> Error {
    Error::bad_request(format!("Keypair data is invalid: {reason}"))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// MD5 fingerprint of an OpenSSH public key line, as `ssh-keygen -l -E md5` prints it
/// (what Nova reports), after checking that the blob is the key type it claims.
pub fn ssh_fingerprint(public_key: &str) -> Result<String> {
    let mut parts = public_key.split_whitespace();
    let (Some(kind), Some(b64)) = (parts.next(), parts.next()) else {
        return Err(invalid("failed to generate fingerprint"));
    };
    if !SSH_TYPES.contains(&kind) {
        return Err(invalid("failed to generate fingerprint"));
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| invalid("failed to generate fingerprint"))?;
    // The blob starts with the key type as an SSH string (u32 length + bytes).
    let len = blob
        .get(..4)
        .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        .ok_or_else(|| invalid("failed to generate fingerprint"))?;
    if blob.get(4..4 + len) != Some(kind.as_bytes()) || blob.len() <= 4 + len {
        return Err(invalid("failed to generate fingerprint"));
    }
    Ok(colon_hex(&md5::Md5::digest(&blob)))
}

/// SHA-1 fingerprint of a PEM certificate's DER bytes, as Nova reports for x509 key pairs.
pub fn x509_fingerprint(pem: &str) -> Result<String> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()
        .filter(|d| d.len() > 16 && d[0] == 0x30)
        .ok_or_else(|| invalid("failed to generate fingerprint"))?;
    Ok(colon_hex(&sha1_digest(&der)))
}

fn sha1_digest(data: &[u8]) -> Vec<u8> {
    use sha1::Digest as _;
    sha1::Sha1::digest(data).to_vec()
}

/// A generated key pair: (public key, private key). Done by `ssh-keygen`/`openssl`, the
/// proven tools for it, in a private temporary directory.
async fn generate(kind: KeypairType, name: &str) -> Result<(String, String)> {
    let dir = std::env::temp_dir().join(format!("ciel-keygen-{}", uuid::Uuid::new_v4()));
    tokio::fs::create_dir(&dir)
        .await
        .map_err(|e| Error::Internal(format!("keygen dir: {e}")))?;
    let key = dir.join("key");
    let out = if kind == KeypairType::X509 {
        tokio::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj",
            ])
            .arg(format!("/CN={}", name.replace('/', "_")))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .output()
            .await
    } else {
        tokio::process::Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "rsa",
                "-b",
                "2048",
                "-N",
                "",
                "-C",
                "Generated-by-Ciel",
                "-f",
            ])
            .arg(&key)
            .output()
            .await
    };
    let result = async {
        let out = out.map_err(|e| Error::Internal(format!("cannot run key generator: {e}")))?;
        if !out.status.success() {
            return Err(Error::Internal(format!(
                "key generation failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let private = tokio::fs::read_to_string(&key).await?;
        let public_path = if kind == KeypairType::X509 {
            dir.join("cert.pem")
        } else {
            dir.join("key.pub")
        };
        let public = tokio::fs::read_to_string(public_path).await?;
        Ok((public.trim().to_string(), private))
    }
    .await;
    tokio::fs::remove_dir_all(&dir).await.ok();
    result
}

impl App {
    /// Imports (`public_key` given) or generates a key pair; returns it and, when generated,
    /// the private key. `user_id` lets an admin create one for another user.
    pub async fn create_keypair(&self, caller: &Caller, req: CreateKeypair) -> Result<(Keypair, Option<String>)> {
        let CreateKeypair {
            name,
            kind,
            user_id,
            public_key,
        } = req;
        let user_id = self.keypair_owner(caller, user_id)?;
        let (public_key, private) = match public_key {
            Some(k) => (k, None),
            None => {
                let (public, private) = generate(kind, &name).await?;
                (public, Some(private))
            }
        };
        let fingerprint = match kind {
            KeypairType::X509 => x509_fingerprint(&public_key)?,
            KeypairType::Ssh => ssh_fingerprint(&public_key)?,
        };
        let mut tx = self.begin().await?;
        if db::count(&mut *tx, &user_id).await? >= MAX_KEYPAIRS_PER_USER {
            return Err(Error::Typed {
                status: 403,
                kind: "forbidden",
                message: "Quota exceeded, too many key pairs.".into(),
            });
        }
        if db::get(&mut *tx, &user_id, &name).await?.is_some() {
            return Err(Error::Conflict(format!("Key pair '{name}' already exists.")));
        }
        let k = db::insert(
            &mut *tx,
            &Keypair {
                id: 0,
                user_id,
                name,
                r#type: kind.as_str().to_string(),
                public_key,
                fingerprint,
                created_at: crate::db::now(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((k, private))
    }

    /// Whose key pairs a request means: the caller's, or (admins only) the named user's.
    pub fn keypair_owner(&self, caller: &Caller, requested: Option<String>) -> Result<String> {
        match requested {
            None => Ok(caller.user_id().to_string()),
            Some(u) if u == caller.user_id() => Ok(u),
            Some(u) => {
                caller.require_admin()?;
                Ok(u)
            }
        }
    }

    pub async fn list_keypairs(&self, caller: &Caller, user: Option<String>) -> Result<Vec<Keypair>> {
        let owner = self.keypair_owner(caller, user)?;
        db::list(&self.db, &owner).await
    }

    pub async fn get_keypair(&self, caller: &Caller, name: &str, user: Option<String>) -> Result<Keypair> {
        let owner = self.keypair_owner(caller, user)?;
        db::get(&self.db, &owner, name)
            .await?
            .ok_or_else(|| Error::not_found("keypair", name))
    }

    pub async fn delete_keypair(&self, caller: &Caller, name: &str, user: Option<String>) -> Result<()> {
        let owner = self.keypair_owner(caller, user)?;
        if !db::delete(&self.db, &owner, name).await? {
            return Err(Error::not_found("keypair", name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shaped like an ed25519 key line (type string + key bytes).
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkVA2KNbnh0Dl1KYGXNVnPf2pVXvgyrHsg4gqc4HVx6 test";

    #[test]
    fn fingerprints_and_validation() {
        let fp = ssh_fingerprint(ED25519).unwrap();
        assert_eq!(fp.len(), 47);
        assert!(
            ssh_fingerprint("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGkVA2KNbnh0Dl1KYGXNVnPf2pVXvgyrHsg4gqc4HVx6").is_err(),
            "type mismatch"
        );
        assert!(ssh_fingerprint("ssh-rsa not-base64!").is_err());
        assert!(ssh_fingerprint("hello").is_err());
    }
}

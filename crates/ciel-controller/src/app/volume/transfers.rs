//! Volume transfers (`/os-volume-transfer`, and 3.55's `/volume-transfers`): the owner offers a
//! volume, which waits in `awaiting-transfer`; whoever presents the auth key takes it (and,
//! unless `no_snapshots`, its snapshots) into their project. The receiving project's quotas
//! are checked and the rows moved in one transaction: usage is counted from the rows, so the
//! quota moves with them.

use super::{opt_text, own_project};
use crate::app::identity::caller::Caller;
use crate::app::metadata_schema::shown;
use crate::app::App;
use crate::db::volume::transfers::{self as tdb, Transfer};
use crate::db::volume::{self as db, SnapshotStatus, VolumeStatus};
use crate::error::{Error, Result};
use rand::RngCore;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `POST /os-volume-transfer` `{"transfer": {...}}`.
#[derive(Debug, Clone, Default)]
pub struct CreateTransfer {
    pub volume_id: String,
    pub name: Option<String>,
    /// 3.55: leave the snapshots with the giving project.
    pub no_snapshots: bool,
}

impl CreateTransfer {
    /// `with_snapshot_flag`: the 3.55 route, which takes `no_snapshots`.
    pub fn parse(b: Map<String, Value>, with_snapshot_flag: bool) -> Result<Self> {
        let volume_id = match b.get("volume_id") {
            Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => s.clone(),
            Some(other) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute volume_id. Value: {}. {} is not a 'uuid'",
                    shown(&other.to_string()),
                    shown(&other.to_string())
                )))
            }
            None => {
                return Err(Error::bad_request(
                    "Invalid input for field/attribute transfer. Value: {}. 'volume_id' is a required property",
                ))
            }
        };
        let no_snapshots = match b.get("no_snapshots") {
            None | Some(Value::Null) => false,
            Some(v) if with_snapshot_flag => boolish(v).ok_or_else(|| {
                Error::bad_request(format!(
                    "Invalid input for field/attribute no_snapshots. Value: {v}. {v} is not a valid boolean."
                ))
            })?,
            Some(_) => false,
        };
        Ok(Self {
            volume_id,
            name: opt_text(&b, "name")?,
            no_snapshots,
        })
    }
}

/// `POST .../{id}/accept` `{"accept": {"auth_key": "..."}}`.
#[derive(Debug, Clone)]
pub struct AcceptTransfer {
    pub auth_key: String,
}

impl TryFrom<Map<String, Value>> for AcceptTransfer {
    type Error = Error;

    fn try_from(b: Map<String, Value>) -> Result<Self> {
        match b.get("auth_key") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => Ok(Self { auth_key: s.clone() }),
            Some(other) => Err(Error::bad_request(format!(
                "Invalid input for field/attribute auth_key. Value: {}. {} is not of type 'string'",
                shown(&other.to_string()),
                shown(&other.to_string())
            ))),
            None => Err(Error::bad_request(
                "Invalid input for field/attribute accept. Value: {}. 'auth_key' is a required property",
            )),
        }
    }
}

/// Cinder's `parameter_types.boolean`: a JSON boolean or one of its strings.
fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" | "t" => Some(true),
            "false" | "0" | "no" | "off" | "n" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    rand::thread_rng().fill_bytes(&mut b);
    let mut s = hex(&b);
    s.truncate(n);
    s
}

fn crypt(salt: &str, key: &str) -> String {
    hex(&Sha256::digest(format!("{salt}{key}").as_bytes()))
}

/// Compares without an early exit (the hash is not secret, but keep it tidy).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl App {
    /// Offers a volume; returns the transfer and its auth key (shown only now).
    pub async fn create_transfer(&self, caller: &Caller, p: CreateTransfer) -> Result<(Transfer, String)> {
        own_project(caller)?;
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, &p.volume_id).await?;
        if v.status != VolumeStatus::Available {
            return Err(Error::bad_request("Invalid volume: status must be available"));
        }
        if !p.no_snapshots {
            for s in db::snapshots_of(&mut *tx, &v.id).await? {
                if s.status != SnapshotStatus::Available {
                    return Err(Error::bad_request(format!(
                        "Invalid snapshot: snapshot: {} status must be available",
                        s.id
                    )));
                }
            }
        }
        let key = random_hex(16);
        let salt = random_hex(16);
        let now = crate::db::now();
        let t = Transfer {
            id: uuid::Uuid::new_v4().to_string(),
            volume_id: v.id.to_string(),
            source_project_id: v.project_id.to_string(),
            destination_project_id: None,
            name: p.name,
            crypt_hash: crypt(&salt, &key),
            salt,
            no_snapshots: p.no_snapshots,
            accepted: false,
            created_at: now,
        };
        tdb::insert(&mut *tx, &t).await?;
        v.status = VolumeStatus::AwaitingTransfer;
        v.updated_at = Some(now);
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok((t, key))
    }

    /// A pending transfer of the caller's project (any project's for an admin), or 404.
    pub async fn get_transfer(&self, caller: &Caller, id: &str) -> Result<Transfer> {
        match tdb::get(&self.db, id).await? {
            Some(t) if crate::app::policy::in_project(caller, &t.source_project_id) => Ok(t),
            _ => Err(Error::not_found("transfer", id)),
        }
    }

    /// Pending transfers of the caller's project (every project's for an admin asking for
    /// `all_tenants`).
    pub async fn list_transfers(&self, caller: &Caller, all_projects: bool) -> Result<Vec<Transfer>> {
        if all_projects && caller.is_admin() {
            tdb::list_pending(&self.db, None).await
        } else {
            tdb::list_pending(&self.db, Some(&own_project(caller)?)).await
        }
    }

    /// Withdraws an offer: the volume is `available` again.
    pub async fn delete_transfer(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let t = match tdb::get(&mut *tx, id).await? {
            Some(t) if crate::app::policy::in_project(caller, &t.source_project_id) && !t.accepted => t,
            _ => return Err(Error::not_found("transfer", id)),
        };
        if !crate::app::policy::may_write(caller, &t.source_project_id) {
            return Err(Error::forbidden());
        }
        if let Some(mut v) = db::get(&mut *tx, &t.volume_id).await? {
            if v.status == VolumeStatus::AwaitingTransfer {
                v.status = VolumeStatus::Available;
                v.updated_at = Some(crate::db::now());
                db::update(&mut *tx, &v).await?;
            }
        }
        tdb::delete(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the volume into the caller's project with the auth key.
    pub async fn accept_transfer(&self, caller: &Caller, id: &str, p: AcceptTransfer) -> Result<Transfer> {
        let project = own_project(caller)?;
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        let mut t = tdb::get(&mut *tx, id)
            .await?
            .filter(|t| !t.accepted)
            .ok_or_else(|| Error::not_found("transfer", id))?;
        if !same(&crypt(&t.salt, &p.auth_key), &t.crypt_hash) {
            return Err(Error::bad_request(format!(
                "Invalid auth key: Attempt to transfer {id} with invalid auth key."
            )));
        }
        let v = db::get(&mut *tx, &t.volume_id)
            .await?
            .ok_or_else(|| Error::not_found("volume", &t.volume_id))?;
        if v.status != VolumeStatus::AwaitingTransfer {
            return Err(Error::bad_request(format!(
                "Invalid volume: Transfer {id}: Volume id {} in unexpected state {}, expected awaiting-transfer",
                v.id, v.status
            )));
        }
        let snaps = if t.no_snapshots {
            vec![]
        } else {
            db::snapshots_of(&mut *tx, &v.id).await?
        };
        let snap_gb: i64 = snaps.iter().map(|s| s.size).sum();
        let type_name = self.type_name(&mut tx, &v.volume_type_id).await?;
        self.check_volume_quota(
            &mut tx,
            &project,
            Some(&type_name),
            1,
            snaps.len() as i64,
            v.size + snap_gb,
        )
        .await?;
        let now = crate::db::now();
        tdb::move_volume(&mut *tx, &v.id, &project, caller.user_id(), now).await?;
        if !t.no_snapshots {
            tdb::move_snapshots(&mut *tx, &v.id, &project, caller.user_id(), now).await?;
        }
        tdb::mark_accepted(&mut *tx, id, &project).await?;
        tx.commit().await?;
        t.accepted = true;
        t.destination_project_id = Some(project);
        Ok(t)
    }
}

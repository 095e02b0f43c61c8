//! QoS specs (`/qos-specs`, admin only as in Cinder): named sets of free-form keys with a
//! consumer (`front-end`, `back-end`, `both`), associated with volume types. The keys Nova's
//! libvirt driver honours become, for front-end and both, a [`DiskThrottle`] on every
//! attached disk of those types: checked here as integers, applied by the agent with QMP.

use crate::app::identity::caller::Caller;
use crate::app::metadata_schema::shown;
use crate::app::App;
use crate::db::volume::qos::{self as qdb, QosSpecs};
use crate::db::volume::{self as db};
use crate::db::Tx;
use crate::error::{Error, Result};
use ciel_proto::DiskThrottle;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const CONSUMERS: &[&str] = &["front-end", "back-end", "both"];

/// The throttle keys, in the order of [`DiskThrottle`]'s fields.
const THROTTLE_KEYS: &[&str] = &[
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_bytes_sec_max",
    "read_bytes_sec_max",
    "write_bytes_sec_max",
    "total_iops_sec_max",
    "read_iops_sec_max",
    "write_iops_sec_max",
    "size_iops_sec",
];

/// A spec's keys: strings (numbers are taken as their text), keys of 1–255 characters.
fn spec_items(b: Map<String, Value>) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in b {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(Error::bad_request(format!(
                "Invalid input received: QoS spec key '{}' must be 1 to 255 characters.",
                shown(&k)
            )));
        }
        let v = match v {
            Value::String(s) if s.chars().count() <= 255 => s,
            Value::Number(n) => n.to_string(),
            other => {
                return Err(Error::bad_request(format!(
                    "Invalid input received: QoS spec value of '{}' must be a string of at most 255 characters, \
                     not {}.",
                    shown(&k),
                    shown(&other.to_string())
                )))
            }
        };
        out.insert(k, v);
    }
    Ok(out)
}

/// `POST /qos-specs` `{"qos_specs": {"name": ..., "consumer": ..., <key>: <value>...}}`.
#[derive(Debug, Clone)]
pub struct CreateQos {
    pub name: String,
    pub consumer: String,
    pub specs: BTreeMap<String, String>,
}

impl TryFrom<Map<String, Value>> for CreateQos {
    type Error = Error;

    fn try_from(mut b: Map<String, Value>) -> Result<Self> {
        let name = match b.remove("name") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 => s,
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(Error::bad_request(
                    "Invalid input received: QoS Specs name can not be empty.",
                ))
            }
            Some(other) => {
                return Err(Error::bad_request(format!(
                    "Invalid input received: QoS Specs name {} must be a string of 1 to 255 characters.",
                    shown(&other.to_string())
                )))
            }
            None => return Err(Error::bad_request("Please specify a name for QoS specs.")),
        };
        let consumer = match b.remove("consumer") {
            None | Some(Value::Null) => "back-end".to_string(),
            Some(Value::String(c)) if CONSUMERS.contains(&c.as_str()) => c,
            Some(_) => {
                return Err(Error::bad_request(
                    "Invalid input received: Valid consumer of QoS specs are: ['front-end', 'back-end', 'both']",
                ))
            }
        };
        let specs = spec_items(b)?;
        throttle_of(&specs)?;
        Ok(Self { name, consumer, specs })
    }
}

/// The I/O limits a spec's keys ask for (None when it names none), refused with 400 when a
/// value is not a non-negative integer QEMU takes, or the combination is one QEMU refuses.
pub fn throttle_of(specs: &BTreeMap<String, String>) -> Result<Option<DiskThrottle>> {
    let mut vals = [0u64; 13];
    let mut any = false;
    for (i, k) in THROTTLE_KEYS.iter().enumerate() {
        let Some(raw) = specs.get(*k) else { continue };
        let n: u64 = raw
            .trim()
            .parse()
            .ok()
            .filter(|n| *n <= DiskThrottle::MAX_VALUE)
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "Invalid input received: QoS spec {k} must be an integer from 0 to {}, not '{}'.",
                    DiskThrottle::MAX_VALUE,
                    shown(raw)
                ))
            })?;
        vals[i] = n;
        any |= n > 0;
    }
    if !any {
        return Ok(None);
    }
    let t = DiskThrottle {
        total_bytes_sec: vals[0],
        read_bytes_sec: vals[1],
        write_bytes_sec: vals[2],
        total_iops_sec: vals[3],
        read_iops_sec: vals[4],
        write_iops_sec: vals[5],
        total_bytes_sec_max: vals[6],
        read_bytes_sec_max: vals[7],
        write_bytes_sec_max: vals[8],
        total_iops_sec_max: vals[9],
        read_iops_sec_max: vals[10],
        write_iops_sec_max: vals[11],
        size_iops_sec: vals[12],
    };
    for (what, total, read, write) in [
        ("bytes_sec", t.total_bytes_sec, t.read_bytes_sec, t.write_bytes_sec),
        ("iops_sec", t.total_iops_sec, t.read_iops_sec, t.write_iops_sec),
        (
            "bytes_sec_max",
            t.total_bytes_sec_max,
            t.read_bytes_sec_max,
            t.write_bytes_sec_max,
        ),
        (
            "iops_sec_max",
            t.total_iops_sec_max,
            t.read_iops_sec_max,
            t.write_iops_sec_max,
        ),
    ] {
        if total > 0 && (read > 0 || write > 0) {
            return Err(Error::bad_request(format!(
                "Invalid input received: total_{what} cannot be set together with read_{what} or write_{what}."
            )));
        }
    }
    for (max, base, name) in [
        (t.total_bytes_sec_max, t.total_bytes_sec, "total_bytes_sec"),
        (t.read_bytes_sec_max, t.read_bytes_sec, "read_bytes_sec"),
        (t.write_bytes_sec_max, t.write_bytes_sec, "write_bytes_sec"),
        (t.total_iops_sec_max, t.total_iops_sec, "total_iops_sec"),
        (t.read_iops_sec_max, t.read_iops_sec, "read_iops_sec"),
        (t.write_iops_sec_max, t.write_iops_sec, "write_iops_sec"),
    ] {
        if max > 0 && (base == 0 || max < base) {
            return Err(Error::bad_request(format!(
                "Invalid input received: {name}_max needs {name} set, and may not be lower than it."
            )));
        }
    }
    Ok(Some(t))
}

/// The throttle attached disks of the volume type `type_id` get (front-end or both specs).
pub async fn throttle_for_type(tx: &mut Tx<'_>, type_id: &str) -> Result<Option<DiskThrottle>> {
    let Some(t) = db::get_type(&mut **tx, type_id).await? else {
        return Ok(None);
    };
    let Some(q) = t.qos_specs_id else { return Ok(None) };
    match qdb::get(&mut **tx, &q).await? {
        Some(q) if q.consumer != "back-end" => Ok(throttle_of(&super::parse_map(&q.specs)).unwrap_or(None)),
        _ => Ok(None),
    }
}

impl App {
    pub async fn create_qos(&self, caller: &Caller, p: CreateQos) -> Result<QosSpecs> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        if qdb::get_by_name(&mut *tx, &p.name).await?.is_some() {
            return Err(Error::conflict(format!("QoS Specs {} already exists.", p.name)));
        }
        let q = QosSpecs {
            id: uuid::Uuid::new_v4().to_string(),
            name: p.name,
            consumer: p.consumer,
            specs: super::to_json(&p.specs),
            created_at: crate::db::now(),
        };
        qdb::save(&mut *tx, &q).await?;
        tx.commit().await?;
        Ok(q)
    }

    pub async fn list_qos(&self, caller: &Caller) -> Result<Vec<QosSpecs>> {
        caller.require_admin()?;
        qdb::list(&self.db).await
    }

    pub async fn get_qos(&self, caller: &Caller, id: &str) -> Result<QosSpecs> {
        caller.require_admin()?;
        qdb::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("QoS spec", id))
    }

    async fn qos_in(&self, tx: &mut Tx<'_>, id: &str) -> Result<QosSpecs> {
        qdb::get(&mut **tx, id)
            .await?
            .ok_or_else(|| Error::not_found("QoS spec", id))
    }

    /// Wakes the hosts whose attached disks the spec limits.
    async fn qos_changed(&self, tx: &mut Tx<'_>, id: &str) -> Result<()> {
        for h in qdb::hosts_using(&mut **tx, id).await? {
            tx.host_changed(&h);
        }
        Ok(())
    }

    /// Sets keys (`PUT /qos-specs/{id}`); returns the keys set.
    pub async fn set_qos_keys(
        &self,
        caller: &Caller,
        id: &str,
        body: Map<String, Value>,
    ) -> Result<BTreeMap<String, String>> {
        caller.require_admin()?;
        let set = spec_items(body)?;
        let mut tx = self.begin().await?;
        let mut q = self.qos_in(&mut tx, id).await?;
        let mut specs = super::parse_map(&q.specs);
        specs.extend(set.clone());
        throttle_of(&specs)?;
        q.specs = super::to_json(&specs);
        qdb::save(&mut *tx, &q).await?;
        self.qos_changed(&mut tx, id).await?;
        tx.commit().await?;
        Ok(set)
    }

    /// Removes keys (`PUT /qos-specs/{id}/delete_keys`): 404 for a key it does not have.
    pub async fn unset_qos_keys(&self, caller: &Caller, id: &str, keys: &[String]) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut q = self.qos_in(&mut tx, id).await?;
        let mut specs = super::parse_map(&q.specs);
        for k in keys {
            if specs.remove(k).is_none() {
                return Err(Error::not_found("QoS spec key", k));
            }
        }
        q.specs = super::to_json(&specs);
        qdb::save(&mut *tx, &q).await?;
        self.qos_changed(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a spec; one still associated needs `force` (which disassociates it).
    pub async fn delete_qos(&self, caller: &Caller, id: &str, force: bool) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        self.qos_in(&mut tx, id).await?;
        if !qdb::associated_types(&mut *tx, id).await?.is_empty() {
            if !force {
                return Err(Error::bad_request(format!(
                    "QoS Specs {id} is still associated with entities."
                )));
            }
            self.qos_changed(&mut tx, id).await?;
            qdb::clear_all(&mut *tx, id).await?;
        }
        qdb::delete(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The volume types a spec is associated with.
    pub async fn qos_associations(&self, caller: &Caller, id: &str) -> Result<Vec<(String, String)>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        self.qos_in(&mut tx, id).await?;
        let out = qdb::associated_types(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Associates (`Some(type)`, `associate=true`), disassociates one type, or all
    /// (`type_id` None): the attached disks of those types get the new limits.
    pub async fn change_qos_association(
        &self,
        caller: &Caller,
        id: &str,
        type_id: Option<&str>,
        associate: bool,
    ) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        self.qos_in(&mut tx, id).await?;
        match type_id {
            None => {
                self.qos_changed(&mut tx, id).await?;
                qdb::clear_all(&mut *tx, id).await?;
            }
            Some(tid) => {
                let t = db::get_type(&mut *tx, tid)
                    .await?
                    .ok_or_else(|| Error::not_found("volume type", tid))?;
                if associate {
                    if let Some(other) = t.qos_specs_id.as_deref().filter(|o| *o != id) {
                        return Err(Error::bad_request(format!(
                            "Invalid volume type: Type {tid} is already associated with another qos specs: {other}"
                        )));
                    }
                    qdb::set_type_spec(&mut *tx, tid, Some(id)).await?;
                } else if t.qos_specs_id.as_deref() == Some(id) {
                    qdb::set_type_spec(&mut *tx, tid, None).await?;
                }
                for h in qdb::hosts_using_type(&mut *tx, tid).await? {
                    tx.host_changed(&h);
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

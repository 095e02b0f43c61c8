//! Nova's `block_device_mapping_v2`: servers booted from a volume (made from an image or a
//! snapshot, or an existing one) and volumes attached at boot. Runs inside the transaction
//! that creates the server, so a failure leaves neither the server nor a volume behind.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::volume::{self as db, Attachment, AttachmentStatus, SnapshotStatus, Volume, VolumeStatus};
use crate::db::Tx;
use crate::error::{Error, Result};
use serde_json::Value;

/// One mapping Ciel serves: a volume destination.
#[derive(Debug, Clone)]
pub struct BlockDevice {
    pub boot_index: Option<i64>,
    /// `image`, `volume` or `snapshot`.
    pub source: String,
    pub uuid: String,
    pub size: Option<i64>,
    pub delete_on_termination: bool,
}

/// Parses `block_device_mapping_v2`; mappings onto local disks from the server's own image
/// are the default boot and are dropped.
pub fn parse(v: Option<Value>) -> Result<Vec<BlockDevice>> {
    let bad = |why: String| Error::bad_request(format!("Block Device Mapping is Invalid: {why}"));
    let items = match v {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad("block_device_mapping_v2 must be a list".into())),
    };
    let mut out = vec![];
    for i in items {
        let Value::Object(m) = i else {
            return Err(bad("each mapping must be an object".into()));
        };
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        let int = |k: &str| -> Result<Option<i64>> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_i64()),
                Some(Value::String(t)) => t.parse().map(Some).map_err(|_| bad(format!("{k} must be an integer"))),
                Some(_) => Err(bad(format!("{k} must be an integer"))),
            }
        };
        let source = s("source_type").unwrap_or_else(|| "volume".into());
        let dest = s("destination_type").unwrap_or_else(|| if source == "image" { "local" } else { "volume" }.into());
        let boot_index = int("boot_index")?;
        match (source.as_str(), dest.as_str()) {
            ("image", "local") => continue,
            ("image" | "volume" | "snapshot", "volume") => {}
            (s, d) => return Err(bad(format!("source {s} with destination {d} is not supported"))),
        }
        let uuid = s("uuid").ok_or_else(|| bad("uuid is required".into()))?;
        let size = int("volume_size")?;
        if size.is_some_and(|n| n < 1) {
            return Err(bad("volume_size must be a positive integer".into()));
        }
        let delete_on_termination = match m.get("delete_on_termination") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(t)) => matches!(t.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
            _ => false,
        };
        out.push(BlockDevice {
            boot_index,
            source,
            uuid,
            size,
            delete_on_termination,
        });
    }
    if out.iter().filter(|b| b.boot_index == Some(0)).count() > 1 {
        return Err(bad("more than one boot device".into()));
    }
    Ok(out)
}

/// Where a volume's server can run.
pub(crate) enum VolumePlace {
    /// On this host only (a local volume).
    Host(String),
    /// On any host that reaches this shared backend.
    Backend(String),
}

impl App {
    /// Where the server of a mapping of an existing volume or of a snapshot must go: the
    /// host of a local volume, or any host reaching its shared backend.
    pub(crate) async fn block_device_host(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        b: &BlockDevice,
    ) -> Result<Option<VolumePlace>> {
        let volume_id = match b.source.as_str() {
            "volume" => b.uuid.clone(),
            "snapshot" => {
                db::get_snapshot(&mut **tx, &b.uuid)
                    .await?
                    .filter(|s| crate::app::policy::in_project(caller, &s.project_id))
                    .ok_or_else(|| Error::bad_request(format!("Invalid snapshot {}", b.uuid)))?
                    .volume_id
            }
            _ => return Ok(None),
        };
        let v = db::get(&mut **tx, &volume_id)
            .await?
            .filter(|v| crate::app::policy::in_project(caller, &v.project_id))
            .ok_or_else(|| Error::bad_request(format!("Invalid volume {volume_id}")))?;
        if super::types::is_shared(&v.backend) {
            return Ok(Some(VolumePlace::Backend(v.backend)));
        }
        Ok(v.host_id.map(|h| VolumePlace::Host(h.into_string())))
    }

    /// Gives server `server` on `host` the volume of mapping `b`: made from an image or a
    /// snapshot (counted against the volume quota), or an available volume; attached as the
    /// root disk (`boot_index` 0, /dev/vda) or as the next disk.
    pub(crate) async fn attach_block_device(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        server: &str,
        host: &str,
        b: &BlockDevice,
        device: String,
    ) -> Result<()> {
        let now = crate::db::now();
        let project = super::own_project(caller)?;
        let root = b.boot_index == Some(0);
        let volume_id = match b.source.as_str() {
            "volume" => {
                let mut v = super::visible(caller, db::get(&mut **tx, &b.uuid).await?, &b.uuid)
                    .map_err(|_| Error::bad_request(format!("Invalid volume {}", b.uuid)))?;
                if v.status != VolumeStatus::Available {
                    return Err(Error::bad_request(format!(
                        "Invalid volume: volume {} status must be 'available'. Currently in '{}'",
                        v.id, v.status
                    )));
                }
                if root && !v.bootable {
                    return Err(Error::bad_request(format!("Block Device {} is not bootable.", v.id)));
                }
                v.status = if root {
                    VolumeStatus::InUse
                } else {
                    VolumeStatus::Attaching
                };
                v.updated_at = Some(now);
                db::update(&mut **tx, &v).await?;
                v.id
            }
            source => {
                let (image_meta, min, snapshot_id, image_id, bootable, backend) = if source == "image" {
                    let (meta, min) = self.image_for_volume(caller, &b.uuid).await?;
                    (meta, min, None, Some(b.uuid.clone()), true, None)
                } else {
                    let s = db::get_snapshot(&mut **tx, &b.uuid)
                        .await?
                        .filter(|s| {
                            crate::app::policy::in_project(caller, &s.project_id)
                                && s.status == SnapshotStatus::Available
                        })
                        .ok_or_else(|| Error::bad_request(format!("Invalid snapshot {}", b.uuid)))?;
                    let src = db::get(&mut **tx, &s.volume_id).await?;
                    let meta = src
                        .as_ref()
                        .map(|v| super::parse_map(&v.image_metadata))
                        .unwrap_or_default();
                    let backend = src.as_ref().map(|v| v.backend.clone());
                    (meta, s.size, Some(s.id), None, src.is_some_and(|v| v.bootable), backend)
                };
                let size = b.size.unwrap_or(min);
                if size < min {
                    return Err(Error::bad_request(format!(
                        "Volume size {size}GB is smaller than its source ({min}GB)."
                    )));
                }
                let vtype = db::get_type_by_name(&mut **tx, super::types::DEFAULT_TYPE)
                    .await?
                    .ok_or_else(|| Error::Internal("the default volume type is missing".into()))?;
                self.refuse_encrypted(tx, &vtype).await?;
                self.check_volume_quota(tx, &project, Some(&vtype.name), 1, 0, size)
                    .await?;
                let backend = backend.unwrap_or_else(|| super::types::backend_of(&vtype));
                let v = Volume {
                    id: uuid::Uuid::new_v4().to_string().into(),
                    project_id: project.as_str().into(),
                    user_id: caller.user_id().into(),
                    name: Some(String::new()),
                    description: None,
                    size,
                    status: if root {
                        VolumeStatus::InUse
                    } else {
                        VolumeStatus::Attaching
                    },
                    availability_zone: super::ZONE.into(),
                    volume_type_id: vtype.id,
                    host_id: Some(host.into()),
                    source_volid: None,
                    snapshot_id: snapshot_id.map(Into::into),
                    image_id,
                    bootable,
                    read_only: None,
                    metadata: "{}".into(),
                    image_metadata: super::to_json(&image_meta),
                    fault: None,
                    created_at: now,
                    updated_at: Some(now),
                    backend,
                };
                db::insert(&mut **tx, &v).await?;
                v.id
            }
        };
        let a = Attachment {
            id: uuid::Uuid::new_v4().to_string(),
            volume_id: volume_id.into_string(),
            server_id: server.to_string(),
            device: if root { "/dev/vda".into() } else { device },
            status: if root {
                AttachmentStatus::Attached
            } else {
                AttachmentStatus::Attaching
            },
            boot_index: b.boot_index,
            delete_on_termination: b.delete_on_termination,
            created_at: now,
        };
        db::insert_attachment(&mut **tx, &a).await
    }
}

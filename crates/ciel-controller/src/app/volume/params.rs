//! Typed request bodies of the block storage API (Cinder v3, and Nova's 2.1 proxies onto
//! it). Each type is checked once, where it is built from the request's JSON object, with
//! Cinder's error texts; the `App` methods take these types.
//!
//! Every type is `Deserialize` (through `TryFrom<Map>`), and the HTTP edge calls
//! `try_from` directly so that the error keeps its status code and exact text.

use super::{metadata, opt_text, size_gb};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Body = Map<String, Value>;

/// A string field that may be given under a second (older) name: `name`/`display_name`.
fn text_or(body: &Body, key: &str, old: &str) -> Result<Option<String>> {
    Ok(opt_text(body, key)?.or(opt_text(body, old)?))
}

/// For an update: None when neither name is present, Some(value) (possibly null) otherwise.
fn change_text(body: &Body, key: &str, old: &str) -> Result<Option<Option<String>>> {
    if body.contains_key(key) || body.contains_key(old) {
        Ok(Some(text_or(body, key, old)?))
    } else {
        Ok(None)
    }
}

/// An optional metadata object (null or absent: empty).
fn opt_metadata(body: &Body, key: &str) -> Result<BTreeMap<String, String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(v) => metadata(v),
    }
}

/// `POST /volumes` `{"volume": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateVolume {
    /// GiB; may be left out when the volume copies a snapshot or another volume.
    pub size: Option<i64>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    /// `imageRef` (or `image_id`).
    pub image_id: Option<String>,
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub volume_type: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// A generic volume group to join (3.13+); the volume's type must be one of its types.
    pub group_id: Option<String>,
}

impl TryFrom<Body> for CreateVolume {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        let size = match body.get("size") {
            None | Some(Value::Null) => None,
            Some(v) => Some(size_gb(v)?),
        };
        let snapshot_id = opt_text(&body, "snapshot_id")?;
        let source_volid = opt_text(&body, "source_volid")?;
        let image_id = text_or(&body, "imageRef", "image_id")?;
        if [&snapshot_id, &source_volid, &image_id]
            .iter()
            .filter(|s| s.is_some())
            .count()
            > 1
        {
            return Err(Error::bad_request(
                "Invalid input received: only one of snapshot_id, source_volid and imageRef may be given.",
            ));
        }
        let availability_zone = opt_text(&body, "availability_zone")?;
        if let Some(zone) = availability_zone.as_deref().filter(|z| *z != super::ZONE) {
            return Err(Error::bad_request(format!(
                "Invalid input received: Availability zone '{zone}' is invalid."
            )));
        }
        Ok(Self {
            size,
            snapshot_id,
            source_volid,
            image_id,
            availability_zone,
            metadata: opt_metadata(&body, "metadata")?,
            volume_type: opt_text(&body, "volume_type")?,
            name: text_or(&body, "name", "display_name")?,
            description: text_or(&body, "description", "display_description")?,
            group_id: opt_text(&body, "group_id")?,
        })
    }
}

/// Nova's 2.1 proxies (`/os-volumes`, `/os-snapshots`) name the text fields
/// `display_name`/`display_description`, which win over `name`/`description`.
fn from_nova(mut b: Body) -> Body {
    for (old, new) in [("display_name", "name"), ("display_description", "description")] {
        if let Some(v) = b.remove(old) {
            b.insert(new.into(), v);
        }
    }
    b
}

impl CreateVolume {
    /// `POST /os-volumes` (Nova 2.1) `{"volume": {...}}`: `size` is required there.
    pub fn from_nova(b: Body) -> Result<Self> {
        if b.get("size").is_none_or(Value::is_null) {
            return Err(Error::bad_request("Invalid input for field/attribute size."));
        }
        Self::try_from(from_nova(b))
    }
}

impl CreateSnapshot {
    /// `POST /os-snapshots` (Nova 2.1) `{"snapshot": {...}}`.
    pub fn from_nova(b: Body) -> Result<Self> {
        Self::try_from(from_nova(b))
    }
}

/// `PUT /volumes/{id}` `{"volume": {...}}`: only what is given changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateVolume {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub metadata: Option<BTreeMap<String, String>>,
}

impl TryFrom<Body> for UpdateVolume {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Ok(Self {
            name: change_text(&body, "name", "display_name")?,
            description: change_text(&body, "description", "display_description")?,
            metadata: body.get("metadata").map(metadata).transpose()?,
        })
    }
}

/// `POST /snapshots` `{"snapshot": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateSnapshot {
    pub volume_id: String,
    /// Required for an in-use volume (Cinder before 3.66; Ciel serves up to 3.57).
    pub force: bool,
    pub metadata: BTreeMap<String, String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

impl TryFrom<Body> for CreateSnapshot {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        let volume_id = opt_text(&body, "volume_id")?.ok_or_else(|| {
            Error::bad_request("Invalid input for field/attribute volume_id: 'volume_id' is a required property")
        })?;
        let force = match body.get("force") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if ["true", "false", "True", "False", "0", "1"].contains(&s.as_str()) => {
                matches!(s.as_str(), "true" | "True" | "1")
            }
            Some(other) => return Err(Error::bad_request(format!("Invalid value for 'force': {other}"))),
        };
        Ok(Self {
            volume_id,
            force,
            metadata: opt_metadata(&body, "metadata")?,
            name: text_or(&body, "name", "display_name")?,
            description: text_or(&body, "description", "display_description")?,
        })
    }
}

/// `PUT /snapshots/{id}` `{"snapshot": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateSnapshot {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
}

impl TryFrom<Body> for UpdateSnapshot {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Ok(Self {
            name: change_text(&body, "name", "display_name")?,
            description: change_text(&body, "description", "display_description")?,
        })
    }
}

/// A boolean as Cinder's types API takes it (`true`, `"True"`, `"1"`, `"no"`, ...).
fn type_bool(body: &Body, key: &str) -> Result<Option<bool>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(Error::bad_request(format!("Invalid value '{s}' for {key}"))),
        },
        Some(other) => Err(Error::bad_request(format!("Invalid value '{other}' for {key}"))),
    }
}

fn type_name(n: String) -> Result<String> {
    if n.trim().is_empty() {
        return Err(Error::bad_request("Volume type name can not be empty."));
    }
    Ok(n)
}

/// `POST /types` `{"volume_type": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateVolumeType {
    pub name: String,
    pub description: Option<String>,
    /// `os-volume-type-access:is_public`, default true.
    pub is_public: bool,
    pub extra_specs: ExtraSpecs,
}

impl TryFrom<Body> for CreateVolumeType {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        let name = opt_text(&body, "name")?
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| Error::bad_request("Volume type name can not be empty."))?;
        Ok(Self {
            name,
            extra_specs: ExtraSpecs(opt_metadata(&body, "extra_specs")?),
            description: opt_text(&body, "description")?,
            is_public: type_bool(&body, "os-volume-type-access:is_public")?.unwrap_or(true),
        })
    }
}

/// `PUT /types/{id}` `{"volume_type": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateVolumeType {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
}

impl TryFrom<Body> for UpdateVolumeType {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        Ok(Self {
            name: opt_text(&body, "name")?.map(type_name).transpose()?,
            description: if body.contains_key("description") {
                Some(opt_text(&body, "description")?)
            } else {
                None
            },
            is_public: type_bool(&body, "is_public")?,
        })
    }
}

/// A volume type's extra specs: open key/value strings (Cinder's metadata rules), of which
/// Ciel reads `volume_backend_name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraSpecs(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for ExtraSpecs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        metadata(&v).map(ExtraSpecs).map_err(serde::de::Error::custom)
    }
}

/// A metadata body: `{"metadata": {...}}` (volume or snapshot metadata, extra specs under
/// `extra_specs`, image metadata), or `{"meta": {key: value}}` for one item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata(pub BTreeMap<String, String>);

impl Metadata {
    /// The object under `key`; `required` gives the error when it is absent (otherwise an
    /// absent key reads as null, which is refused as not an object).
    pub fn under(body: Value, key: &str, required: Option<&str>) -> Result<Self> {
        match body.get(key) {
            Some(v) => metadata(v).map(Self),
            None => match required {
                Some(why) => Err(Error::bad_request(why)),
                None => metadata(&Value::Null).map(Self),
            },
        }
    }
}

/// `POST /types/{id}/action`: `addProjectAccess` / `removeProjectAccess`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct TypeAccessAction {
    /// true: `addProjectAccess`.
    pub add: bool,
    pub project: String,
}

impl TryFrom<Value> for TypeAccessAction {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let (add, arg) = if let Some(a) = v.get("addProjectAccess") {
            (true, a)
        } else if let Some(a) = v.get("removeProjectAccess") {
            (false, a)
        } else {
            return Err(Error::bad_request("Invalid volume type action"));
        };
        let project = arg
            .get("project")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::bad_request("Access list for a volume type needs a 'project'"))?;
        Ok(Self {
            add,
            project: project.to_owned(),
        })
    }
}

/// `POST /attachments` `{"attachment": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateAttachment {
    pub volume_uuid: String,
    pub instance_uuid: Option<String>,
}

impl TryFrom<Body> for CreateAttachment {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        let text = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            volume_uuid: text("volume_uuid")
                .ok_or_else(|| Error::bad_request("Invalid input received: volume_uuid is required."))?,
            instance_uuid: text("instance_uuid"),
        })
    }
}

/// `PUT /attachments/{id}` `{"attachment": {"connector": {...}}}`: the connector Nova
/// sends (what it holds does not matter to Ciel, whose agent plugs the disk in).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateAttachment {
    pub connector: Map<String, Value>,
}

impl TryFrom<Body> for UpdateAttachment {
    type Error = Error;

    fn try_from(mut b: Body) -> Result<Self> {
        match b.remove("connector") {
            Some(Value::Object(connector)) => Ok(Self { connector }),
            _ => Err(Error::bad_request("Invalid input received: connector is required.")),
        }
    }
}

/// `os-volume_upload_image`: the image to make of a volume.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct UploadImage {
    pub image_name: String,
    /// `raw` (default) or `qcow2`.
    pub disk_format: String,
    pub container_format: String,
    pub force: bool,
    pub visibility: Option<String>,
    pub protected: Option<bool>,
}

impl TryFrom<Body> for UploadImage {
    type Error = Error;

    fn try_from(body: Body) -> Result<Self> {
        let image_name = opt_text(&body, "image_name")?
            .ok_or_else(|| Error::bad_request("Invalid input received: 'image_name' is required"))?;
        let disk_format = opt_text(&body, "disk_format")?.unwrap_or_else(|| "raw".into());
        if !matches!(disk_format.as_str(), "raw" | "qcow2") {
            return Err(Error::bad_request(format!(
                "Invalid input received: disk_format {disk_format} is not supported (raw, qcow2)."
            )));
        }
        Ok(Self {
            image_name,
            disk_format,
            container_format: opt_text(&body, "container_format")?.unwrap_or_else(|| "bare".into()),
            force: matches!(body.get("force"), Some(Value::Bool(true))),
            visibility: opt_text(&body, "visibility")?,
            protected: body.get("protected").and_then(Value::as_bool),
        })
    }
}

/// The bookkeeping actions Nova calls around an attach or detach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bookkeeping {
    Reserve,
    Unreserve,
    BeginDetaching,
    RollDetaching,
}

impl Bookkeeping {
    /// The action's name in Cinder's API (and in its error texts).
    pub fn name(self) -> &'static str {
        match self {
            Self::Reserve => "os-reserve",
            Self::Unreserve => "os-unreserve",
            Self::BeginDetaching => "os-begin_detaching",
            Self::RollDetaching => "os-roll_detaching",
        }
    }
}

/// `POST /volumes/{id}/action`: one action, named by the body's only key (externally
/// tagged, as Cinder's API has it).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub enum VolumeAction {
    Extend {
        new_size: i64,
    },
    SetBootable {
        bootable: bool,
    },
    UpdateReadonlyFlag {
        readonly: bool,
    },
    ResetStatus {
        status: String,
    },
    Bookkeeping(Bookkeeping),
    Attach {
        instance_uuid: String,
        mountpoint: Option<String>,
    },
    Detach,
    ForceDelete,
    ForceDetach,
    Retype {
        new_type: String,
        migration_policy: MigrationPolicy,
    },
    /// `os-migrate_volume` (admin).
    Migrate(MigrateVolume),
    SetImageMetadata {
        metadata: BTreeMap<String, String>,
    },
    UnsetImageMetadata {
        key: String,
    },
    ShowImageMetadata,
    UploadImage(UploadImage),
}

/// What a retype may do when the new type's backend is not the volume's: move the data
/// (`on-demand`) or refuse (`never`, the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MigrationPolicy {
    #[default]
    Never,
    OnDemand,
}

impl MigrationPolicy {
    fn parse(v: Option<&Value>) -> Result<Self> {
        match v {
            None | Some(Value::Null) => Ok(Self::Never),
            Some(Value::String(s)) if s == "never" => Ok(Self::Never),
            Some(Value::String(s)) if s == "on-demand" => Ok(Self::OnDemand),
            Some(other) => {
                let shown = other.as_str().map(str::to_owned).unwrap_or_else(|| other.to_string());
                Err(Error::bad_request(format!(
                    "Invalid input received: migration_policy must be 'on-demand' or 'never', passed: {}",
                    crate::app::metadata_schema::shown(&shown)
                )))
            }
        }
    }
}

/// `os-migrate_volume`: `host` names the destination as `host@backend` or
/// `host@backend#pool` (a Cinder pool); `force_host_copy` is accepted (Ciel's copy is
/// always host-based); `lock_volume` is accepted (the volume is always locked meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateVolume {
    pub host: String,
    pub force_host_copy: bool,
    pub lock_volume: bool,
}

impl TryFrom<Body> for MigrateVolume {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        let host = match b.get("host") {
            Some(Value::String(h)) if !h.is_empty() && h.chars().count() <= 255 => h.clone(),
            Some(Value::String(_)) | Some(Value::Null) | None => {
                return Err(Error::bad_request("Invalid input received: Must specify 'host'."))
            }
            Some(other) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute host. Value: {other}. {other} is not of type 'string'"
                )))
            }
        };
        let flag = |k: &str| match b.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(_) => bool_arg(&b, k),
        };
        Ok(Self {
            host,
            force_host_copy: flag("force_host_copy")?,
            lock_volume: flag("lock_volume")?,
        })
    }
}

/// An action's boolean argument: a JSON boolean or one of Cinder's spellings of one.
fn bool_arg(b: &Body, key: &str) -> Result<bool> {
    match b.get(key) {
        Some(Value::Bool(v)) => Ok(*v),
        Some(Value::String(s)) if matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on") => Ok(true),
        Some(Value::String(s)) if matches!(s.to_ascii_lowercase().as_str(), "false" | "0" | "no" | "off") => Ok(false),
        _ => Err(Error::bad_request(format!(
            "Invalid value for '{key}': must be a boolean."
        ))),
    }
}

fn str_arg(b: &Body, key: &str) -> Result<String> {
    b.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::bad_request(format!("Must specify '{key}'")))
}

/// The action's name and its argument object (null reads as `{}`).
fn action_of(m: Body) -> Result<(String, Body)> {
    let Some((name, arg)) = m.into_iter().next() else {
        return Err(Error::bad_request("Malformed request body: no action"));
    };
    let arg = match arg {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        _ => return Err(Error::bad_request(format!("Invalid {name} body"))),
    };
    Ok((name, arg))
}

impl VolumeAction {
    /// From the whole request body, which must be a JSON object.
    pub fn from_body(v: Value) -> Result<Self> {
        let Value::Object(m) = v else {
            return Err(Error::bad_request("Malformed request body"));
        };
        Self::try_from(m)
    }
}

impl TryFrom<Body> for VolumeAction {
    type Error = Error;

    fn try_from(m: Body) -> Result<Self> {
        let (name, arg) = action_of(m)?;
        Ok(match name.as_str() {
            "os-extend" => Self::Extend {
                new_size: size_gb(arg.get("new_size").unwrap_or(&Value::Null))?,
            },
            "os-set_bootable" => Self::SetBootable {
                bootable: bool_arg(&arg, "bootable")?,
            },
            "os-update_readonly_flag" => Self::UpdateReadonlyFlag {
                readonly: bool_arg(&arg, "readonly")?,
            },
            "os-reset_status" => Self::ResetStatus {
                status: str_arg(&arg, "status")?,
            },
            "os-reserve" => Self::Bookkeeping(Bookkeeping::Reserve),
            "os-unreserve" => Self::Bookkeeping(Bookkeeping::Unreserve),
            "os-begin_detaching" => Self::Bookkeeping(Bookkeeping::BeginDetaching),
            "os-roll_detaching" => Self::Bookkeeping(Bookkeeping::RollDetaching),
            "os-attach" => Self::Attach {
                instance_uuid: str_arg(&arg, "instance_uuid")?,
                mountpoint: arg.get("mountpoint").and_then(Value::as_str).map(str::to_owned),
            },
            "os-detach" => Self::Detach,
            "os-force_delete" => Self::ForceDelete,
            "os-force_detach" => Self::ForceDetach,
            "os-retype" => Self::Retype {
                new_type: str_arg(&arg, "new_type")?,
                migration_policy: MigrationPolicy::parse(arg.get("migration_policy"))?,
            },
            "os-migrate_volume" => Self::Migrate(MigrateVolume::try_from(arg)?),
            "os-set_image_metadata" => Self::SetImageMetadata {
                metadata: metadata(arg.get("metadata").unwrap_or(&Value::Null))?,
            },
            "os-unset_image_metadata" => Self::UnsetImageMetadata {
                key: str_arg(&arg, "key")?,
            },
            "os-show_image_metadata" => Self::ShowImageMetadata,
            "os-volume_upload_image" => Self::UploadImage(UploadImage::try_from(arg)?),
            other => return Err(Error::bad_request(format!("There is no such action: {other}"))),
        })
    }
}

/// `POST /snapshots/{id}/action`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum SnapshotAction {
    ResetStatus { status: String },
    UpdateStatus { status: String, progress: Option<String> },
    ForceDelete,
}

impl TryFrom<Value> for SnapshotAction {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let status_of = |a: &Value| -> Result<String> {
            a.get("status")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::bad_request("Must specify 'status'"))
        };
        if let Some(a) = v.get("os-reset_status") {
            Ok(Self::ResetStatus { status: status_of(a)? })
        } else if let Some(a) = v.get("os-update_snapshot_status") {
            Ok(Self::UpdateStatus {
                status: status_of(a)?,
                progress: a.get("progress").and_then(Value::as_str).map(str::to_owned),
            })
        } else if v.get("os-force_delete").is_some() {
            Ok(Self::ForceDelete)
        } else {
            Err(Error::bad_request("There is no such snapshot action"))
        }
    }
}

/// Limits by resource name. The names are open (`volumes_<type>` for every type), the
/// values integers (or strings of one).
fn quota_values(b: Body, skip: &[&str]) -> Result<BTreeMap<String, i64>> {
    let mut values = BTreeMap::new();
    for (k, v) in b {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let n = v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| Error::bad_request(format!("Quota {k} must be an integer.")))?;
        values.insert(k, n);
    }
    Ok(values)
}

/// `PUT /os-quota-sets/{project}` `{"quota_set": {...}}` (its `tenant_id`/`id` ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct QuotaSet(pub BTreeMap<String, i64>);

impl TryFrom<Body> for QuotaSet {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        quota_values(b, &["tenant_id", "id"]).map(Self)
    }
}

/// `PUT /os-quota-class-sets/{class}` `{"quota_class_set": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct QuotaClassSet(pub BTreeMap<String, i64>);

impl TryFrom<Body> for QuotaClassSet {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        quota_values(b, &[]).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn volume_create_is_checked_with_cinders_texts() {
        let v = CreateVolume::try_from(body(json!({"size": "2", "display_name": "a"}))).unwrap();
        assert_eq!((v.size, v.name.as_deref()), (Some(2), Some("a")));
        let e = CreateVolume::try_from(body(json!({"size": 0}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input received: 'size' parameter must be an integer greater than 0, got 0."
        );
        let e = CreateVolume::try_from(body(json!({"size": 1, "snapshot_id": "a", "imageRef": "b"}))).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(serde_json::from_value::<CreateVolume>(json!({"size": 1, "name": 5})).is_err());
    }

    #[test]
    fn actions_are_one_tagged_variant() {
        let a = VolumeAction::from_body(json!({"os-extend": {"new_size": 3}})).unwrap();
        assert!(matches!(a, VolumeAction::Extend { new_size: 3 }));
        assert!(matches!(
            VolumeAction::from_body(json!({"os-detach": null})).unwrap(),
            VolumeAction::Detach
        ));
        let e = VolumeAction::from_body(json!({"os-nope": {}})).unwrap_err();
        assert_eq!(e.to_string(), "There is no such action: os-nope");
        let e = VolumeAction::from_body(json!({"os-set_bootable": {"bootable": "maybe"}})).unwrap_err();
        assert_eq!(e.to_string(), "Invalid value for 'bootable': must be a boolean.");
    }

    #[test]
    fn updates_tell_absent_from_null() {
        let u = UpdateVolume::try_from(body(json!({"name": null}))).unwrap();
        assert_eq!(u.name, Some(None));
        assert_eq!(u.description, None);
    }
}

//! Typed request bodies of the image API (Glance v2): image create, the JSON-patch of an
//! image update, members. Each is checked once, with Glance's error texts and status codes,
//! where it is built from the request's JSON; the `App` methods take these types, and
//! internal callers (server snapshots, volume uploads, seeds) build them with the same
//! checking constructors.
//!
//! Every type is `Deserialize` (through `TryFrom`), and the HTTP edge calls `try_from`
//! directly so that the error keeps its status code (403 for read-only attributes).

use super::{CONTAINER_FORMATS, CORE, DISK_FORMATS, READ_ONLY, VISIBILITIES};
use crate::db::image::MemberStatus;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

pub(crate) fn read_only(attr: &str) -> Error {
    Error::Forbidden(format!("Attribute '{attr}' is read-only."))
}

/// Glance reserves the `os_glance_` prefix for its own properties.
fn check_reserved(attr: &str) -> Result<()> {
    if attr.starts_with("os_glance") {
        return Err(Error::Forbidden(format!("Attribute '{attr}' is reserved.")));
    }
    Ok(())
}

/// The longest property value Glance stores (its `image_properties.value` is a TEXT column).
const MAX_PROPERTY_VALUE: usize = 65535;
/// `os_command_line` becomes the guest kernel's command line (QEMU `-append`); Linux on x86
/// takes at most 2048 bytes (COMMAND_LINE_SIZE).
const MAX_COMMAND_LINE: usize = 2048;

/// Glance's image schema: `kernel_id`/`ramdisk_id` are UUIDs (the host loads those images as
/// kernel and initrd, so anything else must never reach it); Ciel adds that the kernel
/// command line is printable text of bounded length, and bounds every value.
pub(crate) fn check_property(attr: &str, value: &str) -> Result<()> {
    let schema = |why: String| Error::bad_request(format!("Provided object does not match schema 'image': {why}"));
    match attr {
        "kernel_id" | "ramdisk_id" => {
            let hyphenated = value.len() == 36 && uuid::Uuid::try_parse(value).is_ok();
            if !hyphenated {
                return Err(schema(format!(
                    "'{}' does not match '^([0-9a-fA-F]){{8}}-([0-9a-fA-F]){{4}}-([0-9a-fA-F]){{4}}-([0-9a-fA-F]){{4}}-([0-9a-fA-F]){{12}}$'",
                    value.chars().take(64).collect::<String>().escape_debug()
                )));
            }
        }
        "os_command_line" => {
            if value.len() > MAX_COMMAND_LINE {
                return Err(schema(format!(
                    "os_command_line is too long: at most {MAX_COMMAND_LINE} bytes"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(schema(
                    "os_command_line must not contain control characters (newlines, tabs, NUL)".into(),
                ));
            }
        }
        _ => {}
    }
    if value.chars().count() > MAX_PROPERTY_VALUE {
        return Err(schema(format!(
            "the value of '{attr}' is too long: at most {MAX_PROPERTY_VALUE} characters"
        )));
    }
    Ok(())
}

fn want_str(attr: &str, v: Value, nullable: bool) -> Result<Option<String>> {
    match v {
        Value::Null if nullable => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(Error::bad_request(format!("Invalid value for '{attr}': {other}"))),
    }
}

fn want_bool(attr: &str, v: Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(Error::bad_request(format!(
            "Invalid value for '{attr}': {other} is not a boolean"
        ))),
    }
}

fn want_size(attr: &str, v: &Value) -> Result<i64> {
    match v.as_i64() {
        Some(n) if (0..=i32::MAX as i64).contains(&n) => Ok(n),
        _ => Err(Error::bad_request(format!(
            "Invalid value for '{attr}': must be a non-negative integer"
        ))),
    }
}

fn one_of(attr: &str, value: Option<String>, allowed: &[&str]) -> Result<Option<String>> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(Error::bad_request(format!(
            "Invalid value '{v}' for '{attr}': must be one of {}",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

/// A list of image tags: strings of at most 255 characters.
pub(crate) fn tag_list(v: Value) -> Result<Vec<String>> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|t| match t {
                Value::String(s) if s.chars().count() <= 255 => Ok(s),
                other => Err(Error::bad_request(format!("Invalid tag: {other}"))),
            })
            .collect(),
        other => Err(Error::bad_request(format!("Invalid tags: {other} is not a list"))),
    }
}

/// One attribute of an image with its checked value, as a create body or a patch sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageAttr {
    Name(Option<String>),
    /// One of `VISIBILITIES`.
    Visibility(String),
    Protected(bool),
    OsHidden(bool),
    /// Admins only (checked where the caller is known).
    Owner(Option<String>),
    /// One of `DISK_FORMATS`; changeable only while the image is queued.
    DiskFormat(Option<String>),
    /// One of `CONTAINER_FORMATS`; changeable only while the image is queued.
    ContainerFormat(Option<String>),
    MinDisk(i64),
    MinRam(i64),
    /// A free-form property (Glance's open key/values); None removes it (a null
    /// `kernel_id`/`ramdisk_id`, which Glance's schema makes nullable).
    Property(String, Option<String>),
}

impl ImageAttr {
    /// `attr` set to the JSON `value` of a request, validated as Glance's image schema does.
    pub fn parse(attr: &str, value: Value) -> Result<Self> {
        check_reserved(attr)?;
        Ok(match attr {
            "name" => Self::name(want_str(attr, value, true)?)?,
            "visibility" => Self::visibility(want_str(attr, value, false)?.unwrap_or_default())?,
            "protected" => Self::Protected(want_bool(attr, value)?),
            "os_hidden" => Self::OsHidden(want_bool(attr, value)?),
            "owner" => Self::Owner(want_str(attr, value, true)?),
            "disk_format" => Self::DiskFormat(one_of(attr, want_str(attr, value, true)?, DISK_FORMATS)?),
            "container_format" => Self::ContainerFormat(one_of(attr, want_str(attr, value, true)?, CONTAINER_FORMATS)?),
            "min_disk" => Self::MinDisk(want_size(attr, &value)?),
            "min_ram" => Self::MinRam(want_size(attr, &value)?),
            _ => {
                if attr.chars().count() > 255 {
                    return Err(Error::bad_request("Property names are at most 255 characters."));
                }
                match value {
                    Value::Null if matches!(attr, "kernel_id" | "ramdisk_id") => Self::Property(attr.into(), None),
                    Value::String(s) => Self::property(attr, s)?,
                    other => {
                        return Err(Error::bad_request(format!(
                            "Invalid value for property '{attr}': {other} is not a string"
                        )))
                    }
                }
            }
        })
    }

    /// A name of at most 255 characters.
    pub fn name(n: Option<String>) -> Result<Self> {
        if n.as_ref().is_some_and(|s| s.chars().count() > 255) {
            return Err(Error::bad_request("Invalid value for 'name': at most 255 characters"));
        }
        Ok(Self::Name(n))
    }

    pub fn visibility(v: String) -> Result<Self> {
        Ok(Self::Visibility(
            one_of("visibility", Some(v), VISIBILITIES)?.unwrap_or_default(),
        ))
    }

    pub fn disk_format(f: String) -> Result<Self> {
        Ok(Self::DiskFormat(one_of("disk_format", Some(f), DISK_FORMATS)?))
    }

    pub fn container_format(f: String) -> Result<Self> {
        Ok(Self::ContainerFormat(one_of(
            "container_format",
            Some(f),
            CONTAINER_FORMATS,
        )?))
    }

    /// A free-form property set to a string (not one of the core attributes).
    pub fn property(attr: &str, value: String) -> Result<Self> {
        check_reserved(attr)?;
        if attr.chars().count() > 255 {
            return Err(Error::bad_request("Property names are at most 255 characters."));
        }
        check_property(attr, &value)?;
        Ok(Self::Property(attr.into(), Some(value)))
    }
}

/// `POST /v2/images`: the new image's id (or a fresh one), tags and attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateImage {
    /// Hyphenated lower-case UUID, when the client picks it.
    pub id: Option<String>,
    pub tags: Vec<String>,
    pub attrs: Vec<ImageAttr>,
}

impl CreateImage {
    /// Adds an attribute (builder for internal callers).
    pub fn with(mut self, attr: ImageAttr) -> Self {
        self.attrs.push(attr);
        self
    }
}

impl TryFrom<Map<String, Value>> for CreateImage {
    type Error = Error;

    fn try_from(mut body: Map<String, Value>) -> Result<Self> {
        for k in READ_ONLY {
            if body.contains_key(*k) {
                return Err(read_only(k));
            }
        }
        let id = match body.remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let u = uuid::Uuid::parse_str(&s).map_err(|_| Error::bad_request(format!("Invalid image id: {s}")))?;
                Some(u.hyphenated().to_string())
            }
            Some(v) => return Err(Error::bad_request(format!("Invalid image id: {v}"))),
        };
        let tags = match body.remove("tags") {
            None | Some(Value::Null) => vec![],
            Some(v) => tag_list(v)?,
        };
        let attrs = body
            .into_iter()
            .map(|(k, v)| ImageAttr::parse(&k, v))
            .collect::<Result<_>>()?;
        Ok(Self { id, tags, attrs })
    }
}

impl CreateImage {
    /// From a request body, which must be a JSON object.
    pub fn from_body(v: Value) -> Result<Self> {
        let Value::Object(map) = v else {
            return Err(Error::bad_request("Image body must be a JSON object."));
        };
        Self::try_from(map)
    }
}

/// What an add or replace operation sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageChange {
    Attr(ImageAttr),
    Tags(Vec<String>),
}

/// One operation of a JSON-patch (`PATCH /v2/images/{id}`). Glance takes RFC 6902
/// (`{"op": "replace", "path": "/name", "value": ...}`) and its older form
/// (`{"replace": "/name", "value": ...}`) under either media type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum PatchOp {
    Add(ImageChange),
    /// Only an attribute the image has may be replaced (409 otherwise).
    Replace(ImageChange),
    /// Removes a free-form property (core attributes may not be removed).
    Remove(String),
}

/// The attribute a JSON pointer (`/name`, `/a~1b`) names: one level only.
fn attribute(path: &str) -> Result<String> {
    Ok(path
        .strip_prefix('/')
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .ok_or_else(|| Error::bad_request(format!("Invalid JSON pointer for this resource: '{path}'")))?
        .replace("~1", "/")
        .replace("~0", "~"))
}

impl PatchOp {
    /// The operation that sets (adds) a free-form property, as Nova's image metadata does.
    pub fn set_property(key: &str, value: String) -> Result<Self> {
        if READ_ONLY.contains(&key) || key == "id" {
            return Err(read_only(key));
        }
        Ok(Self::Add(ImageChange::Attr(ImageAttr::parse(
            key,
            Value::String(value),
        )?)))
    }

    /// The operation that removes a free-form property.
    pub fn remove_property(key: &str) -> Result<Self> {
        Self::remove(key.to_string())
    }

    fn remove(attr: String) -> Result<Self> {
        if READ_ONLY.contains(&attr.as_str()) || attr == "id" {
            return Err(read_only(&attr));
        }
        check_reserved(&attr)?;
        if CORE.contains(&attr.as_str()) {
            return Err(Error::Forbidden(format!("Attribute '{attr}' may not be removed.")));
        }
        Ok(Self::Remove(attr))
    }

    /// The attribute the operation changes.
    pub fn attr(&self) -> &str {
        match self {
            Self::Add(c) | Self::Replace(c) => match c {
                ImageChange::Tags(_) => "tags",
                ImageChange::Attr(a) => match a {
                    ImageAttr::Name(_) => "name",
                    ImageAttr::Visibility(_) => "visibility",
                    ImageAttr::Protected(_) => "protected",
                    ImageAttr::OsHidden(_) => "os_hidden",
                    ImageAttr::Owner(_) => "owner",
                    ImageAttr::DiskFormat(_) => "disk_format",
                    ImageAttr::ContainerFormat(_) => "container_format",
                    ImageAttr::MinDisk(_) => "min_disk",
                    ImageAttr::MinRam(_) => "min_ram",
                    ImageAttr::Property(k, _) => k,
                },
            },
            Self::Remove(k) => k,
        }
    }
}

impl TryFrom<Value> for PatchOp {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let Value::Object(mut m) = v else {
            return Err(Error::bad_request("Each patch operation must be a JSON object."));
        };
        let value = m.remove("value");
        let (op, path) = match (m.remove("op"), m.remove("path")) {
            (Some(Value::String(op)), Some(Value::String(path))) => (op, path),
            _ => ["add", "replace", "remove"]
                .into_iter()
                .find_map(|op| match m.remove(op) {
                    Some(Value::String(path)) => Some((op.to_string(), path)),
                    _ => None,
                })
                .ok_or_else(|| {
                    Error::bad_request(
                        "Unable to find `op` in JSON Schema change. It must be one of: add, replace, remove.",
                    )
                })?,
        };
        let attr = attribute(&path)?;
        if READ_ONLY.contains(&attr.as_str()) {
            return Err(read_only(&attr));
        }
        check_reserved(&attr)?;
        if attr == "id" {
            return Err(read_only("id"));
        }
        let change = |value: Option<Value>| -> Result<ImageChange> {
            let value = value.ok_or_else(|| Error::bad_request("Operation requires a value."))?;
            if attr == "tags" {
                Ok(ImageChange::Tags(tag_list(value)?))
            } else {
                Ok(ImageChange::Attr(ImageAttr::parse(&attr, value)?))
            }
        };
        match op.as_str() {
            "add" => Ok(Self::Add(change(value)?)),
            "replace" => Ok(Self::Replace(change(value)?)),
            "remove" => Self::remove(attr),
            other => Err(Error::bad_request(format!("Operation '{other}' is not supported."))),
        }
    }
}

/// `POST /v2/images/{id}/members` `{"member": "<project>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct AddMember {
    pub member: String,
}

impl TryFrom<Value> for AddMember {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let member = v["member"]
            .as_str()
            .ok_or_else(|| Error::bad_request("Request body must contain 'member'."))?;
        Ok(Self { member: member.into() })
    }
}

/// `PUT /v2/images/{id}/members/{member}` `{"status": "accepted"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct UpdateMember {
    pub status: MemberStatus,
}

impl TryFrom<Value> for UpdateMember {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let status = v["status"]
            .as_str()
            .ok_or_else(|| Error::bad_request("Request body must contain 'status'."))?;
        let status = status.parse().map_err(|_| {
            Error::bad_request(format!(
                "Invalid status: {status}; expected one of pending, accepted, rejected."
            ))
        })?;
        Ok(Self { status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_ops_in_both_forms() {
        let a = PatchOp::try_from(json!({"op": "replace", "path": "/name", "value": "x"})).unwrap();
        assert_eq!(
            a,
            PatchOp::Replace(ImageChange::Attr(ImageAttr::Name(Some("x".into()))))
        );
        let b = PatchOp::try_from(json!({"add": "/a~1b", "value": "v"})).unwrap();
        assert_eq!(b.attr(), "a/b");
        assert_eq!(
            PatchOp::try_from(json!({"remove": "/p"})).unwrap(),
            PatchOp::Remove("p".into())
        );
        let e = PatchOp::try_from(json!({"op": "remove", "path": "/name"})).unwrap_err();
        assert_eq!(
            (e.status(), e.to_string().as_str()),
            (403, "Attribute 'name' may not be removed.")
        );
        let e = PatchOp::try_from(json!({"op": "add", "path": "/status", "value": "active"})).unwrap_err();
        assert_eq!(e.status(), 403);
        let e = PatchOp::try_from(json!({"op": "move", "path": "/x"})).unwrap_err();
        assert_eq!(e.to_string(), "Operation 'move' is not supported.");
        let e = PatchOp::try_from(json!({"op": "add", "path": "/kernel_id", "value": "nope"})).unwrap_err();
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn create_bodies() {
        let body = |v: Value| v.as_object().cloned().unwrap();
        let c = CreateImage::try_from(body(json!({"name": "a", "tags": ["t"], "hw_x": "1"}))).unwrap();
        assert_eq!(c.tags, vec!["t".to_string()]);
        assert_eq!(c.attrs.len(), 2);
        assert_eq!(
            CreateImage::try_from(body(json!({"size": 1}))).unwrap_err().status(),
            403
        );
        assert_eq!(
            CreateImage::try_from(body(json!({"os_glance_x": "1"})))
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            CreateImage::try_from(body(json!({"min_ram": -1})))
                .unwrap_err()
                .status(),
            400
        );
        assert!(serde_json::from_value::<CreateImage>(json!({"visibility": "everyone"})).is_err());
    }
}

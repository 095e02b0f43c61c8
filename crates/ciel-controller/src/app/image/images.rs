use super::{not_found, owns, visible, CONTAINER_FORMATS, CORE, DISK_FORMATS, READ_ONLY, VISIBILITIES};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::image::{self, Image};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// One operation of a JSON-patch. Glance takes RFC 6902 (`{"op": "replace", "path": "/name"}`)
/// and its older form (`{"replace": "/name"}`) under either media type.
#[derive(Debug)]
pub struct PatchOp {
    pub op: String,
    pub path: String,
    pub value: Option<Value>,
}

impl PatchOp {
    pub fn parse(v: Value) -> Result<Self> {
        let Value::Object(mut m) = v else {
            return Err(Error::bad_request("Each patch operation must be a JSON object."));
        };
        let value = m.remove("value");
        if let (Some(Value::String(op)), Some(Value::String(path))) = (m.remove("op"), m.remove("path")) {
            return Ok(Self { op, path, value });
        }
        for op in ["add", "replace", "remove"] {
            if let Some(Value::String(path)) = m.remove(op) {
                return Ok(Self {
                    op: op.into(),
                    path,
                    value,
                });
            }
        }
        Err(Error::bad_request(
            "Unable to find `op` in JSON Schema change. It must be one of: add, replace, remove.",
        ))
    }
}

fn read_only(attr: &str) -> Error {
    Error::Forbidden(format!("Attribute '{attr}' is read-only."))
}

/// Glance reserves the `os_glance_` prefix for its own properties.
fn check_reserved(attr: &str) -> Result<()> {
    if attr.starts_with("os_glance") {
        return Err(Error::Forbidden(format!("Attribute '{attr}' is reserved.")));
    }
    Ok(())
}

impl App {
    pub(crate) async fn image_for_read(&self, caller: &Caller, id: &str) -> Result<Image> {
        let img = image::get(&self.db, id).await?.ok_or_else(|| not_found(id))?;
        let membership = match caller.project_id() {
            Some(p) => image::get_member(&self.db, id, p).await?,
            None => None,
        };
        if !visible(caller, &img, membership.as_ref()) {
            return Err(not_found(id));
        }
        Ok(img)
    }

    /// The image, if the caller may change it: 404 when invisible, 403 when only visible.
    pub(crate) async fn image_for_write(&self, caller: &Caller, id: &str) -> Result<Image> {
        let img = self.image_for_read(caller, id).await?;
        if !owns(caller, &img) || !caller.can_write() {
            return Err(Error::Forbidden("You are not permitted to modify this image.".into()));
        }
        Ok(img)
    }

    pub async fn create_image(&self, caller: &Caller, mut body: Map<String, Value>) -> Result<Image> {
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let owner_project = caller.project_id().ok_or_else(Error::forbidden)?.to_string();
        for k in READ_ONLY {
            if body.contains_key(*k) {
                return Err(read_only(k));
            }
        }
        let id = match body.remove("id") {
            None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
            Some(Value::String(s)) => {
                let u = uuid::Uuid::parse_str(&s).map_err(|_| Error::bad_request(format!("Invalid image id: {s}")))?;
                u.hyphenated().to_string()
            }
            Some(v) => return Err(Error::bad_request(format!("Invalid image id: {v}"))),
        };
        if image::id_taken(&self.db, &id).await? {
            return Err(Error::conflict(format!("An image with identifier {id} already exists")));
        }
        let now = crate::db::now();
        let mut img = Image {
            id,
            name: None,
            status: "queued".into(),
            visibility: "shared".into(),
            protected: false,
            os_hidden: false,
            owner: Some(owner_project.clone()),
            disk_format: None,
            container_format: None,
            size: None,
            virtual_size: None,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            min_disk: 0,
            min_ram: 0,
            properties: "{}".into(),
            created_at: now,
            updated_at: now,
            tags: None,
        };
        let tags = match body.remove("tags") {
            None | Some(Value::Null) => vec![],
            Some(v) => tag_list(v)?,
        };
        for (k, v) in body {
            check_reserved(&k)?;
            set_attr(caller, &mut img, &k, Some(v))?;
        }
        if img.visibility == "public" && !caller.is_admin() {
            return Err(Error::Forbidden("You are not authorized to publicize images.".into()));
        }
        let max = self.cfg.image.max_images_per_project;
        let owner = img.owner.clone().unwrap_or(owner_project);
        let mut tx = crate::db::begin(&self.db).await?;
        if max > 0 && image::usage(&mut *tx, &owner).await?.0 >= max {
            return Err(Error::RequestTooLarge(format!(
                "Image quota exceeded: project {owner} may own at most {max} images."
            )));
        }
        image::insert(&mut *tx, &img).await?;
        image::set_tags(&mut tx, &img.id, &tags).await?;
        tx.commit().await?;
        image::get(&self.db, &img.id).await?.ok_or_else(|| not_found(&img.id))
    }

    pub async fn get_image(&self, caller: &Caller, id: &str) -> Result<Image> {
        self.image_for_read(caller, id).await
    }

    /// Applies a JSON-patch to an image, all or nothing.
    pub async fn patch_image(&self, caller: &Caller, id: &str, ops: Vec<PatchOp>) -> Result<Image> {
        let mut img = self.image_for_write(caller, id).await?;
        let mut tags: Option<Vec<String>> = None;
        for op in ops {
            let attr = op
                .path
                .strip_prefix('/')
                .filter(|a| !a.is_empty() && !a.contains('/'))
                .ok_or_else(|| Error::bad_request(format!("Invalid JSON pointer for this resource: '{}'", op.path)))?
                .replace("~1", "/")
                .replace("~0", "~");
            if READ_ONLY.contains(&attr.as_str()) {
                return Err(read_only(&attr));
            }
            check_reserved(&attr)?;
            if attr == "id" {
                return Err(read_only("id"));
            }
            match op.op.as_str() {
                "add" | "replace" => {
                    let value = op
                        .value
                        .ok_or_else(|| Error::bad_request("Operation requires a value."))?;
                    if op.op == "replace" && !has_attr(&img, &attr) {
                        return Err(Error::conflict(format!("Property {attr} does not exist.")));
                    }
                    if attr == "tags" {
                        tags = Some(tag_list(value)?);
                    } else {
                        set_attr(caller, &mut img, &attr, Some(value))?;
                    }
                }
                "remove" => {
                    if CORE.contains(&attr.as_str()) {
                        return Err(Error::Forbidden(format!("Attribute '{attr}' may not be removed.")));
                    }
                    if !has_attr(&img, &attr) {
                        return Err(Error::conflict(format!("Property {attr} does not exist.")));
                    }
                    set_attr(caller, &mut img, &attr, None)?;
                }
                other => return Err(Error::bad_request(format!("Operation '{other}' is not supported."))),
            }
        }
        if img.visibility == "public" && !caller.is_admin() {
            return Err(Error::Forbidden("You are not authorized to publicize images.".into()));
        }
        img.updated_at = crate::db::now();
        let mut tx = crate::db::begin(&self.db).await?;
        image::update(&mut *tx, &img).await?;
        if let Some(t) = tags {
            image::set_tags(&mut tx, id, &t).await?;
        }
        tx.commit().await?;
        image::get(&self.db, id).await?.ok_or_else(|| not_found(id))
    }

    pub async fn delete_image(&self, caller: &Caller, id: &str) -> Result<()> {
        let img = self.image_for_write(caller, id).await?;
        if img.protected {
            return Err(Error::Forbidden(format!(
                "Image {id} is protected and cannot be deleted."
            )));
        }
        image::mark_deleted(&self.db, id, crate::db::now()).await?;
        self.image_store.delete(id).await
    }

    pub async fn add_image_tag(&self, caller: &Caller, id: &str, tag: &str) -> Result<()> {
        self.image_for_write(caller, id).await?;
        if tag.chars().count() > 255 {
            return Err(Error::bad_request("Image tag must be at most 255 characters."));
        }
        image::add_tag(&self.db, id, tag).await
    }

    pub async fn delete_image_tag(&self, caller: &Caller, id: &str, tag: &str) -> Result<()> {
        self.image_for_write(caller, id).await?;
        if image::remove_tag(&self.db, id, tag).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: "tag",
                id: format!("{tag} on image {id}"),
            })
        }
    }

    /// Admin or owner: a deactivated image cannot be downloaded (or booted) by non-admins.
    pub async fn set_image_active(&self, caller: &Caller, id: &str, active: bool) -> Result<()> {
        let img = self.image_for_write(caller, id).await?;
        let (from, to) = if active {
            ("deactivated", "active")
        } else {
            ("active", "deactivated")
        };
        if img.status == to {
            return Ok(());
        }
        if !image::transition(&self.db, id, &[from], to, crate::db::now()).await? {
            return Err(Error::Forbidden(format!(
                "Not allowed to {} an image in status '{}'.",
                if active { "reactivate" } else { "deactivate" },
                img.status
            )));
        }
        Ok(())
    }
}

fn tag_list(v: Value) -> Result<Vec<String>> {
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

fn has_attr(img: &Image, attr: &str) -> bool {
    match attr {
        "name" | "visibility" | "protected" | "os_hidden" | "owner" | "disk_format" | "container_format"
        | "min_disk" | "min_ram" | "tags" => true,
        other => crate::app::identity::input::extra_object(&img.properties).contains_key(other),
    }
}

fn want_str(attr: &str, v: Option<Value>, nullable: bool) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) if nullable => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        other => Err(Error::bad_request(format!(
            "Invalid value for '{attr}': {}",
            other.unwrap_or(Value::Null)
        ))),
    }
}

fn want_bool(attr: &str, v: Option<Value>) -> Result<bool> {
    match v {
        Some(Value::Bool(b)) => Ok(b),
        other => Err(Error::bad_request(format!(
            "Invalid value for '{attr}': {} is not a boolean",
            other.unwrap_or(Value::Null)
        ))),
    }
}

fn want_size(attr: &str, v: Option<Value>) -> Result<i64> {
    match v.as_ref().and_then(Value::as_i64) {
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

/// Sets (or, with `None`, removes) one attribute, validating as Glance's image schema does.
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

fn set_attr(caller: &Caller, img: &mut Image, attr: &str, value: Option<Value>) -> Result<()> {
    let formats_locked = img.status != "queued";
    match attr {
        "name" => {
            let n = want_str(attr, value, true)?;
            if n.as_ref().is_some_and(|s| s.chars().count() > 255) {
                return Err(Error::bad_request("Invalid value for 'name': at most 255 characters"));
            }
            img.name = n;
        }
        "visibility" => {
            img.visibility = one_of(attr, want_str(attr, value, false)?, VISIBILITIES)?.unwrap_or_default();
        }
        "protected" => img.protected = want_bool(attr, value)?,
        "os_hidden" => img.os_hidden = want_bool(attr, value)?,
        "owner" => {
            if !caller.is_admin() {
                return Err(read_only("owner"));
            }
            img.owner = want_str(attr, value, true)?;
        }
        "disk_format" | "container_format" => {
            if formats_locked {
                return Err(Error::Forbidden(format!(
                    "Attribute '{attr}' can be only replaced for a queued image."
                )));
            }
            let allowed = if attr == "disk_format" {
                DISK_FORMATS
            } else {
                CONTAINER_FORMATS
            };
            let v = one_of(attr, want_str(attr, value, true)?, allowed)?;
            if attr == "disk_format" {
                img.disk_format = v;
            } else {
                img.container_format = v;
            }
        }
        "min_disk" => img.min_disk = want_size(attr, value)?,
        "min_ram" => img.min_ram = want_size(attr, value)?,
        _ => {
            if attr.chars().count() > 255 {
                return Err(Error::bad_request("Property names are at most 255 characters."));
            }
            let mut props = crate::app::identity::input::extra_object(&img.properties);
            match value {
                None => {
                    props.remove(attr);
                }
                // Glance's schema makes `kernel_id` and `ramdisk_id` nullable.
                Some(Value::Null) if matches!(attr, "kernel_id" | "ramdisk_id") => {
                    props.remove(attr);
                }
                Some(Value::String(s)) => {
                    check_property(attr, &s)?;
                    props.insert(attr.to_string(), Value::String(s));
                }
                Some(other) => {
                    return Err(Error::bad_request(format!(
                        "Invalid value for property '{attr}': {other} is not a string"
                    )))
                }
            }
            img.properties = Value::Object(props).to_string();
        }
    }
    Ok(())
}

use super::params::{read_only, CreateImage, ImageAttr, ImageChange, PatchOp};
use super::{not_found, owns, visible};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::image::{self, Image, ImageStatus};
use crate::error::{Error, Result};
use ciel_proto::ids::ProjectId;
use serde_json::Value;

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

    pub async fn create_image(&self, caller: &Caller, p: CreateImage) -> Result<Image> {
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        let owner_project = caller.project_id().ok_or_else(Error::forbidden)?.to_string();
        let id = p.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if image::id_taken(&self.db, &id).await? {
            return Err(Error::conflict(format!("An image with identifier {id} already exists")));
        }
        let now = crate::db::now();
        let mut img = Image {
            id: id.into(),
            name: None,
            status: ImageStatus::Queued,
            visibility: "shared".into(),
            protected: false,
            os_hidden: false,
            owner: Some(owner_project.as_str().into()),
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
        let tags = p.tags;
        for attr in p.attrs {
            apply(caller, &mut img, attr)?;
        }
        if img.visibility == "public" && !caller.is_admin() {
            return Err(Error::Forbidden("You are not authorized to publicize images.".into()));
        }
        let max = self.cfg.image.max_images_per_project;
        let owner = img.owner.clone().map(ProjectId::into_string).unwrap_or(owner_project);
        let mut tx = self.begin().await?;
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
            if matches!(op, PatchOp::Replace(_)) && !has_attr(&img, op.attr()) {
                return Err(Error::conflict(format!("Property {} does not exist.", op.attr())));
            }
            match op {
                PatchOp::Add(ImageChange::Tags(t)) | PatchOp::Replace(ImageChange::Tags(t)) => tags = Some(t),
                PatchOp::Add(ImageChange::Attr(a)) | PatchOp::Replace(ImageChange::Attr(a)) => {
                    apply(caller, &mut img, a)?
                }
                PatchOp::Remove(attr) => {
                    if !has_attr(&img, &attr) {
                        return Err(Error::conflict(format!("Property {attr} does not exist.")));
                    }
                    remove_property(&mut img, &attr);
                }
            }
        }
        if img.visibility == "public" && !caller.is_admin() {
            return Err(Error::Forbidden("You are not authorized to publicize images.".into()));
        }
        img.updated_at = crate::db::now();
        let mut tx = self.begin().await?;
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
            (ImageStatus::Deactivated, ImageStatus::Active)
        } else {
            (ImageStatus::Active, ImageStatus::Deactivated)
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

fn has_attr(img: &Image, attr: &str) -> bool {
    match attr {
        "name" | "visibility" | "protected" | "os_hidden" | "owner" | "disk_format" | "container_format"
        | "min_disk" | "min_ram" | "tags" => true,
        other => crate::app::json_input::extra_object(&img.properties).contains_key(other),
    }
}

fn remove_property(img: &mut Image, attr: &str) {
    let mut props = crate::app::json_input::extra_object(&img.properties);
    props.remove(attr);
    img.properties = Value::Object(props).to_string();
}

/// Sets one checked attribute, with the rules that depend on the caller or the image:
/// only admins set the owner, formats change only while the image is queued.
fn apply(caller: &Caller, img: &mut Image, attr: ImageAttr) -> Result<()> {
    let formats_locked = img.status != ImageStatus::Queued;
    match attr {
        ImageAttr::Name(n) => img.name = n,
        ImageAttr::Visibility(v) => img.visibility = v,
        ImageAttr::Protected(p) => img.protected = p,
        ImageAttr::OsHidden(h) => img.os_hidden = h,
        ImageAttr::Owner(o) => {
            if !caller.is_admin() {
                return Err(read_only("owner"));
            }
            img.owner = o.map(Into::into);
        }
        ImageAttr::DiskFormat(_) | ImageAttr::ContainerFormat(_) if formats_locked => {
            let name = if matches!(attr, ImageAttr::DiskFormat(_)) {
                "disk_format"
            } else {
                "container_format"
            };
            return Err(Error::Forbidden(format!(
                "Attribute '{name}' can be only replaced for a queued image."
            )));
        }
        ImageAttr::DiskFormat(f) => img.disk_format = f,
        ImageAttr::ContainerFormat(f) => img.container_format = f,
        ImageAttr::MinDisk(n) => img.min_disk = n,
        ImageAttr::MinRam(n) => img.min_ram = n,
        ImageAttr::Property(k, None) => remove_property(img, &k),
        ImageAttr::Property(k, Some(v)) => {
            let mut props = crate::app::json_input::extra_object(&img.properties);
            props.insert(k, Value::String(v));
            img.properties = Value::Object(props).to_string();
        }
    }
    Ok(())
}

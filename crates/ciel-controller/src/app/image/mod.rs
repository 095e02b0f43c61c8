//! Image service (Glance v2) logic: visibility and sharing policy, JSON-patch updates,
//! listing, streamed uploads with inspection, quotas.

pub mod data;
pub mod images;
pub mod inspect;
pub mod list;
pub mod members;
pub mod metadefs;
pub mod params;
pub mod seed;
pub mod store;

use crate::app::identity::caller::Caller;
use crate::app::policy;
use crate::db::image::{Image, Member};
use crate::error::Error;

pub const DISK_FORMATS: &[&str] = &[
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
];
pub const CONTAINER_FORMATS: &[&str] = &["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"];
pub const VISIBILITIES: &[&str] = &["public", "private", "shared", "community"];

/// Attributes the server owns; clients may not set them.
pub const READ_ONLY: &[&str] = &[
    "status",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "direct_url",
    "locations",
    "deleted",
    "deleted_at",
    "stores",
];

/// Core attributes that are not free-form properties.
pub const CORE: &[&str] = &[
    "id",
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "disk_format",
    "container_format",
    "min_disk",
    "min_ram",
    "tags",
];

pub fn not_found(id: &str) -> Error {
    Error::NotFound {
        kind: "image",
        id: id.to_string(),
    }
}

/// Whether the caller's project owns the image (or the caller is an admin): the one ownership
/// predicate, for an image whose owner may be unset.
pub fn owns(caller: &Caller, image: &Image) -> bool {
    policy::is_admin(caller) || image.owner.as_deref().is_some_and(|o| policy::in_project(caller, o))
}

/// Whether the caller may see the image at all, given its membership (if any).
pub fn visible(caller: &Caller, image: &Image, membership: Option<&Member>) -> bool {
    owns(caller, image)
        || matches!(image.visibility.as_str(), "public" | "community")
        || (image.visibility == "shared" && membership.is_some())
}

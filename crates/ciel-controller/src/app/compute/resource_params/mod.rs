//! Typed request bodies of Nova's API besides servers: flavors, key pairs, server metadata,
//! tags and updates, aggregates, server groups, quotas, os-hosts, remote consoles and volume
//! attachments. Each type is checked once, where it is built from the request's JSON object,
//! with the texts and status codes Nova answers (Tempest and tests/cli check some); the `App`
//! methods take these types.
//!
//! Every type is `Deserialize` through `TryFrom` (the newest microversion's schema), and the
//! HTTP edge calls `try_from` directly, so that an error keeps its status code and exact text.
//! Where an older microversion takes a different body, `at_microversion(body, minor)` (the `Y`
//! of `2.Y`) checks that version's schema.

pub mod aggregates;
pub mod consoles;
pub mod flavors;
pub mod keypairs;
pub mod os_hosts;
pub mod quotas;
pub mod server_groups;
pub mod server_meta;
pub mod volume_attachments;

pub use aggregates::{AggregateAction, AggregateMetadata, CreateAggregate, UpdateAggregate};
pub use consoles::CreateRemoteConsole;
pub use flavors::{CreateFlavor, ExtraSpecs, FlavorAccessAction, UpdateFlavor, IMAGES_TYPE_SPEC};
pub use keypairs::{CreateKeypair, KeypairType};
pub use os_hosts::UpdateOsHost;
pub use quotas::{UpdateQuotaClassSet, UpdateQuotaSet};
pub use server_groups::{CreateServerGroup, GroupPolicy};
pub use server_meta::{Metadata, MetadataItem, ServerTags, UpdateServer};
pub use volume_attachments::AttachVolume;

use serde_json::{Map, Value};

/// A request body (or the object under its resource key).
type Body = Map<String, Value>;

//! Metadata of volumes and snapshots, which Cinder handles alike: one entry point for both.

use super::parse_map;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::error::Result;
use std::collections::BTreeMap;

/// Which kind of resource a metadata call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataOwner {
    Volume,
    Snapshot,
}

impl MetadataOwner {
    /// How a missing key is named in the 404.
    pub fn what(self) -> &'static str {
        match self {
            Self::Volume => "volume metadata",
            Self::Snapshot => "snapshot metadata",
        }
    }
}

impl App {
    pub async fn owner_metadata(
        &self,
        caller: &Caller,
        owner: MetadataOwner,
        id: &str,
    ) -> Result<BTreeMap<String, String>> {
        Ok(match owner {
            MetadataOwner::Volume => parse_map(&self.get_volume(caller, id).await?.metadata),
            MetadataOwner::Snapshot => parse_map(&self.get_snapshot(caller, id).await?.metadata),
        })
    }

    /// Merges `md` into the metadata (`replace`: sets it whole); the result.
    pub async fn set_owner_metadata(
        &self,
        caller: &Caller,
        owner: MetadataOwner,
        id: &str,
        md: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        match owner {
            MetadataOwner::Volume => self.set_volume_metadata(caller, id, md, replace).await,
            MetadataOwner::Snapshot => self.set_snapshot_metadata(caller, id, md, replace).await,
        }
    }

    pub async fn delete_owner_metadata(
        &self,
        caller: &Caller,
        owner: MetadataOwner,
        id: &str,
        key: &str,
    ) -> Result<()> {
        match owner {
            MetadataOwner::Volume => self.delete_volume_metadata(caller, id, key).await,
            MetadataOwner::Snapshot => self.delete_snapshot_metadata(caller, id, key).await,
        }
    }
}

//! Nova's image metadata (`/images/{id}/metadata`): the image service's custom properties,
//! changed through its own patch operations so its rules (reserved names, ownership) hold.

use crate::app::identity::caller::Caller;
use crate::app::image::params::PatchOp;
use crate::app::App;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// An image's free-form properties as Nova shows them: strings.
pub type ImageMetadata = BTreeMap<String, String>;

fn properties(json: &str) -> ImageMetadata {
    let props: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    props
        .into_iter()
        .map(|(k, v)| {
            let text = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            (k, text)
        })
        .collect()
}

impl App {
    pub async fn image_metadata(&self, caller: &Caller, id: &str) -> Result<ImageMetadata> {
        let img = self.get_image(caller, id).await?;
        Ok(properties(&img.properties))
    }

    /// Merges `given` into the image's properties, or (`replace`) makes them exactly `given`.
    pub async fn set_image_metadata(
        &self,
        caller: &Caller,
        id: &str,
        given: ImageMetadata,
        replace: bool,
    ) -> Result<ImageMetadata> {
        let current = self.image_metadata(caller, id).await?;
        let mut ops = vec![];
        if replace {
            for k in current.keys().filter(|k| !given.contains_key(*k)) {
                ops.push(PatchOp::remove_property(k)?);
            }
        }
        for (k, v) in given {
            ops.push(PatchOp::set_property(&k, v)?);
        }
        let img = self.patch_image(caller, id, ops).await?;
        Ok(properties(&img.properties))
    }

    pub async fn delete_image_metadata(&self, caller: &Caller, id: &str, key: &str) -> Result<()> {
        if !self.image_metadata(caller, id).await?.contains_key(key) {
            return Err(Error::not_found("metadata item", key));
        }
        self.patch_image(caller, id, vec![PatchOp::remove_property(key)?])
            .await?;
        Ok(())
    }
}

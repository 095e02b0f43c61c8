//! Nova's image metadata (`/images/{id}/metadata`): the image service's custom properties,
//! changed through its own patch operations so its rules (reserved names, ownership) hold.

use crate::app::identity::caller::Caller;
use crate::app::image::images::PatchOp;
use crate::app::App;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

fn op(op: &str, key: &str, value: Option<Value>) -> PatchOp {
    PatchOp {
        op: op.into(),
        path: format!("/{}", key.replace('~', "~0").replace('/', "~1")),
        value,
    }
}

impl App {
    pub async fn image_metadata(&self, caller: &Caller, id: &str) -> Result<Map<String, Value>> {
        let img = self.get_image(caller, id).await?;
        Ok(serde_json::from_str(&img.properties).unwrap_or_default())
    }

    /// Merges `given` into the image's properties, or (`replace`) makes them exactly `given`.
    pub async fn set_image_metadata(
        &self,
        caller: &Caller,
        id: &str,
        given: Map<String, Value>,
        replace: bool,
    ) -> Result<Map<String, Value>> {
        let current = self.image_metadata(caller, id).await?;
        let mut ops = vec![];
        if replace {
            for k in current.keys().filter(|k| !given.contains_key(*k)) {
                ops.push(op("remove", k, None));
            }
        }
        for (k, v) in &given {
            let text = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            ops.push(op("add", k, Some(Value::String(text))));
        }
        let img = self.patch_image(caller, id, ops).await?;
        Ok(serde_json::from_str(&img.properties).unwrap_or_default())
    }

    pub async fn delete_image_metadata(&self, caller: &Caller, id: &str, key: &str) -> Result<()> {
        if !self.image_metadata(caller, id).await?.contains_key(key) {
            return Err(Error::not_found("metadata item", key));
        }
        self.patch_image(caller, id, vec![op("remove", key, None)]).await?;
        Ok(())
    }
}

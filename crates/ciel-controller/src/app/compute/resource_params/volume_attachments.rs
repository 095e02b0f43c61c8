//! `POST /servers/{id}/os-volume_attachments` `{"volumeAttachment": {"volumeId": ..., "device": ...}}`.

use super::Body;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct AttachVolume {
    pub volume_id: String,
    /// The device name asked for (a hint; the guest names its disks itself).
    pub device: Option<String>,
}

impl TryFrom<Body> for AttachVolume {
    type Error = Error;

    fn try_from(b: Body) -> Result<Self> {
        let volume_id = b.get("volumeId").and_then(Value::as_str).ok_or_else(|| {
            Error::bad_request("Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property")
        })?;
        Ok(Self {
            volume_id: volume_id.to_string(),
            device: b.get("device").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn volume_id_required() {
        let a: AttachVolume = serde_json::from_value(json!({"volumeId": "v", "device": "/dev/vdb"})).unwrap();
        assert_eq!((a.volume_id.as_str(), a.device.as_deref()), ("v", Some("/dev/vdb")));
        assert_eq!(AttachVolume::try_from(Body::new()).unwrap_err().status(), 400);
    }
}

//! `POST /servers/{id}/remote-consoles` (2.6+) `{"remote_console": {"protocol": ..., "type": ...}}`:
//! Ciel serves VNC through noVNC (`xvpvnc` is answered with the same console).

use super::Body;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The console types Ciel serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VncConsole {
    Novnc,
    Xvpvnc,
}

impl VncConsole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Novnc => "novnc",
            Self::Xvpvnc => "xvpvnc",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateRemoteConsole {
    /// The protocol is always `vnc`.
    pub kind: VncConsole,
}

impl CreateRemoteConsole {
    pub const PROTOCOL: &'static str = "vnc";
}

impl TryFrom<Body> for CreateRemoteConsole {
    type Error = Error;

    fn try_from(mut req: Body) -> Result<Self> {
        let mut field = |k: &str| {
            req.remove(k)
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(|| Error::bad_request(format!("Invalid input for field/attribute {k}.")))
        };
        let protocol = field("protocol")?;
        let kind = field("type")?;
        Self::new(&protocol, &kind)
    }
}

impl CreateRemoteConsole {
    /// A console of `protocol`/`kind` (also what the pre-2.6 `os-getVNCConsole` action asks
    /// for, as `vnc`/its type).
    pub fn new(protocol: &str, kind: &str) -> Result<Self> {
        let kind = match (protocol, kind) {
            ("vnc", "novnc") => VncConsole::Novnc,
            ("vnc", "xvpvnc") => VncConsole::Xvpvnc,
            _ => {
                return Err(Error::bad_request(format!(
                    "Unsupported console type {protocol}/{kind}: Ciel serves vnc/novnc."
                )))
            }
        };
        Ok(Self { kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vnc_only() {
        let c: CreateRemoteConsole = serde_json::from_value(json!({"protocol": "vnc", "type": "novnc"})).unwrap();
        assert_eq!(c.kind, VncConsole::Novnc);
        let e = CreateRemoteConsole::try_from(
            json!({"protocol": "spice", "type": "spice-html5"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unsupported console type spice/spice-html5: Ciel serves vnc/novnc."
        );
        let e = CreateRemoteConsole::try_from(json!({"protocol": "vnc"}).as_object().cloned().unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "Invalid input for field/attribute type.");
    }
}

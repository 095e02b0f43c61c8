//! `PUT /os-hosts/{name}`: `status` and/or `maintenance_mode`, each `enable` or `disable`.

use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

/// `enable` or `disable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    Enable,
    Disable,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct UpdateOsHost {
    pub status: Option<Switch>,
    pub maintenance_mode: Option<Switch>,
}

fn switch(doc: &Value, k: &str) -> Result<Option<Switch>> {
    match doc.get(k) {
        None => Ok(None),
        Some(Value::String(s)) if s == "enable" => Ok(Some(Switch::Enable)),
        Some(Value::String(s)) if s == "disable" => Ok(Some(Switch::Disable)),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {k}. Value: {v}."
        ))),
    }
}

impl TryFrom<Value> for UpdateOsHost {
    type Error = Error;

    fn try_from(doc: Value) -> Result<Self> {
        let status = switch(&doc, "status")?;
        let maintenance_mode = switch(&doc, "maintenance_mode")?;
        if status.is_none() && maintenance_mode.is_none() {
            return Err(Error::bad_request(
                "'status' or 'maintenance_mode' needed for host update",
            ));
        }
        Ok(Self {
            status,
            maintenance_mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_of_two_switches() {
        let u = UpdateOsHost::try_from(json!({"maintenance_mode": "enable"})).unwrap();
        assert_eq!((u.status, u.maintenance_mode), (None, Some(Switch::Enable)));
        let e = UpdateOsHost::try_from(json!({"status": "on"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid input for field/attribute status. Value: \"on\"."
        );
        let e = UpdateOsHost::try_from(json!({})).unwrap_err();
        assert_eq!(e.to_string(), "'status' or 'maintenance_mode' needed for host update");
    }
}

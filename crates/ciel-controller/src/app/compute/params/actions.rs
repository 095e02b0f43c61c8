//! `POST /servers/{id}/action`: a body of exactly one key, the action, whose value holds its
//! arguments — an externally tagged enum. The actions are the ones Ciel serves; each one's
//! arguments are checked where they are read, with Nova's texts.

use super::Body;
use crate::app::compute::server_meta::check_name;
use crate::error::{Error, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub enum ServerAction {
    #[serde(rename = "reboot")]
    Reboot(Reboot),
    #[serde(rename = "os-stop")]
    Stop(IgnoredAny),
    #[serde(rename = "os-start")]
    Start(IgnoredAny),
    #[serde(rename = "pause")]
    Pause(IgnoredAny),
    #[serde(rename = "unpause")]
    Unpause(IgnoredAny),
    #[serde(rename = "suspend")]
    Suspend(IgnoredAny),
    #[serde(rename = "resume")]
    Resume(IgnoredAny),
    #[serde(rename = "lock")]
    Lock(Lock),
    #[serde(rename = "unlock")]
    Unlock(IgnoredAny),
    #[serde(rename = "rebuild")]
    Rebuild(Rebuild),
    #[serde(rename = "resize")]
    Resize(Resize),
    #[serde(rename = "confirmResize")]
    ConfirmResize(IgnoredAny),
    #[serde(rename = "revertResize")]
    RevertResize(IgnoredAny),
    #[serde(rename = "addFloatingIp")]
    AddFloatingIp(FloatingIp),
    #[serde(rename = "removeFloatingIp")]
    RemoveFloatingIp(FloatingIp),
    #[serde(rename = "os-resetState")]
    ResetState(ResetState),
    #[serde(rename = "addSecurityGroup")]
    AddSecurityGroup(SecurityGroup),
    #[serde(rename = "removeSecurityGroup")]
    RemoveSecurityGroup(SecurityGroup),
    #[serde(rename = "createImage")]
    CreateImage(CreateImage),
    #[serde(rename = "os-getConsoleOutput")]
    GetConsoleOutput(ConsoleOutput),
    /// The pre-2.6 console action; remote-consoles replaced it.
    #[serde(rename = "os-getVNCConsole")]
    GetVncConsole(LegacyVncConsole),
    #[serde(rename = "forceDelete")]
    ForceDelete(IgnoredAny),
    #[serde(rename = "restore")]
    Restore(IgnoredAny),
    /// Read by [`LiveMigrate::at_microversion`]: its schema changes with the microversion.
    #[serde(rename = "os-migrateLive")]
    LiveMigrate(LiveMigrate),
    #[serde(rename = "evacuate")]
    Evacuate(Evacuate),
    /// Read by [`Migrate::at_microversion`]: `host` arrived in 2.56.
    #[serde(rename = "migrate")]
    Migrate(Migrate),
}

/// Why an action body was refused.
#[derive(Debug)]
pub enum ActionError {
    /// Not an action Ciel serves (at this microversion): 400 once the server is found.
    Unknown(String),
    /// A malformed body or bad arguments.
    Invalid(Error),
}

impl From<Error> for ActionError {
    fn from(e: Error) -> Self {
        ActionError::Invalid(e)
    }
}

impl ServerAction {
    /// Reads the action of `doc` as microversion `2.minor` takes it.
    pub fn at_microversion(doc: Value, minor: u16) -> std::result::Result<Self, ActionError> {
        let doc: Body = match doc {
            Value::Object(m) if m.len() == 1 => m,
            _ => return Err(Error::bad_request("Malformed request body: expected exactly one action").into()),
        };
        let name = doc.keys().next().cloned().unwrap_or_default();
        if name == "os-migrateLive" {
            let args = doc.get(&name).cloned().unwrap_or_default();
            return Ok(ServerAction::LiveMigrate(LiveMigrate::at_microversion(args, minor)?));
        }
        if name == "migrate" {
            let args = doc.get(&name).cloned().unwrap_or_default();
            return Ok(ServerAction::Migrate(Migrate::at_microversion(args, minor)?));
        }
        let known = KNOWN.contains(&name.as_str()) && (name != "os-getVNCConsole" || minor < 6);
        if !known {
            return Err(ActionError::Unknown(name));
        }
        // The arguments' own checks give Nova's texts (serde keeps a custom error's text).
        let action: Self = serde_json::from_value(Value::Object(doc)).map_err(|e| Error::bad_request(e.to_string()))?;
        if let ServerAction::Lock(Lock { reason: Some(_) }) = &action {
            if minor < 73 {
                return Err(Error::bad_request("Invalid input for field/attribute lock.").into());
            }
        }
        Ok(action)
    }
}

/// The names of the variants above.
const KNOWN: &[&str] = &[
    "reboot",
    "os-stop",
    "os-start",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "lock",
    "unlock",
    "rebuild",
    "resize",
    "confirmResize",
    "revertResize",
    "addFloatingIp",
    "removeFloatingIp",
    "os-resetState",
    "addSecurityGroup",
    "removeSecurityGroup",
    "createImage",
    "os-getConsoleOutput",
    "os-getVNCConsole",
    "forceDelete",
    "restore",
    "os-migrateLive",
    "evacuate",
    "migrate",
];

/// A request value as shown in an error: JSON, at most 64 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 64 {
        format!("{}...", s.chars().take(64).collect::<String>())
    } else {
        s
    }
}

fn text(args: &Value, key: &str) -> Option<String> {
    args.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Nova's `reboot` type; Ciel reboots both the same way (a restart of the VM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootType {
    Hard,
    Soft,
}

/// `{"reboot": {"type": HARD|Hard|hard|SOFT|Soft|soft}}` and nothing else.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct Reboot {
    pub kind: RebootType,
}

impl TryFrom<Value> for Reboot {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let bad = |why: String| Error::bad_request(format!("Invalid input for field/attribute {why}"));
        let Value::Object(a) = &args else {
            return Err(bad(format!(
                "reboot. Value: {}. It is not of type 'object'",
                short(&args)
            )));
        };
        let kind = match a.get("type") {
            None => return Err(bad("reboot. Value: {...}. 'type' is a required property".into())),
            Some(Value::String(t)) if matches!(t.as_str(), "HARD" | "Hard" | "hard") => RebootType::Hard,
            Some(Value::String(t)) if matches!(t.as_str(), "SOFT" | "Soft" | "soft") => RebootType::Soft,
            Some(t) => {
                return Err(bad(format!(
                    "type. Value: {}. {} is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']",
                    short(t),
                    short(t)
                )))
            }
        };
        if let Some(k) = a.keys().find(|k| *k != "type") {
            return Err(bad(format!(
                "reboot. Value: {{...}}. Additional properties are not allowed ('{}' was unexpected)",
                k.chars().take(64).collect::<String>().escape_debug()
            )));
        }
        Ok(Reboot { kind })
    }
}

/// `{"lock": null | {"locked_reason": "..."}}` (the reason from 2.73).
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "Value")]
pub struct Lock {
    pub reason: Option<String>,
}

impl From<Value> for Lock {
    fn from(args: Value) -> Self {
        Lock {
            reason: text(&args, "locked_reason"),
        }
    }
}

/// `{"rebuild": {"imageRef": ..., "name"?, "metadata"?, "adminPass"?}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct Rebuild {
    pub image_ref: String,
    pub name: Option<String>,
    /// Replaces the server's metadata when given.
    pub metadata: Option<Map<String, Value>>,
    pub admin_pass: Option<String>,
}

impl TryFrom<Value> for Rebuild {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let image_ref =
            text(&args, "imageRef").ok_or_else(|| Error::bad_request("Invalid input for field/attribute imageRef."))?;
        let name = args.get("name").map(|v| check_name("name", v)).transpose()?;
        let metadata = match args.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute metadata.")),
        };
        Ok(Rebuild {
            image_ref,
            name,
            metadata,
            admin_pass: text(&args, "adminPass"),
        })
    }
}

/// `{"resize": {"flavorRef": id or link}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct Resize {
    pub flavor_ref: String,
}

impl TryFrom<Value> for Resize {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let flavor_ref = match args.get("flavorRef") {
            Some(Value::String(f)) => f.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(Error::bad_request("Invalid input for field/attribute flavorRef.")),
        };
        Ok(Resize { flavor_ref })
    }
}

/// `{"addFloatingIp" | "removeFloatingIp": {"address": ..., "fixed_address"?}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "Value")]
pub struct FloatingIp {
    /// "" when not given (the lookup then fails as Nova's does).
    pub address: String,
    pub fixed_address: Option<String>,
}

impl From<Value> for FloatingIp {
    fn from(args: Value) -> Self {
        FloatingIp {
            address: text(&args, "address").unwrap_or_default(),
            fixed_address: text(&args, "fixed_address"),
        }
    }
}

/// `{"os-resetState": {"state": "active" | "error"}}`; the state is checked after the
/// caller is known to be an admin.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "Value")]
pub struct ResetState {
    pub state: String,
}

impl From<Value> for ResetState {
    fn from(args: Value) -> Self {
        ResetState {
            state: text(&args, "state").unwrap_or_default(),
        }
    }
}

/// `{"addSecurityGroup" | "removeSecurityGroup": {"name": ...}}`, a non-empty name.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct SecurityGroup {
    pub name: String,
}

impl TryFrom<Value> for SecurityGroup {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let name = text(&args, "name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::bad_request("Security group name cannot be empty"))?;
        Ok(SecurityGroup { name })
    }
}

/// `{"createImage": {"name": ..., "metadata"?: {...}}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct CreateImage {
    pub name: String,
    pub metadata: Map<String, Value>,
}

impl TryFrom<Value> for CreateImage {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let name = match args.get("name") {
            Some(v) => check_name("name", v)?,
            None => {
                return Err(Error::bad_request(
                    "Invalid input for field/attribute createImage. Value: {...}. 'name' is a required property",
                ))
            }
        };
        let metadata = match args.get("metadata") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute metadata. Value: {}. It is not of type 'object'",
                    short(v)
                )))
            }
        };
        Ok(CreateImage { name, metadata })
    }
}

/// `{"os-getConsoleOutput": {"length"?: n}}`: the last `n` lines; -1 or none: all.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct ConsoleOutput {
    pub length: Option<i64>,
}

impl TryFrom<Value> for ConsoleOutput {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let length = match args.get("length") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .filter(|n| *n >= -1)
                    .ok_or_else(|| {
                        Error::bad_request(format!("Invalid input for field/attribute length. Value: {v}."))
                    })?,
            ),
        };
        Ok(ConsoleOutput {
            length: length.filter(|n| *n >= 0),
        })
    }
}

/// `{"os-getVNCConsole": {"type": "novnc" | ...}}` (before 2.6).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct LegacyVncConsole {
    pub kind: String,
}

impl TryFrom<Value> for LegacyVncConsole {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let kind = text(&args, "type").ok_or_else(|| Error::bad_request("Invalid input for field/attribute type."))?;
        Ok(LegacyVncConsole { kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value, minor: u16) -> std::result::Result<ServerAction, String> {
        ServerAction::at_microversion(v, minor).map_err(|e| match e {
            ActionError::Unknown(n) => format!("unknown {n}"),
            ActionError::Invalid(e) => e.to_string(),
        })
    }

    #[test]
    fn actions_and_their_texts() {
        assert!(matches!(
            parse(json!({"os-start": null}), 1),
            Ok(ServerAction::Start(_))
        ));
        assert!(matches!(
            parse(json!({"reboot": {"type": "soft"}}), 1),
            Ok(ServerAction::Reboot(Reboot { kind: RebootType::Soft }))
        ));
        assert_eq!(
            parse(json!({"reboot": {"type": "SOFTLY"}}), 1).unwrap_err(),
            "Invalid input for field/attribute type. Value: \"SOFTLY\". \"SOFTLY\" is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"
        );
        assert_eq!(parse(json!({"shelve": null}), 1).unwrap_err(), "unknown shelve");
        // migrate: the value is read from 2.56 (a host, or null).
        let host = |v: Value, minor| match parse(v, minor) {
            Ok(ServerAction::Migrate(m)) => Ok(m.host),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(e),
        };
        assert_eq!(host(json!({"migrate": null}), 1), Ok(None));
        assert_eq!(
            host(json!({"migrate": {"host": "hv2"}}), 1),
            Ok(None),
            "ignored before 2.56"
        );
        assert_eq!(host(json!({"migrate": {"host": "hv2"}}), 56), Ok(Some("hv2".into())));
        assert_eq!(host(json!({"migrate": {"host": null}}), 56), Ok(None));
        assert_eq!(
            host(json!({"migrate": {"hots": "hv2"}}), 56).unwrap_err(),
            "Additional properties are not allowed ('hots' was unexpected)"
        );
        assert_eq!(
            host(json!({"migrate": {"host": 3}}), 56).unwrap_err(),
            "Invalid input for field/attribute host."
        );
        assert_eq!(
            parse(json!({"os-getVNCConsole": {"type": "novnc"}}), 6).unwrap_err(),
            "unknown os-getVNCConsole"
        );
        assert!(parse(json!({"os-getVNCConsole": {"type": "novnc"}}), 5).is_ok());
        assert_eq!(
            parse(json!({"a": 1, "b": 2}), 1).unwrap_err(),
            "Malformed request body: expected exactly one action"
        );
        assert_eq!(
            parse(json!({"lock": {"locked_reason": "x"}}), 72).unwrap_err(),
            "Invalid input for field/attribute lock."
        );
        assert!(parse(json!({"lock": {"locked_reason": "x"}}), 73).is_ok());
        assert_eq!(
            parse(json!({"resize": {}}), 1).unwrap_err(),
            "Invalid input for field/attribute flavorRef."
        );
        assert_eq!(
            parse(json!({"addSecurityGroup": {"name": ""}}), 1).unwrap_err(),
            "Security group name cannot be empty"
        );
        let Ok(ServerAction::GetConsoleOutput(c)) = parse(json!({"os-getConsoleOutput": {"length": "-1"}}), 1) else {
            panic!()
        };
        assert_eq!(c.length, None);
    }
}

/// Whether a live migration copies the local disks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMigration {
    Yes,
    No,
    /// 2.25: copy exactly when the server has local disks.
    Auto,
}

/// `{"os-migrateLive": {"host": …, "block_migration": …}}` as Nova's schemas take it:
/// before 2.25 `block_migration` and `disk_over_commit` are booleans (or their strings) and
/// all three keys are required; from 2.25 `block_migration` may be `"auto"` and
/// `disk_over_commit` is gone; 2.30 to 2.67 add `force`. No other key is accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "Value")]
pub struct LiveMigrate {
    pub host: Option<String>,
    pub block_migration: BlockMigration,
    pub force: bool,
}

impl From<Value> for LiveMigrate {
    fn from(_: Value) -> Self {
        LiveMigrate {
            host: None,
            block_migration: BlockMigration::Auto,
            force: false,
        }
    }
}

impl LiveMigrate {
    pub fn at_microversion(args: Value, minor: u16) -> Result<Self> {
        let invalid = |field: &str| Error::bad_request(format!("Invalid input for field/attribute {field}."));
        let Value::Object(a) = args else {
            return Err(invalid("os-migrateLive"));
        };
        let mut allowed = vec!["host", "block_migration"];
        if minor < 25 {
            allowed.push("disk_over_commit");
        }
        if (30..68).contains(&minor) {
            allowed.push("force");
        }
        if let Some(k) = a.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::bad_request(format!(
                "Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
        for k in &allowed[..allowed.len().min(if minor < 25 { 3 } else { 2 })] {
            if !a.contains_key(*k) {
                return Err(Error::bad_request(format!("'{k}' is a required property")));
            }
        }
        let boolean = |v: &Value| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
                "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
                _ => None,
            },
            _ => None,
        };
        let block_migration = match &a["block_migration"] {
            Value::String(s) if s == "auto" && minor >= 25 => BlockMigration::Auto,
            v => match boolean(v) {
                Some(true) => BlockMigration::Yes,
                Some(false) => BlockMigration::No,
                None => return Err(invalid("block_migration")),
            },
        };
        if let Some(v) = a.get("disk_over_commit") {
            boolean(v).ok_or_else(|| invalid("disk_over_commit"))?;
        }
        let host = match a.get("host") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) if !h.is_empty() && h.len() <= 255 => Some(h.clone()),
            Some(_) => return Err(invalid("host")),
        };
        let force = match a.get("force") {
            None => false,
            Some(v) => boolean(v).ok_or_else(|| invalid("force"))?,
        };
        Ok(LiveMigrate {
            host,
            block_migration,
            force,
        })
    }
}

/// `{"migrate": null}` (a cold migration to a host the scheduler picks), or from 2.56
/// `{"migrate": {"host": …}}` (`host` may be null); before 2.56 the value is not read.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "Value")]
pub struct Migrate {
    pub host: Option<String>,
}

impl From<Value> for Migrate {
    fn from(_: Value) -> Self {
        Migrate { host: None }
    }
}

impl Migrate {
    pub fn at_microversion(args: Value, minor: u16) -> Result<Self> {
        if minor < 56 {
            return Ok(Migrate { host: None });
        }
        let invalid = |field: &str| Error::bad_request(format!("Invalid input for field/attribute {field}."));
        let a = match args {
            Value::Null => return Ok(Migrate { host: None }),
            Value::Object(a) => a,
            _ => return Err(invalid("migrate")),
        };
        if let Some(k) = a.keys().find(|k| k.as_str() != "host") {
            return Err(Error::bad_request(format!(
                "Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
        let host = match a.get("host") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) if !h.is_empty() && h.len() <= 255 => Some(h.clone()),
            Some(_) => return Err(invalid("host")),
        };
        Ok(Migrate { host })
    }
}

/// `{"evacuate": {"host": …, "adminPass": …, "onSharedStorage": …, "force": …}}`: every key
/// optional (`onSharedStorage` is ignored: Ciel knows where the disk is).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct Evacuate {
    pub host: Option<String>,
    pub admin_pass: Option<String>,
    pub force: bool,
}

impl TryFrom<Value> for Evacuate {
    type Error = Error;

    fn try_from(args: Value) -> Result<Self> {
        let Value::Object(a) = args else {
            return Err(Error::bad_request("Invalid input for field/attribute evacuate."));
        };
        let allowed = ["host", "adminPass", "onSharedStorage", "force", "targetState"];
        if let Some(k) = a.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::bad_request(format!(
                "Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
        let host = match a.get("host") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) if !h.is_empty() && h.len() <= 255 => Some(h.clone()),
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute host.")),
        };
        let admin_pass = match a.get("adminPass") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute adminPass.")),
        };
        let force = match a.get("force") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute force.")),
        };
        Ok(Evacuate {
            host,
            admin_pass,
            force,
        })
    }
}

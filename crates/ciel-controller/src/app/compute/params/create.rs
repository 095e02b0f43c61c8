//! `POST /servers` `{"server": {...}, "os:scheduler_hints": {...}}`: what a boot request
//! asks for, checked field by field as Nova's schema does (the hints, beside `server` in the
//! body, are handed in with the rest). Lookups (flavor, image, key pair, security groups,
//! hinted servers) are the `App`'s, after this.

use super::Body;
use crate::app::compute::server_meta;
use crate::app::json_input as input;
use crate::app::volume::boot::{self, BlockDevice};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The largest `user_data` Nova takes, base64-encoded.
const MAX_USER_DATA: usize = 65535;

/// The most tags a server has (Nova's `MAX_TAG_COUNT`).
pub const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct CreateServer {
    pub name: String,
    /// The image to boot (None: booted from a volume of `block_devices`).
    pub image_ref: Option<String>,
    /// As given (an id or a link); the flavor is its last path segment.
    pub flavor_ref: String,
    pub block_devices: Vec<BlockDevice>,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub config_drive: bool,
    pub metadata: Map<String, Value>,
    pub access_ipv4: String,
    pub access_ipv6: String,
    pub description: Option<String>,
    /// Names or ids of the caller's security groups; None: the network's default.
    pub security_groups: Option<Vec<String>>,
    pub hints: SchedulerHints,
    pub min_count: i64,
    pub max_count: i64,
    /// None: one NIC on the project's only network (`auto` or absent); `Some(empty)`: none.
    pub networks: Option<Vec<NicRequest>>,
    pub availability_zone: AvailabilityZone,
    /// 2.52+.
    pub tags: Vec<String>,
    /// The password to echo (Ciel does not inject passwords); None: a generated one.
    pub admin_pass: Option<String>,
    /// Answer with a reservation id instead of the server.
    pub return_reservation_id: bool,
}

/// One NIC request of `networks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicRequest {
    /// A new port on this network, with this fixed IP if given.
    Network(String, Option<String>),
    /// This existing port.
    Port(String),
}

/// `os:scheduler_hints` (or `OS-SCH-HNT:scheduler_hints`) Ciel honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerHints {
    /// A server group's id.
    pub group: Option<String>,
    /// Server ids: the server goes to one of their hosts.
    pub same_host: Option<Vec<String>>,
    /// Server ids: the server avoids their hosts.
    pub different_host: Vec<String>,
}

/// `availability_zone`: `ZONE`, or `ZONE:HOST[:NODE]` pinning the server to a host (admins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityZone {
    /// The zone ("nova" when not given or empty before a host).
    pub zone: String,
    /// Whether the `ZONE:HOST` form was used (admins only).
    pub pinned: bool,
    /// The host name of the pinned form, when not empty.
    pub host: Option<String>,
}

impl CreateServer {
    /// `tags` are refused before 2.52.
    pub fn at_microversion(body: Body, minor: u16) -> Result<Self> {
        if minor < 52 && body.contains_key("tags") {
            return Err(Error::bad_request(
                "Invalid input for field/attribute server. Value: {...}. Additional properties are not allowed ('tags' was unexpected)",
            ));
        }
        // 2.74: `host` and `hypervisor_hostname` ask for a host (admins), as the pinned
        // availability zone form does.
        let mut body = body;
        let mut asked = None;
        if minor >= 74 {
            for key in ["host", "hypervisor_hostname"] {
                if let Some(h) = input::opt_str(&mut body, key, 255, false)? {
                    asked = Some(h);
                }
            }
        }
        let mut req = Self::try_from(body)?;
        if let Some(h) = asked {
            req.availability_zone.pinned = true;
            req.availability_zone.host = Some(h);
        }
        Ok(req)
    }

    /// The id of the requested flavor (the last segment of a link).
    pub fn flavor_id(&self) -> &str {
        self.flavor_ref.rsplit('/').next().unwrap_or_default()
    }

    /// The mapping the server boots from, if it boots from a volume.
    pub fn boot_volume(&self) -> Option<&BlockDevice> {
        self.block_devices.iter().find(|b| b.boot_index == Some(0))
    }
}

impl TryFrom<Body> for CreateServer {
    type Error = Error;

    fn try_from(mut body: Body) -> Result<Self> {
        let name = server_meta::name(&mut body)?.ok_or_else(|| {
            Error::bad_request("Invalid input for field/attribute server. Value: {...}. 'name' is a required property")
        })?;
        let block_devices = boot::parse(body.remove("block_device_mapping_v2"))?;
        let image_ref = input::opt_str(&mut body, "imageRef", 255, true)?.filter(|i| !i.is_empty());
        // Booted from a volume, a server has no image of its own (Nova shows "").
        let image_ref = match (image_ref, block_devices.iter().any(|b| b.boot_index == Some(0))) {
            (_, true) => None,
            (Some(i), false) => Some(i),
            (None, false) => return Err(Error::bad_request("Invalid input for field/attribute imageRef.")),
        };
        let flavor_ref = match body.remove("flavorRef") {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(Error::bad_request("Invalid input for field/attribute flavorRef.")),
        };
        let key_name = input::opt_str(&mut body, "key_name", 255, true)?;
        let user_data = user_data(body.remove("user_data"))?;
        let config_drive = config_drive(body.remove("config_drive"))?;
        let metadata = match body.remove("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => server_meta::validate(m)?,
            Some(_) => return Err(Error::bad_request("Invalid input for field/attribute metadata.")),
        };
        let access_ipv4 = server_meta::access_ip(&mut body, "accessIPv4", false)?;
        let access_ipv6 = server_meta::access_ip(&mut body, "accessIPv6", true)?;
        let description = server_meta::description(&mut body)?;
        let security_groups = security_groups(body.remove("security_groups"))?;
        let hints = body
            .remove("os:scheduler_hints")
            .or_else(|| body.remove("OS-SCH-HNT:scheduler_hints"));
        let hints = SchedulerHints::parse(hints)?;
        let (min_count, max_count) = counts(&mut body)?;
        if max_count > 1 && block_devices.iter().any(|b| b.source == "volume") {
            return Err(Error::bad_request(
                "Block Device Mapping is Invalid: an existing volume cannot be given to several servers.",
            ));
        }
        let networks = networks(body.remove("networks"))?;
        let availability_zone = AvailabilityZone::parse(input::opt_str(&mut body, "availability_zone", 255, true)?);
        let tags = tags(body.remove("tags"))?;
        let admin_pass = match body.remove("adminPass") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p),
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute adminPass. Value: {v}."
                )))
            }
        };
        let return_reservation_id = reservation(body.remove("return_reservation_id"))?;
        Ok(Self {
            name,
            image_ref,
            flavor_ref,
            block_devices,
            key_name,
            user_data,
            config_drive,
            metadata,
            access_ipv4,
            access_ipv6,
            description,
            security_groups,
            hints,
            min_count,
            max_count,
            networks,
            availability_zone,
            tags,
            admin_pass,
            return_reservation_id,
        })
    }
}

/// Nova's boolean strings.
fn truthy(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
}

fn config_drive(v: Option<Value>) -> Result<bool> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::String(s)) => Ok(truthy(&s)),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute config_drive. Value: {v}."
        ))),
    }
}

fn reservation(v: Option<Value>) -> Result<bool> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(x)) => Ok(x),
        Some(Value::String(x)) => Ok(truthy(&x)),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute return_reservation_id. Value: {v}."
        ))),
    }
}

/// `min_count` (default 1) and `max_count` (default `min_count`): integers (or integer
/// strings) of at least 1, min not above max.
fn counts(body: &mut Body) -> Result<(i64, i64)> {
    let count = |k: &str, v: Value| -> Result<i64> {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::bad_request(format!("Invalid input for field/attribute {k}.")))
    };
    let min = match body.remove("min_count") {
        None | Some(Value::Null) => 1,
        Some(v) => count("min_count", v)?,
    };
    let max = match body.remove("max_count") {
        None | Some(Value::Null) => min,
        Some(v) => count("max_count", v)?,
    };
    if max < min {
        return Err(Error::bad_request("min_count must be <= max_count"));
    }
    Ok((min, max))
}

/// `networks`: `auto` (or absent), `none`, or a list of `{"uuid"[, "fixed_ip"]}` /
/// `{"port"}` entries.
fn networks(v: Option<Value>) -> Result<Option<Vec<NicRequest>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "auto" => Ok(None),
        Some(Value::String(s)) if s == "none" => Ok(Some(vec![])),
        Some(Value::Array(items)) => items.iter().map(nic).collect::<Result<Vec<_>>>().map(Some),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute networks. Value: {v}."
        ))),
    }
}

fn nic(i: &Value) -> Result<NicRequest> {
    let bad = |why: &str| Error::bad_request(format!("Bad networks format: {why}"));
    let text = |k: &str| i.get(k).and_then(Value::as_str).map(str::to_owned);
    let (port, uuid, fixed) = (text("port"), text("uuid"), text("fixed_ip"));
    if let Some(ip) = &fixed {
        ip.parse::<std::net::IpAddr>()
            .map_err(|_| bad(&format!("Invalid fixed IP address ({ip})")))?;
    }
    for id in port.iter().chain(uuid.iter()) {
        uuid::Uuid::parse_str(id).map_err(|_| bad("network uuid is not in proper format"))?;
    }
    match (port, uuid) {
        (Some(p), _) => Ok(NicRequest::Port(p)),
        (None, Some(n)) => Ok(NicRequest::Network(n, fixed)),
        _ => Err(bad("each entry needs uuid or port")),
    }
}

/// `user_data`: base64 text of at most 65535 bytes (Nova's schema: `format: base64`,
/// `maxLength: 65535`); errors never echo the data.
fn user_data(v: Option<Value>) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(u)) => {
            if u.len() > MAX_USER_DATA {
                return Err(Error::bad_request(format!(
                    "User data too large. User data must be no larger than {MAX_USER_DATA} bytes once base64 encoded. Your data is {} bytes",
                    u.len()
                )));
            }
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(u.trim())
                .map_err(|_| {
                    Error::bad_request(
                        "Invalid input for field/attribute user_data. Value: (not shown). It is not a 'base64'",
                    )
                })?;
            Ok(Some(u))
        }
        Some(_) => Err(Error::bad_request(
            "Invalid input for field/attribute user_data. Value: (not shown). It is not of type 'string'",
        )),
    }
}

/// `security_groups: [{"name": ...}]` as the names given.
fn security_groups(v: Option<Value>) -> Result<Option<Vec<String>>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(v) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute security_groups. Value: {v}."
            )))
        }
    };
    items
        .iter()
        .map(|i| {
            i.get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::bad_request("Invalid input for field/attribute security_groups."))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

impl SchedulerHints {
    /// Hints that are not an object are ignored, as are those Ciel does not know.
    fn parse(v: Option<Value>) -> Result<Self> {
        let Some(Value::Object(h)) = v else {
            return Ok(Self::default());
        };
        Ok(Self {
            group: h.get("group").and_then(Value::as_str).map(str::to_owned),
            same_host: h.get("same_host").map(server_ids).transpose()?,
            different_host: h.get("different_host").map(server_ids).transpose()?.unwrap_or_default(),
        })
    }
}

/// One server id or a list of them (other list items are ignored).
fn server_ids(v: &Value) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => Ok(a.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
        _ => Err(Error::bad_request(
            "Invalid input for field/attribute os:scheduler_hints.",
        )),
    }
}

impl AvailabilityZone {
    fn parse(v: Option<String>) -> Self {
        let az = v.unwrap_or_else(|| "nova".into());
        match az.split_once(':') {
            Some((zone, host)) => {
                let host = host.split(':').next().unwrap_or_default();
                AvailabilityZone {
                    zone: if zone.is_empty() { "nova" } else { zone }.to_string(),
                    pinned: true,
                    host: (!host.is_empty()).then(|| host.to_string()),
                }
            }
            None => AvailabilityZone {
                zone: az,
                pinned: false,
                host: None,
            },
        }
    }
}

/// `tags` (2.52): at most 50 strings of 1–60 characters without `/` or `,`, as Nova's
/// schema checks them (a repeated tag is kept once).
fn tags(v: Option<Value>) -> Result<Vec<String>> {
    let items = match v {
        None => return Ok(vec![]),
        Some(Value::Array(items)) => items,
        Some(v) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute tags. Value: {v}. {v} is not of type 'array'"
            )))
        }
    };
    if items.len() > MAX_TAGS {
        let v = Value::Array(items);
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute tags. Value: {v}. {v} is too long"
        )));
    }
    let mut out: Vec<String> = vec![];
    for (i, t) in items.iter().enumerate() {
        let tag = check_tag(i, t)?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// Item `i` of `tags` (Nova names the failing item by its index).
fn check_tag(i: usize, t: &Value) -> Result<String> {
    let shown = t.as_str().map(str::to_owned).unwrap_or_else(|| t.to_string());
    let bad = |why: String| Error::bad_request(format!("Invalid input for field/attribute {i}. Value: {shown}. {why}"));
    let Value::String(tag) = t else {
        return Err(bad(format!("{t} is not of type 'string'")));
    };
    let n = tag.chars().count();
    if n == 0 {
        return Err(bad(format!("'{tag}' is too short")));
    }
    if n > 60 {
        return Err(bad(format!("'{tag}' is too long")));
    }
    if tag.contains('/') || tag.contains(',') {
        return Err(bad(format!("'{tag}' does not match '^[^,/]*$'")));
    }
    Ok(tag.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        v.as_object().cloned().unwrap_or_default()
    }

    fn server(extra: Value) -> Body {
        let mut b = body(json!({"name": "vm", "imageRef": "img", "flavorRef": 1}));
        b.extend(body(extra));
        b
    }

    #[test]
    fn user_data_is_bounded_base64() {
        assert_eq!(user_data(Some(json!("aGVsbG8="))).unwrap().as_deref(), Some("aGVsbG8="));
        assert!(user_data(None).unwrap().is_none());
        let big = "A".repeat(65536);
        let e = user_data(Some(json!(big))).unwrap_err();
        assert!(e.to_string().starts_with("User data too large."), "{e}");
        assert!(e.to_string().len() < 200, "the data is not echoed");
        assert!(user_data(Some(json!("A".repeat(65532)))).is_ok());
        assert_eq!(user_data(Some(json!("not base64!"))).unwrap_err().status(), 400);
        assert_eq!(user_data(Some(json!(12))).unwrap_err().status(), 400);
    }

    #[test]
    fn defaults_and_fields() {
        let c: CreateServer = serde_json::from_value(json!({"name": "vm", "imageRef": "img", "flavorRef": 1})).unwrap();
        assert_eq!((c.min_count, c.max_count, c.flavor_id()), (1, 1, "1"));
        assert_eq!(c.networks, None);
        assert_eq!(c.availability_zone.zone, "nova");
        let c = CreateServer::try_from(server(json!({
            "networks": [{"uuid": "2b7ac3a4-5a1c-4e5e-9c55-7a3f5a9e0a11", "fixed_ip": "10.0.0.5"}],
            "availability_zone": ":h1", "min_count": "2", "max_count": 3,
            "os:scheduler_hints": {"group": "g", "same_host": "s1", "different_host": ["s2"]},
            "security_groups": [{"name": "web"}], "tags": ["a", "a", "b"],
        })))
        .unwrap();
        assert_eq!((c.min_count, c.max_count), (2, 3));
        assert_eq!(c.tags, ["a", "b"]);
        assert_eq!(c.security_groups, Some(vec!["web".to_string()]));
        assert_eq!(c.hints.same_host, Some(vec!["s1".to_string()]));
        let az = &c.availability_zone;
        assert_eq!(
            (az.zone.as_str(), az.pinned, az.host.as_deref()),
            ("nova", true, Some("h1"))
        );
        assert!(matches!(&c.networks.as_deref(), Some([NicRequest::Network(_, Some(ip))]) if ip == "10.0.0.5"));
        assert_eq!(
            CreateServer::try_from(server(json!({"networks": "none"})))
                .unwrap()
                .networks,
            Some(vec![])
        );
    }

    #[test]
    fn errors_keep_novas_texts() {
        let e = |extra: Value| CreateServer::try_from(server(extra)).unwrap_err().to_string();
        assert_eq!(
            e(json!({"min_count": 2, "max_count": 1})),
            "min_count must be <= max_count"
        );
        assert_eq!(
            e(json!({"min_count": 0})),
            "Invalid input for field/attribute min_count."
        );
        assert_eq!(
            e(json!({"networks": [{"uuid": "x"}]})),
            "Bad networks format: network uuid is not in proper format"
        );
        assert_eq!(
            e(json!({"networks": 3})),
            "Invalid input for field/attribute networks. Value: 3."
        );
        assert_eq!(
            e(json!({"config_drive": 3})),
            "Invalid input for field/attribute config_drive. Value: 3."
        );
        assert_eq!(
            e(json!({"os:scheduler_hints": {"same_host": 1}})),
            "Invalid input for field/attribute os:scheduler_hints."
        );
        assert_eq!(
            e(json!({"tags": ["a/b"]})),
            "Invalid input for field/attribute 0. Value: a/b. 'a/b' does not match '^[^,/]*$'"
        );
        assert_eq!(
            e(json!({"adminPass": 1})),
            "Invalid input for field/attribute adminPass. Value: 1."
        );
        let mut no_image = server(json!({}));
        no_image.remove("imageRef");
        assert_eq!(
            CreateServer::try_from(no_image).unwrap_err().to_string(),
            "Invalid input for field/attribute imageRef."
        );
        let e = CreateServer::at_microversion(server(json!({"tags": []})), 51).unwrap_err();
        assert!(e.to_string().ends_with("('tags' was unexpected)"));
        assert!(CreateServer::at_microversion(server(json!({"tags": []})), 52).is_ok());
    }

    #[test]
    fn a_host_is_asked_for_from_2_74() {
        let c = CreateServer::at_microversion(server(json!({"host": "hv2"})), 74).unwrap();
        let az = &c.availability_zone;
        assert_eq!((az.pinned, az.host.as_deref()), (true, Some("hv2")));
        let c = CreateServer::at_microversion(server(json!({"hypervisor_hostname": "hv3"})), 79).unwrap();
        assert_eq!(c.availability_zone.host.as_deref(), Some("hv3"));
        assert!(CreateServer::at_microversion(server(json!({"host": 7})), 74).is_err());
        let c = CreateServer::at_microversion(server(json!({})), 74).unwrap();
        assert!(!c.availability_zone.pinned);
    }
}

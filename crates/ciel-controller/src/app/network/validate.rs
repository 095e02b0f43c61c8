//! Neutron's attribute validation (neutron-lib's validators and converters), written once for
//! every network resource. Everything a host is later programmed from (addresses, prefixes,
//! MACs, routes, MTUs) is parsed here into typed values, so nothing reaches the database, and
//! from there an agent, as free text.
//!
//! Errors have Neutron's shapes: attribute validation fails as `HTTPBadRequest` with
//! "Invalid input for {attr}. Reason: {reason}.", conversions as `InvalidInput` with
//! "Invalid input for operation: {reason}.", and the few named exceptions with their own type.

use crate::app::json_input::Body;
use crate::error::{Error, Result};
use ipnet::IpNet;
use serde_json::{json, Value};
use std::fmt;
use std::net::IpAddr;

/// neutron-lib `NAME_FIELD_SIZE` and `DESCRIPTION_FIELD_SIZE`.
pub const NAME_MAX: usize = 255;
pub const DESCRIPTION_MAX: usize = 255;
/// Neutron's `max_allowed_address_pair`, `max_dns_nameservers`, `max_subnet_host_routes`.
pub const MAX_ALLOWED_ADDRESS_PAIRS: usize = 10;
pub const MAX_DNS_NAMESERVERS: usize = 5;
pub const MAX_HOST_ROUTES: usize = 20;
/// Smallest MTU of a network carrying IPv4 (RFC 791) and IPv6 (RFC 8200) subnets.
pub const IPV4_MIN_MTU: i64 = 68;
pub const IPV6_MIN_MTU: i64 = 1280;

/// A failed attribute validation: `HTTPBadRequest`, "Invalid input for {attr}. Reason: ...".
pub fn invalid(attr: &str, reason: impl fmt::Display) -> Error {
    Error::bad_request(format!("Invalid input for {attr}. Reason: {reason}."))
}

/// Neutron's `InvalidInput` (400): "Invalid input for operation: {msg}.".
pub fn invalid_input(msg: impl fmt::Display) -> Error {
    Error::Typed {
        status: 400,
        kind: "InvalidInput",
        message: format!("Invalid input for operation: {msg}."),
    }
}

/// A named Neutron exception answered with 400.
pub fn typed_400(kind: &'static str, message: impl Into<String>) -> Error {
    Error::Typed {
        status: 400,
        kind,
        message: message.into(),
    }
}

/// A value as Neutron's messages print it (`'%s' % data`): strings bare, the rest as JSON.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Addresses, prefixes, MACs

/// `validate_ip_address`: a plain IPv4 (dotted quad, no leading zeros) or IPv6 address,
/// without whitespace, zone or prefix.
pub fn ip_address(v: &Value) -> std::result::Result<IpAddr, String> {
    let Value::String(s) = v else {
        return Err(format!("'{}' is not a valid IP address", show(v)));
    };
    parse_ip(s)
}

pub fn parse_ip(s: &str) -> std::result::Result<IpAddr, String> {
    let bad = || format!("'{s}' is not a valid IP address");
    if s.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    if !s.contains(':') && s.matches('.').count() != 3 {
        return Err(bad());
    }
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(ip),
        Err(_) if !s.contains(':') => {
            // Leading zeros: valid octets, but ambiguous (octal or decimal), so refused with
            // the address Neutron recommends instead.
            let octets: Option<Vec<u8>> = s
                .split('.')
                .map(|o| {
                    if o.is_empty() || o.len() > 3 || !o.bytes().all(|b| b.is_ascii_digit()) {
                        None
                    } else {
                        o.parse::<u8>().ok()
                    }
                })
                .collect();
            match octets {
                Some(o) if o.len() == 4 => Err(format!(
                    "'{s}' is not an accepted IP address, '{}.{}.{}.{}' is recommended",
                    o[0], o[1], o[2], o[3]
                )),
                _ => Err(bad()),
            }
        }
        Err(_) => Err(bad()),
    }
}

/// `validate_subnet`: `address/prefix` (host bits allowed, as netaddr keeps them).
pub fn subnet(v: &Value) -> std::result::Result<IpNet, String> {
    let text = show(v);
    let bad = || format!("'{text}' is not a valid IP subnet");
    let Value::String(s) = v else { return Err(bad()) };
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 3 {
        return Err(bad());
    }
    let ip = parse_ip(addr).map_err(|_| bad())?;
    IpNet::new(ip, len.parse().map_err(|_| bad())?).map_err(|_| bad())
}

/// `validate_route_cidr`: a network address with prefix, and not loopback.
pub fn route_cidr(v: &Value) -> std::result::Result<IpNet, String> {
    let text = show(v);
    let net = subnet(v).map_err(|_| format!("'{text}' is not a valid CIDR"))?;
    if net.trunc() != net {
        return Err(format!("'{text}' is not a valid CIDR"));
    }
    let loopback = match net {
        IpNet::V4(n) => n.network().is_loopback() && n.prefix_len() >= 8,
        IpNet::V6(n) => n.network().is_loopback() && n.prefix_len() == 128,
    };
    if loopback {
        return Err(format!("'{text}' is not a routable CIDR"));
    }
    Ok(net)
}

/// An IP address or a prefix, as an allowed address pair names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpOrNet {
    Addr(IpAddr),
    Net(IpNet),
}

impl IpOrNet {
    pub fn net(&self) -> IpNet {
        match self {
            IpOrNet::Addr(a) => IpNet::from(*a),
            IpOrNet::Net(n) => *n,
        }
    }
}

impl fmt::Display for IpOrNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpOrNet::Addr(a) => a.fmt(f),
            IpOrNet::Net(n) => n.fmt(f),
        }
    }
}

/// A MAC address, shown as Neutron stores it (`fa:16:3e:00:00:01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// netaddr's accepted spellings: `aa:bb:cc:dd:ee:ff` (also with `-`, one-digit groups
    /// allowed), `aabb.ccdd.eeff`, and bare `aabbccddeeff`.
    pub fn parse(s: &str) -> Option<Mac> {
        let hex = |p: &str, max: usize| -> Option<Vec<u8>> {
            if p.is_empty() || p.len() > max || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let padded = format!("{p:0>max$}");
            (0..max / 2)
                .map(|i| u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok())
                .collect()
        };
        let bytes: Vec<u8> = if s.contains(':') || s.contains('-') {
            let sep = if s.contains(':') { ':' } else { '-' };
            let parts: Vec<&str> = s.split(sep).collect();
            if parts.len() != 6 {
                return None;
            }
            parts.iter().map(|p| hex(p, 2)).collect::<Option<Vec<_>>>()?.concat()
        } else if s.contains('.') {
            let parts: Vec<&str> = s.split('.').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.len() != 4) {
                return None;
            }
            parts.iter().map(|p| hex(p, 4)).collect::<Option<Vec<_>>>()?.concat()
        } else if s.len() == 12 {
            hex(s, 12)?
        } else {
            return None;
        };
        Some(Mac(bytes.try_into().ok()?))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// `validate_mac_address` after `convert_to_sanitized_mac_address`: any netaddr spelling,
/// not all-zero or broadcast; answered in the canonical form.
pub fn mac_address(v: &Value) -> std::result::Result<Mac, String> {
    let bad = || format!("'{}' is not a valid MAC address", show(v));
    let Value::String(s) = v else { return Err(bad()) };
    match Mac::parse(s) {
        Some(m) if m.0 != [0; 6] && m.0 != [0xff; 6] => Ok(m),
        _ => Err(bad()),
    }
}

/// `validate_mac_address_not_multicast`.
pub fn unicast_mac(v: &Value) -> std::result::Result<Mac, String> {
    let m = mac_address(v)?;
    if m.is_multicast() {
        return Err(format!(
            "MAC address {} is a multicast address, which is not supported.",
            show(v)
        ));
    }
    Ok(m)
}

/// `validate_uuid`.
pub fn uuid(v: &Value) -> std::result::Result<String, String> {
    match v {
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => Ok(s.clone()),
        other => Err(format!("'{}' is not a valid UUID", show(other))),
    }
}

// ---------------------------------------------------------------------------------------
// Strings

/// Characters no Neutron name may contain anywhere: control and format characters, private
/// use, line and paragraph separators, and anything outside the Basic Multilingual Plane
/// (neutron-lib's `name_string`, which follows Nova's printable-name rule).
fn name_char_refused(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || u > 0xFFFE
        || matches!(u,
            0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
            | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
            | 0xE000..=0xF8FF | 0xFEFF | 0xFFF9..=0xFFFB)
}

/// Space separators (Unicode `Zs`): allowed inside a name, not at either end.
fn space_separator(c: char) -> bool {
    matches!(
        c as u32,
        0x20 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000
    )
}

/// `validate_string`: a string of at most `max` characters; NUL is refused as well, as
/// no OpenStack database column can hold it.
pub fn string_value(attr: &str, v: Value, max: usize) -> Result<String> {
    let Value::String(s) = v else {
        return Err(invalid(attr, format!("'{}' is not a valid string", show(&v))));
    };
    if s.chars().count() > max {
        return Err(invalid(attr, format!("'{s}' exceeds maximum length of {max}")));
    }
    if s.contains('\0') {
        return Err(invalid(attr, format!("'{s}' is not a valid string")));
    }
    Ok(s)
}

/// `validate_name_string`: a string as above, printable only, not starting or ending with
/// a space.
pub fn name_value(attr: &str, v: Value, max: usize) -> Result<String> {
    let s = string_value(attr, v, max)?;
    let edge_bad = |c: Option<char>| c.is_some_and(|c| name_char_refused(c) || space_separator(c));
    if s.chars().any(name_char_refused) || edge_bad(s.chars().next()) || edge_bad(s.chars().last()) {
        return Err(invalid(attr, format!("'{s}' is not a valid string")));
    }
    Ok(s)
}

/// An optional plain string field (`type:string`); `null` counts as absent.
pub fn opt_string(body: &mut Body, attr: &str, max: usize) -> Result<Option<String>> {
    match body.remove(attr) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string_value(attr, v, max).map(Some),
    }
}

/// An optional resource `name` (`type:name_string`, 255); `null` counts as absent.
pub fn opt_name(body: &mut Body) -> Result<Option<String>> {
    match body.remove("name") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => name_value("name", v, NAME_MAX).map(Some),
    }
}

/// An optional `description` (`type:string`, 255); `null` counts as absent.
pub fn opt_description(body: &mut Body) -> Result<Option<String>> {
    opt_string(body, "description", DESCRIPTION_MAX)
}

/// An optional UUID field (`type:uuid_or_none`); `null` counts as absent.
pub fn opt_uuid(body: &mut Body, attr: &str) -> Result<Option<String>> {
    match body.remove(attr) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => uuid(&v).map(Some).map_err(|r| invalid(attr, r)),
    }
}

/// An optional IP address field (`type:ip_address_or_none`); `null` counts as absent.
pub fn opt_ip(body: &mut Body, attr: &str) -> Result<Option<IpAddr>> {
    match body.remove(attr) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => ip_address(&v).map(Some).map_err(|r| invalid(attr, r)),
    }
}

// ---------------------------------------------------------------------------------------
// Integers

enum Int {
    Value(i64),
    /// An integer beyond i64 (its sign).
    Huge(bool),
    NotInteger,
}

/// Python's `int()` as Neutron's converters apply it, except that fractions and booleans are
/// refused rather than truncated.
fn integer(v: &Value) -> Int {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Int::Value(i)
            } else if n.as_u64().is_some() {
                Int::Huge(true)
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 => {
                        if f.abs() < 9.0e18 {
                            Int::Value(f as i64)
                        } else {
                            Int::Huge(f > 0.0)
                        }
                    }
                    _ => Int::NotInteger,
                }
            }
        }
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Int::NotInteger;
            }
            match t.parse::<i64>() {
                Ok(i) => Int::Value(i),
                Err(_) => Int::Huge(!t.starts_with('-')),
            }
        }
        _ => Int::NotInteger,
    }
}

/// `convert_to_int` (InvalidInput "'x' is not an integer"), for integer fields that reach
/// no host; values beyond 64 bits are refused the same way.
pub fn int_value(v: &Value) -> Result<i64> {
    match integer(v) {
        Int::Value(i) => Ok(i),
        _ => Err(invalid_input(format!("'{}' is not an integer", show(v)))),
    }
}

/// A requested network `mtu` (`convert_to_int`): checked against the network's bounds, which
/// depend on its type and subnets, by [`MtuRequest::within`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MtuRequest {
    Value(i64),
    /// Beyond 64 bits: too big.
    Huge,
    /// Below -2^63, as the request wrote it.
    HugeNegative(String),
}

/// Parses a requested `mtu` (an integer or its string; "'x' is not an integer" otherwise).
pub fn mtu_request(v: &Value) -> Result<MtuRequest> {
    match integer(v) {
        Int::Value(m) => Ok(MtuRequest::Value(m)),
        Int::Huge(true) => Ok(MtuRequest::Huge),
        Int::Huge(false) => Ok(MtuRequest::HugeNegative(show(v))),
        Int::NotInteger => Err(invalid_input(format!("'{}' is not an integer", show(v)))),
    }
}

impl MtuRequest {
    /// Non-negative, at most the network type's maximum (`Requested MTU is too big`) and at
    /// least `min` (the IPv4 minimum, or the IPv6 one when the network has an IPv6 subnet).
    pub fn within(&self, max: i64, min: i64) -> Result<i64> {
        let m = match self {
            MtuRequest::Value(m) => *m,
            MtuRequest::Huge => return Err(invalid_input(format!("Requested MTU is too big, maximum is {max}"))),
            MtuRequest::HugeNegative(shown) => return Err(invalid("mtu", format!("'{shown}' should be non-negative"))),
        };
        if m < 0 {
            return Err(invalid("mtu", format!("'{m}' should be non-negative")));
        }
        if m > max {
            return Err(invalid_input(format!("Requested MTU is too big, maximum is {max}")));
        }
        if m < min {
            return Err(invalid_input(format!("Requested MTU is too small, minimum is {min}")));
        }
        Ok(m)
    }
}

/// A network `mtu` checked against its bounds at once (see [`MtuRequest`]).
pub fn mtu(v: &Value, max: i64, min: i64) -> Result<i64> {
    mtu_request(v)?.within(max, min)
}

// ---------------------------------------------------------------------------------------
// Lists

/// Python's repr of a JSON object, as Neutron prints a route or pair in messages.
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        other => show(other),
    }
}

/// A DNS server as a request names it (its text is what Neutron's messages show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nameserver {
    pub ip: IpAddr,
    pub text: String,
}

/// `validate_nameservers`: a list of IP addresses, no duplicates.
pub fn nameserver_list(v: Value) -> Result<Vec<Nameserver>> {
    let Value::Array(items) = &v else {
        return Err(invalid(
            "dns_nameservers",
            format!("Invalid data format for nameserver: '{}'", show(&v)),
        ));
    };
    let mut out: Vec<Nameserver> = vec![];
    for host in items {
        let ip = ip_address(host).map_err(|msg| {
            invalid(
                "dns_nameservers",
                format!("'{}' is not a valid nameserver. {msg}", show(host)),
            )
        })?;
        if out.iter().any(|n| n.ip == ip) {
            return Err(invalid(
                "dns_nameservers",
                format!("Duplicate nameserver '{}'", show(host)),
            ));
        }
        out.push(Nameserver { ip, text: show(host) });
    }
    Ok(out)
}

/// The subnet's checks of its DNS servers: at most five, of the subnet's IP version.
pub fn nameservers_for(list: &[Nameserver], ip_version: u8, subnet_id: &str) -> Result<Vec<IpAddr>> {
    if list.len() > MAX_DNS_NAMESERVERS {
        return Err(typed_400(
            "DNSNameServersExhausted",
            format!(
                "Unable to complete operation for {subnet_id}. The number of DNS nameservers exceeds the limit {MAX_DNS_NAMESERVERS}."
            ),
        ));
    }
    for n in list {
        if !version_matches(&n.ip, ip_version) {
            return Err(invalid_input(format!(
                "dns_nameserver '{}' does not match the ip_version '{ip_version}'",
                n.text
            )));
        }
    }
    Ok(list.iter().map(|n| n.ip).collect())
}

/// `validate_nameservers` plus the subnet's checks, at once.
pub fn nameservers(v: Value, ip_version: u8, subnet_id: &str) -> Result<Vec<IpAddr>> {
    nameservers_for(&nameserver_list(v)?, ip_version, subnet_id)
}

fn version_matches(ip: &IpAddr, ip_version: u8) -> bool {
    (ip_version == 4) == ip.is_ipv4()
}

/// One `{destination, nexthop}` of subnet host routes and router extra routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub destination: IpNet,
    pub nexthop: IpAddr,
}

impl Route {
    pub fn to_json(&self) -> Value {
        json!({"destination": self.destination.to_string(), "nexthop": self.nexthop.to_string()})
    }
}

pub fn routes_json(routes: &[Route]) -> String {
    Value::Array(routes.iter().map(Route::to_json).collect()).to_string()
}

/// Stored routes (written by `routes_json`).
pub fn stored_routes(text: &str) -> Vec<Route> {
    serde_json::from_str::<Vec<Value>>(text)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            Some(Route {
                destination: route_cidr(r.get("destination")?).ok()?,
                nexthop: ip_address(r.get("nexthop")?).ok()?,
            })
        })
        .collect()
}

/// `validate_hostroutes`: a list of objects with exactly `destination` (a routable network
/// CIDR) and `nexthop` (an IP address), without duplicates.
pub fn routes(attr: &str, v: Value) -> Result<Vec<Route>> {
    let Value::Array(items) = &v else {
        return Err(invalid(
            attr,
            format!("Invalid data format for hostroute: '{}'", show(&v)),
        ));
    };
    let mut out: Vec<Route> = vec![];
    for item in items {
        let Value::Object(m) = item else {
            return Err(invalid(
                attr,
                format!(
                    "Invalid input. '{}' must be a dictionary with keys: ['destination', 'nexthop']",
                    py_repr(item)
                ),
            ));
        };
        if m.len() != 2 || !m.contains_key("destination") || !m.contains_key("nexthop") {
            let provided: Vec<String> = m.keys().map(|k| format!("'{k}'")).collect();
            return Err(invalid(
                attr,
                format!(
                    "Validation of dictionary's keys failed. Expected keys: {{'destination', 'nexthop'}} Provided keys: {{{}}}",
                    provided.join(", ")
                ),
            ));
        }
        let destination = route_cidr(&m["destination"]).map_err(|r| invalid(attr, r))?;
        let nexthop = ip_address(&m["nexthop"]).map_err(|r| invalid(attr, r))?;
        let r = Route { destination, nexthop };
        if out.contains(&r) {
            return Err(invalid(attr, format!("Duplicate hostroute '{}'", py_repr(item))));
        }
        out.push(r);
    }
    Ok(out)
}

/// Subnet host routes: `routes` plus the subnet's checks (at most twenty, of its version).
pub fn host_routes(v: Value, ip_version: u8, subnet_id: &str) -> Result<Vec<Route>> {
    let routes = routes("host_routes", v)?;
    host_routes_for(&routes, ip_version, subnet_id)?;
    Ok(routes)
}

/// The subnet's checks of its host routes: at most twenty, of its IP version.
pub fn host_routes_for(routes: &[Route], ip_version: u8, subnet_id: &str) -> Result<()> {
    if routes.len() > MAX_HOST_ROUTES {
        return Err(typed_400(
            "HostRoutesExhausted",
            format!(
                "Unable to complete operation for {subnet_id}. The number of host routes exceeds the limit {MAX_HOST_ROUTES}."
            ),
        ));
    }
    for r in routes {
        if !version_matches(&r.nexthop, ip_version) {
            return Err(invalid_input(format!(
                "nexthop '{}' does not match the ip_version '{ip_version}'",
                r.nexthop
            )));
        }
        if !version_matches(&r.destination.addr(), ip_version) {
            return Err(invalid_input(format!(
                "destination '{}' does not match the ip_version '{ip_version}'",
                r.destination
            )));
        }
    }
    Ok(())
}

/// One allowed address pair as stored: the MAC defaults to the port's, as in Neutron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPair {
    pub ip_address: IpOrNet,
    pub mac_address: Mac,
}

pub fn pairs_json(pairs: &[AddressPair]) -> String {
    Value::Array(
        pairs
            .iter()
            .map(|p| json!({"ip_address": p.ip_address.to_string(), "mac_address": p.mac_address.to_string()}))
            .collect(),
    )
    .to_string()
}

/// One allowed address pair as requested: the MAC may be left to the port's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPairRequest {
    pub ip_address: IpOrNet,
    pub mac_address: Option<Mac>,
}

impl AddressPairRequest {
    pub fn on_port(self, port_mac: Mac) -> AddressPair {
        AddressPair {
            ip_address: self.ip_address,
            mac_address: self.mac_address.unwrap_or(port_mac),
        }
    }
}

/// Allowed address pairs with `port_mac` filling in missing MACs (see `address_pair_requests`).
pub fn allowed_address_pairs(v: Value, port_mac: Mac) -> Result<Vec<AddressPair>> {
    Ok(address_pair_requests(v)?
        .into_iter()
        .map(|p| p.on_port(port_mac))
        .collect())
}

/// `_validate_allowed_address_pairs`: a list of at most ten objects with an `ip_address`
/// (an IP address, or a prefix when it has a `/`, neither multicast) and optionally a unicast
/// `mac_address`, nothing else, no pair twice.
pub fn address_pair_requests(v: Value) -> Result<Vec<AddressPairRequest>> {
    const ATTR: &str = "allowed_address_pairs";
    let Value::Array(items) = v else {
        return Err(Error::bad_request("Allowed address pairs must be a list."));
    };
    if items.len() > MAX_ALLOWED_ADDRESS_PAIRS {
        return Err(typed_400(
            "AllowedAddressPairExhausted",
            format!("The number of allowed address pair exceeds the maximum {MAX_ALLOWED_ADDRESS_PAIRS}."),
        ));
    }
    let mut seen: Vec<(Option<String>, String)> = vec![];
    let mut out = vec![];
    for item in &items {
        let Value::Object(m) = item else {
            return Err(invalid(ATTR, format!("'{}' is not a dictionary", show(item))));
        };
        let mac = match m.get("mac_address") {
            None => None,
            Some(v) => Some(mac_address(v).map_err(Error::bad_request)?),
        };
        let Some(ip_value) = m.get("ip_address") else {
            return Err(typed_400(
                "AllowedAddressPairsMissingIP",
                "AllowedAddressPair must contain ip_address",
            ));
        };
        let key = (m.get("mac_address").map(show), show(ip_value));
        if seen.contains(&key) {
            return Err(typed_400(
                "DuplicateAddressPairInRequest",
                format!(
                    "Request contains duplicate address pair: mac_address {} ip_address {}.",
                    key.0.as_deref().unwrap_or("None"),
                    key.1
                ),
            ));
        }
        seen.push(key);
        let mut unknown: Vec<&str> = m
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "mac_address" && *k != "ip_address")
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(Error::bad_request(format!(
                "Unrecognized attribute(s) '{}'",
                unknown.join(", ")
            )));
        }
        let text = show(ip_value);
        let ip = if matches!(ip_value, Value::String(s) if s.contains('/')) {
            let net = subnet(ip_value).map_err(Error::bad_request)?;
            let mcast: IpNet = if net.addr().is_ipv4() {
                "224.0.0.0/4".parse().unwrap_or(net)
            } else {
                "ff00::/8".parse().unwrap_or(net)
            };
            let everything = net.prefix_len() == 0 && net.addr().is_ipv4();
            if !everything && (mcast.contains(&net) || net.contains(&mcast)) {
                return Err(Error::bad_request(format!(
                    "Subnet {net} overlaps with multicast range {mcast}, which is not supported."
                )));
            }
            IpOrNet::Net(net)
        } else {
            let a = ip_address(ip_value).map_err(Error::bad_request)?;
            if a.is_multicast() {
                return Err(Error::bad_request(format!(
                    "IP {text} is a multicast address, which is not supported."
                )));
            }
            IpOrNet::Addr(a)
        };
        if let Some(m) = &mac {
            if m.is_multicast() {
                return Err(Error::bad_request(format!(
                    "MAC address {} is a multicast address, which is not supported.",
                    show(&item["mac_address"])
                )));
            }
        }
        out.push(AddressPairRequest {
            ip_address: ip,
            mac_address: mac,
        });
    }
    Ok(out)
}

/// One `fixed_ips` entry: a subnet, an address, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedIpSpec {
    pub subnet_id: Option<String>,
    pub ip_address: Option<IpAddr>,
}

/// `validate_fixed_ips`: a list of objects whose `ip_address` is an IP address (each at most
/// once) and whose `subnet_id` is a UUID.
pub fn fixed_ips(attr: &str, v: Value) -> Result<Vec<FixedIpSpec>> {
    let Value::Array(items) = &v else {
        return Err(invalid(
            attr,
            format!("Invalid data format for fixed IP: '{}'", show(&v)),
        ));
    };
    let mut ips: Vec<IpAddr> = vec![];
    let mut out = vec![];
    for item in items {
        let Value::Object(m) = item else {
            return Err(invalid(
                attr,
                format!("Invalid data format for fixed IP: '{}'", show(item)),
            ));
        };
        let ip_address = match m.get("ip_address") {
            None => None,
            Some(v) => {
                let ip = ip_address(v).map_err(|r| invalid(attr, r))?;
                if ips.contains(&ip) {
                    return Err(invalid(attr, format!("Duplicate IP address '{}'", show(v))));
                }
                ips.push(ip);
                Some(ip)
            }
        };
        let subnet_id = match m.get("subnet_id") {
            None => None,
            Some(v) => Some(uuid(v).map_err(|r| invalid(attr, r))?),
        };
        if subnet_id.is_none() && ip_address.is_none() {
            return Err(invalid_input(format!(
                "Invalid fixed IP entry {}: subnet_id or ip_address is required",
                py_repr(item)
            )));
        }
        out.push(FixedIpSpec { subnet_id, ip_address });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn ip_addresses() {
        assert!(parse_ip("10.0.0.1").is_ok());
        assert!(parse_ip("2001:db8::1").is_ok());
        assert!(parse_ip("::ffff:10.0.0.1").is_ok());
        for bad in [
            "1111.1.1.1",
            "1.1.1",
            "1.1.1.1 ",
            " 1.1.1.1",
            "1.1.1.1\n",
            "not-an-ip",
            "",
            "1.1.1.1/32",
            "fe80::1%eth0",
            "}}",
        ] {
            assert_eq!(
                parse_ip(bad).unwrap_err(),
                format!("'{bad}' is not a valid IP address"),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_ip("010.0.0.1").unwrap_err(),
            "'010.0.0.1' is not an accepted IP address, '10.0.0.1' is recommended"
        );
        assert_eq!(ip_address(&json!(5)).unwrap_err(), "'5' is not a valid IP address");
    }

    #[test]
    fn subnets_and_route_cidrs() {
        assert_eq!(subnet(&json!("10.0.0.0/24")).unwrap().to_string(), "10.0.0.0/24");
        assert_eq!(subnet(&json!("10.0.0.5/24")).unwrap().to_string(), "10.0.0.5/24");
        assert!(subnet(&json!("2001:db8::/64")).is_ok());
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/24 ",
            "x/24",
            "10.0.0.0/+4",
            "::/129",
        ] {
            assert_eq!(
                subnet(&json!(bad)).unwrap_err(),
                format!("'{bad}' is not a valid IP subnet")
            );
        }
        assert_eq!(
            route_cidr(&json!("10.0.0.5/24")).unwrap_err(),
            "'10.0.0.5/24' is not a valid CIDR"
        );
        assert_eq!(
            route_cidr(&json!("127.0.0.0/8")).unwrap_err(),
            "'127.0.0.0/8' is not a routable CIDR"
        );
        assert!(route_cidr(&json!("0.0.0.0/0")).is_ok());
    }

    #[test]
    fn macs() {
        for (given, want) in [
            ("FA:16:3E:00:00:01", "fa:16:3e:00:00:01"),
            ("fa-16-3e-00-00-01", "fa:16:3e:00:00:01"),
            ("fa16.3e00.0001", "fa:16:3e:00:00:01"),
            ("fa163e000001", "fa:16:3e:00:00:01"),
            ("fa:16:3e:0:0:1", "fa:16:3e:00:00:01"),
        ] {
            assert_eq!(mac_address(&json!(given)).unwrap().to_string(), want);
        }
        for bad in [
            "00:00:00:00:00:00",
            "ff:ff:ff:ff:ff:ff",
            "fa:16:3e:00:00",
            "fa:16:3e:00:00:0g",
            "fa:16:3e:00:00:001",
            " fa:16:3e:00:00:01",
            "",
        ] {
            assert_eq!(
                mac_address(&json!(bad)).unwrap_err(),
                format!("'{bad}' is not a valid MAC address")
            );
        }
        assert!(unicast_mac(&json!("01:00:5e:00:00:01"))
            .unwrap_err()
            .contains("multicast"));
    }

    #[test]
    fn names_and_strings() {
        assert_eq!(name_value("name", json!("web 1 é"), 255).unwrap(), "web 1 é");
        assert_eq!(name_value("name", json!(""), 255).unwrap(), "");
        for bad in [
            "a\u{0}b",
            "a\nb",
            " lead",
            "trail ",
            "tab\t",
            "\u{200b}x",
            "emoji 😀",
            "x\u{2028}y",
        ] {
            let e = reason(name_value("name", json!(bad), 255).unwrap_err());
            assert!(e.starts_with("Invalid input for name. Reason: '"), "{bad:?}: {e}");
            assert!(e.ends_with("' is not a valid string."), "{bad:?}: {e}");
        }
        assert_eq!(
            reason(name_value("name", json!("x".repeat(256)), 255).unwrap_err()),
            format!(
                "Invalid input for name. Reason: '{}' exceeds maximum length of 255.",
                "x".repeat(256)
            )
        );
        assert_eq!(
            reason(string_value("description", json!(5), 255).unwrap_err()),
            "Invalid input for description. Reason: '5' is not a valid string."
        );
        // Descriptions keep Neutron's plain string rule: only NUL is refused.
        assert!(string_value("description", json!("line\nbreak"), 255).is_ok());
        assert!(string_value("description", json!("nul\u{0}"), 255).is_err());
    }

    #[test]
    fn mtus() {
        assert_eq!(mtu(&json!(1400), 1450, 68).unwrap(), 1400);
        assert_eq!(mtu(&json!("1400"), 1450, 68).unwrap(), 1400);
        let msg = |v: Value| reason(mtu(&v, 1450, 68).unwrap_err());
        assert_eq!(
            msg(json!("abc")),
            "Invalid input for operation: 'abc' is not an integer."
        );
        assert_eq!(msg(json!(1.5)), "Invalid input for operation: '1.5' is not an integer.");
        assert_eq!(
            msg(json!(true)),
            "Invalid input for operation: 'True' is not an integer."
        );
        assert_eq!(
            msg(json!(9223372036854775808u64)),
            "Invalid input for operation: Requested MTU is too big, maximum is 1450."
        );
        assert_eq!(
            msg(json!("99999999999999999999999")),
            "Invalid input for operation: Requested MTU is too big, maximum is 1450."
        );
        assert_eq!(
            msg(json!(1e300)),
            "Invalid input for operation: Requested MTU is too big, maximum is 1450."
        );
        assert_eq!(
            msg(json!(-1)),
            "Invalid input for mtu. Reason: '-1' should be non-negative."
        );
        assert_eq!(
            msg(json!(67)),
            "Invalid input for operation: Requested MTU is too small, minimum is 68."
        );
        assert_eq!(
            reason(mtu(&json!(1279), 1450, IPV6_MIN_MTU).unwrap_err()),
            "Invalid input for operation: Requested MTU is too small, minimum is 1280."
        );
    }

    #[test]
    fn nameserver_lists() {
        assert_eq!(nameservers(json!(["8.8.8.8"]), 4, "s").unwrap().len(), 1);
        assert_eq!(
            reason(nameservers(json!(["8.8.8.8;rm"]), 4, "s").unwrap_err()),
            "Invalid input for dns_nameservers. Reason: '8.8.8.8;rm' is not a valid nameserver. '8.8.8.8;rm' is not a valid IP address."
        );
        assert!(reason(nameservers(json!(["1.1.1.1", "1.1.1.1"]), 4, "s").unwrap_err())
            .contains("Duplicate nameserver '1.1.1.1'"));
        assert!(
            reason(nameservers(json!("1.1.1.1"), 4, "s").unwrap_err()).contains("Invalid data format for nameserver")
        );
        assert!(reason(nameservers(json!(["2001:db8::1"]), 4, "s").unwrap_err())
            .contains("does not match the ip_version '4'"));
        let six: Vec<String> = (1..=6).map(|i| format!("10.0.0.{i}")).collect();
        assert!(matches!(
            nameservers(json!(six), 4, "s"),
            Err(Error::Typed {
                kind: "DNSNameServersExhausted",
                ..
            })
        ));
    }

    #[test]
    fn route_lists() {
        let r = host_routes(json!([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1"}]), 4, "s").unwrap();
        assert_eq!(
            routes_json(&r),
            r#"[{"destination":"10.1.0.0/16","nexthop":"10.0.0.1"}]"#
        );
        assert_eq!(stored_routes(&routes_json(&r)), r);
        for bad in [
            json!({"destination": "10.1.0.0/16", "nexthop": "10.0.0.1"}),
            json!(["10.1.0.0/16"]),
            json!([{"destination": "10.1.0.0/16"}]),
            json!([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1", "x": 1}]),
            json!([{"destination": "10.1.0.1/16", "nexthop": "10.0.0.1"}]),
            json!([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1; flush"}]),
            json!([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1"}, {"destination": "10.1.0.0/16", "nexthop": "10.0.0.1"}]),
        ] {
            let e = reason(host_routes(bad.clone(), 4, "s").unwrap_err());
            assert!(e.starts_with("Invalid input for host_routes. Reason: "), "{bad}: {e}");
        }
        assert!(reason(
            host_routes(
                json!([{"destination": "2001:db8::/64", "nexthop": "2001:db8::1"}]),
                4,
                "s"
            )
            .unwrap_err()
        )
        .contains("does not match the ip_version"));
    }

    #[test]
    fn address_pairs() {
        let port_mac = Mac::parse("fa:16:3e:00:00:01").unwrap();
        let p = allowed_address_pairs(
            json!([{"ip_address": "10.0.0.5"}, {"ip_address": "10.1.0.0/24", "mac_address": "FA:16:3E:00:00:02"}]),
            port_mac,
        )
        .unwrap();
        assert_eq!(
            pairs_json(&p),
            r#"[{"ip_address":"10.0.0.5","mac_address":"fa:16:3e:00:00:01"},{"ip_address":"10.1.0.0/24","mac_address":"fa:16:3e:00:00:02"}]"#
        );
        let err = |v: Value| allowed_address_pairs(v, port_mac).unwrap_err();
        assert_eq!(
            reason(err(json!({"ip_address": "10.0.0.5"}))),
            "Allowed address pairs must be a list."
        );
        assert_eq!(
            reason(err(json!([{"ip_address": "not-an-ip"}]))),
            "'not-an-ip' is not a valid IP address"
        );
        assert_eq!(reason(err(json!([{"ip_address": 5}]))), "'5' is not a valid IP address");
        assert_eq!(
            reason(err(json!([{"ip_address": {"a": 1}}]))),
            "'{\"a\":1}' is not a valid IP address"
        );
        assert_eq!(
            reason(err(json!([{"ip_address": "10.0.0.0/8 } } accept"}]))),
            "'10.0.0.0/8 } } accept' is not a valid IP subnet"
        );
        assert_eq!(
            reason(err(json!(["10.0.0.5"]))),
            "Invalid input for allowed_address_pairs. Reason: '10.0.0.5' is not a dictionary."
        );
        assert!(matches!(
            err(json!([{"mac_address": "fa:16:3e:00:00:02"}])),
            Error::Typed {
                kind: "AllowedAddressPairsMissingIP",
                ..
            }
        ));
        assert!(matches!(
            err(json!([{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}])),
            Error::Typed {
                kind: "DuplicateAddressPairInRequest",
                ..
            }
        ));
        assert_eq!(
            reason(err(json!([{"ip_address": "10.0.0.5", "x": 1}]))),
            "Unrecognized attribute(s) 'x'"
        );
        assert_eq!(
            reason(err(json!([{"ip_address": "10.0.0.5", "mac_address": "zz"}]))),
            "'zz' is not a valid MAC address"
        );
        assert!(reason(err(json!([{"ip_address": "224.0.0.1"}]))).contains("multicast"));
        assert!(reason(err(json!([{"ip_address": "224.0.0.0/24"}]))).contains("multicast"));
        assert!(reason(err(
            json!([{"ip_address": "10.0.0.5", "mac_address": "01:00:5e:00:00:01"}])
        ))
        .contains("multicast"));
        let many: Vec<Value> = (1..=11).map(|i| json!({"ip_address": format!("10.0.0.{i}")})).collect();
        assert!(matches!(
            err(json!(many)),
            Error::Typed {
                kind: "AllowedAddressPairExhausted",
                ..
            }
        ));
        // 0.0.0.0/0 is allowed (it does not only cover multicast).
        assert!(allowed_address_pairs(json!([{"ip_address": "0.0.0.0/0"}]), port_mac).is_ok());
    }

    #[test]
    fn fixed_ip_lists() {
        let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
        let f = fixed_ips("fixed_ips", json!([{"subnet_id": id, "ip_address": "10.0.0.5"}])).unwrap();
        assert_eq!(f[0].ip_address, Some("10.0.0.5".parse().unwrap()));
        for (bad, want) in [
            (json!("10.0.0.5"), "Invalid data format for fixed IP: '10.0.0.5'"),
            (json!(["10.0.0.5"]), "Invalid data format for fixed IP: '10.0.0.5'"),
            (
                json!([{"ip_address": "1111.1.1.1"}]),
                "'1111.1.1.1' is not a valid IP address",
            ),
            (json!([{"subnet_id": "invalid"}]), "'invalid' is not a valid UUID"),
            (
                json!([{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}]),
                "Duplicate IP address '10.0.0.5'",
            ),
        ] {
            assert_eq!(
                reason(fixed_ips("fixed_ips", bad).unwrap_err()),
                format!("Invalid input for fixed_ips. Reason: {want}.")
            );
        }
    }
}

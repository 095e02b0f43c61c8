//! The haproxy configuration of one load balancer, rendered from its spec (Octavia's
//! "combined listeners" layout): a `frontend` per enabled listener named by the listener id,
//! a `backend <pool id>:<listener id>` per pool a listener uses (its default pool and the
//! pools its L7 policies send to: the listener's timeouts live in the backend), a `server`
//! per member named by the member id, so `show stat` maps back to objects.
//!
//! Nothing from the spec is pasted as text: ids must be ids, addresses parse as addresses,
//! numbers are numbers, names (methods, cookie and header names, HTTP versions, domain
//! names) come from strict character sets, and free text (paths, L7 values, redirect URLs)
//! goes through [`quote`], the one function that writes a haproxy word from a string. A value
//! that does not pass fails the whole load balancer's render, with why.

use crate::net::values;
use ciel_proto::{L7PolicySpec, L7RuleSpec, ListenerSpec, LoadBalancerSpec, MemberSpec, MonitorSpec, PoolSpec};
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::IpAddr;
use std::path::Path;

/// Octavia's `default_connection_limit`, for listeners without one.
pub const DEFAULT_CONNECTION_LIMIT: u64 = 50_000;
/// Octavia's cap of the global `maxconn`.
const MAX_GLOBAL_CONNECTIONS: u64 = 1_000_000;

/// Where the load balancer's runtime files are.
pub struct Files<'a> {
    pub stats_socket: &'a Path,
    pub server_state: &'a Path,
    /// The PING monitor's wrapper script (see [`PING_CHECK`]).
    pub ping_check: &'a Path,
}

/// The external check PING monitors run (haproxy passes the member in the environment);
/// unprivileged ICMP needs `net.ipv4.ping_group_range` open in the namespace.
pub const PING_CHECK: &str = "#!/bin/sh\ncase \"$HAPROXY_SERVER_ADDR\" in\n  *:*) exec /usr/bin/ping -6 -q -n -w 1 -c 1 \"$HAPROXY_SERVER_ADDR\" >/dev/null 2>&1 ;;\n  *) exec /usr/bin/ping -q -n -w 1 -c 1 \"$HAPROXY_SERVER_ADDR\" >/dev/null 2>&1 ;;\nesac\n";

type R<T> = Result<T, String>;

/// One word of haproxy configuration holding `s` exactly: strongly quoted (`'…'`, inside
/// which haproxy interprets nothing), a single quote written as `'\''` (the parser joins
/// adjacent parts of a word, as a shell does). Empty values, control characters (newlines
/// included, which have no strongly quoted form) and non-ASCII are refused.
pub fn quote(s: &str) -> R<String> {
    if s.is_empty() {
        return Err("an empty value".into());
    }
    if s.len() > 4096 {
        return Err("a value longer than 4096 characters".into());
    }
    if let Some(c) = s.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!("{s:?} contains the character {c:?}"));
    }
    Ok(format!("'{}'", s.replace('\'', r"'\''")))
}

fn id<'a>(what: &str, s: &'a str) -> R<&'a str> {
    if values::is_id(s) {
        Ok(s)
    } else {
        Err(format!("{what} id {s:?} is not an id"))
    }
}

/// A token of the given extra characters beyond ASCII letters and digits, 1 to 64 long.
fn token<'a>(what: &str, s: &'a str, extra: &str) -> R<&'a str> {
    let ok = !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
    if ok {
        Ok(s)
    } else {
        Err(format!("{what} {s:?} is not allowed"))
    }
}

/// A DNS name: dot-separated RFC 1123 labels, at most 253 characters.
fn domain(s: &str) -> R<&str> {
    let ok = s.len() <= 253 && s.trim_end_matches('.').split('.').all(values::is_host_label);
    if ok {
        Ok(s)
    } else {
        Err(format!("domain name {s:?} is not allowed"))
    }
}

/// A URL path (and query) of RFC 3986 characters, starting with `/`.
fn url_path(s: &str) -> R<String> {
    let ok = s.starts_with('/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%".contains(c));
    if !ok {
        return Err(format!("URL path {s:?} is not allowed"));
    }
    quote(s)
}

/// An absolute http(s) URL of RFC 3986 characters (for redirects).
fn url(s: &str) -> R<String> {
    let scheme = s.starts_with("http://") || s.starts_with("https://");
    let ok = scheme
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%#[]".contains(c));
    if !ok {
        return Err(format!("redirect URL {s:?} is not allowed"));
    }
    quote(s)
}

/// `200`, `200,202`, `200-204` as haproxy's status regex `200|202`.
fn expected_codes(s: &str) -> R<String> {
    let bad = || format!("expected codes {s:?} are not allowed");
    let code = |c: &str| {
        c.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(bad)
    };
    let mut codes = BTreeSet::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (code(a)?, code(b)?);
                if a > b {
                    return Err(bad());
                }
                codes.extend(a..=b);
            }
            None => {
                codes.insert(code(part)?);
            }
        }
    }
    Ok(codes.iter().map(u16::to_string).collect::<Vec<_>>().join("|"))
}

/// `address:port`, with brackets for IPv6.
fn endpoint(a: IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Tcp,
    Http,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Tcp => "tcp",
            Mode::Http => "http",
        }
    }
}

fn listener_mode(l: &ListenerSpec) -> R<Mode> {
    match l.protocol.as_str() {
        "TCP" | "HTTPS" => Ok(Mode::Tcp),
        "HTTP" => Ok(Mode::Http),
        p => Err(format!("listener {}: {p} listeners are not served yet", l.id)),
    }
}

/// The backend mode of `pool` under a listener of `protocol`, per Octavia's valid pairs.
fn pool_mode(listener: &ListenerSpec, mode: Mode, pool: &PoolSpec) -> R<Mode> {
    let ok = matches!(
        (listener.protocol.as_str(), pool.protocol.as_str()),
        ("TCP", "HTTP" | "HTTPS" | "PROXY" | "PROXYV2" | "TCP")
            | ("HTTP", "HTTP" | "PROXY" | "PROXYV2")
            | ("HTTPS", "HTTPS" | "PROXY" | "PROXYV2" | "TCP")
    );
    if !ok {
        return Err(format!(
            "pool {} ({}) cannot serve listener {} ({})",
            pool.id, pool.protocol, listener.id, listener.protocol
        ));
    }
    Ok(match pool.protocol.as_str() {
        "HTTP" => Mode::Http,
        "PROXY" | "PROXYV2" => mode,
        _ => Mode::Tcp,
    })
}

/// The listeners haproxy serves (enabled, on an enabled load balancer; UDP ones are
/// nftables' ([`super::udp`])).
fn served(lb: &LoadBalancerSpec) -> impl Iterator<Item = &ListenerSpec> {
    lb.listeners
        .iter()
        .filter(move |l| lb.admin_up && l.admin_up && l.protocol != "UDP")
}

/// The configuration for `lb`, or None when it serves nothing (disabled, or no enabled
/// listener: haproxy refuses to run without one). `max_conn` bounds the global `maxconn`
/// (the file descriptors haproxy may have).
pub fn render(lb: &LoadBalancerSpec, files: &Files, max_conn: u64) -> R<Option<String>> {
    id("load balancer", &lb.id)?;
    for l in &lb.listeners {
        id("listener", &l.id)?;
        if l.admin_up && l.protocol != "UDP" {
            listener_mode(l)?;
        }
    }
    let vips: Vec<IpAddr> = lb
        .vip
        .port
        .addresses
        .iter()
        .map(|a| values::interface_net(a).map(|n| n.addr()))
        .collect::<R<_>>()?;
    if vips.is_empty() {
        return Err("the VIP port has no address".into());
    }
    let listeners: Vec<&ListenerSpec> = served(lb).collect();
    if listeners.is_empty() {
        return Ok(None);
    }
    let ping = lb
        .pools
        .iter()
        .any(|p| p.monitor.as_ref().is_some_and(|m| m.admin_up && m.kind == "PING"));
    let total: u64 = listeners
        .iter()
        .map(|l| l.connection_limit.map_or(DEFAULT_CONNECTION_LIMIT, u64::from))
        .sum();
    let mut out = String::new();
    let w = &mut out;
    // Writing to a String cannot fail.
    let _ = writeln!(w, "# load balancer {} revision {}", lb.id, lb.revision);
    let _ = writeln!(w, "global");
    let _ = writeln!(w, "    daemon");
    let _ = writeln!(w, "    user nobody");
    let _ = writeln!(w, "    group nogroup");
    let _ = writeln!(w, "    no strict-limits");
    let _ = writeln!(
        w,
        "    maxconn {}",
        total.min(max_conn).clamp(1, MAX_GLOBAL_CONNECTIONS)
    );
    let _ = writeln!(
        w,
        "    stats socket {} mode 600 level admin",
        path_word(files.stats_socket)?
    );
    let _ = writeln!(w, "    stats timeout 10s");
    let _ = writeln!(w, "    server-state-file {}", path_word(files.server_state)?);
    if ping {
        let _ = writeln!(w, "    external-check");
        let _ = writeln!(w, "    insecure-fork-wanted");
    }
    let _ = writeln!(w, "\ndefaults");
    let _ = writeln!(w, "    retries 3");
    let _ = writeln!(w, "    option redispatch");
    let _ = writeln!(w, "    option splice-request");
    let _ = writeln!(w, "    option splice-response");
    let _ = writeln!(w, "    option http-keep-alive");
    let _ = writeln!(w, "    load-server-state-from-file global");
    for l in listeners {
        frontend(w, lb, l, &vips)?;
        for pool in backends_of(lb, l) {
            backend(w, l, pool, files)?;
        }
    }
    Ok(Some(out))
}

/// A path as a word (the state directory is the agent's, but its name is still text).
fn path_word(p: &Path) -> R<String> {
    quote(p.to_str().ok_or_else(|| format!("{} is not UTF-8", p.display()))?)
}

/// The enabled pools listener `l` sends to: its default pool, then its enabled
/// REDIRECT_TO_POOL policies' pools, each once.
fn backends_of<'a>(lb: &'a LoadBalancerSpec, l: &'a ListenerSpec) -> Vec<&'a PoolSpec> {
    let wanted = l.default_pool_id.iter().chain(
        l.l7policies
            .iter()
            .filter(|p| p.admin_up && p.action == "REDIRECT_TO_POOL")
            .filter_map(|p| p.redirect_pool_id.as_ref()),
    );
    let mut out: Vec<&PoolSpec> = vec![];
    for pid in wanted {
        if let Some(p) = lb.pools.iter().find(|p| &p.id == pid && p.admin_up) {
            if !out.iter().any(|o| o.id == p.id) {
                out.push(p);
            }
        }
    }
    out
}

fn enabled_pool<'a>(lb: &'a LoadBalancerSpec, pool_id: Option<&String>) -> Option<&'a PoolSpec> {
    let pid = pool_id?;
    lb.pools.iter().find(|p| &p.id == pid && p.admin_up)
}

fn frontend(w: &mut String, lb: &LoadBalancerSpec, l: &ListenerSpec, vips: &[IpAddr]) -> R<()> {
    let mode = listener_mode(l)?;
    let _ = writeln!(w, "\nfrontend {}", l.id);
    if let Some(n) = l.connection_limit {
        let _ = writeln!(w, "    maxconn {n}");
    }
    if l.port == 0 {
        return Err(format!("listener {} has port 0", l.id));
    }
    for a in vips {
        let _ = writeln!(w, "    bind {}", endpoint(*a, l.port));
    }
    let _ = writeln!(w, "    mode {}", mode.name());
    let _ = writeln!(w, "    timeout client {}", l.timeout_client_data_ms);
    if l.timeout_tcp_inspect_ms > 0 {
        let _ = writeln!(w, "    tcp-request inspect-delay {}", l.timeout_tcp_inspect_ms);
    }
    if !l.allowed_cidrs.is_empty() {
        let nets: Vec<IpNet> = l.allowed_cidrs.iter().map(|c| values::net(c)).collect::<R<_>>()?;
        let list: Vec<String> = nets.iter().map(IpNet::to_string).collect();
        let _ = writeln!(w, "    acl allowed_source src {}", list.join(" "));
        let _ = writeln!(w, "    tcp-request connection reject unless allowed_source");
    }
    let policies: Vec<&L7PolicySpec> = l
        .l7policies
        .iter()
        .filter(|p| p.admin_up && p.rules.iter().any(|r| r.admin_up))
        .collect();
    if !policies.is_empty() && mode != Mode::Http {
        return Err(format!("listener {}: L7 policies need an HTTP listener", l.id));
    }
    l7(w, lb, l, &policies)?;
    if let Some(pool) = enabled_pool(lb, l.default_pool_id.as_ref()) {
        let _ = writeln!(w, "    default_backend {}:{}", id("pool", &pool.id)?, l.id);
    }
    Ok(())
}

/// The ACLs and actions of the listener's policies: haproxy runs `http-request` rules, then
/// `redirect`, then `use_backend`, whatever their order in the file, so they are written in
/// that order, each kind by position (Octavia's precedence).
fn l7(w: &mut String, lb: &LoadBalancerSpec, l: &ListenerSpec, policies: &[&L7PolicySpec]) -> R<()> {
    let mut sorted: Vec<&L7PolicySpec> = policies.to_vec();
    sorted.sort_by_key(|p| p.position);
    let mut conditions = vec![];
    for p in &sorted {
        id("L7 policy", &p.id)?;
        let mut names = vec![];
        for r in p.rules.iter().filter(|r| r.admin_up) {
            let _ = writeln!(w, "    acl {} {}", id("L7 rule", &r.id)?, acl(r)?);
            names.push(if r.invert { format!("!{}", r.id) } else { r.id.clone() });
        }
        conditions.push(names.join(" "));
    }
    let code = |p: &L7PolicySpec| match p.redirect_http_code.unwrap_or(302) {
        c @ (301 | 302 | 303 | 307 | 308) => Ok(c),
        c => Err(format!("L7 policy {}: redirect code {c} is not allowed", p.id)),
    };
    for kind in ["REJECT", "REDIRECT", "REDIRECT_TO_POOL"] {
        for (p, cond) in sorted.iter().zip(&conditions) {
            match (kind, p.action.as_str()) {
                ("REJECT", "REJECT") => {
                    let _ = writeln!(w, "    http-request deny if {cond}");
                }
                ("REDIRECT", "REDIRECT_TO_URL") => {
                    let to = url(p.redirect_url.as_deref().unwrap_or_default())?;
                    let _ = writeln!(w, "    redirect code {} location {to} if {cond}", code(p)?);
                }
                ("REDIRECT", "REDIRECT_PREFIX") => {
                    let to = url(p.redirect_prefix.as_deref().unwrap_or_default())?;
                    let _ = writeln!(w, "    redirect code {} prefix {to} if {cond}", code(p)?);
                }
                ("REDIRECT_TO_POOL", "REDIRECT_TO_POOL") => {
                    if let Some(pool) = enabled_pool(lb, p.redirect_pool_id.as_ref()) {
                        let _ = writeln!(w, "    use_backend {}:{} if {cond}", id("pool", &pool.id)?, l.id);
                    }
                }
                (_, "REJECT" | "REDIRECT_TO_URL" | "REDIRECT_PREFIX" | "REDIRECT_TO_POOL") => {}
                (_, other) => return Err(format!("L7 policy {}: action {other:?} is not supported", p.id)),
            }
        }
    }
    Ok(())
}

/// An L7 rule's `acl` body: fetch, match method, `--`, the quoted value.
fn acl(r: &L7RuleSpec) -> R<String> {
    let key = || token("L7 rule key", r.key.as_deref().unwrap_or_default(), "._-");
    let fetch = match r.rule_type.as_str() {
        "HOST_NAME" => "req.hdr(host) -i".to_string(),
        "PATH" => "path".into(),
        "FILE_TYPE" => "path_end".into(),
        "HEADER" => format!("req.hdr({})", key()?),
        "COOKIE" => format!("req.cook({})", key()?),
        t => return Err(format!("L7 rule {}: type {t} is not supported", r.id)),
    };
    let method = match (r.compare_type.as_str(), r.rule_type.as_str()) {
        ("REGEX", _) => "-m reg",
        ("STARTS_WITH", _) => "-m beg",
        ("ENDS_WITH", _) => "-m end",
        ("CONTAINS", _) => "-m sub",
        // `path_end -m str` never matches (haproxy issue 2567).
        ("EQUAL_TO", "FILE_TYPE") => "",
        ("EQUAL_TO", _) => "-m str",
        (c, _) => return Err(format!("L7 rule {}: compare type {c} is not supported", r.id)),
    };
    let value = quote(&r.value).map_err(|e| format!("L7 rule {}: {e}", r.id))?;
    Ok([fetch.as_str(), method, "--", &value]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" "))
}

fn backend(w: &mut String, l: &ListenerSpec, pool: &PoolSpec, files: &Files) -> R<()> {
    let mode = pool_mode(l, listener_mode(l)?, pool)?;
    id("pool", &pool.id)?;
    let _ = writeln!(w, "\nbackend {}:{}", pool.id, l.id);
    let _ = writeln!(w, "    mode {}", mode.name());
    if !pool.monitor.as_ref().is_some_and(|m| m.admin_up) {
        // Unchecked servers keep no state across reloads: a member enabled again would come
        // back DOWN from the state file, with no check to bring it up.
        let _ = writeln!(w, "    load-server-state-from-file none");
    }
    if mode == Mode::Http {
        let _ = writeln!(w, "    http-reuse safe");
    }
    match pool.lb_algorithm.as_str() {
        "ROUND_ROBIN" => {
            let _ = writeln!(w, "    balance roundrobin");
        }
        "LEAST_CONNECTIONS" => {
            let _ = writeln!(w, "    balance leastconn");
        }
        "SOURCE_IP" => {
            let _ = writeln!(w, "    balance source");
        }
        "SOURCE_IP_PORT" => {
            let _ = writeln!(w, "    tcp-request content set-var(txn.ciel_sport) src_port");
            let _ = writeln!(w, "    balance hash src,concat(:,txn.ciel_sport)");
        }
        a => return Err(format!("pool {}: algorithm {a} is not supported", pool.id)),
    }
    let mut cookie = false;
    if let Some(sp) = &pool.session_persistence {
        match sp.kind.as_str() {
            "SOURCE_IP" => {
                let _ = writeln!(w, "    stick-table type ipv6 size 10k");
                let _ = writeln!(w, "    stick on src");
            }
            "HTTP_COOKIE" if mode == Mode::Http => {
                let _ = writeln!(w, "    cookie SRV insert indirect nocache");
                cookie = true;
            }
            "APP_COOKIE" if mode == Mode::Http => {
                let name = token("cookie name", sp.cookie_name.as_deref().unwrap_or_default(), "._-")?;
                let _ = writeln!(w, "    stick-table type string len 64 size 10k");
                let _ = writeln!(w, "    stick store-response res.cook({name})");
                let _ = writeln!(w, "    stick match req.cook({name})");
            }
            k => return Err(format!("pool {}: session persistence {k} needs an HTTP pool", pool.id)),
        }
    }
    let monitor = pool.monitor.as_ref().filter(|m| m.admin_up);
    let check = match monitor {
        Some(m) => Some(health_check(w, m, files)?),
        None => None,
    };
    if mode == Mode::Http {
        let on = |key: &str| {
            l.insert_headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(key) && v.eq_ignore_ascii_case("true"))
        };
        if on("X-Forwarded-For") {
            let _ = writeln!(w, "    option forwardfor");
        }
        if on("X-Forwarded-Port") {
            let _ = writeln!(w, "    http-request set-header X-Forwarded-Port %[dst_port]");
        }
        if on("X-Forwarded-Proto") {
            let _ = writeln!(w, "    http-request set-header X-Forwarded-Proto http");
        }
    }
    let _ = writeln!(
        w,
        "    fullconn {}",
        l.connection_limit.map_or(DEFAULT_CONNECTION_LIMIT, u64::from)
    );
    let _ = writeln!(w, "    option allbackups");
    let _ = writeln!(w, "    timeout connect {}", l.timeout_member_connect_ms);
    let _ = writeln!(w, "    timeout server {}", l.timeout_member_data_ms);
    for m in &pool.members {
        server(w, pool, m, check.as_deref(), cookie)?;
    }
    Ok(())
}

/// The backend lines of a monitor; returns what each server line gets for it.
fn health_check(w: &mut String, m: &MonitorSpec, files: &Files) -> R<String> {
    let positive = |what: &str, v: u32, max: u32| {
        if (1..=max).contains(&v) {
            Ok(v)
        } else {
            Err(format!("monitor {}: {what} {v} is outside 1-{max}", m.id))
        }
    };
    let delay = positive("delay", m.delay_s, 86_400)?;
    let timeout = positive("timeout", m.timeout_s, 86_400)?;
    let rise = positive("max_retries", m.max_retries, 10)?;
    let fall = positive("max_retries_down", m.max_retries_down, 10)?;
    let _ = writeln!(w, "    timeout check {timeout}s");
    let mut server = format!("check inter {delay}s fall {fall} rise {rise}");
    match m.kind.as_str() {
        "TCP" => {}
        "TLS-HELLO" => server.push_str(" check-ssl verify none"),
        "HTTP" | "HTTPS" => {
            let method = token("HTTP method", m.http_method.as_deref().unwrap_or("GET"), "")?;
            if !method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("monitor {}: HTTP method {method:?} is not allowed", m.id));
            }
            let path = url_path(m.url_path.as_deref().unwrap_or("/"))?;
            let version = match m.http_version.as_deref() {
                None | Some("1.0") => "",
                Some("1.1") => " HTTP/1.1",
                Some(v) => return Err(format!("monitor {}: HTTP version {v:?} is not allowed", m.id)),
            };
            let _ = writeln!(w, "    option httpchk {method} {path}{version}");
            if let (" HTTP/1.1", Some(d)) = (version, m.domain_name.as_deref()) {
                let _ = writeln!(w, "    http-check send hdr Host {}", domain(d)?);
            }
            let codes = expected_codes(m.expected_codes.as_deref().unwrap_or("200"))?;
            let _ = writeln!(w, "    http-check expect rstatus {codes}");
            if m.kind == "HTTPS" {
                server.push_str(" check-ssl verify none");
            }
        }
        "PING" => {
            let _ = writeln!(w, "    option external-check");
            let _ = writeln!(w, "    external-check command {}", path_word(files.ping_check)?);
        }
        k => return Err(format!("monitor {}: type {k} is not supported here", m.id)),
    }
    Ok(server)
}

fn server(w: &mut String, pool: &PoolSpec, m: &MemberSpec, check: Option<&str>, cookie: bool) -> R<()> {
    let mid = id("member", &m.id)?;
    let addr = values::addr(&m.address).map_err(|e| format!("member {mid}: {e}"))?;
    if m.port == 0 || m.weight > 256 {
        return Err(format!(
            "member {mid}: port {} or weight {} out of range",
            m.port, m.weight
        ));
    }
    let mut line = format!("    server {mid} {} weight {}", endpoint(addr, m.port), m.weight);
    if let Some(c) = check {
        line.push(' ');
        line.push_str(c);
        if let Some(a) = &m.monitor_address {
            let a = values::addr(a).map_err(|e| format!("member {mid}: {e}"))?;
            let _ = write!(line, " addr {a}");
        }
        if let Some(p) = m.monitor_port.filter(|p| *p > 0) {
            let _ = write!(line, " port {p}");
        }
    }
    if cookie {
        let _ = write!(line, " cookie {mid}");
    }
    match pool.protocol.as_str() {
        "PROXY" => line.push_str(" send-proxy"),
        "PROXYV2" => line.push_str(" send-proxy-v2"),
        _ => {}
    }
    if m.backup {
        line.push_str(" backup");
    }
    if !m.admin_up {
        line.push_str(" disabled");
    }
    let _ = writeln!(w, "{line}");
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ciel_proto::{LbVip, RouterPort, SessionPersistence};

    pub const LB: &str = "0b0b0b0b-0000-4000-8000-000000000001";
    pub const HTTP_L: &str = "11111111-1111-4111-8111-111111111111";
    pub const TCP_L: &str = "66666666-6666-4666-8666-666666666666";
    pub const WEB: &str = "22222222-2222-4222-8222-222222222222";
    pub const API: &str = "33333333-3333-4333-8333-333333333333";
    pub const PROXIED: &str = "77777777-7777-4777-8777-777777777777";
    pub const M1: &str = "44444444-4444-4444-8444-444444444401";
    pub const M2: &str = "44444444-4444-4444-8444-444444444402";
    pub const M3: &str = "55555555-5555-4555-8555-555555555501";
    pub const M4: &str = "88888888-8888-4888-8888-888888888801";
    pub const VIP_PORT: &str = "9a9a9a9a-0000-4000-8000-00000000000a";

    pub fn member(id: &str, addr: &str, port: u16) -> MemberSpec {
        MemberSpec {
            id: id.into(),
            address: addr.into(),
            port,
            weight: 1,
            admin_up: true,
            backup: false,
            monitor_address: None,
            monitor_port: None,
        }
    }

    pub fn listener(id: &str, protocol: &str, port: u16, pool: &str) -> ListenerSpec {
        ListenerSpec {
            id: id.into(),
            protocol: protocol.into(),
            port,
            admin_up: true,
            connection_limit: None,
            default_pool_id: Some(pool.into()),
            timeout_client_data_ms: 50_000,
            timeout_member_connect_ms: 5_000,
            timeout_member_data_ms: 50_000,
            timeout_tcp_inspect_ms: 0,
            insert_headers: vec![],
            allowed_cidrs: vec![],
            l7policies: vec![],
        }
    }

    pub fn pool(id: &str, protocol: &str, algorithm: &str, members: Vec<MemberSpec>) -> PoolSpec {
        PoolSpec {
            id: id.into(),
            protocol: protocol.into(),
            lb_algorithm: algorithm.into(),
            session_persistence: None,
            admin_up: true,
            members,
            monitor: None,
        }
    }

    pub fn monitor(kind: &str) -> MonitorSpec {
        MonitorSpec {
            id: "mon-1".into(),
            kind: kind.into(),
            delay_s: 2,
            timeout_s: 5,
            max_retries: 2,
            max_retries_down: 3,
            http_method: None,
            url_path: None,
            expected_codes: None,
            http_version: None,
            domain_name: None,
            admin_up: true,
        }
    }

    fn rule(id: &str, rule_type: &str, compare: &str, key: Option<&str>, value: &str, invert: bool) -> L7RuleSpec {
        L7RuleSpec {
            id: id.into(),
            rule_type: rule_type.into(),
            compare_type: compare.into(),
            key: key.map(str::to_string),
            value: value.into(),
            invert,
            admin_up: true,
        }
    }

    fn policy(id: &str, action: &str, position: u32, rules: Vec<L7RuleSpec>) -> L7PolicySpec {
        L7PolicySpec {
            id: id.into(),
            action: action.into(),
            position,
            redirect_pool_id: None,
            redirect_url: None,
            redirect_prefix: None,
            redirect_http_code: None,
            admin_up: true,
            rules,
        }
    }

    /// Example A and B of the data-plane notes: an HTTP listener with L7 policies, a
    /// monitored cookie-persistent pool and a source-sticky one; a TCP listener to a
    /// PROXYV2 pool.
    pub fn spec() -> LoadBalancerSpec {
        let mut http = listener(HTTP_L, "HTTP", 80, WEB);
        http.insert_headers = vec![
            ("X-Forwarded-For".into(), "true".into()),
            ("X-Forwarded-Port".into(), "true".into()),
            ("X-Forwarded-Proto".into(), "false".into()),
        ];
        let mut to_api = policy(
            "aaaaaaaa-0000-4000-8000-0000000000p3",
            "REDIRECT_TO_POOL",
            1,
            vec![
                rule(
                    "aaaaaaaa-0000-4000-8000-000000000003",
                    "PATH",
                    "STARTS_WITH",
                    None,
                    "/api",
                    false,
                ),
                rule(
                    "aaaaaaaa-0000-4000-8000-000000000004",
                    "HEADER",
                    "EQUAL_TO",
                    Some("X-Beta"),
                    "yes",
                    true,
                ),
            ],
        );
        to_api.redirect_pool_id = Some(API.into());
        let mut moved = policy(
            "aaaaaaaa-0000-4000-8000-0000000000p2",
            "REDIRECT_TO_URL",
            2,
            vec![rule(
                "aaaaaaaa-0000-4000-8000-000000000002",
                "HOST_NAME",
                "EQUAL_TO",
                None,
                "old.example.com",
                false,
            )],
        );
        moved.redirect_url = Some("http://new.example.com/".into());
        moved.redirect_http_code = Some(301);
        let deny = policy(
            "aaaaaaaa-0000-4000-8000-0000000000p1",
            "REJECT",
            3,
            vec![rule(
                "aaaaaaaa-0000-4000-8000-000000000001",
                "PATH",
                "STARTS_WITH",
                None,
                "/admin",
                false,
            )],
        );
        http.l7policies = vec![to_api, moved, deny];
        let mut tcp = listener(TCP_L, "TCP", 9000, PROXIED);
        tcp.connection_limit = Some(1000);
        let mut web = pool(
            WEB,
            "HTTP",
            "ROUND_ROBIN",
            vec![member(M1, "10.9.0.21", 80), member(M2, "10.9.0.22", 80)],
        );
        web.session_persistence = Some(SessionPersistence {
            kind: "HTTP_COOKIE".into(),
            cookie_name: None,
        });
        let mut m = monitor("HTTP");
        m.url_path = Some("/healthz".into());
        m.http_version = Some("1.1".into());
        m.domain_name = Some("app.example.com".into());
        m.expected_codes = Some("200-204".into());
        web.monitor = Some(m);
        let mut api = pool(API, "HTTP", "SOURCE_IP", vec![member(M3, "10.9.0.22", 80)]);
        api.session_persistence = Some(SessionPersistence {
            kind: "SOURCE_IP".into(),
            cookie_name: None,
        });
        let mut proxied = pool(
            PROXIED,
            "PROXYV2",
            "LEAST_CONNECTIONS",
            vec![member(M4, "10.9.0.21", 9001)],
        );
        let mut tcp_mon = monitor("TCP");
        tcp_mon.max_retries = 3;
        tcp_mon.delay_s = 5;
        proxied.monitor = Some(tcp_mon);
        LoadBalancerSpec {
            id: LB.into(),
            revision: 7,
            admin_up: true,
            vip: LbVip {
                port: RouterPort {
                    port_id: VIP_PORT.into(),
                    network_id: "net-1".into(),
                    mac: "fa:16:3e:00:00:0a".into(),
                    addresses: vec!["10.9.0.10/24".into()],
                },
                gateway_ip: Some("10.9.0.1".into()),
                firewall: None,
            },
            listeners: vec![http, tcp],
            pools: vec![web, api, proxied],
        }
    }

    pub fn files() -> Files<'static> {
        Files {
            stats_socket: Path::new("/var/lib/ciel/lb/x/stats.sock"),
            server_state: Path::new("/var/lib/ciel/lb/x/servers-state"),
            ping_check: Path::new("/var/lib/ciel/lb/ping-check"),
        }
    }

    #[test]
    fn renders_the_notes_examples() {
        let cfg = render(&spec(), &files(), 20_000).unwrap().unwrap();
        let frontend = format!("\nfrontend {HTTP_L}\n");
        assert!(cfg.contains(&frontend), "{cfg}");
        assert!(cfg.contains("    maxconn 20000\n"), "global maxconn capped: {cfg}");
        for line in [
            "    bind 10.9.0.10:80",
            "    acl aaaaaaaa-0000-4000-8000-000000000003 path -m beg -- '/api'",
            "    acl aaaaaaaa-0000-4000-8000-000000000004 req.hdr(X-Beta) -m str -- 'yes'",
            "    acl aaaaaaaa-0000-4000-8000-000000000002 req.hdr(host) -i -m str -- 'old.example.com'",
            "    http-request deny if aaaaaaaa-0000-4000-8000-000000000001",
            "    redirect code 301 location 'http://new.example.com/' if aaaaaaaa-0000-4000-8000-000000000002",
            &format!("    use_backend {API}:{HTTP_L} if aaaaaaaa-0000-4000-8000-000000000003 !aaaaaaaa-0000-4000-8000-000000000004"),
            &format!("    default_backend {WEB}:{HTTP_L}"),
            &format!("backend {WEB}:{HTTP_L}"),
            "    cookie SRV insert indirect nocache",
            "    option httpchk GET '/healthz' HTTP/1.1",
            "    http-check send hdr Host app.example.com",
            "    http-check expect rstatus 200|201|202|203|204",
            "    option forwardfor",
            "    http-request set-header X-Forwarded-Port %[dst_port]",
            &format!("    server {M1} 10.9.0.21:80 weight 1 check inter 2s fall 3 rise 2 cookie {M1}"),
            "    balance source",
            "    stick on src",
            &format!("    server {M3} 10.9.0.22:80 weight 1"),
            "    maxconn 1000",
            "    bind 10.9.0.10:9000",
            "    balance leastconn",
            &format!("    server {M4} 10.9.0.21:9001 weight 1 check inter 5s fall 3 rise 3 send-proxy-v2"),
        ] {
            assert!(cfg.contains(&format!("{line}\n")), "missing {line:?} in\n{cfg}");
        }
        assert!(!cfg.contains("X-Forwarded-Proto"));
        // REJECT before redirects before use_backend, whatever the positions.
        let at = |s: &str| cfg.find(s).unwrap();
        assert!(at("http-request deny") < at("redirect code") && at("redirect code") < at("use_backend"));
    }

    #[test]
    fn disabled_things_and_nothing_to_serve() {
        let mut lb = spec();
        lb.pools[0].members[1].admin_up = false;
        lb.pools[0].members[1].backup = true;
        lb.pools[1].admin_up = false;
        let cfg = render(&lb, &files(), 100_000).unwrap().unwrap();
        assert!(cfg.contains(" backup disabled\n"));
        assert!(!cfg.contains(&format!("backend {API}")) && !cfg.contains("use_backend"));
        lb.listeners[0].admin_up = false;
        lb.listeners[1].admin_up = false;
        assert_eq!(render(&lb, &files(), 100_000).unwrap(), None);
        let mut off = spec();
        off.admin_up = false;
        assert_eq!(render(&off, &files(), 100_000).unwrap(), None);
    }

    #[test]
    fn unsupported_protocols_fail_with_a_reason() {
        let mut lb = spec();
        lb.listeners[1].protocol = "SCTP".into();
        assert!(render(&lb, &files(), 1000)
            .unwrap_err()
            .contains("SCTP listeners are not served yet"));
        // UDP listeners are nftables', not haproxy's.
        lb.listeners[1].protocol = "UDP".into();
        let text = render(&lb, &files(), 1000).unwrap().unwrap();
        assert!(!text.contains(&format!("frontend {}", lb.listeners[1].id)));
        lb.listeners[1].protocol = "TERMINATED_HTTPS".into();
        assert!(render(&lb, &files(), 1000).unwrap_err().contains("TERMINATED_HTTPS"));
        let mut lb = spec();
        lb.pools[2].protocol = "HTTP".into();
        lb.listeners[1].protocol = "HTTPS".into();
        assert!(render(&lb, &files(), 1000).unwrap_err().contains("cannot serve"));
    }

    #[test]
    fn unchecked_pools_keep_no_server_state() {
        let text = render(&spec(), &files(), 1000).unwrap().unwrap();
        let backends: Vec<&str> = text.split("\nbackend ").skip(1).collect();
        assert!(backends.iter().any(|b| b.contains("load-server-state-from-file none")));
        assert!(backends
            .iter()
            .filter(|b| b.contains(" check"))
            .all(|b| !b.contains("load-server-state-from-file none")));
    }

    #[test]
    fn quote_is_one_strong_word() {
        assert_eq!(quote("/a b#c").unwrap(), "'/a b#c'");
        assert_eq!(quote(r"it's \d+").unwrap(), r"'it'\''s \d+'");
        assert_eq!(quote("}\"{ $HOME").unwrap(), "'}\"{ $HOME'");
        for bad in ["", "a\nb", "a\rb", "tab\there", "nul\0", "é", &"x".repeat(4097)] {
            assert!(quote(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_values_are_refused() {
        type Edit = Box<dyn Fn(&mut LoadBalancerSpec)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "newline in a rule value",
                Box::new(|lb| lb.listeners[0].l7policies[0].rules[0].value = "/x\n    server evil 1.2.3.4:80".into()),
            ),
            (
                "header key",
                Box::new(|lb| lb.listeners[0].l7policies[0].rules[1].key = Some("X) -m found #".into())),
            ),
            (
                "url path",
                Box::new(|lb| lb.pools[0].monitor.as_mut().unwrap().url_path = Some("/ HTTP/1.1\nx".into())),
            ),
            (
                "url path without slash",
                Box::new(|lb| lb.pools[0].monitor.as_mut().unwrap().url_path = Some("healthz".into())),
            ),
            (
                "method",
                Box::new(|lb| lb.pools[0].monitor.as_mut().unwrap().http_method = Some("GET /".into())),
            ),
            (
                "codes",
                Box::new(|lb| lb.pools[0].monitor.as_mut().unwrap().expected_codes = Some("200|.*".into())),
            ),
            (
                "version",
                Box::new(|lb| lb.pools[0].monitor.as_mut().unwrap().http_version = Some("1.1\n".into())),
            ),
            (
                "domain",
                Box::new(|lb| lb.pools[0].monitor.as_mut().unwrap().domain_name = Some("a.com }".into())),
            ),
            (
                "redirect url",
                Box::new(|lb| lb.listeners[0].l7policies[1].redirect_url = Some("http://x/ if TRUE\nfrontend".into())),
            ),
            (
                "redirect scheme",
                Box::new(|lb| lb.listeners[0].l7policies[1].redirect_url = Some("javascript:alert(1)".into())),
            ),
            (
                "redirect code",
                Box::new(|lb| lb.listeners[0].l7policies[1].redirect_http_code = Some(200)),
            ),
            (
                "member address",
                Box::new(|lb| lb.pools[0].members[0].address = "10.0.0.1:80 backup".into()),
            ),
            (
                "monitor address",
                Box::new(|lb| lb.pools[0].members[0].monitor_address = Some("x".into())),
            ),
            (
                "member id",
                Box::new(|lb| lb.pools[0].members[0].id = "m1 10.0.0.1:1".into()),
            ),
            ("listener id", Box::new(|lb| lb.listeners[1].id = "x\ny".into())),
            (
                "pool id",
                Box::new(|lb| {
                    lb.pools[2].id = "p#".into();
                    lb.listeners[1].default_pool_id = Some("p#".into());
                }),
            ),
            ("weight", Box::new(|lb| lb.pools[0].members[0].weight = 1000)),
            (
                "allowed cidr",
                Box::new(|lb| lb.listeners[0].allowed_cidrs = vec!["0.0.0.0/0 #".into()]),
            ),
            ("vip", Box::new(|lb| lb.vip.port.addresses = vec!["10.9.0.10".into()])),
            (
                "cookie name",
                Box::new(|lb| {
                    lb.pools[0].session_persistence = Some(SessionPersistence {
                        kind: "APP_COOKIE".into(),
                        cookie_name: Some("a)b".into()),
                    });
                }),
            ),
            (
                "rise",
                Box::new(|lb| lb.pools[0].monitor.as_mut().unwrap().max_retries = 0),
            ),
        ];
        for (what, edit) in cases {
            let mut lb = spec();
            edit(&mut lb);
            assert!(render(&lb, &files(), 1000).is_err(), "{what} accepted");
        }
        // What looks hostile but is a legitimate value stays one quoted word.
        let mut lb = spec();
        lb.listeners[0].l7policies[0].rules[1].value = "a#b 'c' \"d\" } \\e".into();
        let cfg = render(&lb, &files(), 1000).unwrap().unwrap();
        assert!(cfg.contains(r#"-m str -- 'a#b '\''c'\'' "d" } \e'"#), "{cfg}");
    }

    #[test]
    fn expected_codes_expand() {
        assert_eq!(expected_codes("200").unwrap(), "200");
        assert_eq!(expected_codes("200, 202").unwrap(), "200|202");
        assert_eq!(expected_codes("301-303,200").unwrap(), "200|301|302|303");
        for bad in ["", "2000", "abc", "300-200", "200;", "99"] {
            assert!(expected_codes(bad).is_err(), "{bad}");
        }
    }

    /// The real haproxy accepts what is rendered (skipped where it is not installed).
    #[test]
    fn haproxy_accepts_the_rendered_configs() {
        let bin = Path::new("/usr/sbin/haproxy");
        if !bin.exists() {
            println!("skipped: {} is absent", bin.display());
            return;
        }
        let dir = std::env::temp_dir().join(format!("ciel-haproxy-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut variants = vec![spec()];
        let mut other = spec();
        other.vip.port.addresses.push("2001:db8::10/64".into());
        other.pools[0].lb_algorithm = "SOURCE_IP_PORT".into();
        other.pools[0].members.push(member("m-v6", "2001:db8::21", 80));
        other.pools[0].members[0].monitor_address = Some("10.9.0.99".into());
        other.pools[0].members[0].monitor_port = Some(8080);
        other.pools[0].session_persistence = Some(SessionPersistence {
            kind: "APP_COOKIE".into(),
            cookie_name: Some("JSESSIONID".into()),
        });
        other.pools[0].monitor = Some(monitor("PING"));
        other.pools[2].protocol = "PROXY".into();
        other.pools[2].monitor = Some(monitor("TLS-HELLO"));
        other.listeners[0].allowed_cidrs = vec!["192.0.2.0/24".into(), "2001:db8::/32".into()];
        other.listeners[0].timeout_tcp_inspect_ms = 100;
        other.listeners[0].l7policies[0].rules[1].value = "a#b 'c' \"d\" } \\e".into();
        other.listeners[0].l7policies[1].rules[0].compare_type = "REGEX".into();
        other.listeners[0].l7policies[1].rules[0].value = r"^old\.(example|test)\.com(:\d+)?$".into();
        other.listeners[0].l7policies[2].action = "REDIRECT_PREFIX".into();
        other.listeners[0].l7policies[2].redirect_prefix = Some("https://cdn.example.com".into());
        other.listeners[0].l7policies[2].rules[0].rule_type = "FILE_TYPE".into();
        other.listeners[0].l7policies[2].rules[0].compare_type = "EQUAL_TO".into();
        other.listeners[0].l7policies[2].rules[0].value = ".jpg".into();
        variants.push(other);
        for (i, lb) in variants.iter().enumerate() {
            let cfg = render(lb, &files(), 4000).unwrap().unwrap();
            let path = dir.join(format!("{i}.cfg"));
            std::fs::write(&path, &cfg).unwrap();
            let out = std::process::Command::new(bin)
                .arg("-c")
                .arg("-f")
                .arg(&path)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "haproxy refused variant {i}: {stderr}\n{cfg}");
            // The only acceptable warning: the server state file is not there yet.
            for l in stderr.lines().filter(|l| l.contains("WARNING")) {
                assert!(l.contains("server state file"), "variant {i}: {l}\n{cfg}");
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

//! What the network plane asks of the host's kernel, as one small trait: iproute2's `ip` and
//! `bridge`, nftables, dnsmasq in a namespace (started, found by its pid file, signalled),
//! br_netfilter, metadata listeners inside a namespace, and haproxy in a namespace
//! (checked, started, found by its pid file, signalled, asked on its sockets). [`Linux`] runs the real tools;
//! [`FakeKernel`] keeps a model of links, addresses, neighbours, FDB entries, routes,
//! namespaces, nftables tables, DHCP servers and haproxy masters, records every command (and which of them
//! changed something), and can be told to refuse nftables rulesets, so that tests exercise
//! the network reconcile logic without root.

use super::loadbalancer::probe::Target;
use super::metadata::Scope;
use super::ControllerLink;
use crate::driver::BoxFuture;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub trait Kernel: Send + Sync {
    /// `ip ARGS`; fails with its stderr.
    fn ip<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, anyhow::Result<String>>;
    /// `bridge ARGS`; fails with its stderr.
    fn bridge<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, anyhow::Result<String>>;
    /// `nft ARGS` (inside `netns` when given) with `input` on stdin.
    fn nft<'a>(
        &'a self,
        netns: Option<&'a str>,
        args: &'a [&'a str],
        input: Option<&'a str>,
    ) -> BoxFuture<'a, anyhow::Result<String>>;
    /// Starts dnsmasq inside `netns` with `args` (it daemonizes and writes the pid file its
    /// `--pid-file` names).
    fn start_dnsmasq<'a>(&'a self, netns: &'a str, args: &'a [String]) -> BoxFuture<'a, anyhow::Result<()>>;
    /// The pid of the dnsmasq whose files are in `dir`, if it runs.
    fn dnsmasq_pid(&self, dir: &Path) -> Option<i32>;
    /// Sends `signal` to process `pid` (a dnsmasq [`Kernel::dnsmasq_pid`] found).
    fn signal(&self, pid: i32, signal: i32);
    /// Bridged IP traffic through the `inet` hooks (br_netfilter).
    fn enable_bridge_netfilter(&self);
    /// A metadata listener on 169.254.169.254:80 inside `netns`, until aborted.
    fn serve_metadata<'a>(
        &'a self,
        netns: &'a str,
        scope: Scope,
        controller: ControllerLink,
    ) -> BoxFuture<'a, anyhow::Result<tokio::task::AbortHandle>>;
    /// `haproxy -c` of the configuration file `cfg`; fails with haproxy's complaint.
    fn haproxy_check<'a>(&'a self, cfg: &'a Path) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Starts haproxy (master-worker, daemonized, outliving the agent) inside `netns` with
    /// `dir/haproxy.cfg`, writing the master's pid to `dir/haproxy.pid`. Reloads and stops
    /// are signals to that pid ([`Kernel::signal`]: SIGUSR2, SIGTERM).
    fn start_haproxy<'a>(&'a self, netns: &'a str, dir: &'a Path) -> BoxFuture<'a, anyhow::Result<()>>;
    /// The pid of the haproxy master serving `dir`, if it runs.
    fn haproxy_pid(&self, dir: &Path) -> Option<i32>;
    /// One command on a haproxy CLI socket (`show stat`, `show servers state`); its answer.
    fn haproxy_command<'a>(&'a self, socket: &'a Path, command: &'a str) -> BoxFuture<'a, anyhow::Result<String>>;
    /// Health checks of UDP pools' members from inside `netns`, all at once; up or not, in
    /// order.
    fn lb_probe<'a>(&'a self, netns: &'a str, targets: &'a [&'a Target]) -> BoxFuture<'a, Vec<bool>>;
}

/// The host's real kernel, through its tools.
pub struct Linux;

impl Kernel for Linux {
    fn ip<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(super::ip::run_ip(args))
    }

    fn bridge<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(super::l2pop::run_bridge(args))
    }

    fn nft<'a>(
        &'a self,
        netns: Option<&'a str>,
        args: &'a [&'a str],
        input: Option<&'a str>,
    ) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(super::firewall::nft(netns, args, input))
    }

    fn start_dnsmasq<'a>(&'a self, netns: &'a str, args: &'a [String]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(super::dhcp::run_dnsmasq(netns, args))
    }

    fn dnsmasq_pid(&self, dir: &Path) -> Option<i32> {
        super::dhcp::running(dir)
    }

    #[allow(unsafe_code)]
    fn signal(&self, pid: i32, signal: i32) {
        // SAFETY: kill(2) has no memory effects; the pid was just checked to be our dnsmasq.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    fn enable_bridge_netfilter(&self) {
        super::firewall::enable_bridge_netfilter();
    }

    fn serve_metadata<'a>(
        &'a self,
        netns: &'a str,
        scope: Scope,
        controller: ControllerLink,
    ) -> BoxFuture<'a, anyhow::Result<tokio::task::AbortHandle>> {
        Box::pin(super::metadata::serve(netns, scope, controller))
    }

    fn haproxy_check<'a>(&'a self, cfg: &'a Path) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(super::loadbalancer::process::check(cfg))
    }

    fn start_haproxy<'a>(&'a self, netns: &'a str, dir: &'a Path) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(super::loadbalancer::process::start(netns, dir))
    }

    fn haproxy_pid(&self, dir: &Path) -> Option<i32> {
        super::loadbalancer::process::running(dir)
    }

    fn haproxy_command<'a>(&'a self, socket: &'a Path, command: &'a str) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(super::loadbalancer::process::command(socket, command))
    }

    fn lb_probe<'a>(&'a self, netns: &'a str, targets: &'a [&'a Target]) -> BoxFuture<'a, Vec<bool>> {
        Box::pin(futures_util::future::join_all(
            targets.iter().map(|t| super::loadbalancer::probe::check(netns, t)),
        ))
    }
}

/// A link of the fake kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeLink {
    /// `bridge`, `vxlan`, `veth`, `tap`, `loopback`, or what a test gave.
    pub kind: String,
    pub master: Option<String>,
    pub mtu: u32,
    pub up: bool,
    pub address: Option<String>,
    /// As a bridge port: whether the bridge learns MACs behind it.
    pub learning: bool,
    /// A veth's other end: (namespace, "" for the host's; name).
    pub peer: Option<(String, String)>,
}

impl FakeLink {
    fn new(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            master: None,
            mtu: 1500,
            up: false,
            address: None,
            learning: true,
            peer: None,
        }
    }
}

/// A DHCP server of the fake kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeDnsmasq {
    pub pid: i32,
    pub netns: String,
    pub args: Vec<String>,
    /// How many times it was told to re-read its files (SIGHUP).
    pub reloads: u32,
}

/// A haproxy master of the fake kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeHaproxy {
    pub pid: i32,
    pub netns: String,
    /// The configuration it serves (read at start and at each reload).
    pub config: String,
    /// How many times it was told to reload (SIGUSR2).
    pub reloads: u32,
}

/// What the fake kernel holds; namespaces are named, "" is the host's.
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    namespaces: BTreeSet<String>,
    /// By (namespace, name).
    links: BTreeMap<(String, String), FakeLink>,
    /// `address/prefix` by (namespace, device).
    addresses: BTreeMap<(String, String), BTreeSet<String>>,
    /// Permanent neighbours (address → MAC) by (namespace, device).
    neighbours: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// FDB entries of the host's namespace: (device, MAC, destination).
    fdb: BTreeSet<(String, String, String)>,
    /// Routes by (namespace, destination): the rest of the `route replace` line.
    routes: BTreeMap<(String, String), String>,
    /// nftables tables (`family name`) by namespace, each with the last ruleset that
    /// created it.
    tables: BTreeMap<(String, String), Value>,
    /// DHCP servers by the directory of their pid file.
    dnsmasq: BTreeMap<PathBuf, FakeDnsmasq>,
    /// haproxy masters by their state directory.
    haproxy: BTreeMap<PathBuf, FakeHaproxy>,
}

impl Model {
    fn has_ns(&self, ns: &str) -> bool {
        ns.is_empty() || self.namespaces.contains(ns)
    }

    /// Removes a link, its veth peer, and what hangs off both.
    fn remove_link(&mut self, key: &(String, String)) {
        let Some(link) = self.links.remove(key) else { return };
        self.addresses.remove(key);
        self.neighbours.remove(key);
        if key.0.is_empty() {
            self.fdb.retain(|(dev, _, _)| *dev != key.1);
        }
        for ((ns, _), l) in self.links.iter_mut() {
            if *ns == key.0 && l.master.as_deref() == Some(key.1.as_str()) {
                l.master = None;
            }
        }
        if let Some(peer) = link.peer {
            self.remove_link(&peer);
        }
    }
}

#[derive(Default)]
struct FakeState {
    model: Model,
    /// Every command, as a command line (nft's input not included).
    log: Vec<String>,
    /// The commands that changed the model (and every `nft -f` that applied a ruleset).
    changes: Vec<String>,
    /// nft refuses any input containing one of these.
    refuse: Vec<String>,
    /// Namespaces a metadata listener was started in, in order.
    metadata: Vec<String>,
    /// `haproxy -c` refuses any configuration containing one of these.
    haproxy_refuse: Vec<String>,
    /// `show stat` status of servers (by member id) instead of what their line implies.
    server_status: BTreeMap<String, String>,
    next_pid: i32,
}

/// A pretend kernel: the host's network state in memory.
#[derive(Default)]
pub struct FakeKernel {
    state: Mutex<FakeState>,
}

fn fail<T>(line: &str, what: impl std::fmt::Display) -> anyhow::Result<T> {
    Err(anyhow::anyhow!("{line} failed: {what}"))
}

/// The value following `key` in `args`.
fn after<'a>(args: &[&'a str], key: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| *a == key)
        .and_then(|i| args.get(i + 1))
        .copied()
}

impl FakeKernel {
    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    /// Runs `op` on the model as command `line`: logs it, and counts it as a change when
    /// the model differs afterwards (or `always` and it succeeded).
    fn run<T>(
        &self,
        line: String,
        always: bool,
        op: impl FnOnce(&mut FakeState) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.with(|s| {
            s.log.push(line.clone());
            let before = s.model.clone();
            let out = op(s);
            if (always && out.is_ok()) || s.model != before {
                s.changes.push(line);
            }
            out
        })
    }

    /// The commands run so far (`ip …`, `bridge …`, `nft …`, `dnsmasq …`, `kill …`).
    pub fn log(&self) -> Vec<String> {
        self.with(|s| s.log.clone())
    }

    /// The commands so far that changed something.
    pub fn changes(&self) -> Vec<String> {
        self.with(|s| s.changes.clone())
    }

    /// Forgets the commands run so far.
    pub fn clear_log(&self) {
        self.with(|s| {
            s.log.clear();
            s.changes.clear();
        })
    }

    /// The link `name` of namespace `netns` ("" or None: the host's).
    pub fn link_in(&self, netns: Option<&str>, name: &str) -> Option<FakeLink> {
        let key = (netns.unwrap_or_default().to_string(), name.to_string());
        self.with(|s| s.model.links.get(&key).cloned())
    }

    /// The link `name` of the host's namespace.
    pub fn link(&self, name: &str) -> Option<FakeLink> {
        self.link_in(None, name)
    }

    /// The names of the links of namespace `netns` (None: the host's).
    pub fn links_in(&self, netns: Option<&str>) -> Vec<String> {
        let ns = netns.unwrap_or_default();
        self.with(|s| {
            s.model
                .links
                .keys()
                .filter(|(n, _)| n == ns)
                .map(|(_, name)| name.clone())
                .collect()
        })
    }

    /// The names of the host namespace's links.
    pub fn links(&self) -> Vec<String> {
        self.links_in(None)
    }

    /// Adds a link nobody asked the agent for (another program's, or the host's own).
    pub fn add_foreign_link(&self, netns: Option<&str>, name: &str, kind: &str) {
        let key = (netns.unwrap_or_default().to_string(), name.to_string());
        self.with(|s| {
            s.model.links.insert(key, FakeLink::new(kind));
        })
    }

    /// Adds a namespace nobody asked the agent for.
    pub fn add_foreign_namespace(&self, name: &str) {
        self.with(|s| {
            s.model.namespaces.insert(name.to_string());
        })
    }

    pub fn namespaces(&self) -> Vec<String> {
        self.with(|s| s.model.namespaces.iter().cloned().collect())
    }

    /// The addresses (`ip/prefix`) of `dev` in namespace `netns` (None: the host's).
    pub fn addresses(&self, netns: Option<&str>, dev: &str) -> Vec<String> {
        let key = (netns.unwrap_or_default().to_string(), dev.to_string());
        self.with(|s| {
            s.model
                .addresses
                .get(&key)
                .map(|a| a.iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// The permanent neighbours (address, MAC) of `dev` in namespace `netns`.
    pub fn neighbours(&self, netns: Option<&str>, dev: &str) -> Vec<(String, String)> {
        let key = (netns.unwrap_or_default().to_string(), dev.to_string());
        self.with(|s| {
            s.model
                .neighbours
                .get(&key)
                .map(|n| n.iter().map(|(a, m)| (a.clone(), m.clone())).collect())
                .unwrap_or_default()
        })
    }

    /// The FDB entries (MAC, destination) of `dev`.
    pub fn fdb(&self, dev: &str) -> Vec<(String, String)> {
        self.with(|s| {
            s.model
                .fdb
                .iter()
                .filter(|(d, _, _)| d == dev)
                .map(|(_, m, dst)| (m.clone(), dst.clone()))
                .collect()
        })
    }

    /// The routes of namespace `netns` as `destination rest-of-line`.
    pub fn routes(&self, netns: &str) -> Vec<String> {
        self.with(|s| {
            s.model
                .routes
                .iter()
                .filter(|((n, _), _)| n == netns)
                .map(|((_, d), rest)| format!("{d} {rest}"))
                .collect()
        })
    }

    /// The nftables tables (`family name`) of namespace `netns` (None: the host's).
    pub fn tables_in(&self, netns: Option<&str>) -> Vec<String> {
        let ns = netns.unwrap_or_default();
        self.with(|s| {
            s.model
                .tables
                .keys()
                .filter(|(n, _)| n == ns)
                .map(|(_, t)| t.clone())
                .collect()
        })
    }

    /// The nftables tables of the host's namespace.
    pub fn tables(&self) -> Vec<String> {
        self.tables_in(None)
    }

    /// The ruleset that last made table `table` (`family name`) of namespace `netns`
    /// (nft's JSON input).
    pub fn ruleset(&self, netns: Option<&str>, table: &str) -> Option<Value> {
        let key = (netns.unwrap_or_default().to_string(), table.to_string());
        self.with(|s| s.model.tables.get(&key).cloned())
    }

    /// The DHCP server running in `netns`, if any.
    pub fn dnsmasq(&self, netns: &str) -> Option<FakeDnsmasq> {
        self.with(|s| s.model.dnsmasq.values().find(|d| d.netns == netns).cloned())
    }

    /// The DHCP servers running.
    pub fn dnsmasqs(&self) -> Vec<FakeDnsmasq> {
        self.with(|s| s.model.dnsmasq.values().cloned().collect())
    }

    /// The namespaces a metadata listener was started in, in order.
    pub fn metadata_listeners(&self) -> Vec<String> {
        self.with(|s| s.metadata.clone())
    }

    /// The haproxy serving `dir`, if any.
    pub fn haproxy(&self, dir: &Path) -> Option<FakeHaproxy> {
        self.with(|s| s.model.haproxy.get(dir).cloned())
    }

    /// The haproxy masters running.
    pub fn haproxies(&self) -> Vec<FakeHaproxy> {
        self.with(|s| s.model.haproxy.values().cloned().collect())
    }

    /// `haproxy -c` refuses any configuration containing `text`.
    pub fn refuse_haproxy_containing(&self, text: &str) {
        self.with(|s| s.haproxy_refuse.push(text.to_string()))
    }

    /// The `show stat` status of the server of `member` (`UP`, `DOWN`, …) from now on.
    pub fn set_server_status(&self, member: &str, status: &str) {
        self.with(|s| {
            s.server_status.insert(member.to_string(), status.to_string());
        })
    }

    /// nft refuses (applying or checking) any ruleset containing `text`.
    pub fn refuse_nft_containing(&self, text: &str) {
        self.with(|s| s.refuse.push(text.to_string()))
    }

    fn ip_sync(&self, args: &[&str]) -> anyhow::Result<String> {
        let line = format!("ip {}", args.join(" "));
        self.run(line.clone(), false, |s| ip_on(&mut s.model, &line, args))
    }

    fn bridge_sync(&self, args: &[&str]) -> anyhow::Result<String> {
        let line = format!("bridge {}", args.join(" "));
        self.run(line.clone(), false, |s| {
            let m = &mut s.model;
            let exists = |m: &Model, dev: &str| m.links.contains_key(&(String::new(), dev.to_string()));
            match args {
                ["-j", "fdb", "show", "dev", dev] => {
                    if !exists(m, dev) {
                        return fail(&line, format!("Cannot find device \"{dev}\""));
                    }
                    let list: Vec<Value> = m
                        .fdb
                        .iter()
                        .filter(|(d, _, _)| d == dev)
                        .map(|(_, mac, dst)| json!({"mac": mac, "dst": dst, "state": "permanent"}))
                        .collect();
                    Ok(if list.is_empty() {
                        String::new()
                    } else {
                        Value::Array(list).to_string()
                    })
                }
                ["fdb", op @ ("append" | "replace" | "del"), mac, "dev", dev, "dst", dst, ..] => {
                    if !exists(m, dev) {
                        return fail(&line, format!("Cannot find device \"{dev}\""));
                    }
                    let entry = (dev.to_string(), mac.to_string(), dst.to_string());
                    match *op {
                        "append" => {
                            m.fdb.insert(entry);
                        }
                        "replace" => {
                            m.fdb.retain(|(d, x, _)| !(d == dev && x == mac));
                            m.fdb.insert(entry);
                        }
                        _ => {
                            if !m.fdb.remove(&entry) {
                                return fail(&line, "RTNETLINK answers: No such file or directory");
                            }
                        }
                    }
                    Ok(String::new())
                }
                _ => fail(&line, "command not modelled by the fake kernel"),
            }
        })
    }

    fn nft_sync(&self, netns: Option<&str>, args: &[&str], input: Option<&str>) -> anyhow::Result<String> {
        let ns = netns.unwrap_or_default().to_string();
        let line = match netns {
            Some(n) => format!("ip netns exec {n} nft {}", args.join(" ")),
            None => format!("nft {}", args.join(" ")),
        };
        let check = args.contains(&"-c");
        // Applying a ruleset is a change even when it is the same again.
        self.run(line.clone(), input.is_some() && !check, |s| {
            if !s.model.has_ns(&ns) {
                return fail(&line, format!("Cannot open network namespace \"{ns}\""));
            }
            if let ["list", "table", family, name] = args {
                return if s.model.tables.contains_key(&(ns, format!("{family} {name}"))) {
                    Ok(String::new())
                } else {
                    fail(&line, "Error: No such file or directory")
                };
            }
            let Some(input) = input else {
                return fail(&line, "command not modelled by the fake kernel");
            };
            if s.refuse.iter().any(|r| input.contains(r.as_str())) {
                return fail(&line, "Error: Could not process rule: Operation not supported");
            }
            let Ok(tx) = serde_json::from_str::<Value>(input) else {
                return fail(&line, "Error: syntax error");
            };
            // One transaction: checked whole before anything changes.
            let mut tables = s.model.tables.clone();
            for cmd in tx["nftables"].as_array().into_iter().flatten() {
                let table = |op: &str| {
                    let t = &cmd[op]["table"];
                    t.is_object().then(|| {
                        format!(
                            "{} {}",
                            t["family"].as_str().unwrap_or(""),
                            t["name"].as_str().unwrap_or("")
                        )
                    })
                };
                if let Some(t) = table("add") {
                    tables.insert((ns.clone(), t), tx.clone());
                } else if let Some(t) = table("delete") {
                    if tables.remove(&(ns.clone(), t)).is_none() {
                        return fail(&line, "Error: Could not process rule: No such file or directory");
                    }
                }
            }
            if !check {
                s.model.tables = tables;
            }
            Ok(String::new())
        })
    }
}

/// `ip ARGS` on the model.
fn ip_on(m: &mut Model, line: &str, args: &[&str]) -> anyhow::Result<String> {
    let mut rest = args;
    let mut ns = String::new();
    let mut json_out = false;
    loop {
        match rest {
            ["-n", n, tail @ ..] => {
                ns = n.to_string();
                rest = tail;
            }
            ["-j", tail @ ..] => {
                json_out = true;
                rest = tail;
            }
            _ => break,
        }
    }
    if !m.has_ns(&ns) {
        return fail(line, format!("Cannot open network namespace \"{ns}\""));
    }
    let list = |l: Vec<Value>| {
        if l.is_empty() {
            String::new()
        } else {
            Value::Array(l).to_string()
        }
    };
    let key = |dev: &str| (ns.clone(), dev.to_string());
    let no_device = |dev: &str| fail(line, format!("Cannot find device \"{dev}\""));
    match rest {
        ["link", "show"] => {
            let links: Vec<Value> = m
                .links
                .iter()
                .filter(|((n, _), _)| *n == ns)
                .map(|((_, name), l)| {
                    json!({"ifname": name, "master": l.master, "mtu": l.mtu, "address": l.address,
                        "flags": if l.up { vec!["BROADCAST", "UP"] } else { vec!["BROADCAST"] }})
                })
                .collect();
            Ok(if json_out { list(links) } else { String::new() })
        }
        ["link", "add", name, "type", kind, tail @ ..] => {
            if m.links.contains_key(&key(name)) {
                return fail(line, "RTNETLINK answers: File exists");
            }
            let mut link = FakeLink::new(kind);
            if *kind == "veth" {
                let Some(peer) = after(tail, "name") else {
                    return fail(line, "veth without a peer name");
                };
                let peer_ns = after(tail, "netns").map(str::to_string).unwrap_or_else(|| ns.clone());
                if !m.has_ns(&peer_ns) {
                    return fail(line, format!("Invalid \"netns\" value \"{peer_ns}\""));
                }
                let peer_key = (peer_ns, peer.to_string());
                if m.links.contains_key(&peer_key) {
                    return fail(line, "RTNETLINK answers: File exists");
                }
                let mut other = FakeLink::new(kind);
                other.peer = Some(key(name));
                link.peer = Some(peer_key.clone());
                m.links.insert(peer_key, other);
            }
            m.links.insert(key(name), link);
            Ok(String::new())
        }
        ["tuntap", "add", "dev", name, "mode", "tap"] => {
            if m.links.contains_key(&key(name)) {
                return fail(line, "ioctl(TUNSETIFF): Device or resource busy");
            }
            m.links.insert(key(name), FakeLink::new("tap"));
            Ok(String::new())
        }
        ["link", "set", dev, settings @ ..] => {
            if let Some(master) = after(settings, "master") {
                if m.links.get(&key(master)).is_none_or(|l| l.kind != "bridge") {
                    return no_device(master);
                }
            }
            let Some(l) = m.links.get_mut(&key(dev)) else {
                return no_device(dev);
            };
            let mut it = settings.iter();
            while let Some(a) = it.next() {
                match *a {
                    "master" => l.master = it.next().map(|m| m.to_string()),
                    "mtu" => l.mtu = it.next().and_then(|m| m.parse().ok()).unwrap_or(l.mtu),
                    "address" => l.address = it.next().map(|m| m.to_string()),
                    "learning" => l.learning = it.next() == Some(&"on"),
                    "up" => l.up = true,
                    "down" => l.up = false,
                    _ => {}
                }
            }
            Ok(String::new())
        }
        ["link", "del", dev] => {
            if !m.links.contains_key(&key(dev)) {
                return no_device(dev);
            }
            m.remove_link(&key(dev));
            Ok(String::new())
        }
        ["addr", "show", "dev", dev] => {
            if !m.links.contains_key(&key(dev)) {
                return fail(line, format!("Device \"{dev}\" does not exist."));
            }
            let info: Vec<Value> = m
                .addresses
                .get(&key(dev))
                .into_iter()
                .flatten()
                .map(|a| {
                    let (local, len) = a.split_once('/').unwrap_or((a, "32"));
                    json!({"local": local, "prefixlen": len.parse::<u8>().unwrap_or(32), "scope": "global"})
                })
                .collect();
            Ok(list(vec![json!({"ifname": dev, "addr_info": info})]))
        }
        ["addr", op @ ("add" | "del"), addr, "dev", dev] => {
            if !m.links.contains_key(&key(dev)) {
                return no_device(dev);
            }
            let set = m.addresses.entry(key(dev)).or_default();
            let done = if *op == "add" {
                set.insert(addr.to_string())
            } else {
                set.remove(*addr)
            };
            if !done {
                return fail(
                    line,
                    "RTNETLINK answers: File exists or Cannot assign requested address",
                );
            }
            Ok(String::new())
        }
        ["neigh", "show", "dev", dev] => {
            if !m.links.contains_key(&key(dev)) {
                return no_device(dev);
            }
            let entries: Vec<Value> = m
                .neighbours
                .get(&key(dev))
                .into_iter()
                .flatten()
                .map(|(a, mac)| json!({"dst": a, "lladdr": mac, "state": ["PERMANENT"]}))
                .collect();
            Ok(list(entries))
        }
        ["neigh", "replace", addr, "lladdr", mac, "dev", dev, ..] => {
            if !m.links.contains_key(&key(dev)) {
                return no_device(dev);
            }
            m.neighbours
                .entry(key(dev))
                .or_default()
                .insert(addr.to_string(), mac.to_string());
            Ok(String::new())
        }
        ["neigh", "del", addr, "dev", dev] => {
            let removed = m.neighbours.get_mut(&key(dev)).and_then(|n| n.remove(*addr));
            if removed.is_none() {
                return fail(line, "RTNETLINK answers: No such file or directory");
            }
            Ok(String::new())
        }
        ["route", "replace", dest, tail @ ..] => {
            if let Some(dev) = after(tail, "dev") {
                if !m.links.contains_key(&key(dev)) {
                    return no_device(dev);
                }
            }
            m.routes.insert(key(dest), tail.join(" "));
            Ok(String::new())
        }
        ["netns", "list"] => Ok(list(m.namespaces.iter().map(|n| json!({"name": n})).collect())),
        ["netns", "add", n] => {
            if !m.namespaces.insert(n.to_string()) {
                return fail(
                    line,
                    format!("Cannot create namespace file \"/run/netns/{n}\": File exists"),
                );
            }
            let mut lo = FakeLink::new("loopback");
            lo.mtu = 65536;
            m.links.insert((n.to_string(), "lo".into()), lo);
            Ok(String::new())
        }
        ["netns", "del", n] => {
            if !m.namespaces.remove(*n) {
                return fail(line, format!("Cannot remove namespace file \"/run/netns/{n}\""));
            }
            let inside: Vec<_> = m.links.keys().filter(|(x, _)| x == n).cloned().collect();
            for k in inside {
                m.remove_link(&k);
            }
            m.routes.retain(|(x, _), _| x != n);
            m.tables.retain(|(x, _), _| x != n);
            Ok(String::new())
        }
        // Commands run inside a namespace (sysctls): not modelled, but the namespace must exist.
        ["netns", "exec", n, ..] => {
            if !m.namespaces.contains(*n) {
                return fail(line, format!("Cannot open network namespace \"{n}\""));
            }
            Ok(String::new())
        }
        _ => fail(line, "command not modelled by the fake kernel"),
    }
}

impl Kernel for FakeKernel {
    fn ip<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move { self.ip_sync(args) })
    }

    fn bridge<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move { self.bridge_sync(args) })
    }

    fn nft<'a>(
        &'a self,
        netns: Option<&'a str>,
        args: &'a [&'a str],
        input: Option<&'a str>,
    ) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move { self.nft_sync(netns, args, input) })
    }

    fn start_dnsmasq<'a>(&'a self, netns: &'a str, args: &'a [String]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let line = format!("ip netns exec {netns} dnsmasq {}", args.join(" "));
            self.run(line.clone(), true, |s| {
                if !s.model.namespaces.contains(netns) {
                    return fail(&line, format!("Cannot open network namespace \"{netns}\""));
                }
                let Some(dir) = args
                    .iter()
                    .find_map(|a| a.strip_prefix("--pid-file="))
                    .and_then(|p| Path::new(p).parent())
                else {
                    return fail(&line, "no --pid-file");
                };
                let dev = args.iter().find_map(|a| a.strip_prefix("--interface="));
                if s.model.dnsmasq.values().any(|d| {
                    d.netns == netns && dev.is_some() && d.args.iter().any(|a| a.strip_prefix("--interface=") == dev)
                }) {
                    return fail(&line, "dnsmasq: failed to bind DHCP server socket: Address in use");
                }
                s.next_pid += 1;
                let d = FakeDnsmasq {
                    pid: 10_000 + s.next_pid,
                    netns: netns.to_string(),
                    args: args.to_vec(),
                    reloads: 0,
                };
                s.model.dnsmasq.insert(dir.to_path_buf(), d);
                Ok(())
            })
        })
    }

    fn dnsmasq_pid(&self, dir: &Path) -> Option<i32> {
        self.with(|s| s.model.dnsmasq.get(dir).map(|d| d.pid))
    }

    fn signal(&self, pid: i32, signal: i32) {
        let line = format!("kill -{signal} {pid}");
        self.run(line, true, |s| {
            let dir = s
                .model
                .dnsmasq
                .iter()
                .find(|(_, d)| d.pid == pid)
                .map(|(dir, _)| dir.clone());
            let proxy = s
                .model
                .haproxy
                .iter()
                .find(|(_, h)| h.pid == pid)
                .map(|(dir, _)| dir.clone());
            if let Some(dir) = proxy {
                if signal == libc::SIGUSR2 {
                    let config = std::fs::read_to_string(dir.join("haproxy.cfg")).unwrap_or_default();
                    if let Some(h) = s.model.haproxy.get_mut(&dir) {
                        h.reloads += 1;
                        h.config = config;
                    }
                } else {
                    s.model.haproxy.remove(&dir);
                }
            }
            if let Some(dir) = dir {
                if signal == libc::SIGHUP {
                    if let Some(d) = s.model.dnsmasq.get_mut(&dir) {
                        d.reloads += 1;
                    }
                } else {
                    s.model.dnsmasq.remove(&dir);
                }
            }
            Ok(())
        })
        .ok();
    }

    fn enable_bridge_netfilter(&self) {}

    fn serve_metadata<'a>(
        &'a self,
        netns: &'a str,
        _scope: Scope,
        _controller: ControllerLink,
    ) -> BoxFuture<'a, anyhow::Result<tokio::task::AbortHandle>> {
        Box::pin(async move {
            self.with(|s| {
                if !s.model.namespaces.contains(netns) {
                    return fail(
                        "metadata listener",
                        format!("Cannot open network namespace \"{netns}\""),
                    );
                }
                s.metadata.push(netns.to_string());
                Ok(tokio::spawn(std::future::pending::<()>()).abort_handle())
            })
        })
    }

    fn haproxy_check<'a>(&'a self, cfg: &'a Path) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let line = format!("haproxy -c -q -f {}", cfg.display());
            let text = std::fs::read_to_string(cfg);
            self.run(line.clone(), false, |s| {
                let Ok(text) = text else {
                    return fail(&line, "cannot open the configuration file");
                };
                if s.haproxy_refuse.iter().any(|r| text.contains(r.as_str())) {
                    return fail(&line, "[ALERT] config : Fatal errors found in configuration.");
                }
                Ok(())
            })
        })
    }

    fn start_haproxy<'a>(&'a self, netns: &'a str, dir: &'a Path) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let cfg = dir.join("haproxy.cfg");
            let line = format!(
                "ip netns exec {netns} haproxy -W -f {} -p {}",
                cfg.display(),
                dir.join("haproxy.pid").display()
            );
            let config = std::fs::read_to_string(&cfg);
            self.run(line.clone(), true, |s| {
                if !s.model.namespaces.contains(netns) {
                    return fail(&line, format!("Cannot open network namespace \"{netns}\""));
                }
                let Ok(config) = config else {
                    return fail(&line, "cannot open the configuration file");
                };
                if s.model.haproxy.contains_key(dir) {
                    return fail(&line, "[ALERT] Starting frontend: cannot bind socket");
                }
                s.next_pid += 1;
                let h = FakeHaproxy {
                    pid: 20_000 + s.next_pid,
                    netns: netns.to_string(),
                    config,
                    reloads: 0,
                };
                s.model.haproxy.insert(dir.to_path_buf(), h);
                Ok(())
            })
        })
    }

    fn haproxy_pid(&self, dir: &Path) -> Option<i32> {
        self.with(|s| s.model.haproxy.get(dir).map(|h| h.pid))
    }

    fn haproxy_command<'a>(&'a self, socket: &'a Path, command: &'a str) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let line = format!("echo {command} | socat {} -", socket.display());
            self.run(line.clone(), false, |s| {
                let h = socket.parent().and_then(|d| s.model.haproxy.get(d));
                let Some(h) = h else {
                    return fail(&line, "Connection refused");
                };
                match command {
                    "show stat" => Ok(fake_show_stat(&h.config, &s.server_status)),
                    "show servers state" => Ok("1\n# be_id be_name srv_id srv_name\n".into()),
                    "show info" => Ok(format!("Name: HAProxy\nPid: {}{}\n", h.pid, h.reloads)),
                    _ => Ok("Unknown command.\n".into()),
                }
            })
        })
    }

    /// Up unless a test set the member's status to one starting with `DOWN`.
    fn lb_probe<'a>(&'a self, netns: &'a str, targets: &'a [&'a Target]) -> BoxFuture<'a, Vec<bool>> {
        Box::pin(async move {
            self.with(|s| {
                targets
                    .iter()
                    .map(|t| {
                        s.model.has_ns(netns) && !s.server_status.get(&t.member).is_some_and(|v| v.starts_with("DOWN"))
                    })
                    .collect()
            })
        })
    }
}

/// What a haproxy serving `config` would answer to `show stat` (a few columns): frontends
/// open, servers `MAINT` when disabled, `UP` when checked, `no check` otherwise, unless a
/// test set their status.
fn fake_show_stat(config: &str, status: &BTreeMap<String, String>) -> String {
    let mut out = String::from("# pxname,svname,scur,stot,bin,bout,ereq,status,\n");
    let mut backend = "";
    for line in config.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["frontend", name] => out.push_str(&format!("{name},FRONTEND,0,0,0,0,0,OPEN,\n")),
            ["backend", name] => {
                backend = name;
                out.push_str(&format!("{name},BACKEND,0,0,0,0,,UP,\n"));
            }
            ["server", name, rest @ ..] => {
                let st = status.get(*name).cloned().unwrap_or_else(|| {
                    if rest.contains(&"disabled") {
                        "MAINT".into()
                    } else if rest.contains(&"check") {
                        "UP".into()
                    } else {
                        "no check".into()
                    }
                });
                out.push_str(&format!("{backend},{name},0,0,0,0,,{st},\n"));
            }
            _ => {}
        }
    }
    out
}

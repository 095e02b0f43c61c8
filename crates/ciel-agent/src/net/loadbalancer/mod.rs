//! Load balancers as network namespaces (`ciel-lb-<id>`), one haproxy each. The VIP port is
//! a veth pair: its outer end, named like a VM port's tap ([`super::tap_name`]), is plugged
//! into the VIP network's bridge, so the port's firewall applies to it as to a VM's; the
//! inner end (`lbv-…`) holds the port's MAC and addresses, with the default route via the
//! VIP subnet's gateway. haproxy's configuration is rendered from the spec ([`haproxy`]),
//! checked with `haproxy -c` and only then put in place, reloaded seamlessly (the master
//! re-executes with the listening sockets; member health is carried over through haproxy's
//! server-state file). A configuration that fails keeps the previous one serving, and
//! fails its own load balancer only.
//!
//! State lives in `<state dir>/lb/<id>/`: `haproxy.cfg`, the pid file, the stats socket,
//! `revision` (the spec revision the running configuration serves, so that a restarted
//! agent reports it and adopts the running haproxy without touching it) and `counters.json`
//! (listener counters accumulated across reloads, which reset haproxy's).
//!
//! Like routers: namespaces are recorded in the ownership ledger before they are made, and
//! only recorded ones are removed when no longer desired (their haproxy stopped first).

pub mod haproxy;
pub mod probe;
pub mod process;
pub mod stats;
pub mod udp;
pub mod watch;

use super::firewall::PortError;
use super::ip::{self, ip, Link};
use super::kernel::Kernel;
use super::owned::{Kind, Owned};
use super::values;
use ciel_proto::{
    HostConfig, LbStats, ListenerStatus, LoadBalancerSpec, LoadBalancerStatus, MemberHealth, MemberState,
};
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub const NETNS: &str = "ciel-lb-";
/// The inner end of a VIP leg (`lbv-` and 11 hex digits of the port id).
const INNER: &str = "lbv-";
/// Unix socket paths longer than this do not fit `sockaddr_un`.
const MAX_SOCKET_PATH: usize = 100;

/// What the load balancers of a host came to.
#[derive(Debug, Default)]
pub struct LbReport {
    /// The outer ends of the VIP legs (not stale devices).
    pub legs: HashSet<String>,
    /// VIP ports whose leg is plugged.
    pub ports_up: Vec<String>,
    pub port_errors: Vec<PortError>,
    pub statuses: Vec<LoadBalancerStatus>,
}

/// Where the load balancers' state directories are.
pub fn root(state_dir: &Path) -> PathBuf {
    state_dir.join("lb")
}

fn inner_name(port_id: &str) -> String {
    let hex: String = port_id.chars().filter(|c| *c != '-').take(11).collect();
    format!("{INNER}{hex}")
}

/// Brings the host's load balancers to `cfg.load_balancers` and reports each; removes the
/// stale ones this agent made.
pub async fn reconcile(k: &dyn Kernel, cfg: &HostConfig, links: &[Link], state_dir: &Path, owned: &Owned) -> LbReport {
    let mut report = LbReport::default();
    let root = root(state_dir);
    for lb in &cfg.load_balancers {
        let status = ensure(k, cfg, lb, links, &root, owned, &mut report).await;
        if let Some((rev, why)) = &status.failed {
            tracing::warn!(lb = %lb.id, revision = rev, error = %why, "load balancer not applied");
        }
        report.statuses.push(status);
    }
    remove_stale(k, cfg, &root, owned).await;
    report
}

/// One load balancer: plumbing, then haproxy, then what it observes.
async fn ensure(
    k: &dyn Kernel,
    cfg: &HostConfig,
    lb: &LoadBalancerSpec,
    links: &[Link],
    root: &Path,
    owned: &Owned,
    report: &mut LbReport,
) -> LoadBalancerStatus {
    let mut status = LoadBalancerStatus {
        id: lb.id.clone(),
        ..Default::default()
    };
    if !values::is_id(&lb.id) {
        status.failed = Some((
            lb.revision,
            format!("load balancer id {:?} cannot name a namespace", lb.id),
        ));
        return status;
    }
    let dir = root.join(&lb.id);
    status.applied_revision = applied_revision(&dir);
    let port = &lb.vip.port;
    let outer = super::tap_name(&port.port_id);
    if values::is_ifname(&outer) {
        report.legs.insert(outer.clone());
    }
    let ns = format!("{NETNS}{}", lb.id);
    match plumb(k, cfg, lb, &ns, (&outer, &inner_name(&port.port_id)), links, owned).await {
        Ok(()) => report.ports_up.push(port.port_id.clone()),
        Err(e) => {
            let why = format!("VIP port not plugged: {e:#}");
            report.port_errors.push((port.port_id.clone(), why.clone()));
            status.failed = Some((lb.revision, why));
            observe(k, lb, &ns, &dir, &mut status).await;
            return status;
        }
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        status.failed = Some((lb.revision, format!("cannot create {}: {e}", dir.display())));
        return status;
    }
    let served = serve(k, lb, &ns, &dir).await;
    let udp = udp::apply(k, &ns, lb, &dir, &probe::health(&dir)).await;
    probe::record(&dir, lb);
    match served.and(udp) {
        Ok(()) => {
            if let Err(e) = std::fs::write(dir.join("revision"), lb.revision.to_string()) {
                tracing::warn!(lb = %lb.id, error = %e, "cannot record the applied revision");
            }
            status.applied_revision = lb.revision;
        }
        Err(why) => status.failed = Some((lb.revision, why)),
    }
    observe(k, lb, &ns, &dir, &mut status).await;
    status
}

fn applied_revision(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("revision"))
        .ok()
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or(0)
}

/// The namespace and its VIP leg: the veth pair, the outer end in the VIP network's bridge,
/// the inner end with the port's MAC, MTU and addresses, the default route, the port's
/// neighbours, and when the leg is new the namespace's sysctls and a gratuitous ARP.
async fn plumb(
    k: &dyn Kernel,
    cfg: &HostConfig,
    lb: &LoadBalancerSpec,
    ns: &str,
    (outer, inner): (&str, &str),
    links: &[Link],
    owned: &Owned,
) -> anyhow::Result<()> {
    let port = &lb.vip.port;
    if !values::is_ifname(outer) || !values::is_ifname(inner) {
        anyhow::bail!("port id {:?} gives no device name", port.port_id);
    }
    let net = cfg
        .networks
        .iter()
        .find(|n| n.id == port.network_id)
        .ok_or_else(|| anyhow::anyhow!("the VIP network {} is not wired on this host", port.network_id))?;
    let mac = values::mac(&port.mac).map_err(anyhow::Error::msg)?.to_string();
    let addresses: Vec<ipnet::IpNet> = port
        .addresses
        .iter()
        .map(|a| values::interface_net(a))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let gateway = lb
        .vip
        .gateway_ip
        .as_deref()
        .map(values::addr)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    owned.record(Kind::Namespace, ns)?;
    if !ip::namespaces(k).await?.contains(&ns.to_string()) {
        ip(k, &["netns", "add", ns]).await?;
        tracing::info!(lb = %lb.id, "load balancer namespace created");
    }
    let bridge = super::bridge_name(net);
    let mtu = net.mtu.to_string();
    owned.record(Kind::Link, outer)?;
    let mut fresh = false;
    if !links.iter().any(|l| l.ifname == outer) {
        ip(k, &["-n", ns, "link", "del", inner]).await.ok();
        ip(
            k,
            &["link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns],
        )
        .await?;
        fresh = true;
    }
    let o = links.iter().find(|l| l.ifname == outer);
    if fresh || o.is_none_or(|l| l.master.as_deref() != Some(bridge.as_str()) || !l.is_up() || l.mtu != net.mtu) {
        ip(k, &["link", "set", outer, "master", &bridge, "mtu", &mtu, "up"]).await?;
    }
    let inside = ip::links(k, Some(ns)).await?;
    if inside.iter().any(|l| l.ifname == "lo" && !l.is_up()) {
        ip(k, &["-n", ns, "link", "set", "lo", "up"]).await?;
    }
    let i = inside.iter().find(|l| l.ifname == inner);
    if i.is_none_or(|l| l.address.as_deref() != Some(mac.as_str()) || !l.is_up() || l.mtu != net.mtu) {
        ip(k, &["-n", ns, "link", "set", inner, "address", &mac, "mtu", &mtu, "up"]).await?;
        fresh = true;
    }
    if fresh {
        sysctls(k, ns).await?;
    }
    let want: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
    ip::sync_addresses(k, ns, inner, &want, |_| true).await?;
    // Taking the leg down drops the route: asserted every time.
    if let Some(gw) = gateway {
        let gw = gw.to_string();
        ip(k, &["-n", ns, "route", "replace", "default", "via", &gw, "dev", inner]).await?;
    }
    super::l2pop::sync_neighbours(k, Some(ns), inner, &super::router::known_ports(cfg, port), true).await?;
    if fresh {
        for a in addresses.iter().map(|a| a.addr()).filter(IpAddr::is_ipv4) {
            let a = a.to_string();
            // Neighbours and bridges learn where the VIP is now (after a failover). arping
            // sends its first packet at once and then waits a second for nothing (no reply
            // comes to an unsolicited ARP): cut short so it does not delay the load balancer.
            // The device and the address are ours and parsed, passed as arguments.
            let garp = [
                "netns",
                "exec",
                ns,
                "sh",
                "-c",
                "timeout 0.2 arping -U -c 1 -I \"$1\" \"$2\" >/dev/null; rc=$?; [ $rc -le 1 ] || [ $rc -eq 124 ]",
                "sh",
                inner,
                &a,
            ];
            if let Err(e) = ip(k, &garp).await {
                tracing::warn!(lb = %lb.id, error = %format!("{e:#}"), "gratuitous ARP not sent (apt-get install iputils-arping)");
            }
        }
    }
    Ok(())
}

/// A new namespace starts from kernel defaults: open unprivileged ICMP for PING monitors
/// (haproxy's checks run as `nobody`), and let haproxy bind the VIP even while it is not
/// (yet) usable (IPv6 duplicate address detection).
async fn sysctls(k: &dyn Kernel, ns: &str) -> anyhow::Result<()> {
    let script = "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range && \
                  echo 1 > /proc/sys/net/ipv4/ip_nonlocal_bind && \
                  { [ ! -e /proc/sys/net/ipv6/ip_nonlocal_bind ] || echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind; }";
    ip(k, &["netns", "exec", ns, "sh", "-c", script]).await.map(|_| ())
}

/// Files of one load balancer's haproxy.
struct Paths {
    cfg: PathBuf,
    next: PathBuf,
    stats: PathBuf,
    state: PathBuf,
    ping: PathBuf,
}

fn paths(dir: &Path) -> Paths {
    Paths {
        cfg: dir.join("haproxy.cfg"),
        next: dir.join("haproxy.cfg.new"),
        stats: dir.join("stats.sock"),
        state: dir.join("servers-state"),
        ping: dir.join("ping-check"),
    }
}

/// haproxy serving `lb`'s rendered configuration: left alone when it already does, reloaded
/// when it serves another, started when it does not run, stopped when there is nothing to
/// serve. Fails (with why) without touching a running haproxy when the new configuration
/// does not render or haproxy refuses it.
async fn serve(k: &dyn Kernel, lb: &LoadBalancerSpec, ns: &str, dir: &Path) -> Result<(), String> {
    let p = paths(dir);
    if p.stats.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(format!(
            "the state directory path is too long for a socket: {}",
            p.stats.display()
        ));
    }
    let files = haproxy::Files {
        stats_socket: &p.stats,
        server_state: &p.state,
        ping_check: &p.ping,
    };
    let running = k.haproxy_pid(dir);
    let Some(text) = haproxy::render(lb, &files, fd_bound())? else {
        if let Some(pid) = running {
            fold_counters(k, dir).await;
            stop(k, dir, pid).await;
            tracing::info!(lb = %lb.id, "haproxy stopped: nothing to serve");
        }
        return Ok(());
    };
    if running.is_some() && std::fs::read_to_string(&p.cfg).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    let io = |e: std::io::Error| format!("cannot write the configuration: {e}");
    write_script(&p.ping).map_err(io)?;
    std::fs::write(&p.next, &text).map_err(io)?;
    k.haproxy_check(&p.next).await.map_err(|e| format!("{e:#}"))?;
    match running {
        Some(pid) => {
            // Health carried over: the new worker starts from the servers' current state.
            match k.haproxy_command(&p.stats, "show servers state").await {
                Ok(state) => std::fs::write(&p.state, state).map_err(io)?,
                Err(e) => tracing::warn!(lb = %lb.id, error = %format!("{e:#}"), "server state not saved"),
            }
            let old_worker = worker(k, &p.stats).await;
            let previous = std::fs::read_to_string(&p.cfg).unwrap_or_default();
            fold_counters(k, dir).await;
            std::fs::rename(&p.next, &p.cfg).map_err(io)?;
            k.signal(pid, libc::SIGUSR2);
            if !new_worker(k, &p.stats, old_worker.as_deref()).await {
                // The old worker serves on: so must the file say, or the next pass would
                // take the failed configuration for the running one.
                std::fs::write(&p.cfg, previous).map_err(io)?;
                return Err(format!(
                    "haproxy did not take the new configuration (see {})",
                    dir.join("haproxy.log").display()
                ));
            }
            tracing::info!(lb = %lb.id, revision = lb.revision, "haproxy reloaded");
        }
        None => {
            std::fs::rename(&p.next, &p.cfg).map_err(io)?;
            k.start_haproxy(ns, dir).await.map_err(|e| format!("{e:#}"))?;
            // Answering on its stats socket, so that this pass already reports it.
            new_worker(k, &p.stats, None).await;
            tracing::info!(lb = %lb.id, revision = lb.revision, "haproxy started");
        }
    }
    Ok(())
}

/// The pid of the worker answering on the stats socket (`show info`).
async fn worker(k: &dyn Kernel, stats: &Path) -> Option<String> {
    let info = k.haproxy_command(stats, "show info").await.ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid: "))
        .map(|p| p.trim().to_string())
}

/// Waits (up to 3 s) for a worker other than `old` to answer; whether one did. After a
/// reload the old worker answers until the new one has taken the sockets.
async fn new_worker(k: &dyn Kernel, stats: &Path, old: Option<&str>) -> bool {
    for _ in 0..60 {
        match worker(k, stats).await {
            Some(w) if Some(w.as_str()) != old => return true,
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    false
}

/// The PING monitor's check script, readable and executable by haproxy's unprivileged
/// worker.
fn write_script(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::read_to_string(path).ok().as_deref() != Some(haproxy::PING_CHECK) {
        std::fs::write(path, haproxy::PING_CHECK)?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    if let Some(dir) = path.parent() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))?;
    }
    Ok(())
}

/// How many connections haproxy can hold with the file descriptors it may open (two per
/// connection, half as many again for splicing pipes, plus slack); 1 000 000 when unknown.
fn fd_bound() -> u64 {
    let hard = std::fs::read_to_string("/proc/self/limits").ok().and_then(|l| {
        l.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
            .and_then(|v| v.parse::<u64>().ok())
    });
    hard.map_or(1_000_000, |h| (h.saturating_sub(1000) / 3).max(100))
}

/// Stops haproxy: SIGTERM to the master (which takes its workers), SIGKILL if it lingers.
async fn stop(k: &dyn Kernel, dir: &Path, pid: i32) {
    k.signal(pid, libc::SIGTERM);
    for _ in 0..100 {
        if k.haproxy_pid(dir).is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    k.signal(pid, libc::SIGKILL);
}

/// Listener counters: what haproxy shows (reset by every reload) plus what earlier workers
/// counted (`base`); `last` is the last value seen, to notice resets nobody announced.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Counters {
    base: BTreeMap<String, [u64; 4]>,
    last: BTreeMap<String, [u64; 4]>,
}

/// bytes in, bytes out, total connections, request errors.
fn cumulative(s: &LbStats) -> [u64; 4] {
    [s.bytes_in, s.bytes_out, s.total_connections, s.request_errors]
}

fn add(a: [u64; 4], b: [u64; 4]) -> [u64; 4] {
    [0, 1, 2, 3].map(|i| a[i].saturating_add(b[i]))
}

fn load_counters(dir: &Path) -> Counters {
    std::fs::read(dir.join("counters.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn store_counters(dir: &Path, c: &Counters) {
    if let Err(e) = serde_json::to_vec(c)
        .map_err(std::io::Error::other)
        .and_then(|b| std::fs::write(dir.join("counters.json"), b))
    {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot keep listener counters");
    }
}

/// Before a reload or stop: what the current worker counted moves into `base`.
async fn fold_counters(k: &dyn Kernel, dir: &Path) {
    let Ok(csv) = k.haproxy_command(&paths(dir).stats, "show stat").await else {
        return;
    };
    let mut c = load_counters(dir);
    for (id, (_, s)) in stats::parse(&csv).listeners {
        let base = c.base.get(&id).copied().unwrap_or_default();
        c.base.insert(id.clone(), add(base, cumulative(&s)));
        c.last.insert(id, [0; 4]);
    }
    store_counters(dir, &c);
}

/// Listener and member state from haproxy's stats socket (and for UDP listeners from the
/// namespace's nftables counters and the agent's own checks), in the spec's terms.
async fn observe(k: &dyn Kernel, lb: &LoadBalancerSpec, ns: &str, dir: &Path, status: &mut LoadBalancerStatus) {
    let mut observed = match k.haproxy_pid(dir) {
        Some(_) => match k.haproxy_command(&paths(dir).stats, "show stat").await {
            Ok(csv) => stats::parse(&csv),
            Err(e) => {
                tracing::warn!(lb = %lb.id, error = %format!("{e:#}"), "no haproxy statistics");
                Default::default()
            }
        },
        None => Default::default(),
    };
    if udp::served(lb).next().is_some() {
        let up = udp::serving(k, ns).await;
        let mut stats = udp::stats(k, ns, lb).await;
        for l in udp::served(lb) {
            observed
                .listeners
                .insert(l.id.clone(), (up, stats.remove(&l.id).unwrap_or_default()));
        }
        let health = probe::health(dir);
        for l in udp::served(lb) {
            let Some(pool) = udp::pool_of(lb, l) else { continue };
            for m in &pool.members {
                let state = match health.get(&m.id) {
                    _ if !m.admin_up => MemberState::Maint,
                    _ if !udp::probed(pool) => MemberState::NoCheck,
                    Some(false) => MemberState::Down,
                    _ => MemberState::Up,
                };
                observed.members.insert((pool.id.clone(), m.id.clone()), state);
            }
        }
    }
    let mut counters = load_counters(dir);
    let before = counters.clone();
    for l in &lb.listeners {
        let (up, mut stats) = observed.listeners.get(&l.id).cloned().unwrap_or_default();
        if observed.listeners.contains_key(&l.id) {
            let now = cumulative(&stats);
            let last = counters.last.get(&l.id).copied().unwrap_or_default();
            if (0..4).any(|i| now[i] < last[i]) {
                // A worker nobody reloaded started over (a crash): keep what it had counted.
                let base = counters.base.get(&l.id).copied().unwrap_or_default();
                counters.base.insert(l.id.clone(), add(base, last));
            }
            counters.last.insert(l.id.clone(), now);
        }
        let [bin, bout, tot, err] = add(
            counters.base.get(&l.id).copied().unwrap_or_default(),
            cumulative(&stats),
        );
        (
            stats.bytes_in,
            stats.bytes_out,
            stats.total_connections,
            stats.request_errors,
        ) = (bin, bout, tot, err);
        status.listeners.push(ListenerStatus {
            id: l.id.clone(),
            up,
            stats,
        });
    }
    if counters != before && dir.exists() {
        store_counters(dir, &counters);
    }
    for pool in &lb.pools {
        for m in &pool.members {
            let health = if !lb.admin_up || !pool.admin_up {
                Some(MemberState::Maint)
            } else {
                observed.members.get(&(pool.id.clone(), m.id.clone())).copied()
            };
            if let Some(health) = health {
                status.members.push(MemberHealth {
                    id: m.id.clone(),
                    pool_id: pool.id.clone(),
                    health,
                });
            }
        }
    }
}

/// Load balancers this agent runs that `cfg` no longer has: haproxy stopped, state
/// directory removed, namespace (with its VIP leg) deleted.
async fn remove_stale(k: &dyn Kernel, cfg: &HostConfig, root: &Path, owned: &Owned) {
    let wanted: HashSet<&str> = cfg.load_balancers.iter().map(|l| l.id.as_str()).collect();
    if let Ok(dirs) = std::fs::read_dir(root) {
        for d in dirs.flatten().filter(|d| d.path().is_dir()) {
            let id = d.file_name().to_string_lossy().into_owned();
            if wanted.contains(id.as_str()) {
                continue;
            }
            if let Some(pid) = k.haproxy_pid(&d.path()) {
                stop(k, &d.path(), pid).await;
            }
            std::fs::remove_dir_all(d.path()).ok();
            tracing::info!(lb = %id, "stale load balancer's haproxy stopped");
        }
    }
    let present: HashSet<String> = match ip::namespaces(k).await {
        Ok(n) => n.into_iter().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list namespaces; stale load balancers stay");
            return;
        }
    };
    for ns in owned.list(Kind::Namespace) {
        let Some(id) = ns.strip_prefix(NETNS) else { continue };
        if wanted.contains(id) {
            continue;
        }
        if present.contains(&ns) {
            if let Err(e) = ip(k, &["netns", "del", &ns]).await {
                tracing::warn!(netns = %ns, error = %e, "cannot remove a stale load balancer");
                continue;
            }
            tracing::info!(netns = %ns, "stale load balancer removed");
        }
        owned.forget(Kind::Namespace, &ns);
    }
}

#[cfg(test)]
mod tests;

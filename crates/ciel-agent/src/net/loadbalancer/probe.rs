//! Health checks of UDP pools' members: haproxy checks the TCP and HTTP pools, nothing checks
//! the UDP ones ([`super::udp`]), so the agent does, from inside the load balancer's namespace
//! (the member sees the VIP as the checker, as it would a client).
//!
//! - `UDP-CONNECT` (Octavia's, like `nc -uz`): a datagram to the member; an ICMP
//!   "unreachable" back within the timeout means down, silence or an answer means up.
//! - `TCP`: a connection within the timeout means up.
//!
//! Octavia's counts: `max_retries` successes in a row bring a member up, `max_retries_down`
//! failures in a row take it down; a member starts up. Reconcile writes what to check into
//! the load balancer's directory (`udp-probes.json`); the watcher ([`super::watch`]) runs the
//! checks that are due and writes `udp-health.json`, which the next reconcile turns into
//! rules and statuses.

use super::super::kernel::Kernel;
use super::udp::{self, MemberHealth};
use ciel_proto::LoadBalancerSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

const PROBES: &str = "udp-probes.json";
const HEALTH: &str = "udp-health.json";

/// One member to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub member: String,
    pub addr: SocketAddr,
    /// A TCP connection (true) or a UDP datagram.
    pub tcp: bool,
    pub delay_s: u32,
    pub timeout_s: u32,
    pub rise: u32,
    pub fall: u32,
}

/// The members of `lb`'s served UDP pools that have a monitor the agent runs.
pub fn targets(lb: &LoadBalancerSpec) -> Vec<Target> {
    let mut out: Vec<Target> = vec![];
    for l in udp::served(lb) {
        let Some(pool) = udp::pool_of(lb, l) else { continue };
        let Some(m) = pool.monitor.as_ref().filter(|_| udp::probed(pool)) else {
            continue;
        };
        for member in pool.members.iter().filter(|x| x.admin_up) {
            let addr = member.monitor_address.as_deref().unwrap_or(&member.address);
            let Ok(ip) = addr.parse::<IpAddr>() else { continue };
            if out.iter().any(|t| t.member == member.id) {
                continue;
            }
            out.push(Target {
                member: member.id.clone(),
                addr: SocketAddr::new(ip, member.monitor_port.unwrap_or(member.port)),
                tcp: m.kind == "TCP",
                delay_s: m.delay_s.max(1),
                timeout_s: m.timeout_s.clamp(1, m.delay_s.max(1)),
                rise: m.max_retries.max(1),
                fall: m.max_retries_down.max(1),
            });
        }
    }
    out
}

/// Records what the watcher must check for the load balancer in `dir` (nothing: no file).
pub fn record(dir: &Path, lb: &LoadBalancerSpec) {
    let t = targets(lb);
    let path = dir.join(PROBES);
    if t.is_empty() {
        std::fs::remove_file(path).ok();
        return;
    }
    let text = serde_json::to_string(&t).unwrap_or_default();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        if let Err(e) = std::fs::write(&path, text) {
            tracing::warn!(lb = %lb.id, error = %e, "cannot record the UDP health checks");
        }
    }
}

/// The members' health as last checked.
pub fn health(dir: &Path) -> MemberHealth {
    std::fs::read(dir.join(HEALTH))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// One check in the namespace `netns`: whether the member answered as up.
pub async fn check(netns: &str, t: &Target) -> bool {
    let timeout = Duration::from_secs(u64::from(t.timeout_s));
    let ns = netns.to_string();
    let v4 = t.addr.is_ipv4();
    let tcp = t.tcp;
    // Sockets are made inside the namespace, then driven here.
    let made = tokio::task::spawn_blocking(move || {
        crate::net::metadata::in_netns(&ns, || {
            if tcp {
                let s = if v4 {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                Ok(Err(s))
            } else {
                let s = std::net::UdpSocket::bind(if v4 { "0.0.0.0:0" } else { "[::]:0" })?;
                s.set_nonblocking(true)?;
                Ok(Ok(s))
            }
        })
    })
    .await;
    let socket = match made {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%netns, error = %format!("{e:#}"), "no socket for a health check");
            return false;
        }
        Err(_) => return false,
    };
    match socket {
        Err(tcp) => matches!(tokio::time::timeout(timeout, tcp.connect(t.addr)).await, Ok(Ok(_))),
        Ok(std_udp) => {
            let Ok(s) = tokio::net::UdpSocket::from_std(std_udp) else {
                return false;
            };
            if s.connect(t.addr).await.is_err() || s.send(b"ciel health check\n").await.is_err() {
                return false;
            }
            let mut buf = [0u8; 512];
            match tokio::time::timeout(timeout, s.recv(&mut buf)).await {
                // Silence (the usual answer of a UDP service to a stray datagram) or a reply.
                Err(_) | Ok(Ok(_)) => true,
                // ICMP port, host or network unreachable.
                Ok(Err(_)) => false,
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    up: bool,
    /// Results in a row against `up`.
    against: u32,
    due: Instant,
}

/// The watcher's memory of every checked member, by (load balancer, member).
#[derive(Default)]
pub struct Checker {
    states: BTreeMap<(String, String), State>,
}

impl Checker {
    /// Runs the checks that are due under `root` (one directory per load balancer, its
    /// namespace [`super::NETNS`]`<id>`); whether any member's health changed.
    pub async fn round(&mut self, k: &dyn Kernel, root: &Path) -> bool {
        let now = Instant::now();
        let mut changed = false;
        let mut seen = vec![];
        let Ok(dirs) = std::fs::read_dir(root) else {
            self.states.clear();
            return false;
        };
        for d in dirs.flatten() {
            let dir = d.path();
            let id = d.file_name().to_string_lossy().into_owned();
            let targets: Vec<Target> = std::fs::read(dir.join(PROBES))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if targets.is_empty() {
                continue;
            }
            let ns = format!("{}{id}", super::NETNS);
            let due: Vec<&Target> = targets
                .iter()
                .filter(|t| {
                    self.states
                        .get(&(id.clone(), t.member.clone()))
                        .is_none_or(|s| s.due <= now)
                })
                .collect();
            let results = k.lb_probe(&ns, &due).await;
            let mut lb_changed = false;
            for (t, ok) in due.iter().zip(results) {
                let key = (id.clone(), t.member.clone());
                let s = self.states.entry(key).or_insert(State {
                    up: true,
                    against: 0,
                    due: now,
                });
                s.due = now + Duration::from_secs(u64::from(t.delay_s));
                if ok == s.up {
                    s.against = 0;
                    continue;
                }
                s.against += 1;
                if s.against >= if s.up { t.fall } else { t.rise } {
                    s.up = ok;
                    s.against = 0;
                    lb_changed = true;
                    tracing::info!(lb = %id, member = %t.member, up = ok, "UDP member health changed");
                }
            }
            let health: MemberHealth = targets
                .iter()
                .filter_map(|t| {
                    self.states
                        .get(&(id.clone(), t.member.clone()))
                        .map(|s| (t.member.clone(), s.up))
                })
                .collect();
            if lb_changed || !dir.join(HEALTH).exists() {
                let text = serde_json::to_string(&health).unwrap_or_default();
                if let Err(e) = std::fs::write(dir.join(HEALTH), text) {
                    tracing::warn!(lb = %id, error = %e, "cannot record UDP member health");
                }
                changed |= lb_changed;
            }
            seen.extend(targets.into_iter().map(|t| (id.clone(), t.member)));
        }
        self.states.retain(|k, _| seen.contains(k));
        changed
    }
}

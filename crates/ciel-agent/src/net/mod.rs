//! The host's network data plane for its VMs, reconciled from the [`HostConfig`] like VMs are:
//! per network a Linux bridge joined to the network's segment (a VXLAN device for overlay
//! networks), a tap per VM port plugged into it, and a DHCP namespace holding the network's
//! DHCP port, where dnsmasq leases each local port its fixed IP and the metadata service
//! listens on 169.254.169.254. Network nodes also run routers ([`router`]) and load
//! balancers ([`loadbalancer`]) in namespaces of their own.
//!
//! Every device and namespace the agent makes is recorded in its ownership ledger
//! ([`owned`]) before it is made, so a reconcile can tell what is stale: what it recorded but
//! is no longer desired is removed, and nothing else is, whatever its name (another agent's
//! or a test's namespaces survive); what is desired and already right is left alone (running
//! VMs keep their taps across agent restarts).
//!
//! Every change goes through [`kernel::Kernel`]: the host's tools in production, a model of
//! them in tests ([`kernel::FakeKernel`]).

pub mod dhcp;
pub mod firewall;
pub mod ip;
pub mod kernel;
pub mod l2pop;
pub mod loadbalancer;
pub mod metadata;
pub mod owned;
pub mod router;
pub mod values;

use anyhow::Context;
use ciel_proto::{HostConfig, LoadBalancerStatus, NetworkSpec, Segment};
use ip::{ip, Link};
use kernel::Kernel;
use owned::{Kind, Owned};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

const BRIDGE: &str = "cbr-";
const VXLAN: &str = "cvx-";
const DHCP_VETH: &str = "cdh-";
const DHCP_VETH_NS: &str = "cdn-";
const TAP: &str = "ctp";
const NETNS: &str = "ciel-dhcp-";
/// The VXLAN port IANA assigned.
pub const VXLAN_PORT: &str = "4789";

/// The tap device of a VM port (15 characters at most, as Linux wants).
pub fn tap_name(port_id: &str) -> String {
    let hex: String = port_id.chars().filter(|c| *c != '-').take(11).collect();
    format!("{TAP}{hex}")
}

/// Short key of a network for its device names: the VNI for overlays.
fn key(n: &NetworkSpec) -> String {
    match &n.segment {
        Segment::Vxlan { vni } => format!("v{vni}"),
        Segment::Flat { .. } => format!("f{}", n.id.chars().filter(|c| *c != '-').take(8).collect::<String>()),
    }
}

pub fn bridge_name(n: &NetworkSpec) -> String {
    format!("{BRIDGE}{}", key(n))
}

fn netns_name(network_id: &str) -> String {
    format!("{NETNS}{network_id}")
}

/// How the agent reaches the controller for instance metadata.
pub type ControllerLink = Arc<std::sync::RwLock<Option<(String, String)>>>;

pub struct NetworkPlane {
    state_dir: PathBuf,
    underlay_ip: Option<String>,
    underlay_interface: Option<String>,
    /// `(physical network, interface)` of the provider networks this host is on.
    provider_interfaces: Vec<(String, String)>,
    controller: ControllerLink,
    /// Metadata listeners by the namespace they listen in.
    metadata: tokio::sync::Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// What this agent made (and may remove).
    owned: Owned,
    /// Where changes are made: the host's kernel, or a fake.
    kernel: Arc<dyn Kernel>,
    /// Bumped when load balancer health changes ([`loadbalancer::watch`]).
    lb_changes: tokio::sync::watch::Sender<u64>,
    /// The load balancer health watcher, started by the first reconcile.
    lb_watcher: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for NetworkPlane {
    fn drop(&mut self) {
        if let Some(h) = self.lb_watcher.lock().unwrap_or_else(|e| e.into_inner()).take() {
            h.abort();
        }
    }
}

/// What the network plane observed: ports plugged with their firewall applied, and ports
/// with a problem (`(port id, why)`), which are not up; the load balancers it runs.
#[derive(Debug, Default)]
pub struct NetReport {
    pub ports_up: Vec<String>,
    pub port_errors: Vec<(String, String)>,
    pub load_balancers: Vec<LoadBalancerStatus>,
}

impl NetworkPlane {
    pub fn new(
        state_dir: PathBuf,
        underlay_ip: Option<String>,
        underlay_interface: Option<String>,
        provider_interfaces: Vec<(String, String)>,
        controller: ControllerLink,
        kernel: Arc<dyn Kernel>,
    ) -> Self {
        Self {
            kernel,
            owned: Owned::open(&state_dir),
            state_dir,
            underlay_ip,
            underlay_interface,
            provider_interfaces,
            controller,
            metadata: Default::default(),
            lb_changes: tokio::sync::watch::channel(0).0,
            lb_watcher: Default::default(),
        }
    }

    /// Changes of load balancer health (member states, listeners up): after one,
    /// [`NetworkPlane::reconcile`] reports something new.
    pub fn lb_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lb_changes.subscribe()
    }

    fn start_lb_watcher(&self) {
        let mut w = self.lb_watcher.lock().unwrap_or_else(|e| e.into_inner());
        if w.is_none() {
            let root = loadbalancer::root(&self.state_dir);
            *w = Some(loadbalancer::watch::spawn(
                self.kernel.clone(),
                root,
                self.lb_changes.clone(),
            ));
        }
    }

    /// Brings the host's networks to `cfg`; reports the ports whose tap is plugged in and
    /// whose firewall is applied, and the ports that have a problem. Errors of one network
    /// or port are logged and leave the others unaffected.
    pub async fn reconcile(&self, cfg: &HostConfig) -> NetReport {
        let k = self.kernel.as_ref();
        let mut up = vec![];
        let mut port_errors: Vec<(String, String)> = vec![];
        let existing = match ip::links(k, None).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list links; network not reconciled");
                return NetReport::default();
            }
        };
        let by_name: HashMap<&str, &Link> = existing.iter().map(|l| (l.ifname.as_str(), l)).collect();
        let mut wanted: HashSet<String> = HashSet::new();
        for n in &cfg.networks {
            let bridge = bridge_name(n);
            wanted.insert(bridge.clone());
            if let Segment::Vxlan { vni } = &n.segment {
                wanted.insert(format!("{VXLAN}{vni}"));
            }
            if let Err(e) = self.ensure_segment(n, &by_name).await {
                tracing::warn!(network = %n.id, error = %format!("{e:#}"), "network bridge not ready");
                continue;
            }
            if n.dhcp.is_some() {
                wanted.insert(format!("{DHCP_VETH}{}", key(n)));
                if let Err(e) = self.ensure_dhcp(n, &by_name).await {
                    tracing::warn!(network = %n.id, error = %format!("{e:#}"), "DHCP service not ready");
                }
            }
            for nic in cfg
                .vms
                .iter()
                .flat_map(|v| &v.nics)
                .filter(|nic| nic.network_id == n.id)
            {
                let tap = tap_name(&nic.port_id);
                if !values::is_ifname(&tap) {
                    port_errors.push((
                        nic.port_id.clone(),
                        format!("port id {:?} gives no device name", nic.port_id),
                    ));
                    continue;
                }
                wanted.insert(tap.clone());
                let plugged = async {
                    self.owned.record(Kind::Link, &tap)?;
                    ensure_port(k, &tap, &bridge, n.mtu, by_name.get(tap.as_str()).copied(), true).await
                };
                match plugged.await {
                    Ok(()) => up.push(nic.port_id.clone()),
                    Err(e) => tracing::warn!(port = %nic.port_id, error = %format!("{e:#}"), "tap not plugged"),
                }
            }
        }
        // Routers after their networks' bridges; their legs are not stale.
        let fresh = ip::links(k, None).await.unwrap_or_default();
        wanted.extend(router::reconcile(k, cfg, &fresh, &self.state_dir, &self.owned).await);
        for r in cfg.routers.iter().filter(|r| !r.interfaces.is_empty()) {
            let ns = format!("{}{}", router::NETNS, r.id);
            if let Err(e) = self.ensure_metadata(&ns, metadata::Scope::Router(r.id.clone())).await {
                tracing::warn!(router = %r.id, error = %format!("{e:#}"), "router metadata service not ready");
            }
        }
        // Load balancers after their networks' bridges too.
        let fresh = ip::links(k, None).await.unwrap_or_default();
        let lbs = loadbalancer::reconcile(k, cfg, &fresh, &self.state_dir, &self.owned).await;
        wanted.extend(lbs.legs);
        up.extend(lbs.ports_up);
        port_errors.extend(lbs.port_errors);
        self.start_lb_watcher();
        self.remove_stale(cfg, &wanted).await;
        port_errors.extend(firewall::reconcile(k, cfg, &self.state_dir, &self.owned).await);
        let mut seen = HashSet::new();
        port_errors.retain(|(id, _)| seen.insert(id.clone()));
        for (port, error) in &port_errors {
            tracing::warn!(%port, %error, "port not up");
        }
        up.retain(|p| !seen.contains(p));
        NetReport {
            ports_up: up,
            port_errors,
            load_balancers: lbs.statuses,
        }
    }

    /// The bridge and, for overlays, its VXLAN device (MAC learning off, ARP answered from
    /// its neighbour table: remote ports are programmed from desired state by [`l2pop`]).
    async fn ensure_segment(&self, n: &NetworkSpec, links: &HashMap<&str, &Link>) -> anyhow::Result<()> {
        let k = self.kernel.as_ref();
        let bridge = bridge_name(n);
        let mtu = n.mtu.to_string();
        self.owned.record(Kind::Link, &bridge)?;
        if !links.contains_key(bridge.as_str()) {
            ip(k, &["link", "add", &bridge, "type", "bridge"]).await?;
            tracing::info!(network = %n.id, %bridge, "bridge created");
        }
        if links.get(bridge.as_str()).is_none_or(|l| !l.is_up() || l.mtu != n.mtu) {
            ip(k, &["link", "set", &bridge, "mtu", &mtu, "up"]).await?;
        }
        if let Segment::Vxlan { vni } = &n.segment {
            let dev = format!("{VXLAN}{vni}");
            self.owned.record(Kind::Link, &dev)?;
            if !links.contains_key(dev.as_str()) {
                let id = vni.to_string();
                let mut args = vec![
                    "link",
                    "add",
                    &dev,
                    "type",
                    "vxlan",
                    "id",
                    &id,
                    "dstport",
                    VXLAN_PORT,
                    "nolearning",
                    "proxy",
                ];
                if let Some(local) = &self.underlay_ip {
                    args.extend(["local", local.as_str()]);
                }
                if let Some(dev) = &self.underlay_interface {
                    args.extend(["dev", dev.as_str()]);
                }
                ip(k, &args).await?;
            }
            let l = links.get(dev.as_str());
            if l.is_none_or(|l| l.master.as_deref() != Some(bridge.as_str()) || !l.is_up() || l.mtu != n.mtu) {
                ip(k, &["link", "set", &dev, "master", &bridge, "mtu", &mtu, "up"]).await?;
                // The bridge never learns MACs behind the tunnel either: the DHCP port's MAC,
                // present on every host, must stay on the local DHCP port.
                ip(k, &["link", "set", &dev, "type", "bridge_slave", "learning", "off"]).await?;
            }
            l2pop::sync(k, &dev, &n.remote_ports).await?;
        }
        if let Segment::Flat { physical_network } = &n.segment {
            // The host's interface on the provider network carries the bridge outside.
            if let Some((_, iface)) = self.provider_interfaces.iter().find(|(p, _)| p == physical_network) {
                let l = links.get(iface.as_str());
                if l.is_none_or(|l| l.master.as_deref() != Some(bridge.as_str()) || !l.is_up()) {
                    ip(k, &["link", "set", iface, "master", &bridge, "up"]).await?;
                }
            }
        }
        Ok(())
    }

    /// The DHCP namespace with the DHCP port's veth, dnsmasq and the metadata listener.
    async fn ensure_dhcp(&self, n: &NetworkSpec, links: &HashMap<&str, &Link>) -> anyhow::Result<()> {
        let k = self.kernel.as_ref();
        let Some(spec) = &n.dhcp else { return Ok(()) };
        if !values::is_id(&n.id) {
            anyhow::bail!("network id {:?} cannot name a namespace", n.id);
        }
        let mac = values::mac(&spec.mac).map_err(anyhow::Error::msg)?.to_string();
        let ns = netns_name(&n.id);
        let short = key(n);
        let (outer, inner) = (format!("{DHCP_VETH}{short}"), format!("{DHCP_VETH_NS}{short}"));
        self.owned.record(Kind::Namespace, &ns)?;
        if !ip::namespaces(k).await?.contains(&ns) {
            ip(k, &["netns", "add", &ns]).await?;
        }
        self.owned.record(Kind::Link, &outer)?;
        if !links.contains_key(outer.as_str()) {
            // A half-made pair from an interrupted run would block the new one.
            ip(k, &["-n", &ns, "link", "del", &inner]).await.ok();
            ip(
                k,
                &[
                    "link", "add", &outer, "type", "veth", "peer", "name", &inner, "netns", &ns,
                ],
            )
            .await?;
        }
        let fresh = ip::links(k, None).await?;
        let link = fresh.iter().find(|l| l.ifname == outer);
        ensure_port(k, &outer, &bridge_name(n), n.mtu, link, false).await?;
        let inside = ip::links(k, Some(&ns)).await?;
        let dev = inside
            .iter()
            .find(|l| l.ifname == inner)
            .with_context(|| format!("{inner} missing in {ns}"))?;
        if dev.address.as_deref() != Some(mac.as_str()) || dev.mtu != n.mtu || !dev.is_up() {
            ip(
                k,
                &[
                    "-n",
                    &ns,
                    "link",
                    "set",
                    &inner,
                    "address",
                    &mac,
                    "mtu",
                    &n.mtu.to_string(),
                    "up",
                ],
            )
            .await?;
        }
        if inside.iter().any(|l| l.ifname == "lo" && !l.is_up()) {
            ip(k, &["-n", &ns, "link", "set", "lo", "up"]).await?;
        }
        let mut want: Vec<String> = spec
            .subnets
            .iter()
            .filter_map(|s| {
                let prefix = values::net(&s.cidr).ok()?.prefix_len();
                let server = values::addr(&s.server_ip).ok()?;
                Some(format!("{server}/{prefix}"))
            })
            .collect();
        want.push(format!("{}/32", metadata::ADDRESS));
        ip::sync_addresses(k, &ns, &inner, &want, |_| true).await?;
        dhcp::ensure(k, &self.dhcp_dir(&n.id), &ns, &inner, n.mtu, spec).await?;
        self.ensure_metadata(&ns, metadata::Scope::Network(n.id.clone())).await
    }

    /// A metadata listener in `ns` (which has 169.254.169.254 on one of its devices).
    async fn ensure_metadata(&self, ns: &str, scope: metadata::Scope) -> anyhow::Result<()> {
        let mut listeners = self.metadata.lock().await;
        if listeners.get(ns).is_none_or(|h| h.is_finished()) {
            let handle = self.kernel.serve_metadata(ns, scope, self.controller.clone()).await?;
            listeners.insert(ns.to_string(), handle);
        }
        Ok(())
    }

    fn dhcp_dir(&self, network_id: &str) -> PathBuf {
        self.state_dir.join("dhcp").join(network_id)
    }

    /// Removes the devices, namespaces and DHCP servers this agent made that `cfg` no longer
    /// has. Only recorded names are candidates ([`owned`]); DHCP servers are found by their
    /// pid files in the state directory.
    async fn remove_stale(&self, cfg: &HostConfig, wanted: &HashSet<String>) {
        let k = self.kernel.as_ref();
        let present: HashSet<String> = match ip::links(k, None).await {
            Ok(l) => l.into_iter().map(|l| l.ifname).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list links; stale devices stay");
                return;
            }
        };
        for dev in self.owned.list(Kind::Link) {
            if wanted.contains(&dev) {
                continue;
            }
            if !present.contains(&dev) {
                self.owned.forget(Kind::Link, &dev);
                continue;
            }
            match ip(k, &["link", "del", &dev]).await {
                Ok(_) => {
                    tracing::info!(device = %dev, "stale device removed");
                    self.owned.forget(Kind::Link, &dev);
                }
                // Gone already (a removed router namespace takes its veth pairs along).
                Err(e) if e.to_string().contains("Cannot find device") => self.owned.forget(Kind::Link, &dev),
                Err(e) => tracing::warn!(device = %dev, error = %e, "cannot remove a stale device"),
            }
        }
        let with_dhcp: HashSet<String> = cfg
            .networks
            .iter()
            .filter(|n| n.dhcp.is_some())
            .map(|n| n.id.clone())
            .collect();
        let mut listeners = self.metadata.lock().await;
        listeners.retain(|ns, h| {
            let keep = match ns.strip_prefix(NETNS) {
                Some(network) => with_dhcp.contains(network),
                None => cfg
                    .routers
                    .iter()
                    .any(|r| !r.interfaces.is_empty() && ns == &format!("{}{}", router::NETNS, r.id)),
            };
            if !keep {
                h.abort();
            }
            keep
        });
        drop(listeners);
        // DHCP servers: those whose state directory this agent has.
        if let Ok(dirs) = std::fs::read_dir(self.state_dir.join("dhcp")) {
            for d in dirs.flatten() {
                let id = d.file_name().to_string_lossy().into_owned();
                if !with_dhcp.contains(&id) {
                    dhcp::stop(k, &d.path()).await;
                    std::fs::remove_dir_all(d.path()).ok();
                }
            }
        }
        let namespaces: HashSet<String> = match ip::namespaces(k).await {
            Ok(n) => n.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list namespaces; stale DHCP namespaces stay");
                return;
            }
        };
        for ns in self.owned.list(Kind::Namespace) {
            let Some(id) = ns.strip_prefix(NETNS) else { continue };
            if with_dhcp.contains(id) {
                continue;
            }
            if !namespaces.contains(&ns) {
                self.owned.forget(Kind::Namespace, &ns);
                continue;
            }
            match ip(k, &["netns", "del", &ns]).await {
                Ok(_) => {
                    tracing::info!(netns = %ns, "stale DHCP namespace removed");
                    self.owned.forget(Kind::Namespace, &ns);
                }
                Err(e) => tracing::warn!(netns = %ns, error = %e, "cannot remove a stale namespace"),
            }
        }
    }
}

/// A tap or veth end plugged into `bridge` with the network's MTU, up; creates a missing tap.
async fn ensure_port(
    k: &dyn Kernel,
    dev: &str,
    bridge: &str,
    mtu: u32,
    link: Option<&Link>,
    tap: bool,
) -> anyhow::Result<()> {
    if link.is_none() && tap {
        ip(k, &["tuntap", "add", "dev", dev, "mode", "tap"]).await?;
    }
    if link.is_none_or(|l| l.master.as_deref() != Some(bridge) || l.mtu != mtu || !l.is_up()) {
        ip(
            k,
            &["link", "set", dev, "master", bridge, "mtu", &mtu.to_string(), "up"],
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_fit_linux_limits() {
        assert_eq!(tap_name("3f2a1b4c-5d6e-4f00-8a9b-0c1d2e3f4a5b"), "ctp3f2a1b4c5d6");
        let n = NetworkSpec {
            id: "x".into(),
            segment: Segment::Vxlan { vni: 16_777_215 },
            mtu: 1450,
            dhcp: None,
            remote_ports: vec![],
        };
        assert!(bridge_name(&n).len() <= 15);
        assert!(format!("{DHCP_VETH_NS}{}", key(&n)).len() <= 15);
    }
}

//! The network plane's reconcile logic against a fake kernel ([`FakeKernel`]): no root, no
//! real devices. A host's desired state (as the controller sends it) is reconciled, and what
//! the kernel then holds is checked: bridges, tunnels, taps, DHCP and router namespaces,
//! nftables; what the agent removes (only what it made), a port whose firewall nft refuses
//! (reported, not up: fail closed), and a second pass that changes nothing.

use ciel_agent::net::kernel::{FakeKernel, Kernel};
use ciel_agent::net::{tap_name, ControllerLink, NetReport, NetworkPlane};
use ciel_proto::HostConfig;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

const NET: &str = "5e1f0c2a-7b3d-4c1e-9a2b-000000000100";
const EXT: &str = "0e0e0e0e-1111-4222-8333-444444444444";
const ROUTER: &str = "7a7a7a7a-0000-4000-8000-000000000001";
const PORT_A: &str = "aaaaaaaa-0001-4000-8000-000000000001";
const PORT_B: &str = "bbbbbbbb-0002-4000-8000-000000000002";
const VNI_BRIDGE: &str = "cbr-v100";
const VXLAN: &str = "cvx-100";
/// The flat external network's bridge: `cbr-f` and the first 8 hex digits of its id.
const EXT_BRIDGE: &str = "cbr-f0e0e0e0e";

fn dhcp_ns() -> String {
    format!("ciel-dhcp-{NET}")
}

fn router_ns() -> String {
    format!("ciel-r-{ROUTER}")
}

/// A host with a fake kernel; `eth1` is its interface on the provider network `public`.
struct Host {
    dir: PathBuf,
    kernel: Arc<FakeKernel>,
    plane: NetworkPlane,
}

impl Host {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ciel-fake-network-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let kernel = Arc::new(FakeKernel::default());
        kernel.add_foreign_link(None, "eth1", "ether");
        let plane = plane(&dir, kernel.clone());
        Self { dir, kernel, plane }
    }

    /// The agent restarted: a new network plane on the same state directory and kernel.
    fn restart(&mut self) {
        self.plane = plane(&self.dir, self.kernel.clone());
    }

    async fn reconcile(&self, cfg: &HostConfig) -> NetReport {
        self.plane.reconcile(cfg).await
    }

    /// Reconciles `cfg` again and checks that nothing changed.
    async fn assert_idempotent(&self, cfg: &HostConfig, first: &NetReport) {
        self.kernel.clear_log();
        let again = self.reconcile(cfg).await;
        assert_eq!(
            self.kernel.changes(),
            Vec::<String>::new(),
            "a second pass changes nothing; it ran {:#?}",
            self.kernel.log()
        );
        assert_eq!(sorted(&again.ports_up), sorted(&first.ports_up));
        assert_eq!(again.port_errors, first.port_errors);
    }

    fn link(&self, name: &str) -> ciel_agent::net::kernel::FakeLink {
        self.kernel
            .link(name)
            .unwrap_or_else(|| panic!("no link {name}; links: {:?}", self.kernel.links()))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn plane(dir: &std::path::Path, kernel: Arc<FakeKernel>) -> NetworkPlane {
    NetworkPlane::new(
        dir.to_path_buf(),
        Some("192.0.2.10".into()),
        None,
        vec![("public".into(), "eth1".into())],
        ControllerLink::default(),
        kernel as Arc<dyn Kernel>,
    )
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn mac_of(port: &str) -> String {
    format!("fa:16:3e:00:00:{}", &port[..2])
}

/// A VM with one port on `NET`; `rules`: its security group rules.
fn vm(id: &str, port: &str, ip: &str, rules: Value) -> Value {
    json!({
        "id": id, "name": id, "vcpus": 1, "memory_mb": 64, "root_gb": 0,
        "image": {"id": "img", "disk_format": "raw", "checksum": "x", "size": 1},
        "power": "running", "boot_serial": 0,
        "nics": [{
            "port_id": port, "mac": mac_of(port), "network_id": NET, "mtu": 1450,
            "fixed_ips": [ip],
            "firewall": {"macs": [mac_of(port)], "ips": [ip], "rules": rules},
        }],
    })
}

/// Ingress TCP `port` from `remote`.
fn allow_tcp(port: u32, remote: &str) -> Value {
    json!({"ingress": true, "ipv6": false, "protocol": "tcp", "port_min": port, "port_max": port, "remote": [remote]})
}

/// The overlay network `NET` (VNI 100) with DHCP for `hosts` (port, IP) and a port on
/// another host.
fn network(hosts: &[(&str, &str)]) -> Value {
    let hosts: Vec<Value> = hosts
        .iter()
        .map(|(p, ip)| json!({"mac": mac_of(p), "ip": ip, "hostname": format!("vm-{}", &p[..2])}))
        .collect();
    json!({
        "id": NET, "segment": {"type": "vxlan", "vni": 100}, "mtu": 1450,
        "dhcp": {
            "port_id": "dddddddd-0000-4000-8000-000000000001", "mac": "fa:16:3e:dd:00:01",
            "subnets": [{"id": "s1", "cidr": "10.0.0.0/24", "server_ip": "10.0.0.2",
                "gateway_ip": "10.0.0.1", "dns_nameservers": [], "host_routes": [], "routed": false}],
            "hosts": hosts,
        },
        "remote_ports": [{"mac": "fa:16:3e:99:00:01", "ips": ["10.0.0.9"], "vtep": "192.0.2.20"}],
    })
}

fn external() -> Value {
    json!({"id": EXT, "segment": {"type": "flat", "physical_network": "public"}, "mtu": 1500, "dhcp": null})
}

fn router() -> Value {
    json!({
        "id": ROUTER,
        "interfaces": [{"port_id": "cccccccc-0001-4000-8000-000000000001", "network_id": NET,
            "mac": "fa:16:3e:cc:00:01", "addresses": ["10.0.0.1/24"]}],
        "gateway": {
            "port": {"port_id": "eeeeeeee-0001-4000-8000-000000000001", "network_id": EXT,
                "mac": "fa:16:3e:ee:00:01", "addresses": ["203.0.113.10/24"]},
            "gateway_ip": "203.0.113.1", "snat": true,
            "floating_ips": [{"floating_ip": "203.0.113.20", "fixed_ip": "10.0.0.5"}],
        },
        "routes": [],
    })
}

fn config(generation: u64, vms: Vec<Value>, networks: Vec<Value>, routers: Vec<Value>) -> HostConfig {
    serde_json::from_value(json!({
        "host_id": "h1", "generation": generation, "vms": vms, "networks": networks, "routers": routers,
    }))
    .unwrap()
}

/// One VM on an overlay network: its bridge, the VXLAN device (in the bridge, no learning,
/// remote ports in its FDB and neighbour table), the tap in the bridge, the DHCP namespace
/// with the DHCP port's address and metadata address, dnsmasq serving the port, the metadata
/// listener and the firewall tables; the port is up.
#[tokio::test]
async fn a_port_gets_bridge_tunnel_tap_and_dhcp() {
    let host = Host::new();
    let cfg = config(
        1,
        vec![vm("vm-a", PORT_A, "10.0.0.5", json!([allow_tcp(22, "0.0.0.0/0")]))],
        vec![network(&[(PORT_A, "10.0.0.5")])],
        vec![],
    );
    let report = host.reconcile(&cfg).await;
    assert_eq!(report.ports_up, vec![PORT_A.to_string()]);
    assert_eq!(report.port_errors, vec![]);

    let bridge = host.link(VNI_BRIDGE);
    assert_eq!((bridge.kind.as_str(), bridge.mtu, bridge.up), ("bridge", 1450, true));
    let vx = host.link(VXLAN);
    assert_eq!(vx.kind, "vxlan");
    assert_eq!(vx.master.as_deref(), Some(VNI_BRIDGE));
    assert!(vx.up && !vx.learning, "{vx:?}");
    assert!(
        host.kernel
            .log()
            .iter()
            .any(|c| c
                .starts_with("ip link add cvx-100 type vxlan id 100 dstport 4789 nolearning proxy local 192.0.2.10")),
        "{:#?}",
        host.kernel.log()
    );
    assert_eq!(
        host.kernel.fdb(VXLAN),
        vec![
            ("00:00:00:00:00:00".to_string(), "192.0.2.20".to_string()),
            ("fa:16:3e:99:00:01".to_string(), "192.0.2.20".to_string()),
        ]
    );
    assert_eq!(
        host.kernel.neighbours(None, VXLAN),
        vec![("10.0.0.9".to_string(), "fa:16:3e:99:00:01".to_string())]
    );

    let tap = host.link(&tap_name(PORT_A));
    assert_eq!(tap.kind, "tap");
    assert_eq!((tap.master.as_deref(), tap.mtu, tap.up), (Some(VNI_BRIDGE), 1450, true));

    // DHCP: the namespace, the veth pair across, dnsmasq for the port.
    let ns = dhcp_ns();
    assert!(host.kernel.namespaces().contains(&ns));
    assert_eq!(host.link("cdh-v100").master.as_deref(), Some(VNI_BRIDGE));
    let inner = host
        .kernel
        .link_in(Some(&ns), "cdn-v100")
        .expect("the DHCP port inside");
    assert_eq!(
        (inner.address.as_deref(), inner.mtu, inner.up),
        (Some("fa:16:3e:dd:00:01"), 1450, true)
    );
    assert!(host.kernel.link_in(Some(&ns), "lo").unwrap().up);
    assert_eq!(
        host.kernel.addresses(Some(&ns), "cdn-v100"),
        vec!["10.0.0.2/24".to_string(), "169.254.169.254/32".to_string()]
    );
    let dnsmasq = host.kernel.dnsmasq(&ns).expect("dnsmasq runs in the DHCP namespace");
    assert!(
        dnsmasq.args.contains(&"--interface=cdn-v100".to_string()),
        "{:?}",
        dnsmasq.args
    );
    assert!(dnsmasq
        .args
        .iter()
        .any(|a| a.starts_with("--dhcp-range=set:s0,10.0.0.0,static,255.255.255.0")));
    let hosts_file = dnsmasq
        .args
        .iter()
        .find_map(|a| a.strip_prefix("--dhcp-hostsfile="))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(hosts_file).unwrap(),
        format!("{},10.0.0.5,vm-aa\n", mac_of(PORT_A))
    );
    assert_eq!(host.kernel.metadata_listeners(), vec![ns.clone()]);

    // The firewall: both tables, the port's rules in them.
    assert_eq!(
        host.kernel.tables(),
        vec!["bridge ciel".to_string(), "inet ciel".to_string()]
    );
    let rules = host.kernel.ruleset(None, "inet ciel").unwrap().to_string();
    assert!(rules.contains(&tap_name(PORT_A)), "{rules}");

    host.assert_idempotent(&cfg, &report).await;
}

/// A restarted agent finds everything right and changes nothing (VMs keep their taps).
#[tokio::test]
async fn a_restarted_agent_changes_nothing() {
    let mut host = Host::new();
    let cfg = config(
        1,
        vec![vm("vm-a", PORT_A, "10.0.0.5", json!([]))],
        vec![network(&[(PORT_A, "10.0.0.5")]), external()],
        vec![router()],
    );
    let report = host.reconcile(&cfg).await;
    assert_eq!(report.ports_up, vec![PORT_A.to_string()]);
    host.restart();
    host.assert_idempotent(&cfg, &report).await;
    // Its metadata listeners are started anew (they lived in the old process).
    assert_eq!(
        host.kernel.metadata_listeners(),
        vec![dhcp_ns(), router_ns(), dhcp_ns(), router_ns()]
    );
}

/// A port gone: its tap goes, the network stays, dnsmasq restarts without its lease. The
/// network gone: everything the agent made goes (bridge, tunnel, DHCP namespace and dnsmasq,
/// router, firewall tables), and nothing else, whatever its name.
#[tokio::test]
async fn removal_removes_exactly_what_the_agent_made() {
    let host = Host::new();
    // Look-alikes of the agent's names that it did not make.
    host.kernel.add_foreign_link(None, "cbr-v101", "bridge");
    host.kernel.add_foreign_link(None, "ctpforeign", "tap");
    host.kernel.add_foreign_link(None, "cvx-7", "vxlan");
    host.kernel.add_foreign_namespace("ciel-dhcp-someone-else");
    host.kernel.add_foreign_namespace("ciel-r-someone-else");
    let foreign_links = host.kernel.links();

    let both = config(
        1,
        vec![
            vm("vm-a", PORT_A, "10.0.0.5", json!([])),
            vm("vm-b", PORT_B, "10.0.0.6", json!([])),
        ],
        vec![network(&[(PORT_A, "10.0.0.5"), (PORT_B, "10.0.0.6")]), external()],
        vec![router()],
    );
    let report = host.reconcile(&both).await;
    assert_eq!(sorted(&report.ports_up), sorted(&[PORT_A.into(), PORT_B.into()]));
    let pid = host.kernel.dnsmasq(&dhcp_ns()).unwrap().pid;

    // Port B gone.
    let one = config(
        2,
        vec![vm("vm-a", PORT_A, "10.0.0.5", json!([]))],
        vec![network(&[(PORT_A, "10.0.0.5")]), external()],
        vec![router()],
    );
    let report = host.reconcile(&one).await;
    assert_eq!(report.ports_up, vec![PORT_A.to_string()]);
    assert!(host.kernel.link(&tap_name(PORT_B)).is_none(), "B's tap removed");
    assert!(host.kernel.link(&tap_name(PORT_A)).is_some());
    assert!(host.kernel.link(VNI_BRIDGE).is_some() && host.kernel.link(VXLAN).is_some());
    let dnsmasq = host.kernel.dnsmasq(&dhcp_ns()).expect("DHCP still served");
    assert_ne!(dnsmasq.pid, pid, "a removed lease restarts dnsmasq");
    assert_eq!(host.kernel.dnsmasqs().len(), 1, "the old one stopped");

    // Everything gone.
    let report = host.reconcile(&config(3, vec![], vec![], vec![])).await;
    assert_eq!((report.ports_up.len(), report.port_errors.len()), (0, 0));
    assert_eq!(
        sorted(&host.kernel.links()),
        sorted(&foreign_links),
        "only the foreign links are left"
    );
    assert_eq!(
        host.link("eth1").master,
        None,
        "the provider interface stays, out of the removed bridge"
    );
    assert_eq!(
        host.kernel.namespaces(),
        vec!["ciel-dhcp-someone-else".to_string(), "ciel-r-someone-else".to_string()]
    );
    assert!(host.kernel.dnsmasqs().is_empty(), "dnsmasq stopped");
    assert_eq!(host.kernel.tables(), Vec::<String>::new(), "firewall tables removed");
    assert!(!host.dir.join("dhcp").join(NET).exists(), "DHCP state removed");

    // And a further pass has nothing left to do.
    host.kernel.clear_log();
    host.reconcile(&config(4, vec![], vec![], vec![])).await;
    assert_eq!(host.kernel.changes(), Vec::<String>::new());
}

/// nft refuses one port's rules: that port is reported with the reason and is not up, its
/// traffic dropped (its refused rules are not in the kernel, a drop is); the other port on
/// the host is up with its rules applied.
#[tokio::test]
async fn a_refused_firewall_fails_closed_for_that_port_only() {
    let host = Host::new();
    host.kernel.refuse_nft_containing("198.51.100.0");
    let cfg = config(
        1,
        vec![
            vm("vm-a", PORT_A, "10.0.0.5", json!([allow_tcp(22, "203.0.113.0/24")])),
            vm("vm-b", PORT_B, "10.0.0.6", json!([allow_tcp(80, "198.51.100.0/24")])),
        ],
        vec![network(&[(PORT_A, "10.0.0.5"), (PORT_B, "10.0.0.6")])],
        vec![],
    );
    let report = host.reconcile(&cfg).await;
    assert_eq!(report.ports_up, vec![PORT_A.to_string()]);
    assert_eq!(report.port_errors.len(), 1, "{:?}", report.port_errors);
    let (port, why) = &report.port_errors[0];
    assert_eq!(port, PORT_B);
    assert!(why.starts_with("firewall not applied (traffic blocked)"), "{why}");
    assert!(why.contains("Operation not supported"), "nft's reason is kept: {why}");
    // B's tap is plugged, but the kernel holds a drop for it, not its rules.
    assert!(host.kernel.link(&tap_name(PORT_B)).is_some());
    let bridge_rules = host.kernel.ruleset(None, "bridge ciel").unwrap();
    let text = bridge_rules.to_string();
    assert!(!text.contains("198.51.100.0"), "{text}");
    assert!(text.contains("203.0.113.0"), "A's rules are applied: {text}");
    assert!(text.contains(&tap_name(PORT_B)), "B's traffic is matched");
    assert!(
        dropped_chains(&bridge_rules).len() >= 2,
        "B's chains from and to its tap drop everything: {text}"
    );
    assert!(
        host.kernel.log().iter().any(|c| c == "nft -c -j -f -"),
        "each port's rules were checked alone: {:#?}",
        host.kernel.log()
    );

    // Still refused next time, without asking nft again.
    host.assert_idempotent(&cfg, &report).await;

    // A kernel that refuses everything: every port is reported, none is up.
    let host = Host::new();
    host.kernel.refuse_nft_containing("nftables");
    let report = host.reconcile(&cfg).await;
    assert_eq!(report.ports_up, Vec::<String>::new());
    assert_eq!(
        sorted(&report.port_errors.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>()),
        sorted(&[PORT_A.into(), PORT_B.into()])
    );
}

/// Chains (of the bridge table) whose only rule is a drop.
fn dropped_chains(ruleset: &Value) -> Vec<String> {
    let mut by_chain: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for cmd in ruleset["nftables"].as_array().unwrap() {
        let r = &cmd["add"]["rule"];
        if r["family"] == "bridge" {
            by_chain
                .entry(r["chain"].as_str().unwrap().to_string())
                .or_default()
                .push(&r["expr"]);
        }
    }
    by_chain
        .into_iter()
        // (A counter before the drop counts what it drops; it lets nothing through.)
        .filter(|(_, exprs)| {
            let verdicts: Vec<&Value> = exprs
                .first()
                .and_then(|e| e.as_array())
                .map(|e| e.iter().filter(|x| x.get("counter").is_none()).collect())
                .unwrap_or_default();
            exprs.len() == 1 && verdicts == vec![&json!({"drop": null})]
        })
        .map(|(c, _)| c)
        .collect()
}

/// A router: its namespace with a leg on each network (MAC, addresses, outer end in the
/// network's bridge), the provider interface in the external bridge, the default route,
/// floating IPs on the gateway leg, NAT in its own nftables, its metadata listener. Removed
/// with its legs when no longer wanted.
#[tokio::test]
async fn a_router_gets_its_namespace_and_legs() {
    let host = Host::new();
    let cfg = config(1, vec![], vec![network(&[]), external()], vec![router()]);
    let report = host.reconcile(&cfg).await;
    assert_eq!(report.port_errors, vec![]);
    let ns = router_ns();
    assert!(host.kernel.namespaces().contains(&ns));
    let mut inside = host.kernel.links_in(Some(&ns));
    inside.sort();
    assert_eq!(inside, vec!["lo", "qg-eeeeeeee000", "qr-cccccccc000"]);
    let qr = host.kernel.link_in(Some(&ns), "qr-cccccccc000").unwrap();
    assert_eq!(
        (qr.address.as_deref(), qr.mtu, qr.up),
        (Some("fa:16:3e:cc:00:01"), 1450, true)
    );
    assert_eq!(host.kernel.addresses(Some(&ns), "qr-cccccccc000"), vec!["10.0.0.1/24"]);
    assert_eq!(
        host.kernel.addresses(Some(&ns), "qg-eeeeeeee000"),
        vec!["203.0.113.10/24", "203.0.113.20/32"]
    );
    assert_eq!(host.kernel.addresses(Some(&ns), "lo"), vec!["169.254.169.254/32"]);
    assert_eq!(host.link("crqcccccccc000").master.as_deref(), Some(VNI_BRIDGE));
    assert_eq!(host.link("crgeeeeeeee000").master.as_deref(), Some(EXT_BRIDGE));
    assert_eq!(
        host.link("eth1").master.as_deref(),
        Some(EXT_BRIDGE),
        "the provider interface carries it out"
    );
    assert_eq!(
        host.kernel.routes(&ns),
        vec!["default via 203.0.113.1 dev qg-eeeeeeee000"]
    );
    assert_eq!(host.kernel.tables_in(Some(&ns)), vec!["ip ciel_nat"]);
    let nat = host.kernel.ruleset(Some(&ns), "ip ciel_nat").unwrap().to_string();
    assert!(nat.contains("\"dnat\":{\"addr\":\"10.0.0.5\"}"), "{nat}");
    assert!(host.kernel.metadata_listeners().contains(&ns));
    assert_eq!(
        host.kernel.tables(),
        Vec::<String>::new(),
        "no port: no firewall tables"
    );
    host.assert_idempotent(&cfg, &report).await;

    // The router gone: its namespace and outer legs go; the networks stay.
    host.reconcile(&config(2, vec![], vec![network(&[]), external()], vec![]))
        .await;
    assert!(!host.kernel.namespaces().contains(&ns));
    assert!(host.kernel.link("crqcccccccc000").is_none() && host.kernel.link("crgeeeeeeee000").is_none());
    assert!(host.kernel.link(VNI_BRIDGE).is_some() && host.kernel.link(EXT_BRIDGE).is_some());
}

//! The load balancer reconcile against the fake kernel: made, served, adopted after a
//! restart, reloaded on change, kept serving when a new revision fails, removed.

use super::haproxy::tests::{listener, member, monitor, pool, spec, HTTP_L, LB, M1, M2, VIP_PORT, WEB};
use super::*;
use crate::net::kernel::FakeKernel;
use ciel_proto::{NetworkSpec, Segment};

struct Host {
    dir: PathBuf,
    k: std::sync::Arc<FakeKernel>,
    owned: Owned,
}

impl Host {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ciel-lb-test-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        let k = std::sync::Arc::new(FakeKernel::default());
        // The VIP network's bridge, as the network plane makes it first.
        k.add_foreign_link(None, "cbr-v100", "bridge");
        Self {
            owned: Owned::open(&dir),
            dir,
            k,
        }
    }

    async fn reconcile(&self, cfg: &HostConfig) -> LbReport {
        let k = self.k.as_ref();
        let links = ip::links(k, None).await.unwrap();
        reconcile(k, cfg, &links, &self.dir, &self.owned).await
    }

    fn lb_dir(&self) -> PathBuf {
        root(&self.dir).join(LB)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn host_config(lbs: Vec<LoadBalancerSpec>) -> HostConfig {
    HostConfig {
        networks: vec![NetworkSpec {
            id: "net-1".into(),
            segment: Segment::Vxlan { vni: 100 },
            mtu: 1450,
            dhcp: None,
            remote_ports: vec![],
        }],
        load_balancers: lbs,
        ..Default::default()
    }
}

fn ns() -> String {
    format!("{NETNS}{LB}")
}

#[tokio::test]
async fn creates_serves_adopts_reloads_and_removes() {
    let h = Host::new("cycle");
    let cfg = host_config(vec![spec()]);
    let r = h.reconcile(&cfg).await;
    let tap = crate::net::tap_name(VIP_PORT);
    assert_eq!(r.ports_up, vec![VIP_PORT.to_string()]);
    assert!(r.legs.contains(&tap));
    let outer = h.k.link(&tap).expect("outer end");
    assert_eq!(
        (outer.master.as_deref(), outer.mtu, outer.up),
        (Some("cbr-v100"), 1450, true)
    );
    let inner = h.k.link_in(Some(&ns()), &inner_name(VIP_PORT)).expect("inner end");
    assert_eq!(inner.address.as_deref(), Some("fa:16:3e:00:00:0a"));
    assert_eq!(h.k.addresses(Some(&ns()), &inner_name(VIP_PORT)), vec!["10.9.0.10/24"]);
    assert!(h
        .k
        .routes(&ns())
        .contains(&format!("default via 10.9.0.1 dev {}", inner_name(VIP_PORT))));
    assert!(h.k.log().iter().any(|l| l.contains("arping -U")), "gratuitous ARP sent");
    assert!(h.k.log().iter().any(|l| l.contains("ping_group_range")));
    assert!(h.owned.contains(Kind::Namespace, &ns()));
    let proxy = h.k.haproxy(&h.lb_dir()).expect("haproxy runs");
    assert_eq!(proxy.netns, ns());
    assert!(proxy.config.contains(&format!("frontend {HTTP_L}")));
    let s = &r.statuses[0];
    assert_eq!((s.applied_revision, &s.failed), (7, &None));
    assert!(s.listeners.iter().all(|l| l.up), "{s:?}");
    let health = |s: &LoadBalancerStatus, m: &str| s.members.iter().find(|x| x.id == m).map(|x| x.health);
    assert_eq!(health(s, M1), Some(MemberState::Up));
    assert_eq!(s.members.len(), 4);

    // A restarted agent adopts it: nothing changes, the revision is still reported.
    h.k.clear_log();
    let owned = Owned::open(&h.dir);
    let links = ip::links(h.k.as_ref(), None).await.unwrap();
    let again = reconcile(h.k.as_ref(), &cfg, &links, &h.dir, &owned).await;
    assert_eq!(h.k.changes(), Vec::<String>::new(), "{:#?}", h.k.log());
    assert_eq!(again.statuses[0].applied_revision, 7);
    assert_eq!(h.k.haproxy(&h.lb_dir()).unwrap().reloads, 0);

    // Member health comes from haproxy, without a new revision.
    h.k.set_server_status(M2, "DOWN");
    let r = h.reconcile(&cfg).await;
    assert_eq!(health(&r.statuses[0], M2), Some(MemberState::Down));

    // A change reloads the same master.
    let mut next = spec();
    next.revision = 8;
    next.pools[0].members.push(member("m-new", "10.9.0.23", 80));
    let r = h.reconcile(&host_config(vec![next.clone()])).await;
    let proxy2 = h.k.haproxy(&h.lb_dir()).unwrap();
    assert_eq!((proxy2.pid, proxy2.reloads), (proxy.pid, 1));
    assert!(proxy2.config.contains("server m-new 10.9.0.23:80"));
    assert_eq!(r.statuses[0].applied_revision, 8);

    // A revision haproxy refuses fails alone; the previous configuration keeps serving.
    let mut bad = next.clone();
    bad.revision = 9;
    bad.pools[0].members[0].address = "10.9.0.99".into();
    h.k.refuse_haproxy_containing("10.9.0.99");
    let r = h.reconcile(&host_config(vec![bad])).await;
    let s = &r.statuses[0];
    assert_eq!(s.applied_revision, 8);
    assert_eq!(s.failed.as_ref().map(|f| f.0), Some(9));
    assert_eq!(h.k.haproxy(&h.lb_dir()).unwrap().reloads, 1);

    // Gone from the desired state: haproxy stopped, namespace and state removed.
    let r = h.reconcile(&host_config(vec![])).await;
    assert!(r.statuses.is_empty() && r.legs.is_empty());
    assert!(h.k.haproxies().is_empty());
    assert!(!h.k.namespaces().contains(&ns()));
    assert!(!h.lb_dir().exists());
    assert!(!h.owned.contains(Kind::Namespace, &ns()));
}

#[tokio::test]
async fn a_bad_load_balancer_fails_alone() {
    let h = Host::new("alone");
    let mut bad = spec();
    bad.id = "0b0b0b0b-0000-4000-8000-0000000000ff".into();
    bad.vip.port.port_id = "9b9b9b9b-0000-4000-8000-00000000000b".into();
    bad.listeners[0].l7policies[0].rules[0].value = "/x\n    server evil 1.2.3.4:80".into();
    let mut udp = spec();
    udp.id = "0b0b0b0b-0000-4000-8000-0000000000ee".into();
    udp.vip.port.port_id = "9c9c9c9c-0000-4000-8000-00000000000c".into();
    udp.listeners[1].protocol = "SCTP".into();
    let r = h.reconcile(&host_config(vec![bad, spec(), udp])).await;
    let [bad, good, udp] = &r.statuses[..] else {
        panic!("{r:?}")
    };
    assert!(bad.failed.as_ref().unwrap().1.contains("L7 rule"), "{bad:?}");
    assert_eq!(bad.applied_revision, 0);
    assert!(udp
        .failed
        .as_ref()
        .unwrap()
        .1
        .contains("SCTP listeners are not served yet"));
    assert_eq!((good.applied_revision, &good.failed), (7, &None));
    assert_eq!(h.k.haproxies().len(), 1);
    // Their VIP ports are plugged all the same (the ports exist; the service fails).
    assert_eq!(r.ports_up.len(), 3);
}

#[tokio::test]
async fn nothing_to_serve_runs_no_haproxy_and_is_applied() {
    let h = Host::new("empty");
    let mut lb = spec();
    lb.listeners.clear();
    let r = h.reconcile(&host_config(vec![lb.clone()])).await;
    assert_eq!((r.statuses[0].applied_revision, &r.statuses[0].failed), (7, &None));
    assert!(h.k.haproxies().is_empty());
    // A listener added later starts it; disabling the load balancer stops it.
    let mut more = spec();
    more.revision = 8;
    h.reconcile(&host_config(vec![more.clone()])).await;
    assert_eq!(h.k.haproxies().len(), 1);
    more.revision = 9;
    more.admin_up = false;
    let r = h.reconcile(&host_config(vec![more])).await;
    assert!(h.k.haproxies().is_empty());
    let s = &r.statuses[0];
    assert_eq!(s.applied_revision, 9);
    assert!(s.members.iter().all(|m| m.health == MemberState::Maint));
    assert!(s.listeners.iter().all(|l| !l.up));
}

#[tokio::test]
async fn a_vip_network_not_here_fails_the_port() {
    let h = Host::new("nonet");
    let mut cfg = host_config(vec![spec()]);
    cfg.networks.clear();
    let r = h.reconcile(&cfg).await;
    assert!(r.ports_up.is_empty());
    assert_eq!(r.port_errors[0].0, VIP_PORT);
    assert!(r.statuses[0].failed.as_ref().unwrap().1.contains("not wired"));
    let _ = WEB;
}

#[tokio::test]
async fn the_watcher_wakes_the_agent_when_health_changes() {
    let h = Host::new("watch");
    h.reconcile(&host_config(vec![spec()])).await;
    let (tx, mut rx) = tokio::sync::watch::channel(0u64);
    let watcher = watch::spawn(h.k.clone(), root(&h.dir), tx);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(!rx.has_changed().unwrap(), "nothing changed yet");
    h.k.set_server_status(M2, "DOWN");
    let woke = tokio::time::timeout(std::time::Duration::from_secs(3), rx.changed()).await;
    assert!(
        woke.is_ok(),
        "a member going down wakes the agent within the watch period"
    );
    // Counters alone wake nobody; an unchanged state neither.
    rx.borrow_and_update();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(!rx.has_changed().unwrap());
    watcher.abort();
}

#[test]
fn vip_firewall_is_an_entry_like_a_port() {
    // Covered in firewall's tests through `entries`; here only the device name contract.
    assert_eq!(crate::net::tap_name(VIP_PORT), "ctp9a9a9a9a000");
    assert!(inner_name(VIP_PORT).len() <= 15);
}

/// The real thing, driven from a shell as root (see the report of the work that added it):
/// `CIEL_LB_E2E_DIR=<state dir> CIEL_LB_E2E_STEP=apply|change|ping|remove`, with a bridge
/// `cbr-v4242` and members at 10.77.0.21:8000 and 10.77.0.22:8000 on it. Prints the status.
#[tokio::test]
#[ignore = "needs root, haproxy, arping and a prepared bridge"]
async fn real_host_step() {
    let (Ok(dir), Ok(step)) = (std::env::var("CIEL_LB_E2E_DIR"), std::env::var("CIEL_LB_E2E_STEP")) else {
        println!("skipped: CIEL_LB_E2E_DIR and CIEL_LB_E2E_STEP are not set");
        return;
    };
    let dir = PathBuf::from(dir);
    let k = crate::net::kernel::Linux;
    let owned = Owned::open(&dir);
    let mut lb = spec();
    lb.vip.port.network_id = "e2e".into();
    lb.vip.port.addresses = vec!["10.77.0.10/24".into()];
    lb.vip.gateway_ip = Some("10.77.0.1".into());
    lb.revision = 1;
    let web = &mut lb.pools[0];
    web.members = vec![member(M1, "10.77.0.21", 8000), member(M2, "10.77.0.22", 8000)];
    let m = web.monitor.as_mut().unwrap();
    (m.delay_s, m.timeout_s, m.max_retries, m.max_retries_down) = (1, 1, 1, 2);
    m.url_path = Some("/".into());
    m.expected_codes = Some("200".into());
    lb.pools[1].members = vec![member("m-api", "10.77.0.22", 8000)];
    lb.pools[2].protocol = "TCP".into();
    lb.pools[2].members = vec![member("m-tcp", "10.77.0.21", 8000)];
    lb.pools[2].monitor.as_mut().unwrap().delay_s = 1;
    if step == "ping" {
        lb.pools[0].monitor.as_mut().unwrap().kind = "PING".into();
    }
    if step == "change" {
        lb.revision = 2;
        lb.listeners[0]
            .insert_headers
            .push(("X-Forwarded-Proto".into(), "true".into()));
    }
    let mut cfg = host_config(if step == "remove" { vec![] } else { vec![lb] });
    cfg.networks[0].id = "e2e".into();
    cfg.networks[0].segment = Segment::Vxlan { vni: 4242 };
    let links = ip::links(&k, None).await.unwrap();
    let r = reconcile(&k, &cfg, &links, &dir, &owned).await;
    println!("ports_up={:?} errors={:?}", r.ports_up, r.port_errors);
    println!("STATUS {}", serde_json::to_string(&r.statuses).unwrap());
}

/// A UDP listener is nftables in the namespace; a member whose UDP-CONNECT check fails
/// `max_retries_down` times leaves the rules and is reported down.
#[tokio::test]
async fn udp_listener_is_nftables_with_checked_members() {
    let h = Host::new("udp");
    let mut lb = spec();
    lb.listeners = vec![listener("55555555-5555-4555-8555-555555555555", "UDP", 53, "udp-pool")];
    let mut p = pool(
        "udp-pool",
        "UDP",
        "ROUND_ROBIN",
        vec![member(M1, "10.9.0.21", 5353), member(M2, "10.9.0.22", 5353)],
    );
    let mut m = monitor("UDP-CONNECT");
    (m.delay_s, m.timeout_s, m.max_retries, m.max_retries_down) = (3, 1, 1, 1);
    p.monitor = Some(m);
    lb.pools = vec![p];
    let cfg = host_config(vec![lb]);
    let r = h.reconcile(&cfg).await;
    let s = &r.statuses[0];
    assert_eq!((s.applied_revision, &s.failed), (7, &None), "{s:?}");
    assert!(h.k.haproxy(&h.lb_dir()).is_none(), "no haproxy for UDP only");
    let table =
        h.k.ruleset(Some(&ns()), "ip ciel_lb_udp")
            .expect("UDP table")
            .to_string();
    assert!(table.contains("10.9.0.21") && table.contains("10.9.0.22"), "{table}");
    assert!(s.listeners.iter().all(|l| l.up), "{s:?}");

    // The watcher's round: M2 fails its check and is taken out.
    h.k.set_server_status(M2, "DOWN");
    let mut checker = probe::Checker::default();
    assert!(checker.round(h.k.as_ref(), &root(&h.dir)).await);
    let r = h.reconcile(&cfg).await;
    let table = h.k.ruleset(Some(&ns()), "ip ciel_lb_udp").unwrap().to_string();
    assert!(table.contains("10.9.0.21") && !table.contains("10.9.0.22"), "{table}");
    let down = r.statuses[0].members.iter().find(|x| x.id == M2).map(|x| x.health);
    assert_eq!(down, Some(MemberState::Down));
    // A disabled member is in maintenance (Octavia's OFFLINE), and out of the rules.
    let mut off = cfg.load_balancers[0].clone();
    off.pools[0].members[0].admin_up = false;
    let r = h.reconcile(&host_config(vec![off])).await;
    let m1 = r.statuses[0].members.iter().find(|x| x.id == M1).map(|x| x.health);
    assert_eq!(m1, Some(MemberState::Maint));
    assert!(!h
        .k
        .ruleset(Some(&ns()), "ip ciel_lb_udp")
        .unwrap()
        .to_string()
        .contains("10.9.0.21"));
    h.reconcile(&cfg).await;
    // Not due again before its delay: nothing changes.
    assert!(!checker.round(h.k.as_ref(), &root(&h.dir)).await);

    // No UDP listener left: the table goes.
    let mut off = spec();
    off.listeners.clear();
    off.revision = 8;
    h.reconcile(&host_config(vec![off])).await;
    assert!(h.k.ruleset(Some(&ns()), "ip ciel_lb_udp").is_none());
}

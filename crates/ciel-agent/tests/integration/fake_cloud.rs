//! A controller and an agent (fake hypervisor) talking over real HTTP on loopback: servers
//! are scheduled, reach ACTIVE from the agent's reports, follow power actions, and disappear
//! from the host when deleted.

use ciel_agent::fake::FakeHypervisor;
use ciel_agent::net::kernel::{FakeKernel, Kernel};
use ciel_agent::{Agent, AgentConfig};
use ciel_controller::app::compute::actions::PowerAction;
use ciel_controller::app::compute::params::CreateServer;
use ciel_controller::app::compute::resource_params::UpdateQuotaSet;
use ciel_controller::app::identity::caller::Caller;
use ciel_controller::app::App;
use ciel_controller::config::ControllerConfig;
use ciel_controller::Controller;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// A `POST /servers` body as the typed request.
fn server(b: Map<String, Value>) -> CreateServer {
    CreateServer::try_from(b).unwrap()
}

/// A typed request built from its JSON, as the HTTP edge builds it (Cinder and Glance types).
fn req<T>(v: Value) -> T
where
    T: TryFrom<Map<String, Value>>,
    T::Error: std::fmt::Debug,
{
    T::try_from(body(v)).unwrap()
}

/// A typed Neutron request built from its JSON.
fn net_req<T: ciel_controller::app::network::params::FromBody>(v: Value) -> T {
    T::from_body(body(v)).unwrap()
}

/// `POST /volumes` from its JSON: the request's checks, then the app's.
async fn try_create_volume(
    app: &ciel_controller::app::App,
    caller: &ciel_controller::app::identity::caller::Caller,
    v: Value,
) -> Result<ciel_controller::db::volume::Volume, ciel_controller::error::Error> {
    let p = ciel_controller::app::volume::params::CreateVolume::try_from(body(v))?;
    app.create_volume(caller, p, "req-test").await
}

fn body(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

async fn admin(app: &App) -> Caller {
    let req = json!({"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "adminpw"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}});
    app.authenticate(serde_json::from_value(req).unwrap())
        .await
        .unwrap()
        .caller
}

async fn status_of(app: &App, c: &Caller, id: &str) -> (String, Option<String>) {
    let s = app.get_server(c, id).await.unwrap();
    (s.vm_state.to_string(), s.task_state.map(|t| t.to_string()))
}

async fn wait_for(app: &App, c: &Caller, id: &str, vm_state: &str) {
    for _ in 0..200 {
        let (state, task) = status_of(app, c, id).await;
        if state == vm_state && task.is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "server {id} never reached {vm_state}: {:?}",
        status_of(app, c, id).await
    );
}

/// A controller with one agent (fake hypervisor) on loopback, an image and a network.
struct Cloud {
    dir: std::path::PathBuf,
    /// The controller's HTTP API.
    url: String,
    app: Arc<App>,
    admin: Caller,
    fake: Arc<FakeHypervisor>,
    image: String,
    network: String,
}

async fn start_cloud() -> Cloud {
    start_cloud_with(None).await
}

/// A cloud whose agent wires its VMs' networks through `kernel` (None: no network plane,
/// as with the fake hypervisor alone).
async fn start_cloud_with(kernel: Option<Arc<dyn Kernel>>) -> Cloud {
    let dir = std::env::temp_dir().join(format!("ciel-fake-cloud-{}", uuid_like()));
    let mut cfg = ControllerConfig::new(dir.join("data"), "127.0.0.1:0".parse().unwrap());
    cfg.admin_password = Some("adminpw".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    cfg.public_url = url.clone();
    let controller = Controller::start(cfg).await.unwrap();
    let app = controller.app.clone();
    tokio::spawn(controller.serve(listener, std::future::pending()));

    let fake = Arc::new(FakeHypervisor::default());
    let join = std::fs::read_to_string(dir.join("data/agent-join-token")).expect("ciel up writes the join token");
    let agent = Agent::with_kernel(
        AgentConfig {
            controller: url,
            join_token: join,
            hostname: "hv1".into(),
            underlay_ip: None,
            underlay_interface: None,
            provider_interfaces: vec![],
            state_dir: dir.join("agent"),
            listen: "127.0.0.1:0".parse().unwrap(),
            advertise_url: None,
            storage: Default::default(),
            images_type: "file".into(),
        },
        fake.clone(),
        kernel,
    )
    .unwrap();
    tokio::spawn(agent.run());

    let admin = admin(&app).await;
    // An image to boot and a network to attach to.
    let img = app
        .create_image(
            &admin,
            req(json!({"name": "img", "disk_format": "raw", "container_format": "bare", "visibility": "public"})),
        )
        .await
        .unwrap();
    let data = futures_like(vec![0u8; 4096]);
    app.upload_image(&admin, &img.id, data).await.unwrap();
    let net = app.create_network(&admin, net_req(json!({"name": "n"}))).await.unwrap();
    app.create_subnet(
        &admin,
        net_req(json!({"network_id": net.id, "ip_version": 4, "cidr": "10.0.0.0/24"})),
    )
    .await
    .unwrap();
    // Wait for the host to register.
    for _ in 0..200 {
        if !app.list_hosts(&admin).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Cloud {
        dir,
        url: url_of(&app),
        app,
        admin,
        fake,
        image: img.id.to_string(),
        network: net.id.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_follow_the_agents_reports() {
    let Cloud {
        dir,
        app,
        url: _,
        admin,
        fake,
        image,
        network,
    } = start_cloud().await;
    let img_id = image;
    let net_id = network;
    let made = app
        .create_servers(
            &admin, "req-test",
            &server(body(json!({"name": "vm", "imageRef": img_id, "flavorRef": "42", "networks": [{"uuid": net_id}], "min_count": 3, "max_count": 3}))),
        )
        .await
        .unwrap();
    assert_eq!(made.len(), 3);
    for s in &made {
        assert_eq!(s.vm_state.as_str(), "building");
        wait_for(&app, &admin, &s.id, "active").await;
    }
    let ports = app.list_ports(&admin).await.unwrap();
    assert_eq!(
        ports.iter().filter(|p| p.port.device_owner == "compute:nova").count(),
        3
    );

    let one = &made[0].id;
    app.server_power_action(&admin, one, PowerAction::Stop, "req-test")
        .await
        .unwrap();
    wait_for(&app, &admin, one, "stopped").await;
    let again = app
        .server_power_action(&admin, one, PowerAction::Stop, "req-test")
        .await
        .unwrap_err();
    assert_eq!(again.status(), 409, "stopping a stopped server conflicts");
    app.server_power_action(&admin, one, PowerAction::Start, "req-test")
        .await
        .unwrap();
    wait_for(&app, &admin, one, "active").await;

    // Quota: the admin sets the project's instances to 6. 3 exist, so 8 more at once are
    // refused and nothing is created; 10 concurrent single boots get exactly the 3 that remain.
    let project = admin.project_id().unwrap().to_string();
    let limits = UpdateQuotaSet::try_from(body(json!({"instances": 6}))).unwrap();
    let q = app.set_compute_quota(&admin, &project, limits).await.unwrap();
    assert_eq!(q["instances"], 6);
    assert_eq!(q["cores"], 20, "other limits keep their defaults");
    let over = json!({"name": "over", "imageRef": img_id, "flavorRef": "42", "networks": "none", "min_count": 8});
    assert_eq!(
        app.create_servers(&admin, "req-test", &server(body(over)))
            .await
            .unwrap_err()
            .status(),
        403
    );
    let mut tasks = vec![];
    for i in 0..10 {
        let (app, admin, image) = (app.clone(), admin.clone(), img_id.clone());
        tasks.push(tokio::spawn(async move {
            app.create_servers(
                &admin,
                "req-test",
                &server(body(
                    json!({"name": format!("q{i}"), "imageRef": image, "flavorRef": "42", "networks": "none"}),
                )),
            )
            .await
        }));
    }
    let mut ok = vec![];
    for t in tasks {
        if let Ok(mut v) = t.await.unwrap() {
            ok.append(&mut v);
        }
    }
    assert_eq!(ok.len(), 3, "exactly the remaining quota is granted");
    assert_eq!(app.compute_usage(&admin).await.unwrap().instances, 6);
    let mut made = made;
    made.extend(ok);
    for s in &made {
        app.delete_server(&admin, &s.id, "req-test").await.unwrap();
    }
    for _ in 0..200 {
        if fake_is_empty(&fake).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(fake_is_empty(&fake).await, "deleted servers are removed from the host");
    let ports = app.list_ports(&admin).await.unwrap();
    assert_eq!(
        ports.iter().filter(|p| p.port.device_owner == "compute:nova").count(),
        0
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Volumes on the agent's file backend (real qemu-img) with a fake hypervisor: created,
/// snapshotted, cloned, grown, attached (the pretend VM reports the disk), refused to be
/// deleted while attached or with snapshots, and gone with their files when deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn volumes_follow_the_agents_reports() {
    if std::process::Command::new("qemu-img")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("qemu-img not installed; skipping");
        return;
    }
    let cloud = start_cloud().await;
    let (app, admin) = (&cloud.app, &cloud.admin);
    let status = |id: String| {
        let (app, admin) = (app.clone(), admin.clone());
        async move {
            app.get_volume(&admin, &id)
                .await
                .map(|v| v.status.to_string())
                .unwrap_or_else(|_| "gone".into())
        }
    };
    async fn until<F: std::future::Future<Output = String>>(f: impl Fn() -> F, want: &str) {
        for _ in 0..400 {
            if f().await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("never reached {want}, still {}", f().await);
    }
    let v = app
        .create_volume(admin, req(json!({"size": 1, "name": "v"})), "req-test")
        .await
        .unwrap();
    assert_eq!(v.status.as_str(), "creating");
    until(|| status(v.id.to_string()), "available").await;
    let file = cloud.dir.join(format!("agent/volumes/{}.qcow2", v.id));
    assert!(file.exists(), "the agent made the volume's file");

    let bad = try_create_volume(app, admin, json!({"size": 0})).await.unwrap_err();
    assert_eq!(bad.status(), 400);
    let missing = try_create_volume(app, admin, json!({"size": 1, "source_volid": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404);

    let snap = app
        .create_snapshot(admin, req(json!({"volume_id": v.id, "name": "s"})))
        .await
        .unwrap();
    until(
        || {
            let (app, admin, id) = (app.clone(), admin.clone(), snap.id.clone());
            async move {
                app.get_snapshot(&admin, &id)
                    .await
                    .map(|s| s.status.to_string())
                    .unwrap_or_default()
            }
        },
        "available",
    )
    .await;
    let copy = app
        .create_volume(admin, req(json!({"size": 2, "snapshot_id": snap.id})), "req-test")
        .await
        .unwrap();
    until(|| status(copy.id.to_string()), "available").await;
    let smaller = try_create_volume(app, admin, json!({"size": 1, "source_volid": copy.id}))
        .await
        .unwrap_err();
    assert_eq!(smaller.status(), 400, "a clone is never smaller than its source");
    assert_eq!(
        app.delete_volume(admin, &v.id, false, false)
            .await
            .unwrap_err()
            .status(),
        400,
        "a volume with snapshots stays"
    );

    app.extend_volume(admin, &copy.id, 3).await.unwrap();
    until(|| status(copy.id.to_string()), "available").await;
    assert_eq!(app.get_volume(admin, &copy.id).await.unwrap().size, 3);

    let server = app
        .create_servers(
            admin,
            "req-test",
            &server(body(json!({"name": "vm", "imageRef": cloud.image, "flavorRef": "42", "networks": [{"uuid": cloud.network}]}))),
        )
        .await
        .unwrap()
        .remove(0);
    wait_for(app, admin, &server.id, "active").await;
    app.attach_volume(admin, &server.id, &copy.id, None).await.unwrap();
    until(|| status(copy.id.to_string()), "in-use").await;
    assert_eq!(
        app.delete_volume(admin, &copy.id, false, false)
            .await
            .unwrap_err()
            .status(),
        400,
        "an attached volume stays"
    );
    app.detach_volume(admin, &server.id, &copy.id).await.unwrap();
    until(|| status(copy.id.to_string()), "available").await;

    app.delete_volume(admin, &v.id, true, false).await.unwrap();
    app.delete_volume(admin, &copy.id, false, false).await.unwrap();
    until(|| status(v.id.to_string()), "gone").await;
    until(|| status(copy.id.to_string()), "gone").await;
    assert!(!file.exists(), "deleting removes the file");
    app.delete_server(admin, &server.id, "req-test").await.unwrap();
    std::fs::remove_dir_all(&cloud.dir).ok();
}

/// Nova lists a server's floating IPs in `addresses` (show, detail and `/ips`), each right
/// after the fixed IP it is associated with, with the port's MAC; other servers show none.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_addresses_include_associated_floating_ips() {
    let cloud = start_cloud().await;
    let (app, admin) = (&cloud.app, &cloud.admin);
    let boot = |name: &str| {
        body(json!({"name": name, "imageRef": cloud.image, "flavorRef": "42", "networks": [{"uuid": cloud.network}]}))
    };
    let vm = app
        .create_servers(admin, "req-test", &server(boot("vm")))
        .await
        .unwrap()
        .remove(0);
    let other = app
        .create_servers(admin, "req-test", &server(boot("other")))
        .await
        .unwrap()
        .remove(0);
    wait_for(app, admin, &vm.id, "active").await;
    wait_for(app, admin, &other.id, "active").await;
    let public = app
        .list_networks(admin)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.name == "public")
        .expect("the seeded external network");
    let subnet = app
        .list_subnets(admin)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.network_id == cloud.network)
        .unwrap();
    let r = app
        .create_router(
            admin,
            net_req(json!({"name": "r", "external_gateway_info": {"network_id": public.id}})),
        )
        .await
        .unwrap();
    app.add_router_interface(admin, &r.router.id, net_req(json!({"subnet_id": subnet.id})))
        .await
        .unwrap();
    let port = app
        .list_ports(admin)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.port.device_id == vm.id)
        .unwrap();
    let fip = app
        .create_floating_ip(admin, net_req(json!({"floating_network_id": public.id})))
        .await
        .unwrap();

    let token = token(app).await;
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, b: Option<Value>| {
        let req = http
            .request(method, format!("{}{path}", cloud.url))
            .header("X-Auth-Token", &token);
        async move {
            let resp = match b {
                Some(b) => req.json(&b),
                None => req,
            }
            .send()
            .await
            .unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap()
        }
    };
    let fixed_ip = port.fixed_ips[0].ip_address.clone();
    let mac = port.port.mac_address.clone();
    let fixed = json!({"version": 4, "addr": fixed_ip, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": mac});
    let show = call(reqwest::Method::GET, format!("/compute/v2.1/servers/{}", vm.id), None).await;
    assert_eq!(show["server"]["addresses"]["n"], json!([fixed]), "before association");

    call(
        reqwest::Method::PUT,
        format!("/network/v2.0/floatingips/{}", fip.id),
        Some(json!({"floatingip": {"port_id": port.port.id}})),
    )
    .await;
    let floating = json!({"version": 4, "addr": fip.floating_ip_address, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": mac});
    let want = json!([fixed, floating]);
    let show = call(reqwest::Method::GET, format!("/compute/v2.1/servers/{}", vm.id), None).await;
    assert_eq!(show["server"]["addresses"]["n"], want, "show");
    let ips = call(
        reqwest::Method::GET,
        format!("/compute/v2.1/servers/{}/ips", vm.id),
        None,
    )
    .await;
    assert_eq!(ips["addresses"]["n"], want, "/ips");
    let by_net = call(
        reqwest::Method::GET,
        format!("/compute/v2.1/servers/{}/ips/n", vm.id),
        None,
    )
    .await;
    assert_eq!(by_net["n"], want, "/ips/n");
    let detail = call(reqwest::Method::GET, "/compute/v2.1/servers/detail".into(), None).await;
    let of = |id: &str| {
        detail["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["addresses"]["n"].clone())
            .unwrap()
    };
    assert_eq!(of(&vm.id), want, "detail");
    let other_addrs = of(&other.id);
    assert_eq!(other_addrs.as_array().map(Vec::len), Some(1), "{other_addrs}");
    assert_eq!(other_addrs[0]["OS-EXT-IPS:type"], "fixed");

    // Disassociated, the floating address is gone again.
    call(
        reqwest::Method::PUT,
        format!("/network/v2.0/floatingips/{}", fip.id),
        Some(json!({"floatingip": {"port_id": null}})),
    )
    .await;
    let show = call(reqwest::Method::GET, format!("/compute/v2.1/servers/{}", vm.id), None).await;
    assert_eq!(show["server"]["addresses"]["n"], json!([fixed]), "after disassociation");
    std::fs::remove_dir_all(&cloud.dir).ok();
}

/// A port its host reports in `port_errors` (e.g. a firewall that could not be applied: the
/// port gets no traffic) is in ERROR; once no longer reported it is back to what its tap says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ports_their_host_cannot_set_up_are_in_error() {
    let cloud = start_cloud().await;
    let (app, admin) = (&cloud.app, &cloud.admin);
    let vm = app
        .create_servers(
            admin,
            "req-test",
            &server(body(json!({"name": "vm", "imageRef": cloud.image, "flavorRef": "42", "networks": [{"uuid": cloud.network}]}))),
        )
        .await
        .unwrap()
        .remove(0);
    wait_for(app, admin, &vm.id, "active").await;
    let port_status = || async {
        app.list_ports(admin)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.port.device_id == vm.id)
            .map(|p| (p.port.id.clone(), p.port.status.as_str().to_string()))
            .unwrap()
    };
    let (port, status) = port_status().await;
    assert_eq!(status, "DOWN", "the fake hypervisor plugs no tap");
    // Report as the agent does (generation 0 changes nothing of the host's progress).
    let credential = std::fs::read_to_string(cloud.dir.join("agent/host-credential")).unwrap();
    let [_, host, token] = <[&str; 3]>::try_from(credential.trim().splitn(3, ':').collect::<Vec<_>>()).unwrap();
    let http = reqwest::Client::new();
    let report = |errors: Vec<(String, String)>| {
        let r = ciel_proto::HostReport {
            port_errors: errors,
            ..Default::default()
        };
        http.put(format!("{}/agent/v1/hosts/{host}/report", cloud.url))
            .bearer_auth(token)
            .json(&r)
            .send()
    };
    // (The agent's own reports may interleave: try a few times.)
    let mut seen = String::new();
    for _ in 0..20 {
        let resp = report(vec![(port.to_string(), "firewall not applied".into())])
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        seen = port_status().await.1;
        if seen == "ERROR" {
            break;
        }
    }
    assert_eq!(seen, "ERROR");
    report(vec![]).await.unwrap().error_for_status().unwrap();
    assert_eq!(port_status().await.1, "DOWN");
    std::fs::remove_dir_all(&cloud.dir).ok();
}

/// With a network plane (on a fake kernel): a server's port is ACTIVE once the agent has
/// plugged its tap, a port whose firewall the kernel refuses is in ERROR while its
/// neighbour on the same host is ACTIVE, and a deleted server's tap is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ports_follow_the_network_plane() {
    let kernel = Arc::new(FakeKernel::default());
    kernel.refuse_nft_containing("198.51.100.0");
    let cloud = start_cloud_with(Some(kernel.clone() as Arc<dyn Kernel>)).await;
    let (app, admin) = (&cloud.app, &cloud.admin);
    let sg = app
        .create_security_group(admin, net_req(json!({"name": "refused"})))
        .await
        .unwrap();
    app.create_security_group_rule(
        admin,
        net_req(
            json!({"security_group_id": sg.group.id.to_string(), "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "198.51.100.0/24"}),
        ),
    )
    .await
    .unwrap();
    let boot = |name: &str, groups: Value| {
        server(body(
            json!({"name": name, "imageRef": cloud.image, "flavorRef": "42", "networks": [{"uuid": cloud.network}], "security_groups": groups}),
        ))
    };
    let good = app
        .create_servers(admin, "req-test", &boot("good", json!([{"name": "default"}])))
        .await
        .unwrap()
        .remove(0);
    let bad = app
        .create_servers(admin, "req-test", &boot("bad", json!([{"name": "refused"}])))
        .await
        .unwrap()
        .remove(0);
    let port_of = |vm: String| async move {
        app.list_ports(admin)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.port.device_id == vm)
            .map(|p| (p.port.id.to_string(), p.port.status.as_str().to_string()))
            .unwrap()
    };
    let until = |vm: String, want: &'static str| {
        let kernel = kernel.clone();
        async move {
            let mut seen = (String::new(), String::new());
            for _ in 0..200 {
                seen = port_of(vm.clone()).await;
                if seen.1 == want {
                    return seen.0;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("port of {vm} never {want}: {seen:?}; kernel ran {:#?}", kernel.log());
        }
    };
    let good_port = until(good.id.to_string(), "ACTIVE").await;
    let bad_port = until(bad.id.to_string(), "ERROR").await;
    let good_tap = ciel_agent::net::tap_name(&good_port);
    let bad_tap = ciel_agent::net::tap_name(&bad_port);
    assert!(kernel.link(&good_tap).is_some_and(|l| l.up && l.master.is_some()));
    assert!(kernel.link(&bad_tap).is_some(), "plugged, but its traffic dropped");
    assert_eq!(kernel.dnsmasqs().len(), 1, "the network's DHCP server");

    app.delete_server(admin, &good.id, "req-test").await.unwrap();
    for _ in 0..200 {
        if kernel.link(&good_tap).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(kernel.link(&good_tap).is_none(), "the deleted server's tap is removed");
    assert!(kernel.link(&bad_tap).is_some());
    std::fs::remove_dir_all(&cloud.dir).ok();
}

/// The controller's base URL, as the agent was told.
fn url_of(app: &App) -> String {
    app.cfg.public_url.clone()
}

/// A token for the admin, for calls over HTTP.
async fn token(app: &App) -> String {
    let req = json!({"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "adminpw"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}});
    app.authenticate(serde_json::from_value(req).unwrap())
        .await
        .unwrap()
        .token
}

async fn fake_is_empty(f: &FakeHypervisor) -> bool {
    use ciel_agent::driver::Hypervisor;
    f.list().await.is_empty()
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn futures_like(data: Vec<u8>) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Unpin {
    futures_util::stream::iter(vec![Ok(bytes::Bytes::from(data))])
}

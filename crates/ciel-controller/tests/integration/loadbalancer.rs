//! Load balancers through the Octavia API, with a fake network node reporting like an agent:
//! Octavia's state machine (PENDING_* until the node serves the revision, 409 while
//! pending, ERROR on a refused revision), the desired state the node is told (VIP leg,
//! firewall from the listeners, pools and members), statuses from reported health, batch
//! member updates, cascade delete (VIP port gone, the floating IP kept), and Octavia's shapes.

use crate::common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use ciel_controller::app::App;
use ciel_controller::db::compute::hosts::Host;
use ciel_proto::{HostConfig, HostReport, ListenerStatus, LoadBalancerStatus, MemberHealth, MemberState};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Cloud {
    app: Arc<App>,
    token: String,
    host: Host,
    net: String,
    subnet: String,
    _dir: common::tempdir::Dir,
}

impl Cloud {
    async fn new() -> Cloud {
        let (app, dir) = common::app().await;
        let (token, _) = common::login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
        let (host, _) = common::register_fake_host(&app, "net1", None, &["physnet1"]).await;
        let mut c = Cloud {
            app,
            token,
            host,
            net: String::new(),
            subnet: String::new(),
            _dir: dir,
        };
        let (_, n) = c
            .call(
                Method::POST,
                "/network/v2.0/networks",
                Some(json!({"network": {"name": "n"}})),
            )
            .await;
        c.net = n["network"]["id"].as_str().unwrap().to_string();
        let (_, s) = c
            .call(
                Method::POST,
                "/network/v2.0/subnets",
                Some(json!({"subnet": {"network_id": c.net, "cidr": "10.0.0.0/24", "ip_version": 4}})),
            )
            .await;
        c.subnet = s["subnet"]["id"].as_str().unwrap().to_string();
        c
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-auth-token", &self.token);
        let req = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                req.body(Body::from(b.to_string())).unwrap()
            }
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = ciel_controller::http::router(self.app.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, uri: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method.clone(), uri, body).await;
        assert!(s.is_success(), "{method} {uri}: {s} {v}");
        v
    }

    async fn desired(&self) -> HostConfig {
        self.app.host_config(&self.host, 0, Duration::ZERO).await.unwrap()
    }

    /// Reports every load balancer of the desired state as serving its revision, with the
    /// given member health.
    async fn serve(&self, health: MemberState) -> HostConfig {
        let cfg = self.desired().await;
        let report = HostReport {
            generation: cfg.generation,
            ports_up: cfg.load_balancers.iter().map(|l| l.vip.port.port_id.clone()).collect(),
            load_balancers: cfg
                .load_balancers
                .iter()
                .map(|lb| LoadBalancerStatus {
                    id: lb.id.clone(),
                    applied_revision: lb.revision,
                    failed: None,
                    listeners: lb
                        .listeners
                        .iter()
                        .map(|l| ListenerStatus {
                            id: l.id.clone(),
                            up: true,
                            stats: ciel_proto::LbStats {
                                bytes_in: 10,
                                bytes_out: 20,
                                active_connections: 1,
                                total_connections: 3,
                                request_errors: 0,
                            },
                        })
                        .collect(),
                    members: lb
                        .pools
                        .iter()
                        .flat_map(|p| {
                            p.members.iter().map(|m| MemberHealth {
                                id: m.id.clone(),
                                pool_id: p.id.clone(),
                                health,
                            })
                        })
                        .collect(),
                })
                .collect(),
            ..Default::default()
        };
        self.app.host_report(&self.host, report).await.unwrap();
        cfg
    }

    async fn lb(&self, id: &str) -> Value {
        self.ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}"),
            None,
        )
        .await["loadbalancer"]
            .clone()
    }
}

#[tokio::test]
async fn a_load_balancer_goes_active_when_its_network_node_serves_it() {
    let c = Cloud::new().await;
    let (s, v) = c.call(Method::GET, "/load-balancer/", None).await;
    assert_eq!(s, StatusCode::OK);
    let versions = v["versions"].as_array().unwrap();
    assert_eq!(versions.last().unwrap()["id"], "v2.30");
    assert_eq!(versions.last().unwrap()["status"], "CURRENT");

    let created = c
        .ok(
            Method::POST,
            "/load-balancer/v2.0/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"name": "lb1", "vip_subnet_id": c.subnet, "tags": ["k8s"]}})),
        )
        .await["loadbalancer"]
        .clone();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["provisioning_status"], "PENDING_CREATE");
    assert_eq!(created["operating_status"], "OFFLINE");
    assert_eq!(created["provider"], "amphora");
    assert_eq!(created["vip_network_id"], c.net.as_str());
    assert_eq!(created["tenant_id"], created["project_id"]);
    assert_eq!(created["updated_at"], Value::Null);
    assert_eq!(created["description"], "");
    let vip_port = created["vip_port_id"].as_str().unwrap().to_string();
    let port = c
        .ok(Method::GET, &format!("/network/v2.0/ports/{vip_port}"), None)
        .await["port"]
        .clone();
    assert_eq!(port["device_owner"], "Octavia");
    assert_eq!(port["device_id"], format!("lb-{id}"));
    assert_eq!(port["fixed_ips"][0]["ip_address"], created["vip_address"]);

    // While pending, changes below it are refused with Octavia's 409.
    let (s, v) = c
        .call(
            Method::POST,
            "/load-balancer/v2/lbaas/listeners",
            Some(json!({"listener": {"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": 80}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        v["faultstring"],
        format!("Load Balancer {id} is immutable and cannot be updated.")
    );
    assert_eq!(v["faultcode"], "Client");

    // The network node is told: the VIP leg on the tenant network, with the gateway.
    let cfg = c.desired().await;
    let spec = &cfg.load_balancers[0];
    assert_eq!(spec.id, id);
    assert_eq!(spec.vip.port.port_id, vip_port);
    assert_eq!(
        spec.vip.port.addresses,
        vec![format!("{}/24", created["vip_address"].as_str().unwrap())]
    );
    assert_eq!(spec.vip.gateway_ip.as_deref(), Some("10.0.0.1"));
    assert!(
        cfg.networks.iter().any(|n| n.id == c.net),
        "the VIP network is wired on the node"
    );

    c.serve(MemberState::NoCheck).await;
    let lb = c.lb(&id).await;
    assert_eq!(lb["provisioning_status"], "ACTIVE");
    assert_eq!(lb["operating_status"], "ONLINE");
    assert!(lb["updated_at"].is_string());
    let port = c
        .ok(Method::GET, &format!("/network/v2.0/ports/{vip_port}"), None)
        .await["port"]
        .clone();
    assert_eq!(port["status"], "ACTIVE");

    // A listener with a pool, two members and a monitor, step by step.
    let l = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/listeners",
            Some(
                json!({"listener": {"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": "80",
                "allowed_cidrs": ["192.0.2.7/24"], "insert_headers": {"X-Forwarded-For": "true"}}}),
            ),
        )
        .await["listener"]
        .clone();
    assert_eq!(l["provisioning_status"], "PENDING_CREATE");
    assert_eq!(l["allowed_cidrs"], json!(["192.0.2.0/24"]));
    assert_eq!(l["timeout_client_data"], 50000);
    assert_eq!(c.lb(&id).await["provisioning_status"], "PENDING_UPDATE");
    let cfg = c.serve(MemberState::NoCheck).await;
    let fw = cfg.load_balancers[0].vip.firewall.as_ref().unwrap();
    let ingress: Vec<_> = fw.rules.iter().filter(|r| r.ingress).collect();
    assert_eq!(ingress.len(), 1);
    assert_eq!(ingress[0].port_min, Some(80));
    assert_eq!(ingress[0].remote, Some(vec!["192.0.2.0/24".to_string()]));
    let lid = l["id"].as_str().unwrap();
    let pool = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/pools",
            Some(json!({"pool": {"listener_id": lid, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})),
        )
        .await["pool"]
        .clone();
    let pid = pool["id"].as_str().unwrap().to_string();
    c.serve(MemberState::NoCheck).await;
    let listener = c
        .ok(Method::GET, &format!("/load-balancer/v2/lbaas/listeners/{lid}"), None)
        .await["listener"]
        .clone();
    assert_eq!(listener["default_pool_id"], pid.as_str());
    assert_eq!(listener["provisioning_status"], "ACTIVE");
    for (i, addr) in ["10.0.0.11", "10.0.0.12"].iter().enumerate() {
        let m = c
            .ok(
                Method::POST,
                &format!("/load-balancer/v2/lbaas/pools/{pid}/members"),
                Some(json!({"member": {"address": addr, "protocol_port": 8080, "name": format!("m{i}")}})),
            )
            .await["member"]
            .clone();
        assert_eq!(m["operating_status"], "NO_MONITOR");
        // The pool is locked until the node serves the member.
        let (s, v) = c
            .call(
                Method::POST,
                &format!("/load-balancer/v2/lbaas/pools/{pid}/members"),
                Some(json!({"member": {"address": "10.0.0.99", "protocol_port": 1}})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(
            v["faultstring"],
            format!("Pool {pid} is immutable and cannot be updated.")
        );
        c.serve(MemberState::NoCheck).await;
    }
    let hm = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/healthmonitors",
            Some(
                json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 2, "timeout": 3, "max_retries": 2}}),
            ),
        )
        .await["healthmonitor"]
        .clone();
    assert_eq!(hm["url_path"], "/");
    assert_eq!(hm["expected_codes"], "200");
    let cfg = c.serve(MemberState::Up).await;
    let p = &cfg.load_balancers[0].pools[0];
    assert_eq!(p.members.len(), 2);
    assert_eq!(p.monitor.as_ref().unwrap().kind, "HTTP");
    let hm = c
        .ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/healthmonitors/{}", hm["id"].as_str().unwrap()),
            None,
        )
        .await["healthmonitor"]
        .clone();
    assert_eq!(hm["provisioning_status"], "ACTIVE");
    assert_eq!(hm["operating_status"], "ONLINE");

    // Health: both members down → the pool and the load balancer are in ERROR.
    c.serve(MemberState::Down).await;
    let tree = c
        .ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}/status"),
            None,
        )
        .await;
    let t = &tree["statuses"]["loadbalancer"];
    assert_eq!(t["operating_status"], "ERROR");
    assert_eq!(t["listeners"][0]["pools"][0]["operating_status"], "ERROR");
    assert_eq!(t["listeners"][0]["pools"][0]["members"][0]["operating_status"], "ERROR");
    assert_eq!(t["listeners"][0]["pools"][0]["health_monitor"]["type"], "HTTP");
    c.serve(MemberState::Up).await;
    let stats = c
        .ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}/stats"),
            None,
        )
        .await;
    assert_eq!(stats["stats"]["total_connections"], 3);
    assert_eq!(stats["stats"].as_object().unwrap().len(), 5);

    // Batch update: one kept (renamed), one removed, one added.
    let (s, _) = c
        .call(
            Method::PUT,
            &format!("/load-balancer/v2/lbaas/pools/{pid}/members"),
            Some(json!({"members": [
                {"address": "10.0.0.11", "protocol_port": 8080, "name": "renamed"},
                {"address": "10.0.0.13", "protocol_port": 8080}
            ]})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    c.serve(MemberState::Up).await;
    let members = c
        .ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/pools/{pid}/members?sort=address:asc"),
            None,
        )
        .await;
    let got: Vec<(&str, &str)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["address"].as_str().unwrap(), m["name"].as_str().unwrap()))
        .collect();
    assert_eq!(got, vec![("10.0.0.11", "renamed"), ("10.0.0.13", "")]);

    // A floating IP on the VIP port survives the cascade delete; the VIP port does not.
    let (_, ext) = c
        .call(
            Method::POST,
            "/network/v2.0/networks",
            Some(json!({"network": {"name": "ext", "router:external": true}})),
        )
        .await;
    let ext = ext["network"]["id"].as_str().unwrap().to_string();
    c.ok(
        Method::POST,
        "/network/v2.0/subnets",
        Some(json!({"subnet": {"network_id": ext, "cidr": "172.24.4.0/24", "ip_version": 4}})),
    )
    .await;
    let r = c
        .ok(
            Method::POST,
            "/network/v2.0/routers",
            Some(json!({"router": {"name": "r", "external_gateway_info": {"network_id": ext}}})),
        )
        .await;
    let rid = r["router"]["id"].as_str().unwrap();
    c.ok(
        Method::PUT,
        &format!("/network/v2.0/routers/{rid}/add_router_interface"),
        Some(json!({"subnet_id": c.subnet})),
    )
    .await;
    let fip = c
        .ok(
            Method::POST,
            "/network/v2.0/floatingips",
            Some(json!({"floatingip": {"floating_network_id": ext, "port_id": vip_port}})),
        )
        .await["floatingip"]
        .clone();
    let (s, v) = c
        .call(
            Method::DELETE,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["faultstring"],
        format!("Validation failure: Cannot delete Load Balancer {id} - it has children")
    );
    let (s, _) = c
        .call(
            Method::DELETE,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}?cascade=true"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(c.lb(&id).await["provisioning_status"], "PENDING_DELETE");
    let cfg = c.serve(MemberState::Up).await;
    assert!(cfg.load_balancers.is_empty(), "the node no longer runs it");
    let (s, v) = c
        .call(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["faultstring"], format!("Load Balancer {id} not found."));
    let (s, _) = c
        .call(Method::GET, &format!("/network/v2.0/ports/{vip_port}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let f = c
        .ok(
            Method::GET,
            &format!("/network/v2.0/floatingips/{}", fip["id"].as_str().unwrap()),
            None,
        )
        .await["floatingip"]
        .clone();
    assert_eq!(f["port_id"], Value::Null);
    let (_, pools) = c.call(Method::GET, "/load-balancer/v2/lbaas/pools", None).await;
    assert_eq!(pools["pools"], json!([]));
}

#[tokio::test]
async fn a_revision_the_node_refuses_puts_the_change_in_error() {
    let c = Cloud::new().await;
    let id = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_network_id": c.net, "provider": "octavia"}})),
        )
        .await["loadbalancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.serve(MemberState::NoCheck).await;
    let l = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/listeners",
            Some(json!({"listener": {"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 443}})),
        )
        .await["listener"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cfg = c.desired().await;
    let rev = cfg.load_balancers[0].revision;
    let report = HostReport {
        generation: cfg.generation,
        load_balancers: vec![LoadBalancerStatus {
            id: id.clone(),
            applied_revision: rev - 1,
            failed: Some((rev, "haproxy -c refused the configuration".into())),
            ..Default::default()
        }],
        ..Default::default()
    };
    c.app.host_report(&c.host, report).await.unwrap();
    let lb = c.lb(&id).await;
    assert_eq!(lb["provisioning_status"], "ACTIVE", "the load balancer is unlocked");
    let l = c
        .ok(Method::GET, &format!("/load-balancer/v2/lbaas/listeners/{l}"), None)
        .await["listener"]
        .clone();
    assert_eq!(l["provisioning_status"], "ERROR");
    // ERROR children can be deleted.
    let (s, _) = c
        .call(
            Method::DELETE,
            &format!("/load-balancer/v2/lbaas/listeners/{}", l["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bad_requests_get_octavias_answers() {
    let c = Cloud::new().await;
    let cases = [
        (
            json!({"loadbalancer": {"name": "x"}}),
            StatusCode::BAD_REQUEST,
            "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": c.subnet, "bogus": 1}}),
            StatusCode::BAD_REQUEST,
            "Unknown attribute for argument load_balancer: bogus",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": c.subnet, "provider": "f5"}}),
            StatusCode::BAD_REQUEST,
            "Provider 'f5' is not enabled.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": "not-a-uuid"}}),
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute vip_subnet_id. Value: 'not-a-uuid'. Value should be UUID format",
        ),
    ];
    for (body, status, text) in cases {
        let (s, v) = c
            .call(Method::POST, "/load-balancer/v2/lbaas/loadbalancers", Some(body))
            .await;
        assert_eq!((s, v["faultstring"].as_str().unwrap_or("")), (status, text));
    }
    let id = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet}})),
        )
        .await["loadbalancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.serve(MemberState::NoCheck).await;
    let listener =
        |port: u16, proto: &str| json!({"listener": {"loadbalancer_id": id, "protocol": proto, "protocol_port": port}});
    c.ok(
        Method::POST,
        "/load-balancer/v2/lbaas/listeners",
        Some(listener(80, "HTTP")),
    )
    .await;
    c.serve(MemberState::NoCheck).await;
    let (s, v) = c
        .call(
            Method::POST,
            "/load-balancer/v2/lbaas/listeners",
            Some(listener(80, "TCP")),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        v["faultstring"],
        "Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80"
    );
    let (s, v) = c
        .call(
            Method::POST,
            "/load-balancer/v2/lbaas/listeners",
            Some(listener(81, "PROXY")),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["faultstring"].as_str().unwrap().contains("Value should be one of:"),
        "{v}"
    );
    // UDP on the same port is another transport: allowed.
    c.ok(
        Method::POST,
        "/load-balancer/v2/lbaas/listeners",
        Some(listener(80, "UDP")),
    )
    .await;
    c.serve(MemberState::NoCheck).await;
    let (s, v) = c
        .call(
            Method::POST,
            "/load-balancer/v2/lbaas/pools",
            Some(json!({"pool": {"loadbalancer_id": id, "protocol": "HTTP", "lb_algorithm": "SOURCE_IP_PORT"}})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED, "{v}");
    let (s, v) = c
        .call(Method::GET, "/load-balancer/v2/lbaas/loadbalancers?bogus=1", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["faultstring"],
        "One or more arguments are either duplicate or invalid"
    );
    let (_, v) = c
        .call(
            Method::GET,
            "/load-balancer/v2/lbaas/listeners?protocol=UDP&fields=id",
            None,
        )
        .await;
    assert_eq!(v["listeners"].as_array().unwrap().len(), 1);
    assert_eq!(v["listeners"][0].as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn a_network_node_down_moves_its_load_balancers_with_their_vip() {
    let c = Cloud::new().await;
    let (other, _) = common::register_fake_host(&c.app, "net2", None, &["physnet1"]).await;
    let lb = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet}})),
        )
        .await["loadbalancer"]
        .clone();
    let id = lb["id"].as_str().unwrap().to_string();
    // Placed on the first node (the least loaded; both have none).
    let on_first = !c.desired().await.load_balancers.is_empty();
    let (first, second) = if on_first { (&c.host, &other) } else { (&other, &c.host) };
    assert_eq!(
        c.app.fail_over_load_balancers().await.unwrap(),
        0,
        "nothing to move while all are up"
    );
    // Its node stops reporting: down after `host_down_after`.
    ciel_controller::db::sql::query("UPDATE hosts SET last_seen = 0 WHERE id = ?")
        .bind(&first.id)
        .execute(&c.app.db)
        .await
        .unwrap();
    assert_eq!(c.app.fail_over_load_balancers().await.unwrap(), 1);
    assert_eq!(c.app.fail_over_load_balancers().await.unwrap(), 0, "moved once");
    let moved = c.app.host_config(second, 0, Duration::ZERO).await.unwrap();
    let spec = moved
        .load_balancers
        .iter()
        .find(|l| l.id == id)
        .expect("served by the other node");
    assert_eq!(
        spec.vip.port.port_id,
        lb["vip_port_id"].as_str().unwrap(),
        "same VIP port"
    );
    let left = c.app.host_config(first, 0, Duration::ZERO).await.unwrap();
    assert!(left.load_balancers.is_empty(), "the dead node no longer has it");
    assert_eq!(c.lb(&id).await["provisioning_status"], "PENDING_CREATE");
    // Admin failover on demand moves it back once the first node is up again.
    ciel_controller::db::sql::query("UPDATE hosts SET last_seen = ? WHERE id = ?")
        .bind(ciel_controller::db::now())
        .bind(&first.id)
        .execute(&c.app.db)
        .await
        .unwrap();
    let report = |cfg: &HostConfig| HostReport {
        generation: cfg.generation,
        load_balancers: cfg
            .load_balancers
            .iter()
            .map(|l| LoadBalancerStatus {
                id: l.id.clone(),
                applied_revision: l.revision,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    c.app.host_report(second, report(&moved)).await.unwrap();
    assert_eq!(c.lb(&id).await["provisioning_status"], "ACTIVE");
    let (s, _) = c
        .call(
            Method::PUT,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}/failover"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(c.lb(&id).await["provisioning_status"], "PENDING_UPDATE");
    let back = c.app.host_config(first, 0, Duration::ZERO).await.unwrap();
    assert!(back.load_balancers.iter().any(|l| l.id == id));
}

#[tokio::test]
async fn a_fully_populated_create_is_served_by_its_first_revision() {
    let c = Cloud::new().await;
    // What Kubernetes' cloud provider sends for a Service with two ports.
    let lb = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {
                "name": "kube_service_k8s_default_web", "vip_subnet_id": c.subnet, "provider": "amphora",
                "tags": ["kube_service_k8s_default_web"],
                "listeners": [
                    {"name": "listener_0", "protocol": "TCP", "protocol_port": 80, "timeout_client_data": 50000,
                     "allowed_cidrs": ["0.0.0.0/0"],
                     "default_pool": {"name": "pool_0", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"address": "10.0.0.21", "protocol_port": 30080, "name": "node-1"},
                                    {"address": "10.0.0.22", "protocol_port": 30080, "name": "node-2"}],
                        "healthmonitor": {"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 1}}},
                    {"name": "listener_1", "protocol": "HTTP", "protocol_port": 8080, "default_pool": {"name": "shared"}}
                ],
                "pools": [{"name": "shared", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS", "members": []}]
            }})),
        )
        .await["loadbalancer"]
        .clone();
    assert_eq!(lb["listeners"].as_array().unwrap().len(), 2);
    assert_eq!(lb["listeners"][0]["provisioning_status"], "PENDING_CREATE");
    assert!(lb["listeners"][0].get("loadbalancers").is_none());
    let pools = lb["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    let p0 = pools.iter().find(|p| p["name"] == "pool_0").unwrap();
    assert_eq!(p0["members"].as_array().unwrap().len(), 2);
    assert_eq!(p0["members"][0]["operating_status"], "OFFLINE");
    assert_eq!(p0["healthmonitor"]["type"], "TCP");
    let shared = pools.iter().find(|p| p["name"] == "shared").unwrap();
    let l1 = lb["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "listener_1")
        .unwrap();
    assert_eq!(l1["default_pool_id"], shared["id"]);
    // One revision serves the whole tree.
    let cfg = c.serve(MemberState::Up).await;
    assert_eq!(cfg.load_balancers[0].revision, 1);
    assert_eq!(cfg.load_balancers[0].listeners.len(), 2);
    let id = lb["id"].as_str().unwrap();
    let tree = c
        .ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/loadbalancers/{id}/status"),
            None,
        )
        .await;
    let t = &tree["statuses"]["loadbalancer"];
    assert_eq!(t["provisioning_status"], "ACTIVE");
    assert_eq!(t["operating_status"], "ONLINE");
    assert_eq!(t["listeners"].as_array().unwrap().len(), 2);
    // Refused whole: nothing is left of a graph with a bad part (not even the VIP port).
    let ports_before = c.ok(Method::GET, "/network/v2.0/ports", None).await["ports"]
        .as_array()
        .unwrap()
        .len();
    let (s, v) = c
        .call(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet, "listeners": [
                {"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "missing"}}]}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["faultstring"],
        "Validation failure: Pool 'missing' was referenced but no full definition was found."
    );
    let (s, _) = c
        .call(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet, "listeners": [
                {"protocol": "HTTP", "protocol_port": 80,
                 "default_pool": {"name": "p", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}}]}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a TCP pool behind an HTTP listener");
    let ports_after = c.ok(Method::GET, "/network/v2.0/ports", None).await["ports"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(ports_before, ports_after);
    let lbs = c.ok(Method::GET, "/load-balancer/v2/lbaas/loadbalancers", None).await;
    assert_eq!(lbs["loadbalancers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn l7_policies_keep_octavias_order_and_reach_the_node() {
    let c = Cloud::new().await;
    let lb = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet, "listeners": [
                {"name": "l", "protocol": "HTTP", "protocol_port": 80,
                 "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}],
                "pools": [{"name": "api", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}]}})),
        )
        .await["loadbalancer"]
        .clone();
    c.serve(MemberState::NoCheck).await;
    let lid = lb["listeners"][0]["id"].as_str().unwrap().to_string();
    let api = lb["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "api")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ids = vec![];
    for (name, body) in [
        ("to-api", json!({"action": "REDIRECT_TO_POOL", "redirect_pool_id": api})),
        ("deny", json!({"action": "REJECT"})),
        (
            "moved",
            json!({"action": "REDIRECT_TO_URL", "redirect_url": "https://example.com/new"}),
        ),
    ] {
        let mut b = body;
        b["listener_id"] = json!(lid);
        b["name"] = json!(name);
        b["position"] = json!(1);
        let p = c
            .ok(
                Method::POST,
                "/load-balancer/v2/lbaas/l7policies",
                Some(json!({"l7policy": b})),
            )
            .await["l7policy"]
            .clone();
        assert_eq!(p["provisioning_status"], "PENDING_CREATE");
        ids.push(p["id"].as_str().unwrap().to_string());
        c.serve(MemberState::NoCheck).await;
    }
    let positions: Vec<i64> = {
        let mut v = vec![];
        for id in &ids {
            v.push(
                c.ok(Method::GET, &format!("/load-balancer/v2/lbaas/l7policies/{id}"), None)
                    .await["l7policy"]["position"]
                    .as_i64()
                    .unwrap(),
            );
        }
        v
    };
    assert_eq!(positions, vec![3, 2, 1], "each inserted first");
    let moved = c
        .ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/l7policies/{}", ids[2]),
            None,
        )
        .await["l7policy"]
        .clone();
    assert_eq!(moved["redirect_http_code"], 302);
    assert_eq!(moved["operating_status"], "ONLINE");
    // A rule: the policy is locked until the node serves it.
    let rule = c
        .ok(
            Method::POST,
            &format!("/load-balancer/v2/lbaas/l7policies/{}/rules", ids[0]),
            Some(json!({"rule": {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}})),
        )
        .await["rule"]
        .clone();
    assert_eq!(rule["provisioning_status"], "PENDING_CREATE");
    let (s, v) = c
        .call(
            Method::POST,
            &format!("/load-balancer/v2/lbaas/l7policies/{}/rules", ids[0]),
            Some(json!({"rule": {"type": "HEADER", "compare_type": "EQUAL_TO", "key": "x", "value": "y"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        v["faultstring"],
        format!("L7Policy {} is immutable and cannot be updated.", ids[0])
    );
    let cfg = c.serve(MemberState::NoCheck).await;
    let l = &cfg.load_balancers[0].listeners[0];
    let order: Vec<&str> = l.l7policies.iter().map(|p| p.action.as_str()).collect();
    assert_eq!(order, vec!["REDIRECT_TO_URL", "REJECT", "REDIRECT_TO_POOL"]);
    assert_eq!(l.l7policies[2].rules[0].value, "/api");
    // The pool behind a rule-bearing policy serves that listener, and cannot go.
    let pool = c
        .ok(Method::GET, &format!("/load-balancer/v2/lbaas/pools/{api}"), None)
        .await["pool"]
        .clone();
    assert_eq!(pool["listeners"][0]["id"], lid.as_str());
    let (s, v) = c
        .call(Method::DELETE, &format!("/load-balancer/v2/lbaas/pools/{api}"), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        v["faultstring"],
        format!("Pool {api} is in use by L7 policy {}", ids[0])
    );
    // Octavia's refusals.
    let bad = [
        (
            json!({"listener_id": lid, "action": "REDIRECT_TO_URL"}),
            "Invalid L7 Policy arguments: redirect_url must not be None",
        ),
        (
            json!({"listener_id": lid, "action": "REDIRECT_TO_URL", "redirect_url": "not a url"}),
            "Invalid input for field/attribute redirect_url. Value: 'not a url'. Value must be a valid URL string",
        ),
    ];
    for (b, text) in bad {
        let (s, v) = c
            .call(
                Method::POST,
                "/load-balancer/v2/lbaas/l7policies",
                Some(json!({"l7policy": b})),
            )
            .await;
        assert_eq!((s, v["faultstring"].as_str().unwrap()), (StatusCode::BAD_REQUEST, text));
    }
    let (s, v) = c
        .call(
            Method::POST,
            &format!("/load-balancer/v2/lbaas/l7policies/{}/rules", ids[1]),
            Some(json!({"rule": {"type": "HEADER", "compare_type": "EQUAL_TO", "value": "y"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["faultstring"],
        "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key"
    );
    let rules = c
        .ok(
            Method::GET,
            &format!("/load-balancer/v2/lbaas/l7policies/{}/rules", ids[0]),
            None,
        )
        .await;
    assert_eq!(rules["rules"].as_array().unwrap().len(), 1);
    assert!(rules["rules"][0].get("l7policy_id").is_none());
}

/// A network node with no server of its own is told at once: of a new load balancer, and of
/// a change of ports on its VIP network (the l2 population its members are reached by).
#[tokio::test]
async fn the_network_node_is_woken_without_servers_of_its_own() {
    let c = Cloud::new().await;
    let before = c.desired().await.generation;
    let created = c
        .ok(
            Method::POST,
            "/load-balancer/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"name": "lb1", "vip_subnet_id": c.subnet}})),
        )
        .await;
    let id = created["loadbalancer"]["id"].as_str().unwrap().to_string();
    let cfg = c
        .app
        .host_config(&c.host, before, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(cfg.generation > before, "the create woke the node");
    assert_eq!(cfg.load_balancers.len(), 1);
    assert_eq!(cfg.load_balancers[0].id, id);
    c.serve(MemberState::NoCheck).await;
    let before = c.desired().await.generation;
    c.ok(
        Method::POST,
        "/network/v2.0/ports",
        Some(
            json!({"port": {"network_id": c.net, "name": "member", "device_owner": "compute:nova", "device_id": "x"}}),
        ),
    )
    .await;
    let cfg = c
        .app
        .host_config(&c.host, before, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(cfg.generation > before, "a port on the VIP network woke the node");
}

#[tokio::test]
async fn flavors_and_zones_follow_octavias_rules() {
    let c = Cloud::new().await;
    let lb = "/load-balancer/v2.0/lbaas";
    // Flavor profiles: the provider checks the data, verbatim echo, 501 for what it lacks.
    let data = r#"{"loadbalancer_topology": "SINGLE"}"#;
    let (s, fp) = c
        .call(
            Method::POST,
            &format!("{lb}/flavorprofiles"),
            Some(json!({"flavorprofile": {"name": "single", "provider_name": "ciel", "flavor_data": data}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{fp}");
    assert_eq!(fp["flavorprofile"]["flavor_data"], data);
    let fp_id = fp["flavorprofile"]["id"].as_str().unwrap().to_string();
    for (bad, status) in [
        (r#"{"compute_flavor": "42"}"#, StatusCode::NOT_IMPLEMENTED),
        (
            r#"{"loadbalancer_topology": "ACTIVE_STANDBY"}"#,
            StatusCode::NOT_IMPLEMENTED,
        ),
        ("{not json", StatusCode::BAD_REQUEST),
    ] {
        let (s, v) = c
            .call(
                Method::POST,
                &format!("{lb}/flavorprofiles"),
                Some(json!({"flavorprofile": {"name": "x", "provider_name": "ciel", "flavor_data": bad}})),
            )
            .await;
        assert_eq!(s, status, "{bad}: {v}");
        assert!(v["faultstring"].is_string(), "{v}");
    }
    let (s, _) = c
        .call(
            Method::POST,
            &format!("{lb}/flavorprofiles"),
            Some(json!({"flavorprofile": {"name": "x", "provider_name": "f5", "flavor_data": data}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Flavors: unique names, an existing profile, readers see them.
    let flavor =
        |name: &str, enabled: bool| json!({"flavor": {"name": name, "enabled": enabled, "flavor_profile_id": fp_id}});
    let f = c
        .ok(Method::POST, &format!("{lb}/flavors"), Some(flavor("small", true)))
        .await;
    let f_id = f["flavor"]["id"].as_str().unwrap().to_string();
    assert_eq!(f["flavor"]["description"], "");
    let (s, v) = c
        .call(Method::POST, &format!("{lb}/flavors"), Some(flavor("small", true)))
        .await;
    assert_eq!(
        (s, v["faultstring"].as_str()),
        (StatusCode::CONFLICT, Some("A flavor of small already exists."))
    );
    let off = c
        .ok(Method::POST, &format!("{lb}/flavors"), Some(flavor("off", false)))
        .await;
    let off_id = off["flavor"]["id"].as_str().unwrap().to_string();
    let list = c
        .ok(Method::GET, &format!("{lb}/flavors?enabled=true&fields=name"), None)
        .await;
    assert_eq!(list["flavors"], json!([{"name": "small"}]));
    // A profile in use keeps its data.
    let (s, _) = c
        .call(
            Method::PUT,
            &format!("{lb}/flavorprofiles/{fp_id}"),
            Some(json!({"flavorprofile": {"flavor_data": "{}"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = c
        .call(
            Method::PUT,
            &format!("{lb}/flavorprofiles/{fp_id}"),
            Some(json!({"flavorprofile": {"name": null}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Zones, keyed by name; compute_zone is the cloud's one compute zone.
    let (s, _) = c
        .call(
            Method::POST,
            &format!("{lb}/availabilityzoneprofiles"),
            Some(
                json!({"availability_zone_profile": {"name": "z", "provider_name": "ciel",
                "availability_zone_data": r#"{"compute_zone": "nova", "management_network": "x"}"#}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED);
    let azp = c
        .ok(
            Method::POST,
            &format!("{lb}/availabilityzoneprofiles"),
            Some(
                json!({"availability_zone_profile": {"name": "z", "provider_name": "ciel",
                "availability_zone_data": r#"{"compute_zone": "nova"}"#}}),
            ),
        )
        .await;
    let azp_id = azp["availability_zone_profile"]["id"].as_str().unwrap().to_string();
    let az = c
        .ok(
            Method::POST,
            &format!("{lb}/availabilityzones"),
            Some(json!({"availability_zone": {"name": "az1", "availability_zone_profile_id": azp_id}})),
        )
        .await;
    assert_eq!(az["availability_zone"]["enabled"], true);

    // A load balancer names them: the flavor's provider, refused when disabled or unknown.
    let (s, v) = c
        .call(
            Method::POST,
            &format!("{lb}/loadbalancers"),
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet, "flavor_id": off_id}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = c
        .call(
            Method::POST,
            &format!("{lb}/loadbalancers"),
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet, "availability_zone": "nowhere"}})),
        )
        .await;
    assert_eq!(
        (s, v["faultstring"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Validation failure: Invalid availability zone.")
        )
    );
    let (s, v) = c
        .call(
            Method::POST,
            &format!("{lb}/loadbalancers"),
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet, "flavor_id": f_id, "provider": "amphora"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let created = c
        .ok(
            Method::POST,
            &format!("{lb}/loadbalancers"),
            Some(json!({"loadbalancer": {"vip_subnet_id": c.subnet, "flavor_id": f_id, "availability_zone": "az1"}})),
        )
        .await;
    assert_eq!(created["loadbalancer"]["provider"], "ciel");
    assert_eq!(created["loadbalancer"]["flavor_id"], f_id.as_str());
    assert_eq!(created["loadbalancer"]["availability_zone"], "az1");
    let (s, _) = c.call(Method::DELETE, &format!("{lb}/flavors/{f_id}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = c
        .call(Method::DELETE, &format!("{lb}/availabilityzones/az1"), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = c.call(Method::DELETE, &format!("{lb}/flavors/{off_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = c.call(Method::GET, &format!("{lb}/flavors/{off_id}"), None).await;
    assert_eq!(
        (s, v["faultstring"].as_str().map(str::to_owned)),
        (StatusCode::NOT_FOUND, Some(format!("Flavor {off_id} not found.")))
    );
}

//! Neutron API validation through the HTTP router: every field that reaches a host is
//! refused with Neutron's status and `NeutronError` body when malformed, nothing is created
//! or changed, and the same request with a good value still succeeds.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ciel_controller::app::App;
use common::{login, params};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    app: Arc<App>,
    token: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, doc: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(format!("/network/v2.0/{path}"))
            .header("x-auth-token", &self.token)
            .header("content-type", "application/json")
            .body(doc.map(|d| Body::from(d.to_string())).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = ciel_controller::http::router(self.app.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn post(&self, coll: &str, key: &str, item: Value) -> (StatusCode, Value) {
        self.call("POST", coll, Some(json!({ key: item }))).await
    }

    async fn put(&self, path: &str, key: &str, item: Value) -> (StatusCode, Value) {
        self.call("PUT", path, Some(json!({ key: item }))).await
    }

    async fn count(&self, coll: &str) -> usize {
        let (s, v) = self.call("GET", coll, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v[coll.replace('-', "_")].as_array().unwrap().len()
    }

    /// Creates with `good` (201) and returns the item.
    async fn create(&self, coll: &str, key: &str, good: Value) -> Value {
        let (s, v) = self.post(coll, key, good.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{good} -> {v}");
        v[key].clone()
    }

    /// Each bad body is refused with `status` and a NeutronError, creating nothing.
    async fn refused(&self, coll: &str, key: &str, bad: &[Value]) {
        let before = self.count(coll).await;
        for b in bad {
            let (s, v) = self.post(coll, key, b.clone()).await;
            assert_bad(s, &v, b);
        }
        assert_eq!(self.count(coll).await, before, "nothing created in {coll}");
    }
}

fn assert_bad(s: StatusCode, v: &Value, req: &Value) {
    assert!(
        s == StatusCode::BAD_REQUEST || s == StatusCode::CONFLICT,
        "{req} -> {s} {v}"
    );
    let e = &v["NeutronError"];
    assert!(e["type"].is_string() && e["message"].is_string(), "{req} -> {v}");
    assert_eq!(e["detail"], "", "{v}");
}

async fn setup() -> (Api, common::tempdir::Dir) {
    // File-backed: some router calls read outside their transaction and need a second
    // connection, which the single-connection in-memory pool has not.
    let dir = common::tempdir::Dir::new();
    let mut cfg = ciel_controller::config::ControllerConfig::new(dir.0.clone(), "127.0.0.1:0".parse().unwrap());
    cfg.admin_password = Some("adminpw".into());
    let pool = ciel_controller::db::open_for_tests(&dir.0).await.unwrap();
    let app = App::new(pool, cfg).await.unwrap();
    app.bootstrap().await.unwrap();
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let p = app.create_project(&admin, params(json!({"name": "pa"}))).await.unwrap();
    let u = app
        .create_user(&admin, params(json!({"name": "ua", "password": "pw"})))
        .await
        .unwrap();
    common::grant_user_project(&app, &admin, &u.id, &p.id, "member").await;
    let (token, _) = login(&app, "ua", "pw", Some("pa")).await.unwrap();
    (Api { app, token }, dir)
}

#[tokio::test]
async fn network_fields() {
    let (api, _d) = setup().await;
    let nul = "a\u{0}b";
    api.refused(
        "networks",
        "network",
        &[
            json!({"name": "n", "mtu": "abc"}),
            json!({"name": "n", "mtu": 9223372036854775808u64}),
            json!({"name": "n", "mtu": 1.5}),
            json!({"name": "n", "mtu": true}),
            json!({"name": "n", "mtu": -1}),
            json!({"name": "n", "mtu": 67}),
            json!({"name": "n", "mtu": 1451}),
            json!({"name": nul}),
            json!({"name": "x".repeat(256)}),
            json!({"name": "tab\there"}),
            json!({"name": 5}),
            json!({"description": nul}),
            json!({"description": "d".repeat(256)}),
        ],
    )
    .await;
    let (s, v) = api.post("networks", "network", json!({"mtu": "abc"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({"NeutronError": {"type": "InvalidInput", "message": "Invalid input for operation: 'abc' is not an integer.", "detail": ""}})
    );
    let (_, v) = api.post("networks", "network", json!({"mtu": 9000})).await;
    assert_eq!(
        v["NeutronError"]["message"],
        "Invalid input for operation: Requested MTU is too big, maximum is 1450."
    );
    let (_, v) = api.post("networks", "network", json!({"name": "tab\there"})).await;
    assert_eq!(v["NeutronError"]["type"], "HTTPBadRequest");
    assert_eq!(
        v["NeutronError"]["message"],
        "Invalid input for name. Reason: 'tab\there' is not a valid string."
    );

    let n = api
        .create(
            "networks",
            "network",
            json!({"name": "good net", "mtu": 1400, "description": "multi\nline ok"}),
        )
        .await;
    assert_eq!(n["mtu"], 1400);
    let id = n["id"].as_str().unwrap();
    // Updates validate the same way and change nothing when refused.
    for bad in [
        json!({"mtu": "abc"}),
        json!({"mtu": 1.5}),
        json!({"mtu": 100000}),
        json!({"name": nul}),
    ] {
        let (s, v) = api.put(&format!("networks/{id}"), "network", bad.clone()).await;
        assert_bad(s, &v, &bad);
    }
    let (s, v) = api
        .put(&format!("networks/{id}"), "network", json!({"mtu": 1300}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["network"]["mtu"], 1300);
    // An IPv6 subnet needs 1280; then the MTU cannot drop below it.
    api.create(
        "subnets",
        "subnet",
        json!({"network_id": id, "ip_version": 6, "cidr": "2001:db8::/64"}),
    )
    .await;
    let (s, v) = api
        .put(&format!("networks/{id}"), "network", json!({"mtu": 1279}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["NeutronError"]["type"], "NetworkMTUSubnetConflict");
    let low = api.create("networks", "network", json!({"mtu": 1000})).await;
    let (s, v) = api
        .post(
            "subnets",
            "subnet",
            json!({"network_id": low["id"], "ip_version": 6, "cidr": "2001:db8:1::/64"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

#[tokio::test]
async fn subnet_fields() {
    let (api, _d) = setup().await;
    let net = api.create("networks", "network", json!({"name": "n"})).await;
    let nid = net["id"].as_str().unwrap();
    let sub = |extra: Value| {
        let mut b = json!({"network_id": nid, "ip_version": 4, "cidr": "10.0.0.0/24"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    api.refused(
        "subnets",
        "subnet",
        &[
            sub(json!({"cidr": "10.0.0.0"})),
            sub(json!({"cidr": "10.0.0.0/24; drop"})),
            sub(json!({"cidr": 5})),
            sub(json!({"cidr": "10.0.0.0/33"})),
            sub(json!({"ip_version": 5})),
            sub(json!({"gateway_ip": "10.0.0.1 "})),
            sub(json!({"gateway_ip": "2001:db8::1"})),
            sub(json!({"dns_nameservers": ["8.8.8.8", "not-an-ip"]})),
            sub(json!({"dns_nameservers": ["dns.example.com"]})),
            sub(json!({"dns_nameservers": "8.8.8.8"})),
            sub(json!({"dns_nameservers": ["8.8.8.8", "8.8.8.8"]})),
            sub(json!({"dns_nameservers": ["2001:4860::8888"]})),
            sub(json!({"dns_nameservers": ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5", "1.1.1.6"]})),
            sub(json!({"host_routes": [{"destination": "10.1.0.0/16"}]})),
            sub(json!({"host_routes": [{"destination": "10.1.0.0/16", "nexthop": "x"}]})),
            sub(json!({"host_routes": [{"destination": "10.1.0.1/16", "nexthop": "10.0.0.5"}]})),
            sub(json!({"host_routes": [{"destination": "10.1.0.0/16", "nexthop": "10.0.0.5", "metric": 1}]})),
            sub(json!({"host_routes": ["10.1.0.0/16"]})),
            sub(json!({"host_routes": {"destination": "10.1.0.0/16", "nexthop": "10.0.0.5"}})),
            sub(json!({"allocation_pools": [{"start": "10.0.0.10", "end": "nope"}]})),
            sub(json!({"allocation_pools": [{"start": "10.0.0.10"}]})),
            sub(json!({"name": "bad\u{0}"})),
            sub(json!({"description": "bad\u{0}"})),
        ],
    )
    .await;
    let (_, v) = api
        .post("subnets", "subnet", sub(json!({"dns_nameservers": ["not-an-ip"]})))
        .await;
    assert_eq!(
        v["NeutronError"]["message"],
        "Invalid input for dns_nameservers. Reason: 'not-an-ip' is not a valid nameserver. 'not-an-ip' is not a valid IP address."
    );
    let s = api
        .create(
            "subnets",
            "subnet",
            sub(json!({"dns_nameservers": ["8.8.8.8"],
                "host_routes": [{"destination": "10.1.0.0/16", "nexthop": "10.0.0.5"}]})),
        )
        .await;
    assert_eq!(s["dns_nameservers"], json!(["8.8.8.8"]));
    let sid = s["id"].as_str().unwrap();
    for bad in [
        json!({"dns_nameservers": ["8.8.8.8}"]}),
        json!({"host_routes": [{"destination": "10.2.0.0/16", "nexthop": "10.0.0.5\n"}]}),
        json!({"gateway_ip": "nope"}),
        json!({"name": "x\u{0}"}),
    ] {
        let (s, v) = api.put(&format!("subnets/{sid}"), "subnet", bad.clone()).await;
        assert_bad(s, &v, &bad);
    }
    let (_, v) = api.call("GET", &format!("subnets/{sid}"), None).await;
    assert_eq!(v["subnet"]["dns_nameservers"], json!(["8.8.8.8"]), "unchanged");
    let (s, _) = api
        .put(
            &format!("subnets/{sid}"),
            "subnet",
            json!({"dns_nameservers": ["1.1.1.1", "8.8.4.4"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn port_fields() {
    let (api, _d) = setup().await;
    let net = api.create("networks", "network", json!({"name": "n"})).await;
    let nid = net["id"].as_str().unwrap();
    let sub = api
        .create(
            "subnets",
            "subnet",
            json!({"network_id": nid, "ip_version": 4, "cidr": "10.0.0.0/24"}),
        )
        .await;
    let sid = sub["id"].as_str().unwrap();
    let port = |extra: Value| {
        let mut b = json!({"network_id": nid});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let pairs = |p: Value| port(json!({ "allowed_address_pairs": p }));
    api.refused(
        "ports",
        "port",
        &[
            // The hostile tenant's pairs.
            pairs(json!([{"ip_address": "not-an-ip"}])),
            pairs(json!([{"ip_address": 5}])),
            pairs(json!([{"ip_address": {"nested": "object"}}])),
            pairs(json!([{"ip_address": "10.0.0.0/8 } } chain x { accept"}])),
            pairs(json!([{"ip_address": "10.0.0.9\"; flush ruleset"}])),
            pairs(json!([{"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:00:00:01 } accept"}])),
            pairs(json!([{"ip_address": "10.0.0.9", "mac_address": "01:00:5e:00:00:01"}])),
            pairs(json!([{"ip_address": "224.0.0.5"}])),
            pairs(json!([{"mac_address": "fa:16:3e:00:00:01"}])),
            pairs(json!([{"ip_address": "10.0.0.9", "extra": 1}])),
            pairs(json!([{"ip_address": "10.0.0.9"}, {"ip_address": "10.0.0.9"}])),
            pairs(json!(["10.0.0.9"])),
            pairs(json!({"ip_address": "10.0.0.9"})),
            pairs(json!("10.0.0.9")),
            pairs(json!((1..=11)
                .map(|i| json!({"ip_address": format!("10.0.1.{i}")}))
                .collect::<Vec<_>>())),
            port(json!({"port_security_enabled": false, "allowed_address_pairs": [{"ip_address": "10.0.0.9"}]})),
            // MACs.
            port(json!({"mac_address": "fa:16:3e:00:00"})),
            port(json!({"mac_address": "00:00:00:00:00:00"})),
            port(json!({"mac_address": "ff:ff:ff:ff:ff:ff"})),
            port(json!({"mac_address": "01:00:5e:00:00:01"})),
            port(json!({"mac_address": 12})),
            // Fixed IPs.
            port(json!({"fixed_ips": [{"ip_address": "10.0.0.300"}]})),
            port(json!({"fixed_ips": [{"ip_address": "10.0.0.7"}, {"ip_address": "10.0.0.7"}]})),
            port(json!({"fixed_ips": [{"subnet_id": "not-a-uuid"}]})),
            port(json!({"fixed_ips": ["10.0.0.7"]})),
            port(json!({"fixed_ips": "10.0.0.7"})),
            // Strings.
            port(json!({"name": "p\u{0}"})),
            port(json!({"description": "p\u{0}"})),
            port(json!({"device_owner": "compute:nova\u{0}"})),
            port(json!({"binding:host_id": "host\u{0}"})),
            port(json!({"name": "n".repeat(256)})),
        ],
    )
    .await;
    let (s, v) = api
        .post("ports", "port", pairs(json!([{"ip_address": "not-an-ip"}])))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({"NeutronError": {"type": "HTTPBadRequest", "message": "'not-an-ip' is not a valid IP address", "detail": ""}})
    );
    let (_, v) = api
        .post(
            "ports",
            "port",
            pairs(json!((1..=11)
                .map(|i| json!({"ip_address": format!("10.0.1.{i}")}))
                .collect::<Vec<_>>())),
        )
        .await;
    assert_eq!(v["NeutronError"]["type"], "AllowedAddressPairExhausted");
    assert_eq!(
        v["NeutronError"]["message"],
        "The number of allowed address pair exceeds the maximum 10."
    );

    // Good values: pairs stored typed, a missing MAC taken from the port, spellings normalised.
    let p = api
        .create(
            "ports",
            "port",
            port(json!({"mac_address": "FA-16-3E-AA-BB-CC",
                "fixed_ips": [{"subnet_id": sid, "ip_address": "10.0.0.7"}],
                "allowed_address_pairs": [{"ip_address": "10.0.0.9"}, {"ip_address": "10.0.2.0/24", "mac_address": "fa:16:3e:00:00:02"}]})),
        )
        .await;
    assert_eq!(p["mac_address"], "fa:16:3e:aa:bb:cc");
    assert_eq!(
        p["allowed_address_pairs"],
        json!([{"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:aa:bb:cc"},
               {"ip_address": "10.0.2.0/24", "mac_address": "fa:16:3e:00:00:02"}])
    );
    let pid = p["id"].as_str().unwrap();
    for bad in [
        json!({"allowed_address_pairs": [{"ip_address": "nft}"}]}),
        json!({"allowed_address_pairs": [{"ip_address": 7}]}),
        json!({"fixed_ips": [{"ip_address": "x"}]}),
        json!({"name": "\u{0}"}),
        json!({"port_security_enabled": false, "security_groups": []}),
    ] {
        let (s, v) = api.put(&format!("ports/{pid}"), "port", bad.clone()).await;
        assert_bad(s, &v, &bad);
    }
    let (_, v) = api.call("GET", &format!("ports/{pid}"), None).await;
    assert_eq!(
        v["port"]["allowed_address_pairs"].as_array().unwrap().len(),
        2,
        "unchanged"
    );
    let (s, v) = api
        .put(
            &format!("ports/{pid}"),
            "port",
            json!({"allowed_address_pairs": [{"ip_address": "2001:DB8::5"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["port"]["allowed_address_pairs"][0]["ip_address"], "2001:db8::5");
}

#[tokio::test]
async fn security_group_rule_fields() {
    let (api, _d) = setup().await;
    let g = api
        .create("security-groups", "security_group", json!({"name": "web"}))
        .await;
    let gid = g["id"].as_str().unwrap();
    let rule = |extra: Value| {
        let mut b = json!({"security_group_id": gid, "direction": "ingress"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    api.refused(
        "security-group-rules",
        "security_group_rule",
        &[
            rule(json!({"protocol": "tcp; flush"})),
            rule(json!({"protocol": 256})),
            rule(json!({"protocol": "-1"})),
            rule(json!({"protocol": 6.5})),
            rule(json!({"protocol": {"p": 6}})),
            rule(json!({"protocol": "tcp", "port_range_min": 80, "port_range_max": 70000})),
            rule(json!({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80})),
            rule(json!({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80})),
            rule(json!({"protocol": "tcp", "port_range_min": "80;", "port_range_max": 80})),
            rule(json!({"protocol": "tcp", "port_range_min": 80})),
            rule(json!({"port_range_min": 80, "port_range_max": 80})),
            rule(json!({"protocol": "gre", "port_range_min": 80, "port_range_max": 80})),
            rule(json!({"protocol": "icmp", "port_range_min": 256})),
            rule(json!({"protocol": "icmp", "port_range_max": 0})),
            rule(json!({"protocol": "ipv6-icmp", "ethertype": "IPv4"})),
            rule(json!({"ethertype": "IPv5"})),
            rule(json!({"ethertype": 4})),
            rule(json!({"direction": "sideways"})),
            rule(json!({"remote_ip_prefix": "10.0.0.0/8 accept"})),
            rule(json!({"remote_ip_prefix": "2001:db8::/64"})),
            rule(json!({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"})),
            rule(json!({"remote_ip_prefix": 10})),
            rule(json!({"remote_group_id": 7})),
            rule(json!({"description": "d\u{0}"})),
        ],
    )
    .await;
    // A remote group id that is no UUID is a group that does not exist, as in Neutron
    // (Tempest's test_create_security_group_rule_with_non_existent_remote_groupid).
    let (status, v) = api
        .post(
            "security-group-rules",
            "security_group_rule",
            rule(json!({"remote_group_id": "not-a-uuid"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["NeutronError"]["type"], "SecurityGroupNotFound");
    let (_, v) = api
        .post(
            "security-group-rules",
            "security_group_rule",
            rule(json!({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80})),
        )
        .await;
    assert_eq!(v["NeutronError"]["type"], "SecurityGroupInvalidPortRange");
    assert_eq!(
        v["NeutronError"]["message"],
        "For TCP/UDP protocols, port_range_min must be <= port_range_max"
    );
    let (_, v) = api
        .post(
            "security-group-rules",
            "security_group_rule",
            rule(json!({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"})),
        )
        .await;
    assert_eq!(
        v["NeutronError"]["message"],
        "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8"
    );
    for good in [
        rule(
            json!({"protocol": "TCP", "port_range_min": "22", "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8"}),
        ),
        rule(json!({"protocol": 17, "port_range_min": 53, "port_range_max": 53})),
        rule(json!({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0})),
        rule(json!({"protocol": "ipv6-icmp", "ethertype": "ipv6"})),
        rule(json!({"protocol": "vrrp", "remote_ip_prefix": "192.168.1.5"})),
    ] {
        api.create("security-group-rules", "security_group_rule", good).await;
    }
    // Group names and descriptions.
    api.refused(
        "security-groups",
        "security_group",
        &[
            json!({"name": "g\u{0}"}),
            json!({"description": "d\u{0}"}),
            json!({"name": "DEFAULT"}),
            json!({"name": "g".repeat(256)}),
        ],
    )
    .await;
}

#[tokio::test]
async fn router_fields() {
    let (api, _d) = setup().await;
    let net = api.create("networks", "network", json!({"name": "n"})).await;
    let nid = net["id"].as_str().unwrap();
    let sub = api
        .create(
            "subnets",
            "subnet",
            json!({"network_id": nid, "ip_version": 4, "cidr": "10.0.0.0/24"}),
        )
        .await;
    api.refused(
        "routers",
        "router",
        &[json!({"name": "r\u{0}"}), json!({"description": "r\u{0}"})],
    )
    .await;
    let r = api.create("routers", "router", json!({"name": "r"})).await;
    let rid = r["id"].as_str().unwrap();
    let (s, v) = api
        .call(
            "PUT",
            &format!("routers/{rid}/add_router_interface"),
            Some(json!({"subnet_id": sub["id"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let path = format!("routers/{rid}");
    for bad in [
        json!({"routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.5 dev eth0"}]}),
        json!({"routes": [{"destination": "10.9.0.0/16; rm", "nexthop": "10.0.0.5"}]}),
        json!({"routes": [{"destination": "10.9.0.1/16", "nexthop": "10.0.0.5"}]}),
        json!({"routes": [{"destination": "10.9.0.0/16"}]}),
        json!({"routes": "10.9.0.0/16 via 10.0.0.5"}),
        json!({"routes": [{"destination": "10.9.0.0/16", "nexthop": "192.168.77.1"}]}),
        json!({"routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.1"}]}),
        json!({"name": "\u{0}"}),
    ] {
        let (s, v) = api.put(&path, "router", bad.clone()).await;
        assert_bad(s, &v, &bad);
    }
    let (_, v) = api
        .put(
            &path,
            "router",
            json!({"routes": [{"destination": "10.9.0.0/16", "nexthop": "192.168.77.1"}]}),
        )
        .await;
    assert_eq!(v["NeutronError"]["type"], "InvalidRoutes");
    let (_, v) = api.call("GET", &path, None).await;
    assert_eq!(v["router"]["routes"], json!([]), "unchanged");
    let (s, v) = api
        .put(
            &path,
            "router",
            json!({"routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.5"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["router"]["routes"],
        json!([{"destination": "10.9.0.0/16", "nexthop": "10.0.0.5"}])
    );
}

#[tokio::test]
async fn floating_ip_and_pool_fields() {
    let (api, _d) = setup().await;
    api.refused(
        "subnetpools",
        "subnetpool",
        &[
            json!({"name": "p", "prefixes": ["10.0.0.0/8 x"]}),
            json!({"name": "p", "prefixes": [5]}),
            json!({"name": "p\u{0}", "prefixes": ["10.0.0.0/8"]}),
        ],
    )
    .await;
    api.create(
        "subnetpools",
        "subnetpool",
        json!({"name": "p", "prefixes": ["10.0.0.0/8"]}),
    )
    .await;
    let before = api.count("floatingips").await;
    for bad in [
        json!({"floating_network_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "floating_ip_address": "1.2.3"}),
        json!({"floating_network_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "port_id": "x; y"}),
        json!({"floating_network_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "fixed_ip_address": 7}),
    ] {
        let (s, v) = api.post("floatingips", "floatingip", bad.clone()).await;
        assert_bad(s, &v, &bad);
    }
    assert_eq!(api.count("floatingips").await, before);
}

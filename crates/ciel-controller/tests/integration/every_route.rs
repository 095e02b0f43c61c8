//! Every route, as every kind of caller: generated from the router's own route table
//! (`http::route_table`), so a route added later is walked too, and one without a policy
//! entry fails here.
//!
//! Callers: nobody (no token), a member of another project (B) on project A's resources, a
//! reader of A, a member of A, the admin. Path parameters are filled with resources A's
//! member created (network, subnet, port, router, security group and rule, floating IP,
//! image, volume, snapshot, key pair, server, ...) or, where none can be made, a random UUID.
//! Reads run first, then writes, then deletes (the member's and the admin's deletes last),
//! so destructive calls cannot take fixtures away from the routes that still need them.

use crate::common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use ciel_controller::app::policy::{self, Rule};
use ciel_controller::app::App;
use ciel_controller::db::sql;
use ciel_controller::http::routes::RouteInfo;
use ciel_proto::RegisterRequest;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

struct Cloud {
    app: Arc<App>,
    admin: String,
    member_a: String,
    reader_a: String,
    member_b: String,
    /// Path parameter values by (previous path segment, parameter name).
    fixtures: HashMap<&'static str, String>,
    _dir: common::tempdir::Dir,
}

struct Resp {
    status: StatusCode,
    json: Value,
    subject_token: Option<String>,
}

async fn call(app: &Arc<App>, method: &Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Resp {
    let mut req = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("x-openstack-nova-api-version", "2.79")
        .header("openstack-api-version", "compute 2.79");
    if let Some(t) = token {
        req = req.header("x-auth-token", t);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        ciel_controller::http::router(app.clone()).oneshot(req),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {uri} did not answer in 20 s"))
    .unwrap();
    let status = resp.status();
    let subject_token = resp
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
    Resp {
        status,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        subject_token,
    }
}

impl Cloud {
    async fn as_admin(&self, method: &str, uri: &str, body: Value) -> Value {
        self.ok(&self.admin, method, uri, body).await
    }

    async fn ok(&self, token: &str, method: &str, uri: &str, body: Value) -> Value {
        let m: Method = method.parse().unwrap();
        let b = if m == Method::GET || m == Method::DELETE {
            None
        } else {
            Some(body)
        };
        let r = call(&self.app, &m, uri, Some(token), b).await;
        assert!(r.status.is_success(), "fixture {method} {uri}: {} {}", r.status, r.json);
        r.json
    }

    async fn token(app: &Arc<App>, user: &str, password: &str, project: &str) -> String {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}});
        let r = call(app, &Method::POST, "/identity/v3/auth/tokens", None, Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        r.subject_token.unwrap()
    }

    async fn new() -> Cloud {
        let (app, dir) = common::app().await;
        app.seed_default_flavors().await.unwrap();
        let secret = ciel_controller::app::compute::hosts::join_token(&app.cfg.data_dir).unwrap();
        app.register_host(
            &secret,
            RegisterRequest {
                hostname: "h1".into(),
                underlay_ip: None,
                vcpus: 16,
                memory_mb: 32768,
                disk_gb: 1000,
                hypervisor_type: "fake".into(),
                agent_url: None,
                provider_networks: vec![],
                storage_backends: vec!["file".into()],
                images_type: "file".into(),
            },
        )
        .await
        .unwrap();
        let admin = Cloud::token(&app, "admin", "adminpw", "admin").await;
        let mut cloud = Cloud {
            app,
            admin,
            member_a: String::new(),
            reader_a: String::new(),
            member_b: String::new(),
            fixtures: HashMap::new(),
            _dir: dir,
        };
        let roles = cloud.as_admin("GET", "/identity/v3/roles", Value::Null).await;
        let role = |name: &str| {
            roles["roles"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let mut projects = HashMap::new();
        for p in ["pa", "pb"] {
            let v = cloud
                .as_admin(
                    "POST",
                    "/identity/v3/projects",
                    json!({"project": {"name": p, "domain_id": "default"}}),
                )
                .await;
            projects.insert(p, v["project"]["id"].as_str().unwrap().to_string());
        }
        let mut users = HashMap::new();
        for (u, p, r) in [("ma", "pa", "member"), ("ra", "pa", "reader"), ("mb", "pb", "member")] {
            let v = cloud
                .as_admin(
                    "POST",
                    "/identity/v3/users",
                    json!({"user": {"name": u, "domain_id": "default", "password": "secretpw1"}}),
                )
                .await;
            let uid = v["user"]["id"].as_str().unwrap().to_string();
            cloud
                .as_admin(
                    "PUT",
                    &format!("/identity/v3/projects/{}/users/{uid}/roles/{}", projects[p], role(r)),
                    Value::Null,
                )
                .await;
            users.insert(u, uid);
        }
        cloud.member_a = Cloud::token(&cloud.app, "ma", "secretpw1", "pa").await;
        cloud.reader_a = Cloud::token(&cloud.app, "ra", "secretpw1", "pa").await;
        cloud.member_b = Cloud::token(&cloud.app, "mb", "secretpw1", "pb").await;
        let f = &mut cloud.fixtures;
        f.insert("projects", projects["pa"].clone());
        f.insert("project", projects["pa"].clone());
        f.insert("project_id", projects["pa"].clone());
        f.insert("users", users["ma"].clone());
        f.insert("roles", role("reader"));
        f.insert("implies", role("reader"));
        cloud.make_resources().await;
        cloud
    }

    async fn make_resources(&mut self) {
        let m = self.member_a.clone();
        let net = self
            .ok(&m, "POST", "/network/v2.0/networks", json!({"network": {"name": "n1"}}))
            .await["network"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let subnet = self
            .ok(
                &m,
                "POST",
                "/network/v2.0/subnets",
                json!({"subnet": {"network_id": net, "cidr": "10.9.0.0/24", "ip_version": 4}}),
            )
            .await["subnet"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let port = self
            .ok(&m, "POST", "/network/v2.0/ports", json!({"port": {"network_id": net}}))
            .await["port"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let router = self
            .ok(&m, "POST", "/network/v2.0/routers", json!({"router": {"name": "r1"}}))
            .await["router"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let sg = self
            .ok(
                &m,
                "POST",
                "/network/v2.0/security-groups",
                json!({"security_group": {"name": "sg1"}}),
            )
            .await["security_group"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let rule = self
            .ok(
                &m,
                "POST",
                "/network/v2.0/security-group-rules",
                json!({"security_group_rule": {"security_group_id": sg, "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}}),
            )
            .await["security_group_rule"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        // An external network (the admin's) so A can have a floating IP.
        let ext = self
            .as_admin(
                "POST",
                "/network/v2.0/networks",
                json!({"network": {"name": "ext", "router:external": true}}),
            )
            .await["network"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        self.as_admin(
            "POST",
            "/network/v2.0/subnets",
            json!({"subnet": {"network_id": ext, "cidr": "203.0.113.0/24", "ip_version": 4}}),
        )
        .await;
        let fip = self
            .ok(
                &m,
                "POST",
                "/network/v2.0/floatingips",
                json!({"floatingip": {"floating_network_id": ext}}),
            )
            .await["floatingip"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let image = uuid::Uuid::new_v4().to_string();
        self.ok(
            &m,
            "POST",
            "/image/v2/images",
            json!({"id": image, "name": "img", "disk_format": "raw", "container_format": "bare"}),
        )
        .await;
        sql::query("UPDATE images SET status = 'active', size = 1024 WHERE id = ?")
            .bind(&image)
            .execute(&self.app.db)
            .await
            .unwrap();
        let volume = self
            .ok(
                &m,
                "POST",
                "/volume/v3/volumes",
                json!({"volume": {"size": 1, "name": "v1"}}),
            )
            .await["volume"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        sql::query("UPDATE volumes SET status = 'available' WHERE id = ?")
            .bind(&volume)
            .execute(&self.app.db)
            .await
            .ok();
        let snapshot = call(
            &self.app,
            &Method::POST,
            "/volume/v3/snapshots",
            Some(&m),
            Some(json!({"snapshot": {"volume_id": volume, "name": "s1"}})),
        )
        .await
        .json["snapshot"]["id"]
            .as_str()
            .map(str::to_owned);
        let backup = call(
            &self.app,
            &Method::POST,
            "/volume/v3/backups",
            Some(&m),
            Some(json!({"backup": {"volume_id": volume, "name": "b1"}})),
        )
        .await
        .json["backup"]["id"]
            .as_str()
            .map(str::to_owned);
        sql::query("UPDATE volumes SET status = 'available' WHERE id = ?")
            .bind(&volume)
            .execute(&self.app.db)
            .await
            .ok();
        sql::query("UPDATE volume_backups SET status = 'available', target = 'dir'")
            .execute(&self.app.db)
            .await
            .ok();
        self.ok(
            &m,
            "POST",
            "/compute/v2.1/os-keypairs",
            json!({"keypair": {"name": "kp1"}}),
        )
        .await;
        let flavors = self.ok(&m, "GET", "/compute/v2.1/flavors", Value::Null).await;
        let flavor = flavors["flavors"][0]["id"].as_str().unwrap().to_string();
        let server = self
            .ok(
                &m,
                "POST",
                "/compute/v2.1/servers",
                json!({"server": {"name": "s1", "imageRef": image, "flavorRef": flavor, "networks": [{"uuid": net}]}}),
            )
            .await["server"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let group = self
            .ok(
                &m,
                "POST",
                "/compute/v2.1/os-server-groups",
                json!({"server_group": {"name": "g1", "policy": "affinity"}}),
            )
            .await["server_group"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let f = &mut self.fixtures;
        f.insert("networks", net.clone());
        f.insert("os-networks", net.clone());
        f.insert("os-tenant-networks", net);
        f.insert("subnets", subnet);
        f.insert("ports", port.clone());
        f.insert("os-interface", port);
        f.insert("routers", router);
        f.insert("security-groups", sg.clone());
        f.insert("os-security-groups", sg);
        f.insert("security-group-rules", rule.clone());
        f.insert("os-security-group-rules", rule);
        f.insert("floatingips", fip.clone());
        f.insert("os-floating-ips", fip);
        f.insert("images", image);
        f.insert("volumes", volume.clone());
        f.insert("os-volumes", volume.clone());
        f.insert("os-volume_attachments", volume);
        if let Some(s) = snapshot {
            f.insert("snapshots", s.clone());
            f.insert("os-snapshots", s);
        }
        if let Some(b) = backup {
            f.insert("backups", b);
        }
        f.insert("os-keypairs", "kp1".into());
        f.insert("flavors", flavor);
        f.insert("servers", server);
        f.insert("os-server-groups", group);
    }

    /// The route's path with its parameters filled in, and whether every parameter names one
    /// of A's resources (so another project must be refused).
    fn fill(&self, path: &str) -> (String, bool) {
        let mut out = vec![];
        let mut prev = "";
        let mut owned = true;
        let mut any_param = false;
        for seg in path.split('/') {
            if seg.starts_with('{') {
                any_param = true;
                let name = seg.trim_matches(|c| c == '{' || c == '}' || c == '*');
                let value = match (prev, name) {
                    (_, "project" | "project_id") => self.fixtures.get("project").cloned(),
                    (_, "tag") => Some("t1".into()),
                    (_, "key") => Some("k1".into()),
                    _ => self.fixtures.get(prev).cloned(),
                };
                if matches!(prev, "flavors" | "roles" | "implies") {
                    // Cloud-wide things: visible to every project.
                    owned = false;
                }
                match value {
                    Some(v) => out.push(v),
                    None => {
                        owned = false;
                        out.push(uuid::Uuid::new_v4().to_string());
                    }
                }
            } else {
                out.push(seg.to_string());
            }
            prev = if seg.starts_with('{') { "" } else { seg };
        }
        (out.join("/"), owned && any_param)
    }
}

#[derive(Default)]
struct Tally {
    calls: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, ok: bool, what: String) {
        self.calls += 1;
        if !ok {
            self.failures.push(what);
        }
    }
}

/// Routes whose answer to a member of A is legitimately 403 though the rule lets members in
/// (the app refuses the specific thing: an admin-only server action, another user's data).
const MEMBER_403_OK: &[&str] = &[
    // Without `user.id` set to the caller's own id, listing assignments is for admins.
    "identity:list_role_assignments",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_what_it_must() {
    let cloud = Cloud::new().await;
    let table = ciel_controller::http::route_table(cloud.app.clone());
    let missing: Vec<String> = table
        .iter()
        .filter(|r| policy::rule(&r.action).is_none())
        .map(|r| format!("{} {} ({})", r.method, r.path, r.action))
        .collect();
    assert!(missing.is_empty(), "routes without a policy entry: {missing:#?}");

    // Reads, then writes, then deletes.
    let phase = |r: &RouteInfo| match r.method {
        Method::GET | Method::HEAD => 0,
        Method::DELETE => 2,
        _ => 1,
    };
    let mut routes: Vec<&RouteInfo> = table.iter().collect();
    routes.sort_by_key(|r| phase(r));
    let mut t = Tally::default();
    let mut deletes = vec![];
    for r in &routes {
        let rule = policy::rule(&r.action).unwrap();
        let (uri, owned) = cloud.fill(&r.path);
        let body =
            (r.method != Method::GET && r.method != Method::HEAD && r.method != Method::DELETE).then(|| json!({}));
        let what = |who: &str, s: StatusCode, v: &Value| {
            format!("{} {} [{}: {rule:?}] as {who}: {s} {v}", r.method, r.path, r.action)
        };
        // (a) no token
        let res = call(&cloud.app, &r.method, &uri, None, body.clone()).await;
        if rule == Rule::Public {
            t.calls += 1;
            continue;
        }
        t.check(
            res.status == StatusCode::UNAUTHORIZED,
            what("nobody", res.status, &res.json),
        );
        // (b) a member of another project, on A's resources
        if owned && rule != Rule::Authenticated {
            let res = call(&cloud.app, &r.method, &uri, Some(&cloud.member_b), body.clone()).await;
            let ok = match r.method {
                // Cinder answers a URL naming another project than the token's with 400
                // (after the role check: a member asking for an admin action gets 403).
                _ if r.path.contains("{project_id}") => {
                    matches!(res.status, StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN)
                }
                Method::GET | Method::HEAD | Method::DELETE => {
                    matches!(res.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
                }
                _ => !res.status.is_success(),
            };
            t.check(ok, what("member of B", res.status, &res.json));
        }
        // (c) a reader of A
        let res = call(&cloud.app, &r.method, &uri, Some(&cloud.reader_a), body.clone()).await;
        let ok = if rule.writes() {
            res.status == StatusCode::FORBIDDEN
        } else if rule == Rule::OwnerOrAdmin {
            // Another user than A's member, whose things the path names: 403 is right.
            res.status != StatusCode::UNAUTHORIZED
        } else {
            res.status != StatusCode::FORBIDDEN && res.status != StatusCode::UNAUTHORIZED
        };
        t.check(ok, what("reader of A", res.status, &res.json));
        if r.method == Method::DELETE {
            deletes.push((*r, uri, rule, body));
            continue;
        }
        // (d) a member of A, (e) the admin
        for (who, token) in [("member of A", &cloud.member_a), ("admin", &cloud.admin)] {
            let res = call(&cloud.app, &r.method, &uri, Some(token), body.clone()).await;
            let refused = res.status == StatusCode::FORBIDDEN || res.status == StatusCode::UNAUTHORIZED;
            let ok = if rule == Rule::Admin && who != "admin" {
                res.status == StatusCode::FORBIDDEN
            } else {
                !refused || (who != "admin" && MEMBER_403_OK.contains(&r.action.as_str()))
            };
            t.check(ok, what(who, res.status, &res.json));
        }
    }
    // The member's and the admin's deletes, last.
    for (who, token) in [("member of A", &cloud.member_a), ("admin", &cloud.admin)] {
        for (r, uri, rule, body) in &deletes {
            let res = call(&cloud.app, &r.method, uri, Some(token), body.clone()).await;
            let ok = if *rule == Rule::Admin && who != "admin" {
                res.status == StatusCode::FORBIDDEN
            } else {
                res.status != StatusCode::FORBIDDEN && res.status != StatusCode::UNAUTHORIZED
            };
            t.check(
                ok,
                format!(
                    "{} {} [{}: {rule:?}] as {who}: {} {}",
                    r.method, r.path, r.action, res.status, res.json
                ),
            );
        }
    }
    println!(
        "every route: {} routes x 5 callers; {} calls made, {} failures",
        table.len(),
        t.calls,
        t.failures.len()
    );
    assert!(
        t.failures.is_empty(),
        "{} failures:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
}

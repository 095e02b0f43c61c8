//! Nova servers in-process through the router, with one registered (fake) host and an
//! active image: tags given at create, a scheduling failure (202 and a server in ERROR with
//! Nova's fault), and the tag filters of server listings.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ciel_controller::app::App;
use ciel_controller::db::sql;
use common::login;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    app: Arc<App>,
    token: String,
    image: String,
    _dir: common::tempdir::Dir,
}

struct Resp {
    status: StatusCode,
    json: Value,
}

impl Api {
    /// An admin's API on a cloud with one host of 4 vCPUs and 8 GiB, and an active image.
    async fn new() -> Api {
        let (app, dir) = common::app().await;
        app.seed_default_flavors().await.unwrap();
        let (token, _) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
        common::register_fake_host(&app, "h1", None, &[]).await;
        let image = uuid::Uuid::new_v4().to_string();
        let mut api = Api {
            app,
            token,
            image: image.clone(),
            _dir: dir,
        };
        let r = api
            .call(
                "POST",
                "/image/v2/images",
                "2.1",
                Some(json!({"id": image, "name": "img", "disk_format": "raw", "container_format": "bare"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        sql::query("UPDATE images SET status = 'active', size = 1024 WHERE id = ?")
            .bind(&image)
            .execute(&api.app.db)
            .await
            .unwrap();
        api.image = image;
        api
    }

    async fn call(&self, method: &str, uri: &str, mv: &str, body: Option<Value>) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-auth-token", &self.token)
            .header("openstack-api-version", format!("compute {mv}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
        let resp = ciel_controller::http::router(self.app.clone())
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Resp { status, json }
    }

    /// POST /servers with `extra` merged into a minimal server (no networks).
    async fn create(&self, mv: &str, name: &str, extra: Value, top: Value) -> Resp {
        let mut server = json!({"name": name, "imageRef": self.image, "flavorRef": "1", "networks": "none"});
        for (k, v) in extra.as_object().unwrap() {
            server[k] = v.clone();
        }
        let mut body = json!({ "server": server });
        for (k, v) in top.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.call("POST", "/compute/v2.1/servers", mv, Some(body)).await
    }

    async fn show(&self, id: &str) -> Value {
        let r = self
            .call("GET", &format!("/compute/v2.1/servers/{id}"), "2.79", None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        r.json["server"].clone()
    }

    async fn instances_used(&self) -> i64 {
        let r = self.call("GET", "/compute/v2.1/limits", "2.79", None).await;
        r.json["limits"]["absolute"]["totalInstancesUsed"].as_i64().unwrap()
    }

    async fn names(&self, query: &str, mv: &str) -> Vec<String> {
        let r = self
            .call("GET", &format!("/compute/v2.1/servers?{query}"), mv, None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.json);
        let mut names: Vec<String> = r.json["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }
}

fn id_of(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    r.json["server"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tags_given_at_create_are_kept() {
    let api = Api::new().await;
    let r = api
        .create("2.52", "tagged", json!({"tags": ["a", "b-1"]}), json!({}))
        .await;
    let id = id_of(&r);
    assert_eq!(api.show(&id).await["tags"], json!(["a", "b-1"]));

    // Before 2.52 the field is not part of the schema.
    let r = api.create("2.51", "early", json!({"tags": ["a"]}), json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let m = r.json["badRequest"]["message"].as_str().unwrap();
    assert!(
        m.contains("Additional properties are not allowed ('tags' was unexpected)"),
        "{m}"
    );

    for bad in [
        json!(["a/b"]),
        json!(["a,b"]),
        json!([""]),
        json!(["x".repeat(61)]),
        json!([1]),
        json!("a"),
        json!((0..51).map(|i| i.to_string()).collect::<Vec<_>>()),
    ] {
        let r = api.create("2.52", "bad", json!({ "tags": bad }), json!({})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.json);
    }
    let r = api.call("GET", "/compute/v2.1/servers", "2.52", None).await;
    assert_eq!(
        r.json["servers"].as_array().unwrap().len(),
        1,
        "refused requests created nothing"
    );
}

#[tokio::test]
async fn no_valid_host_gives_a_server_in_error() {
    let api = Api::new().await;
    // A flavor bigger than every host (its disk).
    let r = api
        .call(
            "POST",
            "/compute/v2.1/flavors",
            "2.79",
            Some(json!({"flavor": {"name": "huge", "ram": 1024, "vcpus": 1, "disk": 100000, "id": "huge"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let r = api.create("2.79", "big", json!({"flavorRef": "huge"}), json!({})).await;
    let id = id_of(&r);
    let s = api.show(&id).await;
    assert_eq!(s["status"], "ERROR", "{s}");
    assert_eq!(s["fault"]["code"], 500, "{s}");
    let m = s["fault"]["message"].as_str().unwrap();
    assert!(m.starts_with("No valid host was found."), "{m}");
    assert_eq!(
        api.instances_used().await,
        1,
        "a server in ERROR counts against the quota"
    );
    let r = api
        .call("DELETE", &format!("/compute/v2.1/servers/{id}"), "2.79", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
    assert_eq!(api.instances_used().await, 0, "deleting it gives the quota back");

    // An anti-affinity group with more members than hosts.
    let r = api
        .call(
            "POST",
            "/compute/v2.1/os-server-groups",
            "2.64",
            Some(json!({"server_group": {"name": "g", "policy": "anti-affinity"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let group = r.json["server_group"]["id"].as_str().unwrap().to_string();
    let hints = json!({"os:scheduler_hints": {"group": group}});
    let first = id_of(&api.create("2.79", "one", json!({}), hints.clone()).await);
    assert_eq!(api.show(&first).await["status"], "BUILD");
    let second = id_of(&api.create("2.79", "two", json!({}), hints).await);
    let s = api.show(&second).await;
    assert_eq!(s["status"], "ERROR", "{s}");
    assert!(s["fault"]["message"]
        .as_str()
        .unwrap()
        .starts_with("No valid host was found."));
    assert_eq!(api.instances_used().await, 2);
    for id in [&first, &second] {
        let r = api
            .call("DELETE", &format!("/compute/v2.1/servers/{id}"), "2.79", None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
    }
    assert_eq!(api.instances_used().await, 0);
}

#[tokio::test]
async fn listings_filter_by_tags() {
    let api = Api::new().await;
    for (name, tags) in [
        ("ab", json!(["a", "b"])),
        ("a", json!(["a"])),
        ("bc", json!(["b", "c"])),
        ("none", json!([])),
    ] {
        id_of(&api.create("2.52", name, json!({ "tags": tags }), json!({})).await);
    }
    let all = vec!["a", "ab", "bc", "none"];
    for (query, want) in [
        ("tags=a", vec!["a", "ab"]),
        ("tags=a,b", vec!["ab"]),
        ("tags=a,c", vec![]),
        ("tags-any=a,c", vec!["a", "ab", "bc"]),
        ("not-tags=a,b", vec!["a", "bc", "none"]),
        ("not-tags=a", vec!["bc", "none"]),
        ("not-tags-any=a,c", vec!["none"]),
        ("tags=b&not-tags-any=c", vec!["ab"]),
        ("tags-any=a,b&not-tags=a,b", vec!["a", "bc"]),
    ] {
        assert_eq!(api.names(query, "2.26").await, want, "{query}");
        assert_eq!(
            api.names(&format!("{query}&limit=10"), "2.26").await,
            want,
            "{query} (detail)"
        );
        let r = api
            .call("GET", &format!("/compute/v2.1/servers/detail?{query}"), "2.26", None)
            .await;
        assert_eq!(
            r.json["servers"].as_array().unwrap().len(),
            want.len(),
            "{query} detail"
        );
        // Before 2.26 the filters do not exist (and are ignored).
        assert_eq!(api.names(query, "2.25").await, all, "{query} at 2.25");
    }
}

/// The servers of one multi-create share a reservation id (`r-` and 8 lower-case letters or
/// digits, as Nova makes them): `return_reservation_id` answers it, details show it (2.3,
/// admin) and `?reservation_id=` lists exactly those servers.
#[tokio::test]
async fn multi_create_servers_share_a_reservation_id() {
    let api = Api::new().await;
    let r = api
        .create(
            "2.79",
            "multi",
            json!({"min_count": 2, "max_count": 2, "return_reservation_id": true}),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let rid = r.json["reservation_id"].as_str().unwrap().to_string();
    assert!(
        rid.len() == 10
            && rid.starts_with("r-")
            && rid[2..].chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{rid}"
    );
    let single = id_of(&api.create("2.79", "single", json!({}), json!({})).await);
    let other = api.show(&single).await["OS-EXT-SRV-ATTR:reservation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(other.starts_with("r-") && other != rid, "{other}");

    for path in ["servers", "servers/detail"] {
        let r = api
            .call(
                "GET",
                &format!("/compute/v2.1/{path}?reservation_id={rid}"),
                "2.79",
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        let listed = r.json["servers"].as_array().unwrap();
        assert_eq!(listed.len(), 2, "{path}: {}", r.json);
        if path == "servers/detail" {
            assert!(listed.iter().all(|s| s["OS-EXT-SRV-ATTR:reservation_id"] == json!(rid)));
            let mut indexes: Vec<i64> = listed
                .iter()
                .map(|s| s["OS-EXT-SRV-ATTR:launch_index"].as_i64().unwrap())
                .collect();
            indexes.sort();
            assert_eq!(indexes, vec![0, 1]);
        }
    }
    assert_eq!(
        api.names("reservation_id=r-00000000", "2.79").await,
        Vec::<String>::new()
    );
    assert_eq!(api.names("", "2.79").await.len(), 3);
}

/// The ids of a listing, page by page through its `next` links (each page at most `limit`).
async fn pages(api: &Api, path: &str, query: &str, limit: usize) -> Vec<Vec<String>> {
    let mut out = vec![];
    let mut uri = format!("/compute/v2.1/{path}?{query}&limit={limit}");
    loop {
        let r = api.call("GET", &uri, "2.79", None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.json);
        let ids: Vec<String> = r.json["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        assert!(ids.len() <= limit, "{uri}: {} servers", ids.len());
        out.push(ids);
        let Some(next) = r.json["servers_links"][0]["href"].as_str() else {
            return out;
        };
        uri = format!("/compute/v2.1/{path}?{}", next.split_once('?').unwrap().1);
        assert!(out.len() < 20, "the links never end");
    }
}

/// Listings page newest first through `limit` and `marker` (servers made in the same second
/// are ordered by id), filters apply before the page is cut, and the detail view of a page
/// shows each server its own ports and addresses.
#[tokio::test]
async fn listings_page_through_the_servers_newest_first() {
    let api = Api::new().await;
    let net = api
        .call(
            "POST",
            "/network/v2.0/networks",
            "2.1",
            Some(json!({"network": {"name": "pagenet"}})),
        )
        .await;
    assert_eq!(net.status, StatusCode::CREATED, "{}", net.json);
    let net = net.json["network"]["id"].as_str().unwrap().to_string();
    let sub = api
        .call(
            "POST",
            "/network/v2.0/subnets",
            "2.1",
            Some(json!({"subnet": {"network_id": net, "cidr": "10.9.0.0/24", "ip_version": 4}})),
        )
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.json);
    let mut made = vec![];
    for i in 0..7 {
        let networks = if i < 3 { json!([{ "uuid": net }]) } else { json!("none") };
        made.push(id_of(
            &api.create("2.79", &format!("p{i}"), json!({ "networks": networks }), json!({}))
                .await,
        ));
    }
    // Another project's port that names p0 as its device: any project may set a device_id,
    // and a server's views show only ports of its own project (as Nova's network info).
    let stray = api
        .call(
            "POST",
            "/network/v2.0/ports",
            "2.1",
            Some(json!({"port": {"network_id": net, "device_id": made[0], "project_id": "0123456789abcdef0123456789abcdef"}})),
        )
        .await;
    assert_eq!(stray.status, StatusCode::CREATED, "{}", stray.json);
    let stray_ip = stray.json["port"]["fixed_ips"][0]["ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    let all = pages(&api, "servers", "", 1000).await;
    assert_eq!(all.len(), 1, "one page without more: {all:?}");
    let all = all.concat();
    let mut sorted = made.clone();
    sorted.sort();
    let mut listed = all.clone();
    listed.sort();
    assert_eq!(listed, sorted, "every server once");

    for (path, limit) in [("servers", 3), ("servers/detail", 2), ("servers", 1)] {
        let paged = pages(&api, path, "", limit).await;
        assert_eq!(
            paged.concat(),
            all,
            "{path} by {limit}: the same order, nothing twice or lost"
        );
        assert_eq!(paged.len(), 7usize.div_ceil(limit), "{path} by {limit}: {paged:?}");
    }
    // A filter SQL cannot answer (a regular expression) is applied before the page is cut.
    let odd: Vec<String> = pages(&api, "servers", "name=p[135]", 2).await.concat();
    assert_eq!(odd.len(), 3, "{odd:?}");
    assert_eq!(
        api.names(&format!("ip={stray_ip}$"), "2.79").await,
        Vec::<String>::new()
    );
    let names: Vec<String> = api.names("name=p[135]", "2.79").await;
    assert_eq!(names, vec!["p1", "p3", "p5"]);
    assert_eq!(
        pages(&api, "servers", "status=ACTIVE", 2).await.concat().len()
            + pages(&api, "servers", "status=BUILD", 2).await.concat().len(),
        7
    );
    let r = api
        .call(
            "GET",
            "/compute/v2.1/servers?marker=00000000-0000-0000-0000-000000000000",
            "2.79",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);

    // Each server of a detail page shows its own port's address, MAC and groups.
    let r = api.call("GET", "/compute/v2.1/servers/detail", "2.79", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    for s in r.json["servers"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let ports = api
            .call("GET", &format!("/network/v2.0/ports?device_id={id}"), "2.1", None)
            .await;
        let ports: Vec<Value> = ports.json["ports"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["project_id"] == s["tenant_id"])
            .cloned()
            .collect();
        let shown = s["addresses"]["pagenet"].as_array().cloned().unwrap_or_default();
        assert_eq!(shown.len(), ports.len(), "{id}: {s}");
        for (a, p) in shown.iter().zip(&ports) {
            assert_eq!(a["addr"], p["fixed_ips"][0]["ip_address"], "{id}");
            assert_eq!(a["OS-EXT-IPS-MAC:mac_addr"], p["mac_address"], "{id}");
        }
        if ports.is_empty() {
            assert_eq!(s["addresses"], json!({}), "{id}");
            assert!(s.get("security_groups").is_none(), "{id}: {s}");
        } else {
            assert_eq!(s["security_groups"], json!([{"name": "default"}]), "{id}: {s}");
        }
        assert!(!s["addresses"].to_string().contains(&stray_ip), "{id}: {s}");
        assert_eq!(s["os-extended-volumes:volumes_attached"], json!([]));
        assert_eq!(s["flavor"]["original_name"], json!("m1.tiny"), "{s}");
        assert_eq!(s["OS-EXT-SRV-ATTR:host"], json!("h1"), "{s}");
    }
}

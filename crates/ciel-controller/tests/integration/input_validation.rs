//! Input safety at the HTTP surface, in-process through the router: Content-Type rules,
//! body size limits, NUL characters, nesting, and the Nova, Glance and Cinder field rules.
//! Each bad request gets the service's status and error body and creates nothing; the
//! matching good request still works.

use crate::common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use ciel_controller::app::App;
use common::login;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    app: Arc<App>,
    token: String,
    _dir: common::tempdir::Dir,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl Api {
    async fn new() -> Api {
        let (app, dir) = common::app().await;
        let (token, _) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
        Api { app, token, _dir: dir }
    }

    async fn call(&self, method: &str, uri: &str, ctype: Option<&str>, body: impl Into<Body>) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-auth-token", &self.token);
        if let Some(ct) = ctype {
            req = req.header("content-type", ct);
        }
        let resp = ciel_controller::http::router(self.app.clone())
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Resp { status, headers, json }
    }

    async fn json(&self, method: &str, uri: &str, body: Value) -> Resp {
        self.call(method, uri, Some("application/json"), body.to_string()).await
    }

    async fn keypairs(&self) -> usize {
        let r = self.call("GET", "/compute/v2.1/os-keypairs", None, Body::empty()).await;
        r.json["keypairs"].as_array().unwrap().len()
    }

    async fn volumes(&self) -> usize {
        let r = self.call("GET", "/volume/v3/volumes", None, Body::empty()).await;
        r.json["volumes"].as_array().unwrap().len()
    }

    async fn images(&self) -> usize {
        let r = self.call("GET", "/image/v2/images", None, Body::empty()).await;
        r.json["images"].as_array().unwrap().len()
    }
}

fn nova_fault(r: &Resp, key: &str, code: u16) -> String {
    assert_eq!(r.status.as_u16(), code, "{}", r.json);
    assert_eq!(r.json[key]["code"], code, "{}", r.json);
    r.json[key]["message"].as_str().unwrap().to_string()
}

fn keypair(name: &str) -> String {
    json!({"keypair": {"name": name, "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDhHHJUqGpVfMxzBlKbWcR8Bd0hLEbQWHPBcTYS2mJfX t@x"}}).to_string()
}

#[tokio::test]
async fn nova_and_cinder_refuse_non_json_content_types_with_415() {
    let api = Api::new().await;
    for ct in ["application/xml", "text/html", "application/x-www-form-urlencoded"] {
        let r = api
            .call("POST", "/compute/v2.1/os-keypairs", Some(ct), keypair("k1"))
            .await;
        assert_eq!(nova_fault(&r, "badMediaType", 415), "Unsupported Content-Type");
    }
    assert_eq!(api.keypairs().await, 0);
    // JSON with parameters, Nova's vendor type, text/plain (Nova's WSGI default) and no
    // header at all are JSON.
    for (i, ct) in [
        Some("application/json; charset=utf-8"),
        Some("application/vnd.openstack.compute+json"),
        Some("text/plain"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let r = api
            .call("POST", "/compute/v2.1/os-keypairs", ct, keypair(&format!("ok{i}")))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{ct:?}: {}", r.json);
    }
    assert_eq!(api.keypairs().await, 4);
    // An empty body is never checked: an action without a body is a 400 of the handler.
    let r = api
        .call(
            "POST",
            "/compute/v2.1/servers/nope/action",
            Some("application/xml"),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let vol = json!({"volume": {"size": 1, "name": "v"}}).to_string();
    let r = api
        .call("POST", "/volume/v3/volumes", Some("application/xml"), vol.clone())
        .await;
    assert_eq!(nova_fault(&r, "badMediaType", 415), "Unsupported Content-Type");
    let r = api
        .call("POST", "/volume/v3/volumes", Some("text/plain"), vol.clone())
        .await;
    assert_eq!(r.status.as_u16(), 415, "Cinder does not take text/plain");
    assert_eq!(api.volumes().await, 0);
    let r = api
        .call(
            "POST",
            "/volume/v3/volumes",
            Some("application/vnd.openstack.volume+json"),
            vol,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(api.volumes().await, 1);
}

#[tokio::test]
async fn keystone_wants_json_or_no_content_type() {
    let api = Api::new().await;
    let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
        "domain": {"id": "default"}, "password": "adminpw"}}}}})
    .to_string();
    let r = api
        .call("POST", "/identity/v3/auth/tokens", Some("text/plain"), auth.clone())
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["error"]["code"], 400);
    assert!(r.json["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Expecting to find application/json in Content-Type header"));
    for ct in [None, Some("application/json;charset=UTF-8")] {
        let r = api.call("POST", "/identity/v3/auth/tokens", ct, auth.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct:?}: {}", r.json);
    }
}

#[tokio::test]
async fn glance_media_types() {
    let api = Api::new().await;
    // Glance takes image JSON whatever its content type.
    let r = api
        .call(
            "POST",
            "/image/v2/images",
            Some("text/plain"),
            json!({"name": "i", "disk_format": "raw", "container_format": "bare"}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_string();
    let patch = json!([{"op": "replace", "path": "/name", "value": "j"}]).to_string();
    let r = api
        .call(
            "PATCH",
            &format!("/image/v2/images/{id}"),
            Some("application/json"),
            patch.clone(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 415);
    assert_eq!(r.json["code"], "415 Unsupported Media Type", "{}", r.json);
    assert!(r.headers["accept-patch"]
        .to_str()
        .unwrap()
        .contains("openstack-images-v2.1-json-patch"));
    let r = api
        .call(
            "PATCH",
            &format!("/image/v2/images/{id}"),
            Some("application/openstack-images-v2.1-json-patch"),
            patch,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["name"], "j");
    // Image data is application/octet-stream only.
    for ct in [Some("application/json"), None] {
        let r = api
            .call("PUT", &format!("/image/v2/images/{id}/file"), ct, vec![0u8; 1024])
            .await;
        assert_eq!(r.status.as_u16(), 415, "{ct:?}");
        assert!(r.json["message"].as_str().unwrap().starts_with("Invalid content type"));
    }
    let r = api
        .call("GET", &format!("/image/v2/images/{id}"), None, Body::empty())
        .await;
    assert_eq!(r.json["status"], "queued");
    // Image data is streamed, not held to the JSON limits: 3 MiB go through.
    let r = api
        .call(
            "PUT",
            &format!("/image/v2/images/{id}/file"),
            Some("application/octet-stream"),
            vec![0u8; 3 << 20],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
}

#[tokio::test]
async fn nul_characters_are_refused_by_every_service() {
    let api = Api::new().await;
    let r = api
        .call(
            "POST",
            "/compute/v2.1/os-keypairs",
            Some("application/json"),
            keypair("a\u{0}b"),
        )
        .await;
    let m = nova_fault(&r, "badRequest", 400);
    assert!(m.contains("keypair.name") && m.contains("NUL"), "{m}");
    assert_eq!(api.keypairs().await, 0);

    let r = api
        .json(
            "POST",
            "/volume/v3/volumes",
            json!({"volume": {"size": 1, "description": "x\u{0}"}}),
        )
        .await;
    nova_fault(&r, "badRequest", 400);
    // A NUL in a key is refused too.
    let r = api
        .json(
            "POST",
            "/volume/v3/volumes",
            json!({"volume": {"size": 1, "metadata": {"k\u{0}": "v"}}}),
        )
        .await;
    nova_fault(&r, "badRequest", 400);
    assert_eq!(api.volumes().await, 0);

    let r = api.json("POST", "/image/v2/images", json!({"name": "i\u{0}"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["code"], "400 Bad Request");
    assert_eq!(api.images().await, 0);

    let r = api
        .json("POST", "/identity/v3/projects", json!({"project": {"name": "p\u{0}"}}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["error"]["code"], 400);

    let r = api
        .json("POST", "/network/v2.0/networks", json!({"network": {"name": "n\u{0}"}}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["NeutronError"]["type"], "HTTPBadRequest", "{}", r.json);

    // A literal backslash-u text is no NUL.
    let r = api
        .call("POST", "/compute/v2.1/os-keypairs", Some("application/json"), {
            let mut v: Value = serde_json::from_str(&keypair("k")).unwrap();
            v["keypair"]["public_key"] = json!(format!("{} \\u0000", v["keypair"]["public_key"].as_str().unwrap()));
            v.to_string()
        })
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
}

#[tokio::test]
async fn oversized_bodies_get_413_in_the_service_style_and_deep_nesting_400() {
    let api = Api::new().await;
    let big = format!(
        r#"{{"keypair": {{"name": "k", "public_key": "{}"}}}}"#,
        "a".repeat(200_000)
    );
    let r = api
        .call("POST", "/compute/v2.1/os-keypairs", Some("application/json"), big)
        .await;
    let m = nova_fault(&r, "overLimit", 413);
    assert!(m.contains("max_request_body_size (114688)"), "{m}");
    // Without a length up front (a stream), the limit holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..40).map(|_| Ok(vec![b' '; 8192])).collect();
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    let r = api
        .call("POST", "/volume/v3/volumes", Some("application/json"), stream)
        .await;
    nova_fault(&r, "overLimit", 413);
    let r = api
        .call("POST", "/identity/v3/projects", None, vec![b' '; 200_000])
        .await;
    assert_eq!(r.status.as_u16(), 413);
    assert_eq!(r.json["error"]["code"], 413);
    // Glance and Neutron JSON: 2 MiB.
    let r = api.call("POST", "/image/v2/images", None, vec![b' '; 3 << 20]).await;
    assert_eq!(r.status.as_u16(), 413);
    assert_eq!(r.json["code"], "413 Payload Too Large", "{}", r.json);
    let r = api
        .call("POST", "/network/v2.0/networks", None, vec![b' '; 3 << 20])
        .await;
    assert_eq!(
        r.json["NeutronError"]["type"], "HTTPRequestEntityTooLarge",
        "{}",
        r.json
    );
    assert_eq!(api.keypairs().await + api.volumes().await + api.images().await, 0);

    // serde_json stops at 128 levels of nesting.
    let deep = format!(r#"{{"keypair": {}1{}}}"#, "[".repeat(200), "]".repeat(200));
    let r = api.call("POST", "/compute/v2.1/os-keypairs", None, deep).await;
    let m = nova_fault(&r, "badRequest", 400);
    assert!(m.contains("recursion limit"), "{m}");
}

#[tokio::test]
async fn nova_reboot_type_and_names() {
    let api = Api::new().await;
    let url = "/compute/v2.1/servers/00000000-0000-4000-8000-000000000000/action";
    for bad in [
        json!({"reboot": {"type": "SOFTLY"}}),
        json!({"reboot": {"type": null}}),
        json!({"reboot": {}}),
        json!({"reboot": "HARD"}),
        json!({"reboot": {"type": "HARD", "x": 1}}),
    ] {
        let r = api.json("POST", url, bad.clone()).await;
        let m = nova_fault(&r, "badRequest", 400);
        assert!(m.starts_with("Invalid input for field/attribute"), "{bad}: {m}");
    }
    for good in ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"] {
        // Valid: reaches the lookup of the (missing) server.
        let r = api.json("POST", url, json!({"reboot": {"type": good}})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{good}: {}", r.json);
    }
    // Names: printable, no leading or trailing whitespace (checked before anything else).
    for bad in [
        json!(" lead"),
        json!("trail "),
        json!("tab\there"),
        json!(""),
        json!("x".repeat(256)),
        json!(5),
    ] {
        let r = api
            .json(
                "POST",
                "/compute/v2.1/servers",
                json!({"server": {"name": bad, "imageRef": "x", "flavorRef": "1"}}),
            )
            .await;
        nova_fault(&r, "badRequest", 400);
    }
    let r = api
        .json("POST", url, json!({"createImage": {"name": "bad\nname"}}))
        .await;
    nova_fault(&r, "badRequest", 400);
}

#[tokio::test]
async fn cinder_metadata_names_and_sizes() {
    let api = Api::new().await;
    for bad in [
        json!({"size": 1, "metadata": {"a/b": "c"}}),
        json!({"size": 1, "metadata": {"": "c"}}),
        json!({"size": 1, "metadata": {"k": 1}}),
        json!({"size": 1, "metadata": {"k": "v".repeat(256)}}),
        json!({"size": 1, "metadata": ["k"]}),
        json!({"size": 1, "name": "n".repeat(256)}),
        json!({"size": 1, "description": 7}),
        json!({"size": 0}),
        json!({"size": 1.5}),
        json!({"size": "abc"}),
        json!({"size": 9_223_372_036_854_775_807i64}),
    ] {
        let r = api.json("POST", "/volume/v3/volumes", json!({ "volume": bad })).await;
        nova_fault(&r, "badRequest", 400);
    }
    assert_eq!(api.volumes().await, 0);
    let r = api
        .json(
            "POST",
            "/volume/v3/volumes",
            json!({"volume": {"size": "2", "name": "ü".repeat(255), "metadata": {"Key-1_x:y. z": "v".repeat(255)}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let id = r.json["volume"]["id"].as_str().unwrap().to_string();
    let url = format!("/volume/v3/volumes/{id}/metadata");
    let r = api.json("POST", &url, json!({"metadata": {"bad key!": "v"}})).await;
    nova_fault(&r, "badRequest", 400);
    let r = api.json("POST", &url, json!({"metadata": {"good": "v"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["metadata"]["good"], "v");
    // Image metadata takes any strings, as Cinder does (Tempest sets `ramdisk_id: somedisk`);
    // sizes are bounded, and the host spec keeps only UUID kernel/ramdisk ids.
    let action = format!("/volume/v3/volumes/{id}/action");
    for bad in [json!({"": "x"}), json!({"k": "v".repeat(65536)})] {
        let r = api
            .json("POST", &action, json!({"os-set_image_metadata": {"metadata": bad}}))
            .await;
        nova_fault(&r, "badRequest", 400);
    }
    let r = api
        .json(
            "POST",
            &action,
            json!({"os-set_image_metadata": {"metadata": {"os_command_line": "console=ttyS0", "ramdisk_id": "somedisk"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
}

#[tokio::test]
async fn glance_properties_that_reach_qemu() {
    let api = Api::new().await;
    let base = json!({"name": "i", "disk_format": "raw", "container_format": "bare"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for bad in [
        with("kernel_id", json!("../../etc/shadow")),
        with("ramdisk_id", json!("not-a-uuid")),
        with("kernel_id", json!(5)),
        with("os_command_line", json!("console=ttyS0\ninit=/bin/sh")),
        with("os_command_line", json!("x".repeat(2049))),
        with("hw_disk_bus", json!(["virtio"])),
        with("custom", json!("v".repeat(65536))),
        with(&"k".repeat(256), json!("v")),
    ] {
        let r = api.json("POST", "/image/v2/images", bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
        assert_eq!(r.json["code"], "400 Bad Request");
    }
    assert_eq!(api.images().await, 0);
    let good = with("kernel_id", json!("0f1e2d3c-0000-4000-8000-000000000001"));
    let mut good = good;
    good["os_command_line"] = json!("console=ttyS0,115200 root=/dev/vda1 rw");
    good["ramdisk_id"] = Value::Null;
    let r = api.json("POST", "/image/v2/images", good).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_string();
    let r = api
        .call(
            "PATCH",
            &format!("/image/v2/images/{id}"),
            Some("application/openstack-images-v2.1-json-patch"),
            json!([{"op": "replace", "path": "/os_command_line", "value": "a\u{7}b"}]).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
}

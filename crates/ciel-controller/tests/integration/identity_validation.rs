//! Keystone request validation through the HTTP router: each malformed body is refused with
//! Keystone's status and exact message (tests/cli/identity.sh and Tempest compare some of
//! them), and unknown attributes are kept and shown back as Keystone's "extra".

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ciel_controller::app::App;
use common::login;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    app: Arc<App>,
    token: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, doc: Value) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(format!("/identity/v3/{path}"))
            .header("x-auth-token", &self.token)
            .header("content-type", "application/json")
            .body(Body::from(doc.to_string()))
            .unwrap();
        let resp = ciel_controller::http::router(self.app.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// The request is refused with `status` and exactly `message`.
    async fn refused(&self, method: &str, path: &str, doc: Value, status: u16, message: &str) {
        let (s, v) = self.call(method, path, doc.clone()).await;
        assert_eq!(s.as_u16(), status, "{method} {path} {doc} -> {v}");
        assert_eq!(v["error"]["code"], status, "{v}");
        assert_eq!(v["error"]["message"], message, "{method} {path} {doc}");
    }

    async fn created(&self, path: &str, doc: Value) -> Value {
        let (s, v) = self.call("POST", path, doc.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{path} {doc} -> {v}");
        v
    }
}

async fn setup() -> (Api, common::tempdir::Dir) {
    let dir = common::tempdir::Dir::new();
    let mut cfg = ciel_controller::config::ControllerConfig::new(dir.0.clone(), "127.0.0.1:0".parse().unwrap());
    cfg.admin_password = Some("adminpw".into());
    let pool = ciel_controller::db::open_for_tests(&dir.0).await.unwrap();
    let app = App::new(pool, cfg).await.unwrap();
    app.bootstrap().await.unwrap();
    let (token, _) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    (Api { app, token }, dir)
}

#[tokio::test]
async fn malformed_bodies_get_keystone_texts() {
    let (api, _d) = setup().await;
    api.refused(
        "POST",
        "domains",
        json!({"domain": {}}),
        400,
        "Invalid input for field 'name': 'name' is a required property",
    )
    .await;
    api.refused(
        "POST",
        "domains",
        json!({"domain": {"name": "  "}}),
        400,
        "Invalid input for field 'name': '  ' does not match '[\\S]+'",
    )
    .await;
    api.refused(
        "POST",
        "projects",
        json!({"project": {"name": "p", "enabled": "yes"}}),
        400,
        "Invalid input for field 'enabled': \"yes\" is not of type 'boolean'",
    )
    .await;
    api.refused(
        "POST",
        "projects",
        json!({"project": {"name": "p", "tags": ["a/b"]}}),
        400,
        "Invalid input for field 'tags': 'a/b' is not a valid tag",
    )
    .await;
    api.refused(
        "POST",
        "users",
        json!({"user": {"name": "u", "options": {"nope": true}}}),
        400,
        "Invalid input for field 'options': unknown option 'nope'",
    )
    .await;
    api.refused(
        "POST",
        "roles",
        json!({"role": {"name": "r", "options": 5}}),
        400,
        "Invalid input for field 'options': 5 is not of type 'object'",
    )
    .await;
    api.refused(
        "POST",
        "endpoints",
        json!({"endpoint": {"interface": "weird", "url": "http://x", "service_id": "s"}}),
        400,
        "Invalid input for field 'interface': 'weird' is not one of [\"public\", \"internal\", \"admin\"]",
    )
    .await;
    api.refused(
        "POST",
        "endpoints",
        json!({"endpoint": {"interface": "public", "service_id": "s"}}),
        400,
        "Invalid input for field 'url': 'url' is a required property",
    )
    .await;
    api.refused(
        "PUT",
        "regions/r1",
        json!({"region": {"id": "r2"}}),
        400,
        "Conflicting region IDs specified: the URL and body differ.",
    )
    .await;
    api.refused(
        "POST",
        "credentials",
        json!({"credential": {"user_id": "u", "type": "ec2", "blob": "{}", "project_id": "p"}}),
        400,
        "Invalid blob in credential: an ec2 credential blob needs an 'access' key.",
    )
    .await;
    api.refused(
        "POST",
        "policies",
        json!({"policy": {"type": "t"}}),
        400,
        "Invalid input for field 'blob': 'blob' is a required property",
    )
    .await;
    api.refused(
        "POST",
        "users/nobody/password",
        json!({"user": {"password": "x"}}),
        400,
        "Invalid input for field 'original_password': 'original_password' is a required property",
    )
    .await;
    api.refused(
        "POST",
        "groups",
        json!({"group": "g"}),
        400,
        "Invalid input for field 'group': \"g\" is not of type 'object'",
    )
    .await;
}

#[tokio::test]
async fn updates_check_against_the_stored_resource() {
    let (api, _d) = setup().await;
    let u = api.created("users", json!({"user": {"name": "uu"}})).await;
    let uid = u["user"]["id"].as_str().unwrap().to_string();
    api.refused(
        "PATCH",
        &format!("users/{uid}"),
        json!({"user": {"id": "other"}}),
        400,
        "Cannot change user ID",
    )
    .await;
    api.refused(
        "PATCH",
        &format!("users/{uid}"),
        json!({"user": {"domain_id": "elsewhere"}}),
        400,
        "Cannot change Domain ID",
    )
    .await;
    let p = api.created("projects", json!({"project": {"name": "pp"}})).await;
    let pid = p["project"]["id"].as_str().unwrap().to_string();
    api.refused(
        "PATCH",
        &format!("projects/{pid}"),
        json!({"project": {"parent_id": "x"}}),
        403,
        "Update of `parent_id` is not allowed.",
    )
    .await;
    api.refused(
        "PATCH",
        &format!("projects/{pid}"),
        json!({"project": {"domain_id": null}}),
        400,
        "Update of `domain_id` is not allowed.",
    )
    .await;
    let (s, v) = api
        .call(
            "PATCH",
            &format!("projects/{pid}"),
            json!({"project": {"domain_id": "default", "name": "pq"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["project"]["name"], "pq");
}

#[tokio::test]
async fn unknown_attributes_are_kept_as_extra() {
    let (api, _d) = setup().await;
    let d = api
        .created(
            "domains",
            json!({"domain": {"name": "dx", "colour": "blue", "links": "dropped"}}),
        )
        .await;
    assert_eq!(d["domain"]["colour"], "blue");
    assert!(d["domain"]["links"].is_object(), "links are ours: {d}");
    let id = d["domain"]["id"].as_str().unwrap().to_string();
    let (s, v) = api
        .call("PATCH", &format!("domains/{id}"), json!({"domain": {"size": 3}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["domain"]["colour"], "blue");
    assert_eq!(v["domain"]["size"], 3);
    // A project created with is_domain is a domain; its tags and unknown attributes stay extra.
    let p = api
        .created(
            "projects",
            json!({"project": {"name": "pd", "is_domain": true, "shape": "round"}}),
        )
        .await;
    assert_eq!(p["project"]["is_domain"], true, "{p}");
    assert_eq!(p["project"]["shape"], "round", "{p}");
}

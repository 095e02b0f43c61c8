//! Nova's typed requests besides servers, through the router: each bad body gets the status
//! and the exact text Ciel answered before the bodies were typed (Tempest and tests/cli check
//! some), and the matching good body still works.

use crate::common;

use axum::body::Body;
use axum::http::Request;
use ciel_controller::app::App;
use common::login;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    app: Arc<App>,
    token: String,
    project: String,
    _dir: common::tempdir::Dir,
}

impl Api {
    async fn new() -> Api {
        let (app, dir) = common::app().await;
        let (token, caller) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
        let project = caller.project_id().unwrap().to_string();
        Api {
            app,
            token,
            project,
            _dir: dir,
        }
    }

    /// (status, body) of `method uri` with `body` at microversion 2.`minor`.
    async fn call(&self, method: &str, uri: &str, minor: u16, body: Value) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-auth-token", &self.token)
            .header("content-type", "application/json")
            .header("openstack-api-version", format!("compute 2.{minor}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = ciel_controller::http::router(self.app.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Sends each bad request and checks Nova's fault: the status and the exact message.
    async fn refuses(&self, cases: &[(&str, &str, u16, Value, u16, &str)]) {
        for (method, uri, minor, body, code, message) in cases {
            let (status, got) = self
                .call(method, &format!("/compute/v2.1{uri}"), *minor, body.clone())
                .await;
            assert_eq!(status, *code, "{method} {uri} {body}: {got}");
            let fault = got
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or_default();
            assert_eq!(fault["code"], *code, "{method} {uri} {body}: {got}");
            assert_eq!(fault["message"], *message, "{method} {uri} {body}");
        }
    }
}

#[tokio::test]
async fn flavors_refuse_with_novas_texts() {
    let api = Api::new().await;
    api.app.seed_default_flavors().await.unwrap();
    let f = |extra: Value| {
        let mut v = json!({"name": "x", "ram": 1, "vcpus": 1, "disk": 0});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({ "flavor": v })
    };
    api.refuses(&[
        ("POST", "/flavors", 1, f(json!({"name": " x"})), 400, "Invalid input for field/attribute name. Value must be a 1 to 255 character string without leading or trailing spaces."),
        ("POST", "/flavors", 1, f(json!({"ram": 0})), 400, "Invalid input for field/attribute ram. Value must be an integer >= 1."),
        ("POST", "/flavors", 1, f(json!({"disk": null})), 400, "Invalid input for field/attribute flavor. 'disk' is a required property"),
        ("POST", "/flavors", 1, f(json!({"id": "a/b"})), 400, "Invalid input for field/attribute id. Value: \"a/b\"."),
        ("POST", "/flavors", 1, f(json!({"rxtx_factor": 0})), 400, "Invalid input for field/attribute rxtx_factor."),
        ("POST", "/flavors", 1, f(json!({"os-flavor-access:is_public": "maybe"})), 400, "Invalid input for field/attribute os-flavor-access:is_public. Value: \"maybe\"."),
        ("POST", "/flavors", 55, f(json!({"description": 5})), 400, "Invalid input for field/attribute description."),
        ("POST", "/flavors", 1, json!({"flavour": {}}), 400, "Invalid input for field 'flavor': 'flavor' is a required property"),
        ("POST", "/flavors", 1, f(json!({"name": "m1.nano"})), 409, "Flavor with name m1.nano already exists."),
        ("PUT", "/flavors/1", 55, json!({"flavor": {"name": "y"}}), 400, "Invalid input for field/attribute flavor. Only 'description' can be updated."),
        ("POST", "/flavors/1/os-extra_specs", 1, json!({"extra_specs": {"bad/key": "v"}}), 400, "Invalid input for field/attribute extra_specs. Additional properties are not allowed ('bad/key' was unexpected)"),
        ("POST", "/flavors/1/os-extra_specs", 1, json!({"extra_specs": {"k": [1]}}), 400, "Invalid input for field/attribute k. Value: [1] is not a string or number"),
        ("PUT", "/flavors/1/os-extra_specs/a", 1, json!({"b": "1"}), 400, "Request body and URI mismatch"),
        ("PUT", "/flavors/1/os-extra_specs/a", 1, json!(["a"]), 400, "Malformed request body"),
        ("POST", "/flavors/1/action", 1, json!({"addTenantAccess": {}}), 400, "Invalid input for field/attribute tenant."),
        ("POST", "/flavors/1/action", 1, json!({"grant": {}}), 400, "Invalid flavor action: expected addTenantAccess or removeTenantAccess."),
        ("POST", "/flavors/1/action", 1, json!({"addTenantAccess": {"tenant": "p"}}), 409, "Can not add access to a public flavor."),
    ])
    .await;

    let (status, got) = api
        .call(
            "POST",
            "/compute/v2.1/flavors",
            61,
            f(json!({"id": 77, "ram": "64", "description": "d", "os-flavor-access:is_public": false})),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (
            &got["flavor"]["id"],
            &got["flavor"]["ram"],
            &got["flavor"]["description"]
        ),
        (&json!("77"), &json!(64), &json!("d"))
    );
    let (_, got) = api
        .call(
            "POST",
            "/compute/v2.1/flavors",
            54,
            f(json!({"name": "old", "description": "d"})),
        )
        .await;
    assert!(
        got["flavor"].get("description").is_none(),
        "no description before 2.55: {got}"
    );
    let (status, got) = api
        .call("PUT", "/compute/v2.1/flavors/77/os-extra_specs/n", 1, json!({"n": 4}))
        .await;
    assert_eq!((status, got), (200, json!({"n": "4"})));
    let (status, got) = api
        .call(
            "POST",
            "/compute/v2.1/flavors/77/action",
            1,
            json!({"addTenantAccess": {"tenant": "p1"}}),
        )
        .await;
    assert_eq!(
        (status, &got["flavor_access"][0]["tenant_id"]),
        (200, &json!("p1")),
        "{got}"
    );
    let (status, got) = api
        .call(
            "PUT",
            "/compute/v2.1/flavors/77",
            55,
            json!({"flavor": {"description": null}}),
        )
        .await;
    assert_eq!((status, &got["flavor"]["description"]), (200, &Value::Null), "{got}");
}

#[tokio::test]
async fn keypairs_refuse_by_microversion() {
    let api = Api::new().await;
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDhHHJUqGpVfMxzBlKbWcR8Bd0hLEbQWHPBcTYS2mJfX t@x";
    api.refuses(&[
        ("POST", "/os-keypairs", 1, json!({"keypair": {"name": "k", "type": "ssh", "public_key": key}}), 400, "Invalid input for field/attribute keypair. Additional properties are not allowed ('type' was unexpected)"),
        ("POST", "/os-keypairs", 9, json!({"keypair": {"name": "k", "user_id": "u", "public_key": key}}), 400, "Invalid input for field/attribute keypair. Additional properties are not allowed ('user_id' was unexpected)"),
        ("POST", "/os-keypairs", 2, json!({"keypair": {"name": "k", "type": "pgp", "public_key": key}}), 400, "Invalid input for field/attribute type. Value: \"pgp\"."),
        ("POST", "/os-keypairs", 10, json!({"keypair": {"name": "k", "user_id": 5, "public_key": key}}), 400, "Invalid input for field/attribute user_id. Value: 5."),
        ("POST", "/os-keypairs", 1, json!({"keypair": {"name": "bad#", "public_key": key}}), 400, "Keypair data is invalid: Keypair name contains unsafe characters or has an invalid length"),
        ("POST", "/os-keypairs", 1, json!({"keypair": {"name": 5, "public_key": key}}), 400, "Invalid input for field/attribute name."),
        ("POST", "/os-keypairs", 1, json!({"keypair": {"name": "k", "public_key": 1}}), 400, "Invalid input for field/attribute public_key."),
        ("POST", "/os-keypairs", 1, json!({"keypair": {"name": "k", "public_key": "ssh-rsa garbage"}}), 400, "Keypair data is invalid: failed to generate fingerprint"),
    ])
    .await;
    let (status, got) = api
        .call(
            "POST",
            "/compute/v2.1/os-keypairs",
            2,
            json!({"keypair": {"name": "k", "type": "ssh", "public_key": key}}),
        )
        .await;
    assert_eq!((status, &got["keypair"]["type"]), (201, &json!("ssh")), "{got}");
    api.refuses(&[(
        "POST",
        "/os-keypairs",
        2,
        json!({"keypair": {"name": "k", "public_key": key}}),
        409,
        "Key pair 'k' already exists.",
    )])
    .await;
}

#[tokio::test]
async fn aggregates_server_groups_quotas_hosts_consoles_metadata() {
    let api = Api::new().await;
    let (status, got) = api
        .call(
            "POST",
            "/compute/v2.1/os-aggregates",
            1,
            json!({"aggregate": {"name": "agg", "availability_zone": null}}),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    let agg = format!("/os-aggregates/{}", got["aggregate"]["id"]);
    let action = format!("{agg}/action");
    let quota = format!("/os-quota-sets/{}", api.project);
    let many: serde_json::Map<String, Value> = (0..129).map(|i| (format!("k{i}"), json!("v"))).collect();
    api.refuses(&[
        ("POST", "/os-aggregates", 1, json!({"aggregate": {"name": " "}}), 400, "Invalid input for field/attribute name."),
        ("POST", "/os-aggregates", 1, json!({"aggregate": {"name": 5}}), 400, "Invalid input for field/attribute name. Value: 5."),
        ("PUT", &agg, 1, json!({"aggregate": {"availability_zone": 5}}), 400, "Invalid input for field/attribute availability_zone. Value: 5."),
        ("POST", &action, 1, json!({"explode": {}}), 400, "There is no such action: explode"),
        ("POST", &action, 1, json!({"add_host": {}, "remove_host": {}}), 400, "Malformed request body: expected exactly one action"),
        ("POST", &action, 1, json!({"add_host": {}}), 400, "Invalid input for field/attribute host."),
        ("POST", &action, 1, json!({"set_metadata": {"metadata": {"a": 1}}}), 400, "Invalid metadata value for a: 1"),
        ("POST", &action, 1, json!({"set_metadata": {}}), 400, "Invalid input for field/attribute metadata."),
        ("POST", "/os-server-groups", 64, json!({"server_group": {"name": "g", "policy": "near"}}), 400, "Invalid input for field/attribute policy. Value: near."),
        ("POST", "/os-server-groups", 64, json!({"server_group": {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}}), 400, "Invalid input for field/attribute rules."),
        ("POST", "/os-server-groups", 1, json!({"server_group": {"name": "g", "policy": "affinity"}}), 400, "Invalid input for field/attribute policies."),
        ("POST", "/os-server-groups", 1, json!({"server_group": {"name": "g", "policies": ["affinity"], "x": 1}}), 400, "Additional properties are not allowed ('x' was unexpected)"),
        ("POST", "/os-server-groups", 1, json!({"server_group": {"name": " ", "policies": ["affinity"]}}), 400, "Invalid input for field/attribute name."),
        ("PUT", &quota, 36, json!({"quota_set": {"floating_ips": 1}}), 400, "Invalid input for field/attribute quota_set. Additional properties are not allowed ('floating_ips' was unexpected)"),
        ("PUT", &quota, 1, json!({"quota_set": {"ram": -2}}), 400, "Invalid input for field/attribute ram. Value: -2."),
        ("PUT", "/os-quota-class-sets/default", 1, json!({"quota_class_set": {"force": true}}), 400, "Invalid input for field/attribute quota_class_set. Additional properties are not allowed ('force' was unexpected)"),
        ("PUT", "/os-hosts/nohost", 1, json!({"status": "on"}), 400, "Invalid input for field/attribute status. Value: \"on\"."),
        ("PUT", "/os-hosts/nohost", 1, json!({}), 400, "'status' or 'maintenance_mode' needed for host update"),
        ("POST", "/servers/none/remote-consoles", 6, json!({"remote_console": {"protocol": "spice", "type": "spice-html5"}}), 400, "Unsupported console type spice/spice-html5: Ciel serves vnc/novnc."),
        ("POST", "/servers/none/remote-consoles", 6, json!({"remote_console": {"protocol": "vnc"}}), 400, "Invalid input for field/attribute type."),
        ("POST", "/servers/none/metadata", 1, json!({"metadata": {"a": 1}}), 400, "Invalid input for field/attribute a. Value: 1. 1 is not of type 'string'"),
        ("POST", "/servers/none/metadata", 1, json!({ "metadata": many }), 403, "Quota exceeded for metadata_items: Requested more than 128 metadata items"),
        ("PUT", "/servers/none/metadata/k", 1, json!({"meta": {"j": "v"}}), 400, "Request body and URI mismatch"),
        ("PUT", "/servers/none/metadata/k", 1, json!({"meta": {"k": "v", "j": "v"}}), 400, "Request body contains too many items"),
        ("PUT", "/servers/none/tags", 26, json!({"tags": "a"}), 400, "Invalid input for field/attribute tags."),
        ("PUT", "/servers/none/tags", 26, json!({"tags": ["a/b"]}), 400, "Invalid input for field/attribute tag. Value: a/b."),
        ("POST", "/servers/none/os-volume_attachments", 1, json!({"volumeAttachment": {}}), 400, "Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property"),
    ])
    .await;

    let (status, got) = api
        .call(
            "POST",
            &format!("/compute/v2.1{action}"),
            1,
            json!({"set_metadata": {"metadata": {"a": "b", "c": null}}}),
        )
        .await;
    assert_eq!(
        (status, &got["aggregate"]["metadata"]),
        (200, &json!({"a": "b"})),
        "{got}"
    );
    let (status, got) = api
        .call(
            "POST",
            "/compute/v2.1/os-server-groups",
            64,
            json!({"server_group": {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}}),
        )
        .await;
    assert_eq!(
        (status, &got["server_group"]["rules"]),
        (200, &json!({"max_server_per_host": 2})),
        "{got}"
    );
    let (status, got) = api
        .call(
            "POST",
            "/compute/v2.1/os-server-groups",
            1,
            json!({"server_group": {"name": "h", "policies": ["soft-affinity"]}}),
        )
        .await;
    assert_eq!(
        (status, &got["server_group"]["policies"]),
        (200, &json!(["soft-affinity"])),
        "{got}"
    );
    let (status, got) = api
        .call(
            "PUT",
            &format!("/compute/v2.1{quota}"),
            1,
            json!({"quota_set": {"instances": "3", "force": true, "floating_ips": 4}}),
        )
        .await;
    assert_eq!(
        (
            status,
            &got["quota_set"]["instances"],
            &got["quota_set"]["floating_ips"]
        ),
        (200, &json!(3), &json!(4)),
        "{got}"
    );
}

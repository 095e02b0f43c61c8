//! Cinder's transfers, QoS specs, services/pools/hosts/capabilities and per volume type
//! quotas, through the router as the clients call them: Cinder's bodies and status codes,
//! who may do what, and what each changes (the volume changing project, the quotas moving,
//! the I/O limits reaching the host's desired state).

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ciel_controller::app::App;
use ciel_controller::db::sql;
use common::login;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

pub(crate) struct Cloud {
    pub(crate) app: Arc<App>,
    pub(crate) admin: String,
    /// Members of projects A and B.
    pub(crate) a: String,
    pub(crate) b: String,
    pub(crate) project_a: String,
    pub(crate) project_b: String,
    pub(crate) host_id: String,
    _dir: common::tempdir::Dir,
}

pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) json: Value,
}

pub(crate) async fn call(app: &Arc<App>, token: &str, method: &str, uri: &str, mv: &str, body: Option<Value>) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-auth-token", token)
        .header("openstack-api-version", format!("volume {mv}"))
        .header("x-openstack-nova-api-version", "2.79");
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = ciel_controller::http::router(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Resp {
        status,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

impl Cloud {
    pub(crate) async fn new() -> Cloud {
        let (app, dir) = common::app().await;
        app.seed_default_flavors().await.unwrap();
        let (host, _) = common::register_fake_host(&app, "h1", None, &[]).await;
        let (admin, admin_c) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
        let mut ids = vec![];
        for (p, u) in [("pa", "ua"), ("pb", "ub")] {
            let r = call(
                &app,
                &admin,
                "POST",
                "/identity/v3/projects",
                "3.0",
                Some(json!({"project": {"name": p, "domain_id": "default"}})),
            )
            .await;
            let pid = r.json["project"]["id"].as_str().unwrap().to_string();
            let r = call(
                &app,
                &admin,
                "POST",
                "/identity/v3/users",
                "3.0",
                Some(json!({"user": {"name": u, "domain_id": "default", "password": "secretpw1"}})),
            )
            .await;
            let uid = r.json["user"]["id"].as_str().unwrap().to_string();
            common::grant_user_project(&app, &admin_c, &uid, &pid, "member").await;
            ids.push(pid);
        }
        let (a, _) = login(&app, "ua", "secretpw1", Some("pa")).await.unwrap();
        let (b, _) = login(&app, "ub", "secretpw1", Some("pb")).await.unwrap();
        Cloud {
            app,
            admin,
            a,
            b,
            project_a: ids[0].clone(),
            project_b: ids[1].clone(),
            host_id: host.id,
            _dir: dir,
        }
    }

    pub(crate) async fn req(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        call(&self.app, token, method, &format!("/volume/v3{path}"), "3.0", body).await
    }

    pub(crate) async fn req_at(&self, mv: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        call(&self.app, token, method, &format!("/volume/v3{path}"), mv, body).await
    }

    /// An `available` volume of `token`'s project.
    pub(crate) async fn volume(&self, token: &str, extra: Value) -> String {
        let mut v = json!({"size": 1, "name": "v"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        let r = self.req(token, "POST", "/volumes", Some(json!({ "volume": v }))).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        let id = r.json["volume"]["id"].as_str().unwrap().to_string();
        self.set_status("volumes", &id, "available").await;
        id
    }

    pub(crate) async fn set_status(&self, table: &str, id: &str, status: &str) {
        sql::query(&format!("UPDATE {table} SET status = ? WHERE id = ?"))
            .bind(status)
            .bind(id)
            .execute(&self.app.db)
            .await
            .unwrap();
    }

    pub(crate) async fn volume_status(&self, id: &str) -> String {
        let r = self.req(&self.admin, "GET", &format!("/volumes/{id}"), None).await;
        r.json["volume"]["status"].as_str().unwrap_or_default().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_moves_the_volume_its_snapshots_and_their_quota() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a, json!({})).await;
    let snap = c
        .req(
            &c.a,
            "POST",
            "/snapshots",
            Some(json!({"snapshot": {"volume_id": vol}})),
        )
        .await;
    let snap = snap.json["snapshot"]["id"].as_str().unwrap().to_string();

    // A snapshot that is not available blocks a transfer with snapshots.
    let r = c
        .req(
            &c.a,
            "POST",
            "/os-volume-transfer",
            Some(json!({"transfer": {"volume_id": vol}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    c.set_status("volume_snapshots", &snap, "available").await;

    for (body, want) in [
        (json!({"transfer": {}}), "'volume_id' is a required property"),
        (json!({"transfer": {"volume_id": "nope"}}), "is not a 'uuid'"),
        (
            json!({"transfer": {"volume_id": vol, "name": 5}}),
            "is not of type 'string'",
        ),
    ] {
        let r = c.req(&c.a, "POST", "/os-volume-transfer", Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            r.json["badRequest"]["message"].as_str().unwrap().contains(want),
            "{}",
            r.json
        );
    }
    let r = c
        .req(
            &c.b,
            "POST",
            "/os-volume-transfer",
            Some(json!({"transfer": {"volume_id": vol}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another project's volume is not there");

    let r = c
        .req(
            &c.a,
            "POST",
            "/os-volume-transfer",
            Some(json!({"transfer": {"volume_id": vol, "name": "t"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let t = &r.json["transfer"];
    let (tid, key) = (
        t["id"].as_str().unwrap().to_string(),
        t["auth_key"].as_str().unwrap().to_string(),
    );
    assert_eq!(key.len(), 16);
    assert!(t["created_at"].is_string() && t["links"].is_array());
    assert_eq!(c.volume_status(&vol).await, "awaiting-transfer");
    let r = c
        .req(
            &c.a,
            "POST",
            "/os-volume-transfer",
            Some(json!({"transfer": {"volume_id": vol}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "one offer at a time");

    let r = c.req(&c.a, "GET", "/os-volume-transfer", None).await;
    assert_eq!(r.json["transfers"].as_array().unwrap().len(), 1);
    assert!(r.json["transfers"][0].get("created_at").is_none(), "the short list");
    let r = c.req(&c.a, "GET", "/os-volume-transfer/detail", None).await;
    assert!(r.json["transfers"][0]["created_at"].is_string());
    let r = c.req(&c.b, "GET", "/os-volume-transfer", None).await;
    assert!(r.json["transfers"].as_array().unwrap().is_empty(), "B sees no offer");
    let r = c.req(&c.b, "GET", &format!("/os-volume-transfer/{tid}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.req(&c.b, "DELETE", &format!("/os-volume-transfer/{tid}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A wrong key, then B's quota too small: nothing moves.
    let accept = |k: &str| Some(json!({"accept": {"auth_key": k}}));
    let r = c
        .req(
            &c.b,
            "POST",
            &format!("/os-volume-transfer/{tid}/accept"),
            accept("0000"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json["badRequest"]["message"],
        format!("Invalid auth key: Attempt to transfer {tid} with invalid auth key.")
    );
    let r = c
        .req(
            &c.b,
            "POST",
            &format!("/os-volume-transfer/{tid}/accept"),
            Some(json!({"accept": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let quota = format!("/os-quota-sets/{}", c.project_b);
    c.req(&c.admin, "PUT", &quota, Some(json!({"quota_set": {"snapshots": 0}})))
        .await;
    let r = c
        .req(&c.b, "POST", &format!("/os-volume-transfer/{tid}/accept"), accept(&key))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.json);
    assert_eq!(c.volume_status(&vol).await, "awaiting-transfer");
    c.req(&c.admin, "PUT", &quota, Some(json!({"quota_set": {"snapshots": 10}})))
        .await;

    let r = c
        .req(&c.b, "POST", &format!("/os-volume-transfer/{tid}/accept"), accept(&key))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(r.json["transfer"]["volume_id"], json!(vol));
    let r = c.req(&c.b, "GET", &format!("/volumes/{vol}"), None).await;
    assert_eq!(r.json["volume"]["status"], "available");
    let r = c.req(&c.a, "GET", &format!("/volumes/{vol}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "A no longer has it");
    let r = c.req(&c.b, "GET", &format!("/snapshots/{snap}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "the snapshot went along");
    let r = c.req(&c.admin, "GET", &format!("{quota}?usage=True"), None).await;
    assert_eq!(r.json["quota_set"]["volumes"]["in_use"], 1);
    assert_eq!(r.json["quota_set"]["snapshots"]["in_use"], 1);
    assert_eq!(r.json["quota_set"]["gigabytes"]["in_use"], 2);
    assert_eq!(r.json["quota_set"]["volumes___DEFAULT__"]["in_use"], 1);
    let r = c
        .req(
            &c.admin,
            "GET",
            &format!("/os-quota-sets/{}?usage=True", c.project_a),
            None,
        )
        .await;
    assert_eq!(r.json["quota_set"]["volumes"]["in_use"], 0, "A's usage went with it");
    let r = c
        .req(&c.b, "POST", &format!("/os-volume-transfer/{tid}/accept"), accept(&key))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "an accepted transfer is done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_355_transfers_api_leaves_snapshots_and_shows_projects_at_357() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a, json!({})).await;
    let snap = c
        .req(
            &c.a,
            "POST",
            "/snapshots",
            Some(json!({"snapshot": {"volume_id": vol}})),
        )
        .await;
    let snap = snap.json["snapshot"]["id"].as_str().unwrap().to_string();
    let r = c.req_at("3.54", &c.a, "GET", "/volume-transfers", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not before 3.55");
    let r = c
        .req_at(
            "3.57",
            &c.a,
            "POST",
            "/volume-transfers",
            Some(json!({"transfer": {"volume_id": vol, "no_snapshots": true}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let t = &r.json["transfer"];
    assert_eq!(t["source_project_id"], json!(c.project_a));
    assert_eq!(t["destination_project_id"], Value::Null);
    assert_eq!(t["accepted"], false);
    let (tid, key) = (
        t["id"].as_str().unwrap().to_string(),
        t["auth_key"].as_str().unwrap().to_string(),
    );
    let r = c
        .req_at("3.55", &c.a, "GET", &format!("/volume-transfers/{tid}"), None)
        .await;
    assert!(r.json["transfer"].get("accepted").is_none(), "3.55 bodies: {}", r.json);
    assert!(r.json["transfer"]["links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("/volume-transfers/"));
    let r = c
        .req_at(
            "3.55",
            &c.b,
            "POST",
            &format!("/volume-transfers/{tid}/accept"),
            Some(json!({"accept": {"auth_key": key}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let r = c.req(&c.a, "GET", &format!("/snapshots/{snap}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "no_snapshots: the snapshot stays with A");
    let r = c.req(&c.b, "GET", &format!("/volumes/{vol}"), None).await;
    assert_eq!(r.status, StatusCode::OK);

    // Withdrawing an offer makes the volume available again.
    let vol2 = c.volume(&c.a, json!({})).await;
    let r = c
        .req_at(
            "3.55",
            &c.a,
            "POST",
            "/volume-transfers",
            Some(json!({"transfer": {"volume_id": vol2}})),
        )
        .await;
    let tid = r.json["transfer"]["id"].as_str().unwrap().to_string();
    let r = c
        .req_at("3.55", &c.a, "DELETE", &format!("/volume-transfers/{tid}"), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(c.volume_status(&vol2).await, "available");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_specs_are_admin_only_and_checked() {
    let c = Cloud::new().await;
    let r = c.req(&c.a, "GET", "/qos-specs", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .req(
            &c.admin,
            "POST",
            "/qos-specs",
            Some(json!({"qos_specs": {"name": "fast", "consumer": "front-end", "read_iops_sec": "2000"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["qos_specs"]["specs"], json!({"read_iops_sec": "2000"}));
    assert!(r.json["links"].is_array());
    let id = r.json["qos_specs"]["id"].as_str().unwrap().to_string();
    for (body, status) in [
        (json!({"qos_specs": {"name": "fast"}}), StatusCode::CONFLICT),
        (
            json!({"qos_specs": {"name": "x", "consumer": "middle"}}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"qos_specs": {"consumer": "both"}}), StatusCode::BAD_REQUEST),
        (
            json!({"qos_specs": {"name": "x", "total_iops_sec": "lots"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"qos_specs": {"name": "x", "total_iops_sec": "-1"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"qos_specs": {"name": "x", "total_bytes_sec": "10", "read_bytes_sec": "5"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"qos_specs": {"name": "x", "read_iops_sec_max": "10"}}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = c.req(&c.admin, "POST", "/qos-specs", Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {}", r.json);
    }
    let r = c
        .req(
            &c.admin,
            "POST",
            "/qos-specs",
            Some(json!({"qos_specs": {"name": "plain"}})),
        )
        .await;
    assert_eq!(r.json["qos_specs"]["consumer"], "back-end", "Cinder's default consumer");

    let r = c
        .req(
            &c.admin,
            "PUT",
            &format!("/qos-specs/{id}"),
            Some(json!({"qos_specs": {"iops_bytes": "500"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json, json!({"qos_specs": {"iops_bytes": "500"}}));
    let r = c
        .req(
            &c.admin,
            "PUT",
            &format!("/qos-specs/{id}"),
            Some(json!({"qos_specs": {"read_iops_sec": "x"}})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "values the front end honours are integers"
    );
    let r = c
        .req(
            &c.admin,
            "PUT",
            &format!("/qos-specs/{id}/delete_keys"),
            Some(json!({"keys": ["iops_bytes"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c
        .req(
            &c.admin,
            "PUT",
            &format!("/qos-specs/{id}/delete_keys"),
            Some(json!({"keys": ["iops_bytes"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.req(&c.admin, "GET", &format!("/qos-specs/{id}"), None).await;
    assert_eq!(r.json["qos_specs"]["specs"], json!({"read_iops_sec": "2000"}));

    // Associations.
    let r = c
        .req(
            &c.admin,
            "POST",
            "/types",
            Some(json!({"volume_type": {"name": "gold"}})),
        )
        .await;
    let ty = r.json["volume_type"]["id"].as_str().unwrap().to_string();
    let r = c
        .req(&c.admin, "GET", &format!("/qos-specs/{id}/associate"), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "vol_type_id is required");
    let r = c
        .req(
            &c.admin,
            "GET",
            &format!("/qos-specs/{id}/associate?vol_type_id={}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .req(
            &c.admin,
            "GET",
            &format!("/qos-specs/{id}/associate?vol_type_id={ty}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c.req(&c.admin, "GET", &format!("/types/{ty}"), None).await;
    assert_eq!(r.json["volume_type"]["qos_specs_id"], json!(id));
    let r = c
        .req(&c.admin, "GET", &format!("/qos-specs/{id}/associations"), None)
        .await;
    assert_eq!(
        r.json,
        json!({"qos_associations": [{"association_type": "volume_type", "id": ty, "name": "gold"}]})
    );
    let r = c.req(&c.admin, "DELETE", &format!("/qos-specs/{id}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "still associated");
    let r = c
        .req(&c.admin, "GET", &format!("/qos-specs/{id}/disassociate_all"), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c
        .req(&c.admin, "GET", &format!("/qos-specs/{id}/associations"), None)
        .await;
    assert_eq!(r.json["qos_associations"], json!([]));
    let r = c.req(&c.admin, "DELETE", &format!("/qos-specs/{id}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c.req(&c.admin, "GET", &format!("/qos-specs/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_end_qos_reaches_the_attached_disk_as_a_throttle() {
    let c = Cloud::new().await;
    let r = c
        .req(&c.admin, "POST", "/qos-specs",
            Some(json!({"qos_specs": {"name": "slow", "consumer": "both", "total_iops_sec": "100", "read_bytes_sec": "1048576"}})))
        .await;
    let qos = r.json["qos_specs"]["id"].as_str().unwrap().to_string();
    let r = c
        .req(
            &c.admin,
            "POST",
            "/types",
            Some(json!({"volume_type": {"name": "slow"}})),
        )
        .await;
    let ty = r.json["volume_type"]["id"].as_str().unwrap().to_string();
    c.req(
        &c.admin,
        "GET",
        &format!("/qos-specs/{qos}/associate?vol_type_id={ty}"),
        None,
    )
    .await;
    let vol = c.volume(&c.a, json!({"volume_type": "slow"})).await;

    // A server of A on the host, active, with the volume attached.
    let image = uuid::Uuid::new_v4().to_string();
    call(
        &c.app,
        &c.a,
        "POST",
        "/image/v2/images",
        "3.0",
        Some(json!({"id": image, "name": "img", "disk_format": "raw", "container_format": "bare"})),
    )
    .await;
    sql::query("UPDATE images SET status = 'active', size = 1024 WHERE id = ?")
        .bind(&image)
        .execute(&c.app.db)
        .await
        .unwrap();
    let net = call(
        &c.app,
        &c.a,
        "POST",
        "/network/v2.0/networks",
        "3.0",
        Some(json!({"network": {"name": "n"}})),
    )
    .await;
    let net = net.json["network"]["id"].as_str().unwrap().to_string();
    call(
        &c.app,
        &c.a,
        "POST",
        "/network/v2.0/subnets",
        "3.0",
        Some(json!({"subnet": {"network_id": net, "cidr": "10.9.0.0/24", "ip_version": 4}})),
    )
    .await;
    let flavors = call(&c.app, &c.a, "GET", "/compute/v2.1/flavors", "3.0", None).await;
    let flavor = flavors.json["flavors"][0]["id"].as_str().unwrap().to_string();
    let s = call(
        &c.app,
        &c.a,
        "POST",
        "/compute/v2.1/servers",
        "3.0",
        Some(json!({"server": {"name": "s", "imageRef": image, "flavorRef": flavor, "networks": [{"uuid": net}]}})),
    )
    .await;
    assert_eq!(s.status, StatusCode::ACCEPTED, "{}", s.json);
    let server = s.json["server"]["id"].as_str().unwrap().to_string();
    sql::query("UPDATE servers SET vm_state = 'active', task_state = NULL WHERE id = ?")
        .bind(&server)
        .execute(&c.app.db)
        .await
        .unwrap();
    let r = call(
        &c.app,
        &c.a,
        "POST",
        &format!("/compute/v2.1/servers/{server}/os-volume_attachments"),
        "3.0",
        Some(json!({"volumeAttachment": {"volumeId": vol}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);

    let throttle = || async {
        let host = ciel_controller::db::compute::hosts::get(&c.app.db, &c.host_id)
            .await
            .unwrap()
            .unwrap();
        let cfg = c.app.host_config(&host, 0, std::time::Duration::ZERO).await.unwrap();
        let vm = cfg.vms.iter().find(|v| v.id == server).unwrap().clone();
        vm.volumes.iter().find(|a| a.volume_id == vol).unwrap().throttle
    };
    let t = throttle().await.expect("a throttle on the disk");
    assert_eq!(
        (t.total_iops_sec, t.read_bytes_sec, t.write_bytes_sec),
        (100, 1048576, 0)
    );

    // Changing the spec changes the disk's limits; back-end only specs lift them.
    let gen_before = ciel_controller::db::compute::hosts::get(&c.app.db, &c.host_id)
        .await
        .unwrap()
        .unwrap()
        .generation;
    c.req(
        &c.admin,
        "PUT",
        &format!("/qos-specs/{qos}"),
        Some(json!({"qos_specs": {"total_iops_sec": "50"}})),
    )
    .await;
    let gen_after = ciel_controller::db::compute::hosts::get(&c.app.db, &c.host_id)
        .await
        .unwrap()
        .unwrap()
        .generation;
    assert!(gen_after > gen_before, "the host is told");
    assert_eq!(throttle().await.unwrap().total_iops_sec, 50);
    c.req(
        &c.admin,
        "GET",
        &format!("/qos-specs/{qos}/disassociate?vol_type_id={ty}"),
        None,
    )
    .await;
    assert_eq!(throttle().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_pools_hosts_and_capabilities_describe_the_hosts() {
    let c = Cloud::new().await;
    let r = c.req(&c.a, "GET", "/os-services", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c.req(&c.admin, "GET", "/os-services", None).await;
    let services = r.json["services"].as_array().unwrap().clone();
    let vol = services.iter().find(|s| s["binary"] == "cinder-volume").unwrap();
    assert_eq!(vol["host"], "h1@file");
    assert_eq!(vol["state"], "up");
    assert_eq!(vol["status"], "enabled");
    assert!(services
        .iter()
        .any(|s| s["binary"] == "cinder-scheduler" && s["state"] == "up"));
    let r = c
        .req(&c.admin, "GET", "/os-services?binary=cinder-volume&host=h1@file", None)
        .await;
    assert_eq!(r.json["services"].as_array().unwrap().len(), 1);
    let r = c
        .req_at("3.49", &c.admin, "GET", "/os-services?binary=cinder-volume", None)
        .await;
    assert_eq!(r.json["services"][0]["backend_state"], "up");
    assert_eq!(r.json["services"][0]["cluster"], Value::Null);

    // The host goes quiet: its backend is down.
    sql::query("UPDATE hosts SET last_seen = 0 WHERE id = ?")
        .bind(&c.host_id)
        .execute(&c.app.db)
        .await
        .unwrap();
    let r = c.req(&c.admin, "GET", "/os-services?binary=cinder-volume", None).await;
    assert_eq!(r.json["services"][0]["state"], "down");
    sql::query("UPDATE hosts SET last_seen = ? WHERE id = ?")
        .bind(ciel_controller::db::now())
        .bind(&c.host_id)
        .execute(&c.app.db)
        .await
        .unwrap();

    // Disabling the backend keeps new volumes off it.
    let svc = json!({"host": "h1@file", "binary": "cinder-volume"});
    let r = c.req(&c.admin, "PUT", "/os-services/disable", Some(svc.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(
        r.json,
        json!({"host": "h1@file", "binary": "cinder-volume", "service": "cinder-volume", "disabled": true, "status": "disabled"})
    );
    let r = c
        .req(&c.a, "POST", "/volumes", Some(json!({"volume": {"size": 1}})))
        .await;
    assert_eq!(r.json["volume"]["status"], "error", "no backend to place it on");
    let r = c.req(&c.admin, "PUT", "/os-services/enable", Some(svc.clone())).await;
    assert_eq!(r.json["disabled_reason"], Value::Null);
    assert_eq!(r.json["status"], "enabled");
    let r = c
        .req(
            &c.admin,
            "PUT",
            "/os-services/disable-log-reason",
            Some(json!({"host": "h1@file", "binary": "cinder-volume", "disabled_reason": "maintenance"})),
        )
        .await;
    assert_eq!(r.json["disabled_reason"], "maintenance");
    let r = c.req(&c.admin, "GET", "/os-services?binary=cinder-volume", None).await;
    assert_eq!(r.json["services"][0]["disabled_reason"], "maintenance");
    for (path, body, status) in [
        (
            "/os-services/enable",
            json!({"host": "nohost", "binary": "cinder-volume"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/os-services/disable",
            json!({"host": "h1@file", "binary": "nobinary"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/os-services/disable-log-reason",
            json!({"host": "h1@file", "binary": "cinder-volume", "disabled_reason": null}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/os-services/freeze",
            json!({"host": "nohost"}),
            StatusCode::BAD_REQUEST,
        ),
        ("/os-services/thaw", json!({"host": "nohost"}), StatusCode::BAD_REQUEST),
        ("/os-services/freeze", json!({"host": "h1@file"}), StatusCode::OK),
    ] {
        let r = c.req(&c.admin, "PUT", path, Some(body.clone())).await;
        assert_eq!(r.status, status, "{path} {body}: {}", r.json);
    }
    let r = c.req(&c.admin, "GET", "/os-services?binary=cinder-volume", None).await;
    assert_eq!(r.json["services"][0]["frozen"], true);

    // Pools: the host's disk, less what its volumes take.
    c.req(&c.admin, "PUT", "/os-services/enable", Some(svc)).await;
    let seven = c.volume(&c.a, json!({"size": 7})).await;
    let r = c.req(&c.admin, "GET", &format!("/volumes/{seven}"), None).await;
    assert_eq!(
        r.json["volume"]["os-vol-host-attr:host"], "h1@file#file",
        "the pool, by hostname"
    );
    let r = c.req(&c.admin, "GET", "/os-services?host=h1", None).await;
    assert_eq!(
        r.json["services"][0]["host"], "h1@file",
        "a host filter matches its backends"
    );
    let r = c.req(&c.admin, "GET", "/scheduler-stats/get_pools", None).await;
    assert_eq!(r.json, json!({"pools": [{"name": "h1@file#file"}]}));
    let r = c
        .req(&c.admin, "GET", "/scheduler-stats/get_pools?detail=True", None)
        .await;
    let cap = &r.json["pools"][0]["capabilities"];
    assert_eq!(cap["total_capacity_gb"], 100);
    assert_eq!(cap["free_capacity_gb"], 93);
    assert_eq!(cap["volume_backend_name"], "file");
    assert_eq!(cap["vendor_name"], "Open Source");

    let r = c.req(&c.admin, "GET", "/capabilities/h1@file#file", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["volume_backend_name"], "file");
    assert_eq!(r.json["storage_protocol"], cap["storage_protocol"]);
    assert_eq!(r.json["namespace"], "OS::Storage::Capabilities::h1@file");
    let r = c.req(&c.admin, "GET", "/capabilities/nohost", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = c.req(&c.admin, "GET", "/os-hosts", None).await;
    let hosts = r.json["hosts"].as_array().unwrap();
    assert!(hosts.len() >= 2, "scheduler and volume: {hosts:?}");
    assert!(hosts
        .iter()
        .any(|h| h["host_name"] == "h1@file" && h["service-status"] == "available"));
    let r = c.req(&c.admin, "GET", "/os-hosts/h1@file", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let total = &r.json["host"][0]["resource"];
    assert_eq!(total["project"], "(total)");
    assert_eq!(total["volume_count"], "1");
    assert_eq!(total["total_volume_gb"], "7");
    assert_eq!(r.json["host"][1]["resource"]["project"], json!(c.project_a));
    let r = c.req(&c.admin, "GET", "/os-hosts/nohost", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_type_quotas_are_shown_set_and_enforced() {
    let c = Cloud::new().await;
    let r = c
        .req(
            &c.admin,
            "POST",
            "/types",
            Some(json!({"volume_type": {"name": "gold"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let quota = format!("/os-quota-sets/{}", c.project_a);
    let r = c.req(&c.admin, "GET", &format!("{quota}/defaults"), None).await;
    assert_eq!(r.json["quota_set"]["volumes_gold"], -1);
    assert_eq!(r.json["quota_set"]["gigabytes_gold"], -1);
    assert_eq!(r.json["quota_set"]["snapshots_gold"], -1);
    let r = c
        .req(
            &c.admin,
            "PUT",
            &quota,
            Some(json!({"quota_set": {"volumes_silver": 1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no such type");
    let r = c
        .req(
            &c.admin,
            "PUT",
            &quota,
            Some(json!({"quota_set": {"volumes_gold": 1, "gigabytes_gold": 3, "snapshots_gold": 1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["quota_set"]["volumes_gold"], 1);

    let gold = c.volume(&c.a, json!({"volume_type": "gold", "size": 2})).await;
    let r = c
        .req(
            &c.a,
            "POST",
            "/volumes",
            Some(json!({"volume": {"size": 1, "volume_type": "gold"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.json);
    assert!(
        r.json["overLimit"]["message"]
            .as_str()
            .unwrap()
            .contains("volumes_gold"),
        "{}",
        r.json
    );
    // Other types are not limited by gold's quota.
    c.volume(&c.a, json!({"size": 1})).await;

    let r = c
        .req(
            &c.a,
            "POST",
            &format!("/volumes/{gold}/action"),
            Some(json!({"os-extend": {"new_size": 4}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.json);
    assert!(r.json["overLimit"]["message"]
        .as_str()
        .unwrap()
        .contains("gigabytes_gold"));
    let r = c
        .req(
            &c.a,
            "POST",
            "/snapshots",
            Some(json!({"snapshot": {"volume_id": gold}})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "2 GB more would pass 3 GB: {}",
        r.json
    );

    // Retype into gold: the volume counts there now.
    let plain = c.volume(&c.a, json!({"size": 1})).await;
    let r = c
        .req(
            &c.a,
            "POST",
            &format!("/volumes/{plain}/action"),
            Some(json!({"os-retype": {"new_type": "gold"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.json);
    c.req(&c.admin, "PUT", &quota, Some(json!({"quota_set": {"volumes_gold": 5}})))
        .await;
    let r = c
        .req(
            &c.a,
            "POST",
            &format!("/volumes/{plain}/action"),
            Some(json!({"os-retype": {"new_type": "gold"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);

    let r = c.req(&c.a, "GET", &format!("{quota}?usage=True"), None).await;
    let q = &r.json["quota_set"];
    assert_eq!(
        q["volumes_gold"],
        json!({"limit": 5, "in_use": 2, "reserved": 0, "allocated": 0})
    );
    assert_eq!(q["gigabytes_gold"]["in_use"], 3);
    assert_eq!(q["volumes___DEFAULT__"]["in_use"], 1);
    assert_eq!(q["volumes"]["in_use"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn os_detach_of_a_volume_attached_to_nothing_is_accepted_as_in_cinder() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a, json!({})).await;
    c.set_status("volumes", &vol, "detaching").await;
    let r = c
        .req(
            &c.a,
            "POST",
            &format!("/volumes/{vol}/action"),
            Some(json!({"os-detach": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(
        c.volume_status(&vol).await,
        "available",
        "the detach it was left in is over"
    );
    c.set_status("volumes", &vol, "error").await;
    let r = c
        .req(
            &c.a,
            "POST",
            &format!("/volumes/{vol}/action"),
            Some(json!({"os-detach": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(c.volume_status(&vol).await, "error", "other statuses stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_encryption_is_kept_for_admins_and_its_volumes_are_refused() {
    let c = Cloud::new().await;
    let r = c
        .req(
            &c.admin,
            "POST",
            "/types",
            Some(json!({"volume_type": {"name": "luks"}})),
        )
        .await;
    let t = r.json["volume_type"]["id"].as_str().unwrap().to_string();
    let path = format!("/types/{t}/encryption");
    let r = c.req(&c.admin, "GET", &path, None).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::OK, json!({})));
    let specs = json!({"provider": "luks", "key_size": 256, "cipher": "aes-xts-plain64"});
    let r = c.req(&c.a, "POST", &path, Some(json!({ "encryption": specs }))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .req(
            &c.admin,
            "POST",
            "/types/no-such-type/encryption",
            Some(json!({ "encryption": specs })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .req(&c.admin, "POST", &path, Some(json!({"encryption": {"key_size": 256}})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "provider is required");
    let r = c
        .req(&c.admin, "POST", &path, Some(json!({ "encryption": specs })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["encryption"]["control_location"], "front-end", "the default");
    assert_eq!(r.json["encryption"]["volume_type_id"], t.as_str());
    assert!(
        r.json["encryption"].get("created_at").is_none(),
        "as Cinder: the specs only"
    );
    let enc = r.json["encryption"]["encryption_id"].as_str().unwrap().to_string();
    let r = c
        .req(&c.admin, "POST", &path, Some(json!({ "encryption": specs })))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "one per type");
    let r = c.req(&c.a, "GET", &path, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "reads are an admin's too");
    let r = c.req(&c.admin, "GET", &path, None).await;
    assert!(
        r.json["created_at"].is_string() && r.json["deleted"] == json!(false),
        "{}",
        r.json
    );

    // Changed field by field; one spec read alone.
    let r = c
        .req(
            &c.admin,
            "PUT",
            &format!("{path}/{enc}"),
            Some(json!({"encryption": {"key_size": 128, "control_location": "back-end"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(
        r.json,
        json!({"encryption": {"key_size": 128, "control_location": "back-end"}})
    );
    let r = c.req(&c.admin, "GET", &path, None).await;
    assert_eq!(
        (
            &r.json["provider"],
            &r.json["key_size"],
            &r.json["control_location"],
            &r.json["cipher"]
        ),
        (
            &json!("luks"),
            &json!(128),
            &json!("back-end"),
            &json!("aes-xts-plain64")
        )
    );
    let r = c.req(&c.admin, "GET", &format!("{path}/cipher"), None).await;
    assert_eq!(r.json, json!({"cipher": "aes-xts-plain64"}));
    let r = c.req(&c.admin, "GET", &format!("{path}/colour"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // No key manager: a volume of the type is refused, not made unencrypted.
    let r = c
        .req(
            &c.a,
            "POST",
            "/volumes",
            Some(json!({"volume": {"size": 1, "volume_type": "luks"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    assert!(r.json.to_string().contains("key manager"), "{}", r.json);
    let n: i64 = sql::query_scalar("SELECT count(*) FROM volumes")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing half-made");
    let v = c.volume(&c.a, json!({})).await;
    let r = c
        .req_at(
            "3.0",
            &c.a,
            "POST",
            &format!("/volumes/{v}/action"),
            Some(json!({"os-retype": {"new_type": "luks"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);

    // Specs of a type in use cannot change (a volume given the type behind the API's back).
    sql::query("UPDATE volumes SET volume_type_id = ? WHERE id = ?")
        .bind(&t)
        .bind(&v)
        .execute(&c.app.db)
        .await
        .unwrap();
    let r = c.req(&c.admin, "DELETE", &format!("{path}/{enc}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    sql::query("DELETE FROM volumes WHERE id = ?")
        .bind(&v)
        .execute(&c.app.db)
        .await
        .unwrap();
    let r = c.req(&c.admin, "DELETE", &format!("{path}/no-such-id"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.req(&c.admin, "DELETE", &format!("{path}/{enc}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c.req(&c.admin, "GET", &path, None).await;
    assert_eq!(r.json, json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_an_in_use_volume_needs_force() {
    let c = Cloud::new().await;
    let v = c.volume(&c.a, json!({})).await;
    c.set_status("volumes", &v, "in-use").await;
    for force in [json!(false), Value::Null] {
        let mut s = json!({"volume_id": v});
        if !force.is_null() {
            s["force"] = force;
        }
        let r = c.req(&c.a, "POST", "/snapshots", Some(json!({ "snapshot": s }))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    }
    let n: i64 = sql::query_scalar("SELECT count(*) FROM volume_snapshots")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let r = c
        .req(
            &c.a,
            "POST",
            "/snapshots",
            Some(json!({"snapshot": {"volume_id": v, "force": true}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
}

/// `GET /volumes/summary` (3.12): the caller's own volumes counted and summed, metadata values
/// by key from 3.36, every project's for an admin asking for all; before 3.12 it is not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_volume_summary_counts_what_the_caller_sees() {
    let c = Cloud::new().await;
    c.volume(&c.a, json!({"size": 2, "metadata": {"tier": "gold"}})).await;
    c.volume(&c.a, json!({"size": 3, "metadata": {"tier": "silver", "app": "db"}}))
        .await;
    c.volume(&c.b, json!({"size": 5})).await;
    let r = c.req_at("3.36", &c.a, "GET", "/volumes/summary", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(
        r.json["volume-summary"],
        json!({"total_count": 2, "total_size": 5, "metadata": {"app": ["db"], "tier": ["gold", "silver"]}})
    );
    let r = c.req_at("3.12", &c.b, "GET", "/volumes/summary", None).await;
    assert_eq!(r.json["volume-summary"], json!({"total_count": 1, "total_size": 5}));
    let r = c
        .req_at("3.12", &c.admin, "GET", "/volumes/summary?all_tenants=1", None)
        .await;
    assert_eq!(r.json["volume-summary"]["total_count"], 3);
    assert_eq!(r.json["volume-summary"]["total_size"], 10);
    let r = c.req_at("3.11", &c.a, "GET", "/volumes/summary", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not before 3.12");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_no_backend_can_hold_errors_with_a_user_message() {
    let c = Cloud::new().await;
    for (name, specs) in [
        ("bogus", json!({"vendor_name": "Acme", "storage_protocol": "iSCSI"})),
        (
            "fine",
            json!({"vendor_name": "Open Source", "storage_protocol": "local", "thin_provisioning_support": "<is> True"}),
        ),
    ] {
        let body = json!({"volume_type": {"name": name, "extra_specs": specs}});
        let r = c.req(&c.admin, "POST", "/types", Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    }
    let r = c
        .req(
            &c.a,
            "POST",
            "/volumes",
            Some(json!({"volume": {"size": 1, "volume_type": "fine"}})),
        )
        .await;
    assert_eq!(
        r.json["volume"]["status"], "creating",
        "the backend offers what 'fine' asks"
    );
    let r = c
        .req(
            &c.a,
            "POST",
            "/volumes",
            Some(json!({"volume": {"size": 1, "volume_type": "bogus"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(r.json["volume"]["status"], "error", "no backend is Acme's");
    let bad = r.json["volume"]["id"].as_str().unwrap().to_string();

    let r = c.req_at("3.2", &c.a, "GET", "/messages", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not before 3.3");
    let r = c.req_at("3.3", &c.a, "GET", "/messages", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let list = r.json["messages"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let m = &list[0];
    assert_eq!(m["resource_uuid"], json!(bad));
    assert_eq!(m["resource_type"], "VOLUME");
    assert_eq!(m["event_id"], "VOLUME_VOLUME_001_003");
    assert_eq!(
        m["user_message"],
        "schedule allocate volume:Could not find any available weighted backend."
    );
    assert_eq!(m["message_level"], "ERROR");
    assert!(m["request_id"].as_str().unwrap().starts_with("req-"));
    assert!(m["guaranteed_until"].as_str().unwrap() > m["created_at"].as_str().unwrap());
    let id = m["id"].as_str().unwrap().to_string();

    let r = c.req_at("3.3", &c.b, "GET", "/messages", None).await;
    assert_eq!(r.json["messages"], json!([]), "another project sees none");
    let r = c.req_at("3.3", &c.b, "GET", &format!("/messages/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .req_at(
            "3.5",
            &c.a,
            "GET",
            &format!("/messages?resource_uuid={}", c.project_b),
            None,
        )
        .await;
    assert_eq!(r.json["messages"], json!([]), "filtered on the resource");
    let r = c
        .req_at("3.5", &c.a, "GET", "/messages?event_id=VOLUME_VOLUME_001_003", None)
        .await;
    assert_eq!(r.json["messages"].as_array().unwrap().len(), 1);
    let r = c.req_at("3.3", &c.b, "DELETE", &format!("/messages/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not B's to delete");
    let r = c.req_at("3.3", &c.a, "DELETE", &format!("/messages/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = c.req_at("3.3", &c.a, "GET", &format!("/messages/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A retype to a type no backend satisfies is refused; the volume keeps its type.
    let v = c.volume(&c.a, json!({"volume_type": "fine"})).await;
    let body = json!({"os-retype": {"new_type": "bogus"}});
    let r = c.req(&c.a, "POST", &format!("/volumes/{v}/action"), Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = c.req(&c.a, "GET", &format!("/volumes/{v}"), None).await;
    assert_eq!(r.json["volume"]["volume_type"], "fine");
}

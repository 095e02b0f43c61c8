//! Generic volume groups through the Cinder API: group types and specs, groups of volumes,
//! group snapshots made by the host, groups made from a group snapshot or another group,
//! and deletion of a group with its volumes — the host's reports settling each step.

use crate::volume_admin::{Cloud, Resp};
use axum::http::StatusCode;
use ciel_controller::db::sql;
use ciel_proto::{HostReport, VolumeStatus};
use serde_json::{json, Value};

impl Cloud {
    async fn at(&self, mv: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.req_at(mv, token, method, path, body).await
    }

    /// Reports that the host holds every volume and snapshot it should (and none it should
    /// delete), as its agent would after one pass.
    async fn host_catches_up(&self) {
        let volumes: Vec<(String, i64)> =
            sql::query_as("SELECT id, size FROM volumes WHERE host_id = ? AND status NOT IN ('deleting', 'error')")
                .bind(&self.host_id)
                .fetch_all(&self.app.db)
                .await
                .unwrap();
        let snapshots: Vec<String> = sql::query_scalar(
            "SELECT s.id FROM volume_snapshots s JOIN volumes v ON v.id = s.volume_id \
             WHERE v.host_id = ? AND s.status <> 'deleting'",
        )
        .bind(&self.host_id)
        .fetch_all(&self.app.db)
        .await
        .unwrap();
        let report = HostReport {
            generation: 1,
            volumes: volumes
                .into_iter()
                .map(|(id, size)| VolumeStatus {
                    id,
                    size_gb: size as u64,
                })
                .collect(),
            volume_snapshots: snapshots,
            ..Default::default()
        };
        let host = ciel_controller::db::compute::hosts::get(&self.app.db, &self.host_id)
            .await
            .unwrap()
            .unwrap();
        self.app.host_report(&host, report).await.unwrap();
    }

    async fn group_status(&self, id: &str) -> (StatusCode, Value) {
        let r = self.at("3.14", &self.a, "GET", &format!("/groups/{id}"), None).await;
        (r.status, r.json["group"]["status"].clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_types_are_an_admins_with_their_specs() {
    let c = Cloud::new().await;
    let body = json!({"group_type": {"name": "gt1", "description": "d", "group_specs": {"consistent_group_snapshot_enabled": "<is> False"}}});
    let r = c.at("3.10", &c.admin, "POST", "/group_types", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not before 3.11");
    let r = c.at("3.11", &c.a, "POST", "/group_types", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a member makes none");
    let r = c.at("3.11", &c.admin, "POST", "/group_types", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let gt = r.json["group_type"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.json["group_type"]["is_public"], true);
    let r = c.at("3.11", &c.admin, "POST", "/group_types", Some(body)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "names are unique");
    let private = json!({"group_type": {"name": "gt2", "is_public": false}});
    let r = c.at("3.11", &c.admin, "POST", "/group_types", Some(private)).await;
    let gt2 = r.json["group_type"]["id"].as_str().unwrap().to_string();

    let names = |r: &Resp| -> Vec<String> {
        r.json["group_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = c
        .at(
            "3.11",
            &c.admin,
            "GET",
            "/group_types?is_public=None&sort=name:desc",
            None,
        )
        .await;
    assert_eq!(names(&r), ["gt2", "gt1"]);
    let r = c
        .at("3.11", &c.admin, "GET", "/group_types?is_public=False", None)
        .await;
    assert_eq!(names(&r), ["gt2"]);
    let r = c.at("3.11", &c.a, "GET", "/group_types?is_public=None", None).await;
    assert_eq!(names(&r), ["gt1"], "members see public types only");
    assert!(r.json["group_types"][0].get("group_specs").is_none(), "nor their specs");
    let r = c.at("3.11", &c.a, "GET", &format!("/group_types/{gt2}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let up = json!({"group_type": {"name": "gt1-renamed", "description": "new"}});
    let r = c
        .at("3.11", &c.admin, "PUT", &format!("/group_types/{gt}"), Some(up))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["group_type"]["name"], "gt1-renamed");
    let r = c
        .at(
            "3.11",
            &c.admin,
            "PUT",
            &format!("/group_types/{gt}"),
            Some(json!({"group_type": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "an update changes something");

    let specs = format!("/group_types/{gt}/group_specs");
    let r = c
        .at(
            "3.11",
            &c.admin,
            "POST",
            &specs,
            Some(json!({"group_specs": {"k1": "v1", "k2": "v2"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        r.json,
        json!({"group_specs": {"k1": "v1", "k2": "v2"}}),
        "echoes what was sent"
    );
    let r = c
        .at(
            "3.11",
            &c.admin,
            "PUT",
            &format!("{specs}/k2"),
            Some(json!({"k2": "v2b"})),
        )
        .await;
    assert_eq!(r.json, json!({"k2": "v2b"}));
    let r = c
        .at(
            "3.11",
            &c.admin,
            "PUT",
            &format!("{specs}/k2"),
            Some(json!({"k3": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "body and URI mismatch");
    let r = c.at("3.11", &c.admin, "GET", &specs, None).await;
    assert_eq!(
        r.json["group_specs"],
        json!({"consistent_group_snapshot_enabled": "<is> False", "k1": "v1", "k2": "v2b"})
    );
    let r = c.at("3.11", &c.admin, "DELETE", &format!("{specs}/k1"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c.at("3.11", &c.admin, "GET", &format!("{specs}/k1"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.at("3.11", &c.a, "GET", &specs, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = c
        .at("3.11", &c.admin, "DELETE", &format!("/group_types/{gt2}"), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c
        .at("3.11", &c.admin, "GET", &format!("/group_types/{gt2}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_hold_volumes_snapshot_them_and_are_copied_and_deleted_with_them() {
    let c = Cloud::new().await;
    for name in ["t1", "t2"] {
        let r = c
            .req(&c.admin, "POST", "/types", Some(json!({"volume_type": {"name": name}})))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = c
        .at(
            "3.11",
            &c.admin,
            "POST",
            "/group_types",
            Some(json!({"group_type": {"name": "gt"}})),
        )
        .await;
    let gt = r.json["group_type"]["id"].as_str().unwrap().to_string();
    let t1 = c.req(&c.admin, "GET", "/types/t1", None).await.json["volume_type"]["id"].clone();

    let body = json!({"group": {"name": "g1", "group_type": "gt", "volume_types": ["t1"]}});
    let r = c.at("3.12", &c.a, "POST", "/groups", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not before 3.13");
    let bad = json!({"group": {"name": "g", "group_type": "gt", "volume_types": ["nosuch"]}});
    let r = c.at("3.13", &c.a, "POST", "/groups", Some(bad)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.json);
    let r = c.at("3.13", &c.a, "POST", "/groups", Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(r.json["group"].as_object().unwrap().len(), 2, "id and name only");
    let g1 = r.json["group"]["id"].as_str().unwrap().to_string();
    let r = c.at("3.13", &c.a, "GET", &format!("/groups/{g1}"), None).await;
    assert_eq!(r.json["group"]["status"], "available");
    assert_eq!(r.json["group"]["group_type"], json!(gt));
    assert_eq!(r.json["group"]["volume_types"], json!([t1]));
    let r = c.at("3.13", &c.b, "GET", &format!("/groups/{g1}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another project's");

    // Volumes join it at creation, of its types only.
    let mut vols = vec![];
    for _ in 0..2 {
        let v = json!({"volume": {"size": 1, "volume_type": "t1", "group_id": g1}});
        let r = c.at("3.13", &c.a, "POST", "/volumes", Some(v)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        assert_eq!(r.json["volume"]["group_id"], json!(g1));
        vols.push(r.json["volume"]["id"].as_str().unwrap().to_string());
    }
    let v = json!({"volume": {"size": 1, "volume_type": "t2", "group_id": g1}});
    let r = c.at("3.13", &c.a, "POST", "/volumes", Some(v)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "t2 is not the group's: {}", r.json);
    c.host_catches_up().await;
    let r = c.at("3.25", &c.a, "GET", "/groups/detail?list_volume=true", None).await;
    let mut listed: Vec<String> = serde_json::from_value(r.json["groups"][0]["volumes"].clone()).unwrap();
    listed.sort();
    let mut want = vols.clone();
    want.sort();
    assert_eq!(listed, want);
    let r = c.req(&c.a, "DELETE", &format!("/volumes/{}", vols[0]), None).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a group's volume goes with the group"
    );
    crate::common::register_fake_host(&c.app, "h2", None, &[]).await;
    let mv = json!({"os-migrate_volume": {"host": "h2@file#file"}});
    let r = c
        .req(&c.admin, "POST", &format!("/volumes/{}/action", vols[0]), Some(mv))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "nor does it move alone: {}", r.json);

    // Out and back in.
    let up = json!({"group": {"name": "g1b", "remove_volumes": vols[1]}});
    let r = c.at("3.13", &c.a, "PUT", &format!("/groups/{g1}"), Some(up)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let r = c.at("3.13", &c.a, "GET", &format!("/volumes/{}", vols[1]), None).await;
    assert_eq!(r.json["volume"]["group_id"], Value::Null);
    let up = json!({"group": {"add_volumes": vols[1]}});
    let r = c.at("3.13", &c.a, "PUT", &format!("/groups/{g1}"), Some(up)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let r = c.at("3.13", &c.a, "GET", &format!("/groups/{g1}"), None).await;
    assert_eq!(r.json["group"]["name"], "g1b");

    // A group snapshot: one snapshot per volume, available once the host holds them.
    let r = c
        .at(
            "3.14",
            &c.a,
            "POST",
            "/group_snapshots",
            Some(json!({"group_snapshot": {"group_id": g1, "name": "gs"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(r.json["group_snapshot"]["group_type_id"], json!(gt));
    let gs = r.json["group_snapshot"]["id"].as_str().unwrap().to_string();
    let r = c.at("3.14", &c.a, "GET", &format!("/group_snapshots/{gs}"), None).await;
    assert_eq!(r.json["group_snapshot"]["status"], "creating");
    let r = c.at("3.14", &c.a, "GET", "/snapshots/detail", None).await;
    let snaps = r.json["snapshots"].as_array().unwrap().clone();
    assert_eq!(snaps.len(), 2);
    assert!(snaps.iter().all(|s| s["group_snapshot_id"] == json!(gs)));
    c.host_catches_up().await;
    let r = c.at("3.14", &c.a, "GET", &format!("/group_snapshots/{gs}"), None).await;
    assert_eq!(r.json["group_snapshot"]["status"], "available");
    let sid = snaps[0]["id"].as_str().unwrap();
    let r = c.req(&c.a, "DELETE", &format!("/snapshots/{sid}"), None).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a member snapshot goes with its group snapshot"
    );
    let r = c
        .at(
            "3.13",
            &c.a,
            "POST",
            &format!("/groups/{g1}/action"),
            Some(json!({"delete": {"delete-volumes": true}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "not while it has group snapshots");

    // Groups made from the group snapshot and from the group: a volume per member.
    for src in [json!({"group_snapshot_id": gs}), json!({"source_group_id": g1})] {
        let mut body = src.clone();
        body["name"] = json!("copy");
        let r = c
            .at(
                "3.14",
                &c.a,
                "POST",
                "/groups/action",
                Some(json!({"create-from-src": body})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        let g2 = r.json["group"]["id"].as_str().unwrap().to_string();
        assert_eq!(c.group_status(&g2).await.1, "creating", "{src}");
        let r = c.at("3.14", &c.a, "GET", &format!("/groups/{g2}"), None).await;
        let key = src.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(r.json["group"][&key], src[&key]);
        c.host_catches_up().await;
        assert_eq!(c.group_status(&g2).await.1, "available", "{src}");
        let r = c
            .at("3.25", &c.a, "GET", &format!("/groups/{g2}?list_volume=true"), None)
            .await;
        assert_eq!(r.json["group"]["volumes"].as_array().unwrap().len(), 2);
        let r = c
            .at(
                "3.13",
                &c.a,
                "POST",
                &format!("/groups/{g2}/action"),
                Some(json!({"delete": {}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "not with volumes unless asked");
        let r = c
            .at(
                "3.13",
                &c.a,
                "POST",
                &format!("/groups/{g2}/action"),
                Some(json!({"delete": {"delete-volumes": true}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        assert_eq!(c.group_status(&g2).await.1, "deleting");
        c.host_catches_up().await;
        assert_eq!(
            c.group_status(&g2).await.0,
            StatusCode::NOT_FOUND,
            "gone with its volumes"
        );
    }

    // Admins reset statuses; members may not.
    let reset = json!({"reset_status": {"status": "error"}});
    let r = c
        .at(
            "3.20",
            &c.a,
            "POST",
            &format!("/groups/{g1}/action"),
            Some(reset.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .at(
            "3.20",
            &c.admin,
            "POST",
            &format!("/groups/{g1}/action"),
            Some(reset.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c
        .at(
            "3.19",
            &c.admin,
            "POST",
            &format!("/group_snapshots/{gs}/action"),
            Some(reset),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c.at("3.14", &c.a, "GET", &format!("/group_snapshots/{gs}"), None).await;
    assert_eq!(r.json["group_snapshot"]["status"], "error");

    // The group snapshot goes with its snapshots; then the group with its volumes.
    let r = c
        .at("3.14", &c.a, "DELETE", &format!("/group_snapshots/{gs}"), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    c.host_catches_up().await;
    let r = c.at("3.14", &c.a, "GET", &format!("/group_snapshots/{gs}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.at("3.14", &c.a, "GET", "/snapshots", None).await;
    assert_eq!(r.json["snapshots"], json!([]));
    let r = c
        .at(
            "3.13",
            &c.a,
            "POST",
            &format!("/groups/{g1}/action"),
            Some(json!({"delete": {"delete-volumes": true}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    c.host_catches_up().await;
    assert_eq!(c.group_status(&g1).await.0, StatusCode::NOT_FOUND);
    let r = c.req(&c.a, "GET", "/volumes", None).await;
    assert_eq!(r.json["volumes"], json!([]), "its volumes went with it");
    let r = c.at("3.13", &c.a, "GET", "/groups/detail", None).await;
    assert_eq!(r.json["groups"], json!([]));
    let r = c
        .req(&c.a, "GET", &format!("/os-quota-sets/{}?usage=True", c.project_a), None)
        .await;
    assert_eq!(r.json["quota_set"]["groups"]["in_use"], 0, "{}", r.json);
}

//! Cinder's volume backups through the router as clients call them: bodies and status codes
//! per microversion, the statuses a backup and its volume go through, incremental chains and
//! the delete rules, restores to new and existing volumes, quotas, tenant isolation, the
//! admin actions, export/import of records, and the tasks each step puts in the host's
//! desired state (ended by the host's report, as an agent sends it).

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ciel_controller::app::App;
use ciel_controller::db::compute::hosts::Host;
use ciel_controller::db::sql;
use ciel_proto::{BackupOutcome, BackupSpec, BackupStatus, BackupTask, HostReport};
use common::login;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Cloud {
    app: Arc<App>,
    admin: String,
    a: String,
    b: String,
    reader_a: String,
    project_a: String,
    host: Host,
    _dir: common::tempdir::Dir,
}

struct Resp {
    status: StatusCode,
    json: Value,
}

async fn call(app: &Arc<App>, token: &str, method: &str, uri: &str, mv: &str, body: Option<Value>) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-auth-token", token)
        .header("openstack-api-version", format!("volume {mv}"));
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
    async fn new() -> Cloud {
        let (app, dir) = common::app().await;
        let (host, _) = common::register_fake_host(&app, "h1", None, &[]).await;
        let (admin, admin_c) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
        let mut ids = vec![];
        for (p, users) in [
            ("pa", vec![("ua", "member"), ("ra", "reader")]),
            ("pb", vec![("ub", "member")]),
        ] {
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
            for (u, role) in users {
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
                common::grant_user_project(&app, &admin_c, &uid, &pid, role).await;
            }
            ids.push(pid);
        }
        let (a, _) = login(&app, "ua", "secretpw1", Some("pa")).await.unwrap();
        let (reader_a, _) = login(&app, "ra", "secretpw1", Some("pa")).await.unwrap();
        let (b, _) = login(&app, "ub", "secretpw1", Some("pb")).await.unwrap();
        Cloud {
            app,
            admin,
            a,
            b,
            reader_a,
            project_a: ids[0].clone(),
            host,
            _dir: dir,
        }
    }

    async fn req(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.req_at("3.0", token, method, path, body).await
    }

    async fn req_at(&self, mv: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        call(&self.app, token, method, &format!("/volume/v3{path}"), mv, body).await
    }

    /// An `available` 1 GiB volume of `token`'s project with metadata.
    async fn volume(&self, token: &str) -> String {
        let r = self
            .req(
                token,
                "POST",
                "/volumes",
                Some(json!({"volume": {"size": 1, "name": "v", "metadata": {"k": "v"}}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        let id = r.json["volume"]["id"].as_str().unwrap().to_string();
        self.set_status("volumes", &id, "available").await;
        id
    }

    async fn set_status(&self, table: &str, id: &str, status: &str) {
        sql::query(&format!("UPDATE {table} SET status = ? WHERE id = ?"))
            .bind(status)
            .bind(id)
            .execute(&self.app.db)
            .await
            .unwrap();
    }

    async fn status(&self, what: &str, id: &str) -> String {
        let r = self.req(&self.admin, "GET", &format!("/{what}s/{id}"), None).await;
        r.json[what]["status"].as_str().unwrap_or_default().to_string()
    }

    async fn backup(&self, token: &str, body: Value) -> Resp {
        self.req(token, "POST", "/backups", Some(json!({ "backup": body })))
            .await
    }

    /// The host's backup tasks now.
    async fn tasks(&self) -> Vec<BackupSpec> {
        self.app
            .host_config(&self.host, 0, Duration::from_millis(10))
            .await
            .unwrap()
            .backups
    }

    async fn report(&self, outcomes: Vec<(String, BackupOutcome)>) {
        let report = HostReport {
            generation: 1,
            backups: outcomes
                .into_iter()
                .map(|(id, outcome)| BackupStatus { id, outcome })
                .collect(),
            ..Default::default()
        };
        self.app.host_report(&self.host, report).await.unwrap();
    }

    /// Creates a backup of `vol` as `body` says and has the host make it.
    async fn made(&self, token: &str, body: Value) -> String {
        let r = self.backup(token, body).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        let id = r.json["backup"]["id"].as_str().unwrap().to_string();
        self.report(vec![(
            id.clone(),
            BackupOutcome::Made {
                target: "dir".into(),
                object_count: 3,
            },
        )])
        .await;
        assert_eq!(self.status("backup", &id).await, "available");
        id
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_made_by_the_volumes_host_and_shown_as_cinder_does() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a).await;

    for (body, want) in [
        (json!({}), "'volume_id' is a required property"),
        (json!({"volume_id": "nope"}), "is not a 'uuid'"),
        (json!({"volume_id": vol, "force": "maybe"}), "is not a valid boolean"),
        (json!({"volume_id": vol, "bogus": 1}), "Additional properties"),
        (
            json!({"volume_id": vol, "metadata": {"a": "b"}}),
            "Additional properties",
        ),
    ] {
        let r = c.backup(&c.a, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
        assert!(
            r.json["badRequest"]["message"].as_str().unwrap().contains(want),
            "{}",
            r.json
        );
    }
    let r = c
        .backup(&c.a, json!({"volume_id": uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.backup(&c.reader_a, json!({"volume_id": vol})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a reader may not back up");

    let r = c
        .backup(
            &c.a,
            json!({"volume_id": vol, "name": "b1", "description": "d", "container": "c1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let b = &r.json["backup"];
    let id = b["id"].as_str().unwrap().to_string();
    let keys: Vec<&String> = b.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "links", "name"], "the create answer is the short form");
    assert_eq!(c.status("volume", &vol).await, "backing-up");
    assert_eq!(c.status("backup", &id).await, "creating");

    // The volume's host has the task; nothing else changes until it reports.
    let tasks = c.tasks().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].id.as_str(), tasks[0].volume_id.as_str(), tasks[0].size_gb),
        (id.as_str(), vol.as_str(), 1)
    );
    assert_eq!(
        tasks[0].task,
        BackupTask::Make {
            parent: None,
            snapshot_id: None,
            point_in_time: false
        }
    );
    let r = c.backup(&c.a, json!({"volume_id": vol})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a volume backing up is busy");
    c.report(vec![(
        id.clone(),
        BackupOutcome::Made {
            target: "dir".into(),
            object_count: 7,
        },
    )])
    .await;
    assert_eq!(c.status("volume", &vol).await, "available");
    assert!(c.tasks().await.is_empty());

    let r = c.req(&c.reader_a, "GET", &format!("/backups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.json["backup"];
    for (k, v) in [
        ("status", json!("available")),
        ("name", json!("b1")),
        ("description", json!("d")),
        ("container", json!("c1")),
        ("object_count", json!(7)),
        ("size", json!(1)),
        ("volume_id", json!(vol)),
        ("is_incremental", json!(false)),
        ("has_dependent_backups", json!(false)),
        ("fail_reason", Value::Null),
        ("snapshot_id", Value::Null),
        ("availability_zone", json!("nova")),
    ] {
        assert_eq!(b[k], v, "{k}: {b}");
    }
    assert!(b["data_timestamp"].is_string() && b["created_at"].is_string());
    assert!(b.get("os-backup-project-attr:project_id").is_none(), "3.18+ only");
    let r = c.req_at("3.56", &c.a, "GET", &format!("/backups/{id}"), None).await;
    assert_eq!(
        r.json["backup"]["os-backup-project-attr:project_id"],
        json!(c.project_a)
    );
    assert!(r.json["backup"]["user_id"].is_string());
    assert_eq!(r.json["backup"]["metadata"], json!({}));

    let r = c.req(&c.a, "GET", "/backups", None).await;
    assert_eq!(r.json["backups"][0].as_object().unwrap().len(), 3, "{}", r.json);
    let r = c
        .req(&c.a, "GET", "/backups/detail?status=available&limit=1", None)
        .await;
    assert_eq!(r.json["backups"][0]["id"], json!(id));
    assert!(r.json["backups_links"].is_array());
    let r = c.req(&c.a, "GET", "/backups/detail?name=other", None).await;
    assert!(r.json["backups"].as_array().unwrap().is_empty());
    let r = c.req(&c.a, "GET", "/backups?sort=name:asc", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = c.req(&c.a, "GET", "/limits", None).await;
    assert_eq!(r.json["limits"]["absolute"]["totalBackupsUsed"], json!(1));
    assert_eq!(r.json["limits"]["absolute"]["totalBackupGigabytesUsed"], json!(1));
    let r = c
        .req(&c.a, "GET", &format!("/os-quota-sets/{}?usage=true", c.project_a), None)
        .await;
    assert_eq!(r.json["quota_set"]["backups"]["in_use"], json!(1), "{}", r.json);

    // Update: 3.9+, metadata 3.43+.
    let upd = json!({"backup": {"name": "renamed", "description": "d2"}});
    let r = c.req(&c.a, "PUT", &format!("/backups/{id}"), Some(upd.clone())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no update before 3.9");
    let r = c.req_at("3.9", &c.a, "PUT", &format!("/backups/{id}"), Some(upd)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["backup"]["name"], json!("renamed"));
    let md = json!({"backup": {"metadata": {"x": "y"}}});
    let r = c
        .req_at("3.9", &c.a, "PUT", &format!("/backups/{id}"), Some(md.clone()))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.req_at("3.43", &c.a, "PUT", &format!("/backups/{id}"), Some(md)).await;
    assert_eq!(r.json["backup"]["metadata"], json!({"x": "y"}));

    // A failed backup: error with the host's reason; the volume is usable again.
    let r = c.backup(&c.a, json!({"volume_id": vol})).await;
    let failed = r.json["backup"]["id"].as_str().unwrap().to_string();
    c.report(vec![(
        failed.clone(),
        BackupOutcome::Failed {
            message: "disk on fire".into(),
        },
    )])
    .await;
    let r = c.req(&c.a, "GET", &format!("/backups/{failed}"), None).await;
    assert_eq!(
        (
            r.json["backup"]["status"].as_str(),
            r.json["backup"]["fail_reason"].as_str()
        ),
        (Some("error"), Some("disk on fire"))
    );
    assert_eq!(c.status("volume", &vol).await, "available");

    // Deleting goes through the host that made it.
    let r = c.req(&c.a, "DELETE", &format!("/backups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(c.status("backup", &id).await, "deleting");
    let tasks = c.tasks().await;
    assert!(tasks
        .iter()
        .any(|t| t.id == id && t.task == BackupTask::Delete && t.target.as_deref() == Some("dir")));
    c.report(vec![(id.clone(), BackupOutcome::Deleted)]).await;
    let r = c.req(&c.a, "GET", &format!("/backups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json["itemNotFound"]["message"].is_string(), "{}", r.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_use_volumes_need_force_and_are_read_at_a_point_in_time() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a).await;
    c.set_status("volumes", &vol, "in-use").await;
    let r = c.backup(&c.a, json!({"volume_id": vol})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json["badRequest"]["message"].as_str().unwrap().contains("force"));
    let r = c.backup(&c.a, json!({"volume_id": vol, "force": true})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let tasks = c.tasks().await;
    assert!(matches!(
        tasks[0].task,
        BackupTask::Make {
            point_in_time: true,
            ..
        }
    ));
    c.set_status("volumes", &vol, "error").await;
    let r = c.backup(&c.a, json!({"volume_id": vol, "force": true})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "only available or in-use volumes");

    // From a snapshot: the snapshot is what is read, and it must be the volume's.
    c.set_status("volumes", &vol, "available").await;
    let r = c
        .req(
            &c.a,
            "POST",
            "/snapshots",
            Some(json!({"snapshot": {"volume_id": vol}})),
        )
        .await;
    let snap = r.json["snapshot"]["id"].as_str().unwrap().to_string();
    let r = c.backup(&c.a, json!({"volume_id": vol, "snapshot_id": snap})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the snapshot is not available yet");
    c.set_status("volume_snapshots", &snap, "available").await;
    let other = c.volume(&c.a).await;
    let r = c.backup(&c.a, json!({"volume_id": other, "snapshot_id": snap})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "another volume's snapshot");
    let id = c.made(&c.a, json!({"volume_id": vol, "snapshot_id": snap})).await;
    let r = c.req(&c.a, "GET", &format!("/backups/{id}"), None).await;
    assert_eq!(r.json["backup"]["snapshot_id"], json!(snap));
    assert_eq!(c.status("snapshot", &snap).await, "available");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_chains_and_the_delete_rules() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a).await;
    let r = c.backup(&c.a, json!({"volume_id": vol, "incremental": true})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json["badRequest"]["message"],
        json!("Invalid backup: No backups available to do an incremental backup.")
    );
    let full = c.made(&c.a, json!({"volume_id": vol})).await;
    let r = c.backup(&c.a, json!({"volume_id": vol, "incremental": true})).await;
    let inc = r.json["backup"]["id"].as_str().unwrap().to_string();
    let t = c.tasks().await;
    assert_eq!(
        t[0].task,
        BackupTask::Make {
            parent: Some(full.clone()),
            snapshot_id: None,
            point_in_time: false
        }
    );
    let r = c.backup(&c.a, json!({"volume_id": vol, "incremental": true})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the volume is busy");
    c.report(vec![(
        inc.clone(),
        BackupOutcome::Made {
            target: "dir".into(),
            object_count: 1,
        },
    )])
    .await;
    let r = c.req(&c.a, "GET", &format!("/backups/{full}"), None).await;
    assert_eq!(r.json["backup"]["has_dependent_backups"], json!(true));
    let r = c.req(&c.a, "GET", &format!("/backups/{inc}"), None).await;
    assert_eq!(
        (
            &r.json["backup"]["is_incremental"],
            &r.json["backup"]["has_dependent_backups"]
        ),
        (&json!(true), &json!(false))
    );
    // The next incremental builds on the newest.
    let inc2 = c.made(&c.a, json!({"volume_id": vol, "incremental": true})).await;
    let r = c.req(&c.a, "DELETE", &format!("/backups/{inc}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json["badRequest"]["message"],
        json!("Invalid backup: Incremental backups exist for this backup.")
    );
    let r = c
        .req(
            &c.admin,
            "POST",
            &format!("/backups/{full}/action"),
            Some(json!({"os-force_delete": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "not even forced");
    for id in [&inc2, &inc] {
        let r = c.req(&c.a, "DELETE", &format!("/backups/{id}"), None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        c.report(vec![(id.clone(), BackupOutcome::Deleted)]).await;
    }
    // After the newest incremental went, the next one builds on what is left.
    let r = c.backup(&c.a, json!({"volume_id": vol, "incremental": true})).await;
    let inc3 = r.json["backup"]["id"].as_str().unwrap().to_string();
    let t = c.tasks().await;
    assert!(t
        .iter()
        .any(|t| t.id == inc3 && matches!(&t.task, BackupTask::Make { parent: Some(p), .. } if p == &full)));

    // A deleting backup is not deleted again; a restoring one neither.
    let r = c.req(&c.a, "DELETE", &format!("/backups/{inc3}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "still creating");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_make_or_overwrite_a_volume_on_the_right_host() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a).await;
    let id = c.made(&c.a, json!({"volume_id": vol})).await;

    // To a new volume: the backup's size, its source's metadata, in the caller's project.
    let r = c
        .req(
            &c.a,
            "POST",
            &format!("/backups/{id}/restore"),
            Some(json!({"restore": {"name": "back"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let restored = r.json["restore"]["volume_id"].as_str().unwrap().to_string();
    assert_eq!(r.json["restore"]["backup_id"], json!(id));
    assert_eq!(r.json["restore"]["volume_name"], json!("back"));
    assert_eq!(c.status("backup", &id).await, "restoring");
    let v = c.req(&c.a, "GET", &format!("/volumes/{restored}"), None).await;
    assert_eq!(v.json["volume"]["status"], json!("restoring-backup"));
    assert_eq!(v.json["volume"]["metadata"], json!({"k": "v"}));
    assert_eq!(v.json["volume"]["size"], json!(1));
    let cfg = c.app.host_config(&c.host, 0, Duration::from_millis(10)).await.unwrap();
    assert!(
        cfg.volumes.iter().any(|v| v.id == restored),
        "the host makes the new volume"
    );
    assert!(cfg
        .backups
        .iter()
        .any(|t| t.id == id && matches!(&t.task, BackupTask::Restore { volume_id, .. } if volume_id == &restored)));
    let r = c.req(&c.a, "DELETE", &format!("/backups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a restoring backup stays");
    c.report(vec![(
        id.clone(),
        BackupOutcome::Restored {
            volume_id: restored.clone(),
        },
    )])
    .await;
    assert_eq!(c.status("volume", &restored).await, "available");
    assert_eq!(c.status("backup", &id).await, "available");

    // Onto an existing volume: available and large enough.
    let small_target = c.volume(&c.a).await;
    c.set_status("volumes", &small_target, "in-use").await;
    let onto = |v: &str| Some(json!({"restore": {"volume_id": v}}));
    let r = c
        .req(&c.a, "POST", &format!("/backups/{id}/restore"), onto(&small_target))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    c.set_status("volumes", &small_target, "available").await;
    sql::query("UPDATE volume_backups SET size = 2 WHERE id = ?")
        .bind(&id)
        .execute(&c.app.db)
        .await
        .unwrap();
    let r = c
        .req(&c.a, "POST", &format!("/backups/{id}/restore"), onto(&small_target))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json["badRequest"]["message"].as_str().unwrap().contains("too small"));
    sql::query("UPDATE volume_backups SET size = 1 WHERE id = ?")
        .bind(&id)
        .execute(&c.app.db)
        .await
        .unwrap();
    let r = c
        .req(&c.a, "POST", &format!("/backups/{id}/restore"), onto(&small_target))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(r.json["restore"]["volume_id"], json!(small_target));
    assert_eq!(c.status("volume", &small_target).await, "restoring-backup");
    // The host could not write it: the volume is error_restoring, the backup usable.
    c.report(vec![(
        id.clone(),
        BackupOutcome::Failed {
            message: "no space".into(),
        },
    )])
    .await;
    assert_eq!(c.status("volume", &small_target).await, "error_restoring");
    assert_eq!(c.status("backup", &id).await, "available");

    // Another project cannot restore it, nor onto its volumes.
    let r = c
        .req(
            &c.b,
            "POST",
            &format!("/backups/{id}/restore"),
            Some(json!({"restore": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let b_vol = c.volume(&c.b).await;
    let r = c
        .req(&c.a, "POST", &format!("/backups/{id}/restore"), onto(&b_vol))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_isolation_and_admin_actions() {
    let c = Cloud::new().await;
    let vol = c.volume(&c.a).await;
    let quota = format!("/os-quota-sets/{}", c.project_a);
    let r = c
        .req(&c.admin, "PUT", &quota, Some(json!({"quota_set": {"backups": 1}})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let id = c.made(&c.a, json!({"volume_id": vol})).await;
    let r = c.backup(&c.a, json!({"volume_id": vol})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.json);
    assert_eq!(
        r.json["overLimit"]["message"],
        json!("Maximum number of backups allowed (1) exceeded")
    );
    c.req(
        &c.admin,
        "PUT",
        &quota,
        Some(json!({"quota_set": {"backups": 10, "backup_gigabytes": 1}})),
    )
    .await;
    let r = c.backup(&c.a, json!({"volume_id": vol})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json["overLimit"]["message"]
        .as_str()
        .unwrap()
        .contains("Backup gigabytes"));
    assert_eq!(c.status("volume", &vol).await, "available", "nothing half made");

    // Project B sees nothing of A's.
    for (m, p) in [
        ("GET", format!("/backups/{id}")),
        ("DELETE", format!("/backups/{id}")),
        ("PUT", format!("/backups/{id}")),
    ] {
        let r = c
            .req_at(
                "3.9",
                &c.b,
                m,
                &p,
                (m == "PUT").then(|| json!({"backup": {"name": "x"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {p}");
    }
    let r = c.req(&c.b, "GET", "/backups/detail", None).await;
    assert!(r.json["backups"].as_array().unwrap().is_empty());
    let r = c.backup(&c.b, json!({"volume_id": vol})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "B cannot back up A's volume");
    let r = c.req(&c.admin, "GET", "/backups/detail?all_tenants=1", None).await;
    assert_eq!(r.json["backups"].as_array().unwrap().len(), 1);

    // Admin actions.
    let reset = |s: &str| Some(json!({"os-reset_status": {"status": s}}));
    let r = c
        .req(&c.a, "POST", &format!("/backups/{id}/action"), reset("error"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .req(&c.admin, "POST", &format!("/backups/{id}/action"), reset("bogus"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .req(&c.admin, "POST", &format!("/backups/{id}/action"), reset("error"))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(c.status("backup", &id).await, "error");
    let r = c
        .req(&c.admin, "GET", &format!("/backups/{id}/export_record"), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "only available backups are exported");
    c.req(&c.admin, "POST", &format!("/backups/{id}/action"), reset("available"))
        .await;

    // Export, then import the record under a new id: both name the same data, which goes
    // with the last of them.
    let r = c.req(&c.a, "GET", &format!("/backups/{id}/export_record"), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .req(&c.admin, "GET", &format!("/backups/{id}/export_record"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let rec = &r.json["backup-record"];
    assert_eq!(rec["backup_service"], json!("cinder.backup.drivers.posix"));
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut decoded: Value = serde_json::from_slice(&b64.decode(rec["backup_url"].as_str().unwrap()).unwrap()).unwrap();
    let new_id = uuid::Uuid::new_v4().to_string();
    decoded["id"] = json!(new_id);
    let url = b64.encode(decoded.to_string());
    let import = |url: &str| {
        Some(json!({"backup-record": {"backup_service": "cinder.backup.drivers.posix", "backup_url": url}}))
    };
    let r = c.req(&c.admin, "POST", "/backups/import_record", import(&url)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(r.json["backup"]["id"], json!(new_id));
    assert_eq!(c.status("backup", &new_id).await, "available");
    let r = c.req(&c.admin, "POST", "/backups/import_record", import(&url)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the id exists now");
    decoded["data_id"] = json!("../../etc");
    decoded["id"] = json!(uuid::Uuid::new_v4().to_string());
    let r = c
        .req(
            &c.admin,
            "POST",
            "/backups/import_record",
            import(&b64.encode(decoded.to_string())),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "ids reaching agents are checked");

    let r = c
        .req(
            &c.admin,
            "POST",
            &format!("/backups/{id}/action"),
            Some(json!({"os-force_delete": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c.req(&c.admin, "GET", &format!("/backups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "shared data: the row alone goes");
    let r = c.req(&c.admin, "DELETE", &format!("/backups/{new_id}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let t = c.tasks().await;
    assert!(t
        .iter()
        .any(|t| t.id == new_id && t.data_id == id && t.task == BackupTask::Delete));
}

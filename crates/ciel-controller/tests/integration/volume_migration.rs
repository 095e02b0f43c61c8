//! Cinder volume migration through the router as clients call it (`os-migrate_volume`,
//! `os-retype` with a migration policy): Cinder's refusals, the states a volume and its
//! `migration_status` go through, the tasks each step puts in the hosts' desired state
//! (who copies, who serves, who removes the old copy) and what the hosts' reports change.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ciel_controller::app::App;
use ciel_controller::db::compute::hosts::Host;
use ciel_controller::db::sql;
use ciel_proto::{
    HostReport, VolumeCopySource, VolumeMigrationOutcome, VolumeMigrationSpec, VolumeMigrationStatus,
    VolumeMigrationTask,
};
use common::login;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Cloud {
    app: Arc<App>,
    admin: String,
    admin_c: ciel_controller::app::identity::caller::Caller,
    member: String,
    hv1: Host,
    hv2: Host,
    _dir: common::tempdir::Dir,
}

struct Resp {
    status: StatusCode,
    json: Value,
}

impl Cloud {
    async fn new() -> Cloud {
        let (app, dir) = common::app().await;
        let hv1 = common::migration_host(&app, "hv1", "192.0.2.11").await;
        let hv2 = common::migration_host(&app, "hv2", "192.0.2.12").await;
        let (admin, admin_c) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
        let c = Cloud {
            app,
            admin,
            admin_c: admin_c.clone(),
            member: String::new(),
            hv1,
            hv2,
            _dir: dir,
        };
        let r = c
            .call(
                &c.admin,
                "POST",
                "/identity/v3/users",
                Some(json!({"user": {"name": "m", "domain_id": "default", "password": "secretpw1"}})),
            )
            .await;
        let uid = r.json["user"]["id"].as_str().unwrap().to_string();
        let project = admin_c.project_id().unwrap().to_string();
        common::grant_user_project(&c.app, &admin_c, &uid, &project, "member").await;
        let (member, _) = login(&c.app, "m", "secretpw1", Some("admin")).await.unwrap();
        for (name, backend) in [("local", "file"), ("shared", "rbd")] {
            let r = c
                .req(
                    &c.admin,
                    "POST",
                    "/types",
                    Some(json!({"volume_type": {"name": name, "extra_specs": {"volume_backend_name": backend}}})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        }
        Cloud { member, ..c }
    }

    async fn call(&self, token: &str, method: &str, uri: &str, body: Option<Value>) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-auth-token", token)
            .header("openstack-api-version", "volume 3.0");
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = ciel_controller::http::router(self.app.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        Resp {
            status,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    async fn req(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.call(token, method, &format!("/volume/v3{path}"), body).await
    }

    /// An available 1 GiB volume of type `ty` held by `host`.
    async fn volume(&self, ty: &str, host: &Host) -> String {
        let r = self
            .req(
                &self.member,
                "POST",
                "/volumes",
                Some(json!({"volume": {"size": 1, "name": "v", "volume_type": ty}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        let id = r.json["volume"]["id"].as_str().unwrap().to_string();
        sql::query("UPDATE volumes SET status = 'available', host_id = ? WHERE id = ?")
            .bind(&host.id)
            .bind(&id)
            .execute(&self.app.db)
            .await
            .unwrap();
        id
    }

    async fn action(&self, token: &str, id: &str, body: Value) -> Resp {
        self.req(token, "POST", &format!("/volumes/{id}/action"), Some(body))
            .await
    }

    async fn migrate(&self, id: &str, host: &str) -> Resp {
        self.action(
            &self.admin,
            id,
            json!({"os-migrate_volume": {"host": host, "force_host_copy": false, "lock_volume": false}}),
        )
        .await
    }

    /// The volume as an admin sees it.
    async fn show(&self, id: &str) -> Value {
        let r = self.req(&self.admin, "GET", &format!("/volumes/{id}"), None).await;
        assert_eq!(r.status, StatusCode::OK);
        r.json["volume"].clone()
    }

    /// (status, migration_status, host, type) of the volume.
    async fn state(&self, id: &str) -> (String, Value, String, String) {
        let v = self.show(id).await;
        assert_eq!(v["migration_status"], v["os-vol-mig-status-attr:migstat"]);
        (
            v["status"].as_str().unwrap().into(),
            v["migration_status"].clone(),
            v["os-vol-host-attr:host"].as_str().unwrap().into(),
            v["volume_type"].as_str().unwrap().into(),
        )
    }

    async fn tasks(&self, host: &Host) -> Vec<VolumeMigrationSpec> {
        self.app
            .host_config(host, 0, Duration::from_millis(10))
            .await
            .unwrap()
            .volume_migrations
    }

    async fn report(&self, host: &Host, id: &str, outcome: VolumeMigrationOutcome) {
        let report = HostReport {
            generation: 1,
            volume_migrations: vec![VolumeMigrationStatus { id: id.into(), outcome }],
            ..Default::default()
        };
        self.app.host_report(host, report).await.unwrap();
    }

    fn bad(r: &Resp, want: &str) {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
        let msg = r.json["badRequest"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{msg:?} should say {want:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_moves_to_another_host_through_the_holding_hosts_export() {
    let c = Cloud::new().await;
    let vol = c.volume("local", &c.hv1).await;
    assert_eq!(
        c.state(&vol).await,
        ("available".into(), Value::Null, "hv1@file#file".into(), "local".into())
    );

    // Cinder's refusals.
    let r = c
        .action(&c.member, &vol, json!({"os-migrate_volume": {"host": "hv2@file"}}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "admin only");
    Cloud::bad(
        &c.action(&c.admin, &vol, json!({"os-migrate_volume": {}})).await,
        "Must specify 'host'",
    );
    Cloud::bad(
        &c.action(
            &c.admin,
            &vol,
            json!({"os-migrate_volume": {"host": "hv2@file", "lock_volume": "maybe"}}),
        )
        .await,
        "must be a boolean",
    );
    Cloud::bad(
        &c.migrate(&vol, "nope@file").await,
        "Invalid host: No available service named nope@file",
    );
    Cloud::bad(
        &c.migrate(&vol, "hv2@lvm#lvm").await,
        "No available service named hv2@lvm#lvm",
    );
    Cloud::bad(&c.migrate(&vol, "hv2@file#rbd").await, "No available service");
    Cloud::bad(
        &c.migrate(&vol, "hv1@file#file").await,
        "destination host/cluster must be different than the current host/cluster",
    );
    let r = c
        .req(
            &c.member,
            "POST",
            "/snapshots",
            Some(json!({"snapshot": {"volume_id": vol}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let snap = r.json["snapshot"]["id"].as_str().unwrap().to_string();
    Cloud::bad(&c.migrate(&vol, "hv2@file").await, "have snapshots");
    sql::query("DELETE FROM volume_snapshots WHERE id = ?")
        .bind(&snap)
        .execute(&c.app.db)
        .await
        .unwrap();
    sql::query("UPDATE volumes SET status = 'in-use' WHERE id = ?")
        .bind(&vol)
        .execute(&c.app.db)
        .await
        .unwrap();
    Cloud::bad(&c.migrate(&vol, "hv2@file").await, "in-use without an attachment");
    sql::query("UPDATE volumes SET status = 'available' WHERE id = ?")
        .bind(&vol)
        .execute(&c.app.db)
        .await
        .unwrap();

    // Accepted: the volume is locked while hv1 serves it and hv2 copies it.
    let r = c.migrate(&vol, "hv2@file#file").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(
        c.state(&vol).await,
        (
            "maintenance".into(),
            json!("migrating"),
            "hv1@file#file".into(),
            "local".into()
        )
    );
    let r = c.req(&c.member, "GET", &format!("/volumes/{vol}"), None).await;
    assert_eq!(r.json["volume"]["migration_status"], Value::Null, "admins only");
    Cloud::bad(&c.migrate(&vol, "hv2@rbd").await, "must not be migrating");
    let r = c.req(&c.member, "DELETE", &format!("/volumes/{vol}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a migrating volume stays");

    let served = c.tasks(&c.hv1).await;
    assert_eq!(served.len(), 1, "{served:?}");
    let mig = served[0].id.clone();
    assert_eq!(served[0].volume_id, vol);
    assert_eq!(
        served[0].task,
        VolumeMigrationTask::Serve {
            backend: "file".into(),
            addr: "192.0.2.11".into(),
            port: 49216
        }
    );
    let copy = c.tasks(&c.hv2).await;
    assert_eq!(copy.len(), 1);
    assert_eq!((copy[0].id.as_str(), copy[0].size_gb), (mig.as_str(), 1));
    assert_eq!(
        copy[0].task,
        VolumeMigrationTask::Copy {
            backend: "file".into(),
            source: VolumeCopySource::Nbd {
                addr: "192.0.2.11".into(),
                port: 49216
            }
        }
    );
    // hv2 holds nothing of it yet as a desired volume: the copy is kept as a task's.
    let cfg = c.app.host_config(&c.hv2, 0, Duration::from_millis(10)).await.unwrap();
    assert!(cfg.volumes.iter().all(|v| v.id != vol));

    // Only the copying host's report counts.
    c.report(&c.hv1, &mig, VolumeMigrationOutcome::Copied).await;
    assert_eq!(c.state(&vol).await.1, json!("migrating"));
    c.report(&c.hv2, &mig, VolumeMigrationOutcome::Copied).await;
    assert_eq!(
        c.state(&vol).await,
        (
            "available".into(),
            json!("success"),
            "hv2@file#file".into(),
            "local".into()
        )
    );
    assert_eq!(c.show(&vol).await["id"], json!(vol), "the same volume");
    assert!(c.tasks(&c.hv1).await.is_empty() && c.tasks(&c.hv2).await.is_empty());
    let on_hv2 = c.app.host_config(&c.hv2, 0, Duration::from_millis(10)).await.unwrap();
    assert!(on_hv2.volumes.iter().any(|v| v.id == vol && v.backend == "file"));
    let on_hv1 = c.app.host_config(&c.hv1, 0, Duration::from_millis(10)).await.unwrap();
    assert!(
        on_hv1.volumes.iter().all(|v| v.id != vol),
        "the old copy is no longer desired on hv1: its reconcile removes it"
    );

    // A failed copy leaves the volume where it was, migration_status error.
    let r = c.migrate(&vol, "hv1@file").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let mig = c.tasks(&c.hv1).await[0].id.clone();
    c.report(
        &c.hv1,
        &mig,
        VolumeMigrationOutcome::Failed {
            message: "no space".into(),
        },
    )
    .await;
    assert_eq!(
        c.state(&vol).await,
        (
            "available".into(),
            json!("error"),
            "hv2@file#file".into(),
            "local".into()
        )
    );
    assert!(c.tasks(&c.hv1).await.is_empty() && c.tasks(&c.hv2).await.is_empty());
    // And it may be tried again.
    let r = c.migrate(&vol, "hv1@file").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retype_moves_a_volume_to_the_new_types_backend_on_demand_only() {
    let c = Cloud::new().await;
    let vol = c.volume("local", &c.hv1).await;

    let retype = |policy: Value| json!({"os-retype": {"new_type": "shared", "migration_policy": policy}});
    Cloud::bad(
        &c.action(&c.member, &vol, retype(json!("sometimes"))).await,
        "migration_policy must be 'on-demand' or 'never', passed: sometimes",
    );
    Cloud::bad(
        &c.action(&c.member, &vol, retype(json!("never"))).await,
        "Retype requires migration but is not allowed",
    );
    Cloud::bad(
        &c.action(&c.member, &vol, json!({"os-retype": {"new_type": "shared"}}))
            .await,
        "Retype requires migration",
    );
    assert_eq!(c.state(&vol).await.0, "available");

    // file → rbd: the holding host writes into the pool itself, and stays the owner.
    let r = c.action(&c.member, &vol, retype(json!("on-demand"))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(
        c.state(&vol).await,
        (
            "retyping".into(),
            json!("migrating"),
            "hv1@file#file".into(),
            "local".into()
        )
    );
    let t = c.tasks(&c.hv1).await;
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0].task,
        VolumeMigrationTask::Copy {
            backend: "rbd".into(),
            source: VolumeCopySource::Local { backend: "file".into() }
        }
    );
    assert!(c.tasks(&c.hv2).await.is_empty());
    c.report(&c.hv1, &t[0].id, VolumeMigrationOutcome::Copied).await;
    assert_eq!(
        c.state(&vol).await,
        (
            "available".into(),
            json!("success"),
            "hv1@rbd#rbd".into(),
            "shared".into()
        )
    );
    assert!(
        c.tasks(&c.hv1).await.is_empty(),
        "the old file copy just stops being desired"
    );

    // Between owners of the pool nothing is copied.
    let r = c.migrate(&vol, "hv2@rbd#rbd").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(
        c.state(&vol).await,
        (
            "available".into(),
            json!("success"),
            "hv2@rbd#rbd".into(),
            "shared".into()
        )
    );
    assert!(c.tasks(&c.hv1).await.is_empty() && c.tasks(&c.hv2).await.is_empty());

    // rbd → file on another host: that host reads the pool; the old owner then removes
    // the image (completing → success).
    let r = c.migrate(&vol, "hv1@file").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let t = c.tasks(&c.hv1).await;
    assert_eq!(
        t[0].task,
        VolumeMigrationTask::Copy {
            backend: "file".into(),
            source: VolumeCopySource::Local { backend: "rbd".into() }
        }
    );
    assert!(c.tasks(&c.hv2).await.is_empty());
    c.report(&c.hv1, &t[0].id, VolumeMigrationOutcome::Copied).await;
    assert_eq!(
        c.state(&vol).await,
        (
            "available".into(),
            json!("completing"),
            "hv1@file#file".into(),
            "shared".into()
        )
    );
    let rm = c.tasks(&c.hv2).await;
    assert_eq!(rm[0].task, VolumeMigrationTask::RemoveOld { backend: "rbd".into() });
    Cloud::bad(&c.migrate(&vol, "hv2@file").await, "must not be migrating");
    c.report(
        &c.hv2,
        &rm[0].id,
        VolumeMigrationOutcome::Failed { message: "busy".into() },
    )
    .await;
    assert_eq!(c.state(&vol).await.1, json!("completing"), "the removal is retried");
    c.report(&c.hv2, &rm[0].id, VolumeMigrationOutcome::Removed).await;
    assert_eq!(c.state(&vol).await.1, json!("success"));
    assert!(c.tasks(&c.hv2).await.is_empty());

    // Back to the file type with the volume on file already: no migration.
    let r = c
        .action(
            &c.member,
            &vol,
            json!({"os-retype": {"new_type": "local", "migration_policy": "never"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(
        c.state(&vol).await,
        (
            "available".into(),
            json!("success"),
            "hv1@file#file".into(),
            "local".into()
        )
    );
}

/// A running server's report of its attached volumes and of their mirrors' outcomes.
fn vm_report(server: &str, volumes: &[&str], mirrors: Vec<VolumeMigrationStatus>) -> HostReport {
    HostReport {
        generation: 1,
        vms: vec![ciel_proto::VmStatus {
            id: server.into(),
            state: ciel_proto::VmState::Running,
            boot_serial: 0,
            message: None,
            volumes: volumes.iter().map(|v| v.to_string()).collect(),
            slots: vec![],
            migration: None,
            volume_migrations: mirrors,
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_volume_moves_by_its_servers_mirror_and_its_old_copy_goes() {
    let c = Cloud::new().await;
    c.app.seed_default_flavors().await.unwrap();
    let server = common::server_on(&c.app, &c.admin_c, "hv1").await;
    sql::query("UPDATE servers SET vm_state = 'active', task_state = NULL WHERE id = ?")
        .bind(&server)
        .execute(&c.app.db)
        .await
        .unwrap();
    let vol = c.volume("local", &c.hv1).await;
    c.app.attach_volume(&c.admin_c, &server, &vol, None).await.unwrap();
    c.app
        .host_report(&c.hv1, vm_report(&server, &[&vol], vec![]))
        .await
        .unwrap();
    assert_eq!(c.state(&vol).await.0, "in-use");
    let attachment = |cfg: &ciel_proto::HostConfig| {
        cfg.vms
            .iter()
            .find(|v| v.id == server)
            .and_then(|vm| vm.volumes.iter().find(|a| a.volume_id == vol).cloned())
            .expect("the volume is in the server's spec")
    };

    // Only where the server's host reaches: not another host's local backend.
    Cloud::bad(
        &c.migrate(&vol, "hv2@file").await,
        "a backend of that host or to a shared pool",
    );

    // A retype into the shared pool: the server's QEMU mirrors it, no host copies or serves it.
    let r = c
        .action(
            &c.member,
            &vol,
            json!({"os-retype": {"new_type": "shared", "migration_policy": "on-demand"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(
        c.state(&vol).await,
        (
            "retyping".into(),
            json!("migrating"),
            "hv1@file#file".into(),
            "local".into()
        )
    );
    assert!(c.tasks(&c.hv1).await.is_empty() && c.tasks(&c.hv2).await.is_empty());
    let on_hv1 = c.app.host_config(&c.hv1, 0, Duration::from_millis(10)).await.unwrap();
    let a = attachment(&on_hv1);
    let mirror = a.mirror.expect("the VM is told to mirror the disk");
    assert_eq!((a.backend.as_str(), mirror.backend.as_str()), ("file", "rbd"));
    // Detaching a moving volume is refused (it is locked).
    let r = c
        .call(
            &c.admin,
            "DELETE",
            &format!("/compute/v2.1/servers/{server}/os-volume_attachments/{vol}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    // So is moving the server: the mirror runs in its QEMU.
    for action in [
        json!({"os-migrateLive": {"host": null, "block_migration": false, "disk_over_commit": false}}),
        json!({"migrate": null}),
    ] {
        let r = c
            .call(
                &c.admin,
                "POST",
                &format!("/compute/v2.1/servers/{server}/action"),
                Some(action),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
        assert!(r.json.to_string().contains("is being migrated"), "{}", r.json);
    }

    // Only the server's host's VM report counts.
    let outcome = |id: &str, outcome: VolumeMigrationOutcome| vec![VolumeMigrationStatus { id: id.into(), outcome }];
    let copied = outcome(&mirror.migration_id, VolumeMigrationOutcome::Copied);
    c.app
        .host_report(&c.hv2, vm_report(&server, &[&vol], copied.clone()))
        .await
        .unwrap();
    assert_eq!(c.state(&vol).await.1, json!("migrating"));
    c.app
        .host_report(&c.hv1, vm_report(&server, &[&vol], copied))
        .await
        .unwrap();
    assert_eq!(
        c.state(&vol).await,
        (
            "in-use".into(),
            json!("completing"),
            "hv1@rbd#rbd".into(),
            "shared".into()
        )
    );
    let on_hv1 = c.app.host_config(&c.hv1, 0, Duration::from_millis(10)).await.unwrap();
    let a = attachment(&on_hv1);
    assert_eq!((a.backend.as_str(), a.mirror), ("rbd", None), "the disk is on RBD now");
    // hv1 removes the copy the mirror left on its file backend.
    let tasks = c.tasks(&c.hv1).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].task, VolumeMigrationTask::RemoveOld { backend: "file".into() });
    c.report(&c.hv1, &mirror.migration_id, VolumeMigrationOutcome::Removed)
        .await;
    assert_eq!(
        c.state(&vol).await,
        ("in-use".into(), json!("success"), "hv1@rbd#rbd".into(), "shared".into())
    );
    assert!(c.tasks(&c.hv1).await.is_empty());

    // Back to the file backend: a failed mirror leaves it in use where it was.
    let r = c.migrate(&vol, "hv1@file").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let on_hv1 = c.app.host_config(&c.hv1, 0, Duration::from_millis(10)).await.unwrap();
    let mirror = attachment(&on_hv1).mirror.expect("mirrored again");
    let failed = outcome(
        &mirror.migration_id,
        VolumeMigrationOutcome::Failed {
            message: "the mirror stopped".into(),
        },
    );
    c.app
        .host_report(&c.hv1, vm_report(&server, &[&vol], failed))
        .await
        .unwrap();
    assert_eq!(
        c.state(&vol).await,
        ("in-use".into(), json!("error"), "hv1@rbd#rbd".into(), "shared".into())
    );
    let on_hv1 = c.app.host_config(&c.hv1, 0, Duration::from_millis(10)).await.unwrap();
    assert_eq!(attachment(&on_hv1).mirror, None);

    // Tried again, it moves; the old copy in the pool is removed by its owner.
    let r = c.migrate(&vol, "hv1@file").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let on_hv1 = c.app.host_config(&c.hv1, 0, Duration::from_millis(10)).await.unwrap();
    let mirror = attachment(&on_hv1).mirror.expect("mirrored again");
    let copied = outcome(&mirror.migration_id, VolumeMigrationOutcome::Copied);
    c.app
        .host_report(&c.hv1, vm_report(&server, &[&vol], copied))
        .await
        .unwrap();
    assert_eq!(
        c.state(&vol).await,
        (
            "in-use".into(),
            json!("completing"),
            "hv1@file#file".into(),
            "shared".into()
        )
    );
    assert_eq!(
        c.tasks(&c.hv1).await[0].task,
        VolumeMigrationTask::RemoveOld { backend: "rbd".into() }
    );
    c.report(&c.hv1, &mirror.migration_id, VolumeMigrationOutcome::Removed)
        .await;
    assert_eq!(c.state(&vol).await.1, json!("success"));

    // A server that is not running cannot move its volume.
    sql::query("UPDATE servers SET vm_state = 'stopped' WHERE id = ?")
        .bind(&server)
        .execute(&c.app.db)
        .await
        .unwrap();
    Cloud::bad(&c.migrate(&vol, "hv1@rbd").await, "moves only under a running server");
}

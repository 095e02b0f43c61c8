//! Several controllers sharing one database and one shared directory: what one changes, the
//! others act on within a second; startup and recovery never clobber another's work. The
//! tests that need several controllers run on PostgreSQL (`CIEL_TEST_DATABASE`); a SQLite
//! file belongs to one controller.

use crate::common;

use ciel_controller::app::compute::params::CreateServer;
use ciel_controller::app::compute::resource_params::CreateRemoteConsole;
use ciel_controller::app::identity::assignments::{ActorKind, GrantRef, TargetKind};
use ciel_controller::app::network::params::FromBody;
use ciel_controller::app::App;
use ciel_controller::config::ControllerConfig;
use ciel_controller::db::cluster::{self, work, Lease};
use ciel_controller::db::image::{self as image_db, ImageStatus};
use ciel_controller::Controller;
use ciel_proto::{HostReport, VmState, VmStatus};
use common::{login, params, tempdir::Dir};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Controllers started at the same moment on one new database, each following the others.
struct Cluster {
    apps: Vec<Arc<App>>,
    _dirs: Vec<Dir>,
}

async fn cluster(n: usize) -> Option<Cluster> {
    let Some(url) = ciel_controller::db::fresh_test_database().await.unwrap() else {
        eprintln!("several controllers need PostgreSQL: set CIEL_TEST_DATABASE to run this test");
        return None;
    };
    let shared = Dir::new();
    let mut dirs = vec![];
    let mut starts = vec![];
    for _ in 0..n {
        let d = Dir::new();
        let mut cfg = ControllerConfig::new(d.0.clone(), "127.0.0.1:0".parse().unwrap());
        cfg.database_url = Some(url.clone());
        cfg.shared_dir = shared.0.clone();
        cfg.admin_password = Some("adminpw".into());
        starts.push(tokio::spawn(Controller::start(cfg)));
        dirs.push(d);
    }
    let mut apps = vec![];
    for s in starts {
        let app = s.await.unwrap().expect("controller start").app;
        tokio::spawn(app.clone().follow_cluster());
        apps.push(app);
    }
    dirs.push(shared);
    Some(Cluster { apps, _dirs: dirs })
}

/// How long until `check` holds, polling every 20 ms for up to 5 s.
async fn until<F, Fut>(mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(5), "not seen after 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn three_controllers_starting_together_bootstrap_and_seed_once() {
    let Some(c) = cluster(3).await else { return };
    let db = &c.apps[0].db;
    let users = ciel_controller::db::identity::users::list(db).await.unwrap();
    assert_eq!(users.iter().filter(|u| u.name == "admin").count(), 1, "one admin user");
    let flavors = ciel_controller::db::compute::flavors::list(db).await.unwrap();
    let mut ids: Vec<_> = flavors.iter().map(|f| f.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), flavors.len());
    assert!(!flavors.is_empty());
    let networks = ciel_controller::db::network::list_networks(db).await.unwrap();
    assert_eq!(
        networks.iter().filter(|n| n.name == "public").count(),
        1,
        "one external network"
    );
    // One token key repository: a token from one controller opens on the others.
    let (token, _) = login(&c.apps[1], "admin", "adminpw", Some("admin")).await.unwrap();
    for app in &c.apps {
        app.validate_token(&token).await.unwrap();
    }
}

#[tokio::test]
async fn revocations_disabled_users_and_removed_roles_reach_every_controller_within_a_second() {
    let Some(c) = cluster(2).await else { return };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let (_, admin) = login(a, "admin", "adminpw", Some("admin")).await.unwrap();

    // A token revoked through A.
    let (token, caller) = login(a, "admin", "adminpw", Some("admin")).await.unwrap();
    b.validate_token(&token).await.unwrap();
    a.revoke_token(&caller).await.unwrap();
    let took = until(|| async { b.validate_token(&token).await.is_err() }).await;
    eprintln!("revoked token refused by the other controller after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");

    // A user disabled through A.
    let project = a.create_project(&admin, params(json!({"name": "p"}))).await.unwrap();
    let user = a
        .create_user(&admin, params(json!({"name": "u", "password": "pw"})))
        .await
        .unwrap();
    common::grant_user_project(a, &admin, &user.id, &project.id, "member").await;
    let (token, _) = login(b, "u", "pw", Some("p")).await.unwrap();
    a.update_user(&admin, &user.id, params(json!({"enabled": false})))
        .await
        .unwrap();
    let took = until(|| async { b.validate_token(&token).await.is_err() }).await;
    eprintln!("disabled user's token refused by the other controller after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");

    // A role removed through A.
    let other = a
        .create_user(&admin, params(json!({"name": "v", "password": "pw"})))
        .await
        .unwrap();
    common::grant_user_project(a, &admin, &other.id, &project.id, "member").await;
    let (token, _) = login(b, "v", "pw", Some("p")).await.unwrap();
    let member = a
        .list_roles(&admin)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "member")
        .unwrap();
    a.revoke_grant(
        &admin,
        GrantRef {
            actor: ActorKind::User,
            actor_id: other.id.clone(),
            target: TargetKind::Project,
            target_id: project.id.to_string(),
            role_id: member.id,
            inherited: false,
        },
    )
    .await
    .unwrap();
    let took = until(|| async { b.validate_token(&token).await.is_err() }).await;
    eprintln!("token of a removed role refused by the other controller after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn a_change_through_one_controller_wakes_long_polls_on_another() {
    let Some(c) = cluster(2).await else { return };
    let (a, b) = (c.apps[0].clone(), c.apps[1].clone());
    let (host, _) = common::register_fake_host(&b, "h1", None, &[]).await;
    let now = b.host_config(&host, 0, Duration::ZERO).await.unwrap().generation;
    let poll = tokio::spawn(async move {
        let start = Instant::now();
        let cfg = b.host_config(&host, now, Duration::from_secs(10)).await.unwrap();
        (cfg.generation, start)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, admin) = login(&a, "admin", "adminpw", Some("admin")).await.unwrap();
    let changed = Instant::now();
    let router = FromBody::from_body(common::body(json!({"name": "r"}))).unwrap();
    a.create_router(&admin, router).await.unwrap();
    let (generation, _) = poll.await.unwrap();
    let took = changed.elapsed();
    eprintln!("long poll on the other controller answered {took:?} after the change");
    assert!(generation > now, "the poll saw the new state");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn work_of_a_dead_controller_is_recovered_and_live_work_is_left_alone() {
    // One controller suffices here, on either engine: the dead one is only a row.
    let (app, _d) = common::app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let image = |name: &str| {
        let app = app.clone();
        let admin = admin.clone();
        let name = name.to_string();
        async move {
            let p = params(json!({"name": name, "disk_format": "raw", "container_format": "bare"}));
            app.create_image(&admin, p).await.unwrap().id.into_string()
        }
    };
    let (orphan, live) = (image("orphan").await, image("live").await);
    let now = ciel_controller::db::now();
    cluster::beat(&app.db, "dead-controller", "gone", now - 60)
        .await
        .unwrap();
    for (id, owner) in [(&orphan, "dead-controller"), (&live, app.controller_id.as_str())] {
        assert!(
            image_db::transition(&app.db, id, &[ImageStatus::Queued], ImageStatus::Saving, now)
                .await
                .unwrap()
        );
        let lease = Lease {
            kind: work::IMAGE_UPLOAD.into(),
            resource_id: id.clone(),
            controller_id: owner.into(),
            detail: String::new(),
            started_at: now,
        };
        cluster::take_lease(&app.db, &lease).await.unwrap();
    }
    assert_eq!(app.recover_orphaned_work().await.unwrap(), 1);
    let status = |id: String| {
        let app = app.clone();
        async move { image_db::get(&app.db, &id).await.unwrap().unwrap().status }
    };
    assert_eq!(
        status(orphan.clone()).await,
        ImageStatus::Queued,
        "the dead controller's upload is reset"
    );
    assert_eq!(
        status(live.clone()).await,
        ImageStatus::Saving,
        "a live controller's upload is left alone"
    );
    assert_eq!(app.recover_orphaned_work().await.unwrap(), 0, "recovered once");
}

#[tokio::test]
async fn a_console_url_from_one_controller_opens_through_another() {
    let Some(c) = cluster(2).await else { return };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let (_, admin) = login(a, "admin", "adminpw", Some("admin")).await.unwrap();
    // A host whose agent serves consoles, and a running server on it, made through A.
    let (host, _) = common::register_fake_host(a, "h1", Some("http://192.0.2.7:8775"), &[]).await;
    let img = common::raw_image(a, &admin, "img").await;
    let req = CreateServer::try_from(common::body(
        json!({"name": "vm", "imageRef": img.id, "flavorRef": "42", "networks": "none"}),
    ))
    .unwrap();
    let server = a.create_servers(&admin, "req-test", &req).await.unwrap().remove(0);
    let desired = a.host_config(&host, 0, Duration::ZERO).await.unwrap();
    a.host_report(
        &host,
        HostReport {
            generation: desired.generation,
            vms: vec![VmStatus {
                id: server.id.to_string(),
                state: VmState::Running,
                boot_serial: 0,
                message: None,
                volumes: vec![],
                slots: vec![],
                migration: None,
                volume_migrations: vec![],
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let console = CreateRemoteConsole::new("vnc", "novnc").unwrap();
    let url = a.create_console(&admin, &server.id, &console).await.unwrap();
    let token = url.split("token=").nth(1).expect("a token in the URL");
    let target = b.console_target(token).await.expect("B opens A's console URL");
    assert_eq!(target.url, format!("ws://192.0.2.7:8775/v1/vms/{}/vnc", server.id));
    assert!(
        b.console_target("not-a-token").await.is_err(),
        "an unknown token is refused"
    );
}

/// Runs one HTTP request through a controller's whole router.
async fn http(
    app: &Arc<App>,
    method: &str,
    uri: &str,
    token: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let text = body.to_string();
    let req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("x-auth-token", token)
        .header("content-type", "application/json")
        .header("content-length", text.len())
        .body(axum::body::Body::from(text))
        .unwrap();
    let resp = ciel_controller::http::router(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn transactions_that_lose_a_race_are_retried_not_shown_to_users() {
    let Some(c) = cluster(1).await else { return };
    let app = &c.apps[0];
    let (token, _) = login(app, "admin", "adminpw", Some("admin")).await.unwrap();
    // The database aborts the next inserts of networks the way it aborts a transaction that
    // lost a race: a sequence counts the attempts (sequences ignore rollbacks).
    for stmt in [
        "CREATE SEQUENCE network_attempts",
        "CREATE TABLE injected_failures (name TEXT PRIMARY KEY, code TEXT NOT NULL, times BIGINT NOT NULL)",
        "CREATE FUNCTION lose_a_race() RETURNS trigger LANGUAGE plpgsql AS $body$
         DECLARE f injected_failures%ROWTYPE;
         BEGIN
           PERFORM nextval('network_attempts');
           SELECT * INTO f FROM injected_failures WHERE name = NEW.name;
           IF FOUND AND currval('network_attempts') <= f.times THEN
             RAISE EXCEPTION 'injected race' USING ERRCODE = f.code;
           END IF;
           RETURN NEW;
         END $body$",
        "CREATE TRIGGER lose_a_race BEFORE INSERT ON networks FOR EACH ROW EXECUTE FUNCTION lose_a_race()",
        "INSERT INTO injected_failures VALUES ('serialization', '40001', 2), ('deadlock', '40P01', 5), ('always', '40001', 1000000)",
    ] {
        ciel_controller::db::sql::query(stmt).execute(&app.db).await.unwrap();
    }
    let attempts = || async {
        ciel_controller::db::sql::query_scalar::<i64>("SELECT last_value FROM network_attempts")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let create = |name: &'static str| {
        http(
            app,
            "POST",
            "/network/v2.0/networks",
            &token,
            json!({"network": {"name": name}}),
        )
    };

    let (status, body) = create("serialization").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(attempts().await, 3, "two serialization failures, then success");
    let (status, body) = create("deadlock").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        attempts().await,
        6,
        "two more deadlocks (the counter is shared), then success"
    );

    // A race lost every time ends as a 503 after a few attempts, and nothing half-made stays.
    let before = attempts().await;
    let (status, body) = create("always").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["NeutronError"]["type"], "HTTPServiceUnavailable");
    let tries = attempts().await - before;
    assert!((2..=10).contains(&tries), "{tries} attempts");
    let names: Vec<String> = ciel_controller::db::network::list_networks(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert!(names.contains(&"serialization".to_string()) && names.contains(&"deadlock".to_string()));
    assert!(!names.contains(&"always".to_string()));
}

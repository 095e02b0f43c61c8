//! What operators watch: the audit log names the caller of every write and holds no secret,
//! every response has a request id (the audit line's), `/metrics` counts the calls made and
//! is refused without an admin token, and metering turns a server's life into runs whose
//! hours the usage APIs report, its end exact when it is deleted.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ciel_controller::app::App;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

async fn call(
    app: &Arc<App>,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, String) {
    let mut req = Request::builder().method(method).uri(uri);
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
    let resp = ciel_controller::http::router(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let rid = resp
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, rid, String::from_utf8_lossy(&bytes).into())
}

/// The audit log's lines once it has `n` of them (the writer is a thread of its own).
async fn audit_lines(dir: &std::path::Path, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let text = std::fs::read_to_string(dir.join("audit.log")).unwrap_or_default();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if lines.len() >= n {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the audit log did not get {n} lines");
}

#[tokio::test]
async fn writes_are_audited_counted_and_carry_request_ids() {
    let (app, dir) = common::app().await;
    let login = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "adminpw"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let (status, _, _) = call(&app, "POST", "/identity/v3/auth/tokens", None, Some(login)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (token, admin) = common::login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let (status, rid, _) = call(
        &app,
        "POST",
        "/network/v2.0/networks",
        Some(&token),
        Some(json!({"network": {"name": "audited"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(rid.starts_with("req-"), "request id {rid:?}");
    let (status, denied_rid, _) = call(&app, "DELETE", "/network/v2.0/networks/nope", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let lines = audit_lines(&dir.0, 3).await;
    // The sign-in names who signed in; no password or token is anywhere in the log.
    assert_eq!(lines[0]["policy_action"], "identity:issue_token");
    assert_eq!(lines[0]["initiator"]["id"], admin.user_id());
    let create = &lines[1];
    assert_eq!(create["policy_action"], "network:networks:create");
    assert_eq!(create["action"], "create");
    assert_eq!(create["outcome"], "success");
    assert_eq!(create["reason"]["reasonCode"], "201");
    assert_eq!(create["request_id"], rid.as_str());
    assert_eq!(create["initiator"]["id"], admin.user_id());
    assert_eq!(create["initiator"]["project_id"], admin.project_id().unwrap());
    assert_eq!(create["target"]["typeURI"], "network/networks");
    let denied = &lines[2];
    assert_eq!(denied["outcome"], "failure");
    assert_eq!(denied["request_id"], denied_rid.as_str());
    assert_eq!(denied["target"]["id"], "nope");
    assert!(denied["initiator"].get("id").is_none());
    let text = std::fs::read_to_string(dir.0.join("audit.log")).unwrap();
    assert!(!text.contains("adminpw") && !text.contains(&token));
    // Reads are not audited.
    call(&app, "GET", "/network/v2.0/networks", Some(&token), None).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        std::fs::read_to_string(dir.0.join("audit.log"))
            .unwrap()
            .lines()
            .count(),
        3
    );

    // Without a peer address (not from an allowed one) the metrics need an admin token.
    let (status, _, _) = call(&app, "GET", "/metrics", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, text) = call(&app, "GET", "/metrics", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    let created = text
        .lines()
        .find(|l| {
            l.starts_with("ciel_http_requests_total{")
                && l.contains("action=\"network:networks:create\"")
                && l.contains("status=\"201\"")
        })
        .unwrap_or_else(|| panic!("no count of the creation in:\n{text}"));
    assert!(created.split(' ').nth(1).unwrap().parse::<u64>().unwrap() >= 1);
    assert!(
        text.contains("ciel_resources{state=\"ACTIVE\",type=\"network\"} 1"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "ciel_quota_used{{project=\"{}\",resource=\"network\"}} 1",
        admin.project_id().unwrap()
    )));
    assert!(text.contains(&format!(
        "ciel_quota_limit{{project=\"{}\",resource=\"network\"}} 100",
        admin.project_id().unwrap()
    )));
}

#[tokio::test]
async fn metering_turns_a_servers_life_into_hours() {
    let (app, _dir) = common::app().await;
    let (_, admin) = common::login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    common::migration_host(&app, "h1", "192.0.2.1").await;
    let id = common::server_on(&app, &admin, "h1").await;
    let project = admin.project_id().unwrap().to_string();
    let server = app.get_server(&admin, &id).await.unwrap();
    let first = app.sample_usage().await.unwrap();
    assert!(first.opened >= 1, "{first:?}");
    // A second sample right away is another controller's moment: skipped.
    assert!(app.sample_usage().await.unwrap().skipped);
    let now = ciel_controller::db::now();
    let usage = app
        .tenant_usage(&admin, Some(&project), now - 3600, now + 3600)
        .await
        .unwrap();
    let s = &usage[0].servers[0];
    assert_eq!((s.id.as_str(), s.vcpus, s.ended_at), (id.as_str(), server.vcpus, None));
    assert_eq!(s.started_at, server.created_at);
    app.delete_server(&admin, &id, "req-delete").await.unwrap();
    let deleted_at = ciel_controller::db::now();
    let usage = app
        .tenant_usage(&admin, Some(&project), now - 3600, now + 3600)
        .await
        .unwrap();
    let s = &usage[0].servers[0];
    assert_eq!(s.state, "terminated");
    let ended = s.ended_at.expect("the run ended with the server");
    assert!((server.created_at..=deleted_at).contains(&ended), "{ended}");
    let expected = (ended - server.created_at) as f64 / 3600.0;
    assert!((s.hours - expected).abs() < 1e-9);
    assert!((usage[0].total_vcpus_usage() - expected * server.vcpus as f64).abs() < 1e-9);
    // The billing report counts the same hours; another project's member sees none of it.
    let report = app.usage_report(&admin, None, now - 3600, now + 3600).await.unwrap();
    let mine = report.iter().find(|p| p.project_id == project).unwrap();
    assert!((mine.server_hours - expected).abs() < 1e-9);
    assert!((mine.ram_gib_hours - expected * server.memory_mb as f64 / 1024.0).abs() < 1e-9);
}

/// A host's samples become the graphs' rates: only its own servers' rows are kept, members
/// of the server's project read them and nobody else does, host graphs are for admins, and
/// rows older than a day are thinned to one per 10 minutes.
#[tokio::test]
async fn samples_make_graphs_for_the_servers_project_only() {
    use ciel_controller::db::samples as rows;
    let (app, _dir) = common::app().await;
    let (admin_token, admin) = common::login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    app.seed_default_flavors().await.unwrap();
    let (h1, token1) = common::register_fake_host(&app, "h1", None, &[]).await;
    let (h2, token2) = common::register_fake_host(&app, "h2", None, &[]).await;
    let id = common::server_on(&app, &admin, "h1").await;
    let server = app.get_server(&admin, &id).await.unwrap();
    let sample = |cpu: f64, rx: u64| ciel_proto::ServerSample {
        server_id: id.clone(),
        cpu_seconds: cpu,
        memory_rss_bytes: 300 << 20,
        disk_read_bytes: 0,
        disk_write_bytes: rx * 2,
        network_rx_bytes: rx,
        network_tx_bytes: 0,
    };
    let now = ciel_controller::db::now();
    // A minute ago, straight into the table; now, through the agent API.
    rows::add_server(&app.db, &h1.id, now - 60, &sample(10.0, 1_000))
        .await
        .unwrap();
    let report = json!({
        "host": {"cpu_total_seconds": 1000.0, "cpu_busy_seconds": 100.0, "memory_total_bytes": 4096,
                 "memory_available_bytes": 1024, "storage_size_bytes": 100, "storage_free_bytes": 40},
        "servers": [sample(10.0 + 30.0 * server.vcpus as f64, 7_000)],
    });
    let post = |token: String, host: String, body: Value| {
        let app = app.clone();
        async move {
            let req = Request::post(format!("/agent/v1/hosts/{host}/samples"))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let resp = ciel_controller::http::router(app).oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            (status, String::from_utf8_lossy(&bytes).to_string())
        }
    };
    // Another host cannot write the server's rows (its own figures are kept), nor use h1's
    // id with its own token.
    let (status, body) = post(token2.clone(), h2.id.to_string(), report.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rows::server_rows(&app.db, &id, 0).await.unwrap().len(), 1);
    assert_eq!(rows::host_rows(&app.db, &h2.id, 0).await.unwrap().len(), 1);
    let (status, _) = post(token2, h1.id.to_string(), report.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = post(token1.clone(), h1.id.to_string(), report.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ack: ciel_proto::SamplesAck = serde_json::from_str(&body).unwrap();
    assert_eq!(ack.interval_secs, app.cfg.usage.interval);
    let kept = rows::server_rows(&app.db, &id, 0).await.unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    // Sent again at once: too soon, ignored (a host sends once per interval).
    let (status, _) = post(token1.clone(), h1.id.to_string(), report).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows::host_rows(&app.db, &h1.id, 0).await.unwrap().len(), 1);

    let (status, _, body) = call(
        &app,
        "GET",
        &format!("/ciel/v1/servers/{id}/samples?period=hour"),
        Some(&admin_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let graph: Value = serde_json::from_str(&body).unwrap();
    let points = graph["points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{graph}");
    let p = &points[0];
    let dt = (kept[1].at - kept[0].at) as f64;
    assert!(
        (p["cpu_percent"].as_f64().unwrap() - 30.0 / dt * 100.0).abs() < 1e-6,
        "{p}"
    );
    assert!(
        (p["network_rx_bytes_per_sec"].as_f64().unwrap() - 6_000.0 / dt).abs() < 1e-6,
        "{p}"
    );
    assert!(
        (p["disk_write_bytes_per_sec"].as_f64().unwrap() - 12_000.0 / dt).abs() < 1e-6,
        "{p}"
    );
    assert_eq!(p["memory_rss_bytes"], json!(300u64 << 20));
    assert_eq!(graph["memory_bytes"], json!(server.memory_mb * 1024 * 1024));
    let (status, _, body) = call(
        &app,
        "GET",
        &format!("/ciel/v1/servers/{id}/samples?period=year"),
        Some(&admin_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A member of another project: no such server; no host graphs.
    let p = app
        .create_project(&admin, common::params(json!({"name": "other"})))
        .await
        .unwrap();
    let u = app
        .create_user(&admin, common::params(json!({"name": "eve", "password": "pw"})))
        .await
        .unwrap();
    common::grant_user_project(&app, &admin, &u.id, &p.id, "member").await;
    let (eve, _) = common::login(&app, "eve", "pw", Some("other")).await.unwrap();
    let (status, _, _) = call(&app, "GET", &format!("/ciel/v1/servers/{id}/samples"), Some(&eve), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&app, "GET", "/ciel/v1/hosts/h1/samples", Some(&eve), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The host's graph, by name: one row so far (a rate needs two); then a second.
    let host_sample = |busy: f64, total: f64| ciel_proto::HostSample {
        cpu_total_seconds: total,
        cpu_busy_seconds: busy,
        memory_total_bytes: 4096,
        memory_available_bytes: 1024,
        storage_size_bytes: 100,
        storage_free_bytes: 40,
    };
    rows::add_host(&app.db, &h1.id, now - 60, &host_sample(50.0, 800.0))
        .await
        .unwrap();
    let (status, _, body) = call(
        &app,
        "GET",
        "/ciel/v1/hosts/h1/samples?period=day",
        Some(&admin_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let graph: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(graph["host"], "h1");
    let p = &graph["points"][0];
    assert!((p["cpu_percent"].as_f64().unwrap() - 25.0).abs() < 1e-6, "{graph}");
    assert_eq!(
        (p["memory_used_bytes"].clone(), p["storage_used_bytes"].clone()),
        (json!(3072), json!(60))
    );

    // Thinning: of rows two days old, one per 10 minutes stays; rows past the retention go.
    let old = (now - 2 * 86_400) / 600 * 600;
    for (i, at) in [old, old + 60, old + 120, old + 600, old + 660].into_iter().enumerate() {
        rows::add_server(&app.db, &h1.id, at, &sample(i as f64, 0))
            .await
            .unwrap();
    }
    rows::add_server(&app.db, &h1.id, now - 30 * 86_400, &sample(0.0, 0))
        .await
        .unwrap();
    let mut tx = ciel_controller::db::begin_read(&app.db).await.unwrap();
    let removed = rows::thin(&mut tx, old - 1, old + 700, 600, now - 14 * 86_400)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(removed, 4);
    let ats: Vec<i64> = rows::server_rows(&app.db, &id, 0)
        .await
        .unwrap()
        .iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(ats[..2], [old, old + 600], "{ats:?}");
    assert_eq!(ats.len(), 4);
}

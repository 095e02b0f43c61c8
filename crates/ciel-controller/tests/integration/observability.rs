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

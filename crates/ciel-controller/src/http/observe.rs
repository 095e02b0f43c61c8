//! What every request leaves behind: its request id (`x-openstack-request-id`, on every
//! response of every service), its count and latency in the metrics (labelled by service and
//! policy action, never by path, so the series stay bounded), a debug log line, and for
//! write calls to the OpenStack APIs one audit event.

use super::compute::request_id::RequestId;
use super::routes::Routed;
use super::AppState;
use crate::app::audit::{AuditEvent, Initiator, InitiatorHost, Observer, Reason, Target};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::time::Instant;

/// Set on a response by a handler that authenticated someone without a token (issuing a
/// token): the audit log's initiator.
#[derive(Clone)]
pub struct Authenticated(pub crate::app::identity::caller::Caller);

/// The service a path belongs to (its first segment), as a fixed label.
pub fn service_of(path: &str) -> &'static str {
    match path.trim_start_matches('/').split('/').next().unwrap_or("") {
        "compute" => "compute",
        "identity" => "identity",
        "image" => "image",
        "network" => "network",
        "volume" => "volume",
        "load-balancer" => "load-balancer",
        "agent" => "agent",
        "ciel" => "ciel",
        "metrics" => "metrics",
        "healthz" | "readyz" => "health",
        _ => "dashboard",
    }
}

/// Writes to these services are audited (the agents' reports and the dashboard's files are
/// not API calls of users).
fn audited(service: &str) -> bool {
    !matches!(service, "agent" | "dashboard" | "metrics" | "health")
}

/// The method as a label: any other token a client sends is `other` (each would otherwise
/// be a new series, for good).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The CADF action of a write method.
fn cadf_action(m: &Method) -> Option<&'static str> {
    match *m {
        Method::POST => Some("create"),
        Method::PUT | Method::PATCH => Some("update"),
        Method::DELETE => Some("delete"),
        _ => None,
    }
}

pub async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = RequestId::new();
    req.extensions_mut().insert(request_id.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let service = service_of(&path);
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect::<String>());
    let app = req.extensions().get::<AppState>().cloned();
    let mut resp = next.run(req).await;
    let status = resp.status().as_u16();
    let routed = resp.extensions_mut().remove::<Routed>();
    let authenticated = resp.extensions_mut().remove::<Authenticated>().map(|a| a.0);
    let action = routed
        .as_ref()
        .map_or("unmatched".to_string(), |r| r.action.to_string());
    let elapsed = started.elapsed();
    let status_label = status.to_string();
    if app.as_ref().is_none_or(|a| a.cfg.metrics.enabled) {
        crate::metrics::HTTP_REQUESTS
            .with_label_values(&[service, &action, method_label(&method), &status_label])
            .inc();
        crate::metrics::HTTP_DURATION
            .with_label_values(&[service, &action])
            .observe(elapsed.as_secs_f64());
    }
    if let Ok(v) = HeaderValue::from_str(&request_id.0) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    tracing::debug!(%method, path, status, micros = elapsed.as_micros() as u64, request_id = %request_id.0, "request");
    if let (Some(app), Some(cadf), true) = (app, cadf_action(&method), audited(service)) {
        let (caller, target) = match routed {
            Some(r) => (r.caller.or(authenticated), r.target),
            None => (authenticated, None),
        };
        let policy_action = action;
        let event = AuditEvent {
            type_uri: "http://schemas.dmtf.org/cloud/audit/1.0/event",
            id: uuid::Uuid::new_v4().to_string(),
            event_type: "activity",
            event_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            action: cadf,
            outcome: if status < 400 { "success" } else { "failure" },
            reason: Reason {
                reason_type: "HTTP",
                reason_code: status_label,
            },
            initiator: Initiator {
                type_uri: "service/security/account/user",
                id: caller.as_ref().map(|c| c.user_id().to_string()),
                name: caller.as_ref().map(|c| c.grant.user.name.clone()),
                domain_id: caller.as_ref().map(|c| c.grant.user.domain.id.clone()),
                project_id: caller.as_ref().and_then(|c| c.project_id().map(str::to_string)),
                host: InitiatorHost {
                    address: peer.map(|p| p.to_string()),
                    agent: user_agent,
                },
            },
            target: Target {
                type_uri: target_type(&policy_action),
                id: target,
            },
            observer: Observer {
                type_uri: "service/cloud",
                id: app.controller_id.clone(),
                name: "ciel",
            },
            request_path: path,
            request_id: request_id.0,
            policy_action,
            service,
        };
        app.audit.record(&event);
    }
    resp
}

/// The target's type from the policy action: `compute:servers:create` is `compute/servers`.
fn target_type(action: &str) -> String {
    let parts: Vec<&str> = action.split(':').collect();
    match parts.len() {
        0 | 1 => action.to_string(),
        n => parts[..n - 1].join("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(service_of("/compute/v2.1/servers/abc"), "compute");
        assert_eq!(service_of("/load-balancer/v2/lbaas/loadbalancers"), "load-balancer");
        assert_eq!(service_of("/readyz"), "health");
        assert_eq!(service_of("/anything/else"), "dashboard");
        assert_eq!(target_type("compute:servers:create"), "compute/servers");
        assert_eq!(target_type("unmatched"), "unmatched");
        assert_eq!(method_label(&Method::from_bytes(b"FOO1").unwrap()), "other");
    }
}

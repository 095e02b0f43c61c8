//! `/servers/{id}/os-interface`: list, show, attach (a port or a new port on a network) and
//! detach a server's network interfaces.

use super::error::NovaResult;
use super::microversion::Mv;
use super::NovaCaller;
use crate::app::compute::interfaces::AttachInterface;
use crate::app::network::params::FromBody;
use crate::app::network::ports::PortView;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn attachment(p: &PortView, mv: Mv) -> Value {
    let mut v = json!({
        "port_state": p.port.status, "port_id": p.port.id, "net_id": p.port.network_id,
        "mac_addr": p.port.mac_address,
        "fixed_ips": p.fixed_ips.iter().map(|f| json!({"subnet_id": f.subnet_id, "ip_address": f.ip_address})).collect::<Vec<_>>(),
    });
    if mv.at_least(70) {
        v["tag"] = Value::Null;
    }
    v
}

pub async fn list(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    let ports = app.list_interfaces(&c, &id).await?;
    let items: Vec<Value> = ports.iter().map(|p| attachment(p, mv)).collect();
    Ok(Json(json!({ "interfaceAttachments": items })).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path((id, port)): Path<(String, String)>,
) -> NovaResult {
    let p = app.get_interface(&c, &id, &port).await?;
    Ok(Json(json!({ "interfaceAttachment": attachment(&p, mv) })).into_response())
}

pub async fn attach(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let req = AttachInterface::from_body(wrapped(&body, "interfaceAttachment")?)?;
    let p = app.attach_interface(&c, &id, req).await?;
    Ok(Json(json!({ "interfaceAttachment": attachment(&p, mv) })).into_response())
}

pub async fn detach(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    Path((id, port)): Path<(String, String)>,
) -> NovaResult {
    app.detach_interface(&c, &id, &port).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

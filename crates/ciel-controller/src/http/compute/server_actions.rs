//! `POST /servers/{id}/action` and the instance actions it records
//! (`/servers/{id}/os-instance-actions[/{request_id}]`).

use super::error::NovaResult;
use super::microversion::Mv;
use super::request_id::RequestId;
use super::servers::{common_json, related};
use super::{time_micro, NovaCaller};
use crate::app::compute::actions::PowerAction;
use crate::app::compute::params::actions::{ActionError, CreateImage, Rebuild, ServerAction};
use crate::app::identity::caller::Caller;
use crate::db::compute::instance_actions::InstanceAction;
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

pub async fn action(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RequestId(rid): RequestId,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let action = match ServerAction::at_microversion(parse_json::<Value>(&body)?, mv.1) {
        Ok(a) => a,
        Err(ActionError::Invalid(e)) => return Err(e.into()),
        Err(ActionError::Unknown(name)) => {
            // The server is looked up first: an action on a missing server is a 404.
            app.get_server(&c, &id).await?;
            return Err(Error::bad_request(format!("There is no such action: {name}")).into());
        }
    };
    let (app, c, id, rid) = (&app, &c, id.as_str(), rid.as_str());
    match action {
        ServerAction::Reboot(r) => accepted(app.server_power_action(c, id, PowerAction::Reboot(r.kind), rid).await),
        ServerAction::Stop(_) => accepted(app.server_power_action(c, id, PowerAction::Stop, rid).await),
        ServerAction::Start(_) => accepted(app.server_power_action(c, id, PowerAction::Start, rid).await),
        ServerAction::Pause(_) => accepted(app.server_power_action(c, id, PowerAction::Pause, rid).await),
        ServerAction::Unpause(_) => accepted(app.server_power_action(c, id, PowerAction::Unpause, rid).await),
        ServerAction::Suspend(_) => accepted(app.server_power_action(c, id, PowerAction::Suspend, rid).await),
        ServerAction::Resume(_) => accepted(app.server_power_action(c, id, PowerAction::Resume, rid).await),
        ServerAction::Lock(l) => accepted(app.lock_server(c, id, true, l.reason, rid).await),
        ServerAction::Unlock(_) => accepted(app.lock_server(c, id, false, None, rid).await),
        ServerAction::Rebuild(r) => rebuild(app, c, mv, id, &r, rid).await,
        ServerAction::Resize(r) => accepted(app.resize_server(c, id, &r, rid).await),
        ServerAction::LiveMigrate(l) => accepted(app.live_migrate_server(c, id, &l, rid).await),
        ServerAction::Migrate(m) => accepted(app.cold_migrate_server(c, id, m.host.as_deref(), rid).await),
        ServerAction::Evacuate(e) => {
            app.evacuate_server(c, id, e.host.as_deref(), e.force, rid).await?;
            // Before 2.14 the answer carries the (new) admin password.
            if mv.at_least(14) {
                return Ok(StatusCode::OK.into_response());
            }
            let pass = e
                .admin_pass
                .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
            Ok(Json(json!({ "adminPass": pass })).into_response())
        }
        ServerAction::ConfirmResize(_) => {
            app.confirm_resize(c, id, rid).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ServerAction::RevertResize(_) => accepted(app.revert_resize(c, id, rid).await),
        ServerAction::AddFloatingIp(f) => accepted(
            app.nova_associate_floating_ip(c, id, &f.address, f.fixed_address.as_deref())
                .await,
        ),
        ServerAction::RemoveFloatingIp(f) => accepted(app.nova_disassociate_floating_ip(c, id, &f.address).await),
        ServerAction::ResetState(r) => accepted(app.reset_server_state(c, id, &r, rid).await),
        ServerAction::AddSecurityGroup(g) => accepted(app.server_security_group(c, id, &g.name, true).await),
        ServerAction::RemoveSecurityGroup(g) => accepted(app.server_security_group(c, id, &g.name, false).await),
        ServerAction::CreateImage(i) => create_image(app, c, mv, id, i, rid).await,
        ServerAction::GetConsoleOutput(o) => {
            let output = app.server_console_output(c, id, o.length).await?;
            Ok(Json(json!({ "output": output })).into_response())
        }
        ServerAction::GetVncConsole(v) => {
            let req = crate::app::compute::resource_params::CreateRemoteConsole::new("vnc", &v.kind)?;
            let url = app.create_console(c, id, &req).await?;
            Ok(Json(json!({"console": {"type": v.kind, "url": url}})).into_response())
        }
        ServerAction::ForceDelete(_) => accepted(app.delete_server(c, id, rid).await),
        ServerAction::Restore(_) => {
            // Ciel deletes at once (no soft delete), so there is never anything to restore.
            let s = app.get_server(c, id).await?;
            let state = &s.vm_state;
            Err(Error::Conflict(format!(
                "Cannot 'restore' instance {id} while it is in vm_state {state}"
            ))
            .into())
        }
    }
}

/// 202 once the action is done (or its error).
fn accepted(r: Result<(), Error>) -> NovaResult {
    r?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `rebuild`: answers with the rebuilt server (and the password given, as Nova echoes it).
async fn rebuild(app: &AppState, c: &Caller, mv: Mv, id: &str, r: &Rebuild, rid: &str) -> NovaResult {
    let s = app.rebuild_server(c, id, r, rid).await?;
    let l = related(app, c, std::slice::from_ref(&s), mv).await?;
    let mut v = common_json(app, c, &l, &s, mv, true);
    v["adminPass"] = json!(r.admin_pass.as_deref().unwrap_or("rebuilt"));
    Ok((StatusCode::ACCEPTED, Json(json!({ "server": v }))).into_response())
}

/// `createImage`: the snapshot's id in the body from 2.45, in `Location` before.
async fn create_image(app: &AppState, c: &Caller, mv: Mv, id: &str, i: CreateImage, rid: &str) -> NovaResult {
    let image_id = app.snapshot_server(c, id, &i.name, i.metadata, rid).await?;
    if mv.at_least(45) {
        return Ok((StatusCode::ACCEPTED, Json(json!({ "image_id": image_id }))).into_response());
    }
    let location = format!("{}/image/v2/images/{image_id}", app.cfg.public_url);
    Ok((StatusCode::ACCEPTED, [(axum::http::header::LOCATION, location)]).into_response())
}

fn action_json(a: &InstanceAction) -> Value {
    json!({"action": a.action, "request_id": a.request_id, "user_id": a.user_id, "project_id": a.project_id,
        "start_time": time_micro(a.start_time), "message": a.message, "instance_uuid": a.server_id})
}

pub async fn list_actions(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
) -> NovaResult {
    let actions = app.instance_actions(&c, &id, mv.at_least(21)).await?;
    let items: Vec<Value> = actions
        .iter()
        .map(|a| {
            let mut v = action_json(a);
            if mv.at_least(58) {
                v["updated_at"] = json!(time_micro(a.updated_at));
            }
            v
        })
        .collect();
    Ok(Json(json!({ "instanceActions": items })).into_response())
}

pub async fn show_action(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path((id, request_id)): Path<(String, String)>,
) -> NovaResult {
    let a = app.instance_action(&c, &id, &request_id, mv.at_least(21)).await?;
    let mut v = action_json(&a);
    if mv.at_least(58) {
        v["updated_at"] = json!(time_micro(a.updated_at));
    }
    // Ciel has no per-step events: one event per action, finished when recorded.
    let mut event = json!({"event": format!("compute_{}", a.action), "start_time": time_micro(a.start_time),
        "finish_time": time_micro(a.updated_at), "result": "Success"});
    let details = c.may("compute:instance_actions:events:details");
    if details {
        event["traceback"] = Value::Null;
    }
    if mv.at_least(62) {
        event["hostId"] = json!("");
        if details {
            event["host"] = json!("");
        }
    }
    v["events"] = json!([event]);
    Ok(Json(json!({ "instanceAction": v })).into_response())
}

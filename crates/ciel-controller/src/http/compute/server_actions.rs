//! `POST /servers/{id}/action` and the instance actions it records
//! (`/servers/{id}/os-instance-actions[/{request_id}]`).

use super::error::NovaResult;
use super::microversion::Mv;
use super::request_id::RequestId;
use super::servers::{common_json, Lookups};
use super::{time_micro, NovaCaller};
use crate::db::compute::instance_actions::InstanceAction;
use crate::error::Error;
use crate::http::{parse_json, AppState, Authed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

/// A request value as shown in an error: JSON, at most 64 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 64 {
        format!("{}...", s.chars().take(64).collect::<String>())
    } else {
        s
    }
}

fn field<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

pub async fn action(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    RequestId(rid): RequestId,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    let doc: Map<String, Value> = match parse_json::<Value>(&body)? {
        Value::Object(m) if m.len() == 1 => m,
        _ => return Err(Error::bad_request("Malformed request body: expected exactly one action").into()),
    };
    let (action, args) = doc.into_iter().next().unwrap_or_default();
    match action.as_str() {
        "reboot" => {
            // Nova's schema: {"reboot": {"type": HARD|Hard|hard|SOFT|Soft|soft}} and nothing else.
            const TYPES: [&str; 6] = ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"];
            let bad = |why: String| Error::bad_request(format!("Invalid input for field/attribute {why}"));
            let Value::Object(a) = &args else {
                return Err(bad(format!("reboot. Value: {}. It is not of type 'object'", short(&args))).into());
            };
            match a.get("type") {
                None => return Err(bad("reboot. Value: {...}. 'type' is a required property".into()).into()),
                Some(Value::String(t)) if TYPES.contains(&t.as_str()) => {}
                Some(t) => {
                    return Err(bad(format!(
                        "type. Value: {}. {} is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']",
                        short(t),
                        short(t)
                    ))
                    .into())
                }
            }
            if let Some(k) = a.keys().find(|k| *k != "type") {
                return Err(bad(format!(
                    "reboot. Value: {{...}}. Additional properties are not allowed ('{}' was unexpected)",
                    k.chars().take(64).collect::<String>().escape_debug()
                ))
                .into());
            }
            app.server_power_action(&c, &id, &action, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-stop" | "os-start" | "pause" | "unpause" => {
            app.server_power_action(&c, &id, &action, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "lock" => {
            let reason = field(&args, "locked_reason").map(str::to_owned);
            if reason.is_some() && !mv.at_least(73) {
                return Err(Error::bad_request("Invalid input for field/attribute lock.").into());
            }
            app.lock_server(&c, &id, true, reason, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "unlock" => {
            app.lock_server(&c, &id, false, None, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "rebuild" => {
            let image = field(&args, "imageRef")
                .ok_or_else(|| Error::bad_request("Invalid input for field/attribute imageRef."))?;
            let name = args
                .get("name")
                .map(|v| crate::app::compute::server_meta::check_name("name", v))
                .transpose()?;
            let metadata = match args.get("metadata") {
                None | Some(Value::Null) => None,
                Some(Value::Object(m)) => Some(m.clone()),
                Some(_) => return Err(Error::bad_request("Invalid input for field/attribute metadata.").into()),
            };
            let s = app.rebuild_server(&c, &id, image, name, metadata, &rid).await?;
            let l = Lookups::load(&app, &c).await?;
            let mut v = common_json(&app, &c, &l, &s, mv, true).await?;
            v["adminPass"] = json!(field(&args, "adminPass").unwrap_or("rebuilt"));
            Ok((StatusCode::ACCEPTED, Json(json!({ "server": v }))).into_response())
        }
        "resize" => {
            let flavor = match args.get("flavorRef") {
                Some(Value::String(f)) => f.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(Error::bad_request("Invalid input for field/attribute flavorRef.").into()),
            };
            app.resize_server(&c, &id, &flavor, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "confirmResize" => {
            app.confirm_resize(&c, &id, &rid).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        "revertResize" => {
            app.revert_resize(&c, &id, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "addFloatingIp" => {
            let address = field(&args, "address").unwrap_or_default();
            app.nova_associate_floating_ip(&c, &id, address, field(&args, "fixed_address"))
                .await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "removeFloatingIp" => {
            let address = field(&args, "address").unwrap_or_default();
            app.nova_disassociate_floating_ip(&c, &id, address).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-resetState" => {
            let state = field(&args, "state").unwrap_or_default();
            app.reset_server_state(&c, &id, state, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "addSecurityGroup" | "removeSecurityGroup" => {
            let name = field(&args, "name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Error::bad_request("Security group name cannot be empty"))?;
            app.server_security_group(&c, &id, name, action == "addSecurityGroup")
                .await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "createImage" => {
            let name =
                match args.get("name") {
                    Some(v) => crate::app::compute::server_meta::check_name("name", v)?,
                    None => return Err(Error::bad_request(
                        "Invalid input for field/attribute createImage. Value: {...}. 'name' is a required property",
                    )
                    .into()),
                };
            let metadata = match args.get("metadata") {
                None => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(v) => {
                    return Err(Error::bad_request(format!(
                        "Invalid input for field/attribute metadata. Value: {}. It is not of type 'object'",
                        short(v)
                    ))
                    .into())
                }
            };
            let image_id = app.snapshot_server(&c, &id, &name, metadata, &rid).await?;
            if mv.at_least(45) {
                return Ok((StatusCode::ACCEPTED, Json(json!({ "image_id": image_id }))).into_response());
            }
            let location = format!("{}/image/v2/images/{image_id}", app.cfg.public_url);
            Ok((StatusCode::ACCEPTED, [(axum::http::header::LOCATION, location)]).into_response())
        }
        "os-getConsoleOutput" => {
            let length = match args.get("length") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .filter(|n| *n >= -1)
                        .ok_or_else(|| {
                            Error::bad_request(format!("Invalid input for field/attribute length. Value: {v}."))
                        })?,
                ),
            };
            let output = app.server_console_output(&c, &id, length.filter(|n| *n >= 0)).await?;
            Ok(Json(json!({ "output": output })).into_response())
        }
        // The pre-2.6 console action; remote-consoles replaced it.
        "os-getVNCConsole" if !mv.at_least(6) => {
            let kind = field(&args, "type")
                .ok_or_else(|| Error::bad_request("Invalid input for field/attribute type."))?
                .to_owned();
            let req = crate::app::compute::resource_params::CreateRemoteConsole::new("vnc", &kind)?;
            let url = app.create_console(&c, &id, &req).await?;
            Ok(Json(json!({"console": {"type": kind, "url": url}})).into_response())
        }
        "forceDelete" => {
            app.delete_server(&c, &id, &rid).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "restore" => {
            // Ciel deletes at once (no soft delete), so there is never anything to restore.
            let s = app.get_server(&c, &id).await?;
            Err(Error::Conflict(format!(
                "Cannot 'restore' instance {} while it is in vm_state {}",
                s.id, s.vm_state
            ))
            .into())
        }
        other => {
            // The server is looked up first: an action on a missing server is a 404.
            app.get_server(&c, &id).await?;
            Err(Error::bad_request(format!("There is no such action: {other}")).into())
        }
    }
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
    if c.is_admin() {
        event["traceback"] = Value::Null;
    }
    if mv.at_least(62) {
        event["hostId"] = json!("");
        if c.is_admin() {
            event["host"] = json!("");
        }
    }
    v["events"] = json!([event]);
    Ok(Json(json!({ "instanceAction": v })).into_response())
}

//! `/os-hypervisors`, `/os-services`, `/os-availability-zone` and `/limits`.

use super::error::NovaResult;
use super::microversion::Mv;
use super::{time_micro as time, Nv};
use crate::app::compute::hosts::HostView;
use crate::error::Error;
use crate::http::{AppState, Authed};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn hypervisor(v: &HostView, detail: bool) -> Value {
    let h = &v.host;
    let mut out = json!({
        "id": h.id, "hypervisor_hostname": h.hostname,
        "state": if v.up { "up" } else { "down" }, "status": if h.enabled { "enabled" } else { "disabled" },
    });
    if detail {
        out["hypervisor_type"] = json!(h.hypervisor_type);
        out["hypervisor_version"] = json!(1);
        out["host_ip"] = json!(h.underlay_ip.clone().unwrap_or_else(|| "127.0.0.1".into()));
        out["vcpus"] = json!(h.vcpus);
        out["memory_mb"] = json!(h.memory_mb);
        out["local_gb"] = json!(h.disk_gb);
        out["vcpus_used"] = json!(v.vcpus_used);
        out["memory_mb_used"] = json!(v.memory_mb_used);
        out["local_gb_used"] = json!(v.disk_gb_used);
        out["free_ram_mb"] = json!(h.memory_mb - v.memory_mb_used);
        out["free_disk_gb"] = json!(h.disk_gb - v.disk_gb_used);
        out["disk_available_least"] = json!(h.disk_gb - v.disk_gb_used);
        out["running_vms"] = json!(v.running_vms);
        out["current_workload"] = json!(0);
        out["cpu_info"] = json!("{}");
        out["service"] = json!({"host": h.hostname, "id": h.id, "disabled_reason": null});
    }
    out
}

pub async fn hypervisors(State(app): State<AppState>, Authed(c, ..): Nv) -> NovaResult {
    let list: Vec<Value> = app.host_views(&c).await?.iter().map(|v| hypervisor(v, false)).collect();
    Ok(Json(json!({ "hypervisors": list })).into_response())
}

pub async fn hypervisors_detail(State(app): State<AppState>, Authed(c, ..): Nv) -> NovaResult {
    let list: Vec<Value> = app.host_views(&c).await?.iter().map(|v| hypervisor(v, true)).collect();
    Ok(Json(json!({ "hypervisors": list })).into_response())
}

pub async fn hypervisor_show(State(app): State<AppState>, Authed(c, ..): Nv, Path(id): Path<String>) -> NovaResult {
    let all = app.host_views(&c).await?;
    let v = all
        .iter()
        .find(|v| v.host.id == id)
        .ok_or_else(|| Error::not_found("hypervisor", &id))?;
    Ok(Json(json!({ "hypervisor": hypervisor(v, true) })).into_response())
}

/// Every host runs one `nova-compute`-equivalent service: its agent.
pub async fn services(State(app): State<AppState>, Authed(c, ..): Nv, mv: Mv) -> NovaResult {
    let list: Vec<Value> = app
        .host_views(&c)
        .await?
        .iter()
        .map(|v| {
            let mut s = json!({
                "id": v.host.id, "binary": "nova-compute", "host": v.host.hostname, "zone": "nova",
                "status": if v.host.enabled { "enabled" } else { "disabled" },
                "state": if v.up { "up" } else { "down" },
                "updated_at": time(v.host.last_seen), "disabled_reason": null,
            });
            if mv.at_least(11) {
                s["forced_down"] = json!(false);
            }
            s
        })
        .collect();
    Ok(Json(json!({ "services": list })).into_response())
}

pub async fn availability_zones(Authed(..): Nv) -> NovaResult {
    Ok(
        Json(json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}]}))
            .into_response(),
    )
}

pub async fn availability_zones_detail(State(app): State<AppState>, Authed(c, ..): Nv) -> NovaResult {
    let mut hosts = serde_json::Map::new();
    for v in app.host_views(&c).await? {
        hosts.insert(
            v.host.hostname.clone(),
            json!({"nova-compute": {"available": v.up, "active": v.host.enabled, "updated_at": time(v.host.last_seen)}}),
        );
    }
    Ok(
        Json(json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": hosts}]}))
            .into_response(),
    )
}

pub async fn limits(State(app): State<AppState>, Authed(c, ..): Nv, mv: Mv) -> NovaResult {
    let u = app.compute_usage(&c).await?;
    let q = match c.project_id() {
        Some(p) => app.compute_quota(&c, p).await?,
        None => Default::default(),
    };
    let lim = |k: &str| {
        q.get(k)
            .copied()
            .unwrap_or_else(|| crate::app::compute::quotas::default_limit(k))
    };
    let mut absolute = json!({
        "maxTotalInstances": lim("instances"), "maxTotalCores": lim("cores"), "maxTotalRAMSize": lim("ram"),
        "maxServerMeta": lim("metadata_items"), "maxImageMeta": 128, "maxTotalKeypairs": lim("key_pairs"),
        "maxServerGroups": lim("server_groups"), "maxServerGroupMembers": lim("server_group_members"),
        "totalInstancesUsed": u.instances, "totalCoresUsed": u.cores, "totalRAMUsed": u.ram_mb,
        "totalServerGroupsUsed": 0,
    });
    if !mv.at_least(36) {
        absolute["maxSecurityGroups"] = json!(10);
        absolute["maxSecurityGroupRules"] = json!(20);
        absolute["maxTotalFloatingIps"] = json!(10);
        absolute["totalSecurityGroupsUsed"] = json!(0);
        absolute["totalFloatingIpsUsed"] = json!(0);
    }
    if !mv.at_least(57) {
        absolute["maxPersonality"] = json!(lim("injected_files"));
        absolute["maxPersonalitySize"] = json!(lim("injected_file_content_bytes"));
    }
    Ok(Json(json!({"limits": {"rate": [], "absolute": absolute}})).into_response())
}

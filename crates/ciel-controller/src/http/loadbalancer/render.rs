//! Octavia's JSON shapes: every documented key present, `null` where unset, `name` and
//! `description` as `""` when unset, `tenant_id` beside `project_id`, naive UTC times.

use crate::app::loadbalancer::Tree;
use crate::db::loadbalancer::catalog::{Flavor, Profile, ProfileKind, Zone};
use crate::db::loadbalancer::{Child, ChildAttrs, ChildKind};
use serde_json::{json, Value};

pub fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

fn time_opt(secs: Option<i64>) -> Value {
    secs.map(|s| json!(time(s))).unwrap_or(Value::Null)
}

fn ids<'a>(it: impl Iterator<Item = &'a Child>) -> Value {
    json!(it.map(|c| json!({"id": c.id})).collect::<Vec<_>>())
}

fn text(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

pub fn loadbalancer(t: &Tree) -> Value {
    let lb = &t.lb;
    let a = &lb.attrs;
    json!({
        "id": lb.id, "name": text(&a.name), "description": text(&a.description),
        "admin_state_up": a.admin_state_up, "project_id": lb.project_id, "tenant_id": lb.project_id,
        "provisioning_status": lb.provisioning_status, "operating_status": lb.operating_status,
        "vip_address": a.vip_address, "vip_port_id": lb.vip_port_id, "vip_subnet_id": a.vip_subnet_id,
        "vip_network_id": a.vip_network_id, "vip_qos_policy_id": a.vip_qos_policy_id, "vip_sg_ids": [],
        "additional_vips": [], "vip_vnic_type": "normal",
        "listeners": ids(t.of_kind(ChildKind::Listener)), "pools": ids(t.of_kind(ChildKind::Pool)),
        "provider": a.provider, "flavor_id": a.flavor_id, "availability_zone": a.availability_zone,
        "tags": a.tags, "created_at": time(lb.created_at), "updated_at": time_opt(lb.updated_at),
    })
}

fn common(c: &Child, v: &mut Value) {
    v["id"] = json!(c.id);
    v["project_id"] = json!(c.project_id);
    v["tenant_id"] = json!(c.project_id);
    v["provisioning_status"] = json!(c.provisioning_status);
    v["operating_status"] = json!(c.operating_status);
    v["created_at"] = json!(time(c.created_at));
    v["updated_at"] = time_opt(c.updated_at);
    v["tags"] = json!(c.attrs.tags());
}

pub fn listener(t: &Tree, c: &Child) -> Value {
    let ChildAttrs::Listener(a) = &c.attrs else {
        return Value::Null;
    };
    let tls = a.protocol == "TERMINATED_HTTPS";
    let mut v = json!({
        "name": text(&a.name), "description": text(&a.description), "admin_state_up": a.admin_state_up,
        "protocol": a.protocol, "protocol_port": a.protocol_port, "connection_limit": a.connection_limit,
        "default_pool_id": a.default_pool_id, "default_tls_container_ref": a.default_tls_container_ref,
        "sni_container_refs": a.sni_container_refs, "l7policies": ids(t.children_of(&c.id, ChildKind::L7Policy)),
        "insert_headers": a.insert_headers, "loadbalancers": [{"id": t.lb.id}],
        "timeout_client_data": a.timeout_client_data, "timeout_member_connect": a.timeout_member_connect,
        "timeout_member_data": a.timeout_member_data, "timeout_tcp_inspect": a.timeout_tcp_inspect,
        "client_ca_tls_container_ref": a.client_ca_tls_container_ref,
        "client_authentication": a.client_authentication, "client_crl_container_ref": a.client_crl_container_ref,
        "allowed_cidrs": if a.allowed_cidrs.is_empty() { Value::Null } else { json!(a.allowed_cidrs) },
        "tls_ciphers": null, "tls_versions": if tls { json!(["TLSv1.2", "TLSv1.3"]) } else { Value::Null },
        "alpn_protocols": if tls { json!(["h2", "http/1.1", "http/1.0"]) } else { Value::Null },
        "hsts_max_age": null, "hsts_include_subdomains": false, "hsts_preload": false,
    });
    common(c, &mut v);
    v
}

pub fn pool(t: &Tree, c: &Child) -> Value {
    let ChildAttrs::Pool(a) = &c.attrs else {
        return Value::Null;
    };
    let persistence = a.session_persistence.as_ref().map(|s| {
        json!({"type": s.kind, "cookie_name": s.cookie_name, "persistence_timeout": s.persistence_timeout,
               "persistence_granularity": s.persistence_granularity})
    });
    let listeners: Vec<Value> = t
        .listeners_of_pool(&c.id)
        .into_iter()
        .map(|id| json!({"id": id}))
        .collect();
    let mut v = json!({
        "name": text(&a.name), "description": text(&a.description), "admin_state_up": a.admin_state_up,
        "protocol": a.protocol, "lb_algorithm": a.lb_algorithm, "session_persistence": persistence,
        "loadbalancers": [{"id": t.lb.id}], "listeners": listeners,
        "members": ids(t.children_of(&c.id, ChildKind::Member)),
        "healthmonitor_id": t.monitor_of(&c.id).map(|h| h.id.clone()),
        "tls_enabled": a.tls_enabled, "tls_container_ref": a.tls_container_ref,
        "ca_tls_container_ref": a.ca_tls_container_ref, "crl_container_ref": a.crl_container_ref,
        "tls_ciphers": null, "tls_versions": null, "alpn_protocols": null,
    });
    common(c, &mut v);
    v
}

pub fn member(c: &Child) -> Value {
    let ChildAttrs::Member(a) = &c.attrs else {
        return Value::Null;
    };
    let mut v = json!({
        "name": text(&a.name), "admin_state_up": a.admin_state_up, "address": a.address,
        "protocol_port": a.protocol_port, "weight": a.weight, "backup": a.backup, "subnet_id": a.subnet_id,
        "monitor_address": a.monitor_address, "monitor_port": a.monitor_port, "vnic_type": "normal",
    });
    common(c, &mut v);
    v
}

pub fn monitor(c: &Child) -> Value {
    let ChildAttrs::HealthMonitor(a) = &c.attrs else {
        return Value::Null;
    };
    let mut v = json!({
        "name": text(&a.name), "type": a.kind, "delay": a.delay, "timeout": a.timeout,
        "max_retries": a.max_retries, "max_retries_down": a.max_retries_down, "http_method": a.http_method,
        "url_path": a.url_path, "expected_codes": a.expected_codes, "admin_state_up": a.admin_state_up,
        "pools": [{"id": c.parent_id}], "http_version": a.http_version, "domain_name": a.domain_name,
    });
    common(c, &mut v);
    v
}

/// Octavia's status tree (`GET …/status`).
pub fn status_tree(t: &Tree) -> Value {
    let listeners: Vec<Value> = t
        .of_kind(ChildKind::Listener)
        .map(|l| {
            let pools: Vec<Value> = t
                .of_kind(ChildKind::Pool)
                .filter(|p| t.listeners_of_pool(&p.id).contains(&l.id))
                .map(|p| {
                    let members: Vec<Value> = t
                        .children_of(&p.id, ChildKind::Member)
                        .map(|m| {
                            let (address, port) = match &m.attrs {
                                ChildAttrs::Member(a) => (a.address.clone(), a.protocol_port),
                                _ => (String::new(), 0),
                            };
                            json!({"id": m.id, "name": m.attrs.name().unwrap_or(""),
                                   "operating_status": m.operating_status,
                                   "provisioning_status": m.provisioning_status,
                                   "address": address, "protocol_port": port})
                        })
                        .collect();
                    let mut pv = json!({"id": p.id, "name": p.attrs.name().unwrap_or(""),
                        "provisioning_status": p.provisioning_status, "operating_status": p.operating_status,
                        "members": members});
                    if let Some(h) = t.monitor_of(&p.id) {
                        let kind = match &h.attrs {
                            ChildAttrs::HealthMonitor(a) => a.kind.clone(),
                            _ => String::new(),
                        };
                        pv["health_monitor"] = json!({"id": h.id, "name": h.attrs.name().unwrap_or(""),
                            "type": kind, "provisioning_status": h.provisioning_status,
                            "operating_status": h.operating_status});
                    }
                    pv
                })
                .collect();
            json!({"id": l.id, "name": l.attrs.name().unwrap_or(""), "operating_status": l.operating_status,
                   "provisioning_status": l.provisioning_status, "pools": pools})
        })
        .collect();
    json!({"statuses": {"loadbalancer": {
        "id": t.lb.id, "name": t.lb.attrs.name.as_deref().unwrap_or(""),
        "operating_status": t.lb.operating_status, "provisioning_status": t.lb.provisioning_status,
        "listeners": listeners,
    }}})
}

pub fn stats(s: crate::db::loadbalancer::Stats) -> Value {
    json!({"stats": {"bytes_in": s.0, "bytes_out": s.1, "active_connections": s.2,
                     "total_connections": s.3, "request_errors": s.4}})
}

/// The load balancer as its create answers it: listeners and pools as full objects (pools
/// with their members and `healthmonitor` in full), without their `loadbalancers` key.
pub fn loadbalancer_full(t: &Tree) -> Value {
    let mut v = loadbalancer(t);
    let strip = |mut x: Value| {
        if let Some(m) = x.as_object_mut() {
            m.remove("loadbalancers");
        }
        x
    };
    v["listeners"] = json!(t
        .of_kind(ChildKind::Listener)
        .map(|l| strip(listener(t, l)))
        .collect::<Vec<_>>());
    v["pools"] = json!(t
        .of_kind(ChildKind::Pool)
        .map(|p| {
            let mut pv = strip(pool(t, p));
            pv["members"] = json!(t.children_of(&p.id, ChildKind::Member).map(member).collect::<Vec<_>>());
            pv["healthmonitor"] = t.monitor_of(&p.id).map(monitor).unwrap_or(Value::Null);
            pv
        })
        .collect::<Vec<_>>());
    v
}

pub fn l7policy(t: &Tree, c: &Child) -> Value {
    let ChildAttrs::L7Policy(a) = &c.attrs else {
        return Value::Null;
    };
    let mut v = json!({
        "name": text(&a.name), "description": text(&a.description), "listener_id": c.parent_id,
        "action": a.action, "position": a.position, "redirect_pool_id": a.redirect_pool_id,
        "redirect_url": a.redirect_url, "redirect_prefix": a.redirect_prefix,
        "redirect_http_code": a.redirect_http_code, "admin_state_up": a.admin_state_up,
        "rules": ids(t.children_of(&c.id, ChildKind::L7Rule)),
    });
    common(c, &mut v);
    v
}

pub fn l7rule(c: &Child) -> Value {
    let ChildAttrs::L7Rule(a) = &c.attrs else {
        return Value::Null;
    };
    let mut v = json!({
        "type": a.kind, "compare_type": a.compare_type, "key": a.key, "value": a.value,
        "invert": a.invert, "admin_state_up": a.admin_state_up,
    });
    common(c, &mut v);
    v
}

/// A flavor profile (`flavor_data`) or an availability zone profile
/// (`availability_zone_data`): the data as the text it was given.
pub fn profile(kind: ProfileKind, p: &Profile) -> Value {
    let data = match kind {
        ProfileKind::Flavor => "flavor_data",
        ProfileKind::Zone => "availability_zone_data",
    };
    json!({"id": p.id, "name": p.name, "provider_name": p.provider_name, data: p.data})
}

pub fn flavor(f: &Flavor) -> Value {
    json!({"id": f.id, "name": f.name, "description": f.description, "enabled": f.enabled,
           "flavor_profile_id": f.flavor_profile_id})
}

pub fn zone(z: &Zone) -> Value {
    json!({"name": z.name, "description": z.description, "enabled": z.enabled,
           "availability_zone_profile_id": z.availability_zone_profile_id})
}

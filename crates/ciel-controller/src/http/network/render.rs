//! Neutron's JSON shapes.

use crate::app::network::ports::PortView;
use crate::app::network::routers::{InterfaceInfo, RouterView};
use crate::app::network::security_groups::GroupView;
use crate::db::network::floating_ips::FloatingIp;
use crate::db::network::security_groups::Rule;
use crate::db::network::subnet_pools::SubnetPool;
use crate::db::network::{Network, Subnet};
use serde_json::{json, Value};

pub fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn json_list(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(json!([]))
}

/// Provider attributes are shown to admins only, as in Neutron's default policy.
pub fn network(n: &Network, subnets: Vec<String>, admin: bool) -> Value {
    let mut v = json!({
        "id": n.id, "name": n.name, "tenant_id": n.project_id, "project_id": n.project_id,
        "admin_state_up": n.admin_state_up, "status": "ACTIVE", "subnets": subnets, "shared": n.shared,
        "mtu": n.mtu, "router:external": n.external, "port_security_enabled": n.port_security_enabled,
        "availability_zone_hints": [], "availability_zones": ["nova"], "ipv4_address_scope": null,
        "ipv6_address_scope": null, "l2_adjacency": true, "description": n.description, "tags": [],
        "created_at": time(n.created_at), "updated_at": time(n.updated_at), "revision_number": n.revision_number,
    });
    if admin {
        v["provider:network_type"] = json!(n.network_type);
        v["provider:physical_network"] = json!(n.physical_network);
        v["provider:segmentation_id"] = json!(n.segmentation_id);
    }
    v
}

/// `external` is the network's `router:external` (subnet-external-network extension).
pub fn subnet(s: &Subnet, external: bool) -> Value {
    json!({
        "id": s.id, "name": s.name, "network_id": s.network_id, "tenant_id": s.project_id, "project_id": s.project_id,
        "ip_version": s.ip_version, "cidr": s.cidr, "gateway_ip": s.gateway_ip,
        "allocation_pools": json_list(&s.allocation_pools), "dns_nameservers": json_list(&s.dns_nameservers),
        "host_routes": json_list(&s.host_routes), "enable_dhcp": s.enable_dhcp, "ipv6_ra_mode": s.ipv6_ra_mode,
        "ipv6_address_mode": s.ipv6_address_mode, "subnetpool_id": s.subnetpool_id, "router:external": external, "service_types": [], "segment_id": null,
        "description": s.description, "tags": [], "created_at": time(s.created_at), "updated_at": time(s.updated_at),
        "revision_number": s.revision_number,
    })
}

pub fn port(v: &PortView) -> Value {
    let p = &v.port;
    json!({
        "id": p.id, "name": p.name, "network_id": p.network_id, "tenant_id": p.project_id, "project_id": p.project_id,
        "mac_address": p.mac_address, "admin_state_up": p.admin_state_up, "status": p.status,
        "device_id": p.device_id, "device_owner": p.device_owner,
        "fixed_ips": v.fixed_ips.iter().map(|f| json!({"subnet_id": f.subnet_id, "ip_address": f.ip_address})).collect::<Vec<_>>(),
        "allowed_address_pairs": json_list(&p.allowed_address_pairs), "extra_dhcp_opts": [],
        "security_groups": v.security_groups,
        "port_security_enabled": p.port_security_enabled, "binding:host_id": p.binding_host_id,
        "binding:vif_type": if p.binding_host_id.is_empty() { "unbound" } else { "tap" },
        "binding:vif_details": {}, "binding:vnic_type": "normal", "binding:profile": {},
        "ip_allocation": "immediate", "description": p.description, "tags": [],
        "created_at": time(p.created_at), "updated_at": time(p.updated_at), "revision_number": p.revision_number,
    })
}

pub fn rule(r: &Rule) -> Value {
    json!({
        "id": r.id, "security_group_id": r.security_group_id, "tenant_id": r.project_id, "project_id": r.project_id,
        "direction": r.direction, "ethertype": r.ethertype, "protocol": r.protocol,
        "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id, "remote_address_group_id": null,
        "normalized_cidr": r.remote_ip_prefix, "belongs_to_default_sg": null, "description": r.description,
        "created_at": time(r.created_at), "updated_at": time(r.updated_at), "revision_number": r.revision_number,
    })
}

pub fn security_group(v: &GroupView) -> Value {
    let g = &v.group;
    json!({
        "id": g.id, "name": g.name, "tenant_id": g.project_id, "project_id": g.project_id,
        "description": g.description, "stateful": g.stateful, "shared": false, "tags": [],
        "security_group_rules": v.rules.iter().map(rule).collect::<Vec<_>>(),
        "created_at": time(g.created_at), "updated_at": time(g.updated_at), "revision_number": g.revision_number,
    })
}

pub fn router(v: &RouterView) -> Value {
    let r = &v.router;
    let gateway = r.gateway_network_id.as_ref().map(|n| {
        json!({
            "network_id": n, "enable_snat": r.enable_snat,
            "external_fixed_ips": v.gateway_ips.iter().map(|f| json!({"subnet_id": f.subnet_id, "ip_address": f.ip_address})).collect::<Vec<_>>(),
        })
    });
    json!({
        "id": r.id, "name": r.name, "tenant_id": r.project_id, "project_id": r.project_id,
        "admin_state_up": r.admin_state_up, "status": "ACTIVE", "external_gateway_info": gateway,
        "routes": json_list(&r.routes), "description": r.description, "distributed": false, "ha": false,
        "availability_zone_hints": [], "availability_zones": ["nova"], "flavor_id": null, "tags": [],
        "created_at": time(r.created_at), "updated_at": time(r.updated_at), "revision_number": r.revision_number,
    })
}

pub fn interface(i: &InterfaceInfo) -> Value {
    json!({
        "id": i.router_id, "tenant_id": i.project_id, "project_id": i.project_id, "port_id": i.port_id,
        "network_id": i.network_id, "subnet_id": i.subnet_ids.first(), "subnet_ids": i.subnet_ids,
    })
}

pub fn floating_ip(f: &FloatingIp) -> Value {
    json!({
        "id": f.id, "tenant_id": f.project_id, "project_id": f.project_id,
        "floating_network_id": f.floating_network_id, "floating_ip_address": f.floating_ip_address,
        "port_id": f.port_id, "fixed_ip_address": f.fixed_ip_address, "router_id": f.router_id,
        // Neutron's: ACTIVE while associated (its router NATs it), DOWN otherwise.
        "status": if f.port_id.is_some() { "ACTIVE" } else { "DOWN" }, "port_details": null, "dns_domain": "",
        "dns_name": "", "port_forwardings": [], "qos_policy_id": null, "description": f.description, "tags": [],
        "created_at": time(f.created_at), "updated_at": time(f.updated_at), "revision_number": f.revision_number,
    })
}

pub fn subnet_pool(p: &SubnetPool) -> Value {
    json!({
        "id": p.id, "name": p.name, "tenant_id": p.project_id, "project_id": p.project_id,
        "ip_version": p.ip_version, "prefixes": json_list(&p.prefixes),
        "default_prefixlen": p.default_prefixlen, "min_prefixlen": p.min_prefixlen, "max_prefixlen": p.max_prefixlen,
        "shared": p.shared, "is_default": p.is_default, "default_quota": p.default_quota, "address_scope_id": null,
        "description": p.description, "tags": [],
        "created_at": time(p.created_at), "updated_at": time(p.updated_at), "revision_number": p.revision_number,
    })
}

//! What a network node is told of a load balancer: its VIP leg, the firewall of the VIP
//! (Octavia's VIP security group: the listeners' ports, from their `allowed_cidrs` when set)
//! and the haproxy model of its listeners, pools, members and monitors. Objects being
//! deleted are left out; the agent renders and checks the rest.

use super::Tree;
use crate::db::loadbalancer::{Child, ChildAttrs, ChildKind, ProvisioningStatus};
use ciel_proto::{
    FirewallRule, L7PolicySpec, L7RuleSpec, LbVip, ListenerSpec, LoadBalancerSpec, MemberSpec, MonitorSpec, PoolSpec,
    PortFirewall, RouterPort, SessionPersistence,
};

/// What the node serves: everything but what is being deleted and what the node refused
/// (`ERROR`). A refused object stays out until it is changed again (back to `PENDING_UPDATE`)
/// or deleted, so one listener the node cannot serve (say, a protocol it lacks) does not
/// make every later change of its load balancer fail with it.
fn live(c: &&Child) -> bool {
    !matches!(
        c.provisioning_status,
        ProvisioningStatus::PendingDelete | ProvisioningStatus::Error
    )
}

fn ms(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

/// The VIP's firewall: each enabled listener's port from its allowed CIDRs (or anywhere);
/// everything out (health checks and member traffic; replies pass by state).
pub fn vip_firewall(t: &Tree, port: &RouterPort) -> PortFirewall {
    let mut rules = vec![];
    for l in t.of_kind(ChildKind::Listener).filter(live) {
        let ChildAttrs::Listener(a) = &l.attrs else { continue };
        let protocol = match a.protocol.as_str() {
            "UDP" => "udp",
            "SCTP" => "sctp",
            _ => "tcp",
        };
        let v6 = t.lb.attrs.vip_address.contains(':');
        rules.push(FirewallRule {
            ingress: true,
            ipv6: v6,
            protocol: Some(protocol.into()),
            port_min: Some(u32::from(a.protocol_port)),
            port_max: Some(u32::from(a.protocol_port)),
            remote: (!a.allowed_cidrs.is_empty()).then(|| a.allowed_cidrs.clone()),
        });
    }
    for ipv6 in [false, true] {
        rules.push(FirewallRule {
            ingress: false,
            ipv6,
            ..Default::default()
        });
    }
    PortFirewall {
        macs: vec![port.mac.clone()],
        ips: port
            .addresses
            .iter()
            .map(|a| a.split('/').next().unwrap_or(a).to_string())
            .collect(),
        rules,
    }
}

/// The load balancer as its network node runs it.
pub fn spec(t: &Tree, port: RouterPort, gateway_ip: Option<String>) -> LoadBalancerSpec {
    let firewall = Some(vip_firewall(t, &port));
    let listeners = t
        .of_kind(ChildKind::Listener)
        .filter(live)
        .filter_map(|l| {
            let ChildAttrs::Listener(a) = &l.attrs else { return None };
            let default_pool_id = a
                .default_pool_id
                .clone()
                .filter(|p| t.child(p).is_some_and(|c| live(&c)));
            let mut policies: Vec<(&Child, i64)> = t
                .children_of(&l.id, ChildKind::L7Policy)
                .filter(live)
                .filter_map(|p| match &p.attrs {
                    ChildAttrs::L7Policy(pa) => Some((p, pa.position)),
                    _ => None,
                })
                .collect();
            policies.sort_by_key(|(_, pos)| *pos);
            Some(ListenerSpec {
                id: l.id.clone(),
                protocol: a.protocol.clone(),
                port: a.protocol_port,
                admin_up: a.admin_state_up,
                connection_limit: (a.connection_limit >= 0).then(|| ms(a.connection_limit)),
                default_pool_id,
                timeout_client_data_ms: ms(a.timeout_client_data),
                timeout_member_connect_ms: ms(a.timeout_member_connect),
                timeout_member_data_ms: ms(a.timeout_member_data),
                timeout_tcp_inspect_ms: ms(a.timeout_tcp_inspect),
                insert_headers: a.insert_headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                allowed_cidrs: a.allowed_cidrs.clone(),
                l7policies: policies.into_iter().filter_map(|(p, _)| l7policy(t, p)).collect(),
            })
        })
        .collect();
    let pools = t
        .of_kind(ChildKind::Pool)
        .filter(live)
        .filter_map(|p| {
            let ChildAttrs::Pool(a) = &p.attrs else { return None };
            let members = t
                .children_of(&p.id, ChildKind::Member)
                .filter(live)
                .filter_map(|m| match &m.attrs {
                    ChildAttrs::Member(ma) => Some(MemberSpec {
                        id: m.id.clone(),
                        address: ma.address.clone(),
                        port: ma.protocol_port,
                        weight: ms(ma.weight),
                        admin_up: ma.admin_state_up,
                        backup: ma.backup,
                        monitor_address: ma.monitor_address.clone(),
                        monitor_port: ma.monitor_port,
                    }),
                    _ => None,
                })
                .collect();
            let monitor = t.monitor_of(&p.id).filter(live).and_then(|h| match &h.attrs {
                ChildAttrs::HealthMonitor(ha) => Some(MonitorSpec {
                    id: h.id.clone(),
                    kind: ha.kind.clone(),
                    delay_s: ms(ha.delay),
                    timeout_s: ms(ha.timeout),
                    max_retries: ms(ha.max_retries),
                    max_retries_down: ms(ha.max_retries_down),
                    http_method: ha.http_method.clone(),
                    url_path: ha.url_path.clone(),
                    expected_codes: ha.expected_codes.clone(),
                    http_version: ha.http_version.map(|v| format!("{v:.1}")),
                    domain_name: ha.domain_name.clone(),
                    admin_up: ha.admin_state_up,
                }),
                _ => None,
            });
            Some(PoolSpec {
                id: p.id.clone(),
                protocol: a.protocol.clone(),
                lb_algorithm: a.lb_algorithm.clone(),
                session_persistence: a.session_persistence.as_ref().map(|s| SessionPersistence {
                    kind: s.kind.clone(),
                    cookie_name: s.cookie_name.clone(),
                }),
                admin_up: a.admin_state_up,
                members,
                monitor,
            })
        })
        .collect();
    LoadBalancerSpec {
        id: t.lb.id.clone(),
        revision: t.lb.revision.max(0) as u64,
        admin_up: t.lb.attrs.admin_state_up,
        vip: LbVip {
            port,
            gateway_ip,
            firewall,
        },
        listeners,
        pools,
    }
}

fn l7policy(t: &Tree, p: &Child) -> Option<L7PolicySpec> {
    let ChildAttrs::L7Policy(a) = &p.attrs else { return None };
    // A redirect to a pool the node does not serve is left out with its pool.
    if a.redirect_pool_id
        .as_ref()
        .is_some_and(|id| !t.child(id).is_some_and(|c| live(&c)))
    {
        return None;
    }
    Some(L7PolicySpec {
        id: p.id.clone(),
        action: a.action.clone(),
        position: ms(a.position),
        redirect_pool_id: a.redirect_pool_id.clone(),
        redirect_url: a.redirect_url.clone(),
        redirect_prefix: a.redirect_prefix.clone(),
        redirect_http_code: a.redirect_http_code.map(|c| c.clamp(0, 999) as u16),
        admin_up: a.admin_state_up,
        rules: t
            .children_of(&p.id, ChildKind::L7Rule)
            .filter(live)
            .filter_map(|r| match &r.attrs {
                ChildAttrs::L7Rule(ra) => Some(L7RuleSpec {
                    id: r.id.clone(),
                    rule_type: ra.kind.clone(),
                    compare_type: ra.compare_type.clone(),
                    key: ra.key.clone(),
                    value: ra.value.clone(),
                    invert: ra.invert,
                    admin_up: ra.admin_state_up,
                }),
                _ => None,
            })
            .collect(),
    })
}

/// The load balancers `host_id` runs (all but those being deleted), from the rows of every
/// load balancer and the network model of the host's desired state.
pub async fn for_host(
    tx: &mut crate::db::Tx<'_>,
    host_id: &str,
    all: &[crate::db::loadbalancer::LoadBalancer],
    model: &crate::app::compute::host_network::NetworkModel,
) -> crate::error::Result<Vec<LoadBalancerSpec>> {
    let mut out = vec![];
    for lb in all.iter().filter(|lb| {
        lb.host_id.as_deref() == Some(host_id) && lb.provisioning_status != ProvisioningStatus::PendingDelete
    }) {
        let Some(port) = lb
            .vip_port_id
            .as_ref()
            .and_then(|id| model.ports.iter().find(|p| p.id == id.as_str()))
        else {
            tracing::warn!(loadbalancer = %lb.id, "load balancer without its VIP port; not served");
            continue;
        };
        let gateway_ip = model
            .subnets
            .iter()
            .find(|s| s.id == lb.attrs.vip_subnet_id)
            .and_then(|s| s.gateway_ip.clone());
        let children = crate::db::loadbalancer::children_of(&mut **tx, &lb.id).await?;
        let t = Tree::from_rows(lb.clone(), children);
        out.push(spec(&t, model.router_port(port), gateway_ip));
    }
    Ok(out)
}

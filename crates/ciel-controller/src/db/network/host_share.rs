//! A host's share of the network model: the rows its desired state needs, read by the
//! networks it takes part in instead of whole tables, so building one host's state costs
//! what that host runs, not what the cloud holds. Orders match the whole-table reads.

use super::{FixedIp, Network, Port, Subnet, NET_COLS, PORT_COLS, SUBNET_COLS};
use crate::db::network::security_groups::{Rule, RULE_COLS};
use crate::db::sql::{self, in_list, rows_in};
use crate::error::Result;

/// The networks a host takes part in: those of the ports of `devices` (its servers, the
/// routers it runs) and of the ports `port_ids` (its load balancers' VIPs).
pub async fn networks_of(e: impl sql::Executor<'_>, devices: &[String], port_ids: &[String]) -> Result<Vec<String>> {
    let text = format!(
        "SELECT DISTINCT network_id FROM ports WHERE device_id IN {} OR id IN {}",
        in_list(devices.len()),
        in_list(port_ids.len())
    );
    let mut q = sql::query_scalar(&text);
    for v in devices.iter().chain(port_ids) {
        q = q.bind(v.as_str());
    }
    Ok(q.fetch_all(e).await?)
}

/// Networks `ids`, and every router's external network (routers are placed by it).
pub async fn networks(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<Network>> {
    rows_in(
        e,
        &format!("SELECT {NET_COLS} FROM networks WHERE id IN (LIST) OR id IN (SELECT gateway_network_id FROM routers) ORDER BY created_at, id"),
        ids,
    )
    .await
}

pub async fn subnets(e: impl sql::Executor<'_>, nets: &[String]) -> Result<Vec<Subnet>> {
    rows_in(
        e,
        &format!("SELECT {SUBNET_COLS} FROM subnets WHERE network_id IN (LIST) ORDER BY created_at, id"),
        nets,
    )
    .await
}

pub async fn ports(e: impl sql::Executor<'_>, nets: &[String]) -> Result<Vec<Port>> {
    rows_in(
        e,
        &format!("SELECT {PORT_COLS} FROM ports WHERE network_id IN (LIST) ORDER BY created_at, id"),
        nets,
    )
    .await
}

pub async fn fixed_ips(e: impl sql::Executor<'_>, nets: &[String]) -> Result<Vec<FixedIp>> {
    rows_in(
        e,
        "SELECT subnet_id, ip_address, port_id, network_id FROM ip_allocations WHERE network_id IN (LIST) ORDER BY rowid",
        nets,
    )
    .await
}

/// `(port id, host id)` of the ports on `nets` bound to a placed server.
pub async fn port_hosts(e: impl sql::Executor<'_>, nets: &[String]) -> Result<Vec<(String, String)>> {
    rows_in(
        e,
        "SELECT p.id, s.host_id FROM ports p JOIN servers s ON s.id = p.device_id WHERE s.host_id IS NOT NULL AND p.network_id IN (LIST)",
        nets,
    )
    .await
}

/// `(port id, group id)` of the security groups of `ports`.
pub async fn groups_of_ports(e: impl sql::Executor<'_>, ports: &[String]) -> Result<Vec<(String, String)>> {
    rows_in(
        e,
        "SELECT port_id, security_group_id FROM port_security_groups WHERE port_id IN (LIST) ORDER BY rowid",
        ports,
    )
    .await
}

pub async fn rules_of_groups(e: impl sql::Executor<'_>, groups: &[String]) -> Result<Vec<Rule>> {
    rows_in(
        e,
        &format!(
            "SELECT {RULE_COLS} FROM security_group_rules WHERE security_group_id IN (LIST) ORDER BY created_at, id"
        ),
        groups,
    )
    .await
}

/// `(port id, group id)` of the members of `groups` (remote groups: their addresses are
/// what rules naming them allow), wherever those ports are.
pub async fn members_of_groups(e: impl sql::Executor<'_>, groups: &[String]) -> Result<Vec<(String, String)>> {
    rows_in(
        e,
        "SELECT port_id, security_group_id FROM port_security_groups WHERE security_group_id IN (LIST) ORDER BY rowid",
        groups,
    )
    .await
}

/// The fixed IPs and the rows of the member ports of `groups`.
pub async fn member_ports(e: &mut sql::Conn<'_>, groups: &[String]) -> Result<(Vec<FixedIp>, Vec<Port>)> {
    let members = format!(
        "(SELECT port_id FROM port_security_groups WHERE security_group_id IN {})",
        in_list(groups.len())
    );
    let text = format!(
        "SELECT subnet_id, ip_address, port_id, network_id FROM ip_allocations WHERE port_id IN {members} ORDER BY rowid"
    );
    let mut q = sql::query_as(&text);
    for v in groups {
        q = q.bind(v.as_str());
    }
    let ips = q.fetch_all(&mut *e).await?;
    let text = format!("SELECT {PORT_COLS} FROM ports WHERE id IN {members}");
    let mut q = sql::query_as(&text);
    for v in groups {
        q = q.bind(v.as_str());
    }
    Ok((ips, q.fetch_all(&mut *e).await?))
}

//! Networks, subnets, ports and fixed-IP allocations.

pub mod floating_ips;
pub mod host_share;
pub mod quotas;
pub mod routers;
pub mod security_groups;
pub mod subnet_pools;
pub mod tags;

use crate::db::one_row;
use crate::db::sql;
use crate::error::Result;
use ciel_proto::ids::{NetworkId, PortId, ProjectId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Network {
    pub id: NetworkId,
    pub name: String,
    pub project_id: ProjectId,
    pub admin_state_up: bool,
    pub shared: bool,
    pub external: bool,
    pub mtu: i64,
    pub network_type: String,
    pub physical_network: Option<String>,
    pub segmentation_id: Option<i64>,
    pub port_security_enabled: bool,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub ip_version: i64,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    pub allocation_pools: String,
    pub dns_nameservers: String,
    pub host_routes: String,
    pub enable_dhcp: bool,
    pub ipv6_ra_mode: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
    pub subnetpool_id: Option<String>,
}

crate::db::text_enum::text_enum! {
    /// A port's operational status as Neutron shows it, stored as that text.
    pub enum PortStatus {
        /// Plugged and up on its host (and every router port, served by Ciel's own routers).
        Active = "ACTIVE",
        /// Not (yet) plugged on a host.
        Down = "DOWN",
        /// Its host could not set it up (e.g. its firewall): it gets no traffic.
        Error = "ERROR",
        /// Floating IP ports: nothing plugs them.
        NotApplicable = "N/A",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Port {
    pub id: PortId,
    pub name: String,
    pub network_id: NetworkId,
    pub project_id: ProjectId,
    pub mac_address: String,
    pub admin_state_up: bool,
    pub status: PortStatus,
    pub device_id: String,
    pub device_owner: String,
    pub port_security_enabled: bool,
    pub allowed_address_pairs: String,
    pub binding_host_id: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision_number: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: String,
    pub port_id: String,
    pub network_id: String,
}

const NET_COLS: &str = "id, name, project_id, admin_state_up, shared, external, mtu, network_type, physical_network, \
     segmentation_id, port_security_enabled, description, created_at, updated_at, revision_number";
const SUBNET_COLS: &str = "id, name, network_id, project_id, ip_version, cidr, gateway_ip, allocation_pools, \
     dns_nameservers, host_routes, enable_dhcp, ipv6_ra_mode, ipv6_address_mode, description, created_at, updated_at, \
     revision_number, subnetpool_id";
const PORT_COLS: &str = "id, name, network_id, project_id, mac_address, admin_state_up, status, device_id, device_owner, \
     port_security_enabled, allowed_address_pairs, binding_host_id, description, created_at, updated_at, revision_number";

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

pub async fn insert_network(e: impl sql::Executor<'_>, n: &Network) -> Result<()> {
    sql::query(&format!("INSERT INTO networks ({NET_COLS}) VALUES ({})", marks(15)))
        .bind(&n.id)
        .bind(&n.name)
        .bind(&n.project_id)
        .bind(n.admin_state_up)
        .bind(n.shared)
        .bind(n.external)
        .bind(n.mtu)
        .bind(&n.network_type)
        .bind(&n.physical_network)
        .bind(n.segmentation_id)
        .bind(n.port_security_enabled)
        .bind(&n.description)
        .bind(n.created_at)
        .bind(n.updated_at)
        .bind(n.revision_number)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_network(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Network>> {
    Ok(sql::query_as(&format!("SELECT {NET_COLS} FROM networks WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list_networks(e: impl sql::Executor<'_>) -> Result<Vec<Network>> {
    Ok(
        sql::query_as(&format!("SELECT {NET_COLS} FROM networks ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

/// Up to `n` networks after id `after`, in id order (the primary key's).
pub async fn networks_page(e: impl sql::Executor<'_>, after: Option<&str>, n: i64) -> Result<Vec<Network>> {
    Ok(sql::query_as(&format!(
        "SELECT {NET_COLS} FROM networks WHERE id > ? ORDER BY id LIMIT ?"
    ))
    .bind(after.unwrap_or(""))
    .bind(n)
    .fetch_all(e)
    .await?)
}

/// `(network id, subnet id)` of every subnet of networks `ids`, oldest subnet first.
pub async fn subnet_ids_of_networks(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(
        e,
        "SELECT network_id, id FROM subnets WHERE network_id IN (LIST) ORDER BY created_at, id",
        ids,
    )
    .await
}

/// Segmentation ids already taken for a network type.
pub async fn used_segments(e: impl sql::Executor<'_>, network_type: &str) -> Result<Vec<i64>> {
    Ok(
        sql::query_scalar(
            "SELECT segmentation_id FROM networks WHERE network_type = ? AND segmentation_id IS NOT NULL",
        )
        .bind(network_type)
        .fetch_all(e)
        .await?,
    )
}

pub async fn update_network(e: impl sql::Executor<'_>, n: &Network) -> Result<()> {
    let r = sql::query(
        "UPDATE networks SET name = ?, admin_state_up = ?, shared = ?, external = ?, mtu = ?, port_security_enabled = ?, \
         description = ?, updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
    )
    .bind(&n.name)
    .bind(n.admin_state_up)
    .bind(n.shared)
    .bind(n.external)
    .bind(n.mtu)
    .bind(n.port_security_enabled)
    .bind(&n.description)
    .bind(n.updated_at)
    .bind(&n.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "network", &n.id)
}

pub async fn delete_network(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM networks WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "network", id)
}

pub async fn insert_subnet(e: impl sql::Executor<'_>, s: &Subnet) -> Result<()> {
    sql::query(&format!("INSERT INTO subnets ({SUBNET_COLS}) VALUES ({})", marks(18)))
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.network_id)
        .bind(&s.project_id)
        .bind(s.ip_version)
        .bind(&s.cidr)
        .bind(&s.gateway_ip)
        .bind(&s.allocation_pools)
        .bind(&s.dns_nameservers)
        .bind(&s.host_routes)
        .bind(s.enable_dhcp)
        .bind(&s.ipv6_ra_mode)
        .bind(&s.ipv6_address_mode)
        .bind(&s.description)
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(s.revision_number)
        .bind(&s.subnetpool_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_subnet(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Subnet>> {
    Ok(
        sql::query_as(&format!("SELECT {SUBNET_COLS} FROM subnets WHERE id = ?"))
            .bind(id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn list_subnets(e: impl sql::Executor<'_>) -> Result<Vec<Subnet>> {
    Ok(
        sql::query_as(&format!("SELECT {SUBNET_COLS} FROM subnets ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

pub async fn subnets_of(e: impl sql::Executor<'_>, network_id: &str) -> Result<Vec<Subnet>> {
    Ok(sql::query_as(&format!(
        "SELECT {SUBNET_COLS} FROM subnets WHERE network_id = ? ORDER BY created_at, id"
    ))
    .bind(network_id)
    .fetch_all(e)
    .await?)
}

pub async fn update_subnet(e: impl sql::Executor<'_>, s: &Subnet) -> Result<()> {
    let r = sql::query(
        "UPDATE subnets SET name = ?, gateway_ip = ?, allocation_pools = ?, dns_nameservers = ?, host_routes = ?, \
         enable_dhcp = ?, description = ?, updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
    )
    .bind(&s.name)
    .bind(&s.gateway_ip)
    .bind(&s.allocation_pools)
    .bind(&s.dns_nameservers)
    .bind(&s.host_routes)
    .bind(s.enable_dhcp)
    .bind(&s.description)
    .bind(s.updated_at)
    .bind(&s.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "subnet", &s.id)
}

pub async fn delete_subnet(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM subnets WHERE id = ?")
        .bind(id)
        .execute(e)
        .await?;
    one_row(r.rows_affected(), "subnet", id)
}

pub async fn insert_port(e: impl sql::Executor<'_>, p: &Port) -> Result<()> {
    sql::query(&format!("INSERT INTO ports ({PORT_COLS}) VALUES ({})", marks(16)))
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.network_id)
        .bind(&p.project_id)
        .bind(&p.mac_address)
        .bind(p.admin_state_up)
        .bind(p.status)
        .bind(&p.device_id)
        .bind(&p.device_owner)
        .bind(p.port_security_enabled)
        .bind(&p.allowed_address_pairs)
        .bind(&p.binding_host_id)
        .bind(&p.description)
        .bind(p.created_at)
        .bind(p.updated_at)
        .bind(p.revision_number)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn get_port(e: impl sql::Executor<'_>, id: &str) -> Result<Option<Port>> {
    Ok(sql::query_as(&format!("SELECT {PORT_COLS} FROM ports WHERE id = ?"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn list_ports(e: impl sql::Executor<'_>) -> Result<Vec<Port>> {
    Ok(
        sql::query_as(&format!("SELECT {PORT_COLS} FROM ports ORDER BY created_at, id"))
            .fetch_all(e)
            .await?,
    )
}

/// Up to `n` ports after id `after` in id order: every project's (from the primary key) or
/// one project's (from its index).
pub async fn ports_page(
    e: impl sql::Executor<'_>,
    project: Option<&str>,
    after: Option<&str>,
    n: i64,
) -> Result<Vec<Port>> {
    let mut b = sql::QueryBuilder::new(format!("SELECT {PORT_COLS} FROM ports WHERE id > "));
    b.push_bind(after.unwrap_or("").to_string());
    if let Some(p) = project {
        b.push(" AND project_id = ").push_bind(p.to_string());
    }
    b.push(" ORDER BY id LIMIT ").push_bind(n);
    Ok(b.build_query_as().fetch_all(e).await?)
}

/// The ports bound to a device (a server, a router, a DHCP service).
pub async fn ports_of_device(e: impl sql::Executor<'_>, device_id: &str) -> Result<Vec<Port>> {
    Ok(sql::query_as(&format!(
        "SELECT {PORT_COLS} FROM ports WHERE device_id = ? ORDER BY created_at, id"
    ))
    .bind(device_id)
    .fetch_all(e)
    .await?)
}

/// The ports of the servers placed on a host.
pub async fn ports_on_host(e: impl sql::Executor<'_>, host_id: &str) -> Result<Vec<Port>> {
    let cols = PORT_COLS
        .split(", ")
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(sql::query_as(&format!(
        "SELECT {cols} FROM ports p JOIN servers s ON s.id = p.device_id WHERE s.host_id = ? ORDER BY p.id"
    ))
    .bind(host_id)
    .fetch_all(e)
    .await?)
}

/// The port holding `ip` on `network_id`, if any.
pub async fn port_with_address(e: impl sql::Executor<'_>, network_id: &str, ip: &str) -> Result<Option<String>> {
    Ok(
        sql::query_scalar("SELECT port_id FROM ip_allocations WHERE network_id = ? AND ip_address = ?")
            .bind(network_id)
            .bind(ip)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn count_ports_on_network(e: impl sql::Executor<'_>, network_id: &str) -> Result<i64> {
    Ok(sql::query_scalar("SELECT count(*) FROM ports WHERE network_id = ?")
        .bind(network_id)
        .fetch_one(e)
        .await?)
}

pub async fn update_port(e: impl sql::Executor<'_>, p: &Port) -> Result<()> {
    let r = sql::query(
        "UPDATE ports SET name = ?, admin_state_up = ?, device_id = ?, device_owner = ?, port_security_enabled = ?, \
         allowed_address_pairs = ?, binding_host_id = ?, description = ?, updated_at = ?, \
         revision_number = revision_number + 1 WHERE id = ?",
    )
    .bind(&p.name)
    .bind(p.admin_state_up)
    .bind(&p.device_id)
    .bind(&p.device_owner)
    .bind(p.port_security_enabled)
    .bind(&p.allowed_address_pairs)
    .bind(&p.binding_host_id)
    .bind(&p.description)
    .bind(p.updated_at)
    .bind(&p.id)
    .execute(e)
    .await?;
    one_row(r.rows_affected(), "port", &p.id)
}

pub async fn delete_port(e: impl sql::Executor<'_>, id: &str) -> Result<()> {
    let r = sql::query("DELETE FROM ports WHERE id = ?").bind(id).execute(e).await?;
    one_row(r.rows_affected(), "port", id)
}

pub async fn insert_fixed_ip(e: impl sql::Executor<'_>, f: &FixedIp) -> Result<()> {
    sql::query("INSERT INTO ip_allocations (subnet_id, ip_address, port_id, network_id) VALUES (?, ?, ?, ?)")
        .bind(&f.subnet_id)
        .bind(&f.ip_address)
        .bind(&f.port_id)
        .bind(&f.network_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn delete_fixed_ip(e: impl sql::Executor<'_>, subnet_id: &str, ip: &str) -> Result<()> {
    sql::query("DELETE FROM ip_allocations WHERE subnet_id = ? AND ip_address = ?")
        .bind(subnet_id)
        .bind(ip)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn fixed_ips_of_subnet(e: impl sql::Executor<'_>, subnet_id: &str) -> Result<Vec<FixedIp>> {
    Ok(
        sql::query_as("SELECT subnet_id, ip_address, port_id, network_id FROM ip_allocations WHERE subnet_id = ?")
            .bind(subnet_id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn all_fixed_ips(e: impl sql::Executor<'_>) -> Result<Vec<FixedIp>> {
    Ok(
        sql::query_as("SELECT subnet_id, ip_address, port_id, network_id FROM ip_allocations ORDER BY rowid")
            .fetch_all(e)
            .await?,
    )
}

pub async fn fixed_ips_of_port(e: impl sql::Executor<'_>, port_id: &str) -> Result<Vec<FixedIp>> {
    Ok(sql::query_as(
        "SELECT subnet_id, ip_address, port_id, network_id FROM ip_allocations WHERE port_id = ? ORDER BY rowid",
    )
    .bind(port_id)
    .fetch_all(e)
    .await?)
}

pub async fn delete_fixed_ips_of_port(e: impl sql::Executor<'_>, port_id: &str) -> Result<()> {
    sql::query("DELETE FROM ip_allocations WHERE port_id = ?")
        .bind(port_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Sets a port's operational status and binding host (what the host's agent reported);
/// no write, and no new revision, when both are already so.
pub async fn set_port_status(
    e: impl sql::Executor<'_>,
    id: &str,
    status: PortStatus,
    host: &str,
    now: i64,
) -> Result<()> {
    sql::query(
        "UPDATE ports SET status = ?, binding_host_id = ?, updated_at = ?, revision_number = revision_number + 1 \
         WHERE id = ? AND (status != ? OR binding_host_id != ?)",
    )
    .bind(status)
    .bind(host)
    .bind(now)
    .bind(id)
    .bind(status)
    .bind(host)
    .execute(e)
    .await?;
    Ok(())
}

/// A project's ports, from its index.
pub async fn ports_of_project(e: impl sql::Executor<'_>, project_id: &str) -> Result<Vec<Port>> {
    Ok(sql::query_as(&format!(
        "SELECT {PORT_COLS} FROM ports WHERE project_id = ? ORDER BY created_at, id"
    ))
    .bind(project_id)
    .fetch_all(e)
    .await?)
}

/// Ports `ids`.
pub async fn ports_by_ids(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<Port>> {
    sql::rows_in(
        e,
        &format!("SELECT {PORT_COLS} FROM ports WHERE id IN (LIST) ORDER BY created_at, id"),
        ids,
    )
    .await
}

/// The ports of `devices` (a page of servers), in the order of each device's own list.
pub async fn ports_of_devices(e: impl sql::Executor<'_>, devices: &[String]) -> Result<Vec<Port>> {
    sql::rows_in(
        e,
        &format!("SELECT {PORT_COLS} FROM ports WHERE device_id IN (LIST) ORDER BY created_at, id"),
        devices,
    )
    .await
}

/// The fixed IPs of `ports`, in allocation order.
pub async fn fixed_ips_of_ports(e: impl sql::Executor<'_>, ports: &[String]) -> Result<Vec<FixedIp>> {
    sql::rows_in(
        e,
        "SELECT subnet_id, ip_address, port_id, network_id FROM ip_allocations WHERE port_id IN (LIST) ORDER BY rowid",
        ports,
    )
    .await
}

/// `(id, name)` of networks `ids`.
pub async fn network_names(e: impl sql::Executor<'_>, ids: &[String]) -> Result<Vec<(String, String)>> {
    sql::rows_in(e, "SELECT id, name FROM networks WHERE id IN (LIST)", ids).await
}

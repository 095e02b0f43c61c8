use super::ipam::{self, Pool};
use super::params::{CreateSubnet, Gateway, UpdateSubnet};
use super::validate::{self, invalid};
use super::{not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::policy::may_write;
use crate::app::App;
use crate::db::network::{self, Subnet};
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::net::IpAddr;

const IPV6_MODES: &[&str] = &["slaac", "dhcpv6-stateful", "dhcpv6-stateless"];

/// Allocation pools as stored (JSON) and parsed.
/// IPv6 subnets whose addresses hosts derive themselves rather than being handed one.
pub fn is_auto_address(s: &Subnet) -> bool {
    matches!(s.ipv6_address_mode.as_deref(), Some("slaac") | Some("dhcpv6-stateless"))
}

pub fn pools_of(s: &Subnet) -> Vec<Pool> {
    let raw: Vec<Value> = serde_json::from_str(&s.allocation_pools).unwrap_or_default();
    raw.iter()
        .filter_map(|p| {
            Some(Pool {
                start: p["start"].as_str()?.parse().ok()?,
                end: p["end"].as_str()?.parse().ok()?,
            })
        })
        .collect()
}

fn pools_json(pools: &[Pool]) -> String {
    Value::Array(
        pools
            .iter()
            .map(|p| json!({"start": p.start.to_string(), "end": p.end.to_string()}))
            .collect(),
    )
    .to_string()
}

fn ips_json(ips: &[IpAddr]) -> String {
    Value::Array(ips.iter().map(|i| json!(i.to_string())).collect()).to_string()
}

/// `gateway_ip`: an address of the subnet's version, a host of its CIDR.
fn gateway_in(g: &Gateway, cidr: &ipnet::IpNet) -> Result<IpAddr> {
    let ip = g.ip;
    if ip.is_ipv4() != cidr.addr().is_ipv4() {
        let version = if cidr.addr().is_ipv4() { 4 } else { 6 };
        return Err(validate::invalid_input(format!(
            "gateway_ip '{}' does not match the ip_version '{version}'",
            g.text
        )));
    }
    if !cidr.contains(&ip) || ip == cidr.network() {
        return Err(Error::bad_request(format!(
            "Invalid input for operation: gateway {ip} is not a valid host in {cidr}."
        )));
    }
    Ok(ip)
}

impl App {
    pub async fn create_subnet(&self, caller: &Caller, req: CreateSubnet) -> Result<Subnet> {
        let project_id = target_project(caller, req.project_id)?;
        let network_id = req.network_id;
        let net = self.get_network(caller, &network_id).await?;
        if !may_write(caller, &net.project_id) {
            return Err(Error::forbidden());
        }
        let asked_version = req.ip_version.map(i64::from);
        let pool = self
            .requested_pool(caller, req.subnetpool_id, req.use_default_subnetpool, asked_version)
            .await?;
        let ip_version = match (asked_version, &pool) {
            (Some(v), Some(p)) if v != p.ip_version => {
                return Err(Error::bad_request(format!(
                    "Invalid input for operation: ip_version {v} does not match subnet pool {} (IPv{}).",
                    p.id, p.ip_version
                )))
            }
            (Some(v), _) => v as u8,
            (None, Some(p)) => p.ip_version as u8,
            (None, None) => return Err(invalid("ip_version", "'None' is not in [4, 6]")),
        };
        let cidr_text = req.cidr;
        let prefixlen = req.prefixlen;
        if ip_version == 6 && net.mtu < validate::IPV6_MIN_MTU {
            return Err(super::networks::mtu_subnet_conflict(&net.id, validate::IPV6_MIN_MTU));
        }
        // From here on the subnet's CIDR may come from a pool: decide it under the write lock.
        let mut tx = self.begin().await?;
        let cidr = match (&pool, cidr_text) {
            (Some(p), text) => {
                let requested = text.map(|t| ipam::parse_cidr(&t, ip_version)).transpose()?;
                super::subnet_pools::allocate(&mut tx, p, requested, prefixlen).await?
            }
            (None, Some(t)) => ipam::parse_cidr(&t, ip_version)?,
            (None, None) => {
                return Err(Error::bad_request(
                    "Bad subnets request: a cidr must be specified in the absence of a subnet pool.",
                ))
            }
        };
        let gateway = match &req.gateway_ip {
            None => Some(ipam::default_gateway(&cidr)),
            Some(None) => None,
            Some(Some(g)) => Some(gateway_in(g, &cidr)?),
        };
        let pools = match req.allocation_pools {
            None => ipam::default_pools(&cidr, gateway),
            Some(p) => {
                ipam::validate_pools(&cidr, &p, gateway)?;
                p
            }
        };
        let (ra_mode, addr_mode) = (req.ipv6_ra_mode, req.ipv6_address_mode);
        for m in [&ra_mode, &addr_mode].into_iter().flatten() {
            if ip_version == 4 || !IPV6_MODES.contains(&m.as_str()) {
                return Err(Error::bad_request(format!(
                    "Invalid input for operation: IPv6 mode '{m}' is not valid here."
                )));
            }
        }
        if let (Some(r), Some(a)) = (&ra_mode, &addr_mode) {
            if r != a {
                return Err(Error::bad_request(
                    "Invalid input for operation: ipv6_ra_mode and ipv6_address_mode must match when both are set.",
                ));
            }
        }
        let now = crate::db::now();
        let s = Subnet {
            id: uuid::Uuid::new_v4().to_string(),
            name: req.name.unwrap_or_default(),
            network_id: network_id.clone(),
            project_id,
            ip_version: ip_version as i64,
            cidr: cidr.to_string(),
            gateway_ip: gateway.map(|g| g.to_string()),
            allocation_pools: pools_json(&pools),
            dns_nameservers: match &req.dns_nameservers {
                None => "[]".into(),
                Some(list) => ips_json(&validate::nameservers_for(list, ip_version, "new subnet")?),
            },
            host_routes: match &req.host_routes {
                None => "[]".into(),
                Some(routes) => {
                    validate::host_routes_for(routes, ip_version, "new subnet")?;
                    validate::routes_json(routes)
                }
            },
            enable_dhcp: req.enable_dhcp.unwrap_or(true),
            ipv6_ra_mode: ra_mode,
            ipv6_address_mode: addr_mode,
            description: req.description.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            revision_number: 0,
            subnetpool_id: pool.map(|p| p.id),
        };
        self.check_network_quota(&mut tx, &s.project_id, "subnet").await?;
        for other in network::subnets_of(&mut *tx, &network_id).await? {
            let o: ipnet::IpNet = other.cidr.parse().map_err(|_| Error::Internal("stored cidr".into()))?;
            if o.contains(&cidr.network()) || cidr.contains(&o.network()) {
                return Err(Error::bad_request(format!(
                    "Invalid input for operation: Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet."
                )));
            }
        }
        network::insert_subnet(&mut *tx, &s).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Subnets are visible with their network.
    pub async fn get_subnet(&self, caller: &Caller, id: &str) -> Result<Subnet> {
        let s = network::get_subnet(&self.db, id)
            .await?
            .ok_or_else(|| not_found("subnet", id))?;
        self.get_network(caller, &s.network_id)
            .await
            .map_err(|_| not_found("subnet", id))?;
        Ok(s)
    }

    pub async fn list_subnets(&self, caller: &Caller) -> Result<Vec<Subnet>> {
        let visible: std::collections::HashSet<String> = self
            .list_networks(caller)
            .await?
            .into_iter()
            .map(|n| n.id.into_string())
            .collect();
        Ok(network::list_subnets(&self.db)
            .await?
            .into_iter()
            .filter(|s| visible.contains(&s.network_id))
            .collect())
    }

    pub async fn update_subnet(&self, caller: &Caller, id: &str, req: UpdateSubnet) -> Result<Subnet> {
        self.get_subnet(caller, id).await?;
        // Read again and written in one transaction, which also tells the hosts serving the
        // network (DHCP options: gateway, DNS servers, host routes).
        let mut tx = self.begin().await?;
        let mut s = network::get_subnet(&mut *tx, id)
            .await?
            .ok_or_else(|| not_found("subnet", id))?;
        if !may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(v) = req.name {
            s.name = v;
        }
        if let Some(v) = req.description {
            s.description = v;
        }
        if let Some(v) = req.enable_dhcp {
            s.enable_dhcp = v;
        }
        let version = s.ip_version as u8;
        match &req.dns_nameservers {
            None => {}
            Some(None) => s.dns_nameservers = "[]".into(),
            Some(Some(list)) => s.dns_nameservers = ips_json(&validate::nameservers_for(list, version, &s.id)?),
        }
        match &req.host_routes {
            None => {}
            Some(None) => s.host_routes = "[]".into(),
            Some(Some(routes)) => {
                validate::host_routes_for(routes, version, &s.id)?;
                s.host_routes = validate::routes_json(routes);
            }
        }
        let cidr: ipnet::IpNet = s.cidr.parse().map_err(|_| Error::Internal("stored cidr".into()))?;
        if let Some(g) = &req.gateway_ip {
            s.gateway_ip = match g {
                None => None,
                Some(g) => Some(gateway_in(g, &cidr)?.to_string()),
            };
        }
        if let Some(p) = req.allocation_pools {
            ipam::validate_pools(&cidr, &p, s.gateway_ip.as_deref().and_then(|g| g.parse().ok()))?;
            s.allocation_pools = pools_json(&p);
        } else if s
            .gateway_ip
            .as_deref()
            .and_then(|g| g.parse().ok())
            .is_some_and(|g| ipam::in_pools(&pools_of(&s), g))
        {
            return Err(Error::Conflict(format!(
                "Gateway ip {} conflicts with an allocation pool.",
                s.gateway_ip.clone().unwrap_or_default()
            )));
        }
        s.updated_at = crate::db::now();
        network::update_subnet(&mut *tx, &s).await?;
        tx.network_changed(&s.network_id);
        tx.commit().await?;
        self.get_subnet(caller, id).await
    }

    /// Refused while ports hold addresses on it (Neutron's SubnetInUse).
    pub async fn delete_subnet(&self, caller: &Caller, id: &str) -> Result<()> {
        let s = self.get_subnet(caller, id).await?;
        if !may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        // Addresses a port derived by itself (SLAAC, DHCPv6-stateless) go with the subnet, as in
        // Neutron; router interfaces and fixed allocations still keep it in use.
        if is_auto_address(&s) {
            for f in network::fixed_ips_of_subnet(&mut *tx, id).await? {
                let owner = network::get_port(&mut *tx, &f.port_id).await?.map(|p| p.device_owner);
                if owner.as_deref() != Some(super::routers::INTERFACE_OWNER) {
                    network::delete_fixed_ip(&mut *tx, id, &f.ip_address).await?;
                }
            }
        }
        App::release_dhcp_address(&mut tx, id).await?;
        if !network::fixed_ips_of_subnet(&mut *tx, id).await?.is_empty() {
            return Err(Error::Typed {
                status: 409,
                kind: "SubnetInUse",
                message: format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."),
            });
        }
        network::delete_subnet(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

//! Routers: an external gateway (a port with an address on an external network) and
//! interfaces (ports holding a subnet's gateway address), plus extra routes.

use super::params::{CreateRouter, GatewayInfo, RouterInterface, UpdateRouter};
use super::ports::{service_port, FixedIpRequest};
use super::validate::{self, Route};
use super::{not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::network::routers::{self, Router};
use crate::db::network::{self, FixedIp, Port, PortStatus};
use crate::db::Tx;
use crate::error::{Error, Result};

pub const GATEWAY_OWNER: &str = "network:router_gateway";
pub const INTERFACE_OWNER: &str = "network:router_interface";

/// A router with its gateway addresses.
#[derive(Debug, Clone)]
pub struct RouterView {
    pub router: Router,
    pub gateway_ips: Vec<FixedIp>,
}

/// What `add_router_interface` and `remove_router_interface` report.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    pub router_id: String,
    pub project_id: String,
    pub port_id: String,
    pub network_id: String,
    pub subnet_ids: Vec<String>,
}

impl InterfaceInfo {
    fn new(router: Router, port: Port, ips: &[FixedIp]) -> Self {
        Self {
            router_id: router.id,
            project_id: router.project_id,
            port_id: port.id.into_string(),
            network_id: port.network_id.into_string(),
            subnet_ids: ips.iter().map(|f| f.subnet_id.clone()).collect(),
        }
    }
}

/// Router ports are served by Ciel's own router implementation rather than bound to a
/// hypervisor, so they are up as soon as they exist (Neutron's L3 agent reports the same); VM
/// ports stay DOWN until their agent reports them.
fn router_port(router: &Router, network_id: &str, owner: &str, project_id: &str) -> Port {
    service_port(network_id, project_id, &router.id, owner, PortStatus::Active)
}

impl App {
    /// Sets, replaces or clears the gateway inside the caller's transaction.
    async fn set_gateway(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        router: &mut Router,
        info: Option<GatewayInfo>,
    ) -> Result<()> {
        let wanted = info.as_ref().map(|i| i.network_id.clone());
        self.gateway_not_needed(tx, &router.id, wanted.as_deref()).await?;
        for p in routers::router_ports(&mut **tx, &router.id)
            .await?
            .into_iter()
            .filter(|p| p.device_owner == GATEWAY_OWNER)
        {
            network::delete_port(&mut **tx, &p.id).await?;
        }
        router.gateway_network_id = None;
        let (Some(info), Some(net_id)) = (info, wanted) else {
            return Ok(());
        };
        let net = network::get_network(&mut **tx, &net_id)
            .await?
            .ok_or_else(|| not_found("network", &net_id))?;
        if !net.external {
            return Err(Error::bad_request(format!(
                "Bad router request: Network {net_id} is not an external network."
            )));
        }
        if let Some(v) = info.enable_snat {
            if !caller.is_admin() {
                return Err(Error::forbidden());
            }
            router.enable_snat = v;
        }
        let requests = match info.external_fixed_ips {
            None => None,
            Some(specs) => {
                if !caller.is_admin() {
                    return Err(Error::forbidden());
                }
                Some(specs.into_iter().map(FixedIpRequest::from).collect())
            }
        };
        // The gateway port belongs to no project, as in Neutron.
        let port = router_port(router, &net_id, GATEWAY_OWNER, "");
        network::insert_port(&mut **tx, &port).await?;
        let subnets = network::subnets_of(&mut **tx, &net_id).await?;
        self.allocate(tx, &port, &subnets, requests).await?;
        router.gateway_network_id = Some(net_id);
        Ok(())
    }

    /// Neutron's RouterExternalGatewayInUseByFloatingIp: a router's gateway can neither be
    /// cleared nor moved to another external network while floating IPs go through it (keeping
    /// the same network, e.g. to change its addresses, is allowed). Read inside the update's
    /// transaction, so an association cannot slip in between the check and the change.
    async fn gateway_not_needed(&self, tx: &mut Tx<'_>, router_id: &str, wanted: Option<&str>) -> Result<()> {
        let current = routers::get(&mut **tx, router_id)
            .await?
            .and_then(|r| r.gateway_network_id);
        let Some(current) = current.filter(|c| Some(c.as_str()) != wanted) else {
            return Ok(());
        };
        if crate::db::network::floating_ips::count_via_router(&mut **tx, router_id).await? == 0 {
            return Ok(());
        }
        Err(Error::Typed {
            status: 409,
            kind: "RouterExternalGatewayInUseByFloatingIp",
            message: format!(
                "Gateway cannot be updated for router {router_id}, since a gateway to external network {current} is required by one or more floating IPs."
            ),
        })
    }

    async fn router_view(&self, router: Router) -> Result<RouterView> {
        let mut gateway_ips = vec![];
        for p in routers::router_ports(&self.db, &router.id)
            .await?
            .into_iter()
            .filter(|p| p.device_owner == GATEWAY_OWNER)
        {
            gateway_ips.extend(network::fixed_ips_of_port(&self.db, &p.id).await?);
        }
        Ok(RouterView { router, gateway_ips })
    }

    pub async fn create_router(&self, caller: &Caller, req: CreateRouter) -> Result<RouterView> {
        let project_id = target_project(caller, req.project_id)?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        let now = crate::db::now();
        let mut r = Router {
            id: uuid::Uuid::new_v4().to_string(),
            name: req.name.unwrap_or_default(),
            project_id,
            admin_state_up: req.admin_state_up.unwrap_or(true),
            gateway_network_id: None,
            enable_snat: true,
            routes: "[]".into(),
            description: req.description.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        let gateway = req.external_gateway_info;
        let mut tx = self.begin().await?;
        self.check_network_quota(&mut tx, &r.project_id, "router").await?;
        routers::insert(&mut *tx, &r).await?;
        if gateway.is_some() {
            self.set_gateway(&mut tx, caller, &mut r, gateway).await?;
            routers::update(&mut *tx, &r).await?;
        }
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        self.get_router(caller, &r.id).await
    }

    pub async fn get_router(&self, caller: &Caller, id: &str) -> Result<RouterView> {
        match routers::get(&self.db, id).await? {
            Some(r) if in_project(caller, &r.project_id) => self.router_view(r).await,
            _ => Err(not_found("router", id)),
        }
    }

    pub async fn list_routers(&self, caller: &Caller) -> Result<Vec<RouterView>> {
        let mut out = vec![];
        for r in routers::list(&self.db)
            .await?
            .into_iter()
            .filter(|r| in_project(caller, &r.project_id))
        {
            out.push(self.router_view(r).await?);
        }
        Ok(out)
    }

    pub async fn update_router(&self, caller: &Caller, id: &str, req: UpdateRouter) -> Result<RouterView> {
        let mut r = self.get_router(caller, id).await?.router;
        if !may_write(caller, &r.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(v) = req.name {
            r.name = v;
        }
        if let Some(v) = req.description {
            r.description = v;
        }
        if let Some(v) = req.admin_state_up {
            r.admin_state_up = v;
        }
        let routes = req.routes;
        r.updated_at = crate::db::now();
        let mut tx = self.begin().await?;
        if let Some(routes) = routes {
            Self::check_routes(&mut tx, &r.id, &routes).await?;
            r.routes = validate::routes_json(&routes);
        }
        if let Some(g) = req.external_gateway_info {
            self.set_gateway(&mut tx, caller, &mut r, g).await?;
        }
        routers::update(&mut *tx, &r).await?;
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        self.get_router(caller, id).await
    }

    /// Neutron's extraroute rule: every nexthop is on a subnet the router has a port on, and
    /// is not one of the router's own addresses.
    async fn check_routes(tx: &mut Tx<'_>, router_id: &str, routes: &[Route]) -> Result<()> {
        if routes.is_empty() {
            return Ok(());
        }
        let mut cidrs: Vec<ipnet::IpNet> = vec![];
        let mut own: Vec<std::net::IpAddr> = vec![];
        for p in routers::router_ports(&mut **tx, router_id).await? {
            for f in network::fixed_ips_of_port(&mut **tx, &p.id).await? {
                if let Some(s) = network::get_subnet(&mut **tx, &f.subnet_id).await? {
                    cidrs.extend(s.cidr.parse::<ipnet::IpNet>().ok());
                }
                own.extend(f.ip_address.parse::<std::net::IpAddr>().ok());
            }
        }
        let shown = || {
            let items: Vec<String> = routes
                .iter()
                .map(|r| format!("{{'destination': '{}', 'nexthop': '{}'}}", r.destination, r.nexthop))
                .collect();
            format!("[{}]", items.join(", "))
        };
        for r in routes {
            let reason = if !cidrs.iter().any(|c| c.contains(&r.nexthop)) {
                "the nexthop is not connected with router"
            } else if own.contains(&r.nexthop) {
                "the nexthop is used by router"
            } else {
                continue;
            };
            return Err(Error::Typed {
                status: 400,
                kind: "InvalidRoutes",
                message: format!("Invalid format for routes: {}, {reason}", shown()),
            });
        }
        Ok(())
    }

    /// Refused while interfaces remain (Neutron's RouterInUse); the gateway goes with the router.
    pub async fn delete_router(&self, caller: &Caller, id: &str) -> Result<()> {
        let r = self.get_router(caller, id).await?.router;
        if !may_write(caller, &r.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        let ports = routers::router_ports(&mut *tx, id).await?;
        if ports.iter().any(|p| p.device_owner == INTERFACE_OWNER) {
            return Err(Error::Typed {
                status: 409,
                kind: "RouterInUse",
                message: format!("Router {id} still has ports"),
            });
        }
        for p in ports {
            network::delete_port(&mut *tx, &p.id).await?;
        }
        routers::delete(&mut *tx, id).await?;
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Attaches a subnet (a new port holding its gateway address) or an existing port.
    pub async fn add_router_interface(&self, caller: &Caller, id: &str, req: RouterInterface) -> Result<InterfaceInfo> {
        let router = self.get_router(caller, id).await?.router;
        if !may_write(caller, &router.project_id) {
            return Err(Error::forbidden());
        }
        let RouterInterface { subnet_id, port_id } = req;
        // What the caller may see, read before the write transaction takes the writer (the
        // rows it changes are read again inside it).
        let subnet = match &subnet_id {
            Some(sid) => Some(self.get_subnet(caller, sid).await?),
            None => None,
        };
        let port_view = match &port_id {
            Some(pid) => Some(self.get_port(caller, pid).await?),
            None => None,
        };
        let mut tx = self.begin().await?;
        let existing: Vec<FixedIp> = {
            let mut v = vec![];
            for p in routers::router_ports(&mut *tx, id).await? {
                v.extend(network::fixed_ips_of_port(&mut *tx, &p.id).await?);
            }
            v
        };
        let (port, ips) = match (subnet_id, port_id) {
            (Some(sid), None) => {
                let subnet = subnet.ok_or_else(|| Error::Internal("subnet read above".into()))?;
                if existing.iter().any(|f| f.subnet_id == sid) {
                    return Err(Error::bad_request(format!(
                        "Router already has a port on subnet {sid}."
                    )));
                }
                let gw = subnet.gateway_ip.clone().ok_or_else(|| {
                    Error::bad_request(format!("Bad router request: Subnet {sid} does not have a gateway IP."))
                })?;
                let port = router_port(&router, &subnet.network_id, INTERFACE_OWNER, &subnet.project_id);
                network::insert_port(&mut *tx, &port).await?;
                let req = FixedIpRequest {
                    subnet_id: Some(sid),
                    ip: gw.parse().ok(),
                };
                let ips = self
                    .allocate(&mut tx, &port, std::slice::from_ref(&subnet), Some(vec![req]))
                    .await?;
                (port, ips)
            }
            (None, Some(pid)) => {
                let view = port_view.ok_or_else(|| Error::Internal("port read above".into()))?;
                let current = network::get_port(&mut *tx, &pid)
                    .await?
                    .ok_or_else(|| not_found("port", &pid))?;
                if !current.device_id.is_empty() || !current.device_owner.is_empty() {
                    return Err(Error::Typed {
                        status: 409,
                        kind: "PortInUse",
                        message: format!("Port {pid} is in use."),
                    });
                }
                if view.fixed_ips.is_empty() {
                    return Err(Error::bad_request(format!(
                        "Bad router request: Router port must have at least one fixed IP, port {pid} has none."
                    )));
                }
                let mut port = current;
                port.device_id = router.id.clone();
                port.device_owner = INTERFACE_OWNER.into();
                port.updated_at = crate::db::now();
                network::update_port(&mut *tx, &port).await?;
                (port, view.fixed_ips)
            }
            _ => {
                return Err(Error::bad_request(
                    "Bad router request: Either subnet_id or port_id must be specified.",
                ))
            }
        };
        // One router cannot route between overlapping subnets.
        for new in &ips {
            let Some(ns) = network::get_subnet(&mut *tx, &new.subnet_id).await? else {
                continue;
            };
            for old in existing.iter().filter(|f| f.subnet_id != new.subnet_id) {
                let Some(os) = network::get_subnet(&mut *tx, &old.subnet_id).await? else {
                    continue;
                };
                if cidrs_overlap(&ns.cidr, &os.cidr) {
                    return Err(Error::bad_request(format!(
                        "Bad router request: Cidr {} of subnet {} overlaps with cidr {} of subnet {}.",
                        ns.cidr, ns.id, os.cidr, os.id
                    )));
                }
            }
        }
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(InterfaceInfo::new(router, port, &ips))
    }

    pub async fn remove_router_interface(
        &self,
        caller: &Caller,
        id: &str,
        req: RouterInterface,
    ) -> Result<InterfaceInfo> {
        let router = self.get_router(caller, id).await?.router;
        if !may_write(caller, &router.project_id) {
            return Err(Error::forbidden());
        }
        let RouterInterface { subnet_id, port_id } = req;
        let mut tx = self.begin().await?;
        let mut found = None;
        for p in routers::router_ports(&mut *tx, id)
            .await?
            .into_iter()
            .filter(|p| p.device_owner == INTERFACE_OWNER)
        {
            let ips = network::fixed_ips_of_port(&mut *tx, &p.id).await?;
            let hit = port_id.as_deref() == Some(p.id.as_str())
                || subnet_id
                    .as_ref()
                    .is_some_and(|s| ips.iter().any(|f| &f.subnet_id == s));
            if hit {
                found = Some((p, ips));
                break;
            }
        }
        let (port, ips) = found.ok_or_else(|| Error::Typed {
            status: 404,
            kind: "RouterInterfaceNotFound",
            message: format!("Router {id} does not have an interface with the given subnet or port."),
        })?;
        // Floating IPs that reach their port through this interface would lose their path.
        for f in crate::db::network::floating_ips::list(&mut *tx)
            .await?
            .into_iter()
            .filter(|f| f.router_id.as_deref() == Some(id))
        {
            let Some(fp) = &f.port_id else { continue };
            let behind = network::fixed_ips_of_port(&mut *tx, fp).await?;
            if behind.iter().any(|b| ips.iter().any(|i| i.subnet_id == b.subnet_id)) {
                return Err(Error::Typed {
                    status: 409,
                    kind: "RouterInterfaceInUseByFloatingIP",
                    message: format!("Router interface for subnet on router {id} cannot be deleted, as it is required by one or more floating IPs."),
                });
            }
        }
        network::delete_port(&mut *tx, &port.id).await?;
        self.routing_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(InterfaceInfo::new(router, port, &ips))
    }
}

fn cidrs_overlap(a: &str, b: &str) -> bool {
    match (a.parse::<ipnet::IpNet>(), b.parse::<ipnet::IpNet>()) {
        (Ok(a), Ok(b)) => a.contains(&b.network()) || b.contains(&a.network()),
        _ => false,
    }
}

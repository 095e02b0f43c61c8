//! Network service (Neutron v2.0) control plane: networks, subnets, ports, IP address
//! management. What is stored here is the desired state the data plane is programmed from.

pub mod dhcp;
pub mod floating_ips;
pub mod ipam;
pub mod networks;
pub mod params;
pub mod ports;
pub mod quotas;
pub mod routers;
pub mod security_groups;
pub mod seed;
pub mod subnet_pools;
pub mod subnets;
pub mod tags;
pub mod validate;

use crate::app::identity::caller::Caller;
use crate::db::network::Network;
use crate::error::Error;

/// Neutron's "not found" for a resource kind, also used when the caller may not see it.
pub fn not_found(kind: &'static str, id: &str) -> Error {
    Error::NotFound {
        kind,
        id: id.to_string(),
    }
}

/// Networks are visible to their project, to everyone when shared or external, and to admins.
pub fn network_visible(caller: &Caller, n: &Network) -> bool {
    crate::app::policy::in_project(caller, &n.project_id) || n.shared || n.external
}

/// The project a request acts for: the one it names (`project_id`/`tenant_id`) when it is the
/// caller's or the caller is an admin, else the caller's.
pub fn target_project(caller: &Caller, requested: Option<String>) -> Result<String, Error> {
    let own = caller.project_id().map(str::to_owned);
    match (requested, own) {
        (Some(p), own) if own.as_deref() == Some(p.as_str()) || caller.is_admin() => Ok(p),
        (Some(_), _) => Err(Error::forbidden()),
        (None, Some(p)) => Ok(p),
        (None, None) => Err(Error::bad_request("A project-scoped token is required.")),
    }
}

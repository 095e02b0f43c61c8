//! Subnet pools (Neutron's subnet_allocation): prefixes that subnets are carved from, either
//! a requested CIDR checked against the pool or the first free block of a prefix length.
//! Allocation happens inside the subnet's own transaction, so concurrent creates never get
//! overlapping blocks.

use super::params::{CreateSubnetPool, UpdateSubnetPool};
use super::{not_found, target_project};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::network::subnet_pools::{self as pools, SubnetPool};
use crate::db::Tx;
use crate::error::{Error, Result};
use ipnet::IpNet;

pub(super) fn bad(msg: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid input for operation: {msg}"))
}

pub fn prefixes_of(p: &SubnetPool) -> Vec<IpNet> {
    serde_json::from_str::<Vec<String>>(&p.prefixes)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn prefixes_json(p: &[IpNet]) -> String {
    serde_json::to_string(&p.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

/// min ≤ default ≤ max, all within the address family.
fn check_lengths(p: &SubnetPool) -> Result<()> {
    let bits = if p.ip_version == 4 { 32 } else { 128 };
    if !(0..=bits).contains(&p.min_prefixlen) || !(0..=bits).contains(&p.max_prefixlen) {
        return Err(bad(format!("prefix lengths must be between 0 and {bits}.")));
    }
    if !(p.min_prefixlen <= p.default_prefixlen && p.default_prefixlen <= p.max_prefixlen) {
        return Err(Error::Typed {
            status: 400,
            kind: "IllegalSubnetPoolPrefixBounds",
            message: format!(
                "Illegal prefix bounds: min_prefixlen={}, default_prefixlen={}, max_prefixlen={}.",
                p.min_prefixlen, p.default_prefixlen, p.max_prefixlen
            ),
        });
    }
    Ok(())
}

impl App {
    pub async fn create_subnet_pool(&self, caller: &Caller, req: CreateSubnetPool) -> Result<SubnetPool> {
        let project_id = target_project(caller, req.project_id)?;
        if !may_write(caller, &project_id) {
            return Err(Error::forbidden());
        }
        let prefixes = req.prefixes;
        let ip_version = if prefixes[0].addr().is_ipv4() { 4 } else { 6 };
        let shared = req.shared.unwrap_or(false);
        let is_default = req.is_default.unwrap_or(false);
        if (shared || is_default) && !caller.is_admin() {
            return Err(Error::forbidden());
        }
        let min = req.min_prefixlen.unwrap_or(if ip_version == 4 { 8 } else { 64 });
        let max = req.max_prefixlen.unwrap_or(if ip_version == 4 { 32 } else { 128 });
        let now = crate::db::now();
        let pool = SubnetPool {
            id: uuid::Uuid::new_v4().to_string(),
            project_id,
            name: req.name.unwrap_or_default(),
            description: req.description.unwrap_or_default(),
            ip_version,
            prefixes: prefixes_json(&prefixes),
            default_prefixlen: req.default_prefixlen.unwrap_or(min),
            min_prefixlen: min,
            max_prefixlen: max,
            shared,
            is_default,
            default_quota: req.default_quota,
            created_at: now,
            updated_at: now,
            revision_number: 0,
        };
        check_lengths(&pool)?;
        let mut tx = self.begin().await?;
        self.check_network_quota(&mut tx, &pool.project_id, "subnetpool")
            .await?;
        pools::insert(&mut *tx, &pool).await.map_err(default_taken)?;
        tx.commit().await?;
        Ok(pool)
    }

    /// Visible to its project, to everyone when shared, and to admins.
    pub async fn get_subnet_pool(&self, caller: &Caller, id: &str) -> Result<SubnetPool> {
        match pools::get(&self.db, id).await? {
            Some(p) if visible(caller, &p) => Ok(p),
            _ => Err(not_found("subnetpool", id)),
        }
    }

    pub async fn list_subnet_pools(&self, caller: &Caller) -> Result<Vec<SubnetPool>> {
        Ok(pools::list(&self.db)
            .await?
            .into_iter()
            .filter(|p| visible(caller, p))
            .collect())
    }

    pub async fn update_subnet_pool(&self, caller: &Caller, id: &str, req: UpdateSubnetPool) -> Result<SubnetPool> {
        // Read and written in one transaction: a concurrent update is never overwritten with
        // the values this one read.
        let mut tx = self.begin().await?;
        let mut p = match pools::get(&mut *tx, id).await? {
            Some(p) if visible(caller, &p) => p,
            _ => return Err(not_found("subnetpool", id)),
        };
        if !may_write(caller, &p.project_id) {
            return Err(Error::forbidden());
        }
        if let Some(n) = req.name {
            p.name = n;
        }
        if let Some(d) = req.description {
            p.description = d;
        }
        if let Some(new) = req.prefixes {
            if new[0].addr().is_ipv4() != (p.ip_version == 4) {
                return Err(bad("prefixes must keep the pool's IP version."));
            }
            // A pool only grows: every old prefix must stay covered.
            if !prefixes_of(&p).iter().all(|old| new.iter().any(|n| n.contains(old))) {
                return Err(bad("existing prefixes must be a subset of the new prefixes."));
            }
            p.prefixes = prefixes_json(&new);
        }
        if let Some(v) = req.min_prefixlen {
            p.min_prefixlen = v;
        }
        if let Some(v) = req.max_prefixlen {
            p.max_prefixlen = v;
        }
        if let Some(v) = req.default_prefixlen {
            p.default_prefixlen = v;
        }
        if let Some(q) = req.default_quota {
            p.default_quota = q;
        }
        if let Some(d) = req.is_default {
            if d != p.is_default && !caller.is_admin() {
                return Err(Error::forbidden());
            }
            p.is_default = d;
        }
        check_lengths(&p)?;
        p.updated_at = crate::db::now();
        pools::update(&mut *tx, &p).await.map_err(default_taken)?;
        tx.commit().await?;
        self.get_subnet_pool(caller, id).await
    }

    pub async fn delete_subnet_pool(&self, caller: &Caller, id: &str) -> Result<()> {
        let p = self.get_subnet_pool(caller, id).await?;
        if !may_write(caller, &p.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        if !pools::allocated(&mut *tx, id).await?.is_empty() {
            return Err(Error::Typed {
                status: 409,
                kind: "SubnetPoolInUse",
                message: format!("Subnet pool {id} could not be deleted: it still has allocated subnets."),
            });
        }
        pools::delete(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pool a subnet request names (`subnetpool_id`, or the default one with
    /// `use_default_subnetpool`), if any.
    pub(super) async fn requested_pool(
        &self,
        caller: &Caller,
        subnetpool_id: Option<String>,
        use_default: bool,
        ip_version: Option<i64>,
    ) -> Result<Option<SubnetPool>> {
        match subnetpool_id {
            Some(id) => Ok(Some(self.get_subnet_pool(caller, &id).await?)),
            None if use_default => {
                let v = ip_version.unwrap_or(4);
                pools::default_for(&self.db, v)
                    .await?
                    .map(Some)
                    .ok_or_else(|| bad(format!("no default subnet pool for IPv{v}.")))
            }
            None => Ok(None),
        }
    }
}

/// Picks a subnet's CIDR from `pool` in the caller's transaction: the requested one if it fits
/// and is free, else the first free block of `prefixlen` (default: the pool's default).
pub(super) async fn allocate(
    tx: &mut Tx<'_>,
    pool: &SubnetPool,
    requested: Option<IpNet>,
    prefixlen: Option<i64>,
) -> Result<IpNet> {
    let taken: Vec<IpNet> = pools::allocated(&mut **tx, &pool.id)
        .await?
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let free = |c: &IpNet| {
        !taken
            .iter()
            .any(|t| t.contains(&c.network()) || c.contains(&t.network()))
    };
    let prefixes = prefixes_of(pool);
    let len = requested
        .map(|r| r.prefix_len() as i64)
        .or(prefixlen)
        .unwrap_or(pool.default_prefixlen);
    if !(pool.min_prefixlen..=pool.max_prefixlen).contains(&len) {
        return Err(bad(format!(
            "prefix length {len} is outside the pool's bounds {}..{}.",
            pool.min_prefixlen, pool.max_prefixlen
        )));
    }
    if let Some(r) = requested {
        if !prefixes.iter().any(|p| p.contains(&r)) {
            return Err(bad(format!(
                "{r} is not within the prefixes of subnet pool {}.",
                pool.id
            )));
        }
        if !free(&r) {
            return Err(bad(format!(
                "{r} overlaps with a subnet already allocated from subnet pool {}.",
                pool.id
            )));
        }
        return Ok(r);
    }
    for p in prefixes.iter().filter(|p| p.prefix_len() as i64 <= len) {
        if let Ok(mut blocks) = p.subnets(len as u8) {
            if let Some(b) = blocks.find(|b| free(b)) {
                return Ok(b);
            }
        }
    }
    Err(Error::Typed {
        status: 409,
        kind: "SubnetAllocationError",
        message: format!(
            "Failed to allocate subnet: insufficient prefix space in subnet pool {}.",
            pool.id
        ),
    })
}

fn default_taken(e: Error) -> Error {
    match e {
        Error::Conflict(_) => {
            Error::bad_request("Invalid input for operation: a default subnet pool already exists for this IP version.")
        }
        other => other,
    }
}

/// A pool is seen by its project and, when shared, by everyone.
fn visible(caller: &Caller, p: &SubnetPool) -> bool {
    p.shared || in_project(caller, &p.project_id)
}

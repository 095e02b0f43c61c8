//! Network quota update (`PUT /v2.0/quotas/{project}`).

use super::FromBody;
use crate::app::json_input::{self as input, Body};
use crate::app::network::quotas::RESOURCES;
use crate::error::{Error, Result};

/// New limits (-1: unlimited) for some of the network resources.
#[derive(Debug, Clone, Default)]
pub struct UpdateNetworkQuota {
    /// quota-check-limit: refuse a limit below what the project already uses.
    pub check_limit: bool,
    /// (resource, limit), each resource one of `RESOURCES`.
    pub limits: Vec<(&'static str, i64)>,
}

impl FromBody for UpdateNetworkQuota {
    fn from_body(mut body: Body) -> Result<Self> {
        let check_limit = input::opt_bool(&mut body, "check_limit")?.unwrap_or(false);
        let mut limits = vec![];
        for (k, v) in body {
            let Some(resource) = RESOURCES.iter().find(|r| **r == k) else {
                return Err(Error::bad_request(format!("Unrecognized attribute(s) '{k}'")));
            };
            let limit = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|l| *l >= -1)
                .ok_or_else(|| {
                    Error::bad_request(format!("Invalid input for {k}. Reason: '{v}' is not a valid integer."))
                })?;
            limits.push((*resource, limit));
        }
        Ok(UpdateNetworkQuota { check_limit, limits })
    }
}

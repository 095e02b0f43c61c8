//! Listing servers with Nova's filters: `name`, `ip`, `ip6` are regular expressions searched
//! anywhere in the value (as Nova's database filter does), `status`, `flavor`, `image` are
//! exact, `changes-since` an ISO 8601 time, and `limit`/`marker` page the result.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::server_pages::{self, PageQuery};
use crate::db::compute::servers::{Server, TagFilter};
use crate::db::network;
use crate::error::{Error, Result};
use regex_automata::meta::Regex;
use std::collections::HashMap;

/// The API statuses a `status` filter may name (unknown ones are a 400 from 2.38 on).
pub const STATUSES: &[&str] = &[
    "ACTIVE",
    "BUILD",
    "DELETED",
    "ERROR",
    "HARD_REBOOT",
    "MIGRATING",
    "PASSWORD",
    "PAUSED",
    "REBOOT",
    "REBUILD",
    "RESCUE",
    "RESIZE",
    "REVERT_RESIZE",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SHUTOFF",
    "SOFT_DELETED",
    "SUSPENDED",
    "UNKNOWN",
    "VERIFY_RESIZE",
];

/// What a listing asks for; the HTTP layer fills it from the query string.
#[derive(Default)]
pub struct ServerFilter {
    pub all_projects: bool,
    pub name: Option<String>,
    /// Wanted API statuses (upper case); `Some(empty)` matches nothing.
    pub status: Option<Vec<String>>,
    pub flavor: Option<String>,
    pub image: Option<String>,
    pub ip: Option<String>,
    pub ip6: Option<String>,
    pub changes_since: Option<i64>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
    /// Admin-only filters (ignored for others, as Nova does).
    pub project_id: Option<String>,
    pub host: Option<String>,
    /// `tags`, `tags-any`, `not-tags`, `not-tags-any` (2.26).
    pub tags: TagFilter,
    /// `reservation_id`: the servers one create request made.
    pub reservation_id: Option<String>,
}

fn regex(field: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|_| Error::bad_request(format!("Invalid regular expression for {field}: {pattern}")))
}

/// Parses `changes-since`/`changes-before`: ISO 8601 with a time zone or naive UTC.
pub fn parse_time(field: &str, v: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.timestamp());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, f) {
            return Ok(t.and_utc().timestamp());
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(v, f) {
            return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp());
        }
    }
    Err(Error::bad_request(format!(
        "Invalid input for query parameters {field}. Value: {v}. '{v}' is not a 'date-time'"
    )))
}

/// Nova's `max_limit`: a page holds at most this many servers, with a `next` link when
/// more follow (also without a `limit`).
pub const MAX_LIMIT: usize = 1000;

/// Servers read per query while filters SQL cannot answer (regular expressions, API
/// statuses) drop some: enough that a selective filter needs few round trips.
const SCAN_CHUNK: usize = 500;

impl App {
    /// The servers `caller` may see that match `f`, newest first, one page of them; the
    /// bool says whether more follow (for the `next` link). SQL reads the page from an
    /// index, after the marker; the filters it cannot answer are applied to as many
    /// chunks as it takes to fill the page.
    pub async fn list_servers_filtered(&self, caller: &Caller, f: &ServerFilter) -> Result<(Vec<Server>, bool)> {
        if f.all_projects && !caller.may("compute:servers:list:all_projects") {
            return Err(Error::forbidden());
        }
        let admin = caller.is_admin();
        // Admins' `project_id` narrows an all-projects listing; on their own project's
        // listing it matches that project or nothing.
        let project = match (f.all_projects, caller.project_id()) {
            (true, _) => f.project_id.clone().filter(|_| admin),
            (false, Some(own)) => match &f.project_id {
                Some(p) if admin && p != own => return Ok((vec![], false)),
                _ => Some(own.to_string()),
            },
            (false, None) => return Ok((vec![], false)),
        };
        let host_ids = match (&f.host, admin) {
            // Users name hosts by their host name (as servers show them); ids work too.
            (Some(h), true) => Some(
                crate::db::compute::hosts::list(&self.db)
                    .await?
                    .into_iter()
                    .filter(|x| &x.hostname == h || &x.id == h)
                    .map(|x| x.id)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let mut after = match &f.marker {
            Some(m) => match crate::db::compute::servers::get(&self.db, m).await? {
                Some(s) if project.as_deref().is_none_or(|p| p == s.project_id.as_str()) => {
                    Some((s.created_at, s.id.to_string()))
                }
                _ => return Err(Error::bad_request(format!("marker [{m}] not found"))),
            },
            None => None,
        };
        let name = f.name.as_deref().map(|n| regex("name", n)).transpose()?;
        let ip = f.ip.as_deref().map(|p| regex("ip", p)).transpose()?;
        let ip6 = f.ip6.as_deref().map(|p| regex("ip6", p)).transpose()?;
        let in_memory = name.is_some() || f.status.is_some() || ip.is_some() || ip6.is_some();
        let want = f.limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
        let image = f.image.as_deref().map(|im| im.rsplit('/').next().unwrap_or_default());
        let chunk = if in_memory { SCAN_CHUNK.max(want + 1) } else { want + 1 };
        let mut out: Vec<Server> = vec![];
        loop {
            let q = PageQuery {
                project_id: project.as_deref(),
                host_ids: host_ids.as_deref(),
                flavor_id: f.flavor.as_deref(),
                image_id: image,
                changes_since: f.changes_since,
                reservation_id: f.reservation_id.as_deref(),
                tags: Some(&f.tags),
                after: after.as_ref().map(|(t, id)| (*t, id.as_str())),
                limit: chunk as i64,
            };
            let rows = server_pages::page(&self.db, &q).await?;
            let full = rows.len() == chunk;
            after = rows.last().map(|s| (s.created_at, s.id.to_string()));
            let addresses = match (&ip, &ip6) {
                (None, None) => Default::default(),
                _ => self.addresses_of(&rows).await?,
            };
            out.extend(rows.into_iter().filter(|s| {
                name.as_ref().is_none_or(|re| re.is_match(&s.name))
                    && f.status.as_ref().is_none_or(|st| {
                        let api = super::status::api_status(s);
                        st.iter().any(|w| w == api.as_str())
                    })
                    && [(&ip, false), (&ip6, true)].iter().all(|(re, v6)| {
                        re.as_ref().is_none_or(|re| {
                            addresses
                                .get(s.id.as_str())
                                .into_iter()
                                .flatten()
                                .any(|a| a.contains(':') == *v6 && re.is_match(a))
                        })
                    })
            }));
            if out.len() > want || !full {
                break;
            }
        }
        let more = out.len() > want;
        out.truncate(want);
        Ok((out, more))
    }

    /// The fixed IPs of `servers`' ports, by server id.
    async fn addresses_of(&self, servers: &[Server]) -> Result<HashMap<String, Vec<String>>> {
        let ports = self.ports_of_servers(servers).await?;
        let device: HashMap<String, String> = ports.iter().map(|p| (p.id.to_string(), p.device_id.clone())).collect();
        let port_ids: Vec<String> = device.keys().cloned().collect();
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for a in network::fixed_ips_of_ports(&self.db, &port_ids).await? {
            if let Some(d) = device.get(&a.port_id) {
                out.entry(d.clone()).or_default().push(a.ip_address);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn changes_since_formats() {
        assert_eq!(parse_time("t", "2051-01-01T12:34:00Z").unwrap(), 2556189240);
        assert_eq!(parse_time("t", "2051-01-01T12:34:00").unwrap(), 2556189240);
        assert_eq!(parse_time("t", "2011/01/01").unwrap_err().status(), 400);
    }
}

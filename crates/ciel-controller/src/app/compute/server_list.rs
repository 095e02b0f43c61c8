//! Listing servers with Nova's filters: `name`, `ip`, `ip6` are regular expressions searched
//! anywhere in the value (as Nova's database filter does), `status`, `flavor`, `image` are
//! exact, `changes-since` an ISO 8601 time, and `limit`/`marker` page the result.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::servers::{Server, TagFilter};
use crate::error::{Error, Result};
use regex_automata::meta::Regex;

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

impl App {
    /// The servers `caller` may see that match `f`, newest first, one page of them; the
    /// bool says whether more follow (for the `next` link).
    pub async fn list_servers_filtered(&self, caller: &Caller, f: &ServerFilter) -> Result<(Vec<Server>, bool)> {
        if f.all_projects && !caller.may("compute:servers:list:all_projects") {
            return Err(Error::forbidden());
        }
        let mut list = self
            .list_servers_tagged(caller, f.all_projects, &f.tags, f.reservation_id.as_deref())
            .await?;
        if let Some(n) = &f.name {
            let re = regex("name", n)?;
            list.retain(|s| re.is_match(&s.name));
        }
        if let Some(st) = &f.status {
            list.retain(|s| st.iter().any(|w| w == super::status::api_status(s).as_str()));
        }
        if caller.is_admin() {
            if let Some(p) = &f.project_id {
                list.retain(|s| &s.project_id == p);
            }
            if let Some(h) = &f.host {
                // Users name hosts by their host name (as servers show them); ids work too.
                let ids: Vec<String> = crate::db::compute::hosts::list(&self.db)
                    .await?
                    .into_iter()
                    .filter(|x| &x.hostname == h || &x.id == h)
                    .map(|x| x.id)
                    .collect();
                list.retain(|s| s.host_id.as_ref().is_some_and(|x| ids.iter().any(|i| i == x)));
            }
        }
        if let Some(fl) = &f.flavor {
            list.retain(|s| &s.flavor_id == fl);
        }
        if let Some(im) = &f.image {
            let im = im.rsplit('/').next().unwrap_or_default();
            list.retain(|s| s.image_id == im);
        }
        if let Some(t) = f.changes_since {
            list.retain(|s| s.updated_at >= t);
        }
        for (pattern, v6) in [(&f.ip, false), (&f.ip6, true)] {
            let Some(p) = pattern else { continue };
            let re = regex(if v6 { "ip6" } else { "ip" }, p)?;
            let ports = self.list_ports(caller).await?;
            list.retain(|s| {
                ports.iter().filter(|p| p.port.device_id == s.id).any(|p| {
                    p.fixed_ips
                        .iter()
                        .any(|ip| ip.ip_address.contains(':') == v6 && re.is_match(&ip.ip_address))
                })
            });
        }
        if let Some(m) = &f.marker {
            let pos = list
                .iter()
                .position(|s| &s.id == m)
                .ok_or_else(|| Error::bad_request(format!("marker [{m}] not found")))?;
            list.drain(..=pos);
        }
        let mut more = false;
        if let Some(l) = f.limit {
            more = list.len() > l;
            list.truncate(l);
        }
        Ok((list, more))
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

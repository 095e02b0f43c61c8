//! `os-simple-tenant-usage`: what projects' servers used over a period, in hours. Ciel deletes
//! servers outright, so only the servers that still exist are counted.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::servers::{self as db, Server};
use crate::error::{Error, Result};

pub struct ServerUsage {
    pub server: Server,
    pub hours: f64,
}

pub struct ProjectUsage {
    pub project_id: String,
    pub servers: Vec<ServerUsage>,
}

impl ProjectUsage {
    pub fn total(&self, per_hour: impl Fn(&Server) -> i64) -> f64 {
        self.servers.iter().map(|u| u.hours * per_hour(&u.server) as f64).sum()
    }
}

impl App {
    /// Usage between `start` and `end` (Unix seconds) of one project (its members or admins)
    /// or, with None, of every project (admins).
    pub async fn tenant_usage(
        &self,
        caller: &Caller,
        project_id: Option<&str>,
        start: i64,
        end: i64,
    ) -> Result<Vec<ProjectUsage>> {
        match project_id {
            None => caller.require_admin()?,
            Some(p) if !caller.is_admin() && caller.project_id() != Some(p) => return Err(Error::forbidden()),
            Some(_) => {}
        }
        if end < start {
            return Err(Error::bad_request(
                "Invalid start time. The start time cannot occur after the end time.",
            ));
        }
        let now = crate::db::now();
        let mut out: Vec<ProjectUsage> = vec![];
        for s in db::list(&self.db).await? {
            if project_id.is_some_and(|p| p != s.project_id) {
                continue;
            }
            let (from, to) = (s.created_at.max(start), now.min(end));
            if to <= from {
                continue;
            }
            let hours = (to - from) as f64 / 3600.0;
            let usage = ServerUsage { server: s, hours };
            match out.iter_mut().find(|p| p.project_id == usage.server.project_id) {
                Some(p) => p.servers.push(usage),
                None => out.push(ProjectUsage {
                    project_id: usage.server.project_id.to_string(),
                    servers: vec![usage],
                }),
            }
        }
        if let (Some(p), true) = (project_id, out.is_empty()) {
            out.push(ProjectUsage {
                project_id: p.to_string(),
                servers: vec![],
            });
        }
        Ok(out)
    }
}

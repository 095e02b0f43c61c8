//! `os-simple-tenant-usage`: what projects' servers used over a period, in hours, from the
//! metering runs (`app::metering`): deleted servers count for the time they existed, and a
//! resized one at each flavor for the time it had it.

use crate::app::identity::caller::Caller;
use crate::app::metering::hours_within;
use crate::app::App;
use crate::error::{Error, Result};

/// One server's usage over the period.
#[derive(Debug, Clone, Default)]
pub struct ServerUsage {
    pub id: String,
    pub name: String,
    pub project_id: String,
    /// The flavor (and sizes) it has, or had last.
    pub flavor: String,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub local_gb: i64,
    pub hours: f64,
    pub vcpu_hours: f64,
    pub memory_mb_hours: f64,
    pub local_gb_hours: f64,
    pub started_at: i64,
    /// When it was deleted; None while it exists.
    pub ended_at: Option<i64>,
    /// Nova's vm_state in lower case; `terminated` once deleted.
    pub state: String,
}

pub struct ProjectUsage {
    pub project_id: String,
    pub servers: Vec<ServerUsage>,
}

impl ProjectUsage {
    pub fn total_hours(&self) -> f64 {
        self.servers.iter().map(|s| s.hours).sum()
    }
    pub fn total_vcpus_usage(&self) -> f64 {
        self.servers.iter().map(|s| s.vcpu_hours).sum()
    }
    pub fn total_memory_mb_usage(&self) -> f64 {
        self.servers.iter().map(|s| s.memory_mb_hours).sum()
    }
    pub fn total_local_gb_usage(&self) -> f64 {
        self.servers.iter().map(|s| s.local_gb_hours).sum()
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
        let mut runs = self.runs_between(project_id, start, end).await?;
        runs.retain(|r| r.shape.kind == "server");
        runs.sort_by(|a, b| {
            (&a.shape.project_id, &a.shape.resource_id, a.started_at).cmp(&(
                &b.shape.project_id,
                &b.shape.resource_id,
                b.started_at,
            ))
        });
        let mut out: Vec<ProjectUsage> = vec![];
        for r in &runs {
            let h = hours_within(r, start, end, now);
            let s = &r.shape;
            if out.last().is_none_or(|p| p.project_id != s.project_id) {
                out.push(ProjectUsage {
                    project_id: s.project_id.clone(),
                    servers: vec![],
                });
            }
            let project = out.last_mut().expect("pushed above");
            if project.servers.last().is_none_or(|u| u.id != s.resource_id) {
                project.servers.push(ServerUsage {
                    id: s.resource_id.clone(),
                    project_id: s.project_id.clone(),
                    started_at: r.started_at,
                    ..Default::default()
                });
            }
            let u = project.servers.last_mut().expect("pushed above");
            // Runs come oldest first: the last one gives the current shape and end.
            u.name = s.name.clone();
            u.flavor = s.flavor.clone();
            (u.vcpus, u.memory_mb, u.local_gb) = (s.vcpus, s.memory_mb, s.disk_gb);
            u.ended_at = r.ended_at;
            u.hours += h;
            u.vcpu_hours += h * s.vcpus as f64;
            u.memory_mb_hours += h * s.memory_mb as f64;
            u.local_gb_hours += h * s.disk_gb as f64;
        }
        let ids: Vec<String> = out
            .iter()
            .flat_map(|p| p.servers.iter().map(|u| u.id.clone()))
            .collect();
        let live: std::collections::HashMap<String, String> = crate::db::compute::servers::get_many(&self.db, &ids)
            .await?
            .into_iter()
            .map(|s| (s.id.to_string(), super::status::api_status(&s).as_str().to_lowercase()))
            .collect();
        for u in out.iter_mut().flat_map(|p| p.servers.iter_mut()) {
            u.state = match live.get(&u.id) {
                Some(state) if u.ended_at.is_none() => state.clone(),
                _ => "terminated".into(),
            };
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

//! Metering: every `[usage] interval` seconds each controller samples what exists (servers,
//! volumes, floating IPs, load balancers) and keeps it as runs of one shape
//! (`db::usage`): an unchanged resource costs no write, a new one or a new shape (resize,
//! extend) opens a run, a vanished one closes its run half way between the sample that last
//! saw it and the one that missed it. Usage over a period (Nova's `os-simple-tenant-usage`,
//! `ciel usage`) is the overlap of the runs with it, in hours.
//!
//! Several controllers sample alike; the latest sample's time is shared, so a controller
//! skips a sample another took within half an interval, and opening a run is guarded
//! against a concurrent one.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::usage::{self as db, Run, Shape};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// What one sample changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sampled {
    pub opened: usize,
    pub closed: usize,
    /// Another controller sampled moments ago: nothing done.
    pub skipped: bool,
}

/// One project's usage over a period.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ProjectUsage {
    pub project_id: String,
    pub server_hours: f64,
    pub vcpu_hours: f64,
    pub ram_gib_hours: f64,
    pub disk_gib_hours: f64,
    pub volume_gib_hours: f64,
    pub floating_ip_hours: f64,
    pub load_balancer_hours: f64,
}

/// Hours of `run` inside `[start, end)`, an open run lasting until `now`.
pub fn hours_within(run: &Run, start: i64, end: i64, now: i64) -> f64 {
    let to = run.ended_at.unwrap_or(now).min(end);
    let from = run.started_at.max(start);
    (to - from).max(0) as f64 / 3600.0
}

impl App {
    fn usage_interval(&self) -> i64 {
        self.cfg.usage.interval.max(1) as i64
    }

    /// Takes one sample now.
    pub async fn sample_usage(&self) -> Result<Sampled> {
        let now = crate::db::now();
        let interval = self.usage_interval();
        // Read the picture without the writer's turn: the writes below are guarded.
        let mut read = crate::db::begin_read(&self.db).await?;
        let last = db::sampled_at(&mut *read).await?;
        if last.is_some_and(|l| now - l < interval / 2) {
            return Ok(Sampled {
                skipped: true,
                ..Default::default()
            });
        }
        let current = db::current(&mut *read).await?;
        let open = db::open_runs(&mut *read).await?;
        drop(read);
        let plan = plan_sample(&current, &open, last, now);
        let mut tx = self.begin().await?;
        // Another controller's sample since ours looked: its picture is as good; ours would
        // undo part of it.
        if db::sampled_at(&mut *tx).await? != last {
            return Ok(Sampled {
                skipped: true,
                ..Default::default()
            });
        }
        for (kind, id, at) in &plan.close {
            db::close(&mut *tx, kind, id, *at).await?;
        }
        for (shape, at) in &plan.open {
            db::open(&mut *tx, shape, *at).await?;
        }
        db::set_sampled_at(&mut *tx, now).await?;
        db::purge(&mut *tx, now - self.cfg.usage.retention_days as i64 * 86400).await?;
        self.thin_samples(&mut tx, now).await?;
        tx.commit().await?;
        Ok(Sampled {
            opened: plan.open.len(),
            closed: plan.close.len(),
            skipped: false,
        })
    }

    /// Samples every `[usage] interval` until the process ends.
    pub async fn keep_metering(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(self.usage_interval() as u64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.sample_usage().await {
                Ok(s) if s.opened + s.closed > 0 => {
                    tracing::debug!(opened = s.opened, closed = s.closed, "usage sampled")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sampling usage failed"),
            }
        }
    }

    /// Each project's usage (all projects for admins; a member's own otherwise) between
    /// `start` and `end` (Unix seconds).
    pub async fn usage_report(
        &self,
        caller: &Caller,
        project: Option<&str>,
        start: i64,
        end: i64,
    ) -> Result<Vec<ProjectUsage>> {
        let project = match project {
            None if caller.is_admin() => None,
            None => Some(caller.project_id().ok_or_else(Error::forbidden)?),
            Some(p) if caller.is_admin() || caller.project_id() == Some(p) => Some(p),
            Some(_) => return Err(Error::forbidden()),
        };
        if end < start {
            return Err(Error::bad_request("The start of the period must not be after its end."));
        }
        let runs = self.runs_between(project, start, end).await?;
        let now = crate::db::now();
        let mut out: BTreeMap<String, ProjectUsage> = BTreeMap::new();
        for r in &runs {
            let h = hours_within(r, start, end, now);
            let u = out.entry(r.shape.project_id.clone()).or_insert_with(|| ProjectUsage {
                project_id: r.shape.project_id.clone(),
                ..Default::default()
            });
            let s = &r.shape;
            match s.kind.as_str() {
                "server" => {
                    u.server_hours += h;
                    u.vcpu_hours += h * s.vcpus as f64;
                    u.ram_gib_hours += h * s.memory_mb as f64 / 1024.0;
                    u.disk_gib_hours += h * s.disk_gb as f64;
                }
                "volume" => u.volume_gib_hours += h * s.disk_gb as f64,
                "floating_ip" => u.floating_ip_hours += h,
                "load_balancer" => u.load_balancer_hours += h,
                _ => {}
            }
        }
        Ok(out.into_values().collect())
    }
}

impl App {
    /// The runs overlapping `[start, end)`, with the resources made since the latest sample
    /// as runs from their creation (the next sample records them).
    pub(crate) async fn runs_between(&self, project: Option<&str>, start: i64, end: i64) -> Result<Vec<Run>> {
        let mut read = crate::db::begin_read(&self.db).await?;
        let mut runs = db::runs_between(&mut *read, project, start, end).await?;
        let since = db::sampled_at(&mut *read).await?.unwrap_or(i64::MIN);
        let known: std::collections::HashSet<(String, String)> = runs
            .iter()
            .map(|r| (r.shape.kind.clone(), r.shape.resource_id.clone()))
            .collect();
        for (shape, created) in db::created_since(&mut *read, since).await? {
            if project.is_some_and(|p| p != shape.project_id)
                || created >= end
                || known.contains(&(shape.kind.clone(), shape.resource_id.clone()))
            {
                continue;
            }
            runs.push(Run {
                shape,
                started_at: created,
                ended_at: None,
            });
        }
        Ok(runs)
    }
}

/// The writes of one sample.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// (kind, resource, when) runs to end.
    pub close: Vec<(String, String, i64)>,
    /// Runs to start, and when.
    pub open: Vec<(Shape, i64)>,
}

/// What a sample at `now` writes, given what exists (`current`, with creation times), the
/// runs going (`open`) and the previous sample's time. A new resource's run starts at its
/// creation (however old: the retention drops ended runs only); a changed one's now; a
/// vanished one's run ends half way since the previous sample.
pub fn plan_sample(current: &[(Shape, i64)], open: &[Run], last: Option<i64>, now: i64) -> Plan {
    let going: HashMap<(&str, &str), &Run> = open
        .iter()
        .map(|r| ((r.shape.kind.as_str(), r.shape.resource_id.as_str()), r))
        .collect();
    let mut plan = Plan::default();
    for (shape, created) in current {
        match going.get(&(shape.kind.as_str(), shape.resource_id.as_str())) {
            Some(run) if run.shape.bills_as(shape) => {}
            Some(_) => {
                plan.close.push((shape.kind.clone(), shape.resource_id.clone(), now));
                plan.open.push((shape.clone(), now));
            }
            None => plan.open.push((shape.clone(), (*created).min(now))),
        }
    }
    let exists: std::collections::HashSet<(&str, &str)> = current
        .iter()
        .map(|(s, _)| (s.kind.as_str(), s.resource_id.as_str()))
        .collect();
    for r in open {
        if !exists.contains(&(r.shape.kind.as_str(), r.shape.resource_id.as_str())) {
            let seen = last.unwrap_or(now).max(r.started_at);
            plan.close.push((
                r.shape.kind.clone(),
                r.shape.resource_id.clone(),
                seen + (now - seen) / 2,
            ));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(id: &str, vcpus: i64) -> Shape {
        Shape {
            kind: "server".into(),
            resource_id: id.into(),
            project_id: "p".into(),
            name: id.into(),
            flavor: "f".into(),
            vcpus,
            memory_mb: 512,
            disk_gb: 1,
        }
    }

    fn run(shape: Shape, started_at: i64) -> Run {
        Run {
            shape,
            started_at,
            ended_at: None,
        }
    }

    #[test]
    fn a_sample_writes_only_changes() {
        let current = vec![
            (server("same", 1), 100),
            (server("resized", 4), 100),
            (server("new", 1), 950),
        ];
        let open = vec![
            run(server("same", 1), 100),
            run(server("resized", 2), 100),
            run(server("gone", 1), 100),
        ];
        let plan = plan_sample(&current, &open, Some(940), 1000);
        assert_eq!(
            plan.close,
            vec![
                ("server".into(), "resized".into(), 1000),
                // Last seen at 940, missed at 1000: gone at 970, give or take 30 s.
                ("server".into(), "gone".into(), 970),
            ]
        );
        assert_eq!(plan.open, vec![(server("resized", 4), 1000), (server("new", 1), 950)]);
        // A resource older than the retention still starts at its creation.
        let plan = plan_sample(&[(server("old", 1), 5)], &[], None, 1000);
        assert_eq!(plan.open, vec![(server("old", 1), 5)]);
    }

    #[test]
    fn hours_are_the_overlap_with_the_period() {
        let mut r = run(server("s", 2), 3600);
        r.ended_at = Some(3 * 3600);
        assert_eq!(hours_within(&r, 0, 10 * 3600, 0), 2.0);
        assert_eq!(hours_within(&r, 2 * 3600, 10 * 3600, 0), 1.0);
        assert_eq!(hours_within(&r, 4 * 3600, 10 * 3600, 0), 0.0);
        r.ended_at = None;
        assert_eq!(hours_within(&r, 0, 10 * 3600, 2 * 3600), 1.0);
    }
}

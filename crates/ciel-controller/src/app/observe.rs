//! What `/metrics` and `/readyz` report: the event metrics (`crate::metrics`) and the
//! figures read from the database at scrape time (resources by state, hosts, generations,
//! quota use, the pool). Every controller reads the same database, so each reports the
//! whole cloud; dashboards take the max across controllers.

use crate::app::App;
use crate::db::quota_overrides::{self, Service};
use crate::db::{self, Pool};
use crate::error::Result;
use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};
use std::collections::{BTreeMap, HashMap};

/// Why a controller is not ready, if it is not.
pub struct Readiness {
    pub database: bool,
    pub shutting_down: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database && !self.shutting_down
    }
}

fn gauge_vec(name: &str, help: &str, labels: &[&str], r: &Registry) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

impl App {
    /// Whether this controller can serve: its database answers and it is not stopping.
    pub async fn readiness(&self) -> Readiness {
        Readiness {
            database: self.database_reachable().await,
            shutting_down: self.shutting_down.load(std::sync::atomic::Ordering::Acquire),
        }
    }

    /// The whole `/metrics` text.
    pub async fn metrics_text(&self) -> Result<String> {
        let scraped = Registry::new();
        self.scrape_resources(&scraped).await?;
        self.scrape_hosts(&scraped).await?;
        self.scrape_quotas(&scraped).await?;
        self.scrape_pool(&scraped).await?;
        let mut families = crate::metrics::registry().gather();
        families.extend(scraped.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(crate::metrics::render(&families))
    }

    async fn scrape_resources(&self, r: &Registry) -> Result<()> {
        let g = gauge_vec(
            "ciel_resources",
            "Resources of the cloud by type and state (OpenStack status).",
            &["type", "state"],
            r,
        );
        for (kind, state, n) in db::observe::resources_by_state(&self.db).await? {
            g.with_label_values(&[&kind, &state]).set(n);
        }
        Ok(())
    }

    async fn scrape_hosts(&self, r: &Registry) -> Result<()> {
        let up = gauge_vec(
            "ciel_host_up",
            "1 while the host reports in time and is not forced down, else 0.",
            &["host"],
            r,
        );
        let age = gauge_vec(
            "ciel_host_last_report_age_seconds",
            "Seconds since the host's last report.",
            &["host"],
            r,
        );
        let desired = gauge_vec(
            "ciel_host_desired_generation",
            "Generation of the host's desired state.",
            &["host"],
            r,
        );
        let applied = gauge_vec(
            "ciel_host_applied_generation",
            "Generation of the desired state the host last reported applied.",
            &["host"],
            r,
        );
        let now = db::now();
        let down_after = self.cfg.scheduler.host_down_after;
        for h in db::compute::hosts::list(&self.db).await? {
            let name = [h.hostname.as_str()];
            up.with_label_values(&name).set(h.is_up(now, down_after) as i64);
            age.with_label_values(&name).set((now - h.last_seen).max(0));
            desired.with_label_values(&name).set(h.generation);
            applied.with_label_values(&name).set(h.applied_generation);
        }
        let alive = IntGauge::new(
            "ciel_controllers_alive",
            "Controllers sharing the database that recorded themselves alive lately (10 s).",
        )
        .expect("valid metric");
        alive.set(db::observe::controllers_alive(&self.db, now - crate::app::cluster::DEAD_AFTER_SECS).await?);
        r.register(Box::new(alive)).expect("registered once");
        Ok(())
    }

    async fn scrape_quotas(&self, r: &Registry) -> Result<()> {
        let used = gauge_vec(
            "ciel_quota_used",
            "What a project uses of a quota resource.",
            &["project", "resource"],
            r,
        );
        let limit = gauge_vec(
            "ciel_quota_limit",
            "A project's limit of a quota resource (-1: unlimited).",
            &["project", "resource"],
            r,
        );
        let usage = db::observe::quota_usage(&self.db).await?;
        let mut tx = db::begin_read(&self.db).await?;
        let mut defaults: BTreeMap<String, i64> = crate::app::compute::quotas::class_defaults(&mut tx).await?;
        defaults.extend(crate::app::volume::volumes::class_defaults(&mut tx).await?);
        for r in crate::app::network::quotas::RESOURCES {
            defaults.insert(r.to_string(), crate::app::network::quotas::default_limit(r));
        }
        let mut overrides: HashMap<(String, String), i64> = HashMap::new();
        for s in [Service::Compute, Service::Volume, Service::Network] {
            for (p, res, l) in quota_overrides::all(&mut *tx, s).await? {
                overrides.insert((p, res), l);
            }
        }
        drop(tx);
        for (project, resource, n) in usage {
            if n == 0 {
                continue;
            }
            let l = overrides
                .get(&(project.clone(), resource.clone()))
                .or_else(|| defaults.get(&resource))
                .copied()
                .unwrap_or(-1);
            used.with_label_values(&[&project, &resource]).set(n);
            limit.with_label_values(&[&project, &resource]).set(l);
        }
        Ok(())
    }

    async fn scrape_pool(&self, r: &Registry) -> Result<()> {
        let g = gauge_vec(
            "ciel_db_pool_connections",
            "Connections of this controller's database pool, idle or in use.",
            &["engine", "state"],
            r,
        );
        let (engine, size, idle) = match &self.db {
            Pool::Sqlite(p) => ("sqlite", p.pool.size(), p.pool.num_idle()),
            Pool::Postgres(p) => ("postgres", p.size(), p.num_idle()),
        };
        g.with_label_values(&[engine, "idle"]).set(idle as i64);
        g.with_label_values(&[engine, "in_use"]).set(size as i64 - idle as i64);
        Ok(())
    }
}

/// The cloud at a glance (`ciel status`).
#[derive(Debug, serde::Serialize)]
pub struct CloudStatus {
    pub controllers: Vec<ControllerStatus>,
    pub hosts: Vec<HostStatus>,
    pub resources: Vec<ResourceCount>,
    pub recent_errors: Vec<RecentError>,
}

#[derive(Debug, serde::Serialize)]
pub struct ControllerStatus {
    pub id: String,
    pub hostname: String,
    pub alive: bool,
    pub last_seen_seconds_ago: i64,
    /// The controller answering this request.
    pub this: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct HostStatus {
    pub hostname: String,
    pub up: bool,
    pub enabled: bool,
    pub forced_down: bool,
    pub last_report_seconds_ago: i64,
    pub desired_generation: i64,
    pub applied_generation: i64,
}

#[derive(Debug, serde::Serialize)]
pub struct ResourceCount {
    #[serde(rename = "type")]
    pub kind: String,
    pub state: String,
    pub count: i64,
}

#[derive(Debug, serde::Serialize)]
pub struct RecentError {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub project_id: String,
    pub message: String,
    pub at: i64,
}

impl App {
    /// Controllers, hosts, resources and the latest errors (admins).
    pub async fn cloud_status(&self, caller: &crate::app::identity::caller::Caller) -> Result<CloudStatus> {
        caller.require_admin()?;
        let now = db::now();
        let down_after = self.cfg.scheduler.host_down_after;
        let controllers = db::observe::controllers(&self.db)
            .await?
            .into_iter()
            .map(|(id, hostname, _, seen)| ControllerStatus {
                this: id == self.controller_id,
                alive: now - seen <= crate::app::cluster::DEAD_AFTER_SECS,
                last_seen_seconds_ago: (now - seen).max(0),
                id,
                hostname,
            })
            .collect();
        let hosts = db::compute::hosts::list(&self.db)
            .await?
            .into_iter()
            .map(|h| HostStatus {
                up: h.is_up(now, down_after),
                enabled: h.enabled,
                forced_down: h.forced_down,
                last_report_seconds_ago: (now - h.last_seen).max(0),
                desired_generation: h.generation,
                applied_generation: h.applied_generation,
                hostname: h.hostname,
            })
            .collect();
        let resources = db::observe::resources_by_state(&self.db)
            .await?
            .into_iter()
            .filter(|r| r.2 > 0)
            .map(|(kind, state, count)| ResourceCount { kind, state, count })
            .collect();
        let recent_errors = db::observe::recent_errors(&self.db, 10)
            .await?
            .into_iter()
            .map(|(kind, id, project_id, message, at)| RecentError {
                kind,
                id,
                project_id,
                message,
                at,
            })
            .collect();
        Ok(CloudStatus {
            controllers,
            hosts,
            resources,
            recent_errors,
        })
    }
}

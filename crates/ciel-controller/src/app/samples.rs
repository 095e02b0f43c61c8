//! The graphs' data: each host's agent sends what it measured of itself and its servers every
//! metering interval ([`App::record_samples`]); the dashboard reads rates over the last hour,
//! day or week ([`App::server_graph`], [`App::host_graph`]). Rows are cumulative counters, so
//! a rate comes from two rows and a lost or thinned row only widens a step.

use super::App;
use crate::app::identity::caller::Caller;
use crate::db::compute::hosts::Host;
use crate::db::samples::{self as db, HostRow, ServerRow};
use crate::error::{Error, Result};
use ciel_proto::{SamplesAck, SamplesReport};
use serde::Serialize;

/// The most servers one report may carry (a host runs far fewer).
const MAX_SERVERS: usize = 10_000;

/// Rows older than this are thinned to one per [`THIN_STEP`].
pub const FULL_DETAIL_SECS: i64 = 86_400;
pub const THIN_STEP: i64 = 600;

/// The span a graph covers.
pub fn period_secs(period: &str) -> Result<i64> {
    match period {
        "hour" => Ok(3_600),
        "day" => Ok(86_400),
        "week" => Ok(7 * 86_400),
        _ => Err(Error::bad_request("period must be hour, day or week")),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerPoint {
    pub at: i64,
    /// Of the server's vCPUs.
    pub cpu_percent: f64,
    pub memory_rss_bytes: i64,
    pub disk_read_bytes_per_sec: f64,
    pub disk_write_bytes_per_sec: f64,
    pub network_rx_bytes_per_sec: f64,
    pub network_tx_bytes_per_sec: f64,
}

#[derive(Debug, Serialize)]
pub struct ServerGraph {
    pub server_id: String,
    pub period: String,
    pub interval: u64,
    pub vcpus: i64,
    pub memory_bytes: i64,
    pub points: Vec<ServerPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostPoint {
    pub at: i64,
    pub cpu_percent: f64,
    pub memory_used_bytes: i64,
    pub memory_total_bytes: i64,
    pub storage_used_bytes: i64,
    pub storage_size_bytes: i64,
}

#[derive(Debug, Serialize)]
pub struct HostGraph {
    pub host: String,
    pub period: String,
    pub interval: u64,
    pub points: Vec<HostPoint>,
}

/// Per second of `a` → `b`; None when a counter went back (its process restarted).
fn rate(before: f64, after: f64, secs: f64) -> Option<f64> {
    (after >= before).then(|| (after - before) / secs)
}

/// A point per pair of consecutive rows whose counters all went forward.
pub fn server_points(rows: &[ServerRow], vcpus: i64) -> Vec<ServerPoint> {
    rows.windows(2)
        .filter_map(|w| {
            let (a, b) = (&w[0], &w[1]);
            let dt = (b.at - a.at) as f64;
            if dt <= 0.0 {
                return None;
            }
            let r = |x: i64, y: i64| rate(x as f64, y as f64, dt);
            Some(ServerPoint {
                at: b.at,
                cpu_percent: rate(a.cpu_seconds, b.cpu_seconds, dt)? * 100.0 / vcpus.max(1) as f64,
                memory_rss_bytes: b.memory_rss_bytes,
                disk_read_bytes_per_sec: r(a.disk_read_bytes, b.disk_read_bytes)?,
                disk_write_bytes_per_sec: r(a.disk_write_bytes, b.disk_write_bytes)?,
                network_rx_bytes_per_sec: r(a.network_rx_bytes, b.network_rx_bytes)?,
                network_tx_bytes_per_sec: r(a.network_tx_bytes, b.network_tx_bytes)?,
            })
        })
        .collect()
}

pub fn host_points(rows: &[HostRow]) -> Vec<HostPoint> {
    rows.windows(2)
        .filter_map(|w| {
            let (a, b) = (&w[0], &w[1]);
            let total = b.cpu_total_seconds - a.cpu_total_seconds;
            let busy = b.cpu_busy_seconds - a.cpu_busy_seconds;
            if b.at <= a.at || total <= 0.0 || busy < 0.0 {
                return None;
            }
            Some(HostPoint {
                at: b.at,
                cpu_percent: busy * 100.0 / total,
                memory_used_bytes: b.memory_total_bytes - b.memory_available_bytes,
                memory_total_bytes: b.memory_total_bytes,
                storage_used_bytes: b.storage_size_bytes - b.storage_free_bytes,
                storage_size_bytes: b.storage_size_bytes,
            })
        })
        .collect()
}

impl App {
    /// Keeps what `host` measured now; servers not on `host` are ignored. Answers when to
    /// send the next report.
    pub async fn record_samples(&self, host: &Host, report: SamplesReport) -> Result<SamplesAck> {
        if report.servers.len() > MAX_SERVERS {
            return Err(Error::bad_request(format!("at most {MAX_SERVERS} servers per report")));
        }
        let at = crate::db::now();
        let interval = self.cfg.usage.interval.max(1);
        let ack = SamplesAck {
            interval_secs: interval,
        };
        // Read before the writer's turn: a host that sends too often is ignored, and only
        // its own servers are written (the insert checks again).
        if report.host.is_some() {
            let last = db::latest_host_at(&self.db, &host.id).await?;
            if last.is_some_and(|l| at - l < (interval as i64 / 2).max(1)) {
                return Ok(ack);
            }
        }
        let own: std::collections::HashSet<String> = crate::db::compute::servers::on_host(&self.db, &host.id)
            .await?
            .into_iter()
            .map(|s| s.id.to_string())
            .collect();
        let servers: Vec<_> = report.servers.iter().filter(|s| own.contains(&s.server_id)).collect();
        if report.host.is_none() && servers.is_empty() {
            return Ok(ack);
        }
        let mut tx = self.begin().await?;
        if let Some(h) = &report.host {
            db::add_host(&mut *tx, &host.id, at, h).await?;
        }
        for s in servers {
            db::add_server(&mut *tx, &host.id, at, s).await?;
        }
        tx.commit().await?;
        Ok(ack)
    }

    /// Thins rows that have just grown older than a day (the hour before, in case a pass was
    /// missed) and forgets those past the retention: part of each metering pass.
    pub(crate) async fn thin_samples(&self, tx: &mut crate::db::sql::Conn<'_>, now: i64) -> Result<u64> {
        let edge = now - FULL_DETAIL_SECS;
        let before = now - self.cfg.usage.retention_days as i64 * 86_400;
        db::thin(tx, edge - 3_600, edge, THIN_STEP, before).await
    }

    /// The server's graphs over the last `period` (hour, day or week), for members of its
    /// project.
    pub async fn server_graph(&self, caller: &Caller, server_id: &str, period: &str) -> Result<ServerGraph> {
        let span = period_secs(period)?;
        let server = self.get_server(caller, server_id).await?;
        let interval = self.cfg.usage.interval.max(1);
        // One row before the window gives its first point.
        let since = crate::db::now() - span - 2 * interval as i64;
        let rows = db::server_rows(&self.db, &server.id, since).await?;
        Ok(ServerGraph {
            points: server_points(&rows, server.vcpus),
            server_id: server.id.to_string(),
            period: period.into(),
            interval,
            vcpus: server.vcpus,
            memory_bytes: server.memory_mb * 1024 * 1024,
        })
    }

    /// A host's graphs over the last `period`, by id or hostname (admins).
    pub async fn host_graph(&self, caller: &Caller, host: &str, period: &str) -> Result<HostGraph> {
        if !caller.is_admin() {
            return Err(Error::forbidden());
        }
        let span = period_secs(period)?;
        let found = crate::db::compute::hosts::list(&self.db)
            .await?
            .into_iter()
            .find(|h| h.id == host || h.hostname == host)
            .ok_or_else(|| Error::not_found("host", host))?;
        let interval = self.cfg.usage.interval.max(1);
        let since = crate::db::now() - span - 2 * interval as i64;
        let rows = db::host_rows(&self.db, &found.id, since).await?;
        Ok(HostGraph {
            points: host_points(&rows),
            host: found.hostname,
            period: period.into(),
            interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at: i64, cpu: f64, rx: i64) -> ServerRow {
        ServerRow {
            at,
            cpu_seconds: cpu,
            memory_rss_bytes: 100,
            disk_read_bytes: 0,
            disk_write_bytes: 60 * at,
            network_rx_bytes: rx,
            network_tx_bytes: 0,
        }
    }

    #[test]
    fn rates_come_from_consecutive_rows() {
        let rows = [row(0, 0.0, 0), row(60, 30.0, 6000), row(120, 90.0, 6000)];
        let p = server_points(&rows, 2);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].at, 60);
        assert!((p[0].cpu_percent - 25.0).abs() < 1e-9);
        assert!((p[1].cpu_percent - 50.0).abs() < 1e-9);
        assert!((p[0].network_rx_bytes_per_sec - 100.0).abs() < 1e-9);
        assert!((p[1].disk_write_bytes_per_sec - 60.0).abs() < 1e-9);
    }

    #[test]
    fn a_restarted_process_gives_no_point() {
        let rows = [row(0, 50.0, 10), row(60, 1.0, 0), row(120, 7.0, 600)];
        let p = server_points(&rows, 1);
        assert_eq!(p.len(), 1);
        assert!((p[0].cpu_percent - 10.0).abs() < 1e-9);
    }

    #[test]
    fn host_cpu_is_busy_over_total() {
        let r = |at, total, busy| HostRow {
            at,
            cpu_total_seconds: total,
            cpu_busy_seconds: busy,
            memory_total_bytes: 1000,
            memory_available_bytes: 250,
            storage_size_bytes: 10,
            storage_free_bytes: 4,
        };
        let p = host_points(&[r(0, 100.0, 10.0), r(60, 220.0, 40.0)]);
        assert_eq!(p.len(), 1);
        assert!((p[0].cpu_percent - 25.0).abs() < 1e-9);
        assert_eq!((p[0].memory_used_bytes, p[0].storage_used_bytes), (750, 6));
    }

    #[test]
    fn periods_are_bounded() {
        assert_eq!(period_secs("day").ok(), Some(86_400));
        assert!(period_secs("year").is_err());
    }
}

//! Idle hosts' reports, coalesced. Every agent reports after each long poll, also when
//! nothing changed: that report is the host's heartbeat. Applying it means a write
//! transaction that reads the host's servers and ports and finds nothing to do; with
//! thousands of hosts that was most of an idle controller's work. A report equal to the
//! last one applied in full for the host (on any controller: the digest is in the host's
//! row, with the host's generation then), while that generation has not moved, only
//! records that the host was seen; those records are written for all hosts at once, every
//! [`FLUSH_EVERY`]. A full apply still happens at least every [`FULL_EVERY`], so a change
//! that reaches the database without bumping the host's generation is still reconciled,
//! and after every report that left something waiting on time (an attach that may time
//! out).

use crate::app::App;
use crate::db::compute::hosts::{self as db, Host};
use crate::error::Result;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the coalesced "seen" records are written (far below `host_down_after`).
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// The longest a host's unchanged reports go without a full apply. Every change the
/// agent acts on bumps the host's generation and so ends the fast path at once; this only
/// bounds how long a change that does not (an admin's state reset, say) waits. A full
/// apply costs about fifteen times an unchanged report (at 5,000 hosts and 100,000
/// servers, every 2 minutes was most of the idle controller's work).
pub const FULL_EVERY: Duration = Duration::from_secs(600);

/// When this controller last applied each host's report in full and last heard from it,
/// and the sightings not yet written.
pub struct Heartbeats {
    applied: Mutex<HashMap<String, Applied>>,
    pending: Mutex<HashMap<String, Seen>>,
    /// The last time sightings were written (or there were none to write).
    flushed_at: Mutex<Instant>,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Self {
            applied: Default::default(),
            pending: Default::default(),
            flushed_at: Mutex::new(Instant::now()),
        }
    }
}

struct Applied {
    full_at: Instant,
    last_at: Instant,
}

#[derive(Clone, Copy)]
struct Seen {
    applied: i64,
    at: i64,
}

/// A report's fingerprint with the host's generation: SHA-256 of its JSON form, then
/// `:generation` (what [`crate::db::compute::hosts::Host::report_digest`] holds).
pub fn digest(report: &ciel_proto::HostReport, generation: i64) -> String {
    let json = serde_json::to_vec(report).unwrap_or_default();
    format!("{}:{generation}", super::hosts::hex(&sha2::Sha256::digest(&json)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Heartbeats {
    /// True when `host` (as just read) last had this very report applied in full, at its
    /// current generation, recently enough, and sightings are being written: the caller
    /// then only records the sighting (see [`Heartbeats::seen`]).
    pub fn unchanged(&self, host: &Host, digest: &str, down_after: Duration) -> bool {
        if host.report_digest.as_deref() != Some(digest) {
            return false;
        }
        // Sightings that cannot be written would let a live host look down.
        if lock(&self.flushed_at).elapsed() > down_after / 2 {
            return false;
        }
        let mut applied = lock(&self.applied);
        let Some(a) = applied.get_mut(&host.id) else {
            return false;
        };
        let now = Instant::now();
        // A host back from being down gets a full apply.
        let fresh = now.duration_since(a.full_at) < FULL_EVERY && now.duration_since(a.last_at) < down_after;
        if fresh {
            a.last_at = now;
        }
        fresh
    }

    /// Remembers a report applied in full.
    pub fn applied(&self, host: &str) {
        let now = Instant::now();
        lock(&self.applied).insert(
            host.to_string(),
            Applied {
                full_at: now,
                last_at: now,
            },
        );
    }

    /// Forgets a host: its next report is applied in full.
    pub fn forget(&self, host: &str) {
        lock(&self.applied).remove(host);
    }

    /// Records that the host reported generation `applied` at `at`, for the next flush.
    pub fn seen(&self, host: &str, applied: i64, at: i64) {
        lock(&self.pending).insert(host.to_string(), Seen { applied, at });
    }

    fn take_pending(&self) -> Vec<(String, Seen)> {
        std::mem::take(&mut *lock(&self.pending)).into_iter().collect()
    }

    /// Puts back sightings that could not be written, unless newer ones came meanwhile.
    fn put_back(&self, seen: Vec<(String, Seen)>) {
        let mut pending = lock(&self.pending);
        for (host, s) in seen {
            pending.entry(host).or_insert(s);
        }
    }
}

impl App {
    /// Writes the coalesced sightings in one transaction; on failure they wait for the next.
    pub async fn flush_heartbeats(&self) -> Result<usize> {
        let seen = self.heartbeats.take_pending();
        if !seen.is_empty() {
            if let Err(e) = self.write_sightings(&seen).await {
                self.heartbeats.put_back(seen);
                return Err(e);
            }
        }
        *lock(&self.heartbeats.flushed_at) = Instant::now();
        Ok(seen.len())
    }

    async fn write_sightings(&self, seen: &[(String, Seen)]) -> Result<()> {
        let mut tx = self.begin().await?;
        for (host, s) in seen {
            db::seen(&mut *tx, host, s.applied, s.at).await?;
        }
        tx.commit().await
    }

    /// Flushes the coalesced sightings every [`FLUSH_EVERY`] until the controller stops.
    pub async fn keep_flushing_heartbeats(self: std::sync::Arc<Self>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.flush_heartbeats().await {
                tracing::warn!(error = %e, "recording hosts' heartbeats failed");
            }
        }
    }
}

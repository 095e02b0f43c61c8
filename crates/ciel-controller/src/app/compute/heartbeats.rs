//! Idle hosts' reports, coalesced. Every agent reports after each long poll, also when
//! nothing changed: that report is the host's heartbeat. Applying it means a write
//! transaction that reads the host's servers and ports and finds nothing to do; with
//! thousands of hosts that was most of an idle controller's work. A report equal to the
//! last one this controller applied for the host, while the host's generation has not
//! moved, only records that the host was seen; those records are written for all hosts
//! at once, every [`FLUSH_EVERY`]. A full apply still happens at least every
//! [`FULL_EVERY`], so a change that reaches the database without bumping the host's
//! generation is still reconciled.

use crate::app::App;
use crate::db::compute::hosts as db;
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

/// What this controller last applied per host, and the sightings not yet written.
#[derive(Default)]
pub struct Heartbeats {
    applied: Mutex<HashMap<String, Applied>>,
    pending: Mutex<HashMap<String, Seen>>,
}

struct Applied {
    digest: [u8; 32],
    generation: i64,
    full_at: Instant,
    last_at: Instant,
}

#[derive(Clone, Copy)]
struct Seen {
    applied: i64,
    at: i64,
}

/// A report's fingerprint: SHA-256 of its JSON form.
pub fn digest(report: &ciel_proto::HostReport) -> [u8; 32] {
    let json = serde_json::to_vec(report).unwrap_or_default();
    sha2::Sha256::digest(&json).into()
}

impl Heartbeats {
    /// True when the report repeats the last one applied for this host at this generation,
    /// recently enough: the caller then only records the sighting (see [`Heartbeats::seen`]).
    pub fn unchanged(&self, host: &str, generation: i64, digest: &[u8; 32], down_after: Duration) -> bool {
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        let Some(a) = applied.get_mut(host) else { return false };
        let now = Instant::now();
        let fresh = a.digest == *digest
            && a.generation == generation
            && now.duration_since(a.full_at) < FULL_EVERY
            // A host back from being down gets a full apply.
            && now.duration_since(a.last_at) < down_after;
        if fresh {
            a.last_at = now;
        }
        fresh
    }

    /// Remembers a report applied in full.
    pub fn applied(&self, host: &str, generation: i64, digest: [u8; 32]) {
        let now = Instant::now();
        let a = Applied {
            digest,
            generation,
            full_at: now,
            last_at: now,
        };
        self.applied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), a);
        // The full apply wrote this sighting itself.
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(host);
    }

    /// Forgets a host (its report failed to apply, or it was removed).
    pub fn forget(&self, host: &str) {
        self.applied.lock().unwrap_or_else(|e| e.into_inner()).remove(host);
    }

    /// Records that the host reported generation `applied` at `at`, for the next flush.
    pub fn seen(&self, host: &str, applied: i64, at: i64) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), Seen { applied, at });
    }

    fn take_pending(&self) -> Vec<(String, Seen)> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect()
    }
}

impl App {
    /// Writes the coalesced sightings in one transaction.
    pub async fn flush_heartbeats(&self) -> Result<usize> {
        let seen = self.heartbeats.take_pending();
        if seen.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        for (host, s) in &seen {
            db::seen(&mut *tx, host, s.applied, s.at).await?;
        }
        tx.commit().await?;
        Ok(seen.len())
    }

    /// Flushes the coalesced sightings every [`FLUSH_EVERY`] until the controller stops.
    pub async fn keep_flushing_heartbeats(self: std::sync::Arc<Self>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = self.flush_heartbeats().await {
                tracing::warn!(error = %e, "recording hosts' heartbeats failed");
            }
        }
    }
}

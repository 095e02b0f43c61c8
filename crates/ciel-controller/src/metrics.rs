//! The controller's event metrics (Prometheus): counters and histograms every layer adds
//! to as things happen. What is counted at scrape time (resources, hosts, quotas) is read
//! by `app::observe`. The names are the operators' contract (`deploy/monitoring`): change
//! them only with the alert rules and the Grafana dashboard.
//!
//! The handles are process-wide (one controller per process; tests that start several
//! share them), so the database and the HTTP layers record without threading a handle
//! through every call.

use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

/// Latency buckets from 1 ms to about 33 s: API calls, transactions, QMP commands.
fn latency_buckets() -> Vec<f64> {
    exponential_buckets(0.001, 2.0, 16).expect("valid buckets")
}

pub static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "ciel_http_requests_total",
            "API requests answered, by service, policy action, method and status.",
        ),
        &["service", "action", "method", "status"],
    )
    .expect("valid metric")
});

pub static HTTP_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    HistogramVec::new(
        HistogramOpts::new("ciel_http_request_duration_seconds", "Time to answer an API request.")
            .buckets(latency_buckets()),
        &["service", "action"],
    )
    .expect("valid metric")
});

pub static DB_TRANSACTIONS: LazyLock<HistogramVec> = LazyLock::new(|| {
    HistogramVec::new(
        HistogramOpts::new(
            "ciel_db_transaction_duration_seconds",
            "Time of a write transaction, from asking for the writer's turn to its end.",
        )
        .buckets(latency_buckets()),
        &["engine"],
    )
    .expect("valid metric")
});

pub static LONG_POLLS: LazyLock<IntGauge> = LazyLock::new(|| {
    IntGauge::new(
        "ciel_long_polls_open",
        "Agents' long polls waiting for a change of their desired state.",
    )
    .expect("valid metric")
});

pub static APPLY_LAG: LazyLock<Histogram> = LazyLock::new(|| {
    Histogram::with_opts(
        HistogramOpts::new(
            "ciel_host_apply_lag_seconds",
            "Time from a change of a host's desired state to the host's report that it applied it.",
        )
        .buckets(latency_buckets()),
    )
    .expect("valid metric")
});

pub static SCHEDULER: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "ciel_scheduler_decisions_total",
            "Placement decisions for new servers, by result.",
        ),
        &["result"],
    )
    .expect("valid metric")
});

pub static AUDIT_EVENTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "ciel_audit_events_total",
            "Write API calls recorded in the audit log, by outcome.",
        ),
        &["outcome"],
    )
    .expect("valid metric")
});

/// The process's record of hosts behind their desired state.
pub static LAG: LazyLock<ApplyLag> = LazyLock::new(ApplyLag::default);

/// The registry holding the event metrics above.
pub fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(build_registry);
    &REGISTRY
}

fn build_registry() -> Registry {
    let r = Registry::new();
    let all: Vec<Box<dyn prometheus::core::Collector>> = vec![
        Box::new(HTTP_REQUESTS.clone()),
        Box::new(HTTP_DURATION.clone()),
        Box::new(DB_TRANSACTIONS.clone()),
        Box::new(LONG_POLLS.clone()),
        Box::new(APPLY_LAG.clone()),
        Box::new(SCHEDULER.clone()),
        Box::new(AUDIT_EVENTS.clone()),
    ];
    for c in all {
        r.register(c).expect("each metric registered once");
    }
    r
}

/// Counts a long poll as open while it lives.
pub struct OpenPoll;

impl OpenPoll {
    pub fn start() -> Self {
        LONG_POLLS.inc();
        OpenPoll
    }
}

impl Drop for OpenPoll {
    fn drop(&mut self) {
        LONG_POLLS.dec();
    }
}

/// Times a write transaction from its start to its end (commit, rollback or drop).
pub struct TxTimer {
    engine: &'static str,
    started: Instant,
}

impl TxTimer {
    pub fn start(engine: &'static str) -> Self {
        TxTimer {
            engine,
            started: Instant::now(),
        }
    }
}

impl Drop for TxTimer {
    fn drop(&mut self) {
        DB_TRANSACTIONS
            .with_label_values(&[self.engine])
            .observe(self.started.elapsed().as_secs_f64());
    }
}

/// A change older than this is not measured: its host reported to another controller
/// meanwhile (several controllers), or was down.
const STALE: std::time::Duration = std::time::Duration::from_secs(600);

/// When each host's desired state last changed without the host having reported it applied
/// yet: the start of the lag [`APPLY_LAG`] measures. One entry per host at most.
#[derive(Default)]
pub struct ApplyLag {
    state: Mutex<LagState>,
}

#[derive(Default)]
struct LagState {
    /// Hosts a change named, since when they are behind.
    behind_since: HashMap<String, Instant>,
    /// The latest change of every host's desired state at once.
    all_changed_at: Option<Instant>,
    /// When each host last reported its desired state applied.
    current_at: HashMap<String, Instant>,
}

impl ApplyLag {
    /// The desired state of `hosts` (None: of every host) changed now.
    pub fn changed(&self, hosts: Option<&std::collections::BTreeSet<String>>) {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Hosts that report to another controller never clear their entry here.
        s.behind_since.retain(|_, since| now.duration_since(*since) < STALE);
        match hosts {
            None => s.all_changed_at = Some(now),
            Some(hs) => {
                for h in hs {
                    s.behind_since.entry(h.clone()).or_insert(now);
                }
            }
        }
    }

    /// `host` reported; `current` when what it applied is its latest desired state.
    pub fn reported(&self, host: &str, current: bool) {
        if !current {
            return;
        }
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut since = s.behind_since.remove(host);
        if let Some(all) = s.all_changed_at {
            if s.current_at.get(host).is_none_or(|c| *c < all) {
                since = Some(since.map_or(all, |x| x.min(all)));
            }
        }
        s.current_at.insert(host.to_string(), now);
        if let Some(since) = since.filter(|t| now.duration_since(*t) < STALE) {
            APPLY_LAG.observe(now.duration_since(since).as_secs_f64());
        }
    }

    /// Forgets a host (removed, or its lag no longer measurable).
    pub fn forget(&self, host: &str) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.behind_since.remove(host);
        s.current_at.remove(host);
    }
}

/// Renders families in Prometheus' text format (version 0.0.4).
pub fn render(families: &[prometheus::proto::MetricFamily]) -> String {
    use prometheus::Encoder;
    let mut out = Vec::new();
    match prometheus::TextEncoder::new().encode(families, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics failed");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_measured_from_the_first_unapplied_change() {
        let lag = ApplyLag::default();
        let before = APPLY_LAG.get_sample_count();
        // A heartbeat of a host nothing changed for is no observation.
        lag.reported("h1", true);
        assert_eq!(APPLY_LAG.get_sample_count(), before);
        let hs: std::collections::BTreeSet<String> = ["h1".to_string()].into();
        lag.changed(Some(&hs));
        lag.reported("h1", false);
        assert_eq!(APPLY_LAG.get_sample_count(), before);
        lag.reported("h1", true);
        assert_eq!(APPLY_LAG.get_sample_count(), before + 1);
        // A change of every host counts once per host.
        lag.changed(None);
        lag.reported("h1", true);
        lag.reported("h1", true);
        assert_eq!(APPLY_LAG.get_sample_count(), before + 2);
    }

    #[test]
    fn rendered_text_has_the_families() {
        HTTP_REQUESTS
            .with_label_values(&["compute", "compute:servers:index", "GET", "200"])
            .inc();
        let text = render(&registry().gather());
        assert!(text.contains("# TYPE ciel_http_requests_total counter"), "{text}");
        assert!(text.contains(
            "ciel_http_requests_total{action=\"compute:servers:index\",method=\"GET\",service=\"compute\",status=\"200\"}"
        ));
    }
}

//! A grace period per key: how long something found not ready (an export not listening yet,
//! a volume still open elsewhere) is waited for, from the first pass that saw it, before
//! the work is tried anyway and its failure reported.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Grace {
    limit: Duration,
    since: Mutex<HashMap<String, Instant>>,
}

impl Grace {
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            since: Mutex::default(),
        }
    }

    /// `key` is not ready now: how long it has been waited for, while that is under the
    /// limit (the wait starts now the first time); None once the limit is reached.
    pub fn waiting(&self, key: &str) -> Option<Duration> {
        let mut since = self.since.lock().ok()?;
        let waited = since.entry(key.to_string()).or_insert_with(Instant::now).elapsed();
        (waited < self.limit).then_some(waited)
    }

    /// `key` is ready (or gone): a later wait starts afresh.
    pub fn forget(&self, key: &str) {
        if let Ok(mut since) = self.since.lock() {
            since.remove(key);
        }
    }

    /// Keeps the waits of the keys `keep` accepts only.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        if let Ok(mut since) = self.since.lock() {
            since.retain(|k, _| keep(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_at_its_limit_and_starts_afresh_once_forgotten() {
        let g = Grace::new(Duration::from_millis(50));
        assert!(g.waiting("a").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(g.waiting("a").is_none(), "past the limit");
        assert!(g.waiting("b").is_some(), "each key has its own");
        g.forget("a");
        assert!(g.waiting("a").is_some());
        g.retain(|k| k == "b");
        std::thread::sleep(Duration::from_millis(60));
        assert!(g.waiting("b").is_none());
    }
}

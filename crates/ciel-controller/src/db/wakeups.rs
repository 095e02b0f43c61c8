//! Which hosts' desired state the latest commits changed, kept in memory for the agents'
//! long polls: a poll wakes only for its own host, so a commit costs a database read for
//! the hosts it concerns, not one for every connected host.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use tokio::sync::watch;

/// Hosts a commit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Woken {
    /// Every host (or a change whose hosts are not known here, e.g. at shutdown).
    All,
    Hosts(Arc<BTreeSet<String>>),
}

impl Woken {
    fn concerns(&self, host: &str) -> bool {
        match self {
            Woken::All => true,
            Woken::Hosts(h) => h.contains(host),
        }
    }
}

/// The recent wake-ups, numbered. A poll remembers the number it last looked at; when the
/// ones after it have been dropped from the window, it must look at its host anyway.
#[derive(Debug, Default)]
pub struct WakeLog {
    seq: u64,
    recent: VecDeque<(u64, Woken)>,
}

/// Wake-ups older than this many are forgotten (a poll that slept through them re-reads).
const WINDOW: usize = 512;

impl WakeLog {
    pub fn push(&mut self, w: Woken) {
        self.seq += 1;
        self.recent.push_back((self.seq, w));
        if self.recent.len() > WINDOW {
            self.recent.pop_front();
        }
    }

    /// The number of the latest wake-up.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether a wake-up after `since` concerns `host`.
    pub fn concerns(&self, host: &str, since: u64) -> bool {
        if since >= self.seq {
            return false;
        }
        match self.recent.front() {
            Some((first, _)) if *first <= since + 1 => {}
            _ => return true,
        }
        self.recent
            .iter()
            .filter(|(s, _)| *s > since)
            .any(|(_, w)| w.concerns(host))
    }
}

/// Ticks after every commit that changed some host's desired state.
pub type HostWakeups = Arc<watch::Sender<WakeLog>>;
/// A long poll's view of the wake-ups.
pub type Receiver = watch::Receiver<WakeLog>;

pub fn channel() -> HostWakeups {
    Arc::new(watch::channel(WakeLog::default()).0)
}

/// Wakes the polls of these hosts.
pub fn wake(w: &HostWakeups, woken: Woken) {
    crate::metrics::LAG.changed(match &woken {
        Woken::All => None,
        Woken::Hosts(h) => Some(h),
    });
    w.send_modify(|log| log.push(woken));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(h: &[&str]) -> Woken {
        Woken::Hosts(Arc::new(h.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn a_poll_wakes_for_its_own_host_only() {
        let mut log = WakeLog::default();
        log.push(hosts(&["a"]));
        log.push(hosts(&["b"]));
        assert!(log.concerns("a", 0));
        assert!(!log.concerns("a", 1), "a's change was seen already");
        assert!(log.concerns("b", 1));
        assert!(!log.concerns("c", 0));
        assert!(!log.concerns("a", 2), "nothing new");
        log.push(Woken::All);
        assert!(log.concerns("c", 2));
    }

    #[test]
    fn a_poll_that_slept_through_the_window_looks_again() {
        let mut log = WakeLog::default();
        for _ in 0..WINDOW + 1 {
            log.push(hosts(&["b"]));
        }
        assert!(log.concerns("a", 0), "the first wake-ups are forgotten: a must re-read");
        assert!(!log.concerns("a", 1));
    }
}

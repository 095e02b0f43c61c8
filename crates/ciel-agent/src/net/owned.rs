//! What this agent made on its host: network namespaces, network devices and nftables
//! tables, recorded in its state directory (`owned.json`, written atomically: temp file +
//! rename). A name is recorded before (or when) the agent creates it, and when a reconcile
//! finds a wanted one already there; stale-removal paths only ever look at recorded names,
//! and forget a name once it is gone. So two agents with different state directories on one
//! host (namespaces live in the shared `/run/netns`) never remove each other's routers, DHCP
//! servers or devices, whatever their names look like.
//!
//! Processes (dnsmasq) are tracked by their pid files in the state directory instead.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What kind of thing a recorded name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A named network namespace (`ip netns`).
    Namespace,
    /// A network device in the agent's own namespace.
    Link,
    /// An nftables table in the agent's own namespace, as `family name`.
    NftTable,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    namespaces: BTreeSet<String>,
    #[serde(default)]
    links: BTreeSet<String>,
    #[serde(default)]
    nft_tables: BTreeSet<String>,
}

impl Record {
    fn set(&mut self, kind: Kind) -> &mut BTreeSet<String> {
        match kind {
            Kind::Namespace => &mut self.namespaces,
            Kind::Link => &mut self.links,
            Kind::NftTable => &mut self.nft_tables,
        }
    }
}

/// The ownership ledger of one agent.
pub struct Owned {
    path: PathBuf,
    record: Mutex<Record>,
}

impl Owned {
    /// The ledger kept in `state_dir`. A missing file is an empty ledger; so is an unreadable
    /// one (then nothing is removed that was made before: leaking is safer than removing
    /// what may be another agent's).
    pub fn open(state_dir: &Path) -> Self {
        let path = state_dir.join("owned.json");
        let record = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ownership ledger unreadable; starting empty");
                Record::default()
            }),
            Err(_) => Record::default(),
        };
        Self {
            path,
            record: Mutex::new(record),
        }
    }

    /// Records `name` as made by this agent (written before the call returns).
    pub fn record(&self, kind: Kind, name: &str) -> anyhow::Result<()> {
        let mut r = self.record.lock().unwrap_or_else(|e| e.into_inner());
        if r.set(kind).contains(name) {
            return Ok(());
        }
        let mut next = r.clone();
        next.set(kind).insert(name.to_string());
        self.store(&next)?;
        *r = next;
        Ok(())
    }

    /// Forgets `name` (it is gone).
    pub fn forget(&self, kind: Kind, name: &str) {
        let mut r = self.record.lock().unwrap_or_else(|e| e.into_inner());
        if !r.set(kind).contains(name) {
            return;
        }
        let mut next = r.clone();
        next.set(kind).remove(name);
        match self.store(&next) {
            Ok(()) => *r = next,
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot update the ownership ledger"),
        }
    }

    pub fn contains(&self, kind: Kind, name: &str) -> bool {
        let mut r = self.record.lock().unwrap_or_else(|e| e.into_inner());
        r.set(kind).contains(name)
    }

    /// The recorded names of `kind`, sorted.
    pub fn list(&self, kind: Kind) -> Vec<String> {
        let mut r = self.record.lock().unwrap_or_else(|e| e.into_inner());
        r.set(kind).iter().cloned().collect()
    }

    fn store(&self, r: &Record) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(r)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ciel-owned-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn records_survive_a_restart_and_are_forgotten() {
        let d = dir("restart");
        let o = Owned::open(&d);
        assert!(o.list(Kind::Namespace).is_empty());
        o.record(Kind::Namespace, "ciel-r-1").unwrap();
        o.record(Kind::Namespace, "ciel-dhcp-2").unwrap();
        o.record(Kind::Link, "cbr-v7").unwrap();
        o.record(Kind::NftTable, "inet ciel").unwrap();
        o.record(Kind::Link, "cbr-v7").unwrap();
        let again = Owned::open(&d);
        assert_eq!(again.list(Kind::Namespace), vec!["ciel-dhcp-2", "ciel-r-1"]);
        assert_eq!(again.list(Kind::Link), vec!["cbr-v7"]);
        assert!(again.contains(Kind::NftTable, "inet ciel"));
        assert!(!again.contains(Kind::Link, "inet ciel"));
        again.forget(Kind::Namespace, "ciel-r-1");
        again.forget(Kind::Namespace, "never-recorded");
        assert_eq!(Owned::open(&d).list(Kind::Namespace), vec!["ciel-dhcp-2"]);
        assert!(!d.join("owned.json.tmp").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn two_state_dirs_never_share_records() {
        let (a, b) = (dir("a"), dir("b"));
        let (oa, ob) = (Owned::open(&a), Owned::open(&b));
        oa.record(Kind::Namespace, "ciel-r-x").unwrap();
        ob.record(Kind::Namespace, "ciel-r-y").unwrap();
        assert_eq!(Owned::open(&a).list(Kind::Namespace), vec!["ciel-r-x"]);
        assert_eq!(Owned::open(&b).list(Kind::Namespace), vec!["ciel-r-y"]);
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }

    #[test]
    fn an_unreadable_ledger_owns_nothing() {
        let d = dir("bad");
        std::fs::write(d.join("owned.json"), "{not json").unwrap();
        let o = Owned::open(&d);
        assert!(o.list(Kind::Namespace).is_empty());
        o.record(Kind::Link, "ctp1").unwrap();
        assert_eq!(Owned::open(&d).list(Kind::Link), vec!["ctp1"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

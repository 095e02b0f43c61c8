//! A write transaction that also collects which hosts' desired state it changes. Code inside
//! the transaction only says what changed (`tx.host_changed(id)`, `tx.network_changed(id)`…);
//! [`Tx::commit`] bumps those hosts' generations in the same transaction, commits, and only
//! then wakes the agents' long polls: a woken agent always reads the committed state, so no
//! caller bumps generations or wakes agents by hand and no poller has to look again later.

use crate::db::cluster;
use crate::db::compute::hosts;
use crate::db::sql::{Conn, WriterTurn};
use crate::db::wakeups::{self, HostWakeups, Woken};
use crate::error::Result;
use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Which hosts a transaction's changes concern, resolved to host rows at commit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct HostChanges {
    /// These hosts (a VM, volume or snapshot of theirs changed).
    hosts: BTreeSet<String>,
    /// Hosts with a VM port on these networks, and hosts whose rules name, as remote group,
    /// a group with members on them (a port change there may change those rules' addresses).
    networks: BTreeSet<String>,
    /// Hosts with a VM port in any security group (a rule or membership changed).
    secured_ports: bool,
    /// Every host (routing changed: where routers run, what every host knows of their ports).
    all: bool,
}

impl HostChanges {
    fn is_empty(&self) -> bool {
        *self == HostChanges::default()
    }
}

/// A transaction holding the writer lock (see `db::begin_notifying`); reads and writes go
/// through it as through a connection (`&mut *tx`).
pub struct Tx<'a> {
    inner: Conn<'a>,
    changes: HostChanges,
    wakeups: Option<HostWakeups>,
    /// A savepoint hands its changes to the enclosing transaction when it commits.
    parent: Option<&'a mut HostChanges>,
    /// The SQLite writer's turn, given back when the transaction ends (after `inner`).
    _turn: Option<WriterTurn>,
    /// Observes the transaction's duration when it ends.
    _timer: Option<crate::metrics::TxTimer>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(inner: Conn<'a>, wakeups: Option<HostWakeups>) -> Self {
        Tx {
            inner,
            changes: HostChanges::default(),
            wakeups,
            parent: None,
            _turn: None,
            _timer: None,
        }
    }

    /// This transaction holds the SQLite writer's turn until it ends.
    pub(crate) fn holding(mut self, turn: Option<WriterTurn>) -> Self {
        self._turn = turn;
        self
    }

    /// This transaction's duration is observed when it ends.
    pub(crate) fn timed(mut self, timer: crate::metrics::TxTimer) -> Self {
        self._timer = Some(timer);
        self
    }

    /// A savepoint inside this transaction: rolled back alone (dropped without commit), or
    /// committed into this transaction with the host changes it collected.
    pub async fn savepoint(&mut self) -> Result<Tx<'_>> {
        let inner = self.inner.begin().await?;
        Ok(Tx {
            inner,
            changes: HostChanges::default(),
            wakeups: None,
            parent: Some(&mut self.changes),
            _turn: None,
            _timer: None,
        })
    }

    /// The desired state of `host_id` changed.
    pub fn host_changed(&mut self, host_id: &str) {
        self.changes.hosts.insert(host_id.to_owned());
    }

    /// The ports or subnets of `network_id` changed: the hosts with ports on it, and the
    /// hosts whose remote-group rules refer to its ports' groups.
    pub fn network_changed(&mut self, network_id: &str) {
        self.changes.networks.insert(network_id.to_owned());
    }

    /// A security group rule or membership changed.
    pub fn security_groups_changed(&mut self) {
        self.changes.secured_ports = true;
    }

    /// Routing changed: every host.
    pub fn all_hosts_changed(&mut self) {
        self.changes.all = true;
    }

    /// Bumps the generation of every host the changes concern, commits, then wakes the
    /// long polls if any host was bumped.
    pub async fn commit(mut self) -> Result<()> {
        if let Some(parent) = self.parent.take() {
            let mine = std::mem::take(&mut self.changes);
            parent.hosts.extend(mine.hosts);
            parent.networks.extend(mine.networks);
            parent.secured_ports |= mine.secured_ports;
            parent.all |= mine.all;
            self.inner.commit().await?;
            return Ok(());
        }
        let woken = self.bump_changed_hosts().await?;
        self.inner.commit().await.map_err(outcome_unknown)?;
        if let (Some(w), Some(woken)) = (&self.wakeups, woken) {
            wakeups::wake(w, woken);
        }
        Ok(())
    }

    /// Ends the transaction without applying anything.
    pub async fn rollback(self) -> Result<()> {
        Ok(self.inner.rollback().await?)
    }

    /// Bumps the hosts the changes concern, marked with a new value of the cluster's hosts
    /// counter (other controllers' polls learn of them from it: `app::cluster`). Returns
    /// which hosts to wake, if any changed.
    async fn bump_changed_hosts(&mut self) -> Result<Option<Woken>> {
        let changes = std::mem::take(&mut self.changes);
        if changes.is_empty() {
            return Ok(None);
        }
        let conn = &mut self.inner;
        let mark = cluster::bump(&mut *conn, cluster::Counter::Hosts).await?;
        if changes.all {
            let n = hosts::bump_all(&mut *conn, mark).await?;
            return Ok((n > 0).then_some(Woken::All));
        }
        let mut bumped = BTreeSet::new();
        for h in &changes.hosts {
            bumped.extend(hosts::bump_host(&mut *conn, h, mark).await?);
        }
        for n in &changes.networks {
            bumped.extend(hosts::bump_hosts_on_network(&mut *conn, n, mark).await?);
            bumped.extend(hosts::bump_remote_group_peers(&mut *conn, n, mark).await?);
        }
        if changes.secured_ports {
            bumped.extend(hosts::bump_hosts_with_secured_ports(&mut *conn, mark).await?);
        }
        Ok((!bumped.is_empty()).then(|| Woken::Hosts(Arc::new(bumped))))
    }
}

/// A commit the database did not confirm may still have been applied (the connection broke
/// after the COMMIT left): the client must look before it repeats the request.
fn outcome_unknown(e: sqlx::Error) -> crate::error::Error {
    match crate::error::Error::from(e) {
        crate::error::Error::Unavailable(_) => crate::error::Error::Unavailable(
            "The database became unavailable while saving this change; it may or may not have been \
             saved. Check before repeating the request."
                .into(),
        ),
        other => other,
    }
}

impl<'a> Deref for Tx<'a> {
    type Target = Conn<'a>;
    fn deref(&self) -> &Conn<'a> {
        &self.inner
    }
}

impl<'a> DerefMut for Tx<'a> {
    fn deref_mut(&mut self) -> &mut Conn<'a> {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool_with_hosts() -> crate::db::Pool {
        let pool = crate::db::open_memory().await.unwrap();
        for (id, name) in [("h1", "hv1"), ("h2", "hv2")] {
            crate::db::sql::query(
                "INSERT INTO hosts (id, hostname, vcpus, memory_mb, disk_gb, hypervisor_type, token_hash, last_seen, created_at) \
                 VALUES (?, ?, 1, 1, 1, 'fake', 'x', 0, 0)",
            )
            .bind(id)
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool
    }

    async fn generations(pool: &crate::db::Pool) -> Vec<(String, i64)> {
        crate::db::sql::query_as("SELECT id, generation FROM hosts ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn commit_bumps_the_changed_hosts_then_wakes() {
        let pool = pool_with_hosts().await;
        let wakeups: HostWakeups = crate::db::wakeups::channel();
        let mut seen = wakeups.subscribe();
        let mut tx = crate::db::begin_notifying(&pool, &wakeups).await.unwrap();
        tx.host_changed("h2");
        tx.host_changed("h2");
        assert!(!seen.has_changed().unwrap(), "nothing is announced before the commit");
        tx.commit().await.unwrap();
        assert!(seen.has_changed().unwrap());
        {
            let log = seen.borrow_and_update();
            assert!(log.concerns("h2", 0), "h2's poll wakes");
            assert!(!log.concerns("h1", 0), "h1's poll sleeps on");
        }
        assert_eq!(generations(&pool).await, vec![("h1".into(), 1), ("h2".into(), 2)]);
        // Marked with the cluster's counter, for the other controllers.
        let marked = crate::db::compute::hosts::changed_after(&pool, 0).await.unwrap();
        assert_eq!(marked, vec!["h2".to_string()]);

        // A savepoint's changes reach the host only through its parent's commit.
        let mut tx = crate::db::begin_notifying(&pool, &wakeups).await.unwrap();
        let mut sp = tx.savepoint().await.unwrap();
        sp.all_hosts_changed();
        sp.commit().await.unwrap();
        tx.commit().await.unwrap();
        assert!(seen.has_changed().unwrap());
        assert_eq!(generations(&pool).await, vec![("h1".into(), 2), ("h2".into(), 3)]);
    }

    #[tokio::test]
    async fn a_rolled_back_or_empty_transaction_wakes_no_one() {
        let pool = pool_with_hosts().await;
        let wakeups: HostWakeups = crate::db::wakeups::channel();
        let seen = wakeups.subscribe();
        let mut tx = crate::db::begin_notifying(&pool, &wakeups).await.unwrap();
        tx.host_changed("h1");
        tx.rollback().await.unwrap();
        let tx = crate::db::begin_notifying(&pool, &wakeups).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = crate::db::begin_notifying(&pool, &wakeups).await.unwrap();
        tx.host_changed("gone");
        tx.commit().await.unwrap();
        assert!(!seen.has_changed().unwrap());
        assert_eq!(generations(&pool).await, vec![("h1".into(), 1), ("h2".into(), 1)]);
    }
}

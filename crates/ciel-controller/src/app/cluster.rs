//! Several controllers, one database: what one controller changes, the others notice.
//! The counters in the database are the truth; PostgreSQL's LISTEN/NOTIFY only wakes a
//! controller early, and a short poll is the safety net when a notification is lost (a
//! dropped listening connection, a failover of the database).

use crate::app::App;
use crate::db::cluster::{self, work, Generations, Lease};
use crate::db::image::{self, ImageStatus};
use crate::db::volume::VolumeStatus;
use crate::db::wakeups::Woken;
use crate::db::Pool;
use crate::error::Result;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often the counters are read when no notification came.
const POLL: Duration = Duration::from_millis(500);

/// How often a controller beats its row and looks for orphaned work.
const BEAT: Duration = Duration::from_secs(2);

/// A controller not seen for this long is dead: its leased work is recovered by another.
pub(crate) const DEAD_AFTER_SECS: i64 = 10;

impl App {
    /// Follows the other controllers' changes until the process ends: identity changes
    /// drop cached scopes and reload the revocation list, host changes wake the long polls
    /// waiting here. Nothing to follow on SQLite, whose file one controller owns.
    pub async fn follow_cluster(self: Arc<Self>) {
        let Pool::Postgres(pg) = &self.db else { return };
        let mut listener = match sqlx::postgres::PgListener::connect_with(pg).await {
            Ok(mut l) => match l.listen(cluster::CHANNEL).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; following the cluster by polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no listening connection; following the cluster by polling only");
                None
            }
        };
        let mut seen = cluster::read(&self.db).await.unwrap_or_default();
        loop {
            match &mut listener {
                // `recv` reconnects by itself after a lost connection.
                Some(l) => {
                    let _ = tokio::time::timeout(POLL, l.recv()).await;
                }
                None => tokio::time::sleep(POLL).await,
            }
            match cluster::read(&self.db).await {
                Ok(now) => {
                    self.apply_cluster_changes(seen, now).await;
                    seen = now;
                }
                Err(e) => tracing::debug!(error = %e, "reading the cluster counters failed"),
            }
        }
    }

    /// Whether the database answers within two seconds (`/healthz`).
    pub async fn database_reachable(&self) -> bool {
        let ping = crate::db::sql::query_scalar::<i64>("SELECT CAST(1 AS BIGINT)").fetch_one(&self.db);
        matches!(tokio::time::timeout(Duration::from_secs(2), ping).await, Ok(Ok(1)))
    }

    async fn apply_cluster_changes(&self, seen: Generations, now: Generations) {
        if now.identity != seen.identity {
            self.identity_generation.fetch_add(1, Ordering::AcqRel);
            if let Err(e) = self.load_revocations().await {
                tracing::warn!(error = %e, "reloading the revocation list failed");
            }
        }
        if now.hosts != seen.hosts {
            // The hosts those commits marked (this controller's own among them: a spare
            // read for their polls); all of them when the database cannot say.
            let woken = match crate::db::compute::hosts::changed_after(&self.db, seen.hosts).await {
                Ok(ids) if ids.is_empty() => return,
                Ok(ids) => Woken::Hosts(Arc::new(ids.into_iter().collect())),
                Err(e) => {
                    tracing::debug!(error = %e, "reading which hosts changed failed; waking every poll");
                    Woken::All
                }
            };
            crate::db::wakeups::wake(&self.host_changes, woken);
        }
    }
}

impl App {
    /// A lease on background work for this controller.
    pub(crate) fn lease(&self, kind: &str, resource_id: &str, detail: &str) -> Lease {
        Lease {
            kind: kind.into(),
            resource_id: resource_id.into(),
            controller_id: self.controller_id.clone(),
            detail: detail.into(),
            started_at: crate::db::now(),
        }
    }

    /// Records that this controller is alive.
    pub(crate) async fn beat(&self) -> Result<()> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        cluster::beat(&self.db, &self.controller_id, host.trim(), crate::db::now()).await
    }

    /// Beats this controller's row, recovers the work of dead controllers and moves load
    /// balancers off network nodes that are down, until the process ends.
    pub async fn keep_alive(self: Arc<Self>) {
        let mut tick = tokio::time::interval(BEAT);
        loop {
            tick.tick().await;
            if let Err(e) = self.beat().await {
                tracing::warn!(error = %e, "cannot record this controller as alive");
                continue;
            }
            if let Err(e) = self.recover_orphaned_work().await {
                tracing::warn!(error = %e, "recovering the work of stopped controllers failed");
            }
            if let Err(e) = self.fail_over_load_balancers().await {
                tracing::warn!(error = %e, "moving load balancers off network nodes that are down failed");
            }
        }
    }

    /// Finishes or fails cleanly the work leased to controllers that stopped beating.
    /// Each step only acts on a resource still in its work state, so two controllers
    /// recovering the same lease do no harm.
    pub async fn recover_orphaned_work(&self) -> Result<usize> {
        let now = crate::db::now();
        let orphans = cluster::orphaned_leases(&self.db, now - DEAD_AFTER_SECS).await?;
        for l in &orphans {
            tracing::warn!(kind = %l.kind, resource = %l.resource_id, controller = %l.controller_id,
                "recovering work of a stopped controller");
            match l.kind.as_str() {
                work::IMAGE_UPLOAD => {
                    self.image_store.drop_partials(&l.resource_id).ok();
                    image::transition(
                        &self.db,
                        &l.resource_id,
                        &[ImageStatus::Saving],
                        ImageStatus::Queued,
                        now,
                    )
                    .await?;
                    cluster::release(&self.db, &l.kind, &l.resource_id).await?;
                }
                work::SERVER_SNAPSHOT => {
                    self.drop_unfinished_image(&l.detail).await?;
                    self.end_snapshot_task(&l.resource_id).await?;
                }
                work::VOLUME_UPLOAD => {
                    let (image_id, status) = l.detail.split_once(':').unwrap_or((&l.detail, ""));
                    self.drop_unfinished_image(image_id).await?;
                    let back_to = status.parse().unwrap_or(VolumeStatus::Available);
                    self.end_upload(&l.resource_id, back_to).await?;
                }
                other => {
                    tracing::warn!(kind = other, "unknown kind of leased work; dropping the lease");
                    cluster::release(&self.db, &l.kind, &l.resource_id).await?;
                }
            }
        }
        cluster::forget_controllers(&self.db, now - 3600).await?;
        Ok(orphans.len())
    }

    /// Deletes an image whose data never arrived (a snapshot or volume upload cut off).
    async fn drop_unfinished_image(&self, id: &str) -> Result<()> {
        if let Some(img) = image::get(&self.db, id).await? {
            if matches!(img.status, ImageStatus::Queued | ImageStatus::Saving) {
                self.image_store.drop_partials(id).ok();
                image::mark_deleted(&self.db, id, crate::db::now()).await?;
            }
        }
        Ok(())
    }
}

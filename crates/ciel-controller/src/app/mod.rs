//! Domain logic. Every public operation takes the authenticated caller, checks policy,
//! and runs its database work as one transaction where it writes more than one row.

pub mod audit;
pub mod cluster;
pub mod compute;
pub mod identity;
pub mod image;
pub mod json_input;
pub mod keyset;
pub mod loadbalancer;
pub mod metadata_schema;
pub mod metering;
pub mod network;
pub mod observe;
pub mod policy;
pub mod samples;
pub mod shared_dir;
pub mod volume;

use crate::config::ControllerConfig;
use crate::db::identity::revocations::RevocationEvent;
use crate::db::Pool;
use identity::caller::ScopeCache;
use identity::catalog::CatalogEntry;
use identity::tokens::TokenKeys;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub struct App {
    pub db: Pool,
    pub cfg: Arc<ControllerConfig>,
    pub tokens: TokenKeys,
    pub(crate) image_store: image::store::FileStore,
    /// Bumped by every identity write; cached scope information older than it is rebuilt.
    identity_generation: AtomicU64,
    pub(crate) scope_cache: ScopeCache,
    /// Revocation events of the last token lifetime, mirrored from the database.
    pub(crate) revocations: RwLock<Vec<RevocationEvent>>,
    /// The token catalog, rebuilt when the identity generation moves.
    pub(crate) catalog_cache: Mutex<Option<(u64, Arc<Vec<CatalogEntry>>)>>,
    /// Ticks after every committed change of any host's desired state; agents' long polls
    /// wait on it.
    pub(crate) host_changes: crate::db::HostWakeups,
    /// Set when the server stops accepting requests; pending long polls answer at once.
    pub(crate) shutting_down: std::sync::atomic::AtomicBool,
    /// Hosts' unchanged reports, recorded as sightings and written together.
    pub(crate) heartbeats: compute::heartbeats::Heartbeats,
    /// The scheduler's snapshot of hosts and their claims.
    pub(crate) host_views: compute::scheduler::HostViews,
    /// This controller's id among those sharing the database (new at every start): the
    /// owner of the work it leases.
    pub controller_id: String,
    /// Where write API calls are recorded.
    pub(crate) audit: audit::AuditLog,
}

impl App {
    pub async fn new(db: Pool, cfg: ControllerConfig) -> anyhow::Result<Arc<Self>> {
        let tokens = TokenKeys::open(&cfg.shared_dir.join("token-keys"))?;
        let image_store = image::store::FileStore::open(&cfg.shared_dir.join("images"), cfg.image.rbd.clone())?;
        let audit = audit::AuditLog::open(&cfg.audit, &cfg.data_dir)?;
        let app = Arc::new(Self {
            db,
            cfg: Arc::new(cfg),
            tokens,
            image_store,
            identity_generation: AtomicU64::new(1),
            scope_cache: ScopeCache::default(),
            revocations: RwLock::new(vec![]),
            catalog_cache: Mutex::new(None),
            host_changes: crate::db::wakeups::channel(),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            heartbeats: Default::default(),
            host_views: Default::default(),
            controller_id: uuid::Uuid::new_v4().to_string(),
            audit,
        });
        app.load_revocations().await?;
        // Alive before any lease is taken: a lease of an unknown controller is orphaned.
        app.beat().await?;
        let reset = crate::db::image::reset_unleased_uploads(&app.db, crate::db::now()).await?;
        for id in &reset {
            app.image_store.drop_partials(id)?;
        }
        if !reset.is_empty() {
            tracing::warn!(images = reset.len(), "uploads no controller runs were reset to queued");
        }
        Ok(app)
    }

    /// Ends pending agent long polls (they get the current state) for a prompt shutdown.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        crate::db::wakeups::wake(&self.host_changes, crate::db::wakeups::Woken::All);
    }

    pub fn identity_generation(&self) -> u64 {
        self.identity_generation.load(Ordering::Acquire)
    }

    /// Call after any identity write so cached token scopes are rebuilt, here at once and on
    /// the other controllers when they see the cluster counter move.
    pub async fn identity_changed(&self) -> crate::error::Result<()> {
        self.identity_generation.fetch_add(1, Ordering::AcqRel);
        let mut tx = self.begin().await?;
        crate::db::cluster::bump(&mut tx, crate::db::cluster::Counter::Identity).await?;
        tx.commit().await
    }
}

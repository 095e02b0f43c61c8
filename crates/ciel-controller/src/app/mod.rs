//! Domain logic. Every public operation takes the authenticated caller, checks policy,
//! and runs its database work as one transaction where it writes more than one row.

pub mod compute;
pub mod identity;
pub mod image;
pub mod json_input;
pub mod metadata_schema;
pub mod network;
pub mod policy;
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
    /// Remote console tokens: token -> (server id, expiry).
    pub(crate) console_tokens: Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>,
}

impl App {
    pub async fn new(db: Pool, cfg: ControllerConfig) -> anyhow::Result<Arc<Self>> {
        let tokens = TokenKeys::open(&cfg.data_dir.join("token-keys"))?;
        let image_store = image::store::FileStore::open(&cfg.data_dir.join("images"))?;
        let app = Arc::new(Self {
            db,
            cfg: Arc::new(cfg),
            tokens,
            image_store,
            identity_generation: AtomicU64::new(1),
            scope_cache: ScopeCache::default(),
            revocations: RwLock::new(vec![]),
            catalog_cache: Mutex::new(None),
            host_changes: Arc::new(tokio::sync::watch::channel(0).0),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            console_tokens: Mutex::default(),
        });
        app.load_revocations().await?;
        // The store dropped partial upload files when it opened; their rows go back to queued.
        let reset = crate::db::image::reset_interrupted_uploads(&app.db, crate::db::now()).await?;
        if reset > 0 {
            tracing::warn!(images = reset, "uploads interrupted by a restart were reset to queued");
        }
        Ok(app)
    }

    /// Ends pending agent long polls (they get the current state) for a prompt shutdown.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        self.host_changes.send_modify(|n| *n += 1);
    }

    pub fn identity_generation(&self) -> u64 {
        self.identity_generation.load(Ordering::Acquire)
    }

    /// Call after any identity write so cached token scopes are rebuilt.
    pub fn identity_changed(&self) {
        self.identity_generation.fetch_add(1, Ordering::AcqRel);
    }
}

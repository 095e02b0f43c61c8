//! Ciel controller: the OpenStack APIs (`http`), domain logic (`app`) and datastore (`db`).

pub mod app;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;

use app::identity::bootstrap::BootstrapOutcome;
use app::App;
use config::ControllerConfig;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A controller that has opened its database and bootstrapped, ready to serve.
pub struct Controller {
    pub app: Arc<App>,
    pub bootstrap: BootstrapOutcome,
    router: axum::Router,
}

impl Controller {
    pub async fn start(cfg: ControllerConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&cfg.data_dir)?;
        std::fs::create_dir_all(&cfg.shared_dir)?;
        let pool = db::open(cfg.database_url.as_deref(), &cfg.data_dir).await?;
        let app = App::new(pool, cfg).await?;
        let seeding = db::startup_lock(&app.db).await?;
        let bootstrap = app
            .bootstrap()
            .await
            .map_err(|e| anyhow::anyhow!("bootstrap failed: {e}"))?;
        app.seed_images(&bootstrap.admin_user_id, &bootstrap.admin_project_id)
            .await
            .map_err(|e| anyhow::anyhow!("registering images failed: {e}"))?;
        app::compute::hosts::join_token(&app.cfg.shared_dir)
            .map_err(|e| anyhow::anyhow!("creating the agent join token failed: {e}"))?;
        app.seed_default_flavors()
            .await
            .map_err(|e| anyhow::anyhow!("creating the default flavors failed: {e}"))?;
        app.seed_external_network(&bootstrap.admin_user_id, &bootstrap.admin_project_id)
            .await
            .map_err(|e| anyhow::anyhow!("creating the external network failed: {e}"))?;
        drop(seeding);
        let router = http::router(app.clone());
        Ok(Self { app, bootstrap, router })
    }

    /// Serves HTTP on an already bound listener until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = self.app.clone();
        let keys = tokio::spawn(async move {
            // Pick up key rotations done by `ciel keys rotate` while running.
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                if let Err(e) = app.tokens.reload() {
                    tracing::warn!(error = %e, "token key reload failed");
                }
            }
        });
        let follow = tokio::spawn(self.app.clone().follow_cluster());
        let alive = tokio::spawn(self.app.clone().keep_alive());
        let heartbeats = tokio::spawn(self.app.clone().keep_flushing_heartbeats());
        let metering = tokio::spawn(self.app.clone().keep_metering());
        // `into_make_service` turns the routes into services once and hands every connection
        // a shared handle. Serving the router itself rebuilds its whole route table per
        // connection (about 0.4 MiB each): 1,000 agents' long polls held 600 MiB that way.
        // With each connection's peer address: `/metrics` admits some without a token, and
        // the audit log names where a call came from.
        let service = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown({
                // Long polls of agents end at once, so graceful shutdown does not wait for them.
                let app = self.app.clone();
                async move {
                    shutdown.await;
                    app.begin_shutdown();
                }
            })
            .await?;
        keys.abort();
        follow.abort();
        alive.abort();
        heartbeats.abort();
        metering.abort();
        if let Err(e) = self.app.flush_heartbeats().await {
            tracing::warn!(error = %e, "recording hosts' last heartbeats failed");
        }
        self.app.db.close().await;
        Ok(())
    }
}

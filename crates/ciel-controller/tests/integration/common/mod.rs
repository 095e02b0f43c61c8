//! Helpers shared by the controller's integration tests.
#![allow(dead_code)]

use ciel_controller::app::identity::auth::AuthRequest;
use ciel_controller::app::identity::caller::Caller;
use ciel_controller::app::App;
use ciel_controller::config::ControllerConfig;
use ciel_controller::error::Error;
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn app() -> (Arc<App>, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    let mut cfg = ControllerConfig::new(dir.0.clone(), "127.0.0.1:0".parse().unwrap());
    cfg.admin_password = Some("adminpw".into());
    let pool = ciel_controller::db::open_memory().await.unwrap();
    let app = App::new(pool, cfg).await.unwrap();
    app.bootstrap().await.unwrap();
    (app, dir)
}

pub mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("ciel-test-{}", uuid_like()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }
    fn uuid_like() -> String {
        use std::time::{SystemTime, UNIX_EPOCH};
        format!(
            "{}-{}",
            std::process::id(),
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
        )
    }
}

pub fn body(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// A typed request (e.g. `app::identity::params::UserCreate`) from JSON; panics if it is refused.
pub fn params<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

pub fn password_req(user: &str, pw: &str, project: Option<&str>) -> AuthRequest {
    let mut req = json!({"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": pw}}}});
    if let Some(p) = project {
        req["scope"] = json!({"project": {"name": p, "domain": {"id": "default"}}});
    }
    serde_json::from_value(req).unwrap()
}

pub async fn login(app: &App, user: &str, pw: &str, project: Option<&str>) -> Result<(String, Caller), Error> {
    let issued = app.authenticate(password_req(user, pw, project)).await?;
    Ok((issued.token, issued.caller))
}

/// Grants `role` (by name) to a user on a project, as an admin would.
pub async fn grant_user_project(app: &App, admin: &Caller, user_id: &str, project_id: &str, role: &str) {
    use ciel_controller::app::identity::assignments::{ActorKind, GrantRef, TargetKind};
    let role_id = app
        .list_roles(admin)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == role)
        .unwrap()
        .id;
    let g = GrantRef {
        actor: ActorKind::User,
        actor_id: user_id.to_string(),
        target: TargetKind::Project,
        target_id: project_id.to_string(),
        role_id,
        inherited: false,
    };
    app.grant_role(admin, g).await.unwrap();
}

/// Registers a fake hypervisor (4 vCPUs, 8 GiB, 100 GB, file volumes) named `name`, with the
/// given agent URL and physical networks, as its agent would; returns the host as its bearer
/// token authenticates it, and the token.
pub async fn register_fake_host(
    app: &App,
    name: &str,
    agent_url: Option<&str>,
    provider_networks: &[&str],
) -> (ciel_controller::db::compute::hosts::Host, String) {
    register_host_with_storage(app, name, agent_url, provider_networks, &["file"]).await
}

/// [`register_fake_host`] with these storage backends.
pub async fn register_host_with_storage(
    app: &App,
    name: &str,
    agent_url: Option<&str>,
    provider_networks: &[&str],
    storage_backends: &[&str],
) -> (ciel_controller::db::compute::hosts::Host, String) {
    let secret = ciel_controller::app::compute::hosts::join_token(&app.cfg.shared_dir).unwrap();
    let (id, token, _) = app
        .register_host(
            &secret,
            ciel_proto::RegisterRequest {
                hostname: name.into(),
                underlay_ip: None,
                vcpus: 4,
                memory_mb: 8192,
                disk_gb: 100,
                hypervisor_type: "fake".into(),
                agent_url: agent_url.map(str::to_owned),
                provider_networks: provider_networks.iter().map(|p| p.to_string()).collect(),
                storage_backends: storage_backends.iter().map(|b| b.to_string()).collect(),
                images_type: "file".into(),
            },
        )
        .await
        .unwrap();
    (app.authenticate_host(&id, &token).await.unwrap(), token)
}

/// A fake hypervisor that reaches the `file` and `rbd` backends, with an underlay address
/// (migrations connect there), as the migration tests use.
pub async fn migration_host(app: &App, name: &str, ip: &str) -> ciel_controller::db::compute::hosts::Host {
    let secret = ciel_controller::app::compute::hosts::join_token(&app.cfg.shared_dir).unwrap();
    let (id, token, _) = app
        .register_host(
            &secret,
            ciel_proto::RegisterRequest {
                hostname: name.into(),
                underlay_ip: Some(ip.into()),
                vcpus: 4,
                memory_mb: 8192,
                disk_gb: 100,
                hypervisor_type: "fake".into(),
                agent_url: None,
                provider_networks: vec![],
                storage_backends: vec!["file".into(), "rbd".into()],
                images_type: "file".into(),
            },
        )
        .await
        .unwrap();
    app.authenticate_host(&id, &token).await.unwrap()
}

/// An active raw image of 4 KiB named `name`, uploaded as `admin`.
pub async fn raw_image(app: &App, admin: &Caller, name: &str) -> ciel_controller::db::image::Image {
    let img = app
        .create_image(
            admin,
            params(serde_json::json!({"name": name, "disk_format": "raw", "container_format": "bare"})),
        )
        .await
        .unwrap();
    let data = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0u8; 4096]))]);
    app.upload_image(admin, &img.id, data).await.unwrap();
    img
}

/// A server of flavor 42 booted from a small raw image on `host` (no network); its id.
pub async fn server_on(app: &App, admin: &Caller, host: &str) -> String {
    let img = raw_image(app, admin, "img").await;
    let req = ciel_controller::app::compute::params::CreateServer::try_from(body(serde_json::json!({
        "name": "vm", "imageRef": img.id, "flavorRef": "42", "networks": "none",
        "availability_zone": format!("nova:{host}")})))
    .unwrap();
    app.create_servers(admin, "req-1", &req)
        .await
        .unwrap()
        .remove(0)
        .id
        .to_string()
}

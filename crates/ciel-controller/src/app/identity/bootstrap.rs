//! First-start (and every-start) bootstrap: the default domain, the admin project and user,
//! the standard roles with their implications, the region and the catalog of served services.
//! Every step is "ensure", so a restart changes nothing and an upgrade adds what is new.

use super::passwords;
use crate::app::App;
use crate::db::identity::assignments::{self, Assignment};
use crate::db::identity::catalog::{self, Endpoint, Region, Service};
use crate::db::identity::domains::{self, Domain};
use crate::db::identity::projects::{self, Project};
use crate::db::identity::roles::{self, Role};
use crate::db::identity::users::{self, User};
use crate::error::Result;
use rand::distributions::{Alphanumeric, DistString};

/// A service Ciel serves: catalog type, name, and path below the public URL.
pub struct ServedService {
    pub r#type: &'static str,
    pub name: &'static str,
    pub path: &'static str,
}

/// The services this build serves. Only what really answers is put in the catalog.
pub const SERVED: &[ServedService] = &[
    ServedService {
        r#type: "identity",
        name: "keystone",
        path: "/identity/v3",
    },
    ServedService {
        r#type: "image",
        name: "glance",
        path: "/image",
    },
    ServedService {
        r#type: "network",
        name: "neutron",
        path: "/network",
    },
    ServedService {
        r#type: "compute",
        name: "nova",
        path: "/compute/v2.1",
    },
    ServedService {
        r#type: "load-balancer",
        name: "octavia",
        path: "/load-balancer",
    },
    // Cinder v3, under both of its catalog types (clients ask for either).
    ServedService {
        r#type: "block-storage",
        name: "cinder",
        path: "/volume/v3",
    },
    ServedService {
        r#type: "volumev3",
        name: "cinderv3",
        path: "/volume/v3",
    },
];

pub struct BootstrapOutcome {
    pub admin_project_id: String,
    pub admin_user_id: String,
    /// Set when the password was generated or changed on this start.
    pub admin_password: Option<String>,
}

impl App {
    pub async fn bootstrap(&self) -> Result<BootstrapOutcome> {
        let mut tx = self.begin().await?;
        if domains::get(&mut *tx, "default").await?.is_none() {
            let d = Domain {
                id: "default".into(),
                name: "Default".into(),
                description: "The default domain".into(),
                enabled: true,
                extra: "{}".into(),
            };
            domains::insert(&mut *tx, &d).await?;
        }
        let mut role_ids = vec![];
        // Keystone's default roles (2024.2 added `manager`), each implying the next.
        for name in ["admin", "manager", "member", "reader"] {
            let id = match roles::get_by_name(&mut *tx, "", name).await? {
                Some(r) => r.id,
                None => {
                    let r = Role {
                        id: super::new_id(),
                        name: name.into(),
                        domain_id: String::new(),
                        description: None,
                        options: "{}".into(),
                        extra: "{}".into(),
                    };
                    roles::insert(&mut *tx, &r).await?;
                    r.id
                }
            };
            role_ids.push(id);
        }
        for pair in role_ids.windows(2) {
            roles::add_implication(&mut *tx, &pair[0], &pair[1]).await?;
        }

        let project_id = match projects::get_by_name(&mut *tx, "default", "admin").await? {
            Some(p) => p.id,
            None => {
                let p = Project {
                    id: super::new_id().into(),
                    name: "admin".into(),
                    domain_id: "default".into(),
                    parent_id: None,
                    description: "Bootstrap project for initializing the cloud.".into(),
                    enabled: true,
                    extra: "{}".into(),
                    tags: None,
                    is_domain: false,
                };
                projects::insert(&mut *tx, &p).await?;
                p.id
            }
        };
        let now = crate::db::now();
        let mut new_password = None;
        let user_id = match users::get_by_name(&mut *tx, "default", "admin").await? {
            Some(u) => {
                if let Some(pw) = &self.cfg.admin_password {
                    let same = match &u.password_hash {
                        Some(h) => passwords::verify(pw.clone(), h.clone()).await,
                        None => false,
                    };
                    if !same {
                        let hash = passwords::hash(pw.clone()).await?;
                        users::set_password(&mut tx, &u.id, &hash, now, None).await?;
                        new_password = Some(pw.clone());
                    }
                }
                u.id
            }
            None => {
                let pw = self
                    .cfg
                    .admin_password
                    .clone()
                    .unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::thread_rng(), 24));
                let u = User {
                    id: super::new_id(),
                    name: "admin".into(),
                    domain_id: "default".into(),
                    enabled: true,
                    default_project_id: Some(project_id.to_string()),
                    password_hash: None,
                    password_created_at: None,
                    password_expires_at: None,
                    failed_auth_count: 0,
                    last_failed_auth_at: None,
                    // The operator's account must never lock itself out or expire.
                    options: r#"{"ignore_lockout_failure_attempts": true, "ignore_password_expiry": true}"#.into(),
                    extra: "{}".into(),
                    created_at: now,
                };
                users::insert(&mut *tx, &u).await?;
                let hash = passwords::hash(pw.clone()).await?;
                users::set_password(&mut tx, &u.id, &hash, now, None).await?;
                new_password = Some(pw);
                u.id
            }
        };
        for target in [project_id.as_str(), "default"] {
            let kind = if target == "default" {
                "UserDomain"
            } else {
                "UserProject"
            };
            let a = Assignment {
                kind: kind.into(),
                actor_id: user_id.clone(),
                target_id: target.into(),
                role_id: role_ids[0].clone(),
                inherited: false,
            };
            assignments::insert(&mut *tx, &a).await?;
        }

        let region = &self.cfg.region;
        if catalog::get_region(&mut *tx, region).await?.is_none() {
            let r = Region {
                id: region.clone(),
                description: String::new(),
                parent_region_id: None,
                extra: "{}".into(),
            };
            catalog::insert_region(&mut *tx, &r).await?;
        }
        let services = catalog::list_services(&mut *tx).await?;
        let endpoints = catalog::list_endpoints(&mut *tx).await?;
        for s in SERVED {
            let service_id = match services.iter().find(|x| x.r#type == s.r#type) {
                Some(x) => x.id.clone(),
                None => {
                    let svc = Service {
                        id: super::new_id(),
                        r#type: s.r#type.into(),
                        enabled: true,
                        extra: serde_json::json!({"name": s.name, "description": format!("Ciel {}", s.r#type)})
                            .to_string(),
                    };
                    catalog::insert_service(&mut *tx, &svc).await?;
                    svc.id
                }
            };
            let url = format!("{}{}", self.cfg.public_url, s.path);
            for iface in ["public", "internal", "admin"] {
                match endpoints
                    .iter()
                    .find(|e| e.service_id == service_id && e.interface == iface)
                {
                    Some(e) if e.url == url && e.region_id.as_deref() == Some(region) => {}
                    Some(e) => {
                        let mut e = e.clone();
                        e.url = url.clone();
                        e.region_id = Some(region.clone());
                        catalog::update_endpoint(&mut *tx, &e).await?;
                    }
                    None => {
                        let e = Endpoint {
                            id: super::new_id(),
                            service_id: service_id.clone(),
                            interface: iface.into(),
                            region_id: Some(region.clone()),
                            url: url.clone(),
                            enabled: true,
                            extra: "{}".into(),
                        };
                        catalog::insert_endpoint(&mut *tx, &e).await?;
                    }
                }
            }
        }
        tx.commit().await?;
        self.identity_changed().await?;
        Ok(BootstrapOutcome {
            admin_project_id: project_id.into_string(),
            admin_user_id: user_id,
            admin_password: new_password,
        })
    }
}

//! Cinder's view of the machinery (admin only): services (`os-services`), backends as pools
//! (`scheduler-stats/get_pools`), hosts (`os-hosts`) and backend capabilities. Nothing here is
//! stored but what an admin sets (disabled, frozen): `cinder-scheduler` is each controller
//! (up while it beats), `cinder-volume` is each hypervisor host's storage backend as
//! `hostname@backend` (up while the host heartbeats), and capacity is the disk the host
//! registered less the volumes placed on it.

use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::hosts::{self, Host};
use crate::db::volume::services::{self as sdb, ServiceState};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

pub const SCHEDULER: &str = "cinder-scheduler";
pub const VOLUME: &str = "cinder-volume";

/// One service as `os-services` lists it.
#[derive(Debug, Clone)]
pub struct Service {
    pub binary: &'static str,
    pub host: String,
    pub up: bool,
    pub state: ServiceState,
    /// The last heartbeat (seconds).
    pub updated_at: i64,
}

/// A hypervisor host's storage backend, as a Cinder pool (`host@backend#backend`).
#[derive(Debug, Clone)]
pub struct Pool {
    pub host: Host,
    pub backend: String,
    pub total_gb: i64,
    pub allocated_gb: i64,
}

impl Pool {
    /// `host@backend`: the cinder-volume service.
    pub fn service_host(&self) -> String {
        format!("{}@{}", self.host.hostname, self.backend)
    }

    pub fn name(&self) -> String {
        format!("{}#{}", self.service_host(), self.backend)
    }

    pub fn free_gb(&self) -> i64 {
        (self.total_gb - self.allocated_gb).max(0)
    }
}

/// `PUT /os-services/{action}` with its body.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceAction {
    Enable {
        host: String,
        binary: String,
    },
    Disable {
        host: String,
        binary: String,
        reason: Option<String>,
    },
    Freeze {
        host: String,
    },
    Thaw {
        host: String,
    },
}

fn text(b: &Map<String, Value>, key: &str) -> Result<String> {
    match b.get(key) {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 255 => Ok(s.clone()),
        _ => Err(Error::bad_request(format!(
            "Invalid input received: Missing required parameter '{key}', or it is not a string of 1 to 255 characters."
        ))),
    }
}

impl ServiceAction {
    pub fn parse(action: &str, b: Map<String, Value>) -> Result<Self> {
        Ok(match action {
            "enable" => Self::Enable {
                host: text(&b, "host")?,
                binary: text(&b, "binary")?,
            },
            "disable" => Self::Disable {
                host: text(&b, "host")?,
                binary: text(&b, "binary")?,
                reason: None,
            },
            "disable-log-reason" => {
                let reason = match b.get("disabled_reason") {
                    Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 => s.clone(),
                    _ => {
                        return Err(Error::bad_request(
                            "Invalid input received: Disabled reason contains invalid characters or is too long",
                        ))
                    }
                };
                Self::Disable {
                    host: text(&b, "host")?,
                    binary: text(&b, "binary")?,
                    reason: Some(reason),
                }
            }
            "freeze" => Self::Freeze {
                host: text(&b, "host")?,
            },
            "thaw" => Self::Thaw {
                host: text(&b, "host")?,
            },
            other => return Err(Error::not_found("service action", other)),
        })
    }
}

impl App {
    fn host_up(&self, h: &Host, now: i64) -> bool {
        h.is_up(now, self.cfg.scheduler.host_down_after)
    }

    /// Every volume service: the controllers' schedulers, then each host's backends.
    pub async fn volume_services(&self, caller: &Caller) -> Result<Vec<Service>> {
        caller.require_admin()?;
        let now = crate::db::now();
        let states = sdb::list(&self.db).await?;
        let state_of = |binary: &str, host: &str| {
            states
                .iter()
                .find(|s| s.service_binary == binary && s.host == host)
                .cloned()
                .unwrap_or_else(|| ServiceState {
                    service_binary: binary.into(),
                    host: host.into(),
                    ..Default::default()
                })
        };
        let mut controllers = sdb::controllers(&self.db).await?;
        // This controller answers, whether or not its first beat is recorded yet.
        let me = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let me = if me.trim().is_empty() { "ciel" } else { me.trim() };
        match controllers.iter_mut().find(|(h, _)| h == me) {
            Some(c) => c.1 = now,
            None => controllers.push((me.to_string(), now)),
        }
        let mut out = vec![];
        for (host, seen) in controllers {
            out.push(Service {
                binary: SCHEDULER,
                up: now - seen <= self.cfg.scheduler.host_down_after,
                state: state_of(SCHEDULER, &host),
                host,
                updated_at: seen,
            });
        }
        for p in self.volume_pools_unchecked().await? {
            let host = p.service_host();
            out.push(Service {
                binary: VOLUME,
                up: self.host_up(&p.host, now),
                state: state_of(VOLUME, &host),
                host,
                updated_at: p.host.last_seen,
            });
        }
        Ok(out)
    }

    async fn volume_pools_unchecked(&self) -> Result<Vec<Pool>> {
        let mut out = vec![];
        for h in hosts::list(&self.db).await? {
            let backends: Vec<String> = serde_json::from_str(&h.storage_backends).unwrap_or_default();
            for b in backends {
                let (_, gb) = sdb::volumes_on(&self.db, &h.id, &b).await?;
                out.push(Pool {
                    total_gb: h.disk_gb,
                    allocated_gb: gb,
                    backend: b,
                    host: h.clone(),
                });
            }
        }
        Ok(out)
    }

    /// The pools (each host's storage backends).
    pub async fn volume_pools(&self, caller: &Caller) -> Result<Vec<Pool>> {
        caller.require_admin()?;
        self.volume_pools_unchecked().await
    }

    /// The pool a `host@backend` (or `host@backend#pool`) names, or 404.
    pub async fn volume_backend(&self, caller: &Caller, name: &str) -> Result<Pool> {
        caller.require_admin()?;
        let service = name.split('#').next().unwrap_or(name);
        self.volume_pools_unchecked()
            .await?
            .into_iter()
            .find(|p| p.service_host() == service)
            .ok_or_else(|| Error::not_found("host", name))
    }

    /// Per project use of a backend: `(project, volumes, GB, snapshots, GB)`.
    pub async fn volume_backend_usage(&self, caller: &Caller, p: &Pool) -> Result<Vec<(String, i64, i64, i64, i64)>> {
        caller.require_admin()?;
        let mut tx = crate::db::begin_read(&self.db).await?;
        sdb::usage_on(&mut tx, &p.host.id, &p.backend).await
    }

    /// Enables, disables, freezes or thaws a service; returns the service changed.
    pub async fn change_volume_service(&self, caller: &Caller, a: ServiceAction) -> Result<Service> {
        caller.require_admin()?;
        let services = self.volume_services(caller).await?;
        let find = |host: &str, binary: Option<&str>| {
            services
                .iter()
                .find(|s| s.host == host && binary.is_none_or(|b| b == s.binary))
                .cloned()
        };
        let now = crate::db::now();
        let mut svc = match &a {
            ServiceAction::Enable { host, binary } | ServiceAction::Disable { host, binary, .. } => {
                find(host, Some(binary)).ok_or_else(|| Error::not_found("service", format!("{binary} on {host}")))?
            }
            // Cinder freezes a backend (a cinder-volume host); anything else is bad input.
            ServiceAction::Freeze { host } | ServiceAction::Thaw { host } => {
                find(host, Some(VOLUME)).ok_or_else(|| {
                    Error::bad_request(format!("Invalid input received: Host {host} is not a volume backend."))
                })?
            }
        };
        match a {
            ServiceAction::Enable { .. } => {
                svc.state.disabled = false;
                svc.state.disabled_reason = None;
            }
            ServiceAction::Disable { reason, .. } => {
                svc.state.disabled = true;
                svc.state.disabled_reason = reason;
            }
            ServiceAction::Freeze { .. } => svc.state.frozen = true,
            ServiceAction::Thaw { .. } => svc.state.frozen = false,
        }
        svc.state.updated_at = now;
        sdb::save(&self.db, &svc.state).await?;
        Ok(svc)
    }

    /// Whether the admin disabled the `cinder-volume` service of a host's backend (the
    /// scheduler then places no new volume there).
    pub(crate) async fn backend_disabled(
        &self,
        e: impl crate::db::sql::Executor<'_>,
        hostname: &str,
        backend: &str,
    ) -> Result<bool> {
        let host = format!("{hostname}@{backend}");
        Ok(sdb::list(e)
            .await?
            .iter()
            .any(|s| s.service_binary == VOLUME && s.host == host && s.disabled))
    }
}

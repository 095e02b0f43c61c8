//! The legacy `/os-hosts` view: every service host, which in Ciel is each hypervisor host
//! (`compute`) plus the controller itself, which schedules (`scheduler`).

use super::hosts::HostView;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::error::{Error, Result};

pub struct ServiceHost {
    pub host_name: String,
    pub service: &'static str,
    pub zone: &'static str,
}

/// The name of the machine the controller runs on.
fn controller_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "controller".into())
}

impl App {
    pub async fn service_hosts(&self, caller: &Caller, zone: Option<&str>) -> Result<Vec<ServiceHost>> {
        let mut out = vec![ServiceHost {
            host_name: controller_hostname(),
            service: "scheduler",
            zone: "internal",
        }];
        for v in self.host_views(caller).await? {
            out.push(ServiceHost {
                host_name: v.host.hostname,
                service: "compute",
                zone: "nova",
            });
        }
        if let Some(z) = zone.filter(|z| !z.is_empty()) {
            out.retain(|h| h.zone == z);
        }
        Ok(out)
    }

    /// A hypervisor host by name (admins only).
    pub async fn compute_host(&self, caller: &Caller, name: &str) -> Result<HostView> {
        self.host_views(caller)
            .await?
            .into_iter()
            .find(|v| v.host.hostname == name)
            .ok_or_else(|| Error::not_found("host", name))
    }
}

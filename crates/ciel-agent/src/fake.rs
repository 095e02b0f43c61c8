//! The fake hypervisor: VMs are entries in memory that take their power state at once. Only
//! for scale benchmarks and fast tests, and only when selected explicitly.

use crate::driver::{BoxFuture, Capacity, Hypervisor};
use ciel_proto::{PowerState, VmSpec, VmState, VmStatus};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct FakeHypervisor {
    vms: Mutex<HashMap<String, (PowerState, u64)>>,
}

impl Hypervisor for FakeHypervisor {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn capacity(&self) -> Capacity {
        Capacity {
            vcpus: 64,
            memory_mb: 256 * 1024,
            disk_gb: 10_000,
        }
    }

    fn list(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move { self.vms.lock().map(|m| m.keys().cloned().collect()).unwrap_or_default() })
    }

    fn ensure<'a>(&'a self, spec: &'a VmSpec) -> BoxFuture<'a, VmStatus> {
        Box::pin(async move {
            if let Ok(mut m) = self.vms.lock() {
                m.insert(spec.id.clone(), (spec.power, spec.boot_serial));
            }
            VmStatus {
                id: spec.id.clone(),
                state: match spec.power {
                    PowerState::Running => VmState::Running,
                    PowerState::Paused => VmState::Paused,
                    PowerState::Stopped => VmState::Stopped,
                },
                boot_serial: spec.boot_serial,
                message: None,
                // A pretend VM has whatever volumes it is given.
                volumes: spec.volumes.iter().map(|v| v.volume_id.clone()).collect(),
            }
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            if let Ok(mut m) = self.vms.lock() {
                m.remove(id);
            }
            Ok(())
        })
    }
}

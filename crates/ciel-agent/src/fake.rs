//! The fake hypervisor: VMs are entries in memory that take their power state at once. Only
//! for scale benchmarks and fast tests, and only when selected explicitly.
//!
//! [`FakeHypervisor::with_qmp`] gives each VM a pretend QEMU monitor ([`FakeQemu`]) that the
//! driver drives over the real QMP client, as the QEMU driver does: power changes are QMP
//! commands, and a VM whose monitor hangs ([`FakeQemu::hang`]) fails after the QMP timeout,
//! as a stuck QEMU does.

use crate::driver::{BoxFuture, Capacity, Hypervisor};
use crate::qmp::commands::{Cont, QueryStatus, Quit, Stop, SystemReset};
use crate::qmp::fake::FakeQemu;
use crate::qmp::{Qmp, QmpError};
use ciel_proto::{PowerState, VmSpec, VmState, VmStatus};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct FakeHypervisor {
    vms: Mutex<HashMap<String, (PowerState, u64)>>,
    /// With QMP: where the pretend monitors' sockets go, and the QMP timeout.
    qmp: Option<(PathBuf, Duration)>,
    /// With QMP: the pretend QEMU of each VM that "runs" (a stopped VM has none).
    qemus: Mutex<HashMap<String, Arc<FakeQemu>>>,
    /// With QMP: the driver's connection to each VM's monitor.
    monitors: Mutex<HashMap<String, Arc<Qmp>>>,
}

impl FakeHypervisor {
    /// A fake hypervisor whose VMs have pretend QEMU monitors with sockets in `dir`, spoken
    /// to with `timeout` per command (the QEMU driver's is [`crate::qmp::TIMEOUT`]).
    pub fn with_qmp(dir: PathBuf, timeout: Duration) -> Self {
        Self {
            qmp: Some((dir, timeout)),
            ..Self::default()
        }
    }

    /// The pretend QEMU of a VM (with QMP, while the VM runs or is paused).
    pub fn qemu(&self, id: &str) -> Option<Arc<FakeQemu>> {
        self.qemus.lock().ok()?.get(id).cloned()
    }

    fn status(spec: &VmSpec, state: VmState, message: Option<String>) -> VmStatus {
        VmStatus {
            id: spec.id.clone(),
            state,
            boot_serial: spec.boot_serial,
            message,
            // A pretend VM has whatever volumes it is given.
            volumes: if state == VmState::Error {
                vec![]
            } else {
                spec.volumes.iter().map(|v| v.volume_id.clone()).collect()
            },
            slots: vec![],
            migration: None,
            // And moves an attached volume at once when told to mirror it.
            volume_migrations: if state == VmState::Error {
                vec![]
            } else {
                spec.volumes
                    .iter()
                    .filter_map(|v| v.mirror.as_ref())
                    .map(|m| ciel_proto::VolumeMigrationStatus {
                        id: m.migration_id.clone(),
                        outcome: ciel_proto::VolumeMigrationOutcome::Copied,
                    })
                    .collect()
            },
        }
    }

    /// The VM's monitor connection (a new one once closed).
    async fn monitor(&self, id: &str, qemu: &FakeQemu, timeout: Duration) -> Result<Arc<Qmp>, QmpError> {
        let open = self.monitors.lock().ok().and_then(|m| m.get(id).cloned());
        if let Some(q) = open.filter(|q| !q.is_closed()) {
            return Ok(q);
        }
        let q = Arc::new(Qmp::connect_with_timeout(qemu.socket(), timeout).await?);
        if let Ok(mut m) = self.monitors.lock() {
            m.insert(id.to_string(), q.clone());
        }
        Ok(q)
    }

    /// Stops the VM's pretend QEMU (`quit`, as the QEMU driver does).
    async fn stop_qemu(&self, id: &str, timeout: Duration) {
        let Some(qemu) = self.qemu(id) else { return };
        if let Ok(q) = self.monitor(id, &qemu, timeout).await {
            match q.execute(&Quit {}).await {
                Ok(_) | Err(QmpError::Closed { .. }) => {}
                Err(e) => tracing::warn!(vm = %id, error = %e, "QMP quit failed; killing"),
            }
        }
        if let Ok(mut m) = self.monitors.lock() {
            m.remove(id);
        }
        if let Ok(mut m) = self.qemus.lock() {
            m.remove(id);
        }
    }

    /// The QEMU driver's convergence, reduced to QMP: start (paused or not), pause, resume,
    /// reset for a reboot, stop.
    async fn converge(&self, spec: &VmSpec, dir: &std::path::Path, timeout: Duration) -> anyhow::Result<VmState> {
        if spec.power == PowerState::Stopped {
            self.stop_qemu(&spec.id, timeout).await;
            return Ok(VmState::Stopped);
        }
        // Suspend only flips the state here: no guest state is saved.
        if spec.power == PowerState::Suspended {
            self.stop_qemu(&spec.id, timeout).await;
            return Ok(VmState::Suspended);
        }
        let booted = self.vms.lock().ok().and_then(|m| m.get(&spec.id).map(|(_, b)| *b));
        let qemu = match self.qemu(&spec.id) {
            Some(q) => q,
            None => {
                std::fs::create_dir_all(dir)?;
                let q = Arc::new(FakeQemu::spawn(
                    &dir.join(format!("{}.qmp", spec.id)),
                    spec.power == PowerState::Paused,
                )?);
                if let Ok(mut m) = self.qemus.lock() {
                    m.insert(spec.id.clone(), q.clone());
                }
                if let Ok(mut m) = self.monitors.lock() {
                    m.remove(&spec.id);
                }
                q
            }
        };
        let qmp = self.monitor(&spec.id, &qemu, timeout).await?;
        let running = qmp.execute(&QueryStatus {}).await?.running;
        if spec.power == PowerState::Paused {
            if running {
                qmp.execute(&Stop {}).await?;
            }
            return Ok(VmState::Paused);
        }
        if !running {
            qmp.execute(&Cont {}).await?;
        }
        if booted.is_some_and(|b| b < spec.boot_serial) {
            qmp.execute(&SystemReset {}).await?;
        }
        Ok(VmState::Running)
    }
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
            // A cold migration moves no data here: the source stops at once, the destination
            // takes the VM over at once.
            if let Some(m) = spec.migration.as_ref().filter(|m| m.cold) {
                let source = m.role == ciel_proto::MigrationRole::Source;
                let spec = VmSpec {
                    power: if source { PowerState::Stopped } else { spec.power },
                    migration: None,
                    ..spec.clone()
                };
                let mut status = self.ensure(&spec).await;
                status.migration = Some(ciel_proto::MigrationProgress {
                    id: m.id.clone(),
                    status: if source {
                        ciel_proto::MigrationStatus::Ready
                    } else {
                        ciel_proto::MigrationStatus::Completed
                    },
                    ..Default::default()
                });
                return status;
            }
            let state = match &self.qmp {
                None => match spec.power {
                    PowerState::Running => VmState::Running,
                    PowerState::Paused => VmState::Paused,
                    PowerState::Stopped => VmState::Stopped,
                    PowerState::Suspended => VmState::Suspended,
                },
                Some((dir, timeout)) => {
                    // The VM exists from its first start on (a failed one too, to be removed).
                    if let Ok(mut m) = self.vms.lock() {
                        m.entry(spec.id.clone()).or_insert((spec.power, spec.boot_serial));
                    }
                    match self.converge(spec, dir, *timeout).await {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!(vm = %spec.id, error = %e, "VM did not converge");
                            return Self::status(spec, VmState::Error, Some(format!("{e:#}")));
                        }
                    }
                }
            };
            if let Ok(mut m) = self.vms.lock() {
                m.insert(spec.id.clone(), (spec.power, spec.boot_serial));
            }
            Self::status(spec, state, None)
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            if let Some((_, timeout)) = &self.qmp {
                self.stop_qemu(id, *timeout).await;
            }
            if let Ok(mut m) = self.vms.lock() {
                m.remove(id);
            }
            Ok(())
        })
    }
}

//! What a VM used, for the metrics: its QEMU process's CPU time and resident memory from
//! `/proc`, its disks' I/O counters from QMP `query-blockstats`.

use super::QemuDriver;
use crate::qmp::commands::QueryBlockstats;
use crate::stats::{DiskStats, VmStats};

impl QemuDriver {
    /// The figures of the VMs among `ids` whose QEMU runs; a VM whose monitor does not
    /// answer is given without disks.
    pub(super) async fn vm_stats(&self, ids: &[String]) -> Vec<VmStats> {
        let mut out = vec![];
        for id in ids {
            let Some(pid) = self.pid(id) else {
                continue;
            };
            let Some((cpu_seconds, rss_bytes)) = crate::stats::process(pid) else {
                continue;
            };
            let disks = match self.qmp(id, QueryBlockstats {}).await {
                Ok(all) => all
                    .iter()
                    .map(|b| DiskStats {
                        device: b.name(),
                        rd_bytes: b.stats.rd_bytes,
                        wr_bytes: b.stats.wr_bytes,
                        rd_ops: b.stats.rd_operations,
                        wr_ops: b.stats.wr_operations,
                    })
                    .collect(),
                Err(e) => {
                    tracing::debug!(vm = %id, error = %e, "no block statistics");
                    vec![]
                }
            };
            out.push(VmStats {
                id: id.clone(),
                cpu_seconds,
                rss_bytes,
                disks,
            });
        }
        out
    }
}

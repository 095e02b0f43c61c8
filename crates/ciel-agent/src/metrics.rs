//! The agent's Prometheus metrics, served at `/metrics` on `[metrics] listen`: event metrics
//! the agent adds to as it works (reconcile passes, errors, QMP calls), and figures read at
//! scrape time from the hosts this process runs: each VM's CPU time, memory, disk and
//! network counters, the host's CPU, memory and storage. Every series carries `host`; a
//! VM's carry `server` and `project` too (never `instance`: Prometheus' target label).
//!
//! One process may run many simulated hosts (`--simulate-hosts`): they share one endpoint,
//! and only hosts with a real driver report machine figures (simulated ones would repeat
//! the same machine's under thousands of names).

use crate::driver::Hypervisor;
use prometheus::core::{AtomicF64, GenericCounterVec};
use prometheus::{exponential_buckets, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

/// Buckets from 1 ms to about 65 s: QMP calls and reconcile passes.
fn buckets() -> Vec<f64> {
    exponential_buckets(0.001, 2.0, 17).expect("valid buckets")
}

pub static RECONCILE: LazyLock<HistogramVec> = LazyLock::new(|| {
    HistogramVec::new(
        HistogramOpts::new(
            "ciel_agent_reconcile_duration_seconds",
            "Time of a reconcile pass of the host.",
        )
        .buckets(buckets()),
        &["host"],
    )
    .expect("valid metric")
});

pub static RECONCILE_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "ciel_agent_reconcile_errors_total",
            "Reconcile passes that left something in error, by kind (vm, network, storage, load_balancer), \
             and failed exchanges with the controller (controller).",
        ),
        &["host", "kind"],
    )
    .expect("valid metric")
});

pub static VMS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    IntGaugeVec::new(
        Opts::new("ciel_agent_vms", "The host's VMs by state, as last reported."),
        &["host", "state"],
    )
    .expect("valid metric")
});

pub static QMP: LazyLock<HistogramVec> = LazyLock::new(|| {
    HistogramVec::new(
        HistogramOpts::new(
            "ciel_agent_qmp_duration_seconds",
            "Time QEMU took to answer a QMP command.",
        )
        .buckets(buckets()),
        &["host", "command"],
    )
    .expect("valid metric")
});

pub static LAST_APPLY: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    IntGaugeVec::new(
        Opts::new(
            "ciel_agent_last_apply_timestamp_seconds",
            "When the host last finished a reconcile pass (Unix time).",
        ),
        &["host"],
    )
    .expect("valid metric")
});

fn registry() -> &'static Registry {
    static R: LazyLock<Registry> = LazyLock::new(|| {
        let r = Registry::new();
        let all: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(RECONCILE.clone()),
            Box::new(RECONCILE_ERRORS.clone()),
            Box::new(VMS.clone()),
            Box::new(QMP.clone()),
            Box::new(LAST_APPLY.clone()),
        ];
        for c in all {
            r.register(c).expect("each metric registered once");
        }
        r
    });
    &R
}

/// The name of the host whose real driver runs in this process (QMP timings carry it).
static LOCAL_HOST: RwLock<String> = RwLock::new(String::new());

pub fn local_host() -> String {
    LOCAL_HOST.read().map(|h| h.clone()).unwrap_or_default()
}

/// A VM as its metrics name it.
#[derive(Debug, Clone)]
pub struct VmLabels {
    pub id: String,
    pub project: String,
    /// The memory its flavor gives it.
    pub memory_bytes: u64,
    /// Its ports (their taps carry the network counters).
    pub ports: Vec<String>,
}

/// One host this process runs, as the scrape sees it.
pub struct HostSource {
    pub hostname: String,
    pub driver: Arc<dyn Hypervisor>,
    pub state_dir: std::path::PathBuf,
    /// The VMs of the host's latest desired state.
    pub vms: RwLock<Vec<VmLabels>>,
}

static SOURCES: Mutex<Vec<Arc<HostSource>>> = Mutex::new(Vec::new());

/// Adds a host to what `/metrics` reports.
pub fn register(source: Arc<HostSource>) {
    if source.driver.kind() != "fake" {
        if let Ok(mut h) = LOCAL_HOST.write() {
            *h = source.hostname.clone();
        }
    }
    if let Ok(mut s) = SOURCES.lock() {
        s.push(source);
    }
}

/// A counter family filled at scrape time from absolute values read off the host.
fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GenericCounterVec<AtomicF64> {
    let c = GenericCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::GaugeVec {
    let g = prometheus::GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

/// The whole `/metrics` text of this process.
pub async fn render() -> String {
    let sources: Vec<Arc<HostSource>> = SOURCES.lock().map(|s| s.clone()).unwrap_or_default();
    let scraped = Registry::new();
    let host_cpu = counter(
        &scraped,
        "ciel_host_cpu_seconds_total",
        "CPU time of the host's processors, by mode.",
        &["host", "mode"],
    );
    let host_mem = gauge(
        &scraped,
        "ciel_host_memory_bytes",
        "The host's memory.",
        &["host", "kind"],
    );
    let storage = gauge(
        &scraped,
        "ciel_storage_bytes",
        "Size and free space of the host's storage backends.",
        &["host", "backend", "kind"],
    );
    let cpu = counter(
        &scraped,
        "ciel_server_cpu_seconds_total",
        "CPU time the server's QEMU process used.",
        &["host", "server", "project"],
    );
    let rss = gauge(
        &scraped,
        "ciel_server_memory_rss_bytes",
        "Resident memory of the server's QEMU process.",
        &["host", "server", "project"],
    );
    let mem = gauge(
        &scraped,
        "ciel_server_memory_bytes",
        "Memory the server's flavor gives it.",
        &["host", "server", "project"],
    );
    let disk_labels = ["host", "server", "project", "device"];
    let rd_bytes = counter(
        &scraped,
        "ciel_server_disk_read_bytes_total",
        "Bytes the server read from a disk.",
        &disk_labels,
    );
    let wr_bytes = counter(
        &scraped,
        "ciel_server_disk_write_bytes_total",
        "Bytes the server wrote to a disk.",
        &disk_labels,
    );
    let rd_ops = counter(
        &scraped,
        "ciel_server_disk_read_ops_total",
        "Reads the server made from a disk.",
        &disk_labels,
    );
    let wr_ops = counter(
        &scraped,
        "ciel_server_disk_write_ops_total",
        "Writes the server made to a disk.",
        &disk_labels,
    );
    let port_labels = ["host", "server", "project", "port"];
    let net = [
        counter(
            &scraped,
            "ciel_port_receive_bytes_total",
            "Bytes the server received on a port.",
            &port_labels,
        ),
        counter(
            &scraped,
            "ciel_port_transmit_bytes_total",
            "Bytes the server sent on a port.",
            &port_labels,
        ),
        counter(
            &scraped,
            "ciel_port_receive_packets_total",
            "Packets the server received on a port.",
            &port_labels,
        ),
        counter(
            &scraped,
            "ciel_port_transmit_packets_total",
            "Packets the server sent on a port.",
            &port_labels,
        ),
    ];
    let links = crate::stats::link_counters();
    let mut machine_done = false;
    for s in sources.iter().filter(|s| s.driver.kind() != "fake") {
        let host = s.hostname.as_str();
        if !machine_done {
            machine_done = true;
            for (mode, secs) in crate::stats::host_cpu() {
                host_cpu.with_label_values(&[host, mode]).inc_by(secs);
            }
            if let Some((total, available)) = crate::stats::host_memory() {
                host_mem.with_label_values(&[host, "total"]).set(total as f64);
                host_mem.with_label_values(&[host, "available"]).set(available as f64);
            }
            if let Some((size, free)) = crate::stats::filesystem(&s.state_dir) {
                storage.with_label_values(&[host, "file", "size"]).set(size as f64);
                storage.with_label_values(&[host, "file", "free"]).set(free as f64);
            }
        }
        let vms = s.vms.read().map(|v| v.clone()).unwrap_or_default();
        let ids: Vec<String> = vms.iter().map(|v| v.id.clone()).collect();
        let stats = s.driver.stats(&ids).await;
        for vm in &vms {
            let Some(st) = stats.iter().find(|x| x.id == vm.id) else {
                continue;
            };
            let l = [host, vm.id.as_str(), vm.project.as_str()];
            cpu.with_label_values(&l).inc_by(st.cpu_seconds);
            rss.with_label_values(&l).set(st.rss_bytes as f64);
            mem.with_label_values(&l).set(vm.memory_bytes as f64);
            for d in &st.disks {
                let l = [host, vm.id.as_str(), vm.project.as_str(), d.device.as_str()];
                rd_bytes.with_label_values(&l).inc_by(d.rd_bytes as f64);
                wr_bytes.with_label_values(&l).inc_by(d.wr_bytes as f64);
                rd_ops.with_label_values(&l).inc_by(d.rd_ops as f64);
                wr_ops.with_label_values(&l).inc_by(d.wr_ops as f64);
            }
            for port in &vm.ports {
                let Some(c) = links.get(&crate::net::tap_name(port)) else {
                    continue;
                };
                let l = [host, vm.id.as_str(), vm.project.as_str(), port.as_str()];
                // The tap's receive is what the guest sent, and the other way round.
                let guest = [c.tx_bytes, c.rx_bytes, c.tx_packets, c.rx_packets];
                for (family, v) in net.iter().zip(guest) {
                    family.with_label_values(&l).inc_by(v as f64);
                }
            }
        }
    }
    let mut families = registry().gather();
    families.extend(scraped.gather());
    families.retain(|f| !f.get_metric().is_empty());
    families.sort_by(|a, b| a.name().cmp(b.name()));
    let mut out = Vec::new();
    use prometheus::Encoder;
    if let Err(e) = prometheus::TextEncoder::new().encode(&families, &mut out) {
        tracing::error!(error = %e, "rendering metrics failed");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Serves `/metrics` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                render().await,
            )
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the agent's metrics endpoint stopped");
    }
}

impl VmLabels {
    pub fn of(spec: &ciel_proto::VmSpec) -> Self {
        VmLabels {
            id: spec.id.clone(),
            project: spec.project_id.clone(),
            memory_bytes: spec.memory_mb * 1024 * 1024,
            ports: spec.nics.iter().map(|n| n.port_id.clone()).collect(),
        }
    }
}

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
use crate::net::firewall::DropKind;
use crate::stats::VmStats;
use prometheus::core::{AtomicF64, GenericCounterVec};
use prometheus::{exponential_buckets, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::Duration;

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
    /// The host's storage backends (their size and free space).
    pub storage: Arc<crate::storage::Storage>,
    /// The VMs of the host's latest desired state.
    pub vms: RwLock<Vec<VmLabels>>,
    /// Its load balancers as the latest reconcile pass observed them (haproxy's counters,
    /// kept across reloads).
    pub load_balancers: RwLock<Vec<ciel_proto::LoadBalancerStatus>>,
}

static SOURCES: Mutex<Vec<Arc<HostSource>>> = Mutex::new(Vec::new());

impl HostSource {
    /// Whether the machine's own figures are this host's: a real driver's host, or the one
    /// host of its process (a storage node runs the fake driver on a real machine); never
    /// one of many simulated hosts, which would repeat one machine under thousands of names.
    fn measures_machine(&self, alone: bool) -> bool {
        self.driver.kind() != "fake" || alone
    }
}

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
    let dropped = counter(
        &scraped,
        "ciel_port_dropped_packets_total",
        "Packets of a port dropped by its anti-spoofing or security group rules (nftables \
         counters; a new ruleset starts them again).",
        &["host", "server", "project", "port", "rule"],
    );
    let lb_labels = ["host", "loadbalancer", "listener"];
    let lb_bytes_in = counter(
        &scraped,
        "ciel_lb_listener_receive_bytes_total",
        "Bytes a load balancer's listener received from clients.",
        &lb_labels,
    );
    let lb_bytes_out = counter(
        &scraped,
        "ciel_lb_listener_transmit_bytes_total",
        "Bytes a load balancer's listener sent to clients.",
        &lb_labels,
    );
    let lb_connections = counter(
        &scraped,
        "ciel_lb_listener_connections_total",
        "Connections a load balancer's listener accepted.",
        &lb_labels,
    );
    let lb_errors = counter(
        &scraped,
        "ciel_lb_listener_request_errors_total",
        "Requests a load balancer's listener could not serve.",
        &lb_labels,
    );
    let lb_active = gauge(
        &scraped,
        "ciel_lb_listener_active_connections",
        "Connections open on a load balancer's listener.",
        &lb_labels,
    );
    let lb_up = gauge(
        &scraped,
        "ciel_lb_listener_up",
        "Whether a load balancer's listener accepts connections.",
        &lb_labels,
    );
    let lb_members = gauge(
        &scraped,
        "ciel_lb_member_up",
        "Whether a pool member passes its health checks (1), fails them (0); members without \
         checks or administratively down are not listed.",
        &["host", "loadbalancer", "pool", "member"],
    );
    for s in &sources {
        let host = s.hostname.as_str();
        let lbs = s.load_balancers.read().map(|l| l.clone()).unwrap_or_default();
        for lb in &lbs {
            for l in &lb.listeners {
                let labels = [host, lb.id.as_str(), l.id.as_str()];
                lb_bytes_in.with_label_values(&labels).inc_by(l.stats.bytes_in as f64);
                lb_bytes_out.with_label_values(&labels).inc_by(l.stats.bytes_out as f64);
                lb_connections
                    .with_label_values(&labels)
                    .inc_by(l.stats.total_connections as f64);
                lb_errors
                    .with_label_values(&labels)
                    .inc_by(l.stats.request_errors as f64);
                lb_active
                    .with_label_values(&labels)
                    .set(l.stats.active_connections as f64);
                lb_up.with_label_values(&labels).set(if l.up { 1.0 } else { 0.0 });
            }
            for m in &lb.members {
                let up = match m.health {
                    ciel_proto::MemberState::Up => 1.0,
                    ciel_proto::MemberState::Down => 0.0,
                    _ => continue,
                };
                lb_members
                    .with_label_values(&[host, lb.id.as_str(), m.pool_id.as_str(), m.id.as_str()])
                    .set(up);
            }
        }
    }
    let links = crate::stats::link_counters();
    let drops = if sources.iter().any(|s| s.driver.wires_network()) {
        crate::net::firewall::read_drop_counters().await
    } else {
        Default::default()
    };
    let alone = sources.len() == 1;
    let mut machine_done = false;
    for s in sources.iter().filter(|s| s.measures_machine(alone)) {
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
            for c in s.storage.capacities().await {
                storage.with_label_values(&[host, c.backend, "size"]).set(c.size as f64);
                storage.with_label_values(&[host, c.backend, "free"]).set(c.free as f64);
            }
        }
        for (vm, st) in measure(s).await {
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
                let tap = crate::net::tap_name(port);
                for kind in [
                    DropKind::AntiSpoofing,
                    DropKind::SecurityGroupEgress,
                    DropKind::SecurityGroupIngress,
                ] {
                    if let Some(n) = drops.get(&(tap.clone(), kind)) {
                        let l = [host, vm.id.as_str(), vm.project.as_str(), port.as_str(), kind.label()];
                        dropped.with_label_values(&l).inc_by(*n as f64);
                    }
                }
                let Some(c) = links.get(&tap) else {
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

/// The host's VMs the driver could measure, with what it measured.
async fn measure(s: &HostSource) -> Vec<(VmLabels, VmStats)> {
    let vms = s.vms.read().map(|v| v.clone()).unwrap_or_default();
    let ids: Vec<String> = vms.iter().map(|v| v.id.clone()).collect();
    let mut stats = s.driver.stats(&ids).await;
    vms.into_iter()
        .filter_map(|vm| {
            let i = stats.iter().position(|x| x.id == vm.id)?;
            Some((vm, stats.swap_remove(i)))
        })
        .collect()
}

/// What the host sends for the dashboard's graphs every metering interval: its own figures
/// (real drivers only) and each VM's, counters summed over its disks and ports.
pub async fn samples(s: &HostSource) -> ciel_proto::SamplesReport {
    let alone = SOURCES.lock().map(|all| all.len() == 1).unwrap_or(false);
    if !s.measures_machine(alone) {
        return Default::default();
    }
    // Shared pools (Ceph) are the cluster's, not the host's: in the metrics only. Read
    // before the counters, so that nothing slow comes between them and the send.
    let capacities: Vec<_> = s.storage.capacities().await.into_iter().filter(|c| !c.shared).collect();
    let cpu = crate::stats::host_cpu();
    let cpu_total: f64 = cpu.iter().map(|(_, v)| v).sum();
    let cpu_idle: f64 = cpu
        .iter()
        .filter(|(mode, _)| matches!(*mode, "idle" | "iowait"))
        .map(|(_, v)| v)
        .sum();
    let (memory_total, memory_available) = crate::stats::host_memory().unwrap_or_default();
    let host = ciel_proto::HostSample {
        cpu_total_seconds: cpu_total,
        cpu_busy_seconds: cpu_total - cpu_idle,
        memory_total_bytes: memory_total,
        memory_available_bytes: memory_available,
        storage_size_bytes: capacities.iter().fold(0u64, |a, c| a.saturating_add(c.size)),
        storage_free_bytes: capacities.iter().fold(0u64, |a, c| a.saturating_add(c.free)),
    };
    let links = crate::stats::link_counters();
    let servers = measure(s)
        .await
        .into_iter()
        .map(|(vm, st)| {
            let ports: Vec<_> = vm
                .ports
                .iter()
                .filter_map(|p| links.get(&crate::net::tap_name(p)))
                .collect();
            ciel_proto::ServerSample {
                server_id: vm.id,
                cpu_seconds: st.cpu_seconds,
                memory_rss_bytes: st.rss_bytes,
                disk_read_bytes: st.disks.iter().map(|d| d.rd_bytes).sum(),
                disk_write_bytes: st.disks.iter().map(|d| d.wr_bytes).sum(),
                // The tap's transmit is what the guest received.
                network_rx_bytes: ports.iter().map(|c| c.tx_bytes).sum(),
                network_tx_bytes: ports.iter().map(|c| c.rx_bytes).sum(),
            }
        })
        .collect();
    ciel_proto::SamplesReport {
        host: Some(host),
        servers,
    }
}

/// Sends the host's samples to the controller it is registered with, every interval the
/// controller answers with (a missed one is simply skipped: the counters are cumulative).
pub async fn send_samples(source: Arc<HostSource>, http: reqwest::Client, link: crate::net::ControllerLink) {
    let mut interval = Duration::from_secs(60);
    // The first soon after start, so a new host has a point to draw from.
    tokio::time::sleep(Duration::from_secs(5)).await;
    loop {
        let target = link.read().ok().and_then(|l| l.clone());
        if let Some((base, token)) = target {
            let report = samples(&source).await;
            if report.host.is_some() || !report.servers.is_empty() {
                let sent = http
                    .post(format!("{base}/samples"))
                    .bearer_auth(&token)
                    .json(&report)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status());
                match sent {
                    Ok(resp) => match resp.json::<ciel_proto::SamplesAck>().await {
                        Ok(ack) => interval = Duration::from_secs(ack.interval_secs.clamp(1, 3600)),
                        Err(e) => tracing::debug!(error = %e, "unexpected answer to samples"),
                    },
                    Err(e) => tracing::debug!(error = %e, "samples not sent"),
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
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

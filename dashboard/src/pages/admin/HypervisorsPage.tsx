// Admin: the hypervisors with their load (os-hypervisors/detail) and, from Ciel's samples,
// their CPU, memory and storage over the last hour.
import { hostSamples, PERIOD_SECONDS } from "../../api/ciel";
import { listHypervisors } from "../../api/compute";
import { Meter } from "../../components/Charts";
import { ErrorNote } from "../../components/ErrorNote";
import { Icon } from "../../components/Icon";
import { Card, EmptyState, formatMiB, Loading, PageHeader } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { formatValue, SERIES_COLORS, TimeSeriesChart } from "../../components/TimeSeries";
import { useResource } from "../../hooks/useResource";

export function HypervisorsPage() {
  const hv = useResource(listHypervisors, [], 5000);
  const list = hv.data ?? [];
  return (
    <>
      <PageHeader title="Hypervisors" subtitle="Compute hosts and their load; vCPUs are placed with the scheduler's allocation ratio." />
      <ErrorNote message={hv.error} />
      {hv.loading && !hv.data ? <Loading what="hypervisors" /> : list.length === 0 ? <Card><EmptyState icon="cpu" title="No hypervisors" hint="Join a host with ciel agent." /></Card> : (
        <div className="card-grid" data-testid="hypervisors">
          {list.map((h) => (
            <Card key={h.id} className="hv-card" testId="hypervisor-card">
              <div className="hv-head">
                <div className="hv-icon"><Icon name="cpu" size={22} /></div>
                <div>
                  <h3>{h.hypervisor_hostname}</h3>
                  <div className="muted small">{h.hypervisor_type} · {h.host_ip ?? ""}</div>
                </div>
                <div className="spacer" />
                <StatusBadge status={h.state} />
                <StatusBadge status={h.status} />
              </div>
              <div className="hv-metrics">
                <Metric label="vCPUs" used={h.vcpus_used} total={h.vcpus} text={`${h.vcpus_used} of ${h.vcpus}${h.vcpus_used > h.vcpus ? " (overcommitted)" : ""}`} />
                <Metric label="Memory" used={h.memory_mb_used} total={h.memory_mb} text={`${formatMiB(h.memory_mb_used)} of ${formatMiB(h.memory_mb)}`} />
                <Metric label="Local disk" used={h.local_gb_used} total={h.local_gb} text={`${h.local_gb_used} of ${h.local_gb} GiB`} />
              </div>
              <HostGraphs host={h.hypervisor_hostname} />
              <div className="hv-foot"><strong>{h.running_vms}</strong> running instance{h.running_vms === 1 ? "" : "s"}</div>
            </Card>
          ))}
        </div>
      )}
    </>
  );
}

function Metric({ label, used, total, text }: { label: string; used: number; total: number; text: string }) {
  return (
    <div className="meter-item">
      <div className="meter-head"><span>{label}</span><span className="muted">{text}</span></div>
      <Meter used={used} total={total} />
    </div>
  );
}

/** The host's samples of the last hour, read again every 15 s. */
function HostGraphs({ host }: { host: string }) {
  const samples = useResource(() => hostSamples(host, "hour"), [host], 15000);
  const d = samples.data;
  const end = Math.floor(Date.now() / 1000);
  const start = end - PERIOD_SECONDS.hour;
  const last = d?.points[d.points.length - 1];
  const common = { times: d?.points.map((p) => p.at) ?? [], start, end, interval: d?.interval ?? 60, small: true };
  const of = (used: number, total: number) => `${formatValue(used, "bytes")} of ${formatValue(total, "bytes")}`;
  return (
    <div className="hv-graphs" data-testid="host-graphs">
      <div className="hv-graphs-title">Last hour</div>
      <ErrorNote message={samples.error} title="The samples could not be read:" />
      {!d ? (
        !samples.error && <Loading what="the samples" />
      ) : d.points.length === 0 ? (
        <p className="muted small" data-testid="host-graphs-empty">No samples yet: the host sends one every {d.interval} s.</p>
      ) : (
        <>
          <TimeSeriesChart
            {...common}
            testId="host-chart-cpu"
            title="CPU"
            unit="percent"
            minTop={100}
            series={[{ label: "CPU", color: SERIES_COLORS[0], values: d.points.map((p) => p.cpu_percent) }]}
            summary={last ? formatValue(last.cpu_percent, "percent") : undefined}
          />
          <TimeSeriesChart
            {...common}
            testId="host-chart-memory"
            title="Memory used"
            unit="bytes"
            series={[{ label: "Used", color: SERIES_COLORS[0], values: d.points.map((p) => p.memory_used_bytes) }]}
            reference={last && last.memory_total_bytes > 0 ? { value: last.memory_total_bytes, label: "Total" } : undefined}
            summary={last ? of(last.memory_used_bytes, last.memory_total_bytes) : undefined}
          />
          <TimeSeriesChart
            {...common}
            testId="host-chart-storage"
            title="Storage used"
            unit="bytes"
            series={[{ label: "Used", color: SERIES_COLORS[0], values: d.points.map((p) => p.storage_used_bytes) }]}
            reference={last && last.storage_size_bytes > 0 ? { value: last.storage_size_bytes, label: "Size" } : undefined}
            summary={last ? of(last.storage_used_bytes, last.storage_size_bytes) : undefined}
          />
        </>
      )}
    </div>
  );
}

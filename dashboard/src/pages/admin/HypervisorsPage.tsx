// Admin: the hypervisors with their load (os-hypervisors/detail).
import { listHypervisors } from "../../api/compute";
import { Meter } from "../../components/Charts";
import { ErrorNote } from "../../components/ErrorNote";
import { Icon } from "../../components/Icon";
import { Card, EmptyState, formatMiB, Loading, PageHeader } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
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

// Quota usage of the project as charts: Nova limits, Cinder limits, Neutron quota details.
import { computeLimits, listServers } from "../api/compute";
import { networkQuotaDetails } from "../api/network";
import { volumeLimits } from "../api/volume";
import { Meter, UsageDonut } from "../components/Charts";
import { ErrorNote } from "../components/ErrorNote";
import { Card, formatMiB, Loading, PageHeader } from "../components/Page";
import { StatusBadge, statusTone } from "../components/StatusBadge";
import { useResource } from "../hooks/useResource";
import { useSignedIn } from "../session";

const NETWORK_ROWS: [string, string][] = [
  ["network", "Networks"],
  ["subnet", "Subnets"],
  ["router", "Routers"],
  ["port", "Ports"],
  ["security_group", "Security groups"],
  ["security_group_rule", "Security group rules"],
];

export function OverviewPage() {
  const session = useSignedIn();
  const compute = useResource(computeLimits, [], 10000);
  const volume = useResource(volumeLimits, [], 10000);
  const network = useResource(() => networkQuotaDetails(session.projectId ?? ""), [session.projectId], 10000);
  const servers = useResource(listServers, [], 5000);

  const byStatus = new Map<string, number>();
  for (const s of servers.data ?? []) byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1);
  const maxCount = Math.max(1, ...byStatus.values());

  return (
    <>
      <PageHeader title="Overview" subtitle={`Resource usage of project ${session.projectName ?? ""} against its quotas`} />
      <Card title="Quota usage" testId="overview-quotas">
        <ErrorNote message={compute.error} title="Compute limits could not be read:" />
        <ErrorNote message={volume.error} title="Volume limits could not be read:" />
        <ErrorNote message={network.error} title="Network quotas could not be read:" />
        <div className="donut-row">
          {compute.data && (
            <>
              <UsageDonut label="Instances" used={compute.data.totalInstancesUsed} limit={compute.data.maxTotalInstances} />
              <UsageDonut label="vCPUs" used={compute.data.totalCoresUsed} limit={compute.data.maxTotalCores} />
              <UsageDonut label="RAM" used={compute.data.totalRAMUsed} limit={compute.data.maxTotalRAMSize} format={formatMiB} />
            </>
          )}
          {volume.data && (
            <>
              <UsageDonut label="Volumes" used={volume.data.totalVolumesUsed} limit={volume.data.maxTotalVolumes} />
              <UsageDonut label="Volume storage" used={volume.data.totalGigabytesUsed} limit={volume.data.maxTotalVolumeGigabytes} unit="GiB" />
            </>
          )}
          {network.data?.floatingip && (
            <UsageDonut label="Floating IPs" used={network.data.floatingip.used} limit={network.data.floatingip.limit} />
          )}
          {!compute.data && !compute.error && <Loading what="quotas" />}
        </div>
      </Card>
      <div className="grid-2">
        <Card title="Instances by status" testId="overview-status">
          {servers.data && servers.data.length === 0 && <p className="muted">No instances yet. <a href="#/instances/launch">Launch one</a>.</p>}
          <div className="bar-chart">
            {[...byStatus.entries()].sort().map(([status, count]) => (
              <div className="bar-row" key={status}>
                <span className="bar-label">{status}</span>
                <div className="bar-track">
                  <div className={`bar-fill tone-${statusTone(status)}`} style={{ width: `${(count / maxCount) * 100}%` }} />
                </div>
                <span className="bar-value">{count}</span>
              </div>
            ))}
          </div>
          {servers.data && servers.data.length > 0 && (
            <div className="recent">
              <div className="recent-title">Recently created</div>
              {servers.data
                .slice()
                .sort((a, b) => b.created.localeCompare(a.created))
                .slice(0, 4)
                .map((s) => (
                  <a key={s.id} className="recent-row" href={`#/instances/${s.id}`}>
                    <span>{s.name}</span>
                    <StatusBadge status={s.status} />
                  </a>
                ))}
            </div>
          )}
        </Card>
      <Card title="Network resources" testId="overview-network">
        {network.data ? (
          <div className="meter-list">
            {NETWORK_ROWS.filter(([k]) => network.data?.[k]).map(([k, label]) => {
              const q = network.data![k];
              return (
                <div className="meter-item" key={k}>
                  <div className="meter-head">
                    <span>{label}</span>
                    <span className="muted">
                      {q.used} / {q.limit < 0 ? "∞" : q.limit}
                    </span>
                  </div>
                  <Meter used={q.used} total={q.limit < 0 ? 0 : q.limit} />
                </div>
              );
            })}
          </div>
        ) : (
          !network.error && <Loading what="network quotas" />
        )}
      </Card>
      </div>
    </>
  );
}

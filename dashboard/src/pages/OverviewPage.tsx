// Quota usage of the project as charts: Nova limits, Cinder limits, Neutron quota details;
// and its metered usage today or this month (Ciel's /ciel/v1/usage).
import { useState } from "react";
import { ProjectUsage, usageReport } from "../api/ciel";
import { computeLimits, listServers } from "../api/compute";
import { networkQuotaDetails } from "../api/network";
import { volumeLimits } from "../api/volume";
import { Meter, UsageDonut } from "../components/Charts";
import { ErrorNote } from "../components/ErrorNote";
import { Card, formatMiB, Loading, PageHeader } from "../components/Page";
import { StatusBadge, statusTone } from "../components/StatusBadge";
import { PeriodSwitch } from "../components/TimeSeries";
import { useResource } from "../hooks/useResource";
import { useSignedIn } from "../session";

const USAGE_ROWS: [Exclude<keyof ProjectUsage, "project_id">, string, string][] = [
  ["server_hours", "Servers", "h"],
  ["vcpu_hours", "vCPUs", "vCPU·h"],
  ["ram_gib_hours", "RAM", "GiB·h"],
  ["disk_gib_hours", "Root disks", "GiB·h"],
  ["volume_gib_hours", "Volumes", "GiB·h"],
  ["floating_ip_hours", "Floating IPs", "h"],
  ["load_balancer_hours", "Load balancers", "h"],
];

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
      <UsageCard projectId={session.projectId} />
    </>
  );
}

/** Hours with 2 decimals while small, fewer as they grow. */
function formatHours(h: number): string {
  if (h >= 1000) return Math.round(h).toLocaleString();
  if (h >= 100) return h.toFixed(1);
  return h.toFixed(2);
}

/** The project's metered usage since 00:00 UTC today, or since the 1st of the month. */
function UsageCard({ projectId }: { projectId: string | null }) {
  const [period, setPeriod] = useState<"today" | "month">("today");
  const now = new Date();
  const start =
    period === "today"
      ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
      : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const startKey = start.getTime();
  const usage = useResource(() => usageReport(new Date(startKey), projectId), [projectId, startKey], 30000);
  const mine = usage.data?.projects.find((p) => p.project_id === projectId);
  const since = start.toLocaleDateString([], { timeZone: "UTC", month: "short", day: "numeric" });
  return (
    <Card
      title={period === "today" ? "Usage today" : "Usage this month"}
      testId="overview-usage"
      actions={<PeriodSwitch value={period} options={[["today", "Today"], ["month", "This month"]]} onChange={setPeriod} testIdPrefix="usage" />}
    >
      <p className="muted small">Metered since {since}, 00:00 UTC: the hours each resource existed, those of vCPUs, RAM and disks weighted by their size.</p>
      <ErrorNote message={usage.error} title="The usage could not be read:" />
      {!usage.data && !usage.error ? (
        <Loading what="the usage" />
      ) : (
        <div className="usage-grid">
          {USAGE_ROWS.map(([key, label, unit]) => {
            const v = mine?.[key] ?? 0;
            return (
              <div className="usage-tile" key={key} data-testid="usage-row" data-key={key} data-value={v}>
                <div className="stat-label">{label}</div>
                <div className="stat-value">
                  {formatHours(v)}
                  <span className="usage-unit">{unit}</span>
                </div>
              </div>
            );
          })}
        </div>
      )}
    </Card>
  );
}

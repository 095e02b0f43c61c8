// One instance: its details with its monitoring graphs (Ciel's samples), its console log
// (os-getConsoleOutput) and its VNC console.
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { PERIOD_SECONDS, SamplePeriod, serverSamples } from "../api/ciel";
import { consoleOutput, deleteServer, getServer, listFlavors, serverAction, ServerAction } from "../api/compute";
import { errorText } from "../api/errors";
import { listImages } from "../api/image";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Icon } from "../components/Icon";
import { Card, Loading, PageHeader, timeAgo } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { formatValue, PeriodSwitch, SERIES_COLORS, TimeSeriesChart } from "../components/TimeSeries";
import { useResource } from "../hooks/useResource";
import { navigate } from "../router";
import { AssociateFloatingIpDialog, SnapshotDialog } from "./InstanceDialogs";
import { addressesOf, canDo, flavorName, imageName, loadFloatingByServer } from "./instanceInfo";
// noVNC is loaded only when a console is opened.
const VncConsole = lazy(() => import("./VncConsole").then((m) => ({ default: m.VncConsole })));

const TABS: [string, string][] = [
  ["overview", "Overview"],
  ["log", "Console log"],
  ["console", "Console"],
];

export function InstanceDetailPage({ id, tab }: { id: string; tab: string }) {
  const server = useResource(() => getServer(id), [id], 3000);
  const flavors = useResource(listFlavors, []);
  const images = useResource(listImages, []);
  const floating = useResource(loadFloatingByServer, [], 5000);
  const [dialog, setDialog] = useState<"snapshot" | "fip" | "delete" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const s = server.data;

  const act = async (action: ServerAction, words: string) => {
    if (!s) return;
    setError(null);
    try {
      await serverAction(s.id, action);
      setNotice(`${words} ${s.name}…`);
      void server.reload();
    } catch (e) {
      setError(`Could not ${words.toLowerCase()} ${s.name}: ${errorText(e)}`);
    }
  };

  if (!s) {
    return server.error ? (
      <>
        <PageHeader title="Instance" />
        <ErrorNote message={server.error} />
        <a href="#/instances" className="btn">Back to instances</a>
      </>
    ) : (
      <Loading what="the instance" />
    );
  }
  const can = canDo(s);
  return (
    <>
      <div className="breadcrumbs">
        <a href="#/instances">Instances</a> <Icon name="chevronRight" size={14} /> <span>{s.name}</span>
      </div>
      <PageHeader
        title={s.name}
        subtitle={s.id}
        actions={
          <>
            <StatusBadge status={s.status} />
            {can.start && <button type="button" className="btn" onClick={() => act("start", "Start")}><Icon name="play" size={15} /> Start</button>}
            {can.stop && <button type="button" className="btn" onClick={() => act("stop", "Stop")}><Icon name="stop" size={15} /> Stop</button>}
            {can.reboot && <button type="button" className="btn" onClick={() => act("reboot", "Reboot")}><Icon name="reboot" size={15} /> Reboot</button>}
            {can.pause && <button type="button" className="btn" onClick={() => act("pause", "Pause")}><Icon name="pause" size={15} /> Pause</button>}
            {can.unpause && <button type="button" className="btn" onClick={() => act("unpause", "Resume")}><Icon name="play" size={15} /> Resume</button>}
            <button type="button" className="btn" disabled={!can.snapshot} onClick={() => setDialog("snapshot")}><Icon name="camera" size={15} /> Snapshot</button>
            <button type="button" className="btn" onClick={() => setDialog("fip")}><Icon name="link" size={15} /> Floating IP</button>
            <button type="button" className="btn btn-danger-outline" onClick={() => setDialog("delete")}><Icon name="trash" size={15} /> Delete</button>
          </>
        }
      />
      {notice && <div className="notice notice-info" role="status">{notice}</div>}
      <ErrorNote message={error} onDismiss={() => setError(null)} />
      <div className="tabs" role="tablist">
        {TABS.map(([key, label]) => (
          <a key={key} role="tab" aria-selected={tab === key} className={tab === key ? "tab active" : "tab"} href={`#/instances/${s.id}${key === "overview" ? "" : `/${key}`}`}>
            {label}
          </a>
        ))}
      </div>
      {tab === "overview" && (
        <div className="grid-2">
          <Card title="Instance">
            <dl className="details">
              <dt>Status</dt><dd><StatusBadge status={s.status} /> {s["OS-EXT-STS:task_state"] && <span className="muted">{s["OS-EXT-STS:task_state"]}</span>}</dd>
              <dt>Flavor</dt><dd>{flavorName(s, flavors.data)}</dd>
              <dt>Image</dt><dd>{imageName(s, images.data)}</dd>
              <dt>Key pair</dt><dd>{s.key_name || "none"}</dd>
              <dt>Host</dt><dd>{s["OS-EXT-SRV-ATTR:host"] ?? "—"}</dd>
              <dt>Zone</dt><dd>{s["OS-EXT-AZ:availability_zone"] ?? "—"}</dd>
              <dt>Created</dt><dd>{new Date(s.created).toLocaleString()} ({timeAgo(s.created)})</dd>
              {s.fault && (<><dt>Fault</dt><dd className="error-text">{s.fault.message}</dd></>)}
            </dl>
          </Card>
          <Card title="Networking">
            <dl className="details">
              {addressesOf(s, floating.data).map((a) => (
                <FragmentRow key={a.addr} label={a.network} value={`${a.addr}${a.floating ? " (floating)" : ""}`} />
              ))}
              <dt>Security groups</dt><dd>{(s.security_groups ?? []).map((g) => g.name).join(", ") || "none"}</dd>
            </dl>
          </Card>
        </div>
      )}
      {tab === "overview" && <Monitoring serverId={s.id} />}
      {tab === "log" && <ConsoleLog serverId={s.id} />}
      {tab === "console" && (can.console ? <Card><Suspense fallback={<Loading what="the console" />}><VncConsole serverId={s.id} serverName={s.name} /></Suspense></Card> : <Card><p className="muted">The console is available while the instance is active or paused (it is {s.status.toLowerCase()}).</p></Card>)}
      {dialog === "snapshot" && <SnapshotDialog server={s} onClose={() => setDialog(null)} onDone={setNotice} />}
      {dialog === "fip" && <AssociateFloatingIpDialog server={s} onClose={() => setDialog(null)} onDone={(m) => { setNotice(m); void server.reload(); void floating.reload(); }} />}
      {dialog === "delete" && (
        <ConfirmDialog
          title={`Delete ${s.name}?`}
          message="The virtual machine and its root disk are destroyed. This cannot be undone."
          confirmLabel="Delete instance"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await deleteServer(s.id);
            navigate("/instances");
          }}
        />
      )}
    </>
  );
}

function FragmentRow({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd className="mono">{value}</dd>
    </>
  );
}

/** What the hypervisor measured of the server: CPU, memory, disk and network over the last
 * hour or day, read again every 15 s. */
function Monitoring({ serverId }: { serverId: string }) {
  const [period, setPeriod] = useState<SamplePeriod>("hour");
  const samples = useResource(() => serverSamples(serverId, period), [serverId, period], 15000);
  const d = samples.data;
  const end = Math.floor(Date.now() / 1000);
  const start = end - PERIOD_SECONDS[period];
  const times = d?.points.map((p) => p.at) ?? [];
  const last = d?.points[d.points.length - 1];
  const common = { times, start, end, interval: d?.interval ?? 60 };
  return (
    <Card
      title="Monitoring"
      testId="monitoring"
      actions={<PeriodSwitch value={period} options={[["hour", "Last hour"], ["day", "Last day"]]} onChange={setPeriod} />}
    >
      <ErrorNote message={samples.error} title="The samples could not be read:" />
      {!d ? (
        !samples.error && <Loading what="the samples" />
      ) : d.points.length === 0 ? (
        <p className="muted" data-testid="monitoring-empty">
          No samples yet: the hypervisor sends one every {d.interval} s.
        </p>
      ) : (
        <div className="monitoring-grid" data-period={period}>
          <TimeSeriesChart
            {...common}
            testId="chart-cpu"
            title={`CPU (of ${d.vcpus} vCPU${d.vcpus === 1 ? "" : "s"})`}
            unit="percent"
            minTop={100}
            series={[{ label: "CPU", color: SERIES_COLORS[0], values: d.points.map((p) => p.cpu_percent) }]}
            summary={last ? formatValue(last.cpu_percent, "percent") : undefined}
          />
          <TimeSeriesChart
            {...common}
            testId="chart-memory"
            title="Memory"
            unit="bytes"
            series={[{ label: "Resident", color: SERIES_COLORS[0], values: d.points.map((p) => p.memory_rss_bytes) }]}
            reference={d.memory_bytes > 0 ? { value: d.memory_bytes, label: "Flavor" } : undefined}
            summary={last ? `${formatValue(last.memory_rss_bytes, "bytes")} of ${formatValue(d.memory_bytes, "bytes")}` : undefined}
          />
          <TimeSeriesChart
            {...common}
            testId="chart-disk"
            title="Disk"
            unit="bytesPerSec"
            series={[
              { label: "Read", color: SERIES_COLORS[0], values: d.points.map((p) => p.disk_read_bytes_per_sec) },
              { label: "Write", color: SERIES_COLORS[1], values: d.points.map((p) => p.disk_write_bytes_per_sec) },
            ]}
          />
          <TimeSeriesChart
            {...common}
            testId="chart-network"
            title="Network"
            unit="bytesPerSec"
            series={[
              { label: "Receive", color: SERIES_COLORS[0], values: d.points.map((p) => p.network_rx_bytes_per_sec) },
              { label: "Transmit", color: SERIES_COLORS[1], values: d.points.map((p) => p.network_tx_bytes_per_sec) },
            ]}
          />
        </div>
      )}
    </Card>
  );
}

function ConsoleLog({ serverId }: { serverId: string }) {
  const [lines, setLines] = useState(200);
  const [follow, setFollow] = useState(true);
  const log = useResource(() => consoleOutput(serverId, lines), [serverId, lines], follow ? 4000 : undefined);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [log.data]);
  return (
    <Card
      title="Console log"
      actions={
        <>
          <label className="inline-field">
            Lines
            <select value={lines} onChange={(e) => setLines(Number(e.target.value))}>
              {[50, 200, 1000].map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
          </label>
          <label className="inline-field">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
          </label>
          <button type="button" className="btn btn-small" onClick={() => void log.reload()}><Icon name="refresh" size={14} /> Refresh</button>
        </>
      }
    >
      <ErrorNote message={log.error} title="The console log could not be read:" />
      {log.data === undefined && !log.error ? <Loading what="the console log" /> : (
        <pre className="console-log" ref={pre} data-testid="console-log">{log.data || "(the console is empty so far)"}</pre>
      )}
    </Card>
  );
}

// The network topology as SVG: networks as vertical bars (external first), routers and
// instances as cards wired to the networks they have ports on.
import { listServers } from "../api/compute";
import * as net from "../api/network";
import { ErrorNote } from "../components/ErrorNote";
import { Card, EmptyState, Loading, PageHeader } from "../components/Page";
import { statusTone } from "../components/StatusBadge";
import { useResource } from "../hooks/useResource";
import { navigate } from "../router";

async function load() {
  const [networks, subnets, routers, ports, servers, floatingIps] = await Promise.all([
    net.listNetworks(),
    net.listSubnets(),
    net.listRouters(),
    net.listPorts(),
    listServers(),
    net.listFloatingIps(),
  ]);
  return { networks, subnets, routers, ports, servers, floatingIps };
}

const PALETTE = ["#6366f1", "#10b981", "#f59e0b", "#ec4899", "#8b5cf6", "#14b8a6", "#0ea5e9", "#ef4444"];
const EXTERNAL_COLOR = "#64748b";
const TONE_COLORS: Record<string, string> = { green: "#10b981", blue: "#3b82f6", amber: "#f59e0b", red: "#ef4444", gray: "#94a3b8" };

const COL_W = 420;
const GAP = 110;
const BAR_W = 18;
const LEFT = 40;
const TOP = 78;
const ROW_H = 82;
const BOX_W = 176;
const BOX_H = 54;

interface Link {
  column: number;
  ip: string;
}
interface Device {
  id: string;
  kind: "router" | "instance";
  name: string;
  status: string;
  links: Link[];
  floating: string[];
}

export function TopologyPage() {
  const data = useResource(load, [], 5000);
  const d = data.data;
  return (
    <>
      <PageHeader title="Network topology" subtitle="How instances, routers and networks of this project connect. Click an instance to open it." />
      <ErrorNote message={data.error} />
      <Card testId="topology">
        {!d ? (!data.error && <Loading what="the topology" />) : <Diagram d={d} />}
        <div className="legend">
          <span><i className="legend-bar" style={{ background: EXTERNAL_COLOR }} /> external network</span>
          <span><i className="legend-bar" style={{ background: PALETTE[0] }} /> project network</span>
          <span><i className="legend-box legend-router" /> router</span>
          <span><i className="legend-box legend-instance" /> instance</span>
          <span><i className="legend-fip" /> floating IP</span>
        </div>
      </Card>
    </>
  );
}

function Diagram({ d }: { d: Awaited<ReturnType<typeof load>> }) {
  const networks = d.networks
    .slice()
    .sort((a, b) => Number(b["router:external"]) - Number(a["router:external"]) || a.name.localeCompare(b.name));
  if (networks.length === 0) return <EmptyState icon="topology" title="Nothing to draw yet" hint="Create a network to see it here." />;
  const column = new Map(networks.map((n, i) => [n.id, i]));
  const devices: Device[] = [];
  for (const r of d.routers) {
    const links: Link[] = [];
    const gw = r.external_gateway_info;
    if (gw && column.has(gw.network_id)) links.push({ column: column.get(gw.network_id)!, ip: gw.external_fixed_ips?.[0]?.ip_address ?? "" });
    for (const p of d.ports.filter((p) => p.device_id === r.id && p.device_owner === "network:router_interface"))
      if (column.has(p.network_id)) links.push({ column: column.get(p.network_id)!, ip: p.fixed_ips[0]?.ip_address ?? "" });
    devices.push({ id: r.id, kind: "router", name: r.name || r.id.slice(0, 8), status: r.status, links, floating: [] });
  }
  const servers = d.servers.slice().sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  for (const s of servers) {
    const links: Link[] = d.ports
      .filter((p) => p.device_id === s.id && column.has(p.network_id))
      .map((p) => ({ column: column.get(p.network_id)!, ip: p.fixed_ips[0]?.ip_address ?? "" }));
    const portIds = new Set(d.ports.filter((p) => p.device_id === s.id).map((p) => p.id));
    const floating = d.floatingIps.filter((f) => f.port_id && portIds.has(f.port_id)).map((f) => f.floating_ip_address);
    devices.push({ id: s.id, kind: "instance", name: s.name, status: s.status, links, floating });
  }

  const barX = (c: number) => LEFT + c * COL_W;
  const boxX = (dev: Device) => barX(dev.links.length ? Math.min(...dev.links.map((l) => l.column)) : 0) + BAR_W + GAP;
  const width = Math.max(barX(networks.length - 1) + BAR_W + GAP + BOX_W + 150, 720);
  const height = TOP + Math.max(1, devices.length) * ROW_H + 30;
  const externalCount = networks.filter((n) => n["router:external"]).length;
  const color = (n: net.Network, i: number) => (n["router:external"] ? EXTERNAL_COLOR : PALETTE[(i - externalCount) % PALETTE.length]);
  const cidrs = (n: net.Network) => d.subnets.filter((s) => s.network_id === n.id).map((s) => s.cidr).join(", ");

  return (
    <div className="topology-scroll">
      <svg className="topology" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Network topology">
        <defs>
          <filter id="card-shadow" x="-10%" y="-10%" width="120%" height="140%">
            <feDropShadow dx="0" dy="2" stdDeviation="3" floodColor="#0f172a" floodOpacity="0.10" />
          </filter>
        </defs>
        {networks.map((n, i) => (
          <g key={n.id} data-testid="topology-network" data-name={n.name}>
            <rect x={barX(i)} y={TOP - 14} width={BAR_W} height={height - TOP - 6} rx={BAR_W / 2} fill={color(n, i)} opacity={0.9} />
            <text x={barX(i) - 4} y={26} className="topo-net-name">{n.name || n.id.slice(0, 8)}</text>
            <text x={barX(i) - 4} y={44} className="topo-net-cidr">{n["router:external"] ? `external · ${cidrs(n)}` : cidrs(n) || "no subnet"}</text>
          </g>
        ))}
        {devices.map((dev, k) => {
          const y = TOP + k * ROW_H + 6;
          const x = boxX(dev);
          const cy = y + BOX_H / 2;
          const minCol = dev.links.length ? Math.min(...dev.links.map((l) => l.column)) : 0;
          const toneColor = TONE_COLORS[statusTone(dev.status)];
          return (
            <g key={dev.id} data-testid={`topology-${dev.kind}`} data-name={dev.name} className={dev.kind === "instance" ? "topo-clickable" : undefined}
              onClick={() => dev.kind === "instance" && navigate(`/instances/${dev.id}`)}>
              {dev.links.map((l, j) => {
                const bx = barX(l.column);
                const left = l.column === minCol;
                const x1 = left ? bx + BAR_W : x + BOX_W;
                const x2 = left ? x : bx;
                const ly = cy + (dev.links.filter((o) => o.column === minCol).length > 1 && left ? (j % 2 ? 8 : -8) : 0);
                const netColor = color(networks[l.column], l.column);
                return (
                  <g key={`${l.column}-${j}`}>
                    <line x1={x1} y1={ly} x2={x2} y2={ly} stroke={netColor} strokeWidth={2.5} />
                    <circle cx={left ? bx + BAR_W / 2 : bx + BAR_W / 2} cy={ly} r={5.5} fill="#fff" stroke={netColor} strokeWidth={2.5} />
                    <text x={left ? bx + BAR_W + 10 : bx - 10} y={ly - 7} textAnchor={left ? "start" : "end"} className="topo-ip">{l.ip}</text>
                  </g>
                );
              })}
              <rect x={x} y={y} width={BOX_W} height={BOX_H} rx={10} fill="#fff" stroke="#e2e8f0" filter="url(#card-shadow)" />
              <rect x={x} y={y} width={5} height={BOX_H} rx={2.5} fill={dev.kind === "router" ? "#0ea5e9" : "#6366f1"} />
              <g transform={`translate(${x + 16}, ${y + 15})`} stroke={dev.kind === "router" ? "#0ea5e9" : "#6366f1"} strokeWidth={1.8} fill="none" strokeLinecap="round">
                {dev.kind === "router" ? (
                  <>
                    <circle cx={12} cy={12} r={10} />
                    <path d="M7 9h10M14 6l3 3-3 3M17 15H7M10 12l-3 3 3 3" />
                  </>
                ) : (
                  <>
                    <rect x={2} y={3} width={20} height={8} rx={2} />
                    <rect x={2} y={13} width={20} height={8} rx={2} />
                    <path d="M6 7h.01M6 17h.01" />
                  </>
                )}
              </g>
              <text x={x + 50} y={y + 24} className="topo-dev-name">{dev.name.length > 16 ? `${dev.name.slice(0, 15)}…` : dev.name}</text>
              <circle cx={x + 54} cy={y + 38} r={4} fill={toneColor} />
              <text x={x + 63} y={y + 42} className="topo-dev-status">{dev.kind === "router" ? "router" : "instance"} · {dev.status.toLowerCase()}</text>
              {dev.floating.map((ip, i) => (
                <g key={ip} transform={`translate(${x + BOX_W + 12}, ${y + 12 + i * 24})`} data-testid="topology-floating-ip">
                  <rect width={112} height={22} rx={11} fill="#eef2ff" stroke="#c7d2fe" />
                  <circle cx={12} cy={11} r={4} fill="none" stroke="#4f46e5" strokeWidth={1.6} />
                  <text x={22} y={15} className="topo-fip">{ip}</text>
                </g>
              ))}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

// One load balancer: its details, its listeners and pools, and Octavia's status tree
// (listeners → pools → health monitor and members, each with its operating status).
import { useState } from "react";
import { errorText } from "../api/errors";
import * as lbaas from "../api/loadbalancer";
import * as net from "../api/network";
import { ErrorNote } from "../components/ErrorNote";
import { Icon } from "../components/Icon";
import { Card, Loading, PageHeader, timeAgo } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { usePollWhile, useResource } from "../hooks/useResource";
import { navigate } from "../router";
import { DeleteLoadBalancerDialog, floatingIpOf, LbFloatingIpDialog } from "./LoadBalancerDialogs";

async function load(id: string) {
  const [lb, tree, listeners, pools, ips, subnets] = await Promise.all([
    lbaas.getLoadBalancer(id),
    lbaas.statusTree(id),
    lbaas.listListeners(id),
    lbaas.listPools(id),
    net.listFloatingIps(),
    net.listSubnets(),
  ]);
  const monitors = await Promise.all(pools.filter((p) => p.healthmonitor_id).map((p) => lbaas.getHealthMonitor(p.healthmonitor_id!)));
  return { lb, tree, listeners, pools, monitors, ips, subnets };
}
type Data = Awaited<ReturnType<typeof load>>;

/** Octavia's times are naive UTC ("2026-01-02T03:04:05"). */
const utc = (t: string) => (/(Z|[+-]\d\d:?\d\d)$/.test(t) ? t : `${t}Z`);

export function LoadBalancerDetailPage({ id }: { id: string }) {
  const data = useResource(() => load(id), [id], 5000);
  const [dialog, setDialog] = useState<"fip" | "delete" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const d = data.data;
  usePollWhile(!!d && lbaas.isPending(d.lb.provisioning_status), data.reload, 2000);

  if (!d) {
    return data.error ? (
      <>
        <PageHeader title="Load balancer" />
        <ErrorNote message={data.error} />
        <a href="#/load-balancers" className="btn">Back to load balancers</a>
      </>
    ) : (
      <Loading what="the load balancer" />
    );
  }
  const { lb } = d;
  const fip = floatingIpOf(lb, d.ips);
  const subnet = d.subnets.find((s) => s.id === lb.vip_subnet_id);
  const disassociate = async () => {
    if (!fip) return;
    setError(null);
    try {
      await net.associateFloatingIp(fip.id, null);
      setNotice(`${fip.floating_ip_address} no longer points at ${lb.name || lb.id}.`);
      void data.reload();
    } catch (e) {
      setError(`Could not disassociate ${fip.floating_ip_address}: ${errorText(e)}`);
    }
  };

  return (
    <>
      <div className="breadcrumbs">
        <a href="#/load-balancers">Load balancers</a> <Icon name="chevronRight" size={14} /> <span>{lb.name || lb.id}</span>
      </div>
      <PageHeader
        title={lb.name || "(no name)"}
        subtitle={lb.id}
        actions={
          <>
            <StatusBadge status={lb.provisioning_status} />
            <StatusBadge status={lb.operating_status} />
            {fip ? (
              <button type="button" className="btn" onClick={() => void disassociate()} data-testid="lb-disassociate"><Icon name="unlink" size={15} /> Disassociate {fip.floating_ip_address}</button>
            ) : (
              <button type="button" className="btn" disabled={!lb.vip_port_id} onClick={() => setDialog("fip")} data-testid="lb-associate"><Icon name="link" size={15} /> Floating IP</button>
            )}
            <button type="button" className="btn btn-danger-outline" onClick={() => setDialog("delete")} data-testid="lb-delete"><Icon name="trash" size={15} /> Delete</button>
          </>
        }
      />
      {notice && <div className="notice notice-info" role="status">{notice}</div>}
      <ErrorNote message={error} onDismiss={() => setError(null)} />
      <ErrorNote message={data.error} />
      <div className="grid-2">
        <Card title="Load balancer">
          <dl className="details">
            <dt>Provisioning</dt><dd><StatusBadge status={lb.provisioning_status} /></dd>
            <dt>Operating</dt><dd><StatusBadge status={lb.operating_status} /></dd>
            <dt>VIP address</dt><dd className="mono">{lb.vip_address ?? "—"}</dd>
            <dt>Floating IP</dt><dd className="mono" data-testid="lb-detail-fip">{fip?.floating_ip_address ?? <span className="muted">none</span>}</dd>
            <dt>Subnet</dt><dd>{subnet ? `${subnet.name} (${subnet.cidr})` : lb.vip_subnet_id ?? "—"}</dd>
            <dt>Provider</dt><dd>{lb.provider}</dd>
            <dt>Created</dt><dd>{new Date(utc(lb.created_at)).toLocaleString()} ({timeAgo(utc(lb.created_at))})</dd>
          </dl>
        </Card>
        <Card title="Listeners and pools">
          <Configuration d={d} />
        </Card>
      </div>
      <Card title="Status tree" className="lb-tree-card">
        <StatusTree tree={d.tree} />
      </Card>
      {dialog === "fip" && <LbFloatingIpDialog lb={lb} onClose={() => setDialog(null)} onDone={(m) => { setNotice(m); void data.reload(); }} />}
      {dialog === "delete" && <DeleteLoadBalancerDialog lb={lb} floatingIp={fip} onClose={() => setDialog(null)} onDone={() => navigate("/load-balancers")} />}
    </>
  );
}

function Configuration({ d }: { d: Data }) {
  if (d.listeners.length === 0) return <p className="muted">No listeners.</p>;
  return (
    <dl className="details">
      {d.listeners.map((l) => {
        const pool = d.pools.find((p) => p.id === l.default_pool_id);
        const monitor = pool && d.monitors.find((m) => m.id === pool.healthmonitor_id);
        return (
          <ListenerRows key={l.id} label={l.name || l.id.slice(0, 8)}
            value={`${l.protocol} :${l.protocol_port}`}
            pool={pool ? `${pool.protocol}, ${pool.lb_algorithm.toLowerCase().replace(/_/g, " ")}` : "no default pool"}
            monitor={monitor ? `${monitor.type} every ${monitor.delay} s, timeout ${monitor.timeout} s, ${monitor.max_retries} retries` : "none"} />
        );
      })}
    </dl>
  );
}

function ListenerRows({ label, value, pool, monitor }: { label: string; value: string; pool: string; monitor: string }) {
  return (
    <>
      <dt>Listener</dt><dd><span className="mono">{value}</span> <span className="muted small">{label}</span></dd>
      <dt>Pool</dt><dd>{pool}</dd>
      <dt>Health monitor</dt><dd>{monitor}</dd>
    </>
  );
}

/** A node of the tree: its kind, name, and statuses (provisioning only while not ACTIVE). */
function Node({ icon, kind, name, node, extra }: { icon: "balancer" | "link" | "network" | "server" | "eye"; kind: string; name: string; node: lbaas.StatusNode; extra?: string }) {
  return (
    <div className="tree-node">
      <Icon name={icon} size={16} />
      <span className="tree-kind">{kind}</span>
      <span className="strong">{name}</span>
      {extra && <span className="mono muted small">{extra}</span>}
      <span className="spacer" />
      {node.provisioning_status !== "ACTIVE" && <StatusBadge status={node.provisioning_status} />}
      <StatusBadge status={node.operating_status} />
    </div>
  );
}

export function StatusTree({ tree }: { tree: lbaas.LoadBalancerStatus }) {
  return (
    <ul className="tree" data-testid="status-tree">
      <li data-testid="tree-loadbalancer" data-operating={tree.operating_status}>
        <Node icon="balancer" kind="Load balancer" name={tree.name || tree.id.slice(0, 8)} node={tree} />
        <ul>
          {tree.listeners.length === 0 && <li className="muted small">no listeners</li>}
          {tree.listeners.map((l) => (
            <li key={l.id} data-testid="tree-listener" data-operating={l.operating_status}>
              <Node icon="link" kind="Listener" name={l.name || l.id.slice(0, 8)} node={l} />
              <ul>
                {l.pools.map((p) => (
                  <li key={p.id} data-testid="tree-pool" data-operating={p.operating_status}>
                    <Node icon="network" kind="Pool" name={p.name || p.id.slice(0, 8)} node={p} />
                    <ul>
                      {p.health_monitor && (
                        <li data-testid="tree-monitor" data-operating={p.health_monitor.operating_status}>
                          <Node icon="eye" kind="Health monitor" name={p.health_monitor.name || p.health_monitor.type} node={p.health_monitor} extra={p.health_monitor.name ? p.health_monitor.type : undefined} />
                        </li>
                      )}
                      {p.members.length === 0 && <li className="muted small">no members</li>}
                      {p.members.map((m) => (
                        <li key={m.id} data-testid="tree-member" data-address={m.address} data-operating={m.operating_status}>
                          <Node icon="server" kind="Member" name={m.name || m.address} node={m} extra={`${m.address}:${m.protocol_port}`} />
                        </li>
                      ))}
                    </ul>
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      </li>
    </ul>
  );
}

// Floating IPs: allocate from an external network, associate with an instance's port,
// disassociate, release.
import { useState } from "react";
import { listServers, Server } from "../api/compute";
import { errorText } from "../api/errors";
import * as net from "../api/network";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Field } from "../components/Field";
import { Icon } from "../components/Icon";
import { Modal } from "../components/Modal";
import { Card, EmptyState, Loading, PageHeader } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { useResource } from "../hooks/useResource";

async function load() {
  const [ips, networks, ports, servers] = await Promise.all([net.listFloatingIps(), net.listNetworks(), net.listPorts(), listServers()]);
  return { ips, networks, ports, servers };
}
type Data = Awaited<ReturnType<typeof load>>;

function instanceOf(portId: string | null, d: Data): Server | undefined {
  const port = d.ports.find((p) => p.id === portId);
  return port ? d.servers.find((s) => s.id === port.device_id) : undefined;
}

export function FloatingIpsPage() {
  const data = useResource(load, [], 4000);
  const [dialog, setDialog] = useState<{ kind: "allocate" } | { kind: "associate" | "release"; ip: net.FloatingIp } | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const d = data.data;
  const ips = (d?.ips ?? []).slice().sort((a, b) => a.floating_ip_address.localeCompare(b.floating_ip_address, undefined, { numeric: true }));

  const disassociate = async (ip: net.FloatingIp) => {
    setRowError(null);
    try {
      await net.associateFloatingIp(ip.id, null);
      void data.reload();
    } catch (e) {
      setRowError(`Could not disassociate ${ip.floating_ip_address}: ${errorText(e)}`);
    }
  };

  return (
    <>
      <PageHeader
        title="Floating IPs"
        subtitle="Public addresses from the external network, mapped to instances by their router."
        actions={<button type="button" className="btn btn-primary" onClick={() => setDialog({ kind: "allocate" })} data-testid="allocate-fip"><Icon name="plus" size={16} /> Allocate IP</button>}
      />
      <ErrorNote message={rowError} onDismiss={() => setRowError(null)} />
      <Card>
        <ErrorNote message={data.error} />
        {!d ? (!data.error && <Loading what="floating IPs" />) : ips.length === 0 ? (
          <EmptyState icon="globe" title="No floating IPs" hint="Allocate an address from the external network, then associate it with an instance." />
        ) : (
          <table className="table" data-testid="fips-table">
            <thead><tr><th>Address</th><th>Mapped to</th><th>Pool</th><th>Status</th><th className="col-actions" /></tr></thead>
            <tbody>
              {ips.map((ip) => {
                const server = instanceOf(ip.port_id, d);
                return (
                  <tr key={ip.id} data-testid="fip-row" data-address={ip.floating_ip_address} data-port={ip.port_id ?? ""}>
                    <td className="mono strong">{ip.floating_ip_address}</td>
                    <td>
                      {ip.port_id ? (
                        <>
                          {server ? <a href={`#/instances/${server.id}`}>{server.name}</a> : <span className="mono small">port {ip.port_id.slice(0, 8)}</span>}
                          <span className="muted mono small"> · {ip.fixed_ip_address}</span>
                        </>
                      ) : <span className="muted">not associated</span>}
                    </td>
                    <td>{d.networks.find((n) => n.id === ip.floating_network_id)?.name ?? "—"}</td>
                    <td><StatusBadge status={ip.status} /></td>
                    <td className="col-actions">
                      <div className="row-buttons">
                        {ip.port_id ? (
                          <button type="button" className="btn btn-small" onClick={() => void disassociate(ip)}><Icon name="unlink" size={14} /> Disassociate</button>
                        ) : (
                          <button type="button" className="btn btn-small" onClick={() => setDialog({ kind: "associate", ip })}><Icon name="link" size={14} /> Associate</button>
                        )}
                        <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setDialog({ kind: "release", ip })}><Icon name="trash" size={14} /> Release</button>
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
      {dialog?.kind === "allocate" && d && <AllocateDialog data={d} onClose={() => setDialog(null)} onDone={() => void data.reload()} />}
      {dialog?.kind === "associate" && d && <AssociateDialog ip={dialog.ip} data={d} onClose={() => setDialog(null)} onDone={() => void data.reload()} />}
      {dialog?.kind === "release" && (
        <ConfirmDialog title={`Release ${dialog.ip.floating_ip_address}?`} message="The address goes back to the pool; another project may get it." confirmLabel="Release"
          onClose={() => setDialog(null)} onConfirm={async () => { await net.releaseFloatingIp(dialog.ip.id); void data.reload(); }} />
      )}
    </>
  );
}

function AllocateDialog({ data, onClose, onDone }: { data: Data; onClose: () => void; onDone: () => void }) {
  const externals = data.networks.filter((n) => n["router:external"]);
  const [network, setNetwork] = useState(externals[0]?.id ?? "");
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    if (!network) return setError("There is no external network to allocate from.");
    try {
      await net.allocateFloatingIp(network);
      onDone();
      onClose();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <Modal title="Allocate floating IP" onClose={onClose}
      footer={<><button type="button" className="btn" onClick={onClose}>Cancel</button><button type="button" className="btn btn-primary" onClick={() => void submit()} data-testid="allocate-submit">Allocate</button></>}>
      <Field label="External network" htmlFor="alloc-net">
        <select id="alloc-net" value={network} onChange={(e) => setNetwork(e.target.value)}>
          {externals.map((n) => <option key={n.id} value={n.id}>{n.name}</option>)}
        </select>
      </Field>
      <ErrorNote message={error} />
    </Modal>
  );
}

function AssociateDialog({ ip, data, onClose, onDone }: { ip: net.FloatingIp; data: Data; onClose: () => void; onDone: () => void }) {
  const targets = data.ports
    .filter((p) => p.device_owner.startsWith("compute:"))
    .flatMap((p) => p.fixed_ips.map((f) => ({ port: p, ip: f.ip_address, server: data.servers.find((s) => s.id === p.device_id) })))
    .filter((t) => t.server);
  const [choice, setChoice] = useState(targets[0] ? `${targets[0].port.id}|${targets[0].ip}` : "");
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    if (!choice) return setError("Choose an instance port.");
    const [portId, fixed] = choice.split("|");
    try {
      await net.associateFloatingIp(ip.id, portId, fixed);
      onDone();
      onClose();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <Modal title={`Associate ${ip.floating_ip_address}`} onClose={onClose}
      footer={<><button type="button" className="btn" onClick={onClose}>Cancel</button><button type="button" className="btn btn-primary" onClick={() => void submit()}>Associate</button></>}>
      <Field label="Instance and address" htmlFor="assoc-port" hint="The instance's network needs a router with a gateway on this address's network.">
        <select id="assoc-port" value={choice} onChange={(e) => setChoice(e.target.value)}>
          {targets.length === 0 && <option value="">No instance ports</option>}
          {targets.map((t) => <option key={t.port.id + t.ip} value={`${t.port.id}|${t.ip}`}>{t.server!.name} — {t.ip}</option>)}
        </select>
      </Field>
      <ErrorNote message={error} />
    </Modal>
  );
}

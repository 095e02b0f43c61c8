// Routers: create with an external gateway, set or clear the gateway, add and remove
// interfaces on subnets, delete (its interfaces are removed first).
import { useState } from "react";
import { errorText } from "../api/errors";
import * as net from "../api/network";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Field, validate } from "../components/Field";
import { Icon } from "../components/Icon";
import { ActionMenu } from "../components/Menu";
import { Modal } from "../components/Modal";
import { Card, EmptyState, Loading, PageHeader } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { useResource } from "../hooks/useResource";

async function load() {
  const [routers, networks, subnets, ports] = await Promise.all([
    net.listRouters(),
    net.listNetworks(),
    net.listSubnets(),
    net.listPorts({ device_owner: "network:router_interface" }),
  ]);
  return { routers, networks, subnets, ports };
}
type Data = Awaited<ReturnType<typeof load>>;

function interfacesOf(r: net.Router, d: Data) {
  return d.ports
    .filter((p) => p.device_id === r.id)
    .flatMap((p) => p.fixed_ips.map((ip) => ({ port: p, ip: ip.ip_address, subnet: d.subnets.find((s) => s.id === ip.subnet_id) })));
}

type Dialog = { kind: "create" } | { kind: "add"; router: net.Router } | { kind: "delete"; router: net.Router } | null;

export function RoutersPage() {
  const data = useResource(load, [], 5000);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const d = data.data;
  const externals = d?.networks.filter((n) => n["router:external"]) ?? [];
  const netName = (id: string) => d?.networks.find((n) => n.id === id)?.name ?? id.slice(0, 8);

  const run = async (what: string, f: () => Promise<unknown>) => {
    setRowError(null);
    try {
      await f();
      void data.reload();
    } catch (e) {
      setRowError(`${what}: ${errorText(e)}`);
    }
  };

  return (
    <>
      <PageHeader
        title="Routers"
        subtitle="Routers join subnets together and to the external network (SNAT, floating IPs)."
        actions={<button type="button" className="btn btn-primary" onClick={() => setDialog({ kind: "create" })} data-testid="create-router"><Icon name="plus" size={16} /> Create router</button>}
      />
      <ErrorNote message={rowError} onDismiss={() => setRowError(null)} />
      <Card>
        <ErrorNote message={data.error} />
        {!d ? (!data.error && <Loading what="routers" />) : d.routers.length === 0 ? (
          <EmptyState icon="router" title="No routers" hint="Create a router with a gateway on the external network to reach instances through floating IPs." />
        ) : (
          <table className="table" data-testid="routers-table">
            <thead><tr><th>Name</th><th>External gateway</th><th>Interfaces</th><th>Status</th><th className="col-actions" /></tr></thead>
            <tbody>
              {d.routers.map((r) => {
                const ifaces = interfacesOf(r, d);
                const gw = r.external_gateway_info;
                return (
                  <tr key={r.id} data-testid="router-row" data-name={r.name}>
                    <td><strong>{r.name || "(no name)"}</strong><div className="muted mono small">{r.id.slice(0, 8)}</div></td>
                    <td>
                      {gw ? (
                        <>
                          <span className="chip chip-public">{netName(gw.network_id)}</span>{" "}
                          <span className="mono small">{gw.external_fixed_ips?.map((x) => x.ip_address).join(", ")}</span>
                        </>
                      ) : <span className="muted">none</span>}
                    </td>
                    <td>
                      {ifaces.length === 0 && <span className="muted">none</span>}
                      {ifaces.map((i) => (
                        <div key={i.port.id + i.ip} className="subnet-line">
                          <span className="mono">{i.ip}</span> <span className="muted">{i.subnet ? `${i.subnet.name} (${i.subnet.cidr})` : ""}</span>
                        </div>
                      ))}
                    </td>
                    <td><StatusBadge status={r.status} /></td>
                    <td className="col-actions">
                      <ActionMenu
                        testId={`actions-${r.name}`}
                        actions={[
                          { label: "Add interface", icon: "plus", onSelect: () => setDialog({ kind: "add", router: r }) },
                          ...ifaces.filter((i) => i.subnet).map((i) => ({
                            label: `Remove interface ${i.subnet!.name || i.subnet!.cidr}`,
                            icon: "unlink" as const,
                            onSelect: () => void run(`Could not remove the interface on ${i.subnet!.cidr}`, () => net.removeRouterInterface(r.id, i.subnet!.id)),
                          })),
                          ...externals.filter((e) => e.id !== gw?.network_id).map((e) => ({
                            label: `Set gateway to ${e.name}`,
                            icon: "globe" as const,
                            onSelect: () => void run(`Could not set the gateway of ${r.name}`, () => net.setRouterGateway(r.id, e.id)),
                          })),
                          { label: "Clear gateway", icon: "unlink", hidden: !gw, onSelect: () => void run(`Could not clear the gateway of ${r.name}`, () => net.setRouterGateway(r.id, null)) },
                          { label: "Delete router", icon: "trash", danger: true, onSelect: () => setDialog({ kind: "delete", router: r }) },
                        ]}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
      {dialog?.kind === "create" && d && <CreateRouterDialog data={d} onClose={() => setDialog(null)} onDone={() => void data.reload()} />}
      {dialog?.kind === "add" && d && <AddInterfaceDialog router={dialog.router} data={d} onClose={() => setDialog(null)} onDone={() => void data.reload()} />}
      {dialog?.kind === "delete" && d && (
        <ConfirmDialog
          title={`Delete router ${dialog.router.name}?`}
          message="Its interfaces are removed first; floating IPs through it must be disassociated."
          confirmLabel="Delete router"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            for (const i of interfacesOf(dialog.router, d)) if (i.subnet) await net.removeRouterInterface(dialog.router.id, i.subnet.id);
            await net.deleteRouter(dialog.router.id);
            void data.reload();
          }}
        />
      )}
    </>
  );
}

function privateSubnets(d: Data) {
  const external = new Set(d.networks.filter((n) => n["router:external"]).map((n) => n.id));
  return d.subnets.filter((s) => !external.has(s.network_id));
}

function CreateRouterDialog({ data, onClose, onDone }: { data: Data; onClose: () => void; onDone: () => void }) {
  const externals = data.networks.filter((n) => n["router:external"]);
  const subnets = privateSubnets(data);
  const [name, setName] = useState("");
  const [external, setExternal] = useState(externals[0]?.id ?? "");
  const [subnet, setSubnet] = useState(subnets[subnets.length - 1]?.id ?? "");
  const [nameError, setNameError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const err = validate.name(name, "The router name");
    setNameError(err);
    if (err) return;
    setBusy(true);
    setError(null);
    let router: net.Router | null = null;
    try {
      router = await net.createRouter(name.trim(), external || undefined);
      if (subnet) await net.addRouterInterface(router.id, subnet);
      onDone();
      onClose();
    } catch (e) {
      onDone();
      setError(router ? `The router was created, but the interface was refused: ${errorText(e)}` : errorText(e));
      setBusy(false);
    }
  };
  return (
    <Modal title="Create router" onClose={onClose} testId="router-dialog"
      footer={<>
        <button type="button" className="btn" onClick={onClose}>Cancel</button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void submit()} data-testid="router-submit">{busy ? "Creating…" : "Create router"}</button>
      </>}>
      <Field label="Router name" htmlFor="router-name" error={nameError}>
        <input id="router-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
      </Field>
      <Field label="External gateway" htmlFor="router-external" hint="Gives SNAT to the outside and makes floating IPs possible.">
        <select id="router-external" value={external} onChange={(e) => setExternal(e.target.value)}>
          <option value="">None</option>
          {externals.map((n) => <option key={n.id} value={n.id}>{n.name}</option>)}
        </select>
      </Field>
      <Field label="Interface on subnet" htmlFor="router-subnet">
        <select id="router-subnet" value={subnet} onChange={(e) => setSubnet(e.target.value)}>
          <option value="">None (add later)</option>
          {subnets.map((s) => <option key={s.id} value={s.id}>{s.name} ({s.cidr})</option>)}
        </select>
      </Field>
      <ErrorNote message={error} />
    </Modal>
  );
}

function AddInterfaceDialog({ router, data, onClose, onDone }: { router: net.Router; data: Data; onClose: () => void; onDone: () => void }) {
  const subnets = privateSubnets(data);
  const [subnet, setSubnet] = useState(subnets[0]?.id ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    if (!subnet) return setError("Choose a subnet.");
    setBusy(true);
    try {
      await net.addRouterInterface(router.id, subnet);
      onDone();
      onClose();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <Modal title={`Add interface to ${router.name}`} onClose={onClose}
      footer={<>
        <button type="button" className="btn" onClick={onClose}>Cancel</button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void submit()}>Add interface</button>
      </>}>
      <Field label="Subnet" htmlFor="iface-subnet" hint="The router takes the subnet's gateway address.">
        <select id="iface-subnet" value={subnet} onChange={(e) => setSubnet(e.target.value)}>
          {subnets.map((s) => <option key={s.id} value={s.id}>{s.name} ({s.cidr})</option>)}
        </select>
      </Field>
      <ErrorNote message={error} />
    </Modal>
  );
}

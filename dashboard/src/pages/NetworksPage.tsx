// Networks and their subnets: create a network with its first subnet, add subnets, delete.
import { FormEvent, useState } from "react";
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
  const [networks, subnets] = await Promise.all([net.listNetworks(), net.listSubnets()]);
  return { networks, subnets };
}

type Dialog = { kind: "create" } | { kind: "subnet"; network: net.Network } | { kind: "delete"; network: net.Network } | { kind: "delete-subnet"; subnet: net.Subnet } | null;

export function NetworksPage() {
  const data = useResource(load, [], 5000);
  const [dialog, setDialog] = useState<Dialog>(null);
  const networks = (data.data?.networks ?? []).slice().sort((a, b) => Number(b["router:external"]) - Number(a["router:external"]) || a.name.localeCompare(b.name));
  const subnetsOf = (n: net.Network) => (data.data?.subnets ?? []).filter((s) => s.network_id === n.id);
  return (
    <>
      <PageHeader
        title="Networks"
        subtitle="Private networks (VXLAN overlays) and their subnets; the external network carries floating IPs."
        actions={<button type="button" className="btn btn-primary" onClick={() => setDialog({ kind: "create" })} data-testid="create-network"><Icon name="plus" size={16} /> Create network</button>}
      />
      <Card>
        <ErrorNote message={data.error} />
        {data.loading && !data.data ? <Loading what="networks" /> : networks.length === 0 ? (
          <EmptyState icon="network" title="No networks" hint="Create a network with a subnet to attach instances to." />
        ) : (
          <table className="table" data-testid="networks-table">
            <thead><tr><th>Name</th><th>Subnets</th><th>Type</th><th>MTU</th><th>Status</th><th className="col-actions" /></tr></thead>
            <tbody>
              {networks.map((n) => (
                <tr key={n.id} data-testid="network-row" data-name={n.name}>
                  <td>
                    <strong>{n.name || "(no name)"}</strong>
                    <div className="muted mono small">{n.id.slice(0, 8)}</div>
                  </td>
                  <td>
                    {subnetsOf(n).map((s) => (
                      <div key={s.id} className="subnet-line">
                        <span className="mono">{s.cidr}</span> <span className="muted">{s.name}</span>
                        {s.gateway_ip && <span className="muted small"> · gw {s.gateway_ip}</span>}
                      </div>
                    ))}
                    {n.subnets.length === 0 && <span className="muted">none</span>}
                  </td>
                  <td>
                    {n["router:external"] ? <span className="chip chip-public">external</span> : <span className="chip">{n["provider:network_type"] ?? "project"}</span>}
                    {n.shared && <span className="chip">shared</span>}
                  </td>
                  <td>{n.mtu ?? "—"}</td>
                  <td><StatusBadge status={n.status} /></td>
                  <td className="col-actions">
                    <ActionMenu
                      testId={`actions-${n.name}`}
                      actions={[
                        { label: "Add subnet", icon: "plus", onSelect: () => setDialog({ kind: "subnet", network: n }) },
                        ...subnetsOf(n).map((s) => ({ label: `Delete subnet ${s.name || s.cidr}`, icon: "trash" as const, danger: true, onSelect: () => setDialog({ kind: "delete-subnet", subnet: s }) })),
                        { label: "Delete network", icon: "trash", danger: true, onSelect: () => setDialog({ kind: "delete", network: n }) },
                      ]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {dialog?.kind === "create" && <NetworkDialog onClose={() => setDialog(null)} onDone={() => void data.reload()} />}
      {dialog?.kind === "subnet" && <NetworkDialog network={dialog.network} onClose={() => setDialog(null)} onDone={() => void data.reload()} />}
      {dialog?.kind === "delete" && (
        <ConfirmDialog title={`Delete network ${dialog.network.name}?`} message="Its subnets go with it. Instances and router interfaces on it must be removed first."
          confirmLabel="Delete network" onClose={() => setDialog(null)} onConfirm={async () => { await net.deleteNetwork(dialog.network.id); void data.reload(); }} />
      )}
      {dialog?.kind === "delete-subnet" && (
        <ConfirmDialog title={`Delete subnet ${dialog.subnet.name || dialog.subnet.cidr}?`} message="Ports using its addresses must be removed first."
          confirmLabel="Delete subnet" onClose={() => setDialog(null)} onConfirm={async () => { await net.deleteSubnet(dialog.subnet.id); void data.reload(); }} />
      )}
    </>
  );
}

/** Creates a network with its first subnet, or (given a network) adds a subnet to it. */
function NetworkDialog({ network, onClose, onDone }: { network?: net.Network; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState("");
  const [subnetName, setSubnetName] = useState("");
  const [cidr, setCidr] = useState(network ? "" : "10.0.0.0/24");
  const [gateway, setGateway] = useState("");
  const [dhcp, setDhcp] = useState(true);
  const [dns, setDns] = useState("");
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const errs: Record<string, string | null> = {
      name: network ? null : validate.name(name, "The network name"),
      cidr: validate.cidr(cidr),
      gateway: gateway ? validate.ip(gateway) : null,
      dns: dns.split(/[\s,]+/).filter(Boolean).map(validate.ip).find(Boolean) ?? null,
    };
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    setBusy(true);
    setError(null);
    let created: net.Network | null = null;
    try {
      const target = network ?? (created = await net.createNetwork(name.trim()));
      await net.createSubnet({
        name: subnetName.trim() || `${target.name}-subnet`,
        network_id: target.id,
        cidr: cidr.trim(),
        ip_version: 4,
        enable_dhcp: dhcp,
        ...(gateway ? { gateway_ip: gateway.trim() } : {}),
        ...(dns.trim() ? { dns_nameservers: dns.split(/[\s,]+/).filter(Boolean) } : {}),
      });
      onDone();
      onClose();
    } catch (er) {
      onDone();
      setError(created ? `The network ${created.name} was created, but its subnet was refused: ${errorText(er)}` : errorText(er));
      setBusy(false);
    }
  };

  return (
    <Modal
      title={network ? `Add subnet to ${network.name}` : "Create network"}
      subtitle={network ? undefined : "A private network and its first subnet; instances get addresses from it by DHCP."}
      onClose={onClose}
      testId="network-dialog"
      footer={<>
        <button type="button" className="btn" onClick={onClose}>Cancel</button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void submit()} data-testid="network-submit">{busy ? "Creating…" : network ? "Add subnet" : "Create network"}</button>
      </>}
    >
      <form onSubmit={submit} noValidate>
        {!network && (
          <Field label="Network name" htmlFor="net-name" error={errors.name}>
            <input id="net-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
          </Field>
        )}
        <div className="form-row">
          <Field label="Subnet name" htmlFor="subnet-name" hint="Optional">
            <input id="subnet-name" value={subnetName} onChange={(e) => setSubnetName(e.target.value)} placeholder={`${network?.name ?? (name || "network")}-subnet`} />
          </Field>
          <Field label="Network address (CIDR)" htmlFor="subnet-cidr" error={errors.cidr}>
            <input id="subnet-cidr" className="mono" value={cidr} onChange={(e) => setCidr(e.target.value)} placeholder="10.0.0.0/24" />
          </Field>
        </div>
        <div className="form-row">
          <Field label="Gateway" htmlFor="subnet-gateway" error={errors.gateway} hint="Empty: the first address">
            <input id="subnet-gateway" className="mono" value={gateway} onChange={(e) => setGateway(e.target.value)} />
          </Field>
          <Field label="DNS servers" htmlFor="subnet-dns" error={errors.dns} hint="Comma separated, optional">
            <input id="subnet-dns" className="mono" value={dns} onChange={(e) => setDns(e.target.value)} />
          </Field>
        </div>
        <label className="checkbox-line"><input type="checkbox" checked={dhcp} onChange={(e) => setDhcp(e.target.checked)} /> Enable DHCP</label>
        <ErrorNote message={error} />
      </form>
    </Modal>
  );
}

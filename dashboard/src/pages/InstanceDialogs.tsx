// Dialogs acting on one instance: create a snapshot, associate a floating IP.
import { FormEvent, useEffect, useState } from "react";
import { createSnapshot, Server } from "../api/compute";
import { errorText } from "../api/errors";
import * as net from "../api/network";
import { ErrorNote } from "../components/ErrorNote";
import { Field, validate } from "../components/Field";
import { Modal } from "../components/Modal";

export function SnapshotDialog({ server, onClose, onDone }: { server: Server; onClose: () => void; onDone: (msg: string) => void }) {
  const [name, setName] = useState(`${server.name}-snapshot`);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const err = validate.name(name, "The snapshot name");
    setFieldError(err);
    if (err) return;
    setBusy(true);
    try {
      await createSnapshot(server.id, name.trim());
      onDone(`Snapshot ${name.trim()} of ${server.name} is being saved; it appears under Images.`);
      onClose();
    } catch (er) {
      setError(errorText(er));
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Create snapshot"
      subtitle={`An image of ${server.name}'s disk (Nova createImage)`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void submit()}>
            {busy ? "Creating…" : "Create snapshot"}
          </button>
        </>
      }
    >
      <form onSubmit={submit} noValidate>
        <Field label="Snapshot name" htmlFor="snap-name" error={fieldError}>
          <input id="snap-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </Field>
        <ErrorNote message={error} />
      </form>
    </Modal>
  );
}

const NEW_IP = "__new__";

/** Associates a free floating IP (or a new one from an external network) with a port of the server. */
export function AssociateFloatingIpDialog({ server, onClose, onDone }: { server: Server; onClose: () => void; onDone: (msg: string) => void }) {
  const [ports, setPorts] = useState<net.Port[] | null>(null);
  const [ips, setIps] = useState<net.FloatingIp[]>([]);
  const [externals, setExternals] = useState<net.Network[]>([]);
  const [portId, setPortId] = useState("");
  const [ipId, setIpId] = useState(NEW_IP);
  const [externalId, setExternalId] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    Promise.all([net.listPorts({ device_id: server.id }), net.listFloatingIps(), net.listNetworks()])
      .then(([p, f, n]) => {
        setPorts(p);
        setPortId(p[0]?.id ?? "");
        const free = f.filter((x) => !x.port_id);
        setIps(free);
        setIpId(free[0]?.id ?? NEW_IP);
        const ext = n.filter((x) => x["router:external"]);
        setExternals(ext);
        setExternalId(ext[0]?.id ?? "");
      })
      .catch((e) => setError(errorText(e)));
  }, [server.id]);

  const submit = async () => {
    if (!portId) return setError("This instance has no port to associate an address with.");
    if (ipId === NEW_IP && !externalId) return setError("There is no external network to allocate an address from.");
    setBusy(true);
    setError(null);
    try {
      const ip = ipId === NEW_IP ? await net.allocateFloatingIp(externalId) : ips.find((x) => x.id === ipId)!;
      await net.associateFloatingIp(ip.id, portId);
      onDone(`${ip.floating_ip_address} now points at ${server.name}.`);
      onClose();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Associate floating IP"
      subtitle={`Reach ${server.name} from the external network`}
      onClose={onClose}
      testId="associate-fip-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="button" className="btn btn-primary" disabled={busy || !ports} onClick={() => void submit()}>
            {busy ? "Associating…" : "Associate"}
          </button>
        </>
      }
    >
      <Field label="Floating IP" htmlFor="fip-select">
        <select id="fip-select" value={ipId} onChange={(e) => setIpId(e.target.value)}>
          {ips.map((ip) => (
            <option key={ip.id} value={ip.id}>{ip.floating_ip_address}</option>
          ))}
          <option value={NEW_IP}>Allocate a new address</option>
        </select>
      </Field>
      {ipId === NEW_IP && (
        <Field label="From external network" htmlFor="fip-ext">
          <select id="fip-ext" value={externalId} onChange={(e) => setExternalId(e.target.value)}>
            {externals.map((n) => (
              <option key={n.id} value={n.id}>{n.name}</option>
            ))}
          </select>
        </Field>
      )}
      <Field label="Port of the instance" htmlFor="fip-port" hint="The router of the port's network needs a gateway on the external network.">
        <select id="fip-port" value={portId} onChange={(e) => setPortId(e.target.value)}>
          {(ports ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.fixed_ips.map((f) => f.ip_address).join(", ") || p.id}
            </option>
          ))}
        </select>
      </Field>
      <ErrorNote message={error} />
    </Modal>
  );
}

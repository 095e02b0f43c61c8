// Dialogs of the load balancer pages: create one fully populated (VIP subnet, listener, pool,
// members from the project's instances, health monitor) in a single Octavia request, point a
// floating IP at a load balancer's VIP port, delete one with everything under it.
import { FormEvent, useEffect, useMemo, useState } from "react";
import { listServers, Server } from "../api/compute";
import { errorText } from "../api/errors";
import * as lbaas from "../api/loadbalancer";
import * as net from "../api/network";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Field, Section, validate } from "../components/Field";
import { Loading } from "../components/Page";
import { Modal } from "../components/Modal";
import { useResource } from "../hooks/useResource";
import { useSignedIn } from "../session";

/** The floating IP pointing at a load balancer's VIP port, if any. */
export function floatingIpOf(lb: lbaas.LoadBalancer, ips: net.FloatingIp[] | undefined): net.FloatingIp | undefined {
  return lb.vip_port_id ? ips?.find((ip) => ip.port_id === lb.vip_port_id) : undefined;
}

async function loadChoices(projectId: string | null) {
  const [networks, subnets, ports, servers] = await Promise.all([
    net.listNetworks(),
    net.listSubnets(),
    net.listPorts(),
    listServers(),
  ]);
  // The project's own (or shared) private networks: a VIP on the external network is not offered.
  const usable = new Set(networks.filter((n) => !n["router:external"] && (n.project_id === projectId || n.shared)).map((n) => n.id));
  return { networks, subnets: subnets.filter((s) => usable.has(s.network_id) && s.ip_version === 4), ports, servers };
}
type Choices = Awaited<ReturnType<typeof loadChoices>>;

interface Target {
  key: string;
  server: Server;
  address: string;
}

/** The project's instances with a fixed IP on the subnet: what can be a member. */
function targetsOn(subnetId: string, c: Choices): Target[] {
  const out: Target[] = [];
  for (const p of c.ports) {
    if (!p.device_owner.startsWith("compute:")) continue;
    const server = c.servers.find((s) => s.id === p.device_id);
    if (!server) continue;
    for (const f of p.fixed_ips) if (f.subnet_id === subnetId) out.push({ key: `${server.id}|${f.ip_address}`, server, address: f.ip_address });
  }
  return out.sort((a, b) => a.server.name.localeCompare(b.server.name, undefined, { numeric: true }));
}

/** Pool protocol for a listener protocol: HTTP behind HTTP, HTTPS passed through, TCP behind TCP. */
const poolProtocolOf = (listener: string) => listener;

interface FormErrors {
  name?: string | null;
  subnet?: string | null;
  port?: string | null;
  memberPort?: string | null;
  delay?: string | null;
  timeout?: string | null;
  retries?: string | null;
}

function wholeNumber(v: string, min: number, max: number, what: string): string | null {
  const n = Number(v);
  if (!v.trim() || !Number.isInteger(n) || n < min || n > max) return `${what} must be a whole number from ${min} to ${max}.`;
  return null;
}

export function CreateLoadBalancerDialog({ onClose, onDone }: { onClose: () => void; onDone: (lb: lbaas.LoadBalancer) => void }) {
  const session = useSignedIn();
  const choices = useResource(() => loadChoices(session.projectId), [session.projectId]);
  const c = choices.data;
  const [name, setName] = useState("");
  const [subnet, setSubnet] = useState("");
  const [protocol, setProtocol] = useState<string>("HTTP");
  const [port, setPort] = useState("80");
  const [algorithm, setAlgorithm] = useState("ROUND_ROBIN");
  const [members, setMembers] = useState<Set<string>>(new Set());
  const [memberPort, setMemberPort] = useState("80");
  const [monitor, setMonitor] = useState(true);
  const [monitorType, setMonitorType] = useState("HTTP");
  const [delay, setDelay] = useState("5");
  const [timeout, setTimeoutValue] = useState("3");
  const [retries, setRetries] = useState("3");
  const [errors, setErrors] = useState<FormErrors>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The newest subnet by default (the one most likely just made for this).
  useEffect(() => {
    if (c && !subnet && c.subnets.length) setSubnet(c.subnets[c.subnets.length - 1].id);
  }, [c, subnet]);
  const targets = useMemo(() => (c && subnet ? targetsOn(subnet, c) : []), [c, subnet]);
  const monitorTypes = lbaas.monitorTypesFor(poolProtocolOf(protocol));

  const changeProtocol = (p: string) => {
    setProtocol(p);
    const defaultPort = p === "HTTPS" ? "443" : "80";
    if (port === "80" || port === "443") setPort(defaultPort);
    if (memberPort === "80" || memberPort === "443") setMemberPort(defaultPort);
    setMonitorType(lbaas.monitorTypesFor(poolProtocolOf(p))[0]);
  };
  const changeSubnet = (s: string) => {
    setSubnet(s);
    setMembers(new Set());
  };
  const toggleMember = (key: string) => {
    const next = new Set(members);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setMembers(next);
  };

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const errs: FormErrors = {
      name: validate.name(name, "The load balancer name"),
      subnet: subnet ? null : "Choose the subnet of the VIP address.",
      port: wholeNumber(port, 1, 65535, "The listener port"),
      memberPort: members.size ? wholeNumber(memberPort, 1, 65535, "The member port") : null,
    };
    if (monitor) {
      errs.delay = wholeNumber(delay, 1, 3600, "The delay");
      errs.timeout = wholeNumber(timeout, 1, 3600, "The timeout");
      if (!errs.delay && !errs.timeout && Number(timeout) > Number(delay)) errs.timeout = "The timeout must not be longer than the delay.";
      errs.retries = wholeNumber(retries, 1, 10, "The retries");
    }
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    setBusy(true);
    setError(null);
    try {
      const chosen = targets.filter((t) => members.has(t.key));
      const lb = await lbaas.createLoadBalancer({
        name: name.trim(),
        vip_subnet_id: subnet,
        listener: { protocol, protocol_port: Number(port) },
        pool: {
          protocol: poolProtocolOf(protocol),
          lb_algorithm: algorithm,
          members: chosen.map((t) => ({ name: t.server.name, address: t.address, protocol_port: Number(memberPort), subnet_id: subnet })),
          ...(monitor
            ? { healthmonitor: { type: monitorType, delay: Number(delay), timeout: Number(timeout), max_retries: Number(retries) } }
            : {}),
        },
      });
      onDone(lb);
      onClose();
    } catch (er) {
      setError(errorText(er));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Create load balancer"
      subtitle="A virtual IP on a subnet, a listener, and a pool of instances behind it"
      onClose={onClose}
      wide
      testId="lb-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="button" className="btn btn-primary" disabled={busy || !c} onClick={() => void submit()} data-testid="lb-submit">
            {busy ? "Creating…" : "Create load balancer"}
          </button>
        </>
      }
    >
      <ErrorNote message={choices.error} />
      {!c ? (!choices.error && <Loading what="subnets and instances" />) : (
        <form onSubmit={submit} noValidate>
          <div className="form-row">
            <Field label="Name" htmlFor="lb-name" error={errors.name}>
              <input id="lb-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
            </Field>
            <Field label="VIP subnet" htmlFor="lb-subnet" error={errors.subnet} hint="The load balancer's address is taken from this subnet.">
              <select id="lb-subnet" value={subnet} onChange={(e) => changeSubnet(e.target.value)}>
                {c.subnets.length === 0 && <option value="">No subnets: create a network first</option>}
                {c.subnets.map((s) => (
                  <option key={s.id} value={s.id}>{s.name || s.id.slice(0, 8)} ({s.cidr})</option>
                ))}
              </select>
            </Field>
          </div>
          <Section title="Listener">
            <div className="form-row">
              <Field label="Protocol" htmlFor="lb-protocol">
                <select id="lb-protocol" value={protocol} onChange={(e) => changeProtocol(e.target.value)}>
                  {lbaas.LISTENER_PROTOCOLS.map((p) => <option key={p} value={p}>{p}</option>)}
                </select>
              </Field>
              <Field label="Port" htmlFor="lb-port" error={errors.port}>
                <input id="lb-port" inputMode="numeric" value={port} onChange={(e) => setPort(e.target.value)} />
              </Field>
              <Field label="Pool algorithm" htmlFor="lb-algorithm">
                <select id="lb-algorithm" value={algorithm} onChange={(e) => setAlgorithm(e.target.value)}>
                  {lbaas.ALGORITHMS.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
                </select>
              </Field>
            </div>
          </Section>
          <Section title="Members">
            {targets.length === 0 ? (
              <p className="muted" data-testid="lb-no-members">No instance has an address on this subnet; the pool starts empty.</p>
            ) : (
              <div className="member-choices" data-testid="lb-members">
                {targets.map((t) => (
                  <label key={t.key} className="checkbox-line">
                    <input type="checkbox" checked={members.has(t.key)} onChange={() => toggleMember(t.key)} aria-label={`Member ${t.server.name}`} />
                    <span className="strong">{t.server.name}</span> <span className="mono muted">{t.address}</span>
                  </label>
                ))}
              </div>
            )}
            <Field label="Member port" htmlFor="lb-member-port" error={errors.memberPort} hint="The port the instances serve on.">
              <input id="lb-member-port" className="input-narrow" inputMode="numeric" value={memberPort} onChange={(e) => setMemberPort(e.target.value)} />
            </Field>
          </Section>
          <Section title="Health monitor">
            <label className="checkbox-line">
              <input id="lb-monitor" type="checkbox" checked={monitor} onChange={(e) => setMonitor(e.target.checked)} />
              Check the members' health and send traffic only to healthy ones
            </label>
            {monitor && (
              <div className="form-row">
                <Field label="Type" htmlFor="lb-monitor-type">
                  <select id="lb-monitor-type" value={monitorType} onChange={(e) => setMonitorType(e.target.value)}>
                    {monitorTypes.map((t) => <option key={t} value={t}>{t}</option>)}
                  </select>
                </Field>
                <Field label="Delay (s)" htmlFor="lb-monitor-delay" error={errors.delay}>
                  <input id="lb-monitor-delay" inputMode="numeric" value={delay} onChange={(e) => setDelay(e.target.value)} />
                </Field>
                <Field label="Timeout (s)" htmlFor="lb-monitor-timeout" error={errors.timeout}>
                  <input id="lb-monitor-timeout" inputMode="numeric" value={timeout} onChange={(e) => setTimeoutValue(e.target.value)} />
                </Field>
                <Field label="Retries" htmlFor="lb-monitor-retries" error={errors.retries}>
                  <input id="lb-monitor-retries" inputMode="numeric" value={retries} onChange={(e) => setRetries(e.target.value)} />
                </Field>
              </div>
            )}
          </Section>
          <ErrorNote message={error} />
        </form>
      )}
    </Modal>
  );
}

const NEW_IP = "__new__";

/** Points a free floating IP (or a new one) at the load balancer's VIP port. */
export function LbFloatingIpDialog({ lb, onClose, onDone }: { lb: lbaas.LoadBalancer; onClose: () => void; onDone: (msg: string) => void }) {
  const [ips, setIps] = useState<net.FloatingIp[] | null>(null);
  const [externals, setExternals] = useState<net.Network[]>([]);
  const [ipId, setIpId] = useState(NEW_IP);
  const [externalId, setExternalId] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    Promise.all([net.listFloatingIps(), net.listNetworks()])
      .then(([f, n]) => {
        const free = f.filter((x) => !x.port_id);
        setIps(free);
        setIpId(free[0]?.id ?? NEW_IP);
        const ext = n.filter((x) => x["router:external"]);
        setExternals(ext);
        setExternalId(ext[0]?.id ?? "");
      })
      .catch((e) => setError(errorText(e)));
  }, []);

  const submit = async () => {
    if (!lb.vip_port_id) return setError("The load balancer has no VIP port yet.");
    if (ipId === NEW_IP && !externalId) return setError("There is no external network to allocate an address from.");
    setBusy(true);
    setError(null);
    try {
      const ip = ipId === NEW_IP ? await net.allocateFloatingIp(externalId) : ips!.find((x) => x.id === ipId)!;
      await net.associateFloatingIp(ip.id, lb.vip_port_id);
      onDone(`${ip.floating_ip_address} now points at ${lb.name || lb.id}.`);
      onClose();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Associate floating IP"
      subtitle={`Reach ${lb.name || lb.id} (${lb.vip_address ?? "no VIP"}) from the external network`}
      onClose={onClose}
      testId="lb-fip-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="button" className="btn btn-primary" disabled={busy || !ips} onClick={() => void submit()} data-testid="lb-fip-submit">
            {busy ? "Associating…" : "Associate"}
          </button>
        </>
      }
    >
      <Field label="Floating IP" htmlFor="lb-fip-select" hint="The VIP subnet needs a router with a gateway on the external network.">
        <select id="lb-fip-select" value={ipId} onChange={(e) => setIpId(e.target.value)}>
          {(ips ?? []).map((ip) => <option key={ip.id} value={ip.id}>{ip.floating_ip_address}</option>)}
          <option value={NEW_IP}>Allocate a new address</option>
        </select>
      </Field>
      {ipId === NEW_IP && (
        <Field label="From external network" htmlFor="lb-fip-ext">
          <select id="lb-fip-ext" value={externalId} onChange={(e) => setExternalId(e.target.value)}>
            {externals.map((n) => <option key={n.id} value={n.id}>{n.name}</option>)}
          </select>
        </Field>
      )}
      <ErrorNote message={error} />
    </Modal>
  );
}

/** Cascade delete: the listeners, pools, members and monitors go with it; a floating IP on
 * the VIP is disassociated with the VIP port (it stays allocated to the project). */
export function DeleteLoadBalancerDialog({ lb, floatingIp, onClose, onDone }: { lb: lbaas.LoadBalancer; floatingIp?: net.FloatingIp; onClose: () => void; onDone: () => void }) {
  return (
    <ConfirmDialog
      title={`Delete load balancer ${lb.name || lb.id}?`}
      message={`Its listeners, pools, members and health monitors are deleted with it${floatingIp ? `; ${floatingIp.floating_ip_address} is disassociated and stays in the project` : ""}. This cannot be undone.`}
      confirmLabel="Delete load balancer"
      onClose={onClose}
      onConfirm={async () => {
        await lbaas.deleteLoadBalancer(lb.id);
        onDone();
      }}
    />
  );
}

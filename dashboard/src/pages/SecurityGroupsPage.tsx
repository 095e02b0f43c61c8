// Security groups and their rules: create and delete groups, add and delete rules.
import { FormEvent, useState } from "react";
import { errorText } from "../api/errors";
import * as net from "../api/network";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Field, validate } from "../components/Field";
import { Icon } from "../components/Icon";
import { Modal } from "../components/Modal";
import { Card, EmptyState, Loading, PageHeader } from "../components/Page";
import { useResource } from "../hooks/useResource";

function portsText(r: net.SecurityGroupRule): string {
  if (r.port_range_min === null && r.port_range_max === null) return "any";
  if (r.port_range_min === r.port_range_max) return String(r.port_range_min);
  return `${r.port_range_min ?? ""}–${r.port_range_max ?? ""}`;
}

function remoteText(r: net.SecurityGroupRule, groups: net.SecurityGroup[]): string {
  if (r.remote_ip_prefix) return r.remote_ip_prefix;
  if (r.remote_group_id) return `group ${groups.find((g) => g.id === r.remote_group_id)?.name ?? r.remote_group_id.slice(0, 8)}`;
  return r.ethertype === "IPv6" ? "::/0" : "0.0.0.0/0";
}

export function SecurityGroupsPage() {
  const groups = useResource(net.listSecurityGroups, [], 6000);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [dialog, setDialog] = useState<"group" | "rule" | "delete" | null>(null);
  const [ruleError, setRuleError] = useState<string | null>(null);
  const list = (groups.data ?? []).slice().sort((a, b) => (a.name === "default" ? -1 : b.name === "default" ? 1 : a.name.localeCompare(b.name)));
  const selected = list.find((g) => g.id === selectedId) ?? list[0];

  const removeRule = async (r: net.SecurityGroupRule) => {
    setRuleError(null);
    try {
      await net.deleteRule(r.id);
      void groups.reload();
    } catch (e) {
      setRuleError(`Could not delete the rule: ${errorText(e)}`);
    }
  };

  return (
    <>
      <PageHeader
        title="Security groups"
        subtitle="Stateful firewall rules applied to instance ports."
        actions={<button type="button" className="btn btn-primary" onClick={() => setDialog("group")}><Icon name="plus" size={16} /> Create security group</button>}
      />
      <ErrorNote message={groups.error} />
      {groups.loading && !groups.data ? <Loading what="security groups" /> : list.length === 0 ? (
        <Card><EmptyState icon="shield" title="No security groups" /></Card>
      ) : (
        <div className="split">
          <Card className="split-list" title="Groups">
            {list.map((g) => (
              <button type="button" key={g.id} className={g.id === selected?.id ? "list-item active" : "list-item"} onClick={() => setSelectedId(g.id)} data-testid="sg-item" data-name={g.name}>
                <Icon name="shield" />
                <div>
                  <strong>{g.name}</strong>
                  <div className="muted small">{g.security_group_rules.length} rules{g.description ? ` · ${g.description}` : ""}</div>
                </div>
              </button>
            ))}
          </Card>
          {selected && (
            <Card
              title={<>Rules of <strong>{selected.name}</strong></>}
              actions={<>
                <button type="button" className="btn btn-small" onClick={() => setDialog("rule")}><Icon name="plus" size={14} /> Add rule</button>
                {selected.name !== "default" && <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setDialog("delete")}><Icon name="trash" size={14} /> Delete group</button>}
              </>}
            >
              <ErrorNote message={ruleError} onDismiss={() => setRuleError(null)} />
              <table className="table" data-testid="rules-table">
                <thead><tr><th>Direction</th><th>Ether type</th><th>Protocol</th><th>Ports</th><th>Remote</th><th className="col-actions" /></tr></thead>
                <tbody>
                  {selected.security_group_rules
                    .slice()
                    .sort((a, b) => a.direction.localeCompare(b.direction) || a.ethertype.localeCompare(b.ethertype))
                    .map((r) => (
                      <tr key={r.id} data-testid="rule-row">
                        <td><span className={r.direction === "ingress" ? "chip chip-in" : "chip chip-out"}>{r.direction}</span></td>
                        <td>{r.ethertype}</td>
                        <td className="mono">{r.protocol ?? "any"}</td>
                        <td className="mono">{portsText(r)}</td>
                        <td className="mono">{remoteText(r, list)}</td>
                        <td className="col-actions">
                          <button type="button" className="icon-button" aria-label="Delete rule" title="Delete rule" onClick={() => void removeRule(r)}><Icon name="trash" size={16} /></button>
                        </td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </Card>
          )}
        </div>
      )}
      {dialog === "group" && <GroupDialog onClose={() => setDialog(null)} onDone={(g) => { setSelectedId(g.id); void groups.reload(); }} />}
      {dialog === "rule" && selected && <RuleDialog group={selected} onClose={() => setDialog(null)} onDone={() => void groups.reload()} />}
      {dialog === "delete" && selected && (
        <ConfirmDialog title={`Delete security group ${selected.name}?`} message="Ports using it must drop it first." confirmLabel="Delete group"
          onClose={() => setDialog(null)} onConfirm={async () => { await net.deleteSecurityGroup(selected.id); setSelectedId(null); void groups.reload(); }} />
      )}
    </>
  );
}

function GroupDialog({ onClose, onDone }: { onClose: () => void; onDone: (g: net.SecurityGroup) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [nameError, setNameError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const err = validate.name(name, "The group name") ?? (name.trim() === "default" ? "The name default is reserved." : null);
    setNameError(err);
    if (err) return;
    try {
      onDone(await net.createSecurityGroup(name.trim(), description.trim()));
      onClose();
    } catch (er) {
      setError(errorText(er));
    }
  };
  return (
    <Modal title="Create security group" onClose={onClose}
      footer={<><button type="button" className="btn" onClick={onClose}>Cancel</button><button type="button" className="btn btn-primary" onClick={() => void submit()}>Create</button></>}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" htmlFor="sg-name" error={nameError}><input id="sg-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus /></Field>
        <Field label="Description" htmlFor="sg-desc"><input id="sg-desc" value={description} onChange={(e) => setDescription(e.target.value)} /></Field>
        <ErrorNote message={error} />
      </form>
    </Modal>
  );
}

const PRESETS: Record<string, { protocol: string; from: string; to: string }> = {
  "SSH (tcp 22)": { protocol: "tcp", from: "22", to: "22" },
  "HTTP (tcp 80)": { protocol: "tcp", from: "80", to: "80" },
  "HTTPS (tcp 443)": { protocol: "tcp", from: "443", to: "443" },
  "Ping (icmp)": { protocol: "icmp", from: "", to: "" },
  "Custom": { protocol: "tcp", from: "", to: "" },
};

function RuleDialog({ group, onClose, onDone }: { group: net.SecurityGroup; onClose: () => void; onDone: () => void }) {
  const [preset, setPreset] = useState("SSH (tcp 22)");
  const [direction, setDirection] = useState<"ingress" | "egress">("ingress");
  const [protocol, setProtocol] = useState("tcp");
  const [from, setFrom] = useState("22");
  const [to, setTo] = useState("22");
  const [remote, setRemote] = useState("0.0.0.0/0");
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [error, setError] = useState<string | null>(null);

  const choose = (p: string) => {
    setPreset(p);
    setProtocol(PRESETS[p].protocol);
    setFrom(PRESETS[p].from);
    setTo(PRESETS[p].to);
  };

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const hasPorts = protocol === "tcp" || protocol === "udp";
    const errs: Record<string, string | null> = {
      from: hasPorts ? validate.port(from) : null,
      to: hasPorts ? validate.port(to) ?? (from && to && Number(to) < Number(from) ? "The last port must not be below the first." : null) : null,
      remote: remote ? validate.cidr(remote.includes("/") ? remote : `${remote}/32`) && remote !== "0.0.0.0/0" ? "Enter a CIDR like 0.0.0.0/0 or 192.168.1.0/24." : null : null,
    };
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    try {
      await net.createRule({
        security_group_id: group.id,
        direction,
        ethertype: "IPv4",
        protocol: protocol === "any" ? null : protocol,
        port_range_min: hasPorts && from ? Number(from) : null,
        port_range_max: hasPorts && (to || from) ? Number(to || from) : null,
        remote_ip_prefix: remote || null,
      });
      onDone();
      onClose();
    } catch (er) {
      setError(errorText(er));
    }
  };
  return (
    <Modal title={`Add rule to ${group.name}`} onClose={onClose}
      footer={<><button type="button" className="btn" onClick={onClose}>Cancel</button><button type="button" className="btn btn-primary" onClick={() => void submit()}>Add rule</button></>}>
      <form onSubmit={submit} noValidate>
        <Field label="Rule" htmlFor="rule-preset">
          <select id="rule-preset" value={preset} onChange={(e) => choose(e.target.value)}>
            {Object.keys(PRESETS).map((p) => <option key={p}>{p}</option>)}
          </select>
        </Field>
        <div className="form-row">
          <Field label="Direction" htmlFor="rule-direction">
            <select id="rule-direction" value={direction} onChange={(e) => setDirection(e.target.value as "ingress" | "egress")}>
              <option value="ingress">Ingress (into the instance)</option>
              <option value="egress">Egress (out of the instance)</option>
            </select>
          </Field>
          <Field label="Protocol" htmlFor="rule-protocol">
            <select id="rule-protocol" value={protocol} onChange={(e) => setProtocol(e.target.value)}>
              {["tcp", "udp", "icmp", "any"].map((p) => <option key={p}>{p}</option>)}
            </select>
          </Field>
        </div>
        {(protocol === "tcp" || protocol === "udp") && (
          <div className="form-row">
            <Field label="From port" htmlFor="rule-from" error={errors.from}><input id="rule-from" inputMode="numeric" value={from} onChange={(e) => setFrom(e.target.value)} placeholder="any" /></Field>
            <Field label="To port" htmlFor="rule-to" error={errors.to}><input id="rule-to" inputMode="numeric" value={to} onChange={(e) => setTo(e.target.value)} placeholder="same" /></Field>
          </div>
        )}
        <Field label="Remote (CIDR)" htmlFor="rule-remote" error={errors.remote}>
          <input id="rule-remote" className="mono" value={remote} onChange={(e) => setRemote(e.target.value)} />
        </Field>
        <ErrorNote message={error} />
      </form>
    </Modal>
  );
}

// Volumes (Cinder): create, attach to an instance, detach, delete.
import { FormEvent, useState } from "react";
import { attachVolume, detachVolume, listServers } from "../api/compute";
import { errorText } from "../api/errors";
import * as cinder from "../api/volume";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Field, validate } from "../components/Field";
import { Icon } from "../components/Icon";
import { ActionMenu } from "../components/Menu";
import { Modal } from "../components/Modal";
import { Card, EmptyState, Loading, PageHeader, timeAgo } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { useResource } from "../hooks/useResource";

async function load() {
  const [volumes, servers] = await Promise.all([cinder.listVolumes(), listServers()]);
  return { volumes, servers };
}

type Dialog = { kind: "create" } | { kind: "attach" | "delete"; volume: cinder.Volume } | null;

export function VolumesPage() {
  const data = useResource(load, [], 4000);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const d = data.data;
  const serverName = (id: string) => d?.servers.find((s) => s.id === id)?.name ?? id.slice(0, 8);
  const volumes = (d?.volumes ?? []).slice().sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));

  const detach = async (v: cinder.Volume) => {
    setRowError(null);
    try {
      for (const a of v.attachments) await detachVolume(a.server_id, v.id);
      void data.reload();
    } catch (e) {
      setRowError(`Could not detach ${v.name || v.id}: ${errorText(e)}`);
    }
  };

  return (
    <>
      <PageHeader
        title="Volumes"
        subtitle="Block storage that outlives instances; attached volumes appear in the guest as virtio disks."
        actions={<button type="button" className="btn btn-primary" onClick={() => setDialog({ kind: "create" })}><Icon name="plus" size={16} /> Create volume</button>}
      />
      <ErrorNote message={rowError} onDismiss={() => setRowError(null)} />
      <Card>
        <ErrorNote message={data.error} />
        {!d ? (!data.error && <Loading what="volumes" />) : volumes.length === 0 ? (
          <EmptyState icon="volume" title="No volumes" hint="Create a volume and attach it to an instance for storage that survives it." />
        ) : (
          <table className="table" data-testid="volumes-table">
            <thead><tr><th>Name</th><th>Size</th><th>Status</th><th>Attached to</th><th>Created</th><th className="col-actions" /></tr></thead>
            <tbody>
              {volumes.map((v) => (
                <tr key={v.id} data-testid="volume-row" data-name={v.name ?? ""} data-status={v.status}>
                  <td><strong>{v.name || "(no name)"}</strong><div className="muted mono small">{v.id.slice(0, 8)}</div></td>
                  <td>{v.size} GiB</td>
                  <td><StatusBadge status={v.status} /></td>
                  <td>
                    {v.attachments.length === 0 ? <span className="muted">—</span> : v.attachments.map((a) => (
                      <div key={a.server_id}>
                        <a href={`#/instances/${a.server_id}`}>{serverName(a.server_id)}</a>
                        {a.device && <span className="muted mono small"> · {a.device}</span>}
                      </div>
                    ))}
                  </td>
                  <td className="muted">{timeAgo(v.created_at)}</td>
                  <td className="col-actions">
                    <ActionMenu
                      testId={`actions-${v.name}`}
                      actions={[
                        { label: "Attach to instance", icon: "link", hidden: v.status !== "available", onSelect: () => setDialog({ kind: "attach", volume: v }) },
                        { label: "Detach", icon: "unlink", hidden: v.attachments.length === 0, onSelect: () => void detach(v) },
                        { label: "Delete", icon: "trash", danger: true, onSelect: () => setDialog({ kind: "delete", volume: v }) },
                      ]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {dialog?.kind === "create" && <CreateVolumeDialog onClose={() => setDialog(null)} onDone={() => void data.reload()} />}
      {dialog?.kind === "attach" && d && (
        <AttachDialog volume={dialog.volume} servers={d.servers.filter((s) => s.status === "ACTIVE" || s.status === "SHUTOFF")} onClose={() => setDialog(null)} onDone={() => void data.reload()} />
      )}
      {dialog?.kind === "delete" && (
        <ConfirmDialog title={`Delete volume ${dialog.volume.name || dialog.volume.id}?`} message="Its data is destroyed. A volume must be detached, and have no snapshots, to be deleted."
          confirmLabel="Delete volume" onClose={() => setDialog(null)} onConfirm={async () => { await cinder.deleteVolume(dialog.volume.id); void data.reload(); }} />
      )}
    </>
  );
}

function CreateVolumeDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState("");
  const [size, setSize] = useState("1");
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [error, setError] = useState<string | null>(null);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const n = Number(size);
    const errs = {
      name: validate.name(name, "The volume name"),
      size: Number.isInteger(n) && n >= 1 ? null : "The size is a whole number of GiB, at least 1.",
    };
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    try {
      await cinder.createVolume(name.trim(), n);
      onDone();
      onClose();
    } catch (er) {
      setError(errorText(er));
    }
  };
  return (
    <Modal title="Create volume" onClose={onClose}
      footer={<><button type="button" className="btn" onClick={onClose}>Cancel</button><button type="button" className="btn btn-primary" onClick={() => void submit()}>Create volume</button></>}>
      <form onSubmit={submit} noValidate>
        <div className="form-row">
          <Field label="Name" htmlFor="vol-name" error={errors.name}><input id="vol-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus /></Field>
          <Field label="Size (GiB)" htmlFor="vol-size" error={errors.size}><input id="vol-size" inputMode="numeric" value={size} onChange={(e) => setSize(e.target.value)} /></Field>
        </div>
        <ErrorNote message={error} />
      </form>
    </Modal>
  );
}

function AttachDialog({ volume, servers, onClose, onDone }: { volume: cinder.Volume; servers: { id: string; name: string }[]; onClose: () => void; onDone: () => void }) {
  const [server, setServer] = useState(servers[0]?.id ?? "");
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    if (!server) return setError("There is no instance to attach it to.");
    try {
      await attachVolume(server, volume.id);
      onDone();
      onClose();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <Modal title={`Attach ${volume.name || "volume"}`} onClose={onClose}
      footer={<><button type="button" className="btn" onClick={onClose}>Cancel</button><button type="button" className="btn btn-primary" onClick={() => void submit()}>Attach</button></>}>
      <Field label="Instance" htmlFor="attach-server" hint="A volume attaches to instances on the hypervisor that holds it.">
        <select id="attach-server" value={server} onChange={(e) => setServer(e.target.value)}>
          {servers.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
        </select>
      </Field>
      <ErrorNote message={error} />
    </Modal>
  );
}

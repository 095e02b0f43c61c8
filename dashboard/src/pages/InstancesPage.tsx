// Instances of the project with live status (polled), row actions and bulk delete; the
// launch wizard opens over it at #/instances/launch.
import { useState } from "react";
import { deleteServer, listFlavors, listServers, Server, serverAction, ServerAction } from "../api/compute";
import { errorText } from "../api/errors";
import { listImages } from "../api/image";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Icon } from "../components/Icon";
import { ActionMenu } from "../components/Menu";
import { Card, EmptyState, Loading, PageHeader, timeAgo } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { useResource } from "../hooks/useResource";
import { navigate } from "../router";
import { AssociateFloatingIpDialog, SnapshotDialog } from "./InstanceDialogs";
import { addressesOf, canDo, flavorName, imageName, loadFloatingByServer } from "./instanceInfo";
import { LaunchWizard } from "./LaunchWizard";

const ACTION_WORDS: Record<ServerAction, string> = {
  start: "Starting",
  stop: "Stopping",
  reboot: "Rebooting",
  hardReboot: "Hard rebooting",
  pause: "Pausing",
  unpause: "Resuming",
};

type Dialog = { kind: "snapshot" | "fip" | "delete"; server: Server } | { kind: "bulk-delete"; servers: Server[] } | null;

export function InstancesPage({ launching }: { launching: boolean }) {
  const servers = useResource(listServers, [], 3000);
  const flavors = useResource(listFlavors, []);
  const images = useResource(listImages, []);
  const floating = useResource(loadFloatingByServer, [], 5000);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<Dialog>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const list = (servers.data ?? []).slice().sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  const selectedServers = list.filter((s) => selected.has(s.id));

  const act = async (server: Server, action: ServerAction) => {
    setActionError(null);
    try {
      await serverAction(server.id, action);
      setNotice(`${ACTION_WORDS[action]} ${server.name}…`);
      void servers.reload();
    } catch (e) {
      setActionError(`Could not ${action === "unpause" ? "resume" : action} ${server.name}: ${errorText(e)}`);
    }
  };

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <>
      <PageHeader
        title="Instances"
        subtitle="Virtual machines of this project, on real QEMU. The list refreshes every few seconds."
        actions={
          <>
            {selectedServers.length > 0 && (
              <button type="button" className="btn btn-danger-outline" onClick={() => setDialog({ kind: "bulk-delete", servers: selectedServers })} data-testid="delete-selected">
                <Icon name="trash" size={16} /> Delete {selectedServers.length} selected
              </button>
            )}
            <button type="button" className="btn btn-primary" onClick={() => navigate("/instances/launch")} data-testid="launch-instance">
              <Icon name="plus" size={16} /> Launch instance
            </button>
          </>
        }
      />
      {notice && (
        <div className="notice notice-info" role="status">
          {notice}
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setNotice(null)}><Icon name="x" size={14} /></button>
        </div>
      )}
      <ErrorNote message={actionError} onDismiss={() => setActionError(null)} />
      <Card>
        <ErrorNote message={servers.error} title="The instance list could not be loaded:" />
        {servers.loading && !servers.data ? (
          <Loading what="instances" />
        ) : list.length === 0 ? (
          <EmptyState
            icon="server"
            title="No instances"
            hint="Launch a virtual machine from an image in a few clicks."
            action={<button type="button" className="btn btn-primary" onClick={() => navigate("/instances/launch")}>Launch instance</button>}
          />
        ) : (
          <table className="table" data-testid="instances-table">
            <thead>
              <tr>
                <th className="col-check">
                  <input
                    type="checkbox"
                    aria-label="Select all instances"
                    checked={selectedServers.length === list.length}
                    onChange={(e) => setSelected(e.target.checked ? new Set(list.map((s) => s.id)) : new Set())}
                  />
                </th>
                <th>Name</th>
                <th>Status</th>
                <th>IP addresses</th>
                <th>Flavor</th>
                <th>Image</th>
                <th>Created</th>
                <th className="col-actions" />
              </tr>
            </thead>
            <tbody>
              {list.map((s) => {
                const can = canDo(s);
                return (
                  <tr key={s.id} data-testid="instance-row" data-name={s.name} data-status={s.status}>
                    <td className="col-check">
                      <input type="checkbox" aria-label={`Select ${s.name}`} checked={selected.has(s.id)} onChange={() => toggle(s.id)} />
                    </td>
                    <td>
                      <a href={`#/instances/${s.id}`} className="strong-link">{s.name}</a>
                      <div className="muted mono small">{s.id.slice(0, 8)}</div>
                    </td>
                    <td>
                      <StatusBadge status={s.status} />
                      {s["OS-EXT-STS:task_state"] && <div className="muted small">{s["OS-EXT-STS:task_state"]!.replace(/_/g, " ")}</div>}
                      {s.fault?.message && <div className="error-text small">{s.fault.message}</div>}
                    </td>
                    <td>
                      {addressesOf(s, floating.data).map((a) => (
                        <div key={a.addr} className={a.floating ? "ip ip-floating" : "ip"} title={a.network}>
                          {a.floating && <Icon name="globe" size={13} />} {a.addr}
                        </div>
                      ))}
                    </td>
                    <td>{flavorName(s, flavors.data)}</td>
                    <td>{imageName(s, images.data)}</td>
                    <td className="muted">{timeAgo(s.created)}</td>
                    <td className="col-actions">
                      <ActionMenu
                        testId={`actions-${s.name}`}
                        actions={[
                          { label: "Start", icon: "play", onSelect: () => void act(s, "start"), hidden: !can.start },
                          { label: "Stop", icon: "stop", onSelect: () => void act(s, "stop"), hidden: !can.stop },
                          { label: "Reboot", icon: "reboot", onSelect: () => void act(s, "reboot"), hidden: !can.reboot },
                          { label: "Pause", icon: "pause", onSelect: () => void act(s, "pause"), hidden: !can.pause },
                          { label: "Resume", icon: "play", onSelect: () => void act(s, "unpause"), hidden: !can.unpause },
                          { label: "Create snapshot", icon: "camera", onSelect: () => setDialog({ kind: "snapshot", server: s }), disabled: !can.snapshot },
                          { label: "Associate floating IP", icon: "link", onSelect: () => setDialog({ kind: "fip", server: s }) },
                          { label: "Console log", icon: "terminal", onSelect: () => navigate(`/instances/${s.id}/log`) },
                          { label: "Console", icon: "monitor", onSelect: () => navigate(`/instances/${s.id}/console`), disabled: !can.console },
                          { label: "Delete", icon: "trash", danger: true, onSelect: () => setDialog({ kind: "delete", server: s }) },
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
      {launching && (
        <LaunchWizard
          onClose={() => navigate("/instances")}
          onLaunched={(msg) => {
            setNotice(msg);
            void servers.reload();
            navigate("/instances");
          }}
        />
      )}
      {dialog?.kind === "snapshot" && <SnapshotDialog server={dialog.server} onClose={() => setDialog(null)} onDone={setNotice} />}
      {dialog?.kind === "fip" && (
        <AssociateFloatingIpDialog server={dialog.server} onClose={() => setDialog(null)} onDone={(m) => { setNotice(m); void servers.reload(); void floating.reload(); }} />
      )}
      {dialog?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete ${dialog.server.name}?`}
          message="The virtual machine and its root disk are destroyed. This cannot be undone."
          confirmLabel="Delete instance"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await deleteServer(dialog.server.id);
            setNotice(`Deleting ${dialog.server.name}…`);
            void servers.reload();
          }}
        />
      )}
      {dialog?.kind === "bulk-delete" && (
        <ConfirmDialog
          title={`Delete ${dialog.servers.length} instances?`}
          message={`${dialog.servers.map((s) => s.name).join(", ")} and their root disks are destroyed. This cannot be undone.`}
          confirmLabel={`Delete ${dialog.servers.length} instances`}
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            const results = await Promise.allSettled(dialog.servers.map((s) => deleteServer(s.id)));
            const failed = results
              .map((r, i) => (r.status === "rejected" ? `${dialog.servers[i].name}: ${errorText(r.reason)}` : null))
              .filter(Boolean);
            setSelected(new Set());
            void servers.reload();
            if (failed.length) throw new Error(`Some instances could not be deleted. ${failed.join(" ")}`);
            setNotice(`Deleting ${dialog.servers.length} instances…`);
          }}
        />
      )}
    </>
  );
}

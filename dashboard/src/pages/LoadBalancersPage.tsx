// Load balancers (Octavia): the project's load balancers with their provisioning and
// operating status (polled fast while one is PENDING_*), create one fully populated, point a
// floating IP at its VIP, delete it with everything under it (cascade).
import { useState } from "react";
import { errorText } from "../api/errors";
import * as lbaas from "../api/loadbalancer";
import * as net from "../api/network";
import { ErrorNote } from "../components/ErrorNote";
import { Icon } from "../components/Icon";
import { ActionMenu } from "../components/Menu";
import { Card, EmptyState, Loading, PageHeader } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { usePollWhile, useResource } from "../hooks/useResource";
import { navigate } from "../router";
import { useSignedIn } from "../session";
import { CreateLoadBalancerDialog, DeleteLoadBalancerDialog, floatingIpOf, LbFloatingIpDialog } from "./LoadBalancerDialogs";

async function load(projectId: string | null) {
  const [lbs, ips, subnets] = await Promise.all([lbaas.listLoadBalancers(projectId), net.listFloatingIps(), net.listSubnets()]);
  lbs.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  return { lbs, ips, subnets };
}

type Dialog = { kind: "create" } | { kind: "fip" | "delete"; lb: lbaas.LoadBalancer } | null;

export function LoadBalancersPage() {
  const session = useSignedIn();
  const data = useResource(() => load(session.projectId), [session.projectId], 10000);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const d = data.data;
  usePollWhile(!!d?.lbs.some((lb) => lbaas.isPending(lb.provisioning_status)), data.reload, 2000);

  const disassociate = async (lb: lbaas.LoadBalancer, ip: net.FloatingIp) => {
    setRowError(null);
    try {
      await net.associateFloatingIp(ip.id, null);
      setNotice(`${ip.floating_ip_address} no longer points at ${lb.name || lb.id}.`);
      void data.reload();
    } catch (e) {
      setRowError(`Could not disassociate ${ip.floating_ip_address}: ${errorText(e)}`);
    }
  };

  return (
    <>
      <PageHeader
        title="Load balancers"
        subtitle="A virtual IP spreading connections over a pool of instances (Octavia, served by haproxy on a network node)."
        actions={<button type="button" className="btn btn-primary" onClick={() => setDialog({ kind: "create" })} data-testid="create-lb"><Icon name="plus" size={16} /> Create load balancer</button>}
      />
      {notice && <div className="notice notice-info" role="status">{notice}</div>}
      <ErrorNote message={rowError} onDismiss={() => setRowError(null)} />
      <Card>
        <ErrorNote message={data.error} />
        {!d ? (!data.error && <Loading what="load balancers" />) : d.lbs.length === 0 ? (
          <EmptyState icon="balancer" title="No load balancers" hint="Create one to spread traffic over several instances behind one address." />
        ) : (
          <table className="table" data-testid="lbs-table">
            <thead><tr><th>Name</th><th>VIP address</th><th>Subnet</th><th>Provisioning</th><th>Operating</th><th className="col-actions" /></tr></thead>
            <tbody>
              {d.lbs.map((lb) => {
                const fip = floatingIpOf(lb, d.ips);
                const subnet = d.subnets.find((s) => s.id === lb.vip_subnet_id);
                return (
                  <tr key={lb.id} data-testid="lb-row" data-name={lb.name} data-status={lb.provisioning_status} data-operating={lb.operating_status}>
                    <td>
                      <a className="strong-link" href={`#/load-balancers/${lb.id}`}>{lb.name || "(no name)"}</a>
                      <div className="muted mono small">{lb.id.slice(0, 8)}</div>
                    </td>
                    <td>
                      <div className="ip">{lb.vip_address ?? "—"}</div>
                      {fip && <div className="ip ip-floating" data-testid="lb-fip"><Icon name="globe" size={13} /> {fip.floating_ip_address}</div>}
                    </td>
                    <td>{subnet ? <>{subnet.name} <span className="muted mono small">{subnet.cidr}</span></> : <span className="muted">—</span>}</td>
                    <td><StatusBadge status={lb.provisioning_status} /></td>
                    <td><StatusBadge status={lb.operating_status} /></td>
                    <td className="col-actions">
                      <ActionMenu
                        testId={`actions-${lb.name}`}
                        actions={[
                          { label: "Details", icon: "eye", onSelect: () => navigate(`/load-balancers/${lb.id}`) },
                          { label: "Associate floating IP", icon: "link", hidden: !!fip, disabled: !lb.vip_port_id, onSelect: () => setDialog({ kind: "fip", lb }) },
                          { label: "Disassociate floating IP", icon: "unlink", hidden: !fip, onSelect: () => fip && void disassociate(lb, fip) },
                          { label: "Delete", icon: "trash", danger: true, onSelect: () => setDialog({ kind: "delete", lb }) },
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
      {dialog?.kind === "create" && (
        <CreateLoadBalancerDialog
          onClose={() => setDialog(null)}
          onDone={(lb) => {
            setNotice(`Load balancer ${lb.name} is being created; its status changes to ACTIVE once the network node serves it.`);
            void data.reload();
          }}
        />
      )}
      {dialog?.kind === "fip" && <LbFloatingIpDialog lb={dialog.lb} onClose={() => setDialog(null)} onDone={(m) => { setNotice(m); void data.reload(); }} />}
      {dialog?.kind === "delete" && (
        <DeleteLoadBalancerDialog lb={dialog.lb} floatingIp={floatingIpOf(dialog.lb, d?.ips)} onClose={() => setDialog(null)} onDone={() => void data.reload()} />
      )}
    </>
  );
}

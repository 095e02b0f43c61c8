// Admin: users and their role assignments (role_assignments?include_names=True).
import { listRoleAssignments, listUsers } from "../../api/identity";
import { ErrorNote } from "../../components/ErrorNote";
import { Card, Loading, PageHeader } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { useResource } from "../../hooks/useResource";

async function load() {
  const [users, assignments] = await Promise.all([listUsers(), listRoleAssignments()]);
  return { users, assignments };
}

export function UsersPage() {
  const data = useResource(load, []);
  const d = data.data;
  return (
    <>
      <PageHeader title="Users and roles" subtitle="Who may do what, on which project." />
      <ErrorNote message={data.error} />
      {!d ? (!data.error && <Loading what="users" />) : (
        <div className="grid-2">
          <Card title="Users">
            <table className="table" data-testid="users-table">
              <thead><tr><th>Name</th><th>Domain</th><th>Status</th></tr></thead>
              <tbody>
                {d.users.map((u) => (
                  <tr key={u.id}><td><strong>{u.name}</strong><div className="muted mono small">{u.id.slice(0, 8)}</div></td><td>{u.domain_id}</td><td><StatusBadge status={u.enabled ? "enabled" : "disabled"} /></td></tr>
                ))}
              </tbody>
            </table>
          </Card>
          <Card title="Role assignments">
            <table className="table" data-testid="assignments-table">
              <thead><tr><th>User or group</th><th>Role</th><th>Scope</th></tr></thead>
              <tbody>
                {d.assignments.map((a, i) => (
                  <tr key={i}>
                    <td>{a.user?.name ?? (a.group ? `group ${a.group.name}` : "—")}</td>
                    <td><span className={`chip chip-role-${a.role.name}`}>{a.role.name}</span></td>
                    <td>{a.scope.project ? `project ${a.scope.project.name}` : a.scope.domain ? `domain ${a.scope.domain.name}` : a.scope.system ? "system" : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        </div>
      )}
    </>
  );
}

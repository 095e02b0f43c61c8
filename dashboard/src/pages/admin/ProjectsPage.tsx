// Admin: every project of the cloud.
import { listProjects } from "../../api/identity";
import { ErrorNote } from "../../components/ErrorNote";
import { Card, Loading, PageHeader } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { useResource } from "../../hooks/useResource";

export function ProjectsPage() {
  const projects = useResource(listProjects, []);
  return (
    <>
      <PageHeader title="Projects" subtitle="Every project (tenant) of the cloud." />
      <Card>
        <ErrorNote message={projects.error} />
        {!projects.data ? (!projects.error && <Loading what="projects" />) : (
          <table className="table" data-testid="projects-table">
            <thead><tr><th>Name</th><th>ID</th><th>Domain</th><th>Description</th><th>Status</th></tr></thead>
            <tbody>
              {projects.data.map((p) => (
                <tr key={p.id}>
                  <td><strong>{p.name}</strong></td>
                  <td className="mono small">{p.id}</td>
                  <td>{p.domain_id}</td>
                  <td className="muted">{p.description || "—"}</td>
                  <td><StatusBadge status={p.enabled ? "enabled" : "disabled"} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

// Admin: the flavors servers are sized by.
import { listFlavors } from "../../api/compute";
import { ErrorNote } from "../../components/ErrorNote";
import { Card, formatMiB, Loading, PageHeader } from "../../components/Page";
import { useResource } from "../../hooks/useResource";

export function FlavorsPage() {
  const flavors = useResource(listFlavors, []);
  const list = (flavors.data ?? []).slice().sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram);
  return (
    <>
      <PageHeader title="Flavors" subtitle="Sizes of virtual machines." />
      <Card>
        <ErrorNote message={flavors.error} />
        {!flavors.data ? (!flavors.error && <Loading what="flavors" />) : (
          <table className="table" data-testid="flavors-table">
            <thead><tr><th>Name</th><th>vCPUs</th><th>RAM</th><th>Root disk</th><th>Ephemeral</th><th>Public</th><th>ID</th></tr></thead>
            <tbody>
              {list.map((f) => (
                <tr key={f.id}>
                  <td><strong>{f.name}</strong></td>
                  <td>{f.vcpus}</td>
                  <td>{formatMiB(f.ram)}</td>
                  <td>{f.disk} GiB</td>
                  <td>{f["OS-FLV-EXT-DATA:ephemeral"] ?? 0} GiB</td>
                  <td>{f["os-flavor-access:is_public"] === false ? "no" : "yes"}</td>
                  <td className="mono small">{f.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

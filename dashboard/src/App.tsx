// Shows the login page or the signed-in frame with the page of the current hash route.
import { ReactNode } from "react";
import { Layout } from "./components/Layout";
import { EmptyState } from "./components/Page";
import { FlavorsPage } from "./pages/admin/FlavorsPage";
import { HypervisorsPage } from "./pages/admin/HypervisorsPage";
import { ProjectsPage } from "./pages/admin/ProjectsPage";
import { UsersPage } from "./pages/admin/UsersPage";
import { FloatingIpsPage } from "./pages/FloatingIpsPage";
import { ImagesPage } from "./pages/ImagesPage";
import { InstanceDetailPage } from "./pages/InstanceDetailPage";
import { InstancesPage } from "./pages/InstancesPage";
import { KeyPairsPage } from "./pages/KeyPairsPage";
import { LoadBalancerDetailPage } from "./pages/LoadBalancerDetailPage";
import { LoadBalancersPage } from "./pages/LoadBalancersPage";
import { LoginPage } from "./pages/LoginPage";
import { NetworksPage } from "./pages/NetworksPage";
import { OverviewPage } from "./pages/OverviewPage";
import { RoutersPage } from "./pages/RoutersPage";
import { SecurityGroupsPage } from "./pages/SecurityGroupsPage";
import { TopologyPage } from "./pages/TopologyPage";
import { VolumesPage } from "./pages/VolumesPage";
import { match, useHashPath } from "./router";
import { useSession } from "./session";

function pageFor(path: string, isAdmin: boolean): ReactNode {
  let p: Record<string, string> | null;
  if (match("/overview", path)) return <OverviewPage />;
  if (match("/instances", path)) return <InstancesPage launching={false} />;
  if (match("/instances/launch", path)) return <InstancesPage launching />;
  if ((p = match("/instances/:id", path))) return <InstanceDetailPage id={p.id} tab="overview" />;
  if ((p = match("/instances/:id/:tab", path))) return <InstanceDetailPage id={p.id} tab={p.tab} />;
  if (match("/images", path)) return <ImagesPage />;
  if (match("/keypairs", path)) return <KeyPairsPage />;
  if (match("/volumes", path)) return <VolumesPage />;
  if (match("/networks", path)) return <NetworksPage />;
  if (match("/routers", path)) return <RoutersPage />;
  if (match("/topology", path)) return <TopologyPage />;
  if (match("/security-groups", path)) return <SecurityGroupsPage />;
  if (match("/floating-ips", path)) return <FloatingIpsPage />;
  if (match("/load-balancers", path)) return <LoadBalancersPage />;
  if ((p = match("/load-balancers/:id", path))) return <LoadBalancerDetailPage id={p.id} />;
  if (path.startsWith("/admin/") && !isAdmin)
    return <EmptyState icon="lock" title="Administrators only" hint="This page needs the admin role on the current project." />;
  if (match("/admin/hypervisors", path)) return <HypervisorsPage />;
  if (match("/admin/projects", path)) return <ProjectsPage />;
  if (match("/admin/users", path)) return <UsersPage />;
  if (match("/admin/flavors", path)) return <FlavorsPage />;
  return <EmptyState icon="alert" title="Page not found" hint={`There is no page at ${path}.`} action={<a className="btn" href="#/overview">Go to the overview</a>} />;
}

export function App() {
  const { session, resuming } = useSession();
  const path = useHashPath();
  if (resuming) return <div className="splash"><span className="spinner" /></div>;
  if (!session) return <LoginPage />;
  // Keyed by project so every page reloads its data after a project switch.
  return (
    <Layout path={path}>
      <div key={session.projectId ?? "unscoped"} className="page">
        {pageFor(path, session.isAdmin)}
      </div>
    </Layout>
  );
}

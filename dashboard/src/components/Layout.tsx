// The frame of every signed-in page: the sidebar, and the header with the project switcher
// and the user menu.
import { ReactNode, useEffect, useRef, useState } from "react";
import { errorText } from "../api/errors";
import { listMyProjects, Project } from "../api/identity";
import { navigate } from "../router";
import { useSession, useSignedIn } from "../session";
import { CielLogo, Icon, IconName } from "./Icon";

interface NavItem {
  path: string;
  label: string;
  icon: IconName;
}

const PROJECT_NAV: NavItem[] = [
  { path: "/overview", label: "Overview", icon: "overview" },
  { path: "/instances", label: "Instances", icon: "server" },
  { path: "/images", label: "Images", icon: "image" },
  { path: "/volumes", label: "Volumes", icon: "volume" },
  { path: "/keypairs", label: "Key pairs", icon: "key" },
];
const NETWORK_NAV: NavItem[] = [
  { path: "/networks", label: "Networks", icon: "network" },
  { path: "/routers", label: "Routers", icon: "router" },
  { path: "/topology", label: "Topology", icon: "topology" },
  { path: "/security-groups", label: "Security groups", icon: "shield" },
  { path: "/floating-ips", label: "Floating IPs", icon: "globe" },
  { path: "/load-balancers", label: "Load balancers", icon: "balancer" },
];
const ADMIN_NAV: NavItem[] = [
  { path: "/admin/hypervisors", label: "Hypervisors", icon: "cpu" },
  { path: "/admin/projects", label: "Projects", icon: "folder" },
  { path: "/admin/users", label: "Users & roles", icon: "users" },
  { path: "/admin/flavors", label: "Flavors", icon: "flavor" },
];

function NavGroup({ title, items, path }: { title: string; items: NavItem[]; path: string }) {
  return (
    <div className="nav-group">
      <div className="nav-title">{title}</div>
      {items.map((item) => {
        const active = path === item.path || path.startsWith(`${item.path}/`);
        return (
          <a key={item.path} href={`#${item.path}`} className={active ? "nav-link active" : "nav-link"} aria-current={active ? "page" : undefined}>
            <Icon name={item.icon} />
            <span>{item.label}</span>
          </a>
        );
      })}
    </div>
  );
}

function Sidebar({ path }: { path: string }) {
  const session = useSignedIn();
  return (
    <nav className="sidebar" aria-label="Main">
      <a className="brand" href="#/overview">
        <CielLogo />
        <div>
          <div className="brand-name">Ciel</div>
          <div className="brand-sub">Private cloud</div>
        </div>
      </a>
      <NavGroup title="Project" items={PROJECT_NAV} path={path} />
      <NavGroup title="Network" items={NETWORK_NAV} path={path} />
      {session.isAdmin && <NavGroup title="Admin" items={ADMIN_NAV} path={path} />}
      <div className="sidebar-footer muted">OpenStack APIs · Keystone · Nova · Glance · Neutron · Cinder · Octavia</div>
    </nav>
  );
}

function useOutsideClose(open: boolean, close: () => void) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) close();
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open, close]);
  return ref;
}

function ProjectSwitcher() {
  const session = useSignedIn();
  const { switchProject } = useSession();
  const [open, setOpen] = useState(false);
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ref = useOutsideClose(open, () => setOpen(false));

  useEffect(() => {
    if (!open) return;
    listMyProjects()
      .then((p) => setProjects(p.sort((a, b) => a.name.localeCompare(b.name))))
      .catch((e) => setError(errorText(e)));
  }, [open]);

  const choose = async (p: Project) => {
    setOpen(false);
    if (p.id === session.projectId) return;
    try {
      await switchProject(p.id);
    } catch (e) {
      setError(errorText(e));
      setOpen(true);
    }
  };

  return (
    <div className="dropdown" ref={ref}>
      <button type="button" className="project-switcher" onClick={() => setOpen(!open)} aria-haspopup="listbox" aria-expanded={open} data-testid="project-switcher">
        <Icon name="folder" size={16} />
        <span className="muted">Project</span>
        <strong>{session.projectName ?? "none"}</strong>
        <Icon name="chevronDown" size={16} />
      </button>
      {open && (
        <div className="dropdown-menu" role="listbox">
          <div className="dropdown-title">Switch project</div>
          {error && <div className="dropdown-error">{error}</div>}
          {!projects && !error && <div className="dropdown-item muted">Loading…</div>}
          {projects?.map((p) => (
            <button type="button" key={p.id} role="option" aria-selected={p.id === session.projectId} className="dropdown-item" onClick={() => choose(p)}>
              <span>{p.name}</span>
              {p.id === session.projectId && <Icon name="check" size={16} />}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function UserMenu() {
  const session = useSignedIn();
  const { logout } = useSession();
  const [open, setOpen] = useState(false);
  const ref = useOutsideClose(open, () => setOpen(false));
  return (
    <div className="dropdown" ref={ref}>
      <button type="button" className="user-button" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="user-menu">
        <span className="avatar">{session.userName.slice(0, 1).toUpperCase()}</span>
        <span>{session.userName}</span>
        <Icon name="chevronDown" size={16} />
      </button>
      {open && (
        <div className="dropdown-menu dropdown-right">
          <div className="dropdown-title">
            Signed in as <strong>{session.userName}</strong>
            <div className="muted small">Roles: {session.roles.join(", ") || "none"}</div>
            <div className="muted small">Session ends {new Date(session.body.expires_at).toLocaleTimeString()}</div>
          </div>
          <button type="button" className="dropdown-item" onClick={() => { setOpen(false); navigate("/keypairs"); }}>
            <Icon name="key" size={16} /> Key pairs
          </button>
          <button type="button" className="dropdown-item" onClick={() => void logout()} data-testid="sign-out">
            <Icon name="logout" size={16} /> Sign out
          </button>
        </div>
      )}
    </div>
  );
}

export function Layout({ path, children }: { path: string; children: ReactNode }) {
  return (
    <div className="app">
      <Sidebar path={path} />
      <div className="main">
        <header className="topbar">
          <ProjectSwitcher />
          <div className="topbar-spacer" />
          <UserMenu />
        </header>
        <main className="content">{children}</main>
      </div>
    </div>
  );
}

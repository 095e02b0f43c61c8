// Keystone v3: tokens (password and token methods), projects, users, roles, assignments.
import { CatalogEntry, endpoints } from "./endpoints";
import { del, get, send } from "./http";

export interface NamedRef {
  id: string;
  name: string;
  domain?: { id: string; name: string };
}

export interface TokenBody {
  expires_at: string;
  issued_at: string;
  user: NamedRef;
  project?: NamedRef;
  roles?: NamedRef[];
  catalog?: CatalogEntry[];
}

export interface IssuedToken {
  id: string;
  body: TokenBody;
}

const IDENTITY = "/identity/v3";

async function issue(auth: unknown): Promise<IssuedToken> {
  const res = await send("POST", `${IDENTITY}/auth/tokens`, {
    body: { auth },
    noAuthRedirect: true,
    anonymous: true,
  });
  const id = res.headers.get("X-Subject-Token");
  if (!id) throw new Error("The cloud issued no token.");
  return { id, body: (JSON.parse(res.text) as { token: TokenBody }).token };
}

export function loginWithPassword(user: string, password: string, project: string): Promise<IssuedToken> {
  const auth: Record<string, unknown> = {
    identity: {
      methods: ["password"],
      password: { user: { name: user, domain: { name: "Default" }, password } },
    },
  };
  if (project) auth.scope = { project: { name: project, domain: { name: "Default" } } };
  return issue(auth);
}

/** A token for another project from the current one (project switcher). */
export function rescope(token: string, projectId: string): Promise<IssuedToken> {
  return issue({
    identity: { methods: ["token"], token: { id: token } },
    scope: { project: { id: projectId } },
  });
}

/** The body of a token (its catalog and roles), to resume a session after a page reload. */
export async function validate(token: string): Promise<TokenBody> {
  const res = await send("GET", `${IDENTITY}/auth/tokens`, {
    headers: { "X-Auth-Token": token, "X-Subject-Token": token },
    noAuthRedirect: true,
  });
  return (JSON.parse(res.text) as { token: TokenBody }).token;
}

export function revoke(token: string): Promise<void> {
  return del(`${IDENTITY}/auth/tokens`, { headers: { "X-Auth-Token": token, "X-Subject-Token": token }, noAuthRedirect: true });
}

export interface Project {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  domain_id: string;
}

export const listMyProjects = () => get<{ projects: Project[] }>(`${endpoints().identity}/auth/projects`).then((r) => r.projects);
export const listProjects = () => get<{ projects: Project[] }>(`${endpoints().identity}/projects`).then((r) => r.projects);

export interface User {
  id: string;
  name: string;
  email?: string;
  enabled: boolean;
  domain_id: string;
  default_project_id?: string;
}
export const listUsers = () => get<{ users: User[] }>(`${endpoints().identity}/users`).then((r) => r.users);

export interface RoleAssignment {
  role: NamedRef;
  user?: NamedRef;
  group?: NamedRef;
  scope: { project?: NamedRef; domain?: NamedRef; system?: unknown };
}
export const listRoleAssignments = () =>
  get<{ role_assignments: RoleAssignment[] }>(`${endpoints().identity}/role_assignments?include_names=True`).then(
    (r) => r.role_assignments,
  );

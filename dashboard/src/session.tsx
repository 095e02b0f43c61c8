// The signed-in user's session: the token (kept in sessionStorage so a reload keeps it), its
// project, roles and catalog; login, project switching (rescoping), logout and expiry.
import { createContext, ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { endpointsFromCatalog, setEndpoints } from "./api/endpoints";
import { configureHttp } from "./api/http";
import * as identity from "./api/identity";

export interface Session {
  token: string;
  body: identity.TokenBody;
  userName: string;
  projectId: string | null;
  projectName: string | null;
  roles: string[];
  isAdmin: boolean;
}

interface SessionContextValue {
  session: Session | null;
  /** True while a stored token is being checked at start. */
  resuming: boolean;
  /** Why the user is on the login page (expired, signed out), in plain words. */
  notice: string | null;
  login: (user: string, password: string, project: string) => Promise<void>;
  switchProject: (projectId: string) => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);
const STORAGE_KEY = "ciel.token";
const LAST_USER_KEY = "ciel.lastUser";

export const EXPIRED_NOTICE = "Your session has expired. Sign in again to continue where you were.";

function toSession(token: string, body: identity.TokenBody): Session {
  const roles = (body.roles ?? []).map((r) => r.name);
  setEndpoints(endpointsFromCatalog(body.catalog ?? [], body.project?.id ?? null));
  return {
    token,
    body,
    userName: body.user.name,
    projectId: body.project?.id ?? null,
    projectName: body.project?.name ?? null,
    roles,
    isAdmin: roles.includes("admin"),
  };
}

export function lastUser(): { user: string; project: string } {
  try {
    return JSON.parse(localStorage.getItem(LAST_USER_KEY) ?? "") as { user: string; project: string };
  } catch {
    return { user: "", project: "" };
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [resuming, setResuming] = useState(true);
  const [notice, setNotice] = useState<string | null>(null);
  const tokenRef = useRef<string | null>(null);

  const adopt = useCallback((s: Session | null) => {
    tokenRef.current = s?.token ?? null;
    if (s) sessionStorage.setItem(STORAGE_KEY, s.token);
    else sessionStorage.removeItem(STORAGE_KEY);
    setSession(s);
  }, []);

  const expire = useCallback(
    (message: string) => {
      if (!tokenRef.current) return;
      adopt(null);
      setNotice(message);
    },
    [adopt],
  );

  useEffect(() => {
    configureHttp({ token: () => tokenRef.current, onUnauthorized: () => expire(EXPIRED_NOTICE) });
  }, [expire]);

  // Resume the session of this tab after a reload.
  useEffect(() => {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    if (!stored) {
      setResuming(false);
      return;
    }
    identity
      .validate(stored)
      .then((body) => adopt(toSession(stored, body)))
      .catch(() => {
        sessionStorage.removeItem(STORAGE_KEY);
        setNotice(EXPIRED_NOTICE);
      })
      .finally(() => setResuming(false));
  }, [adopt]);

  // Back to the login page when the token reaches its expiry time.
  useEffect(() => {
    if (!session) return;
    const ms = new Date(session.body.expires_at).getTime() - Date.now();
    const timer = window.setTimeout(() => expire(EXPIRED_NOTICE), Math.max(0, Math.min(ms, 2_000_000_000)));
    return () => window.clearTimeout(timer);
  }, [session, expire]);

  const login = useCallback(
    async (user: string, password: string, project: string) => {
      const issued = await identity.loginWithPassword(user, password, project);
      localStorage.setItem(LAST_USER_KEY, JSON.stringify({ user, project }));
      setNotice(null);
      adopt(toSession(issued.id, issued.body));
    },
    [adopt],
  );

  const switchProject = useCallback(
    async (projectId: string) => {
      if (!tokenRef.current) return;
      const issued = await identity.rescope(tokenRef.current, projectId);
      adopt(toSession(issued.id, issued.body));
    },
    [adopt],
  );

  const logout = useCallback(async () => {
    const token = tokenRef.current;
    adopt(null);
    setNotice("You have signed out.");
    if (token) await identity.revoke(token).catch(() => undefined);
  }, [adopt]);

  const value = useMemo(
    () => ({ session, resuming, notice, login, switchProject, logout }),
    [session, resuming, notice, login, switchProject, logout],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error("useSession outside SessionProvider");
  return v;
}

/** The current session, for pages that are only shown when signed in. */
export function useSignedIn(): Session {
  const { session } = useSession();
  if (!session) throw new Error("not signed in");
  return session;
}

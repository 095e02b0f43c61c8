// Loads data from the API, optionally polling it, keeping the last good data on screen.
import { DependencyList, useCallback, useEffect, useRef, useState } from "react";
import { errorText } from "../api/errors";

export interface Resource<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
}

export function useResource<T>(load: () => Promise<T>, deps: DependencyList, pollMs?: number): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const g = generation.current;
    try {
      const d = await loadRef.current();
      if (g !== generation.current) return;
      setData(d);
      setError(null);
    } catch (e) {
      if (g !== generation.current) return;
      setError(errorText(e));
    } finally {
      if (g === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    generation.current++;
    setLoading(true);
    setData(undefined);
    void reload();
    if (!pollMs) return;
    const timer = window.setInterval(() => {
      if (!document.hidden) void reload();
    }, pollMs);
    return () => window.clearInterval(timer);
  }, [...deps, pollMs]);

  return { data, error, loading, reload };
}

/** Reloads every `ms` while `active`: fast polling only while something is in transition
 * (a load balancer in a PENDING_* state), on top of a resource's own slower polling. */
export function usePollWhile(active: boolean, reload: () => Promise<void>, ms: number) {
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => {
      if (!document.hidden) void reload();
    }, ms);
    return () => window.clearInterval(timer);
  }, [active, reload, ms]);
}

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

// The one place that sends requests to Ciel: adds the token, turns error answers into
// ApiError with a plain message, and tells the session when the token is no longer valid.
import { ApiError, describeError } from "./errors";

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send this as the raw body instead of JSON. */
  rawBody?: BodyInit;
  /** Do not treat a 401 as an expired session (the login call itself). */
  noAuthRedirect?: boolean;
  /** Send no token (authentication itself). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

interface HttpConfig {
  token: () => string | null;
  onUnauthorized: () => void;
}

let config: HttpConfig = { token: () => null, onUnauthorized: () => {} };

export function configureHttp(c: HttpConfig) {
  config = c;
}

export function currentToken(): string | null {
  return config.token();
}

/** Reports a 401 on an authenticated call: the token expired or was revoked. */
export function reportUnauthorized() {
  config.onUnauthorized();
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

export async function send(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  const token = config.token();
  if (token && !opts.anonymous && !headers["X-Auth-Token"]) headers["X-Auth-Token"] = token;
  let body: BodyInit | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await fetch(path, { method, headers, body, signal: opts.signal });
  const text = await res.text();
  if (!res.ok) {
    if (res.status === 401 && !opts.noAuthRedirect) reportUnauthorized();
    throw new ApiError(res.status, describeError(res.status, text));
  }
  return { status: res.status, headers: res.headers, text };
}

export async function requestJson<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, opts);
  if (!res.text) return undefined as T;
  return JSON.parse(res.text) as T;
}

export const get = <T>(path: string, opts?: RequestOptions) => requestJson<T>("GET", path, opts);
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) =>
  requestJson<T>("POST", path, { ...opts, body });
export const put = <T>(path: string, body?: unknown, opts?: RequestOptions) =>
  requestJson<T>("PUT", path, { ...opts, body });
export const patch = <T>(path: string, body?: unknown, opts?: RequestOptions) =>
  requestJson<T>("PATCH", path, { ...opts, body });
export const del = (path: string, opts?: RequestOptions) => send("DELETE", path, opts).then(() => undefined);

/** Query string from the defined values of an object. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Ciel's own API (no OpenStack service has these), on the same origin under /ciel/v1 (the
// catalog does not list it): the samples behind the monitoring graphs, and metered usage.
import { get, query } from "./http";

const BASE = "/ciel/v1";

/** The graphs' periods: the samples of the last hour or of the last day, ending now. */
export type SamplePeriod = "hour" | "day";
export const PERIOD_SECONDS: Record<SamplePeriod, number> = { hour: 3600, day: 86400 };

export interface ServerSamplePoint {
  /** Unix seconds. */
  at: number;
  /** Of the server's vCPUs together (may be a little over 100). */
  cpu_percent: number;
  memory_rss_bytes: number;
  disk_read_bytes_per_sec: number;
  disk_write_bytes_per_sec: number;
  network_rx_bytes_per_sec: number;
  network_tx_bytes_per_sec: number;
}

export interface ServerSamples {
  server_id: string;
  period: SamplePeriod;
  /** Seconds between two samples. */
  interval: number;
  vcpus: number;
  /** The flavor's memory. */
  memory_bytes: number;
  /** In time order; empty until the hypervisor has sent some. */
  points: ServerSamplePoint[];
}

export interface HostSamplePoint {
  at: number;
  cpu_percent: number;
  memory_used_bytes: number;
  memory_total_bytes: number;
  storage_used_bytes: number;
  storage_size_bytes: number;
}

export interface HostSamples {
  host: string;
  period: SamplePeriod;
  interval: number;
  points: HostSamplePoint[];
}

/** Any member of the server's project. */
export const serverSamples = (serverId: string, period: SamplePeriod) =>
  get<ServerSamples>(`${BASE}/servers/${encodeURIComponent(serverId)}/samples${query({ period })}`);

/** Admins only; `host` is the hypervisor's hypervisor_hostname. */
export const hostSamples = (host: string, period: SamplePeriod) =>
  get<HostSamples>(`${BASE}/hosts/${encodeURIComponent(host)}/samples${query({ period })}`);

export interface ProjectUsage {
  project_id: string;
  server_hours: number;
  vcpu_hours: number;
  ram_gib_hours: number;
  disk_gib_hours: number;
  volume_gib_hours: number;
  floating_ip_hours: number;
  load_balancer_hours: number;
}

export interface UsageReport {
  /** Unix seconds. */
  start: number;
  end: number;
  projects: ProjectUsage[];
}

/** RFC 3339 without fractional seconds (what the controller's time parser takes: it does
 * not read bare Unix seconds). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Metered usage from `start` until now (members: their own project; admins: any, or
 * every project without `projectId`). */
export const usageReport = (start: Date, projectId?: string | null) =>
  get<UsageReport>(`${BASE}/usage${query({ start: rfc3339(start), project_id: projectId })}`);

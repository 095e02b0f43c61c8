// Octavia v2: load balancers (created fully populated: listener, pool, members and health
// monitor in one request), their status tree, and cascade delete.
import { endpoints } from "./endpoints";
import { ApiError } from "./errors";
import { del, get, post, query } from "./http";

function base(): string {
  const b = endpoints().loadBalancer;
  if (!b) throw new ApiError(404, "This cloud has no load-balancer service in its catalog.");
  return `${b}/lbaas`;
}

/** PENDING_CREATE, PENDING_UPDATE, PENDING_DELETE, ACTIVE, DELETED, ERROR */
export type ProvisioningStatus = string;
/** ONLINE, OFFLINE, DEGRADED, ERROR, DRAINING, NO_MONITOR */
export type OperatingStatus = string;

export const isPending = (status: ProvisioningStatus) => status.startsWith("PENDING_");

export interface LoadBalancer {
  id: string;
  name: string;
  description: string;
  project_id: string;
  provisioning_status: ProvisioningStatus;
  operating_status: OperatingStatus;
  vip_address: string | null;
  vip_port_id: string | null;
  vip_subnet_id: string | null;
  vip_network_id: string | null;
  listeners: { id: string }[];
  pools: { id: string }[];
  provider: string;
  created_at: string;
  updated_at: string | null;
}

export const listLoadBalancers = (projectId?: string | null) =>
  get<{ loadbalancers: LoadBalancer[] }>(`${base()}/loadbalancers${query({ project_id: projectId })}`).then(
    (r) => r.loadbalancers,
  );
export const getLoadBalancer = (id: string) =>
  get<{ loadbalancer: LoadBalancer }>(`${base()}/loadbalancers/${id}`).then((r) => r.loadbalancer);
/** Deletes the load balancer with its listeners, pools, members and monitors. */
export const deleteLoadBalancer = (id: string) => del(`${base()}/loadbalancers/${id}?cascade=true`);

export interface Listener {
  id: string;
  name: string;
  protocol: string;
  protocol_port: number;
  default_pool_id: string | null;
}
export const listListeners = (loadbalancerId: string) =>
  get<{ listeners: Listener[] }>(`${base()}/listeners${query({ loadbalancer_id: loadbalancerId })}`).then((r) => r.listeners);

export interface Pool {
  id: string;
  name: string;
  protocol: string;
  lb_algorithm: string;
  healthmonitor_id: string | null;
}
export const listPools = (loadbalancerId: string) =>
  get<{ pools: Pool[] }>(`${base()}/pools${query({ loadbalancer_id: loadbalancerId })}`).then((r) => r.pools);

export interface HealthMonitor {
  id: string;
  type: string;
  delay: number;
  timeout: number;
  max_retries: number;
}
export const getHealthMonitor = (id: string) =>
  get<{ healthmonitor: HealthMonitor }>(`${base()}/healthmonitors/${id}`).then((r) => r.healthmonitor);

// ---- the status tree (GET /loadbalancers/{id}/status) ----
export interface StatusNode {
  id: string;
  name: string;
  provisioning_status: ProvisioningStatus;
  operating_status: OperatingStatus;
}
export interface MemberStatus extends StatusNode {
  address: string;
  protocol_port: number;
}
export interface PoolStatus extends StatusNode {
  members: MemberStatus[];
  health_monitor?: StatusNode & { type: string };
}
export interface ListenerStatus extends StatusNode {
  pools: PoolStatus[];
}
export interface LoadBalancerStatus extends StatusNode {
  listeners: ListenerStatus[];
}
export const statusTree = (id: string) =>
  get<{ statuses: { loadbalancer: LoadBalancerStatus } }>(`${base()}/loadbalancers/${id}/status`).then(
    (r) => r.statuses.loadbalancer,
  );

// ---- fully populated create ----
export interface NewMember {
  name?: string;
  address: string;
  protocol_port: number;
  subnet_id: string;
}
export interface NewHealthMonitor {
  type: string;
  delay: number;
  timeout: number;
  max_retries: number;
}
export interface NewLoadBalancer {
  name: string;
  vip_subnet_id: string;
  listener: { protocol: string; protocol_port: number };
  pool: { protocol: string; lb_algorithm: string; members: NewMember[]; healthmonitor?: NewHealthMonitor };
}

/** One POST creates the load balancer with its listener, default pool, members and monitor. */
export const createLoadBalancer = (lb: NewLoadBalancer) =>
  post<{ loadbalancer: LoadBalancer }>(`${base()}/loadbalancers`, {
    loadbalancer: {
      name: lb.name,
      vip_subnet_id: lb.vip_subnet_id,
      listeners: [
        {
          name: `${lb.name}-${lb.listener.protocol.toLowerCase()}-${lb.listener.protocol_port}`,
          protocol: lb.listener.protocol,
          protocol_port: lb.listener.protocol_port,
          default_pool: {
            name: `${lb.name}-pool`,
            protocol: lb.pool.protocol,
            lb_algorithm: lb.pool.lb_algorithm,
            members: lb.pool.members,
            ...(lb.pool.healthmonitor ? { healthmonitor: { name: `${lb.name}-monitor`, ...lb.pool.healthmonitor } } : {}),
          },
        },
      ],
    },
  }).then((r) => r.loadbalancer);

/** The choices the form offers (what Ciel's haproxy provider serves). */
export const LISTENER_PROTOCOLS = ["HTTP", "HTTPS", "TCP"] as const;
export const ALGORITHMS: [string, string][] = [
  ["ROUND_ROBIN", "Round robin"],
  ["LEAST_CONNECTIONS", "Least connections"],
  ["SOURCE_IP", "Source IP (sticky)"],
];
/** Monitor types that fit a pool's protocol, the first one the default. */
export function monitorTypesFor(poolProtocol: string): string[] {
  if (poolProtocol === "HTTP") return ["HTTP", "TCP", "PING"];
  if (poolProtocol === "HTTPS") return ["HTTPS", "TLS-HELLO", "TCP", "PING"];
  return ["TCP", "HTTP", "PING"];
}

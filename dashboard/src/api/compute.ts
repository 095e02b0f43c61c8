// Nova v2.1: servers and their actions, flavors, key pairs, limits, hypervisors, consoles.
import { endpoints } from "./endpoints";
import { del, get, post } from "./http";

const base = () => endpoints().compute;

export interface ServerAddress {
  addr: string;
  version: number;
  "OS-EXT-IPS:type"?: "fixed" | "floating";
  "OS-EXT-IPS-MAC:mac_addr"?: string;
}

export interface Server {
  id: string;
  name: string;
  status: string;
  created: string;
  updated?: string;
  tenant_id: string;
  key_name?: string | null;
  image: { id: string } | "";
  flavor: { id?: string; original_name?: string; vcpus?: number; ram?: number };
  addresses: Record<string, ServerAddress[]>;
  security_groups?: { name: string }[];
  fault?: { message: string; code: number };
  "OS-EXT-STS:task_state"?: string | null;
  "OS-EXT-STS:vm_state"?: string;
  "OS-EXT-STS:power_state"?: number;
  "OS-EXT-SRV-ATTR:host"?: string | null;
  "OS-EXT-AZ:availability_zone"?: string;
}

export const listServers = () => get<{ servers: Server[] }>(`${base()}/servers/detail`).then((r) => r.servers);
export const getServer = (id: string) => get<{ server: Server }>(`${base()}/servers/${id}`).then((r) => r.server);
export const deleteServer = (id: string) => del(`${base()}/servers/${id}`);

export interface CreateServer {
  name: string;
  imageRef: string;
  flavorRef: string;
  networks: { uuid: string }[] | "none" | "auto";
  security_groups?: { name: string }[];
  key_name?: string;
  user_data?: string;
  min_count?: number;
  max_count?: number;
}

export const createServer = (server: CreateServer) =>
  post<{ server: { id: string; reservation_id?: string } }>(`${base()}/servers`, { server }).then((r) => r.server);

/** The server actions the dashboard offers, as Nova's action bodies. */
export type ServerAction = "start" | "stop" | "reboot" | "hardReboot" | "pause" | "unpause";
const ACTION_BODIES: Record<ServerAction, unknown> = {
  start: { "os-start": null },
  stop: { "os-stop": null },
  reboot: { reboot: { type: "SOFT" } },
  hardReboot: { reboot: { type: "HARD" } },
  pause: { pause: null },
  unpause: { unpause: null },
};

export const serverAction = (id: string, action: ServerAction) =>
  post<void>(`${base()}/servers/${id}/action`, ACTION_BODIES[action]);

export const createSnapshot = (id: string, name: string) =>
  post<{ image_id?: string }>(`${base()}/servers/${id}/action`, { createImage: { name } });

export const consoleOutput = (id: string, length?: number) =>
  post<{ output: string }>(`${base()}/servers/${id}/action`, {
    "os-getConsoleOutput": length ? { length } : {},
  }).then((r) => r.output);

/** A noVNC console URL (remote consoles need microversion 2.6 or later). */
export const createVncConsole = (id: string) =>
  post<{ remote_console: { protocol: string; type: string; url: string } }>(
    `${base()}/servers/${id}/remote-consoles`,
    { remote_console: { protocol: "vnc", type: "novnc" } },
    { headers: { "OpenStack-API-Version": "compute 2.6", "X-OpenStack-Nova-API-Version": "2.6" } },
  ).then((r) => r.remote_console.url);

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  swap?: string | number;
  "OS-FLV-EXT-DATA:ephemeral"?: number;
  "os-flavor-access:is_public"?: boolean;
}
export const listFlavors = () => get<{ flavors: Flavor[] }>(`${base()}/flavors/detail`).then((r) => r.flavors);

export interface Keypair {
  name: string;
  fingerprint: string;
  public_key: string;
  type?: string;
  private_key?: string;
}
export const listKeypairs = () =>
  get<{ keypairs: { keypair: Keypair }[] }>(`${base()}/os-keypairs`).then((r) => r.keypairs.map((k) => k.keypair));
/** Without a public key Nova generates the pair and returns the private key, once. */
export const createKeypair = (name: string, publicKey?: string) =>
  post<{ keypair: Keypair }>(`${base()}/os-keypairs`, {
    keypair: publicKey ? { name, public_key: publicKey } : { name },
  }).then((r) => r.keypair);
export const deleteKeypair = (name: string) => del(`${base()}/os-keypairs/${encodeURIComponent(name)}`);

export interface ComputeLimits {
  maxTotalInstances: number;
  totalInstancesUsed: number;
  maxTotalCores: number;
  totalCoresUsed: number;
  maxTotalRAMSize: number;
  totalRAMUsed: number;
  maxTotalKeypairs?: number;
  maxSecurityGroups?: number;
}
export const computeLimits = () =>
  get<{ limits: { absolute: ComputeLimits } }>(`${base()}/limits`).then((r) => r.limits.absolute);

export interface Hypervisor {
  id: number | string;
  hypervisor_hostname: string;
  hypervisor_type: string;
  host_ip?: string;
  state: string;
  status: string;
  vcpus: number;
  vcpus_used: number;
  memory_mb: number;
  memory_mb_used: number;
  local_gb: number;
  local_gb_used: number;
  running_vms: number;
}
export const listHypervisors = () =>
  get<{ hypervisors: Hypervisor[] }>(`${base()}/os-hypervisors/detail`).then((r) => r.hypervisors);

/** Attaches a volume to a server (the guest sees a new virtio disk). */
export const attachVolume = (serverId: string, volumeId: string) =>
  post<unknown>(`${base()}/servers/${serverId}/os-volume_attachments`, { volumeAttachment: { volumeId } });
export const detachVolume = (serverId: string, volumeId: string) =>
  del(`${base()}/servers/${serverId}/os-volume_attachments/${volumeId}`);

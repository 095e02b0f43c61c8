// What the instance pages show about a server: its addresses, flavor, image and which
// actions its state allows.
import { Flavor, Server } from "../api/compute";
import { Image } from "../api/image";
import { listFloatingIps, listPorts } from "../api/network";

export interface AddressEntry {
  network: string;
  addr: string;
  floating: boolean;
}

/** Floating IPs by server id, from Neutron (floating IP -> port -> device). */
export type FloatingByServer = Map<string, { addr: string; network: string }[]>;

export async function loadFloatingByServer(): Promise<FloatingByServer> {
  const [ips, ports] = await Promise.all([listFloatingIps(), listPorts()]);
  const out: FloatingByServer = new Map();
  for (const ip of ips) {
    const port = ports.find((p) => p.id === ip.port_id);
    if (!port) continue;
    const list = out.get(port.device_id) ?? [];
    list.push({ addr: ip.floating_ip_address, network: "floating" });
    out.set(port.device_id, list);
  }
  return out;
}

/** The server's addresses; floating IPs Nova does not list are added from Neutron's view. */
export function addressesOf(server: Server, floating?: FloatingByServer): AddressEntry[] {
  const out: AddressEntry[] = [];
  for (const [network, list] of Object.entries(server.addresses ?? {}))
    for (const a of list) out.push({ network, addr: a.addr, floating: a["OS-EXT-IPS:type"] === "floating" });
  for (const f of floating?.get(server.id) ?? [])
    if (!out.some((a) => a.addr === f.addr)) out.push({ network: f.network, addr: f.addr, floating: true });
  return out;
}

export function flavorName(server: Server, flavors: Flavor[] | undefined): string {
  if (server.flavor.original_name) return server.flavor.original_name;
  return flavors?.find((f) => f.id === server.flavor.id)?.name ?? server.flavor.id ?? "—";
}

export function imageName(server: Server, images: Image[] | undefined): string {
  if (!server.image) return "booted from volume";
  return images?.find((i) => i.id === (server.image as { id: string }).id)?.name ?? (server.image as { id: string }).id.slice(0, 8);
}

export function displayStatus(server: Server): string {
  const task = server["OS-EXT-STS:task_state"];
  return task ? `${server.status} · ${task.replace(/_/g, " ")}` : server.status;
}

export function canDo(server: Server) {
  const s = server.status;
  const busy = !!server["OS-EXT-STS:task_state"];
  return {
    start: s === "SHUTOFF" && !busy,
    stop: (s === "ACTIVE" || s === "ERROR") && !busy,
    reboot: s === "ACTIVE" && !busy,
    pause: s === "ACTIVE" && !busy,
    unpause: s === "PAUSED" && !busy,
    snapshot: (s === "ACTIVE" || s === "SHUTOFF" || s === "PAUSED") && !busy,
    console: s === "ACTIVE" || s === "PAUSED",
  };
}

// What the instance pages show about a server: its addresses, flavor, image and which
// actions its state allows.
import { Flavor, Server } from "../api/compute";
import { Image } from "../api/image";

export interface AddressEntry {
  network: string;
  addr: string;
  floating: boolean;
}

export function addressesOf(server: Server): AddressEntry[] {
  const out: AddressEntry[] = [];
  for (const [network, list] of Object.entries(server.addresses ?? {}))
    for (const a of list) out.push({ network, addr: a.addr, floating: a["OS-EXT-IPS:type"] === "floating" });
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

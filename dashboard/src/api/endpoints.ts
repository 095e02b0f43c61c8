// Where each service lives, from the catalog of the token: only the *path* of each public
// endpoint URL is kept and used against this page's own origin, plus the version the dashboard
// speaks when the catalog lists the service unversioned (Ciel lists /image, /network and
// /load-balancer).

export interface CatalogEndpoint {
  interface: string;
  region?: string;
  url: string;
}
export interface CatalogEntry {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export interface Endpoints {
  identity: string;
  image: string;
  compute: string;
  network: string;
  volume: string | null;
  /** Octavia v2 (`/load-balancer/v2`), when the catalog has a load-balancer service. */
  loadBalancer: string | null;
}

function pathOf(url: string): string {
  try {
    return new URL(url, window.location.origin).pathname.replace(/\/+$/, "");
  } catch {
    return url.replace(/\/+$/, "");
  }
}

function publicPath(catalog: CatalogEntry[], ...types: string[]): string | null {
  for (const t of types) {
    const entry = catalog.find((c) => c.type === t);
    const ep = entry?.endpoints.find((e) => e.interface === "public") ?? entry?.endpoints[0];
    if (ep) return pathOf(ep.url);
  }
  return null;
}

function withVersion(path: string, version: string): string {
  return /\/v\d+(\.\d+)?$/.test(path) ? path : `${path}/${version}`;
}

export function endpointsFromCatalog(catalog: CatalogEntry[], projectId: string | null): Endpoints {
  const volumeBase = publicPath(catalog, "block-storage", "volumev3");
  let volume: string | null = null;
  if (volumeBase && projectId) {
    volume = volumeBase.replace(/%\(project_id\)s|\$\(project_id\)s/, projectId);
    if (!volume.includes(projectId)) volume = `${withVersion(volume, "v3")}/${projectId}`;
  }
  const lbBase = publicPath(catalog, "load-balancer");
  return {
    identity: withVersion(publicPath(catalog, "identity") ?? "/identity/v3", "v3"),
    image: withVersion(publicPath(catalog, "image") ?? "/image", "v2"),
    compute: publicPath(catalog, "compute") ?? "/compute/v2.1",
    network: withVersion(publicPath(catalog, "network") ?? "/network", "v2.0"),
    volume,
    loadBalancer: lbBase ? withVersion(lbBase, "v2") : null,
  };
}

let current: Endpoints = {
  identity: "/identity/v3",
  image: "/image/v2",
  compute: "/compute/v2.1",
  network: "/network/v2.0",
  volume: null,
  loadBalancer: null,
};

export function setEndpoints(e: Endpoints) {
  current = e;
}
export function endpoints(): Endpoints {
  return current;
}

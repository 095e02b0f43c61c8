// Neutron v2.0: networks, subnets, routers, ports, security groups and rules, floating IPs, quotas.
import { endpoints } from "./endpoints";
import { del, get, post, put, query } from "./http";

const base = () => endpoints().network;

export interface Network {
  id: string;
  name: string;
  status: string;
  subnets: string[];
  shared: boolean;
  admin_state_up: boolean;
  "router:external": boolean;
  mtu?: number;
  project_id: string;
  "provider:network_type"?: string;
}
export const listNetworks = () => get<{ networks: Network[] }>(`${base()}/networks`).then((r) => r.networks);
export const createNetwork = (name: string) =>
  post<{ network: Network }>(`${base()}/networks`, { network: { name, admin_state_up: true } }).then((r) => r.network);
export const deleteNetwork = (id: string) => del(`${base()}/networks/${id}`);

export interface Subnet {
  id: string;
  name: string;
  network_id: string;
  cidr: string;
  ip_version: number;
  gateway_ip: string | null;
  enable_dhcp: boolean;
  allocation_pools?: { start: string; end: string }[];
  dns_nameservers?: string[];
}
export const listSubnets = () => get<{ subnets: Subnet[] }>(`${base()}/subnets`).then((r) => r.subnets);
export interface NewSubnet {
  name: string;
  network_id: string;
  cidr: string;
  ip_version: 4 | 6;
  gateway_ip?: string | null;
  enable_dhcp: boolean;
  dns_nameservers?: string[];
}
export const createSubnet = (subnet: NewSubnet) =>
  post<{ subnet: Subnet }>(`${base()}/subnets`, { subnet }).then((r) => r.subnet);
export const deleteSubnet = (id: string) => del(`${base()}/subnets/${id}`);

export interface Router {
  id: string;
  name: string;
  status: string;
  admin_state_up: boolean;
  external_gateway_info: {
    network_id: string;
    enable_snat?: boolean;
    external_fixed_ips?: { subnet_id: string; ip_address: string }[];
  } | null;
  project_id: string;
}
export const listRouters = () => get<{ routers: Router[] }>(`${base()}/routers`).then((r) => r.routers);
export const createRouter = (name: string, externalNetworkId?: string) =>
  post<{ router: Router }>(`${base()}/routers`, {
    router: {
      name,
      admin_state_up: true,
      ...(externalNetworkId ? { external_gateway_info: { network_id: externalNetworkId } } : {}),
    },
  }).then((r) => r.router);
export const setRouterGateway = (id: string, externalNetworkId: string | null) =>
  put<{ router: Router }>(`${base()}/routers/${id}`, {
    router: { external_gateway_info: externalNetworkId ? { network_id: externalNetworkId } : {} },
  }).then((r) => r.router);
export const addRouterInterface = (id: string, subnetId: string) =>
  put<unknown>(`${base()}/routers/${id}/add_router_interface`, { subnet_id: subnetId });
export const removeRouterInterface = (id: string, subnetId: string) =>
  put<unknown>(`${base()}/routers/${id}/remove_router_interface`, { subnet_id: subnetId });
export const deleteRouter = (id: string) => del(`${base()}/routers/${id}`);

export interface Port {
  id: string;
  name: string;
  network_id: string;
  device_id: string;
  device_owner: string;
  status: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}
export const listPorts = (filters: { device_id?: string; network_id?: string; device_owner?: string } = {}) =>
  get<{ ports: Port[] }>(`${base()}/ports${query(filters)}`).then((r) => r.ports);

export interface SecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: "ingress" | "egress";
  ethertype: "IPv4" | "IPv6";
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description?: string;
}
export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  project_id: string;
  security_group_rules: SecurityGroupRule[];
}
export const listSecurityGroups = () =>
  get<{ security_groups: SecurityGroup[] }>(`${base()}/security-groups`).then((r) => r.security_groups);
export const createSecurityGroup = (name: string, description: string) =>
  post<{ security_group: SecurityGroup }>(`${base()}/security-groups`, { security_group: { name, description } }).then(
    (r) => r.security_group,
  );
export const deleteSecurityGroup = (id: string) => del(`${base()}/security-groups/${id}`);
export interface NewRule {
  security_group_id: string;
  direction: "ingress" | "egress";
  ethertype: "IPv4" | "IPv6";
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
}
export const createRule = (rule: NewRule) =>
  post<{ security_group_rule: SecurityGroupRule }>(`${base()}/security-group-rules`, { security_group_rule: rule }).then(
    (r) => r.security_group_rule,
  );
export const deleteRule = (id: string) => del(`${base()}/security-group-rules/${id}`);

export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address: string | null;
  port_id: string | null;
  router_id: string | null;
  status: string;
  project_id: string;
  description?: string;
}
export const listFloatingIps = () =>
  get<{ floatingips: FloatingIp[] }>(`${base()}/floatingips`).then((r) => r.floatingips);
export const allocateFloatingIp = (networkId: string) =>
  post<{ floatingip: FloatingIp }>(`${base()}/floatingips`, { floatingip: { floating_network_id: networkId } }).then(
    (r) => r.floatingip,
  );
export const associateFloatingIp = (id: string, portId: string | null, fixedIp?: string) =>
  put<{ floatingip: FloatingIp }>(`${base()}/floatingips/${id}`, {
    floatingip: portId ? { port_id: portId, ...(fixedIp ? { fixed_ip_address: fixedIp } : {}) } : { port_id: null },
  }).then((r) => r.floatingip);
export const releaseFloatingIp = (id: string) => del(`${base()}/floatingips/${id}`);

export interface QuotaDetail {
  limit: number;
  used: number;
  reserved: number;
}
export const networkQuotaDetails = (projectId: string) =>
  get<{ quota: Record<string, QuotaDetail> }>(`${base()}/quotas/${projectId}/details`).then((r) => r.quota);

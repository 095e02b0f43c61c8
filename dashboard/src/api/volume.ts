// Cinder v3: the project's volume limits (for the overview) and its volumes.
import { endpoints } from "./endpoints";
import { del, get, post } from "./http";

export interface VolumeLimits {
  maxTotalVolumes: number;
  totalVolumesUsed: number;
  maxTotalVolumeGigabytes: number;
  totalGigabytesUsed: number;
  maxTotalSnapshots: number;
  totalSnapshotsUsed: number;
}

export async function volumeLimits(): Promise<VolumeLimits | null> {
  const v = endpoints().volume;
  if (!v) return null;
  return get<{ limits: { absolute: VolumeLimits } }>(`${v}/limits`).then((r) => r.limits.absolute);
}

export interface Volume {
  id: string;
  name: string | null;
  status: string;
  size: number;
  bootable: string;
  created_at: string;
  volume_type?: string | null;
  attachments: { server_id: string; device?: string; attachment_id?: string }[];
}

function volumeBase(): string {
  const v = endpoints().volume;
  if (!v) throw new Error("This cloud's catalog lists no block storage service.");
  return v;
}

export const listVolumes = () => get<{ volumes: Volume[] }>(`${volumeBase()}/volumes/detail`).then((r) => r.volumes);
export const createVolume = (name: string, size: number) =>
  post<{ volume: Volume }>(`${volumeBase()}/volumes`, { volume: { name, size } }).then((r) => r.volume);
export const deleteVolume = (id: string) => del(`${volumeBase()}/volumes/${id}`);

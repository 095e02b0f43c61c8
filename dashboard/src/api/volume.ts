// Cinder v3: the project's volume limits (for the overview) and its volumes.
import { endpoints } from "./endpoints";
import { get } from "./http";

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

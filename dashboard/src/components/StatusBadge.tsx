// A coloured badge for the status of a server, image, network, port, host or load balancer
// (Octavia's provisioning and operating statuses).
const TONES: Record<string, string> = {
  active: "green", available: "green", up: "green", enabled: "green", running: "green", "in-use": "blue",
  build: "blue", building: "blue", queued: "blue", saving: "blue", importing: "blue", uploading: "blue",
  reboot: "blue", hard_reboot: "blue", resize: "blue", rebuild: "blue", migrating: "blue", creating: "blue",
  attaching: "blue", detaching: "blue", deleting: "blue", extending: "blue",
  paused: "amber", suspended: "amber", verify_resize: "amber", "pending_delete": "amber", down: "gray",
  shutoff: "gray", stopped: "gray", deleted: "gray", deactivated: "gray", disabled: "gray", inactive: "gray",
  error: "red", killed: "red", "error_deleting": "red",
  pending_create: "blue", pending_update: "blue", online: "green", offline: "gray", degraded: "amber",
  draining: "amber", no_monitor: "gray",
};

/** Transitional states: their dot pulses. */
const SPINNING = new Set([
  "build", "building", "queued", "saving", "importing", "uploading", "reboot", "hard_reboot", "resize", "rebuild",
  "migrating", "creating", "attaching", "detaching", "deleting", "extending", "pending_create", "pending_update",
  "pending_delete",
]);

export function statusTone(status: string): string {
  return TONES[status.toLowerCase()] ?? "gray";
}

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  const tone = statusTone(status);
  return (
    <span className={`badge badge-${tone}`} data-status={status}>
      <span className={SPINNING.has(status.toLowerCase()) ? "dot dot-pulse" : "dot"} />
      {label ?? status.replace(/_/g, " ")}
    </span>
  );
}

"""The periodic full answer: how long a host's whole desired state takes to build and send.

Agents ask for it now and then although nothing changed (every 60 to 180 s, 120 s on
average), as the safety net under the controller's change tracking. This times the same
request (`GET /agent/v1/hosts/{id}/config?after=0`, which answers at once) for SAMPLES
simulated hosts, one at a time, with their own credentials from the agents' state
directory, and prints what it costs the controller: the answer's p50 / p95 and size, and
the share of a core that full answers take at the average rate for HOSTS hosts.

Usage: full_state.py BASE AGENTS_DIR HOSTS [SAMPLES]
"""

import json
import pathlib
import sys
import time

import requests

base, agents_dir, hosts = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
samples = int(sys.argv[4]) if len(sys.argv) > 4 else 100
AVERAGE_PERIOD_S = 120

lat, sizes, vms = [], [], []
s = requests.Session()
for d in sorted(agents_dir.glob("host-*"))[:samples]:
    _, host_id, token = (d / "host-credential").read_text().strip().split(":", 2)
    t = time.perf_counter()
    r = s.get(f"{base}/agent/v1/hosts/{host_id}/config", params={"after": 0},
              headers={"Authorization": f"Bearer {token}"})
    lat.append((time.perf_counter() - t) * 1000)
    r.raise_for_status()
    sizes.append(len(r.content))
    vms.append(len(r.json()["vms"]))


def pct(xs, q):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)


print(json.dumps({"full_state_samples": len(lat), "vms_per_host": round(sum(vms) / max(len(vms), 1), 1),
                  "p50_ms": pct(lat, .5), "p95_ms": pct(lat, .95), "bytes_p50": int(pct(sizes, .5)),
                  "core_share_pct_at_average_rate": round(hosts / AVERAGE_PERIOD_S * pct(lat, .5) / 10, 1)}),
      flush=True)

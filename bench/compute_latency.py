#!/usr/bin/env python3
"""API -> ACTIVE latency of server creation against a running Ciel.

Creates N servers one at a time (POST /servers), polls GET /servers/{id} every 2 ms until
ACTIVE, records the time from sending the POST to seeing ACTIVE, deletes the server and waits
until it is gone. Prints p50/p95/max. Used by bench/compute.sh.

usage: compute_latency.py BASE_URL ADMIN_PASSWORD IMAGE_ID N [FLAVOR]
"""
import json
import statistics
import sys
import time

import requests
from admin_token import admin_token

base, password, image, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
flavor = sys.argv[5] if len(sys.argv) > 5 else "42"
s = requests.Session()
s.headers["X-Auth-Token"], _ = admin_token(base, password)
api = f"{base}/compute/v2.1"

lat = []
for i in range(n):
    t0 = time.perf_counter()
    r = s.post(f"{api}/servers", json={"server": {"name": f"bench-{i}", "imageRef": image,
                                                  "flavorRef": flavor, "networks": "none"}},
               headers={"OpenStack-API-Version": "compute 2.37"})
    if r.status_code != 202:
        sys.exit(f"create failed: {r.status_code} {r.text}")
    sid = r.json()["server"]["id"]
    while True:
        st = s.get(f"{api}/servers/{sid}").json()["server"]["status"]
        if st == "ACTIVE":
            break
        if st == "ERROR":
            sys.exit(f"server {sid} went to ERROR")
        time.sleep(0.002)
    lat.append((time.perf_counter() - t0) * 1000)
    s.delete(f"{api}/servers/{sid}")
    while s.get(f"{api}/servers/{sid}").status_code != 404:
        time.sleep(0.002)

lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(json.dumps({"servers": n, "p50_ms": round(p(0.50), 1), "p95_ms": round(p(0.95), 1),
                  "max_ms": round(lat[-1], 1), "mean_ms": round(statistics.mean(lat), 1)}))

#!/usr/bin/env python3
"""Scale figures of compute against a running Ciel whose hosts are simulated (fake driver).

Fills the cloud with FILL servers (POST /servers with max_count 100, 4 requests in flight) and
waits until they are ACTIVE, then measures: API -> ACTIVE of single servers (p50/p95), one
burst of BURST concurrent creates (errors, total time until all ACTIVE), and the latency of
listing servers (GET /servers and /servers/detail?limit=1000, 20 times each). Prints JSON lines.

usage: scale.py BASE_URL ADMIN_PASSWORD IMAGE_ID HOSTS FILL BURST SAMPLES [FILL_CLIENTS]
"""
import concurrent.futures as cf
import json
import sys
import time

import requests
from admin_token import admin_token

base, password, image = sys.argv[1], sys.argv[2], sys.argv[3]
hosts, fill, burst, samples = (int(a) for a in sys.argv[4:8])
fill_clients = int(sys.argv[8]) if len(sys.argv) > 8 else 4
token, project = admin_token(base, password)
api = f"{base}/compute/v2.1"
H = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.37"}
local = __import__("threading").local()


def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
        local.s.headers.update(H)
    return local.s


def create(name, count=1):
    body = {"server": {"name": name, "imageRef": image, "flavorRef": "42", "networks": "none",
                       "min_count": count, "max_count": count}}
    return session().post(f"{api}/servers", json=body)


def count_active():
    """ACTIVE servers, page by page (a page holds at most Nova's max_limit, 1,000)."""
    n, url, params = 0, f"{api}/servers", {"status": "ACTIVE", "limit": 1000}
    while url:
        j = session().get(url, params=params).json()
        n += len(j["servers"])
        nxt = [link["href"] for link in j.get("servers_links", []) if link["rel"] == "next"]
        url, params = (nxt[0], None) if nxt else (None, None)
    return n


def pct(xs, q):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)


def wait_active(sid):
    while True:
        st = session().get(f"{api}/servers/{sid}").json()["server"]["status"]
        if st in ("ACTIVE", "ERROR"):
            return st
        time.sleep(0.002)


t0 = time.perf_counter()
while len(session().get(f"{api}/os-hypervisors").json()["hypervisors"]) < hosts:
    time.sleep(0.5)
print(json.dumps({"hosts_registered": hosts, "s": round(time.perf_counter() - t0, 1)}), flush=True)
r = session().put(f"{api}/os-quota-sets/{project}",
                  json={"quota_set": {"instances": -1, "cores": -1, "ram": -1}})
r.raise_for_status()

t0 = time.perf_counter()
with cf.ThreadPoolExecutor(fill_clients) as ex:
    codes = list(ex.map(lambda i: create(f"fill-{i}", 100).status_code, range(fill // 100)))
errors = sum(c != 202 for c in codes)
while count_active() < fill - errors * 100:
    time.sleep(1)
print(json.dumps({"fill_servers": fill, "fill_clients": fill_clients, "fill_errors": errors,
                  "fill_s": round(time.perf_counter() - t0, 1)}), flush=True)

lat = []
for i in range(samples):
    t = time.perf_counter()
    r = create(f"one-{i}")
    if r.status_code != 202:
        sys.exit(f"create failed: {r.status_code} {r.text}")
    wait_active(r.json()["server"]["id"])
    lat.append((time.perf_counter() - t) * 1000)
print(json.dumps({"api_to_active_samples": samples, "p50_ms": pct(lat, .5), "p95_ms": pct(lat, .95)}), flush=True)

t = time.perf_counter()
with cf.ThreadPoolExecutor(64) as ex:
    rs = list(ex.map(lambda i: create(f"burst-{i}"), range(burst)))
ids = [r.json()["server"]["id"] for r in rs if r.status_code == 202]
with cf.ThreadPoolExecutor(64) as ex:
    states = list(ex.map(wait_active, ids))
print(json.dumps({"burst": burst, "accepted": len(ids), "errors": burst - len(ids),
                  "ended_error": states.count("ERROR"),
                  "total_s": round(time.perf_counter() - t, 2)}), flush=True)

# Claims under the burst: the most any host holds against what it has (the allocation ratios
# allow up to 16 vCPUs and 1.5 times the RAM per physical one by default).
hv = session().get(f"{api}/os-hypervisors/detail").json()["hypervisors"]
print(json.dumps({"max_vcpu_overcommit": round(max(h["vcpus_used"] / max(h["vcpus"], 1) for h in hv), 2),
                  "max_ram_overcommit": round(max(h["memory_mb_used"] / max(h["memory_mb"], 1) for h in hv), 2),
                  "hosts": len(hv)}), flush=True)

for path, params in (("servers", {"limit": 1000}), ("servers/detail", {"limit": 1000}), ("servers", {})):
    lat = []
    for _ in range(20):
        t = time.perf_counter()
        r = session().get(f"{api}/{path}", params=params)
        lat.append((time.perf_counter() - t) * 1000)
        n = len(r.json()["servers"])
    print(json.dumps({"list": path, "params": params, "returned": n,
                      "p50_ms": pct(lat, .5), "p95_ms": pct(lat, .95)}), flush=True)

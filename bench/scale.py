#!/usr/bin/env python3
"""Scale figures of compute against a running Ciel whose hosts are simulated (fake driver).

Fills the cloud with FILL servers (POST /servers with max_count 100, 4 requests in flight) and
waits until they are ACTIVE, then measures: API -> ACTIVE of single servers (p50/p95), one
burst of BURST concurrent creates (errors, total time until all ACTIVE), and the latency of
listing servers (GET /servers and /servers/detail?limit=1000, 20 times each). Prints JSON lines.

Then, with PORTS and IMAGES above 0: creates that many ports (Neutron bulk create, 500 a
request) and images (metadata only), and measures the listings a client pages through
(GET /v2.0/ports?limit=1000, from the start and from a marker halfway; /v2/images?limit=1000).

usage: scale.py BASE_URL ADMIN_PASSWORD IMAGE_ID HOSTS FILL BURST SAMPLES [FILL_CLIENTS [PORTS [IMAGES]]]
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
n_ports = int(sys.argv[9]) if len(sys.argv) > 9 else 0
n_images = int(sys.argv[10]) if len(sys.argv) > 10 else 0
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



def list_latency(url, params, key, label):
    lat = []
    for _ in range(20):
        t = time.perf_counter()
        r = session().get(url, params=params)
        lat.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        n = len(r.json()[key])
    print(json.dumps({"list": label, "params": params, "returned": n,
                      "p50_ms": pct(lat, .5), "p95_ms": pct(lat, .95)}), flush=True)


for path, params in (("servers", {"limit": 1000}), ("servers/detail", {"limit": 1000}), ("servers", {})):
    list_latency(f"{api}/{path}", params, "servers", path)

net_api = f"{base}/network/v2.0"
if n_ports:
    session().put(f"{net_api}/quotas/{project}", json={"quota": {"port": -1}}).raise_for_status()
    # Networks of 2,000 ports (a /21 each), as tenants' networks are.
    per, per_net = 500, 2000
    nets = []
    for k in range((n_ports + per_net - 1) // per_net):
        net = session().post(f"{net_api}/networks", json={"network": {"name": f"scale-{k}"}}).json()["network"]["id"]
        r = session().post(f"{net_api}/subnets", json={"subnet": {
            "network_id": net, "cidr": f"10.{64 + k // 32}.{(k % 32) * 8}.0/21", "ip_version": 4}})
        r.raise_for_status()
        nets.append(net)

    def post_ports(i):
        r = session().post(f"{net_api}/ports", json={"ports": [
            {"network_id": nets[i * per // per_net], "name": f"p{i}-{j}"} for j in range(min(per, n_ports - i * per))]})
        return None if r.status_code == 201 else f"{r.status_code} {r.text[:300]}"

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(fill_clients) as ex:
        errors = [e for e in ex.map(post_ports, range((n_ports + per - 1) // per)) if e]
    for e in errors[:3]:
        print(json.dumps({"port_error": e}), flush=True)
    print(json.dumps({"ports_created": n_ports, "failed_requests": len(errors),
                      "s": round(time.perf_counter() - t0, 1)}), flush=True)
    list_latency(f"{net_api}/ports", {"limit": 1000}, "ports", "ports")
    ids = sorted(p["id"] for p in session().get(f"{net_api}/ports", params={"fields": "id"}).json()["ports"])
    list_latency(f"{net_api}/ports", {"limit": 1000, "marker": ids[len(ids) // 2]}, "ports", "ports (from the middle)")
    list_latency(f"{net_api}/ports", {"limit": 1000, "network_id": nets[-1]}, "ports", "ports of one network")
    list_latency(f"{net_api}/networks", {"limit": 1000}, "networks", "networks")
if n_images:
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(fill_clients) as ex:
        codes = list(ex.map(lambda i: session().post(f"{base}/image/v2/images", json={
            "name": f"i{i}", "disk_format": "raw", "container_format": "bare"}).status_code, range(n_images)))
    print(json.dumps({"images_created": n_images, "errors": sum(c != 201 for c in codes),
                      "s": round(time.perf_counter() - t0, 1)}), flush=True)
    list_latency(f"{base}/image/v2/images", {"limit": 1000}, "images", "images")

#!/usr/bin/env python3
"""Throughput of one control plane: token validations, port creations (concurrent clients on
one subnet) and server creations (fake hypervisor), spread round-robin over the controllers'
URLs. Prints one JSON line of figures; asserts only that no IP address was handed out twice.

    cluster.py LABEL URL[,URL...] ADMIN_PASSWORD [SECONDS]
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request

label, urls, password = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0


def call(base, method, path, token=None, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), r.headers
    except urllib.error.HTTPError as e:
        return e.code, None, e.headers


def login(base):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    status, _, headers = call(base, "POST", "/identity/v3/auth/tokens", body=body)
    assert status == 201, status
    return headers["X-Subject-Token"]


def hammer(clients, op):
    """Runs op(client_no, base) in `clients` threads for `seconds`; returns (ok, errors)."""
    counts = [[0, 0] for _ in range(clients)]
    stop = time.monotonic() + seconds

    def worker(i):
        n = i
        while time.monotonic() < stop:
            ok = op(i, urls[n % len(urls)])
            counts[i][0 if ok else 1] += 1
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


token = login(urls[0])
figures = {"label": label, "controllers": len(urls), "seconds": seconds}
# No quota in the way: the figures are about the control plane, not the limits.
_, me, _ = call(urls[0], "GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
project = me["token"]["project"]["id"]
call(urls[0], "PUT", f"/network/v2.0/quotas/{project}", token,
     {"quota": {"network": -1, "subnet": -1, "port": -1}})
call(urls[0], "PUT", f"/compute/v2.1/os-quota-sets/{project}", token,
     {"quota_set": {"instances": -1, "cores": -1, "ram": -1}})

ok, err = hammer(8, lambda i, b: call(b, "GET", "/identity/v3/auth/tokens", token,
                                      headers={"X-Subject-Token": token})[0] == 200)
figures["token_validations_per_s"] = round(ok / seconds, 1)
figures["token_validation_errors"] = err

_, net, _ = call(urls[0], "POST", "/network/v2.0/networks", token, {"network": {"name": "bench"}})
net_id = net["network"]["id"]
_, sub, _ = call(urls[0], "POST", "/network/v2.0/subnets", token, {"subnet": {
    "network_id": net_id, "ip_version": 4, "cidr": "10.200.0.0/16"}})
ok, err = hammer(50, lambda i, b: call(b, "POST", "/network/v2.0/ports", token,
                                       {"port": {"network_id": net_id}})[0] == 201)
figures["port_creates_per_s_50_clients"] = round(ok / seconds, 1)
figures["port_create_errors"] = err
_, ports, _ = call(urls[0], "GET", f"/network/v2.0/ports?network_id={net_id}", token)
ips = [f["ip_address"] for p in ports["ports"] for f in p["fixed_ips"]]
figures["ports"] = len(ports["ports"])
figures["duplicate_ips"] = len(ips) - len(set(ips))

_, detail, _ = call(urls[0], "GET", "/compute/v2.1/flavors/detail", token)
flavor = min(detail["flavors"], key=lambda f: (f["ram"], f["vcpus"]))["id"]
_, images, _ = call(urls[0], "GET", "/image/v2/images", token)
image = images["images"][0]["id"]
created = []
lock = threading.Lock()


def boot(i, b):
    status, body, _ = call(b, "POST", "/compute/v2.1/servers", token, {"server": {
        "name": f"b{i}", "imageRef": image, "flavorRef": flavor,
        "networks": [{"uuid": net_id}]}})
    if status == 202:
        with lock:
            created.append(body["server"]["id"])
    return status == 202


start = time.monotonic()
ok, err = hammer(10, boot)
figures["server_creates_per_s_10_clients"] = round(ok / seconds, 1)
figures["server_create_errors"] = err
deadline = time.monotonic() + 300
states = []
while created and time.monotonic() < deadline:
    _, body, _ = call(urls[0], "GET", "/compute/v2.1/servers/detail?limit=10000", token)
    states = [s["status"] for s in body["servers"] if s["id"] in set(created)]
    if states and all(s in ("ACTIVE", "ERROR") for s in states):
        break
    time.sleep(0.5)
figures["servers_active"] = states.count("ACTIVE")
figures["all_active_after_s"] = round(time.monotonic() - start, 1)
print(json.dumps(figures))
sys.exit(1 if figures["duplicate_ips"] else 0)

#!/usr/bin/env python3
"""The load balancer benchmark's client (bench/loadbalancer.sh sets up the cloud and guests).

  loadbalancer_bench.py create  BASE PW SUBNET FIP_ID MEMBER_IPS N
      (a) N times: a fully populated POST loadbalancers (listener HTTP:80, pool HTTP
      ROUND_ROBIN, the members on port 80, an HTTP monitor), the floating IP FIP_ID moved onto
      its VIP port right after the POST; times POST -> ACTIVE (GET every 10 ms) and POST -> the
      first HTTP 200 through the floating IP from the "ext" namespace (a probe process polling
      every 20 ms); then DELETE ?cascade=true and waits for 404 (also timed).
  loadbalancer_bench.py batch   BASE PW SUBNET FIP_ID MEMBER_IPS RUNS OUT
      (b) one load balancer as in (a); RUNS times PUT pools/{id}/members with 100 members
      (addresses .100-.199 of the subnet, alternately on port 80 and 81, so each PUT deletes
      100 members and creates 100), timing PUT -> ACTIVE; then the real members back, the
      floating IP on the VIP, and OUT gets {"lb": ID, "fip": ADDRESS} for (c).
  loadbalancer_bench.py probe
      Runs in the ext namespace: reads "URL TIMEOUT" lines, answers "OK <epoch> <tries>" at
      the first 200 from URL, or "TIMEOUT <tries>".
  loadbalancer_bench.py members BASE PW LB_ID POOL_ID SUBNET MEMBER_IPS
      PUT pools/{id}/members with MEMBER_IPS (port 80), waits ACTIVE.
  loadbalancer_bench.py delete  BASE PW LB_ID
      Cascade delete of LB_ID, waits for 404.

Prints one JSON line per measurement (times in ms); asserts nothing about time.
"""
import http.client
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def summary(name, xs):
    return {"figure": name, "n": len(xs), "p50_ms": round(pct(xs, 0.50), 1), "p95_ms": round(pct(xs, 0.95), 1),
            "min_ms": round(min(xs), 1), "max_ms": round(max(xs), 1), "mean_ms": round(statistics.mean(xs), 1)}


class Api:
    def __init__(self, base, password):
        import requests
        from admin_token import admin_token
        self.s = requests.Session()
        self.s.headers["X-Auth-Token"], _ = admin_token(base, password)
        self.lb = f"{base}/load-balancer/v2/lbaas"
        self.net = f"{base}/network/v2.0"

    def call(self, method, url, want, **kw):
        r = self.s.request(method, url, **kw)
        if r.status_code not in want:
            sys.exit(f"{method} {url}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    def lb_status(self, lb_id):
        r = self.s.get(f"{self.lb}/loadbalancers/{lb_id}")
        if r.status_code == 404:
            return None
        return r.json()["loadbalancer"]["provisioning_status"]

    def wait_active(self, lb_id, timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            st = self.lb_status(lb_id)
            if st == "ACTIVE":
                return
            if st == "ERROR" or time.monotonic() > deadline:
                sys.exit(f"load balancer {lb_id}: {st}")
            time.sleep(0.01)

    def delete_lb(self, lb_id, timeout=120):
        self.call("DELETE", f"{self.lb}/loadbalancers/{lb_id}?cascade=true", (204,))
        deadline = time.monotonic() + timeout
        while self.lb_status(lb_id) is not None:
            if time.monotonic() > deadline:
                sys.exit(f"load balancer {lb_id} not gone after {timeout} s")
            time.sleep(0.01)

    def create_lb(self, name, subnet, members):
        body = {"loadbalancer": {"name": name, "vip_subnet_id": subnet, "listeners": [{
            "name": f"{name}-http", "protocol": "HTTP", "protocol_port": 80,
            "default_pool": {
                "name": f"{name}-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [{"address": a, "protocol_port": 80, "subnet_id": subnet} for a in members],
                "healthmonitor": {"type": "HTTP", "delay": 2, "timeout": 1, "max_retries": 2,
                                  "url_path": "/", "expected_codes": "200"}}}]}}
        return self.call("POST", f"{self.lb}/loadbalancers", (201,), json=body)["loadbalancer"]

    def move_fip(self, fip_id, port_id):
        return self.call("PUT", f"{self.net}/floatingips/{fip_id}", (200,),
                         json={"floatingip": {"port_id": port_id}})["floatingip"]


class Probe:
    """A probe process in the ext namespace (the external LAN), driven over a pipe."""

    def __init__(self):
        self.p = subprocess.Popen(["ip", "netns", "exec", "ext", sys.executable, os.path.abspath(__file__), "probe"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def start(self, url, timeout=120):
        self.p.stdin.write(f"{url} {timeout}\n")
        self.p.stdin.flush()

    def result(self):
        words = self.p.stdout.readline().split()
        if not words or words[0] != "OK":
            sys.exit(f"no HTTP 200 through the floating IP: {words}")
        return float(words[1]), int(words[2])


def probe_main():
    for line in sys.stdin:
        url, timeout = line.split()
        u = urlsplit(url)
        deadline = time.time() + float(timeout)
        tries = 0
        while True:
            tries += 1
            try:
                c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=0.5)
                c.request("GET", u.path or "/")
                status = c.getresponse().status
                c.close()
                if status == 200:
                    print(f"OK {time.time():.6f} {tries}", flush=True)
                    break
            except OSError:
                pass
            if time.time() > deadline:
                print(f"TIMEOUT {tries}", flush=True)
                break
            time.sleep(0.02)


def create_main(base, pw, subnet, fip_id, member_ips, n):
    api = Api(base, pw)
    members = member_ips.split(",")
    fip = api.call("GET", f"{api.net}/floatingips/{fip_id}", (200,))["floatingip"]["floating_ip_address"]
    probe = Probe()
    active, first_http, deleted = [], [], []
    for i in range(n):
        t0 = time.time()
        lb = api.create_lb(f"bench-{i}", subnet, members)
        api.move_fip(fip_id, lb["vip_port_id"])
        probe.start(f"http://{fip}/")
        api.wait_active(lb["id"])
        t_active = time.time()
        t_http, tries = probe.result()
        active.append((t_active - t0) * 1000)
        first_http.append((t_http - t0) * 1000)
        t1 = time.time()
        api.delete_lb(lb["id"])
        deleted.append((time.time() - t1) * 1000)
        print(json.dumps({"run": i, "active_ms": round(active[-1], 1), "first_http_ms": round(first_http[-1], 1),
                          "probe_tries": tries, "delete_ms": round(deleted[-1], 1)}), flush=True)
    for name, xs in (("create -> ACTIVE", active), ("create -> first HTTP 200 via FIP", first_http),
                     ("cascade delete -> 404", deleted)):
        print(json.dumps(summary(name, xs)), flush=True)


def batch_main(base, pw, subnet, fip_id, member_ips, runs, out):
    api = Api(base, pw)
    members = member_ips.split(",")
    net = ipaddress.ip_network(api.call("GET", f"{api.net}/subnets/{subnet}", (200,))["subnet"]["cidr"])
    fake = [str(net.network_address + k) for k in range(100, 200)]
    lb = api.create_lb("bench-batch", subnet, members)
    api.wait_active(lb["id"])
    pool = api.call("GET", f"{api.lb}/listeners/{lb['listeners'][0]['id']}", (200,))["listener"]["default_pool_id"]
    times = []
    for r in range(runs):
        port = 80 + r % 2
        body = {"members": [{"address": a, "protocol_port": port, "subnet_id": subnet} for a in fake]}
        t0 = time.time()
        api.call("PUT", f"{api.lb}/pools/{pool}/members", (202,), json=body)
        api.wait_active(lb["id"])
        times.append((time.time() - t0) * 1000)
        got = api.call("GET", f"{api.lb}/pools/{pool}/members?limit=1000", (200,))["members"]
        if len(got) != 100 or {m["protocol_port"] for m in got} != {port}:
            sys.exit(f"after the batch update: {len(got)} members, ports {sorted({m['protocol_port'] for m in got})}")
        print(json.dumps({"run": r, "members": 100, "port": port, "put_to_active_ms": round(times[-1], 1)}), flush=True)
    print(json.dumps(summary("batch update of 100 members -> ACTIVE", times)), flush=True)
    body = {"members": [{"address": a, "protocol_port": 80, "subnet_id": subnet} for a in members]}
    api.call("PUT", f"{api.lb}/pools/{pool}/members", (202,), json=body)
    api.wait_active(lb["id"])
    fip = api.move_fip(fip_id, lb["vip_port_id"])
    with open(out, "w") as f:
        json.dump({"lb": lb["id"], "pool": pool, "fip": fip["floating_ip_address"]}, f)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "probe":
        probe_main()
    elif cmd == "create":
        create_main(*args[:5], int(args[5]))
    elif cmd == "batch":
        batch_main(*args[:5], int(args[5]), args[6])
    elif cmd == "members":
        base, pw, lb_id, pool, subnet, ips = args
        api = Api(base, pw)
        body = {"members": [{"address": a, "protocol_port": 80, "subnet_id": subnet} for a in ips.split(",")]}
        api.call("PUT", f"{api.lb}/pools/{pool}/members", (202,), json=body)
        api.wait_active(lb_id)
    elif cmd == "delete":
        api = Api(args[0], args[1])
        api.delete_lb(args[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Load generator and checker of tests/cli/ha.sh (the HA fault-injection test).

Talks to Ciel's REST APIs through the load balancer with `requests` (the test venv has it):
no openstack CLI, so 20 clients fit on a small machine.

  ha_load.py setup --base URL --admin-password PW --clients N --out setup.json
      As admin: a project, one member user per client, quotas high enough for the run, a
      shared network (a /16) all clients put ports and servers on, a small raw image, the
      smallest flavor.
  ha_load.py run --setup setup.json --duration S --out records.json --started FILE
      N clients (threads), each its own user with its own token, create and delete networks
      (with a subnet), ports and servers for S seconds. Every request is recorded: client,
      operation, start and end time, status, and the id a create returned or a delete named.
      FILE gets the epoch time at which all clients are authenticated and the load starts.
  ha_load.py haproxy-top SOCKET BACKEND
      The server of BACKEND that has had the most sessions (HAProxy stats socket).
  ha_load.py check --setup setup.json --records records.json --faults FILE --out summary.json
      After the run: waits for servers to settle, then reports per phase (before the first
      fault, after each fault) the longest window of failed requests, status counts and
      latencies; acknowledged writes lost; duplicate fixed IPs; quota usage against counted
      resources. Prints the figures and writes them as JSON for the test's assertions.
"""
import argparse
import collections
import json
import random
import socket
import sys
import threading
import time

import requests

TIMEOUT = 60  # per request: longer than any failover the test expects


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Api:
    """One client: a session (keep-alive through the load balancer) with a token of its own."""

    def __init__(self, base, user, password, project_id=None, project_name=None, client="admin", records=None):
        self.base = base.rstrip("/")
        self.user, self.password = user, password
        self.project_id, self.project_name = project_id, project_name
        self.client = client
        self.records = records
        self.s = requests.Session()
        self.token = None

    def _scope(self):
        if self.project_id:
            return {"project": {"id": self.project_id}}
        return {"project": {"name": self.project_name, "domain": {"name": "Default"}}}

    def auth(self):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": self.user, "domain": {"name": "Default"}, "password": self.password}}},
            "scope": self._scope()}}
        st, _, h = self._send("POST", "/identity/v3/auth/tokens", "auth", body, auth=False)
        if st == 201:
            self.token = h.get("X-Subject-Token")
        return st

    def _send(self, method, path, op, body=None, auth=True, rid=None, data=None, headers=None):
        hdr = {"Accept": "application/json"}
        if auth and self.token:
            hdr["X-Auth-Token"] = self.token
        if headers:
            hdr.update(headers)
        t0 = time.time()
        status, js, h, err = 0, None, {}, None
        try:
            r = self.s.request(method, self.base + path, json=body, data=data, headers=hdr, timeout=TIMEOUT)
            status, h = r.status_code, r.headers
            if r.content:
                try:
                    js = r.json()
                except ValueError:
                    js = None
            if status >= 400:
                err = r.text[:300]
        except requests.RequestException as e:
            err = type(e).__name__ + ": " + str(e)[:200]
            # A broken keep-alive connection is not reused.
            self.s.close()
            self.s = requests.Session()
        t1 = time.time()
        if self.records is not None:
            rec = {"c": self.client, "op": op, "m": method, "p": path, "t0": t0, "t1": t1, "s": status, "id": rid}
            if err:
                rec["e"] = err
            self.records.append(rec)
        return status, js, h

    def req(self, method, path, op, body=None, rid=None, **kw):
        """A request; on 401 (token refused) authenticates again and retries once."""
        st, js, h = self._send(method, path, op, body, rid=rid, **kw)
        if st == 401:
            if self.auth() == 201:
                st, js, h = self._send(method, path, op, body, rid=rid, **kw)
        return st, js, h


def must(st, js, what, ok=(200, 201, 202, 204)):
    if st not in ok:
        raise SystemExit(f"setup: {what} failed: HTTP {st} {json.dumps(js)[:400]}")
    return js


# ------------------------------------------------------------------------------ setup --
def cmd_setup(a):
    admin = Api(a.base, "admin", a.admin_password, project_name="admin")
    if admin.auth() != 201:
        raise SystemExit("setup: admin authentication failed")
    tag = f"{random.randrange(16**6):06x}"
    p = must(*admin.req("POST", "/identity/v3/projects", "setup", {"project": {
        "name": f"ha-load-{tag}", "domain_id": "default"}})[:2], "project create")["project"]
    roles = must(*admin.req("GET", "/identity/v3/roles?name=member", "setup")[:2], "role list")["roles"]
    member = roles[0]["id"]
    users = []
    for i in range(a.clients):
        name, pw = f"ha-u{i:02d}-{tag}", f"Pw-{tag}-{i}-{random.randrange(10**9)}"
        u = must(*admin.req("POST", "/identity/v3/users", "setup", {"user": {
            "name": name, "password": pw, "domain_id": "default", "default_project_id": p["id"]}})[:2],
            "user create")["user"]
        must(*admin.req("PUT", f"/identity/v3/projects/{p['id']}/users/{u['id']}/roles/{member}", "setup")[:2],
             "role assignment")
        users.append({"name": name, "password": pw, "id": u["id"]})
    must(*admin.req("PUT", f"/compute/v2.1/os-quota-sets/{p['id']}", "setup", {"quota_set": {
        "instances": 5000, "cores": 50000, "ram": 50000000}})[:2], "compute quota")
    must(*admin.req("PUT", f"/network/v2.0/quotas/{p['id']}", "setup", {"quota": {
        "network": 2000, "subnet": 2000, "port": 20000}})[:2], "network quota")
    net = must(*admin.req("POST", "/network/v2.0/networks", "setup", {"network": {
        "name": f"ha-shared-{tag}", "project_id": p["id"]}})[:2], "network create")["network"]
    sub = must(*admin.req("POST", "/network/v2.0/subnets", "setup", {"subnet": {
        "name": f"ha-shared-{tag}", "network_id": net["id"], "cidr": "10.200.0.0/16", "ip_version": 4,
        "project_id": p["id"]}})[:2], "subnet create")["subnet"]
    img = must(*admin.req("POST", "/image/v2/images", "setup", {
        "name": f"ha-raw-{tag}", "disk_format": "raw", "container_format": "bare",
        "visibility": "public"})[:2], "image create")
    must(*admin.req("PUT", f"/image/v2/images/{img['id']}/file", "setup", data=b"\0" * 4096,
                    headers={"Content-Type": "application/octet-stream"})[:2], "image upload")
    flavors = must(*admin.req("GET", "/compute/v2.1/flavors/detail", "setup")[:2], "flavor list")["flavors"]
    flavor = min(flavors, key=lambda f: (f["ram"], f["vcpus"], f["disk"]))
    out = {"base": a.base, "admin_password": a.admin_password, "project_id": p["id"], "project": p["name"],
           "users": users, "network_id": net["id"], "subnet_id": sub["id"], "image_id": img["id"],
           "flavor": {"id": flavor["id"], "name": flavor["name"], "ram": flavor["ram"], "vcpus": flavor["vcpus"]}}
    json.dump(out, open(a.out, "w"), indent=1)
    log(f"setup: project {p['name']}, {len(users)} member users, network {net['id']}, "
        f"image {img['id']}, flavor {flavor['name']}")


# -------------------------------------------------------------------------------- run --
class Client(threading.Thread):
    MAX = {"network": 3, "port": 6, "server": 4}

    def __init__(self, n, setup, user, deadline, records):
        super().__init__(daemon=True)
        self.n, self.setup, self.deadline = n, setup, deadline
        self.api = Api(setup["base"], user["name"], user["password"], project_id=setup["project_id"],
                       client=n, records=records)
        self.live = {"network": [], "port": [], "server": []}
        self.subnet_of = {}
        self.k = 0
        self.rng = random.Random(n)

    def create(self, kind):
        self.k += 1
        name = f"ha-c{self.n:02d}-{kind}-{self.k}"
        s = self.setup
        if kind == "network":
            st, js, _ = self.api.req("POST", "/network/v2.0/networks", "network.create", {"network": {"name": name}})
            if st == 201:
                nid = js["network"]["id"]
                self.api.records[-1]["id"] = nid
                self.live["network"].append(nid)
                st, js, _ = self.api.req("POST", "/network/v2.0/subnets", "subnet.create", {"subnet": {
                    "name": name, "network_id": nid, "cidr": f"10.{self.n}.{self.k % 256}.0/24", "ip_version": 4}})
                if st == 201:
                    self.api.records[-1]["id"] = js["subnet"]["id"]
                    self.api.records[-1]["parent"] = nid
        elif kind == "port":
            st, js, _ = self.api.req("POST", "/network/v2.0/ports", "port.create", {"port": {
                "name": name, "network_id": s["network_id"]}})
            if st == 201:
                self.api.records[-1]["id"] = js["port"]["id"]
                self.live["port"].append(js["port"]["id"])
        else:
            st, js, _ = self.api.req("POST", "/compute/v2.1/servers", "server.create", {"server": {
                "name": name, "imageRef": s["image_id"], "flavorRef": s["flavor"]["id"],
                "networks": [{"uuid": s["network_id"]}]}})
            if st == 202:
                self.api.records[-1]["id"] = js["server"]["id"]
                self.live["server"].append(js["server"]["id"])

    def delete(self, kind):
        rid = self.rng.choice(self.live[kind])
        path = {"network": "/network/v2.0/networks/", "port": "/network/v2.0/ports/",
                "server": "/compute/v2.1/servers/"}[kind] + rid
        st, _, _ = self.api.req("DELETE", path, kind + ".delete", rid=rid)
        # Gone (204, or 404 after an earlier attempt whose answer was lost): forget it.
        # Anything else: keep it and try again later.
        if st in (204, 404):
            self.live[kind].remove(rid)

    def read(self):
        s = self.setup
        pick = self.rng.random()
        if pick < 0.4 and self.live["server"]:
            rid = self.rng.choice(self.live["server"])
            self.api.req("GET", f"/compute/v2.1/servers/{rid}", "server.show", rid=rid)
        elif pick < 0.7:
            self.api.req("GET", f"/network/v2.0/networks/{s['network_id']}", "network.show", rid=s["network_id"])
        else:
            self.api.req("GET", f"/network/v2.0/ports?network_id={s['network_id']}&limit=20", "port.list")

    def run(self):
        while time.time() < self.deadline:
            ops = [("read", 1.5)]
            for kind, (wc, wd) in {"network": (1.0, 0.7), "port": (2.0, 1.5), "server": (1.5, 1.0)}.items():
                if len(self.live[kind]) < self.MAX[kind]:
                    ops.append((("create", kind), wc))
                if self.live[kind]:
                    ops.append((("delete", kind), wd))
            r = self.rng.random() * sum(w for _, w in ops)
            for op, w in ops:
                r -= w
                if r <= 0:
                    break
            if op == "read":
                self.read()
            elif op[0] == "create":
                self.create(op[1])
            else:
                self.delete(op[1])
            st = self.api.records[-1]["s"] if self.api.records else 200
            if st == 0 or st >= 400:
                time.sleep(0.2)  # a failing cloud is not hammered in a tight loop


def cmd_run(a):
    setup = json.load(open(a.setup))
    per_client = [[] for _ in setup["users"]]
    clients = [Client(i, setup, u, 0, per_client[i]) for i, u in enumerate(setup["users"])]
    for c in clients:
        if c.api.auth() != 201:
            raise SystemExit(f"run: client {c.n} cannot authenticate")
    start = time.time()
    for c in clients:
        c.deadline = start + a.duration
    open(a.started, "w").write(f"{start:.3f}\n")
    log(f"run: {len(clients)} clients for {a.duration} s")
    for c in clients:
        c.start()
    last = start
    while any(c.is_alive() for c in clients):
        time.sleep(1)
        if time.time() - last >= 10:
            last = time.time()
            recs = [r for pc in per_client for r in pc]
            bad = sum(1 for r in recs if failed(r))
            log(f"run: t+{last - start:5.1f} s  {len(recs)} requests, {bad} failed")
    # A client still inside a request at the deadline finishes it (at most TIMEOUT).
    for c in clients:
        c.join(TIMEOUT + 5)
    recs = sorted((r for pc in per_client for r in pc), key=lambda r: r["t0"])
    json.dump({"start": start, "end": time.time(), "records": recs}, open(a.out, "w"))
    log(f"run: {len(recs)} requests recorded")


# ------------------------------------------------------------------------ haproxy-top --
def haproxy_stat(sock_path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(b"show stat\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    lines = out.decode().splitlines()
    head = lines[0].lstrip("# ").split(",")
    return [dict(zip(head, ln.split(","))) for ln in lines[1:] if ln]


def cmd_haproxy_top(a):
    rows = [r for r in haproxy_stat(a.socket) if r["pxname"] == a.backend and r["svname"] not in ("BACKEND", "FRONTEND")]
    for r in rows:
        log(f"haproxy: {a.backend}/{r['svname']} sessions {r['stot']} status {r['status']}")
    top = max(rows, key=lambda r: int(r["stot"] or 0))
    print(top["svname"])


# ------------------------------------------------------------------------------ check --
def failed(r):
    """A request the cloud did not serve: no answer, 5xx, or a 4xx to a request that was valid
    (every request the load sends is; a delete may find its resource gone after an earlier
    attempt whose answer was lost)."""
    if 200 <= r["s"] < 300:
        return False
    return not (r["s"] == 404 and r["m"] == "DELETE")


def windows(fails, gap=1.0):
    """Merged [t0, t1] intervals of failed requests (joined when less than GAP apart)."""
    out = []
    for r in sorted(fails, key=lambda r: r["t0"]):
        if out and r["t0"] <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], r["t1"])
            out[-1][2] += 1
        else:
            out.append([r["t0"], r["t1"], 1])
    return out


def list_all(api, path, key):
    """GET PATH following Neutron/Nova `next` links (marker pagination)."""
    items, url = [], path
    while url:
        st, js, _ = api.req("GET", url, "check")
        if st != 200:
            raise RuntimeError(f"GET {url}: HTTP {st} {json.dumps(js)[:300]}")
        items += js[key]
        nxt = [lk["href"] for lk in js.get(key + "_links", []) if lk.get("rel") == "next"]
        url = None
        if nxt:
            href = nxt[0]
            url = href[href.index(api.base) + len(api.base):] if api.base in href else \
                "/" + href.split("/", 3)[3]
    return items


def cmd_check(a):
    setup = json.load(open(a.setup))
    run = json.load(open(a.records))
    recs, start = run["records"], run["start"]
    faults = []
    for ln in open(a.faults):
        f = ln.split()
        if f:
            faults.append({"kind": f[0], "t": float(f[1]), "what": " ".join(f[2:])})
    admin = Api(setup["base"], "admin", setup["admin_password"], project_name="admin")
    if admin.auth() != 201:
        raise SystemExit("check: admin authentication failed")
    P = setup["project_id"]
    summary = {"requests": len(recs), "duration": round(run["end"] - start, 1)}

    # --- availability per phase
    cuts = [("before faults", start)] + [(f["kind"], f["t"]) for f in faults if f["kind"] in ("controller", "database")]
    phases = []
    for i, (name, t) in enumerate(cuts):
        end = cuts[i + 1][1] if i + 1 < len(cuts) else float("inf")
        # A request belongs to the phase in which it ended: one in flight when a fault
        # struck is that fault's.
        ph = [r for r in recs if t <= r["t1"] < end]
        fails = [r for r in ph if failed(r)]
        ws = windows(fails)
        longest = max(ws, key=lambda w: w[1] - w[0]) if ws else None
        # From the fault on, the longest time in which no request succeeded.
        oks = [t] + sorted(r["t1"] for r in ph if 200 <= r["s"] < 300)
        gaps = [b - a_ for a_, b in zip(oks, oks[1:])]
        statuses = collections.Counter(str(r["s"]) for r in ph)
        info = {"phase": name, "from": round(t - start, 1), "requests": len(ph), "failed": len(fails),
                "statuses": dict(sorted(statuses.items())),
                "longest_failure_window": round(longest[1] - longest[0], 2) if longest else 0.0,
                "longest_failure_window_at": round(longest[0] - start, 1) if longest else None,
                "longest_failure_window_requests": longest[2] if longest else 0,
                "longest_gap_without_success": round(max(gaps), 2) if gaps else None,
                "max_latency": round(max((r["t1"] - r["t0"] for r in ph), default=0), 2),
                "failure_samples": sorted({f"{r['op']} {r['s']} {r.get('e', '')[:160]}" for r in fails})[:8]}
        phases.append(info)
    summary["phases"] = phases

    # --- settle: no server building or deleting any more
    deadline = time.time() + a.settle
    while True:
        servers = list_all(admin, f"/compute/v2.1/servers/detail?all_tenants=1&project_id={P}", "servers")
        busy = [s for s in servers if s["status"] not in ("ACTIVE", "ERROR", "SHUTOFF") or s.get("OS-EXT-STS:task_state")]
        if not busy or time.time() > deadline:
            break
        time.sleep(2)
    summary["servers_unsettled"] = [f"{s['id']} {s['status']} {s.get('OS-EXT-STS:task_state')}" for s in busy]
    summary["server_status"] = dict(collections.Counter(s["status"] for s in servers))
    summary["servers_in_error"] = [f"{s['id']} {s.get('fault', {}).get('message', '')}" for s in servers if s["status"] == "ERROR"][:10]

    # --- acknowledged writes
    nets = list_all(admin, f"/network/v2.0/networks?project_id={P}", "networks")
    subs = list_all(admin, f"/network/v2.0/subnets?project_id={P}", "subnets")
    ports_p = list_all(admin, f"/network/v2.0/ports?project_id={P}", "ports")
    names = {x["id"]: x.get("name") or "" for x in nets + subs + ports_p + servers}
    existing = {"network": {n["id"] for n in nets}, "subnet": {n["id"] for n in subs},
                "port": {p["id"] for p in ports_p}, "server": {s["id"] for s in servers}}
    created, deleted, attempted, vanished = (collections.defaultdict(set) for _ in range(4))
    ambiguous_creates = collections.Counter()
    for r in recs:
        kind, _, what = r["op"].partition(".")
        if what == "create":
            if 200 <= r["s"] < 300 and r.get("id"):
                created[kind].add(r["id"])
            elif r["s"] == 0 or r["s"] >= 500:
                ambiguous_creates[kind] += 1
        elif what == "delete":
            rid = r["id"]
            if 200 <= r["s"] < 300:
                deleted[kind].add(rid)
            elif r["s"] == 404 and rid not in attempted[kind]:
                vanished[kind].add(rid)  # gone although nobody had asked to delete it
            attempted[kind].add(rid)
    # A network deleted with 2xx takes its subnets with it.
    for r in recs:
        if r["op"] == "subnet.create" and r.get("parent") in deleted["network"] and r.get("id"):
            deleted["subnet"].add(r["id"])
            attempted["subnet"].add(r["id"])
        if r["op"] == "subnet.create" and r.get("parent") in attempted["network"] and r.get("id"):
            attempted["subnet"].add(r["id"])
    lost, resurrected = {}, {}
    for kind in ("network", "subnet", "port", "server"):
        # Every create answered 2xx exists, unless a delete of it was sent (2xx or ambiguous).
        lost[kind] = sorted((created[kind] - attempted[kind] - existing[kind]) | vanished[kind])
        # Every delete answered 2xx is gone.
        resurrected[kind] = sorted(deleted[kind] & existing[kind])
    summary["acked_creates"] = {k: len(v) for k, v in created.items()}
    summary["acked_deletes"] = {k: len(v) for k, v in deleted.items()}
    summary["ambiguous_creates"] = dict(ambiguous_creates)
    summary["lost_creates"] = {k: v for k, v in lost.items() if v}
    summary["deleted_but_present"] = {k: v for k, v in resurrected.items() if v}
    summary["write_violations"] = sum(len(v) for v in lost.values()) + sum(len(v) for v in resurrected.values())
    # Resources nobody was told about (a create whose answer was lost, which may have committed).
    known = {k: created[k] | {setup["network_id"], setup["subnet_id"]} for k in ("network", "subnet", "port", "server")}
    plain_ports = {p["id"] for p in ports_p if not p.get("device_owner")}  # not a server's, not DHCP's
    mine = {"network": existing["network"], "subnet": existing["subnet"], "port": plain_ports,
            "server": existing["server"]}
    summary["unacknowledged_present"] = {k: len(mine[k] - known[k]) for k in mine if mine[k] - known[k]}
    # Each with the failed creates of its client (the name says which): the create committed
    # though the client was told it failed.
    explained = []
    for k in mine:
        for rid in sorted(mine[k] - known[k]):
            name = names.get(rid, "")
            client = int(name[4:6]) if name.startswith("ha-c") and name[4:6].isdigit() else None
            tries = [f"{r['s']} at t+{r['t0'] - start:.1f}..{r['t1'] - start:.1f} s" for r in recs
                     if r["c"] == client and r["op"] == k + ".create" and failed(r)]
            explained.append(f"{k} {rid} ({name}): failed creates of its client: {', '.join(tries) or 'none'}")
    summary["unacknowledged_present_detail"] = explained
    # Ports of servers: a compute port whose server is gone is a leak.
    summary["leaked_server_ports"] = sorted(p["id"] for p in ports_p if p.get("device_owner", "").startswith("compute:")
                                            and p.get("device_id") not in existing["server"])

    # --- duplicate fixed IPs per subnet (all ports of the cloud)
    allports = list_all(admin, "/network/v2.0/ports", "ports")
    seen, dups = collections.defaultdict(list), []
    for p in allports:
        for ip in p.get("fixed_ips", []):
            seen[(ip["subnet_id"], ip["ip_address"])].append(p["id"])
    for (sub, ip), ids in seen.items():
        if len(ids) > 1:
            dups.append(f"{ip} in subnet {sub}: ports {' '.join(ids)}")
    summary["ports_total"] = len(allports)
    summary["duplicate_ips"] = dups
    macs = collections.Counter((p["network_id"], p["mac_address"]) for p in allports)
    summary["duplicate_macs"] = [f"{m} on {n}" for (n, m), c in macs.items() if c > 1]

    # --- quota usage against counted resources
    st, js, _ = admin.req("GET", f"/network/v2.0/quotas/{P}/details", "check")
    qn = js["quota"] if st == 200 else {}
    st, js, _ = admin.req("GET", f"/compute/v2.1/os-quota-sets/{P}/detail", "check")
    qc = js["quota_set"] if st == 200 else {}
    nsrv = len(servers)
    counted = {"network": len(existing["network"]), "subnet": len(existing["subnet"]), "port": len(ports_p),
               "instances": nsrv, "cores": nsrv * setup["flavor"]["vcpus"], "ram": nsrv * setup["flavor"]["ram"]}
    used = {k: (qn.get(k) or {}).get("used") for k in ("network", "subnet", "port")}
    used.update({k: (qc.get(k) or {}).get("in_use") for k in ("instances", "cores", "ram")})
    summary["quota_used"] = used
    summary["quota_counted"] = counted
    summary["quota_matches"] = used == counted

    json.dump(summary, open(a.out, "w"), indent=1)

    # --- print
    print(f"  {summary['requests']} requests in {summary['duration']} s by {len(setup['users'])} clients")
    for ph in phases:
        print(f"  [{ph['phase']:>13} from t+{ph['from']:5.1f} s] {ph['requests']} requests, {ph['failed']} failed; "
              f"longest failure window {ph['longest_failure_window']} s"
              + (f" (at t+{ph['longest_failure_window_at']} s, {ph['longest_failure_window_requests']} requests)"
                 if ph['longest_failure_window_at'] is not None else "")
              + f"; longest gap without a success {ph['longest_gap_without_success']} s; max latency {ph['max_latency']} s")
        print(f"      statuses {ph['statuses']}")
        for smp in ph["failure_samples"]:
            print(f"      failed: {smp}")
    print(f"  acknowledged creates {summary['acked_creates']}, deletes {summary['acked_deletes']}, "
          f"creates without an answer {summary['ambiguous_creates']}")
    print(f"  acknowledged writes lost: {summary['write_violations']} "
          f"(lost creates {summary['lost_creates']}, deleted but present {summary['deleted_but_present']})")
    print(f"  present without an acknowledged create: {summary['unacknowledged_present']}; "
          f"leaked server ports: {len(summary['leaked_server_ports'])}")
    for e in explained[:6]:
        print(f"      {e}")
    print(f"  servers: {summary['server_status']}, unsettled {len(summary['servers_unsettled'])}"
          + (f" e.g. {summary['servers_unsettled'][:3]}" if summary['servers_unsettled'] else ""))
    for e in summary["servers_in_error"][:3]:
        print(f"      in ERROR: {e}")
    print(f"  duplicate IPs: {len(dups)} (in {len(allports)} ports); duplicate MACs: {len(summary['duplicate_macs'])}")
    for d in dups[:5]:
        print(f"      {d}")
    print(f"  quota usage {used}")
    print(f"  counted     {counted}: {'equal' if summary['quota_matches'] else 'DIFFERENT'}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--base", required=True)
    s.add_argument("--admin-password", required=True)
    s.add_argument("--clients", type=int, default=20)
    s.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--setup", required=True)
    r.add_argument("--duration", type=float, default=120)
    r.add_argument("--out", required=True)
    r.add_argument("--started", required=True)
    h = sub.add_parser("haproxy-top")
    h.add_argument("socket")
    h.add_argument("backend")
    c = sub.add_parser("check")
    c.add_argument("--setup", required=True)
    c.add_argument("--records", required=True)
    c.add_argument("--faults", required=True)
    c.add_argument("--settle", type=float, default=90)
    c.add_argument("--out", required=True)
    a = ap.parse_args()
    {"setup": cmd_setup, "run": cmd_run, "haproxy-top": cmd_haproxy_top, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    main()

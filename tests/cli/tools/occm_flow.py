#!/usr/bin/env python3
"""What Kubernetes' openstack-cloud-controller-manager (OCCM) does for a Service of type
LoadBalancer, with openstacksdk, checked step by step against Ciel's Octavia and Neutron APIs.

The calls follow cloud-provider-openstack's pkg/openstack/loadbalancer.go (Octavia path):
  1. the API's highest Octavia version decides the features OCCM uses (tags >= 2.5,
     listener timeouts >= 2.1, allowed_cidrs >= 2.12);
  2. GET loadbalancers?name=kube_service_<cluster>_<namespace>_<name> (absent at first);
  3. one fully populated POST loadbalancers: tags [the name], a listener per service port
     ("listener_<i>_<lb>", connection_limit -1 and the four timeouts, OCCM's defaults
     50000/5000/50000/0 ms), its default_pool ("pool_<i>_<lb>", ROUND_ROBIN) with the nodes as
     members (name = node name, subnet_id, protocol_port = the node port) and a monitor
     ("monitor_<i>_<lb>", delay 5, timeout 3, max_retries 1);
  4. waits ACTIVE as OCCM does: GET loadbalancers/{id} with an exponential backoff
     (1 s, x1.2, 19 steps), ERROR is fatal; prints the time;
  5. a floating IP on the VIP port (floating_network_id + port_id = vip_port_id);
  6. nodes change: PUT pools/{id}/members (batch update) per pool, the node list without its
     last node, then with a node added; waits ACTIVE after each PUT (as OCCM's
     BatchUpdatePoolMembers does), then verifies the members through the API;
  7. DELETE loadbalancers/{id}?cascade=true, waits until GET answers 404; the VIP port is gone,
     the floating IP stays, disassociated; then deletes it.

With --check-cmd the traffic is checked too: the command (run with a shell, "{fip}" replaced
by the floating IP address; e.g. "ip netns exec ext curl -sS -f --max-time 3 http://{fip}/")
must succeed after the create and after each member update, and fail after the delete. With
--expect-names, its output over --check-count runs must be exactly the current nodes' names
(servers that answer their node name, as tests/cli/loadbalancer.sh's guests do); the script
then waits for the members to be ONLINE (the monitor's verdict) before sending traffic.

Example (inside tests/cli/loadbalancer.sh, after step 1; its guests serve their names):
  OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $VENV/bin/python "$HERE/tools/occm_flow.py" \
      --subnet-id "$SUBNET" --floating-network-id "$(cmp_ network show public -f value -c id)" \
      --members "web1=$IP1,web2=$IP2" --ports 80:80,8080:80 --expect-names \
      --check-cmd "ip netns exec ext curl -sS -f --max-time 3 http://{fip}/"

Cloud auth is openstacksdk's: OS_CLOUD (+ OS_CLIENT_CONFIG_FILE) or the OS_* variables, or
--os-cloud. Prints PASS/FAIL lines like tests/cli/lib.sh and "N passed, M failed"; exits 1 on
any failed check (cleaning up what it created unless --keep), 2 on bad arguments.

usage: occm_flow.py --subnet-id ID --floating-network-id ID --members [NAME=]ADDR,[NAME=]ADDR[,...]
                    [--add-member [NAME=]ADDR] [--ports 80:80[,8080:80]] [--protocol TCP|HTTP]
                    [--cluster kubernetes] [--namespace default] [--service web]
                    [--check-cmd CMD [--check-count N] [--expect-names]] [--keep]
"""
import argparse
import os
import shlex
import subprocess
import sys
import time

import openstack
from openstack import exceptions

TTY = sys.stdout.isatty()
G, R, B, N = ("\033[32m", "\033[31m", "\033[1m", "\033[0m") if TTY else ("", "", "", "")
PASSED = 0
FAILED = []


class Abort(Exception):
    """A failed check the rest of the flow depends on."""


def say(msg=""):
    print(msg, flush=True)


def step(msg):
    say()
    say(f"{B}== {msg}{N}")


def check(desc, ok, detail="", fatal=True):
    """A PASS or FAIL line; a failed fatal check stops the flow (cleanup still runs)."""
    global PASSED
    if ok:
        PASSED += 1
        say(f"  {G}PASS{N} {desc}")
        return True
    FAILED.append(desc)
    say(f"  {R}FAIL{N} {desc}")
    for line in str(detail).splitlines()[-15:]:
        if line:
            say(f"       | {line}")
    if fatal:
        raise Abort(desc)
    return False


def attempt(desc, fn, fatal=True):
    """check() around a call: PASS with its result, or FAIL with the exception."""
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 - any client error is a failed check
        check(desc, False, f"{type(e).__name__}: {e}", fatal=fatal)
        return None
    check(desc, True)
    return result


def parse_nodes(text):
    """'[NAME=]ADDR,...' -> [(name, addr)]; a node without a name is named node-<addr>."""
    nodes = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, addr = item.rpartition("=")
        nodes.append((name or f"node-{addr.replace('.', '-').replace(':', '-')}", addr))
    return nodes


def parse_ports(text):
    """'80:30080,443' -> [(80, 30080), (443, 443)]: service port -> node port."""
    ports = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        port, _, node_port = item.partition(":")
        ports.append((int(port), int(node_port or port)))
    return ports


def octavia_version(conn):
    """The highest Octavia API version the endpoint lists (OCCM's feature switch), as (major, minor)."""
    data = conn.load_balancer.get_all_version_data()
    best = (0, 0)
    for region in data.values():
        for iface in region.values():
            for versions in iface.values():
                for v in versions:
                    raw = v.get("version") if isinstance(v, dict) else getattr(v, "version", None)
                    try:
                        major, minor = (int(x) for x in str(raw).lstrip("v").split(".")[:2])
                    except ValueError:
                        continue
                    best = max(best, (major, minor))
    return best


class Flow:
    def __init__(self, args, conn):
        self.a = args
        self.conn = conn
        self.lb_name = f"kube_service_{args.cluster}_{args.namespace}_{args.service}"[:255]
        self.service = f"{args.namespace}/{args.service}"
        self.lb = None
        self.fip = None
        self.pools = []  # [(listener port, pool id)]

    # -- OCCM's waits -----------------------------------------------------------------------
    def wait_active(self, what):
        """GET the load balancer with OCCM's backoff until ACTIVE; ERROR fails. Returns seconds."""
        t0 = time.monotonic()
        delay, polls, status = self.a.backoff_initial, 0, "?"
        for _ in range(self.a.backoff_steps):
            polls += 1
            status = self.conn.load_balancer.get_load_balancer(self.lb.id).provisioning_status
            if status == "ACTIVE":
                elapsed = time.monotonic() - t0
                check(f"{what}: load balancer ACTIVE after {elapsed:.2f} s ({polls} GETs, OCCM's backoff)", True)
                return elapsed
            if status == "ERROR":
                break
            time.sleep(delay)
            delay *= self.a.backoff_factor
        check(f"{what}: load balancer ACTIVE", False,
              f"provisioning_status {status} after {time.monotonic() - t0:.1f} s ({polls} GETs)")

    def wait_deleted(self):
        t0 = time.monotonic()
        delay, polls = self.a.backoff_initial, 0
        for _ in range(self.a.backoff_steps):
            polls += 1
            try:
                lb = self.conn.load_balancer.get_load_balancer(self.lb.id)
            except exceptions.NotFoundException:
                elapsed = time.monotonic() - t0
                check(f"the load balancer is gone (404) after {elapsed:.2f} s ({polls} GETs)", True)
                return
            if lb.provisioning_status == "ERROR":
                break
            time.sleep(delay)
            delay *= self.a.backoff_factor
        check("the load balancer is gone (404)", False, f"still there after {time.monotonic() - t0:.1f} s")

    # -- traffic ----------------------------------------------------------------------------
    def run_check(self):
        cmd = self.a.check_cmd.replace("{fip}", self.fip.floating_ip_address)
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout.strip(), p.stderr.strip()

    def wait_online(self, nodes):
        """With a monitor, members take traffic once ONLINE: wait for that (expected nodes only)."""
        want = {addr for _, addr in nodes}
        deadline = time.monotonic() + self.a.online_timeout
        t0 = time.monotonic()
        while True:
            statuses = {}
            for _, pool_id in self.pools:
                for m in self.conn.load_balancer.members(pool_id):
                    statuses.setdefault(m.address, set()).add(m.operating_status)
            if all(statuses.get(a) == {"ONLINE"} for a in want):
                check(f"members {sorted(want)} ONLINE (after {time.monotonic() - t0:.1f} s)", True)
                return
            if time.monotonic() > deadline:
                check("members ONLINE", False, f"operating statuses: {statuses}")
            time.sleep(0.5)

    def traffic(self, nodes, when):
        if not self.a.check_cmd:
            return
        if self.a.expect_names:
            self.wait_online(nodes)
        deadline = time.monotonic() + self.a.traffic_timeout
        t0 = time.monotonic()
        while True:
            rc, out, err = self.run_check()
            if rc == 0:
                break
            if time.monotonic() > deadline:
                check(f"{when}: the check command succeeds through {self.fip.floating_ip_address}", False,
                      f"exit {rc}: {out}\n{err}")
            time.sleep(0.2)
        check(f"{when}: the check command succeeds through {self.fip.floating_ip_address} "
              f"(after {time.monotonic() - t0:.1f} s)", True)
        if not self.a.expect_names:
            return
        answers = []
        for _ in range(self.a.check_count):
            rc, out, err = self.run_check()
            answers.append(out if rc == 0 else "ERR")
        counts = {a: answers.count(a) for a in sorted(set(answers))}
        say("  answers: " + "  ".join(f"{a} x{c}" for a, c in counts.items()))
        want = sorted(name for name, _ in nodes)
        check(f"{when}: {self.a.check_count} requests answered by exactly {want}", sorted(counts) == want,
              f"answers {counts}")

    # -- verification through the API ------------------------------------------------------
    def verify_members(self, nodes, when, previous=None):
        """Each pool holds exactly the nodes (address, node port, name, subnet), all ACTIVE.
        Returns {(pool, address): member id}."""
        ids = {}
        for (port, node_port), (_, pool_id) in zip(self.ports, self.pools):
            members = list(self.conn.load_balancer.members(pool_id))
            got = sorted((m.name, m.address, m.protocol_port, m.subnet_id) for m in members)
            want = sorted((name, addr, node_port, self.a.subnet_id) for name, addr in nodes)
            check(f"{when}: pool of port {port} lists members {[n for n, _ in nodes]}", got == want,
                  f"got {got}\nwant {want}")
            bad = [(m.address, m.provisioning_status) for m in members if m.provisioning_status != "ACTIVE"]
            check(f"{when}: pool of port {port}: every member ACTIVE", not bad, f"{bad}")
            say("  members: " + "  ".join(f"{m.name} {m.address}:{m.protocol_port} {m.provisioning_status}/"
                                           f"{m.operating_status}" for m in members))
            for m in members:
                ids[(pool_id, m.address)] = m.id
        if previous:
            kept = {k: v for k, v in ids.items() if k in previous}
            same = all(previous[k] == v for k, v in kept.items())
            check(f"{when}: members kept by the batch update keep their ids (Octavia updates them in place)",
                  same, f"before {previous}\nafter {ids}", fatal=False)
        tree = self.conn.load_balancer.get(f"/lbaas/loadbalancers/{self.lb.id}/status").json()
        lbs = tree.get("statuses", {}).get("loadbalancer", {})
        in_tree = sorted(m.get("address") for li in lbs.get("listeners", []) for p in li.get("pools", [])
                         for m in p.get("members", []))
        want_tree = sorted(addr for _ in self.pools for _, addr in nodes)
        check(f"{when}: the status tree shows the listeners, pools and members "
              f"(load balancer {lbs.get('provisioning_status')}/{lbs.get('operating_status')})",
              in_tree == want_tree and len(lbs.get("listeners", [])) == len(self.ports),
              f"tree {tree}")
        return ids

    # -- the flow ---------------------------------------------------------------------------
    def run(self):
        a, conn = self.a, self.conn
        self.ports = parse_ports(a.ports)
        nodes = parse_nodes(a.members)
        if len(nodes) < 2:
            raise SystemExit("--members needs at least two nodes (one is removed, then one added)")
        added = parse_nodes(a.add_member)[0] if a.add_member else nodes[-1]

        step(f"1. Service {self.service} of cluster {a.cluster}: load balancer {self.lb_name}")
        ver = attempt("the load-balancer endpoint lists its versions", lambda: octavia_version(conn))
        say(f"  highest Octavia API version: v{ver[0]}.{ver[1]}")
        tags_ok = ver >= (2, 5)
        timeouts_ok = ver >= (2, 1)
        check("the features OCCM switches on by version: tags (2.5), timeouts (2.1)", tags_ok and timeouts_ok,
              f"v{ver[0]}.{ver[1]}")
        if a.allowed_cidrs:
            check("allowed_cidrs (2.12)", ver >= (2, 12), f"v{ver[0]}.{ver[1]}")
        found = [lb for lb in conn.load_balancer.load_balancers(name=self.lb_name)
                 if lb.provisioning_status not in ("DELETED", "PENDING_DELETE")]
        check(f"GET loadbalancers?name={self.lb_name}: none yet", not found,
              f"found {[lb.id for lb in found]} (a previous run's? delete it)")

        step("2. the fully populated create: listeners, default pools, members, monitors in one POST")
        http = a.protocol == "HTTP"
        listeners = []
        for i, (port, node_port) in enumerate(self.ports):
            pool = {
                "name": f"pool_{i}_{self.lb_name}"[:255],
                "protocol": a.protocol,
                "lb_algorithm": "ROUND_ROBIN",
                "members": [{"name": name, "address": addr, "protocol_port": node_port,
                             "subnet_id": a.subnet_id} for name, addr in nodes],
                "healthmonitor": {"name": f"monitor_{i}_{self.lb_name}"[:255], "type": "TCP",
                                  "delay": 5, "timeout": 3, "max_retries": 1},
            }
            listener = {
                "name": f"listener_{i}_{self.lb_name}"[:255],
                "protocol": a.protocol,
                "protocol_port": port,
                "connection_limit": -1,
                "tags": [self.lb_name],
                "timeout_client_data": a.timeout_client_data,
                "timeout_member_connect": a.timeout_member_connect,
                "timeout_member_data": a.timeout_member_data,
                "timeout_tcp_inspect": a.timeout_tcp_inspect,
                "default_pool": pool,
            }
            if http:  # OCCM's x-forwarded-for annotation: HTTP listener and pool
                listener["insert_headers"] = {"X-Forwarded-For": "true"}
            if a.allowed_cidrs:
                listener["allowed_cidrs"] = a.allowed_cidrs.split(",")
            listeners.append(listener)
        attrs = {"name": self.lb_name,
                 "description": f"Kubernetes external service {self.service} from cluster {a.cluster}",
                 "vip_subnet_id": a.subnet_id, "tags": [self.lb_name], "listeners": listeners}
        if a.provider:
            attrs["provider"] = a.provider
        t0 = time.monotonic()
        self.lb = attempt(f"POST loadbalancers ({len(listeners)} listener(s), {len(nodes)} members each)",
                          lambda: conn.load_balancer.create_load_balancer(**attrs))
        say(f"  id {self.lb.id}  vip {self.lb.vip_address}  vip_port_id {self.lb.vip_port_id}  "
            f"provisioning_status {self.lb.provisioning_status}")
        check("  answered PENDING_CREATE with a VIP address and port",
              self.lb.provisioning_status == "PENDING_CREATE" and self.lb.vip_address and self.lb.vip_port_id,
              f"{self.lb.provisioning_status} {self.lb.vip_address} {self.lb.vip_port_id}")
        self.wait_active("create")
        say(f"  POST -> ACTIVE as OCCM sees it: {time.monotonic() - t0:.2f} s")
        lb = conn.load_balancer.get_load_balancer(self.lb.id)
        check("  tagged with the service's name", lb.tags == [self.lb_name], f"tags {lb.tags}")
        check("  found by name now", [x.id for x in conn.load_balancer.load_balancers(name=self.lb_name)] == [lb.id])
        got_listeners = [conn.load_balancer.get_listener(x["id"]) for x in lb.listeners]
        got_listeners.sort(key=lambda x: x.protocol_port)
        check(f"  {len(self.ports)} listener(s), on ports {[p for p, _ in self.ports]}",
              [x.protocol_port for x in got_listeners] == sorted(p for p, _ in self.ports),
              f"{[(x.name, x.protocol_port) for x in got_listeners]}")
        for li in got_listeners:
            i = [p for p, _ in self.ports].index(li.protocol_port)
            want = (f"listener_{i}_{self.lb_name}"[:255], a.protocol, [self.lb_name], a.timeout_client_data,
                    a.timeout_member_connect, a.timeout_member_data, a.timeout_tcp_inspect, "ACTIVE")
            got = (li.name, li.protocol, li.tags, li.timeout_client_data, li.timeout_member_connect,
                   li.timeout_member_data, li.timeout_tcp_inspect, li.provisioning_status)
            check(f"  listener {li.name}: protocol, tags, the four timeouts as sent, ACTIVE", got == want,
                  f"got {got}\nwant {want}")
            check(f"  listener {li.name} has a default pool", bool(li.default_pool_id))
            pool = conn.load_balancer.get_pool(li.default_pool_id)
            hm = conn.load_balancer.get_health_monitor(pool.health_monitor_id) if pool.health_monitor_id else None
            check(f"  its pool {pool.name}: ROUND_ROBIN, ACTIVE, monitor {hm.name if hm else None} "
                  f"(TCP 5/3/1, ACTIVE)",
                  pool.name == f"pool_{i}_{self.lb_name}"[:255] and pool.lb_algorithm == "ROUND_ROBIN"
                  and pool.provisioning_status == "ACTIVE" and hm is not None
                  and (hm.type, hm.delay, hm.timeout, hm.max_retries, hm.provisioning_status)
                  == ("TCP", 5, 3, 1, "ACTIVE"),
                  f"pool {pool.to_dict()}\nmonitor {hm.to_dict() if hm else None}")
            self.pools.append((li.protocol_port, pool.id))
        ids = self.verify_members(nodes, "after the create")

        step("3. a floating IP on the VIP port (floating_network_id, port_id = vip_port_id)")
        self.fip = attempt("POST floatingips", lambda: conn.network.create_ip(
            floating_network_id=a.floating_network_id, port_id=lb.vip_port_id,
            description=f"Floating IP for Kubernetes external service {self.service} from cluster {a.cluster}"))
        say(f"  {self.fip.floating_ip_address} -> {self.fip.fixed_ip_address} (port {self.fip.port_id})")
        check("  associated with the VIP port and address",
              self.fip.port_id == lb.vip_port_id and self.fip.fixed_ip_address == lb.vip_address,
              f"{self.fip.to_dict()}")
        by_port = list(conn.network.ips(port_id=lb.vip_port_id))
        check("  found by the VIP port (how OCCM finds it again)", [x.id for x in by_port] == [self.fip.id],
              f"{[x.id for x in by_port]}")
        self.traffic(nodes, "after the create")

        current = nodes[:-1]
        for n, label, new_nodes in ((4, f"node {nodes[-1][0]} leaves", current),
                                    (5, f"node {added[0]} joins", current + [added])):
            step(f"{n}. {label}: PUT pools/{{id}}/members (batch update) on each pool, then wait ACTIVE")
            for (port, node_port), (_, pool_id) in zip(self.ports, self.pools):
                body = {"members": [{"name": name, "address": addr, "protocol_port": node_port,
                                     "subnet_id": a.subnet_id} for name, addr in new_nodes]}
                t0 = time.monotonic()
                r = conn.load_balancer.put(f"/lbaas/pools/{pool_id}/members", json=body)
                check(f"PUT pools/{{pool of port {port}}}/members with {len(new_nodes)} members: 202",
                      r.status_code == 202, f"{r.status_code} {r.text}")
                self.wait_active(f"  batch update of port {port}'s pool")
                say(f"  PUT -> ACTIVE: {time.monotonic() - t0:.2f} s")
            ids = self.verify_members(new_nodes, f"after '{label}'", previous=ids)
            self.traffic(new_nodes, f"after '{label}'")

        step("6. the Service is deleted: cascade delete, the floating IP stays, disassociated")
        t0 = time.monotonic()
        attempt("DELETE loadbalancers/{id}?cascade=true",
                lambda: conn.load_balancer.delete_load_balancer(self.lb.id, ignore_missing=False, cascade=True))
        self.wait_deleted()
        say(f"  DELETE -> 404: {time.monotonic() - t0:.2f} s")
        left = [x.id for x in conn.load_balancer.load_balancers(name=self.lb_name)]
        check("  not found by name any more", not left, f"{left}")
        gone = []
        for _, pool_id in self.pools:
            try:
                conn.load_balancer.get_pool(pool_id)
            except exceptions.NotFoundException:
                gone.append(pool_id)
        check("  its pools are gone", len(gone) == len(self.pools), f"{gone}")
        try:
            conn.network.get_port(lb.vip_port_id)
            vip_gone = False
        except exceptions.NotFoundException:
            vip_gone = True
        check("  the VIP port is gone", vip_gone)
        fip = attempt("  the floating IP still exists", lambda: conn.network.get_ip(self.fip.id))
        check("  disassociated (no port, no fixed IP)", fip.port_id is None and fip.fixed_ip_address is None,
              f"port_id {fip.port_id} fixed_ip_address {fip.fixed_ip_address}")
        if a.check_cmd:
            rc, out, err = self.run_check()
            check("  the check command fails now", rc != 0, f"exit {rc}: {out}")
        self.lb = None
        attempt("DELETE floatingips/{id}", lambda: conn.network.delete_ip(self.fip.id, ignore_missing=False))
        try:
            conn.network.get_ip(self.fip.id)
            fip_gone = False
        except exceptions.NotFoundException:
            fip_gone = True
        check("  the floating IP is gone", fip_gone)
        self.fip = None

    def cleanup(self):
        """After a failed check: what this run created goes (unless --keep)."""
        if self.a.keep:
            say(f"  kept: load balancer {self.lb.id if self.lb else None}, floating IP {self.fip.id if self.fip else None}")
            return
        if self.lb is not None:
            try:
                self.conn.load_balancer.delete_load_balancer(self.lb.id, cascade=True)
                say(f"  cleanup: cascade delete of {self.lb.id} requested")
            except Exception as e:  # noqa: BLE001
                say(f"  cleanup: cascade delete of {self.lb.id} failed: {e}")
        if self.fip is not None:
            try:
                self.conn.network.delete_ip(self.fip.id)
                say(f"  cleanup: floating IP {self.fip.floating_ip_address} deleted")
            except Exception as e:  # noqa: BLE001
                say(f"  cleanup: deleting floating IP {self.fip.id} failed: {e}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    p.add_argument("--os-cloud", default=env("OS_CLOUD"), help="a cloud of clouds.yaml (default: OS_CLOUD, else OS_*)")
    p.add_argument("--subnet-id", default=env("OCCM_SUBNET_ID"), help="VIP and member subnet (OCCM's subnet-id)")
    p.add_argument("--floating-network-id", default=env("OCCM_FLOATING_NETWORK_ID"), help="external network")
    p.add_argument("--members", default=env("OCCM_MEMBERS"), help="the nodes: [NAME=]ADDR,... (at least two)")
    p.add_argument("--add-member", default=env("OCCM_ADD_MEMBER"),
                   help="[NAME=]ADDR of the node that joins (default: the one that left comes back)")
    p.add_argument("--ports", default=env("OCCM_PORTS", "80:80"),
                   help="service ports: PORT[:NODEPORT],... one listener each (default 80:80)")
    p.add_argument("--protocol", choices=("TCP", "HTTP"), default=env("OCCM_PROTOCOL", "TCP"),
                   help="TCP (OCCM's default) or HTTP (its x-forwarded-for annotation)")
    p.add_argument("--provider", default=env("OCCM_PROVIDER"), help="lb-provider (default: the API's)")
    p.add_argument("--allowed-cidrs", default=env("OCCM_ALLOWED_CIDRS"), help="loadBalancerSourceRanges, comma-separated")
    p.add_argument("--cluster", default="kubernetes")
    p.add_argument("--namespace", default="default")
    p.add_argument("--service", default="web")
    p.add_argument("--timeout-client-data", type=int, default=50000)
    p.add_argument("--timeout-member-connect", type=int, default=5000)
    p.add_argument("--timeout-member-data", type=int, default=50000)
    p.add_argument("--timeout-tcp-inspect", type=int, default=0)
    p.add_argument("--backoff-initial", type=float, default=1.0, help="OCCM: 1 s")
    p.add_argument("--backoff-factor", type=float, default=1.2, help="OCCM: 1.2")
    p.add_argument("--backoff-steps", type=int, default=19, help="OCCM: 19 (about 2.5 min)")
    p.add_argument("--check-cmd", default=env("OCCM_CHECK_CMD"),
                   help="shell command checking traffic, {fip} = the floating IP address")
    p.add_argument("--check-count", type=int, default=10)
    p.add_argument("--expect-names", action="store_true",
                   help="the check command prints the answering node's name: expect exactly the current nodes")
    p.add_argument("--traffic-timeout", type=float, default=30.0)
    p.add_argument("--online-timeout", type=float, default=60.0)
    p.add_argument("--keep", action="store_true", help="on failure, leave what was created")
    a = p.parse_args()
    missing = [o for o in ("subnet_id", "floating_network_id", "members") if not getattr(a, o)]
    if missing:
        p.error("missing: " + ", ".join("--" + m.replace("_", "-") for m in missing))
    if a.check_cmd:
        shlex.split(a.check_cmd)  # a malformed command is an argument error, not a failed check

    conn = openstack.connect(cloud=a.os_cloud) if a.os_cloud else openstack.connect()
    flow = Flow(a, conn)
    t0 = time.monotonic()
    try:
        flow.run()
    except Abort:
        flow.cleanup()
    except Exception as e:  # noqa: BLE001 - an unexpected client error is a failure too
        check(f"unexpected {type(e).__name__}", False, str(e), fatal=False)
        flow.cleanup()
    say()
    say(f"{B}{PASSED} passed, {len(FAILED)} failed{N} in {time.monotonic() - t0:.0f} s")
    for f in FAILED:
        say(f"  {R}FAIL{N} {f}")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()

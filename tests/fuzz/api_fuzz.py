#!/usr/bin/env python3
"""Mutation fuzzer for Ciel's OpenStack APIs, run against a live `ciel up` with its real agent.

It takes a valid request for each write route of every service (and the list routes, for
their query strings) and mutates it: value types, sizes, encodings, nesting, content types,
whole-body shapes. It asserts what a hostile tenant must never get:
  - a 5xx answer, a dropped connection or a hang (no answer within the timeout);
  - a dead or panicking controller;
  - a host whose desired state stops applying: after every accepted write that can reach the
    data plane, a probe rule added to the canary's security group must show up in the host's
    nftables (so one accepted hostile value never freezes the firewall of everyone else).
It prints the requests tried, the status distribution (per service) and the controller's RSS
before, at peak and after. Reproducible: mutations come from a seeded PRNG (FUZZ_SEED).

Usage (normally through tests/fuzz/run.sh):
  api_fuzz.py --base URL --admin-password PW --pid PID --canary-port PORT_ID --log FILE
"""

import argparse
import base64
import collections
import http.client
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse

TIMEOUT = 60
HUGE = "x" * (1 << 20)  # a 1 MiB string


# ------------------------------------------------------------------ HTTP --
class Api:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port

    def call(self, method, path, body=None, token=None, ctype="application/json", headers=None):
        """Returns (status, parsed JSON or None, headers). status 0: no answer at all."""
        h = {}
        if token:
            h["X-Auth-Token"] = token
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
            if ctype is not None:
                h["Content-Type"] = ctype
        h.update(headers or {})
        c = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = None
            return r.status, parsed, dict(r.getheaders())
        except (OSError, http.client.HTTPException) as e:
            # A server that answers 413 before reading a huge body may close the socket
            # while we still send: that is an answer, not a failure; tell it apart below.
            return 0, {"error": repr(e)}, {}
        finally:
            c.close()


def token_for(api, user, password, project, domain="Default"):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": domain}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": domain}}}}}
    s, b, h = api.call("POST", "/identity/v3/auth/tokens", body)
    if s != 201:
        sys.exit(f"cannot log in as {user}: {s} {b}")
    return h.get("X-Subject-Token") or h.get("x-subject-token"), b["token"]["project"]["id"]


def must(res, what, *ok):
    s, b, _ = res
    if s not in (ok or (200, 201, 202, 204)):
        sys.exit(f"setup step failed: {what}: {s} {json.dumps(b)[:400]}")
    return b


# ------------------------------------------------------------ the probe --
class Probe:
    """Proves that the host still applies its desired state: a rule with a fresh port number
    in the canary's security group must appear in the host's `inet` firewall table."""

    def __init__(self, api, token, sg, timeout=30):
        self.api, self.token, self.sg, self.timeout = api, token, sg, timeout
        self.port = 20000
        self.rule = None
        self.count = 0
        self.worst = 0.0
        self.broken = False

    def ruleset(self):
        out = subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True, text=True)
        return out.stdout

    def applied(self, port):
        # The port number appears as a JSON number in the rule's match.
        return f'"right": {port}' in self.ruleset() or f'"right":{port}' in self.ruleset()

    def check(self):
        self.port += 1
        t0 = time.monotonic()
        s, b, _ = self.api.call("POST", "/network/v2.0/security-group-rules", {"security_group_rule": {
            "security_group_id": self.sg, "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": self.port, "port_range_max": self.port}}, self.token)
        if s != 201:
            return f"probe rule not created: {s} {b}"
        old, self.rule = self.rule, b["security_group_rule"]["id"]
        if old:
            self.api.call("DELETE", f"/network/v2.0/security-group-rules/{old}", token=self.token)
        while not self.applied(self.port):
            if time.monotonic() - t0 > self.timeout:
                return f"the host did not apply the probe rule (tcp {self.port}) within {self.timeout} s"
            time.sleep(0.05)
        self.count += 1
        self.worst = max(self.worst, time.monotonic() - t0)
        return None


# ------------------------------------------------------------ mutations --
def hostile_values():
    return [
        None, True, False, 0, -1, 2 ** 63, -(2 ** 63) - 1, 1.5, 1e308, "", " ", "abc",
        HUGE, "a\u0000b", "\u0001\u001f\u007f", "} ; flush ruleset ; table inet x {",
        "\" ; drop ; \"", "$(reboot)`id`", "a\nb\r\nc", "\u00e9\u6f22\U0001F600" * 200,
        "../../../../etc/passwd", "fa:16:3e:00:00:01", "10.0.0.1", "::1/0", "0.0.0.0/0",
        [], [None], [1] * 10000, {}, {"a": {"b": {"c": None}}}, ["x"] * 3,
    ]


def leaves(v, path=()):
    """Every position in a JSON value, as key paths (objects by key, lists by index)."""
    yield path
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, path + (i,))


def replaced(v, path, new):
    if not path:
        return new
    v = json.loads(json.dumps(v))
    cur = v
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = new
    return v


def deep(n):
    return ("[" * n + "]" * n).encode()


def whole_body_mutations(body):
    raw = json.dumps(body).encode()
    yield "truncated JSON", raw[: max(1, len(raw) // 2)], "application/json"
    yield "invalid UTF-8", raw[:-1] + b"\xff\xfe\"}", "application/json"
    yield "empty body", b"", "application/json"
    yield "JSON array", b"[]", "application/json"
    yield "JSON string", b'"x"', "application/json"
    yield "nesting 100k", deep(100_000), "application/json"
    yield "nesting 200 in an object", json.dumps(replaced(body, (), None)).encode() if False else \
        (b'{"x":' * 200 + b"1" + b"}" * 200), "application/json"
    yield "text/plain", raw, "text/plain"
    yield "no Content-Type", raw, None
    yield "form encoded", raw, "application/x-www-form-urlencoded"
    yield "xml", b"<a/>", "application/xml"
    yield "duplicate keys", raw[:-1] + b', "name": 1}' if raw.endswith(b"}") else raw, "application/json"


# --------------------------------------------------------------- driver --
class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.api = Api(args.base)
        self.rng = random.Random(int(os.environ.get("FUZZ_SEED", "15")))
        self.statuses = collections.Counter()
        self.by_service = collections.defaultdict(collections.Counter)
        self.failures = []
        self.tried = 0
        self.accepted_writes = 0
        self.rss_peak = 0
        self.hostile_seen = 0

    # -- the controller process
    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.args.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return os.path.exists(f"/proc/{self.args.pid}")

    def panicked(self):
        try:
            with open(self.args.log, errors="replace") as f:
                return "panicked at" in f.read()
        except OSError:
            return False

    # -- one request
    def send(self, tag, method, path, body, token, ctype="application/json", headers=None, probe=False):
        self.tried += 1
        t0 = time.monotonic()
        s, b, h = self.api.call(method, path, body, token, ctype, headers)
        took = time.monotonic() - t0
        self.rss_peak = max(self.rss_peak, self.rss_kib())
        service = path.split("/")[1]
        self.statuses[s] += 1
        self.by_service[service][s] += 1
        what = f"{method} {path} [{tag}]"
        if s == 0:
            if not self.alive():
                self.failures.append(f"controller died on {what}")
                raise SystemExit(self.report())
            sent = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
            # A body over the smallest service limit (oslo's 114688 bytes) is refused with 413
            # before it is read, and the socket closed while we may still be sending: that
            # is the limit at work, not a failure. Anything else is.
            if len(sent) <= 114_688:
                self.failures.append(f"no answer ({b['error']}) after {took:.1f} s: {what}")
        elif s >= 500:
            self.failures.append(f"{s} on {what}: {json.dumps(b)[:300]}")
        if method in ("POST", "PUT", "PATCH", "DELETE") and 200 <= s < 300:
            self.accepted_writes += 1
            self.cleanup(method, path, b, token)
            if probe and not self.probe.broken:
                err = self.probe.check()
                if err:
                    # Once broken, every later probe would wait out its timeout too.
                    self.probe.broken = True
                    self.failures.append(f"after accepted {what}: {err}")
        return s, b

    def cleanup(self, method, path, body, token):
        """Deletes what an accepted POST created, so quotas never fill up."""
        if method != "POST" or not isinstance(body, dict) or path.endswith("/action"):
            return
        if path.endswith("/auth/tokens") or "/metadata" in path or "/members" in path:
            return
        for key, v in body.items():
            if isinstance(v, dict) and "id" in v and key not in ("token",):
                self.api.call("DELETE", f"{path}/{v['id']}", token=self.admin)
                return
            if key == "keypair" and isinstance(v, dict):
                self.api.call("DELETE", f"{path}/{urllib.parse.quote(str(v.get('name')))}", token=token)
                return
        if "id" in body and path.endswith("/images"):
            self.api.call("DELETE", f"{path}/{body['id']}", token=self.admin)

    # -- setup: a hostile tenant with one of everything, the canary's probe
    def setup(self):
        a = self.args
        self.admin, self.admin_project = token_for(self.api, "admin", a.admin_password, "admin")
        api, adm = self.api, self.admin
        p = must(api.call("POST", "/identity/v3/projects", {"project": {"name": "fuzz", "domain_id": "default"}}, adm), "project")["project"]["id"]
        u = must(api.call("POST", "/identity/v3/users", {"user": {"name": "fuzzer", "password": "fuzz-pw-1", "default_project_id": p}}, adm), "user")["user"]["id"]
        roles = must(api.call("GET", "/identity/v3/roles?name=member", token=adm), "roles")["roles"]
        must(api.call("PUT", f"/identity/v3/projects/{p}/users/{u}/roles/{roles[0]['id']}", token=adm), "role")
        self.project, self.user = p, u
        self.tok, _ = token_for(api, "fuzzer", "fuzz-pw-1", "fuzz")
        t = self.tok
        must(api.call("PUT", f"/compute/v2.1/os-quota-sets/{p}", {"quota_set": {"instances": 4, "cores": 8, "ram": 4096}}, adm), "quota")
        net = must(api.call("POST", "/network/v2.0/networks", {"network": {"name": "fz-net"}}, t), "network")["network"]["id"]
        sub = must(api.call("POST", "/network/v2.0/subnets", {"subnet": {"network_id": net, "cidr": "10.66.0.0/24", "ip_version": 4}}, t), "subnet")["subnet"]["id"]
        sg = must(api.call("POST", "/network/v2.0/security-groups", {"security_group": {"name": "fz-sg"}}, t), "sg")["security_group"]["id"]
        port = must(api.call("POST", "/network/v2.0/ports", {"port": {"network_id": net, "name": "fz-port", "security_groups": [sg]}}, t), "port")["port"]["id"]
        router = must(api.call("POST", "/network/v2.0/routers", {"router": {"name": "fz-router"}}, t), "router")["router"]["id"]
        must(api.call("PUT", f"/network/v2.0/routers/{router}/add_router_interface", {"subnet_id": sub}, t), "router interface")
        flavor = a.flavor
        kp = must(api.call("POST", "/compute/v2.1/os-keypairs", {"keypair": {"name": "fz-key", "public_key": a.public_key}}, t), "keypair")
        server = must(api.call("POST", "/compute/v2.1/servers", {"server": {"name": "fz-vm", "imageRef": a.image, "flavorRef": flavor,
                      "networks": [{"port": port}]}}, t), "server")["server"]["id"]
        vol = must(api.call("POST", f"/volume/v3/{p}/volumes", {"volume": {"size": 1, "name": "fz-vol"}}, t), "volume")["volume"]["id"]
        img = must(api.call("POST", "/image/v2/images", {"name": "fz-img", "disk_format": "qcow2", "container_format": "bare"}, t), "image")["id"]
        self.ids = dict(net=net, sub=sub, sg=sg, port=port, router=router, server=server, vol=vol, img=img,
                        flavor=flavor, project=p, user=u, image=a.image, kp=kp["keypair"]["name"])
        # The canary: an admin VM's security group on the same host; its probe rules must apply.
        self.probe = Probe(api, adm, a.canary_sg)
        err = self.probe.check()
        if err:
            sys.exit(f"the probe does not work before fuzzing: {err}")
        for _ in range(120):  # the hostile tenant's VM is on the host, so its port reaches nftables
            s, b, _ = api.call("GET", f"/compute/v2.1/servers/{server}", token=t)
            if s == 200 and b["server"]["status"] in ("ACTIVE", "ERROR"):
                break
            time.sleep(0.5)
        print(f"setup: fuzz project {p}, server {server} {b['server']['status']}", flush=True)

    # -- the templates: a valid request per write route
    def templates(self):
        i, p = self.ids, self.ids["project"]
        ud = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
        nova = {"X-OpenStack-Nova-API-Version": "2.79", "OpenStack-API-Version": "compute 2.79"}
        T = []

        def add(service_token, method, path, body, probe=False, headers=None, ctype="application/json"):
            T.append((service_token, method, path, body, probe, headers, ctype))

        m, adm = "member", "admin"
        # identity
        add(adm, "POST", "/identity/v3/projects", {"project": {"name": "fz-p", "description": "d", "enabled": True}})
        add(adm, "PATCH", f"/identity/v3/projects/{p}", {"project": {"description": "x", "enabled": True}})
        add(adm, "POST", "/identity/v3/users", {"user": {"name": "fz-u", "password": "pw-123456", "email": "a@b.c"}})
        add(adm, "PATCH", f"/identity/v3/users/{i['user']}", {"user": {"email": "x@y.z"}})
        add(adm, "POST", "/identity/v3/groups", {"group": {"name": "fz-g", "description": "d"}})
        add(adm, "POST", "/identity/v3/roles", {"role": {"name": "fz-r"}})
        add(adm, "POST", "/identity/v3/domains", {"domain": {"name": "fz-d", "enabled": False}})
        add(None, "POST", "/identity/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "fuzzer", "domain": {"name": "Default"}, "password": "wrong"}}}}})
        add(m, "POST", "/identity/v3/credentials", {"credential": {"blob": "{\"access\": \"a\", \"secret\": \"s\"}",
            "type": "ec2", "user_id": i["user"], "project_id": p}})
        add(m, "PATCH", f"/identity/v3/users/{i['user']}/password", {"user": {"password": "new-pw", "original_password": "fuzz-pw-2"}})
        # image
        add(m, "POST", "/image/v2/images", {"name": "fz-img2", "disk_format": "qcow2", "container_format": "bare",
            "visibility": "private", "os_command_line": "console=ttyS0", "hw_disk_bus": "virtio", "kernel_id": i["image"], "tags": ["t"]})
        add(m, "PATCH", f"/image/v2/images/{i['img']}", [{"op": "replace", "path": "/name", "value": "x"},
            {"op": "add", "path": "/os_command_line", "value": "quiet"}, {"op": "add", "path": "/hw_video_model", "value": "vga"}],
            ctype="application/openstack-images-v2.1-json-patch")
        add(m, "POST", f"/image/v2/images/{i['img']}/members", {"member": self.admin_project})
        add(m, "PUT", f"/image/v2/images/{i['img']}/tags/fz-tag", None)
        # network (probe: these can reach the host's desired state)
        add(m, "POST", "/network/v2.0/networks", {"network": {"name": "fz-n", "admin_state_up": True, "mtu": 1400, "description": "d"}}, True)
        add(m, "PUT", f"/network/v2.0/networks/{i['net']}", {"network": {"name": "n2", "mtu": 1400, "description": "d2"}}, True)
        add(m, "POST", "/network/v2.0/subnets", {"subnet": {"network_id": i["net"], "cidr": "10.77.0.0/24", "ip_version": 4,
            "gateway_ip": "10.77.0.1", "dns_nameservers": ["10.0.0.2"], "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.77.0.5"}],
            "allocation_pools": [{"start": "10.77.0.10", "end": "10.77.0.20"}], "name": "s", "enable_dhcp": True}}, True)
        add(m, "PUT", f"/network/v2.0/subnets/{i['sub']}", {"subnet": {"name": "x", "dns_nameservers": ["10.0.0.3"],
            "host_routes": [{"destination": "10.8.0.0/16", "nexthop": "10.66.0.5"}]}}, True)
        add(m, "POST", "/network/v2.0/ports", {"port": {"network_id": i["net"], "name": "p", "fixed_ips": [{"subnet_id": i["sub"], "ip_address": "10.66.0.50"}],
            "mac_address": "fa:16:3e:00:11:22", "allowed_address_pairs": [{"ip_address": "10.66.0.200", "mac_address": "fa:16:3e:00:11:23"}],
            "security_groups": [i["sg"]], "port_security_enabled": True, "binding:host_id": "hv1", "device_owner": "compute:nova"}}, True)
        add(m, "PUT", f"/network/v2.0/ports/{i['port']}", {"port": {"allowed_address_pairs": [{"ip_address": "10.66.0.0/28"},
            {"ip_address": "10.66.0.99", "mac_address": "fa:16:3e:aa:bb:cc"}], "name": "x", "security_groups": [i["sg"]],
            "fixed_ips": [{"subnet_id": i["sub"]}], "port_security_enabled": True}}, True)
        add(m, "POST", "/network/v2.0/security-groups", {"security_group": {"name": "sg", "description": "d"}}, True)
        add(m, "PUT", f"/network/v2.0/security-groups/{i['sg']}", {"security_group": {"name": "x", "description": "y"}}, True)
        add(m, "POST", "/network/v2.0/security-group-rules", {"security_group_rule": {"security_group_id": i["sg"], "direction": "ingress",
            "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 80, "port_range_max": 81, "remote_ip_prefix": "192.0.2.0/24",
            "description": "r"}}, True)
        add(m, "POST", "/network/v2.0/security-group-rules", {"security_group_rule": {"security_group_id": i["sg"], "direction": "egress",
            "ethertype": "IPv6", "protocol": "icmp", "port_range_min": 8, "port_range_max": 0, "remote_group_id": i["sg"]}}, True)
        add(m, "POST", "/network/v2.0/routers", {"router": {"name": "r", "admin_state_up": True, "description": "d"}}, True)
        add(m, "PUT", f"/network/v2.0/routers/{i['router']}", {"router": {"routes": [{"destination": "10.50.0.0/24", "nexthop": "10.66.0.9"}],
            "name": "r2"}}, True)
        add(m, "PUT", f"/network/v2.0/routers/{i['router']}/remove_router_interface", {"port_id": "00000000-0000-0000-0000-000000000000"}, True)
        add(m, "POST", "/network/v2.0/subnetpools", {"subnetpool": {"name": "sp", "prefixes": ["10.200.0.0/16"], "default_prefixlen": 24,
            "min_prefixlen": 16, "max_prefixlen": 28}}, True)
        add(adm, "PUT", f"/network/v2.0/quotas/{p}", {"quota": {"network": 50, "port": 100}})
        # compute
        add(m, "POST", "/compute/v2.1/servers", {"server": {"name": "fz", "imageRef": i["image"], "flavorRef": i["flavor"],
            "networks": [{"uuid": i["net"], "fixed_ip": "10.66.0.77"}], "metadata": {"k": "v"}, "user_data": ud, "key_name": i["kp"],
            "security_groups": [{"name": "default"}], "description": "d"}}, True, nova)
        add(m, "PUT", f"/compute/v2.1/servers/{i['server']}", {"server": {"name": "x", "description": "d"}}, False, nova)
        add(m, "POST", f"/compute/v2.1/servers/{i['server']}/action", {"reboot": {"type": "SOFT"}}, True)
        add(m, "POST", f"/compute/v2.1/servers/{i['server']}/action", {"os-getConsoleOutput": {"length": 10}})
        add(m, "POST", f"/compute/v2.1/servers/{i['server']}/action", {"addSecurityGroup": {"name": "default"}}, True)
        add(m, "POST", f"/compute/v2.1/servers/{i['server']}/metadata", {"metadata": {"a": "b"}})
        add(m, "PUT", f"/compute/v2.1/servers/{i['server']}/metadata/k1", {"meta": {"k1": "v"}})
        add(m, "POST", "/compute/v2.1/os-keypairs", {"keypair": {"name": "kp-x", "public_key": self.args.public_key}})
        add(m, "POST", "/compute/v2.1/os-server-groups", {"server_group": {"name": "g", "policies": ["affinity"]}})
        add(adm, "POST", "/compute/v2.1/flavors", {"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "id": "fz-flavor"}})
        add(adm, "POST", f"/compute/v2.1/flavors/{i['flavor']}/os-extra_specs", {"extra_specs": {"hw:cpu_policy": "shared"}})
        add(adm, "PUT", f"/compute/v2.1/os-quota-sets/{p}", {"quota_set": {"instances": 4, "cores": 8}})
        add(adm, "POST", "/compute/v2.1/os-aggregates", {"aggregate": {"name": "ag", "availability_zone": "nova"}})
        # volume
        add(m, "POST", f"/volume/v3/{p}/volumes", {"volume": {"size": 1, "name": "v", "description": "d", "metadata": {"k": "v"}}})
        add(m, "PUT", f"/volume/v3/{p}/volumes/{i['vol']}", {"volume": {"name": "x", "description": "y"}})
        add(m, "POST", f"/volume/v3/{p}/volumes/{i['vol']}/metadata", {"metadata": {"k": "v"}})
        add(m, "PUT", f"/volume/v3/{p}/volumes/{i['vol']}/metadata", {"metadata": {"k": "v"}})
        add(m, "POST", f"/volume/v3/{p}/volumes/{i['vol']}/action", {"os-set_bootable": {"bootable": True}})
        add(m, "POST", f"/volume/v3/{p}/volumes/{i['vol']}/action", {"os-update_readonly_flag": {"readonly": False}})
        add(m, "POST", f"/volume/v3/{p}/snapshots", {"snapshot": {"volume_id": i["vol"], "name": "s", "metadata": {"a": "b"}}})
        add(adm, "POST", f"/volume/v3/{self.admin_project}/types", {"volume_type": {"name": "t", "extra_specs": {"volume_backend_name": "file"}}})
        # generic volume groups (their microversions) and a group type's specs
        cinder = lambda minor: {"OpenStack-API-Version": f"volume 3.{minor}"}
        add(adm, "POST", f"/volume/v3/{self.admin_project}/group_types",
            {"group_type": {"name": "fz-gt", "description": "d", "is_public": True, "group_specs": {"k": "v"}}}, False, cinder(11))
        add(m, "POST", f"/volume/v3/{p}/groups",
            {"group": {"name": "g", "description": "d", "group_type": "fz-gt", "volume_types": ["__DEFAULT__"]}}, False, cinder(13))
        add(m, "POST", f"/volume/v3/{p}/groups/action",
            {"create-from-src": {"source_group_id": "00000000-0000-0000-0000-000000000000", "name": "c"}}, False, cinder(14))
        return T

    def lists(self):
        p = self.ids["project"]
        return ["/compute/v2.1/servers/detail", "/network/v2.0/ports", "/network/v2.0/networks",
                "/image/v2/images", f"/volume/v3/{p}/volumes/detail", "/identity/v3/projects"]

    def token(self, who):
        return {"member": self.tok, "admin": self.admin, None: None}[who]

    def run(self):
        self.setup()
        self.rss_before = self.rss_kib()
        budget = self.args.requests
        work = []
        for (who, method, path, body, probe, headers, ctype) in self.templates():
            if body is not None:
                for lp in leaves(body):
                    for v in hostile_values():
                        work.append(("leaf " + "/".join(map(str, lp)) + f" = {type(v).__name__}",
                                     who, method, path, replaced(body, lp, v), probe, headers, ctype))
                for tag, raw, ct in whole_body_mutations(body):
                    work.append((tag, who, method, path, raw, probe, headers, ct))
                # the valid request itself, as control, and as another tenant's member would send it
                work.append(("valid", who, method, path, body, probe, headers, ctype))
        for lst in self.lists():
            for q in ["limit=abc", "limit=-1", "limit=99999999999999999999", "marker=" + "m" * 100_000, "name=%00",
                      "sort_key=%27%3B", "sort_dir=sideways", "fields=%00", "status=" + "%FF" * 10, "tags=" + ",".join(["t"] * 5000)]:
                work.append((f"query {q[:20]}", "member", "GET", f"{lst}?{q}", None, False, None, None))
        self.rng.shuffle(work)
        # A few huge bodies (beyond every body limit), spread over the run.
        huge = b'{"network": {"name": "' + b"n" * (50 << 20) + b'"}}'
        for k in range(3):
            work.insert(len(work) * (k + 1) // 4, ("50 MB body", "member", "POST", "/network/v2.0/networks", huge, False, None, "application/json"))
        work = work[:budget] if len(work) > budget else work
        print(f"fuzzing: {len(work)} requests ({len(self.templates())} templates, {len(self.lists())} lists)", flush=True)
        started = time.monotonic()
        for n, (tag, who, method, path, body, probe, headers, ctype) in enumerate(work, 1):
            self.send(tag, method, path, body, self.token(who), ctype, headers, probe)
            if n % 500 == 0:
                print(f"  {n} requests, {len(self.failures)} failures, RSS {self.rss_kib() // 1024} MiB, "
                      f"{time.monotonic() - started:.0f} s", flush=True)
            if not self.alive() or self.panicked():
                self.failures.append(f"controller {'died' if not self.alive() else 'panicked'} after {method} {path} [{tag}]")
                break
        # the host still applies its desired state at the end, whatever was accepted
        err = self.probe.check()
        if err:
            self.failures.append(f"at the end: {err}")
        time.sleep(2)
        self.rss_after = self.rss_kib()
        return self.report()

    def report(self):
        print()
        print(f"requests tried: {self.tried}, accepted writes: {self.accepted_writes}, "
              f"host desired-state probes passed: {self.probe.count} (slowest {self.probe.worst:.2f} s)")
        print("status distribution:")
        for s, c in sorted(self.statuses.items()):
            print(f"  {s if s else 'no answer'}: {c}")
        print("by service: " + "; ".join(f"{svc} " + ", ".join(f"{s}:{c}" for s, c in sorted(cnt.items()))
                                          for svc, cnt in sorted(self.by_service.items())))
        before = getattr(self, "rss_before", 0)
        after = getattr(self, "rss_after", self.rss_kib() if self.alive() else 0)
        hwm = self.rss_kib("VmHWM") if self.alive() else 0
        print(f"controller RSS: before {before / 1024:.1f} MiB, peak {max(self.rss_peak, hwm) / 1024:.1f} MiB "
              f"(sampled {self.rss_peak / 1024:.1f}), after {after / 1024:.1f} MiB "
              f"(after/before {after / max(before, 1):.2f}, goal <= 1.5)")
        if self.failures:
            print(f"{len(self.failures)} FAILURES:")
            for f in self.failures[:60]:
                print("  " + f)
            return 1
        print("no 5xx, no panic, no hang; the host applied its desired state after every accepted write")
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--admin-password", required=True)
    ap.add_argument("--pid", required=True, type=int)
    ap.add_argument("--log", required=True)
    ap.add_argument("--image", required=True, help="a bootable image id")
    ap.add_argument("--flavor", required=True)
    ap.add_argument("--canary-sg", required=True, help="security group of a VM on the host (admin's)")
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--requests", type=int, default=int(os.environ.get("FUZZ_REQUESTS", "4500")))
    sys.exit(Fuzzer(ap.parse_args()).run())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Block storage latencies against a running Ciel with a hypervisor agent.

(a) API -> available of POST /volume/v3/volumes (1 GiB, empty: the agent's qemu-img create),
(b) a server (fake or real driver) and N attach -> in-use / detach -> available cycles through
Nova's os-volume_attachments. One at a time, polling every 2 ms; prints p50/p95/max.
Used by bench/volume.sh.

usage: volume_latency.py BASE_URL ADMIN_PASSWORD IMAGE_ID N [SETTLE_SECONDS]
(SETTLE_SECONDS: wait after ACTIVE so a real guest has booted and answers hot-unplugs.)
"""
import statistics
import sys
import time

import requests
from admin_token import admin_token

base, password, image, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
settle = float(sys.argv[5]) if len(sys.argv) > 5 else 0
s = requests.Session()
s.headers["X-Auth-Token"], project = admin_token(base, password)
vol, nova = f"{base}/volume/v3", f"{base}/compute/v2.1"
# No quota in the way of the sample size.
s.put(f"{vol}/os-quota-sets/{project}", json={"quota_set": {"volumes": -1, "gigabytes": -1}}).raise_for_status()


def wait_status(vid, want):
    while True:
        st = s.get(f"{vol}/volumes/{vid}").json()["volume"]["status"]
        if st == want:
            return
        if st == "error":
            sys.exit(f"volume {vid} went to error")
        time.sleep(0.002)


def report(name, lat):
    lat = sorted(lat)
    p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
    print(f"   {name}: n={len(lat)} p50 {statistics.median(lat) * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")


created, lat = [], []
for i in range(n):
    t0 = time.perf_counter()
    r = s.post(f"{vol}/volumes", json={"volume": {"size": 1, "name": f"bench-{i}"}})
    if r.status_code != 202:
        sys.exit(f"create failed: {r.status_code} {r.text}")
    vid = r.json()["volume"]["id"]
    wait_status(vid, "available")
    lat.append(time.perf_counter() - t0)
    created.append(vid)
report("volume create -> available", lat)

r = s.post(f"{nova}/servers", json={"server": {"name": "bench-vm", "imageRef": image, "flavorRef": "42",
                                               "networks": "none"}},
           headers={"OpenStack-API-Version": "compute 2.37"})
sid = r.json()["server"]["id"]
while s.get(f"{nova}/servers/{sid}").json()["server"]["status"] != "ACTIVE":
    time.sleep(0.01)
time.sleep(settle)
att, det = [], []
for vid in created:
    t0 = time.perf_counter()
    r = s.post(f"{nova}/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vid}})
    if r.status_code != 200:
        sys.exit(f"attach failed: {r.status_code} {r.text}")
    wait_status(vid, "in-use")
    att.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    s.delete(f"{nova}/servers/{sid}/os-volume_attachments/{vid}")
    wait_status(vid, "available")
    det.append(time.perf_counter() - t0)
report("attach -> in-use", att)
report("detach -> available", det)
s.delete(f"{nova}/servers/{sid}")
for vid in created:
    s.delete(f"{vol}/volumes/{vid}")

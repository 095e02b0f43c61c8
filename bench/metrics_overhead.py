#!/usr/bin/env python3
"""What metrics cost, against a running Ciel (bench/metrics.sh starts it with metrics on or
off): API throughput of CLIENTS threads calling GET /compute/v2.1/flavors for DURATION
seconds, while (metrics on) a scraper reads the controller's and the agents' /metrics every
SCRAPE_EVERY seconds as Prometheus would; then (metrics on) 20 scrapes of each, timed, with
their size and number of series. Prints JSON lines.

usage: metrics_overhead.py BASE_URL ADMIN_PASSWORD AGENT_METRICS_URL|- DURATION CLIENTS SCRAPE_EVERY
"""
import concurrent.futures as cf
import json
import sys
import threading
import time

import requests
from admin_token import admin_token

base, password, agent_url = sys.argv[1], sys.argv[2], sys.argv[3]
duration, clients, scrape_every = float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
token, _ = admin_token(base, password)
on = agent_url != "-"
targets = [("controller", f"{base}/metrics"), ("agents", agent_url)] if on else []


def scrape(url):
    t = time.perf_counter()
    r = requests.get(url, timeout=60)
    r.raise_for_status()
    ms = (time.perf_counter() - t) * 1000
    series = sum(1 for line in r.text.splitlines() if line and not line.startswith("#"))
    return ms, len(r.content), series


stop = threading.Event()


def scraper():
    while not stop.is_set():
        for _, url in targets:
            scrape(url)
        stop.wait(scrape_every)


def client(_):
    s = requests.Session()
    s.headers["X-Auth-Token"] = token
    n = 0
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        r = s.get(f"{base}/compute/v2.1/flavors")
        if r.status_code != 200:
            sys.exit(f"flavors: {r.status_code}")
        n += 1
    return n


bg = threading.Thread(target=scraper, daemon=True)
if on:
    bg.start()
t = time.perf_counter()
with cf.ThreadPoolExecutor(clients) as ex:
    total = sum(ex.map(client, range(clients)))
elapsed = time.perf_counter() - t
stop.set()
print(json.dumps({"metrics": "on" if on else "off", "clients": clients, "requests": total,
                  "requests_per_s": round(total / elapsed, 1),
                  "scrape_every_s": scrape_every if on else None}), flush=True)
for name, url in targets:
    runs = [scrape(url) for _ in range(20)]
    ms = sorted(r[0] for r in runs)
    print(json.dumps({"scrape": name, "p50_ms": round(ms[10], 1), "max_ms": round(ms[-1], 1),
                      "bytes": runs[-1][1], "series": runs[-1][2]}), flush=True)

#!/usr/bin/env bash
# The cost of metrics: `ciel up` (controller only) with HOSTS simulated hypervisors (one
# `ciel agent --driver fake` process) and FILL servers, twice: with [metrics] off (requests
# not counted, no endpoint on the agents) and on (counted, and both endpoints scraped every
# SCRAPE_EVERY s during the run). Prints API throughput (GET flavors, CLIENTS threads,
# DURATION s), the agents' and the controller's CPU during it, and with metrics on each
# endpoint's scrape time, size and series; then the on/off ratios.
#   bench/metrics.sh   (HOSTS=1000 FILL=10000 DURATION=60 CLIENTS=8 SCRAPE_EVERY=5)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CIEL=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
PY=$CACHE/venv/bin/python
OSC=$CACHE/venv/bin/openstack
HOSTS=${HOSTS:-1000} FILL=${FILL:-10000} DURATION=${DURATION:-60} CLIENTS=${CLIENTS:-8}
SCRAPE_EVERY=${SCRAPE_EVERY:-5}
TMP=$(mktemp -d)
PIDS=()
stop_all() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    PIDS=()
    sleep 1
}
trap 'stop_all; rm -rf "$TMP"' EXIT
ulimit -n 65536 2>/dev/null || true
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() { # on|off
    local mode=$1 dir=$TMP/$1 port mport agent_url=- enabled=false listen=off
    mkdir -p "$dir"
    port=$(free_port)
    if [[ $mode == on ]]; then
        enabled=true
        mport=$(free_port)
        listen=127.0.0.1:$mport
        agent_url=http://$listen/metrics
    fi
    printf '[compute]\nagent = false\n[metrics]\nenabled = %s\n' "$enabled" >"$dir/c.toml"
    "$CIEL" up --data-dir "$dir/d" --listen "127.0.0.1:$port" --admin-password pw --config "$dir/c.toml" --log warn >"$dir/up.log" 2>&1 &
    local up=$!
    PIDS+=("$up")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/identity/v3" >/dev/null && break; sleep 0.1; done
    "$CIEL" agent --controller "http://127.0.0.1:$port" --join-token "$(cat "$dir/d/agent-join-token")" --hostname sim \
        --state-dir "$dir/agents" --driver fake --simulate-hosts "$HOSTS" --listen 127.0.0.1:0 \
        --metrics-listen "$listen" --log warn >"$dir/agents.log" 2>&1 &
    local agents=$!
    PIDS+=("$agents")
    export OS_CLIENT_CONFIG_FILE=$dir/d/clouds.yaml OS_CLOUD=ciel
    head -c 1M /dev/zero >"$dir/img.raw"
    local img
    img=$("$OSC" image create --file "$dir/img.raw" --disk-format raw --container-format bare g -f value -c id)
    # The fill (scale.py's, with one sample and a burst of one).
    $PY "$HERE/scale.py" "http://127.0.0.1:$port" pw "$img" "$HOSTS" "$FILL" 1 1 4 0 0 | grep -E 'fill_s|hosts_registered'
    local a0 c0 a1 c1
    a0=$(cpu_s "$agents") c0=$(cpu_s "$up")
    $PY "$HERE/metrics_overhead.py" "http://127.0.0.1:$port" pw "$agent_url" "$DURATION" "$CLIENTS" "$SCRAPE_EVERY" | tee "$dir/out.json"
    a1=$(cpu_s "$agents") c1=$(cpu_s "$up")
    echo "{\"metrics\": \"$mode\", \"agents_cpu_pct\": $(awk -v a="$a0" -v b="$a1" -v t="$DURATION" 'BEGIN{printf "%.1f", (b - a) * 100 / t}'), \"controller_cpu_pct\": $(awk -v a="$c0" -v b="$c1" -v t="$DURATION" 'BEGIN{printf "%.1f", (b - a) * 100 / t}'), \"controller_rss_mib\": $(ps -o rss= -p "$up" | awk '{printf "%.1f", $1/1024}')}" | tee -a "$dir/out.json"
    stop_all
}

run off
run on
$PY - "$TMP/off/out.json" "$TMP/on/out.json" <<'PY'
import json, sys
def load(p):
    d = {}
    for line in open(p):
        j = json.loads(line)
        if "scrape" not in j:
            d.update(j)
    return d
off, on = load(sys.argv[1]), load(sys.argv[2])
print(json.dumps({"throughput_on_over_off": round(on["requests_per_s"] / off["requests_per_s"], 3),
                  "agents_cpu_pct_off": off["agents_cpu_pct"], "agents_cpu_pct_on": on["agents_cpu_pct"]}))
PY

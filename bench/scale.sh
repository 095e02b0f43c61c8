#!/usr/bin/env bash
# Compute at scale with simulated hosts (the fake driver; never real VMs): a controller-only
# `ciel up`, HOSTS simulated hypervisors in one `ciel agent --driver fake` process, FILL
# existing servers; then API -> ACTIVE p50/p95, a burst of BURST concurrent boots, list
# latency, and the controller's CPU time and RSS; then the controller's CPU while every host
# sits idle, long-polling, for IDLE seconds. Runs once per engine in ENGINES: the embedded
# SQLite file, and PostgreSQL (a temporary server from Debian's package). FILL_CLIENTS
# requests of 100 servers each are in flight during the fill.
# Prints figures; asserts nothing about time.
# Then PORTS ports and IMAGES images are made and their listings timed, and after the idle
# phase 100 hosts' whole desired states are asked for (full_state.py).
#   bench/scale.sh   (HOSTS=1000 FILL=10000 BURST=1000 SAMPLES=100 FILL_CLIENTS=4 IDLE=120
#                     PORTS=10000 IMAGES=10000 ENGINES="sqlite postgres")
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CIEL=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
PY=$CACHE/venv/bin/python
OSC=$CACHE/venv/bin/openstack
HOSTS=${HOSTS:-1000} FILL=${FILL:-10000} BURST=${BURST:-1000} SAMPLES=${SAMPLES:-100}
FILL_CLIENTS=${FILL_CLIENTS:-4} IDLE=${IDLE:-120} PORTS=${PORTS:-10000} IMAGES=${IMAGES:-10000}
ENGINES=${ENGINES:-sqlite postgres}
TMP=$(mktemp -d)
chmod 755 "$TMP"   # the PostgreSQL server runs as an unprivileged user
PIDS=()
. "$REPO/scripts/lib/pg.sh"
stop_all() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    PIDS=()
    sleep 1
}
trap 'stop_all; pg_temp_stop "$TMP/pg" 2>/dev/null || true; rm -rf "$TMP"' EXIT
ulimit -n 65536 2>/dev/null || true

# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }

run() { # ENGINE
    local engine=$1 dir=$TMP/$1 db=()
    mkdir -p "$dir"
    if [[ $engine == postgres ]]; then
        ensure_pg_deps
        pg_temp_start "$TMP/pg" "$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
        db=(--database "$(pg_temp_createdb bench_scale)")
    fi
    local port
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf '[compute]\nagent = false\n[image]\nmax_images_per_project = 0\n' >"$dir/c.toml"
    "$CIEL" up --data-dir "$dir/d" --listen "127.0.0.1:$port" --admin-password pw --config "$dir/c.toml" --log warn "${db[@]}" >"$dir/up.log" 2>&1 &
    local up=$!
    PIDS+=("$up")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/identity/v3" >/dev/null && break; sleep 0.1; done
    "$CIEL" agent --controller "http://127.0.0.1:$port" --join-token "$(cat "$dir/d/agent-join-token")" --hostname sim \
        --state-dir "$dir/agents" --driver fake --simulate-hosts "$HOSTS" --listen 127.0.0.1:0 --log warn >"$dir/agents.log" 2>&1 &
    PIDS+=($!)
    export OS_CLIENT_CONFIG_FILE=$dir/d/clouds.yaml OS_CLOUD=ciel
    head -c 1M /dev/zero >"$dir/img.raw"
    local img
    img=$("$OSC" image create --file "$dir/img.raw" --disk-format raw --container-format bare g -f value -c id)
    echo "{\"engine\": \"$engine\"}"
    $PY "$HERE/scale.py" "http://127.0.0.1:$port" pw "$img" "$HOSTS" "$FILL" "$BURST" "$SAMPLES" "$FILL_CLIENTS" "$PORTS" "$IMAGES"
    echo "{\"engine\": \"$engine\", \"controller_rss_mib\": $(ps -o rss= -p "$up" | awk '{printf "%.1f", $1/1024}'), \"controller_cpu_s\": $(cpu_s "$up")}"
    # Idle: every host long-polls and reports its unchanged state (the heartbeat).
    local c0 c1
    c0=$(cpu_s "$up")
    sleep "$IDLE"
    c1=$(cpu_s "$up")
    echo "{\"engine\": \"$engine\", \"idle_s\": $IDLE, \"idle_controller_cpu_pct\": $(awk -v a="$c0" -v b="$c1" -v t="$IDLE" 'BEGIN{printf "%.1f", (b - a) * 100 / t}'), \"controller_rss_mib\": $(ps -o rss= -p "$up" | awk '{printf "%.1f", $1/1024}')}"
    # The safety net's cost: a host's whole desired state, asked for at once.
    $PY "$HERE/full_state.py" "http://127.0.0.1:$port" "$dir/agents" "$HOSTS"
    stop_all
}

for e in $ENGINES; do run "$e"; done

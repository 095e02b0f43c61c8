#!/usr/bin/env bash
# Compute at scale with simulated hosts (the fake driver; never real VMs): a controller-only
# `ciel up`, HOSTS simulated hypervisors in one `ciel agent --driver fake` process, FILL
# existing servers; then API -> ACTIVE p50/p95, a burst of BURST concurrent boots, list
# latency and the controller's RSS. Prints figures; asserts nothing about time.
#   bench/scale.sh            (HOSTS=1000 FILL=10000 BURST=1000 SAMPLES=100)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CIEL=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
PY=$CACHE/venv/bin/python
OSC=$CACHE/venv/bin/openstack
HOSTS=${HOSTS:-1000} FILL=${FILL:-10000} BURST=${BURST:-1000} SAMPLES=${SAMPLES:-100}
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$TMP"' EXIT
ulimit -n 65536 2>/dev/null || true

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[compute]\nagent = false\n' >"$TMP/c.toml"
"$CIEL" up --data-dir "$TMP/d" --listen "127.0.0.1:$port" --admin-password pw --config "$TMP/c.toml" --log warn >"$TMP/up.log" 2>&1 &
UP=$!
PIDS+=("$UP")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/identity/v3" >/dev/null && break; sleep 0.1; done
"$CIEL" agent --controller "http://127.0.0.1:$port" --join-token "$(cat "$TMP/d/agent-join-token")" --hostname sim \
    --state-dir "$TMP/agents" --driver fake --simulate-hosts "$HOSTS" --listen 127.0.0.1:0 --log warn >"$TMP/agents.log" 2>&1 &
PIDS+=($!)
export OS_CLIENT_CONFIG_FILE=$TMP/d/clouds.yaml OS_CLOUD=ciel
head -c 1M /dev/zero >"$TMP/img.raw"
img=$("$OSC" image create --file "$TMP/img.raw" --disk-format raw --container-format bare g -f value -c id)
$PY "$HERE/scale.py" "http://127.0.0.1:$port" pw "$img" "$HOSTS" "$FILL" "$BURST" "$SAMPLES"
echo "{\"controller_rss_mib\": $(ps -o rss= -p "$UP" | awk '{printf "%.1f", $1/1024}')}"

#!/usr/bin/env bash
# Block storage latencies (file backend, real qemu-img), one operation at a time:
#   volume create -> available, attach -> in-use, detach -> available;
# (a) with the fake hypervisor (attach is the controller/agent loop alone), N=50;
# (b) with real QEMU (TCG here): attach is a QMP hot-plug into a running guest, N=10.
# Prints figures; asserts nothing about time. Needs target/release/ciel and the test venv.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CIEL=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
PY=$CACHE/venv/bin/python
OSC=$CACHE/venv/bin/openstack
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; pkill -f "qemu-system-x86_64.*$TMP" || true; rm -rf "$TMP"' EXIT

run_case() { # NAME DRIVER N SETTLE
    local name=$1 driver=$2 n=$3 settle=$4 port img
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$TMP/$name"
    printf '[compute]\ndriver = "%s"\nvirt_type = "qemu"\nhostname = "bench-%s"\n' "$driver" "$name" >"$TMP/$name/c.toml"
    "$CIEL" up --data-dir "$TMP/$name/d" --listen "127.0.0.1:$port" --admin-password pw \
        --config "$TMP/$name/c.toml" --log warn >"$TMP/$name/log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/identity/v3" >/dev/null && break; sleep 0.1; done
    sleep 1
    export OS_CLIENT_CONFIG_FILE=$TMP/$name/d/clouds.yaml OS_CLOUD=ciel
    "$REPO/tests/guest/build-small.sh" "$CACHE/guest" >/dev/null
    local k r
    k=$("$OSC" image create --file "$CACHE/guest/vmlinuz" --disk-format aki --container-format aki k -f value -c id)
    r=$("$OSC" image create --file "$CACHE/guest/initrd.img" --disk-format ari --container-format ari r -f value -c id)
    img=$("$OSC" image create --file "$CACHE/guest/root.qcow2" --disk-format qcow2 --container-format bare \
        --property kernel_id="$k" --property ramdisk_id="$r" --property os_command_line="console=ttyS0 quiet" g -f value -c id)
    echo "== $name hypervisor: $n volumes, one at a time"
    $PY "$HERE/volume_latency.py" "http://127.0.0.1:$port" pw "$img" "$n" "$settle"
}

run_case fake fake "${FAKE_N:-50}" 0
run_case qemu qemu "${QEMU_N:-10}" 25

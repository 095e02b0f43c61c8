#!/usr/bin/env bash
# Server creation latency, API -> ACTIVE, one server at a time:
#   (a) with the fake hypervisor (the controller, scheduler and agent loop alone), N=200;
#   (b) with real QEMU (TCG here) and a cached image, API -> QEMU running, N=10.
# Prints figures; asserts nothing about time. Needs target/release/ciel and the test venv.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CIEL=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
PY=$CACHE/venv/bin/python
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$TMP"' EXIT

run_case() { # NAME DRIVER VIRT N
    local name=$1 driver=$2 virt=$3 n=$4 port
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$TMP/$name"
    printf '[compute]\ndriver = "%s"\nvirt_type = "%s"\nhostname = "bench-%s"\n' "$driver" "$virt" "$name" >"$TMP/$name/c.toml"
    "$CIEL" up --data-dir "$TMP/$name/d" --listen "127.0.0.1:$port" --admin-password pw \
        --config "$TMP/$name/c.toml" --log warn >"$TMP/$name/log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/identity/v3" >/dev/null && break; sleep 0.1; done
    sleep 1
    export OS_CLIENT_CONFIG_FILE=$TMP/$name/d/clouds.yaml OS_CLOUD=ciel
    local img
    if [[ $driver == qemu ]]; then
        "$REPO/tests/guest/build-small.sh" "$CACHE/guest" >/dev/null
        local k r
        k=$("$CACHE/venv/bin/openstack" image create --file "$CACHE/guest/vmlinuz" --disk-format aki --container-format aki k -f value -c id)
        r=$("$CACHE/venv/bin/openstack" image create --file "$CACHE/guest/initrd.img" --disk-format ari --container-format ari r -f value -c id)
        img=$("$CACHE/venv/bin/openstack" image create --file "$CACHE/guest/root.qcow2" --disk-format qcow2 --container-format bare \
            --property kernel_id="$k" --property ramdisk_id="$r" --property os_command_line="console=ttyS0 quiet" g -f value -c id)
    else
        head -c 1M /dev/zero >"$TMP/$name/img.raw"
        img=$("$CACHE/venv/bin/openstack" image create --file "$TMP/$name/img.raw" --disk-format raw --container-format bare g -f value -c id)
    fi
    echo "== $name: $n servers, one at a time"
    $PY "$HERE/compute_latency.py" "http://127.0.0.1:$port" pw "$img" "$n" 84
    echo "   controller RSS: $(ps -o rss= -p "${PIDS[-1]}" | awk '{printf "%.1f MiB", $1/1024}')"
}

run_case fake fake qemu "${FAKE_N:-200}"
run_case qemu qemu qemu "${QEMU_N:-10}"

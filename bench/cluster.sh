#!/usr/bin/env bash
# One control plane three ways, measured side by side in one run (fake hypervisor):
#   sqlite   `ciel up` on its embedded SQLite file;
#   pg-1     `ciel up --database postgres://…`;
#   pg-3     the same plus two `ciel controller`s on that database and a shared directory,
#            the load spread round-robin over the three.
# For each: token validations/s (8 clients), port creations/s (50 clients on one subnet, no
# duplicate IP allowed), server creations/s (10 clients) and the time until all are ACTIVE.
# Then the ratios to sqlite. Prints figures; asserts nothing about speed.
#   bench/cluster.sh [SECONDS]     (default 10 s per measurement)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CIEL=${CIEL_BIN:-$REPO/target/release/ciel}
SECS=${1:-10}
TMP=$(mktemp -d)
chmod 755 "$TMP"   # the PostgreSQL server runs as an unprivileged user
PIDS=()
. "$REPO/scripts/lib/pg.sh"
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    pg_temp_stop "$TMP/pg" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
ensure_pg_deps
pg_temp_start "$TMP/pg" 55439

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 300); do curl -sf "$1/identity/v3" >/dev/null && return 0; sleep 0.1; done; return 1; }

# start NAME ROLE PORT SHARED [--database URL]: a controller (ROLE up: with the fake agent).
start() {
    local name=$1 role=$2 p=$3 shared=$4; shift 4
    mkdir -p "$TMP/$name"
    printf '[compute]\ndriver = "fake"\nhostname = "bench-%s"\n' "$name" >"$TMP/$name/c.toml"
    "$CIEL" "$role" --data-dir "$TMP/$name/d" --shared-dir "$shared" --listen "127.0.0.1:$p" \
        --admin-password pw --config "$TMP/$name/c.toml" --log warn "$@" >"$TMP/$name/log" 2>&1 &
    PIDS+=($!)
    wait_up "http://127.0.0.1:$p" || { tail "$TMP/$name/log"; exit 1; }
}

# An image for the servers (1 MiB of zeros, raw).
add_image() {
    local base=$1 token id
    token=$(curl -si -H 'Content-Type: application/json' -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"pw"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' \
        "$base/identity/v3/auth/tokens" | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: *//p' | tr -d '\r')
    id=$(curl -s -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
        -d '{"name":"bench","disk_format":"raw","container_format":"bare","visibility":"public"}' \
        "$base/image/v2/images" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    head -c 1M /dev/zero | curl -s -X PUT -H "X-Auth-Token: $token" -H 'Content-Type: application/octet-stream' \
        --data-binary @- "$base/image/v2/images/$id/file" >/dev/null
}

results=()
measure() { # LABEL URLS
    add_image "${2%%,*}"
    local line
    line=$(python3 "$HERE/cluster.py" "$1" "$2" pw "$SECS")
    echo "$line"
    results+=("$line")
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    PIDS=()
    sleep 1
}

p=$(port); start sqlite up "$p" "$TMP/sqlite/shared"
measure sqlite "http://127.0.0.1:$p"

db=$(pg_temp_createdb bench_one)
p=$(port); start pg1 up "$p" "$TMP/pg1/shared" --database "$db"
measure pg-1 "http://127.0.0.1:$p"

db=$(pg_temp_createdb bench_three)
p1=$(port); start pg3a up "$p1" "$TMP/pg3-shared" --database "$db"
p2=$(port); start pg3b controller "$p2" "$TMP/pg3-shared" --database "$db"
p3=$(port); start pg3c controller "$p3" "$TMP/pg3-shared" --database "$db"
measure pg-3 "http://127.0.0.1:$p1,http://127.0.0.1:$p2,http://127.0.0.1:$p3"

echo
echo "== ratios to sqlite (higher is faster; all_active_after_s: lower is faster)"
printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
base = rows[0]
keys = ["token_validations_per_s", "port_creates_per_s_50_clients", "server_creates_per_s_10_clients", "all_active_after_s"]
print("%-8s" % "" + "".join("%32s" % k for k in keys))
for r in rows:
    print("%-8s" % r["label"] + "".join("%32s" % ("%.1f (x%.2f)" % (r[k], r[k] / base[k] if base[k] else 0)) for k in keys))
'

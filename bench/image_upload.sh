#!/usr/bin/env bash
# Memory and throughput of Ciel's image data path (Glance v2 PUT/GET .../file).
#
#   bench/image_upload.sh [--size-gib N] [--interval S]
#
# Starts `ciel up` on a free port with a temp data dir, writes an N GiB (default 2)
# raw file of real bytes (a 16 MiB random chunk repeated), creates a raw/bare image,
# uploads the file with `curl -T` (PUT /image/v2/images/ID/file, streamed), then
# downloads it with `curl -o /dev/null`. While each transfer runs, the ciel process's
# VmRSS is read from /proc/PID/status every S seconds (default 0.2).
#
# Prints: RSS before, peak RSS during upload, peak RSS during download, upload and
# download throughput (MB/s, 1 MB = 10^6 bytes), and checks the stored checksum.
#
# Environment overrides: CIEL_BIN (default <repo>/target/release/ciel);
# BENCH_KEEP=1 keeps the temp dir (log, RSS samples) for inspection.
# See bench/README.md.
set -euo pipefail

SIZE_GIB=2
INTERVAL=0.2

usage() { sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "image_upload.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --size-gib) SIZE_GIB="$2"; shift 2 ;;
        --interval) INTERVAL="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $SIZE_GIB =~ ^[1-9][0-9]*$ ]] || die "--size-gib must be a positive integer (got '$SIZE_GIB')"
[[ $INTERVAL =~ ^[0-9]*\.?[0-9]+$ ]] || die "--interval must be a number of seconds (got '$INTERVAL')"
for c in curl python3 md5sum; do command -v "$c" >/dev/null || die "$c is required"; done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CIEL_BIN="${CIEL_BIN:-$REPO/target/release/ciel}"
PW="BenchPw-$$-$RANDOM"

# ---------------------------------------------------------------- cleanup
TMP="$(mktemp -d -t ciel-image-bench.XXXXXX)"
CIEL_PID=""
SAMPLER_PID=""
stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    [[ -n $SAMPLER_PID ]] && stop_pid "$SAMPLER_PID"
    [[ -n $CIEL_PID ]] && stop_pid "$CIEL_PID"
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
jf() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# start_sampler PID FILE: append the VmRSS (kB) of PID to FILE every $INTERVAL s
start_sampler() {
    local pid=$1 out=$2
    : >"$out"
    (
        while r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [[ -n $r ]]; do
            echo "$r" >>"$out"
            sleep "$INTERVAL"
        done
    ) &
    SAMPLER_PID=$!
}
stop_sampler() { stop_pid "$SAMPLER_PID"; SAMPLER_PID=""; }
peak() { sort -n "$1" | tail -n 1; }
count() { wc -l <"$1" | tr -d ' '; }

# ---------------------------------------------------------------- the file
SIZE=$((SIZE_GIB * 1024 * 1024 * 1024))
FILE=$TMP/bench.raw
log "writing $SIZE_GIB GiB raw file ($SIZE bytes: a 16 MiB random chunk repeated)"
head -c 16M /dev/urandom >"$TMP/chunk"
for _ in $(seq $((SIZE / (16 * 1024 * 1024)))); do cat "$TMP/chunk"; done >"$FILE"
rm -f "$TMP/chunk"
[[ $(stat -c %s "$FILE") == "$SIZE" ]] || die "file has the wrong size"
sync "$FILE" 2>/dev/null || sync

# ---------------------------------------------------------------- ciel
for _ in $(seq 120); do [[ -x $CIEL_BIN ]] && break; sleep 0.5; done
[[ -x $CIEL_BIN ]] || die "ciel binary $CIEL_BIN not found"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
log "starting ciel on $BASE (data dir $TMP/data)"
"$CIEL_BIN" up --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --admin-password "$PW" >"$TMP/ciel.log" 2>&1 &
CIEL_PID=$!
for _ in $(seq 150); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/identity/v3") == 200 ]] && break
    kill -0 "$CIEL_PID" 2>/dev/null || { cat "$TMP/ciel.log" >&2; die "ciel exited"; }
    sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/identity/v3") == 200 ]] || die "ciel not ready after 15 s"

TOKEN=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' "$BASE/identity/v3/auth/tokens" -d \
    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$PW\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" |
    tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: *//p')
[[ -n $TOKEN ]] || die "could not get an admin token"

BODY=$(curl -sS -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' "$BASE/image/v2/images" \
    -d '{"name":"bench-raw","disk_format":"raw","container_format":"bare"}')
IMG=$(jf "$BODY" 'd["id"]') || die "image create failed: $BODY"

# a couple of idle samples before anything moves
sleep 1
RSS_BEFORE=$(rss_kb "$CIEL_PID")

# ---------------------------------------------------------------- upload
log "uploading (PUT $BASE/image/v2/images/$IMG/file)"
start_sampler "$CIEL_PID" "$TMP/rss-upload"
UP=$(curl -sS -o "$TMP/up.body" -w '%{http_code} %{time_total} %{size_upload}' -X PUT -T "$FILE" \
    -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' -H 'Expect:' \
    "$BASE/image/v2/images/$IMG/file") || true
stop_sampler
read -r UP_CODE UP_TIME UP_BYTES <<<"$UP"
[[ $UP_CODE == 204 ]] || die "upload answered ${UP_CODE:-nothing}: $(cat "$TMP/up.body" 2>/dev/null)"
RSS_AFTER_UP=$(rss_kb "$CIEL_PID")

IMG_JSON=$(curl -sS -H "X-Auth-Token: $TOKEN" "$BASE/image/v2/images/$IMG")
[[ $(jf "$IMG_JSON" 'd["status"]') == active ]] || die "image not active after upload: $IMG_JSON"
[[ $(jf "$IMG_JSON" 'd["size"]') == "$SIZE" ]] || die "stored size differs: $IMG_JSON"

sleep 1
# ---------------------------------------------------------------- download
log "downloading (GET .../file -> /dev/null)"
start_sampler "$CIEL_PID" "$TMP/rss-download"
DOWN=$(curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}' \
    -H "X-Auth-Token: $TOKEN" "$BASE/image/v2/images/$IMG/file") || true
stop_sampler
read -r DOWN_CODE DOWN_TIME DOWN_BYTES <<<"$DOWN"
[[ $DOWN_CODE == 200 ]] || die "download answered ${DOWN_CODE:-nothing}"
[[ $DOWN_BYTES == "$SIZE" ]] || die "downloaded $DOWN_BYTES bytes, expected $SIZE"
RSS_AFTER_DOWN=$(rss_kb "$CIEL_PID")
HWM=$(hwm_kb "$CIEL_PID")

# ---------------------------------------------------------------- integrity (not timed)
log "checking the stored checksum against md5sum of the file"
MD5=$(md5sum "$FILE" | cut -d' ' -f1)
CHECKSUM=$(jf "$IMG_JSON" 'd["checksum"]')
[[ $CHECKSUM == "$MD5" ]] && CHK="ok (md5 $MD5)" || CHK="MISMATCH: image $CHECKSUM, file $MD5"

mbps() { awk -v b="$1" -v t="$2" 'BEGIN {printf "%.0f MB/s (%.2f s)", b / t / 1e6, t}'; }
cat <<EOF

Ciel image data path: ${SIZE_GIB} GiB raw image ($SIZE bytes), ciel $("$CIEL_BIN" --version 2>/dev/null || echo '?')
host: $(nproc) CPUs, $(awk '/^MemTotal:/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo); RSS sampled every ${INTERVAL} s

  RSS before                  $(mib "$RSS_BEFORE")
  peak RSS during upload      $(mib "$(peak "$TMP/rss-upload")")   ($(count "$TMP/rss-upload") samples; after: $(mib "$RSS_AFTER_UP"))
  peak RSS during download    $(mib "$(peak "$TMP/rss-download")")   ($(count "$TMP/rss-download") samples; after: $(mib "$RSS_AFTER_DOWN"))
  VmHWM (lifetime peak)       $(mib "$HWM")
  upload throughput           $(mbps "$UP_BYTES" "$UP_TIME")
  download throughput         $(mbps "$DOWN_BYTES" "$DOWN_TIME")
  checksum                    $CHK
EOF
[[ $CHECKSUM == "$MD5" ]]

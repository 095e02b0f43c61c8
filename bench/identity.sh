#!/usr/bin/env bash
# Benchmark Ciel's identity API against the real OpenStack Keystone (from PyPI).
#
#   bench/identity.sh [--cores N] [--duration S] [--connections C]
#                     [--worker-class sync|gthread] [--threads T]
#                     [--keystone-cache on|off] [--warmup S]
#
# Scenarios, each run with wrk against both servers with an admin
# project-scoped token:
#   validate   GET /v3/auth/tokens   (X-Auth-Token: T, X-Subject-Token: T)
#   projects   GET /v3/projects      (X-Auth-Token: T)
#
# Environment overrides: CIEL_BIN (default <repo>/target/release/ciel),
# KEYSTONE_VENV (default /root/.cache/ciel-test/kvenv); BENCH_KEEP=1 keeps the temp
# dir (logs, wrk output) for inspection.
# See bench/README.md.
set -euo pipefail

CORES=1
DURATION=10
CONNECTIONS=16
WARMUP=3
WORKER_CLASS=gthread
THREADS=4
KEYSTONE_CACHE=on

usage() { sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "identity.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --cores) CORES="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --worker-class) WORKER_CLASS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --keystone-cache) KEYSTONE_CACHE="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in CORES DURATION CONNECTIONS WARMUP THREADS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
case "$WORKER_CLASS" in sync|gthread) ;; *) die "--worker-class must be sync or gthread" ;; esac
case "$KEYSTONE_CACHE" in on|off) ;; *) die "--keystone-cache must be on or off" ;; esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CIEL_BIN="${CIEL_BIN:-$REPO/target/release/ciel}"
KVENV="${KEYSTONE_VENV:-/root/.cache/ciel-test/kvenv}"
PW="BenchPw-$$-$RANDOM"

# ---------------------------------------------------------------- cleanup
TMP="$(mktemp -d -t ciel-bench.XXXXXX)"
CIEL_PID=""
KS_PID=""
stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
    local pid="$1"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    set +e
    stop_pid "$CIEL_PID"
    stop_pid "$KS_PID"   # gunicorn's master takes its workers down with it
    if [ -n "${BENCH_KEEP:-}" ]; then echo "identity.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- prerequisites
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null 2>&1 || {
        apt-get update >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
    }
fi
command -v wrk >/dev/null || die "wrk is not available"
command -v taskset >/dev/null || die "taskset (util-linux) is not available"
command -v curl >/dev/null || die "curl is not available"

if [ ! -x "$KVENV/bin/keystone-manage" ] || [ ! -x "$KVENV/bin/gunicorn" ]; then
    log "creating Keystone venv in $KVENV (pip install keystone gunicorn)"
    python3 -m venv "$KVENV"
    "$KVENV/bin/pip" install -q keystone gunicorn
fi
KVERSION="$("$KVENV/bin/python" -c 'import importlib.metadata as m; print(m.version("keystone"))')"
GVERSION="$("$KVENV/bin/python" -c 'import importlib.metadata as m; print(m.version("gunicorn"))')"

# The binary may be briefly missing while someone rebuilds it.
for _ in $(seq 300); do [ -x "$CIEL_BIN" ] && break; sleep 1; done
[ -x "$CIEL_BIN" ] || die "Ciel binary $CIEL_BIN not found"

# ---------------------------------------------------------------- CPU layout
NPROC="$(nproc)"
[ "$CORES" -le "$NPROC" ] || die "--cores $CORES exceeds the $NPROC available CPUs"
read -r -a CPUS <<<"$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
    awk -F- '{ if (NF == 2) for (i = $1; i <= $2; i++) printf "%d ", i; else printf "%d ", $1 }')"
[ "${#CPUS[@]}" -ge "$CORES" ] || die "only ${#CPUS[@]} CPUs in this process's affinity mask"
SERVER_CPUS="$(IFS=,; echo "${CPUS[*]:0:$CORES}")"
SPARE=$(( ${#CPUS[@]} - CORES ))
if [ "$SPARE" -ge 1 ]; then
    WRK_N=$(( SPARE < CORES ? SPARE : CORES ))
    WRK_CPUS="$(IFS=,; echo "${CPUS[*]:$CORES:$WRK_N}")"
    WRK_PIN=(taskset -c "$WRK_CPUS")
else
    WRK_N="$CORES"
    WRK_CPUS="(shared with the servers)"
    WRK_PIN=()
    log "WARNING: no spare CPU for wrk; it shares the servers' CPUs and the numbers understate both"
fi
WRK_THREADS=$(( WRK_N < CONNECTIONS ? WRK_N : CONNECTIONS ))

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http_200() {  # wait_http_200 URL PID NAME LOGFILE
    local _
    for _ in $(seq 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
        kill -0 "$2" 2>/dev/null || { tail -n 30 "$4" >&2; die "$3 exited during startup"; }
        sleep 0.1
    done
    tail -n 30 "$4" >&2
    die "$3 did not become ready at $1"
}

# ---------------------------------------------------------------- Ciel
CIEL_PORT="$(free_port)"
CIEL_V3="http://127.0.0.1:$CIEL_PORT/identity/v3"
log "starting Ciel on 127.0.0.1:$CIEL_PORT (CPUs $SERVER_CPUS)"
mkdir -p "$TMP/ciel"
# --log warn: no per-request logging on either side (Keystone logs nothing per request either).
taskset -c "$SERVER_CPUS" "$CIEL_BIN" up --data-dir "$TMP/ciel" --listen "127.0.0.1:$CIEL_PORT" \
    --admin-password "$PW" --log warn >"$TMP/ciel.log" 2>&1 &
CIEL_PID=$!
wait_http_200 "$CIEL_V3" "$CIEL_PID" Ciel "$TMP/ciel.log"

# ---------------------------------------------------------------- Keystone
KS_PORT="$(free_port)"
KS_V3="http://127.0.0.1:$KS_PORT/v3"
KD="$TMP/keystone"
mkdir -p "$KD"
cat >"$KD/keystone.conf" <<EOF
[DEFAULT]
debug = false

[database]
connection = sqlite:///$KD/keystone.db

[token]
provider = fernet

[fernet_tokens]
key_repository = $KD/fernet-keys

[credential]
key_repository = $KD/credential-keys
EOF
if [ "$KEYSTONE_CACHE" = on ]; then
    # In-process cache per worker: Keystone's caching layer without a memcached hop.
    cat >>"$KD/keystone.conf" <<EOF

[cache]
enabled = true
backend = dogpile.cache.memory
EOF
fi
cat >"$KD/ks_wsgi.py" <<'EOF'
import sys

# oslo.config would otherwise parse gunicorn's command line and every worker would die.
sys.argv = sys.argv[:1]

from keystone.server import wsgi  # noqa: E402

application = wsgi.initialize_public_application()
EOF
log "bootstrapping Keystone $KVERSION (db_sync, fernet/credential keys, bootstrap)"
KM=("$KVENV/bin/keystone-manage" --config-file "$KD/keystone.conf")
{
    "${KM[@]}" db_sync
    "${KM[@]}" fernet_setup --keystone-user root --keystone-group root
    "${KM[@]}" credential_setup --keystone-user root --keystone-group root
    "${KM[@]}" bootstrap --bootstrap-password "$PW" --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$KS_V3" --bootstrap-internal-url "$KS_V3" \
        --bootstrap-public-url "$KS_V3"
} >"$KD/manage.log" 2>&1 || { tail -n 30 "$KD/manage.log" >&2; die "keystone-manage failed"; }

GUNI_ARGS=(--workers "$CORES" --worker-class "$WORKER_CLASS" --bind "127.0.0.1:$KS_PORT"
    --chdir "$KD" --timeout 120 --keep-alive 30 --log-level warning)
[ "$WORKER_CLASS" = gthread ] && GUNI_ARGS+=(--threads "$THREADS")
log "starting Keystone (gunicorn ${GUNI_ARGS[*]:0:4}) on 127.0.0.1:$KS_PORT (CPUs $SERVER_CPUS)"
OS_KEYSTONE_CONFIG_FILES="$KD/keystone.conf" \
    taskset -c "$SERVER_CPUS" "$KVENV/bin/gunicorn" "${GUNI_ARGS[@]}" ks_wsgi:application \
    >"$KD/gunicorn.log" 2>&1 &
KS_PID=$!
wait_http_200 "$KS_V3" "$KS_PID" Keystone "$KD/gunicorn.log"

# ---------------------------------------------------------------- helpers
get_token() {  # get_token V3_URL -> prints an admin project-scoped token
    local body hdrs code
    body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin",
"domain":{"name":"Default"},"password":"'"$PW"'"}}},"scope":{"project":{"name":"admin",
"domain":{"name":"Default"}}}}}'
    hdrs="$(curl -s -o /dev/null -D - -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -d "$body" "$1/auth/tokens")"
    code="$(tail -n 1 <<<"$hdrs")"
    [ "$code" = 201 ] || die "POST $1/auth/tokens returned $code"
    awk 'tolower($1) == "x-subject-token:" { sub(/\r$/, "", $2); print $2 }' <<<"$hdrs"
}

# write_lua FILE TOKEN SUBJECT(yes|no)
write_lua() {
    {
        echo "wrk.method = \"GET\""
        echo "wrk.headers[\"X-Auth-Token\"] = \"$2\""
        [ "$3" = yes ] && echo "wrk.headers[\"X-Subject-Token\"] = \"$2\""
        cat <<'EOF'
wrk.headers["Accept"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.2f p50_us=%d p99_us=%d requests=%d bytes=%d status_err=%d sock_err=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, summary.bytes, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
    } >"$1"
}

# check_200 URL TOKEN SUBJECT(yes|no): one request with curl, must be exactly 200
check_200() {
    local args=(-s -o "$TMP/check.json" -w '%{http_code}' -H "X-Auth-Token: $2")
    [ "$3" = yes ] && args+=(-H "X-Subject-Token: $2")
    local code
    code="$(curl "${args[@]}" "$1")"
    [ "$code" = 200 ] || { head -c 500 "$TMP/check.json" >&2; echo >&2; die "GET $1 returned $code, expected 200"; }
}

server_pids() {  # server_pids NAME: the server's processes (gunicorn: master + workers)
    if [ "$1" = ciel ]; then
        echo "$CIEL_PID"
    else
        echo "$KS_PID $(cat /proc/"$KS_PID"/task/*/children 2>/dev/null | tr '\n' ' ')"
    fi
}
proc_ticks() {  # proc_ticks PID...: utime+stime (all threads) summed, in clock ticks
    local total=0 pid f
    for pid in "$@"; do
        f="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)" || continue
        # after "comm) ": field 1 is state, so utime/stime (fields 14/15 of stat) are 12/13
        total=$(( total + $(awk '{ print $12 + $13 }' <<<"$f") ))
    done
    echo "$total"
}
cores_busy_ticks() {  # cores_busy_ticks CPULIST: busy ticks (user+nice+system+steal), all processes
    awk -v cpus=",$1," '$1 ~ /^cpu[0-9]+$/ && index(cpus, "," substr($1, 4) ",") { t += $2 + $3 + $4 + $9 } END { print t }' /proc/stat
}
children_ticks() {  # CPU ticks of this script's reaped children (here: essentially wrk)
    sed 's/.*) //' /proc/$$/stat | awk '{ print $14 + $15 }'
}
pct_of_core() {  # pct_of_core TICKS NANOSECONDS: CPU ticks as % of one core
    awk -v t="$1" -v hz="$CLK_TCK" -v ns="$2" 'BEGIN { v = 100 * t / hz / (ns / 1e9); printf "%.0f", v < 0 ? 0 : v }'
}
CLK_TCK="$(getconf CLK_TCK)"

# run_wrk NAME SCENARIO URL LUA -> appends "NAME SCENARIO rps p50_us p99_us bytes/req" to $TMP/results
run_wrk() {
    local name="$1" scen="$2" url="$3" lua="$4" out line
    log "$name/$scen: warm-up ${WARMUP}s"
    "${WRK_PIN[@]}" wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" --timeout 30s -s "$lua" "$url" \
        >"$TMP/$name-$scen-warmup.txt" 2>&1 || { cat "$TMP/$name-$scen-warmup.txt" >&2; die "wrk failed"; }
    # Non-2xx answers are tolerated during warm-up only: Keystone 30 has a first-request
    # race in each fresh threaded worker (lazy policy-enforcer setup answers 403/500 to the
    # first concurrent requests). They are reported; the measured run must be all 2xx.
    local werr
    werr="$(sed -n 's/^RESULT .* status_err=\([0-9]*\) .*/\1/p' "$TMP/$name-$scen-warmup.txt")"
    [ -n "$werr" ] || { cat "$TMP/$name-$scen-warmup.txt" >&2; die "no result from wrk (warm-up)"; }
    if [ "$werr" != 0 ]; then
        log "WARNING: $name/$scen: $werr non-2xx responses during warm-up (tolerated; see README)"
        echo "$name/$scen: $werr non-2xx responses during warm-up" >>"$TMP/warmup-errors"
    fi
    log "$name/$scen: measuring ${DURATION}s"
    out="$TMP/$name-$scen.txt"
    local pids t0 b0 c0 w0 t1 b1 c1 w1 x0=0 x1=0
    pids=$(server_pids "$name")
    # shellcheck disable=SC2086
    t0=$(proc_ticks $pids)
    b0=$(cores_busy_ticks "$SERVER_CPUS")
    [ ${#WRK_PIN[@]} -eq 0 ] || x0=$(cores_busy_ticks "$WRK_CPUS")
    c0=$(children_ticks); w0=$(date +%s%N)
    "${WRK_PIN[@]}" wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 30s --latency -s "$lua" "$url" \
        >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    w1=$(date +%s%N); c1=$(children_ticks)
    # shellcheck disable=SC2086
    t1=$(proc_ticks $pids)
    b1=$(cores_busy_ticks "$SERVER_CPUS")
    [ ${#WRK_PIN[@]} -eq 0 ] || x1=$(cores_busy_ticks "$WRK_CPUS")
    line="$(grep '^RESULT ' "$out")" || { cat "$out" >&2; die "no result from wrk"; }
    local rps p50 p99 reqs bytes serr sockerr
    read -r rps p50 p99 reqs bytes serr sockerr < <(awk '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["rps"], v["p50_us"], v["p99_us"], v["requests"], v["bytes"], v["status_err"], v["sock_err"]
    }' <<<"$line")
    [ "$serr" = 0 ] || { cat "$out" >&2; die "$name/$scen: $serr non-2xx responses (of $reqs)"; }
    [ "$reqs" -gt 0 ] || { cat "$out" >&2; die "$name/$scen: no requests completed"; }
    if [ "$sockerr" != 0 ]; then
        log "WARNING: $name/$scen: $sockerr socket errors/timeouts: $(grep 'Socket errors' "$out" || true)"
    fi
    # CPU used by the server, by wrk, and by anything else on the benchmark's CPUs (% of one core)
    # other_s: foreign CPU on the server CPUs; other_w: foreign CPU on wrk's CPUs
    local srv wrkc other_s other_w
    srv=$(pct_of_core $(( t1 - t0 )) $(( w1 - w0 )))
    wrkc=$(pct_of_core $(( c1 - c0 )) $(( w1 - w0 )))
    if [ ${#WRK_PIN[@]} -eq 0 ]; then  # wrk shares the server CPUs
        other_s=$(pct_of_core $(( (b1 - b0) - (t1 - t0) - (c1 - c0) )) $(( w1 - w0 )))
        other_w=-
    else
        other_s=$(pct_of_core $(( (b1 - b0) - (t1 - t0) )) $(( w1 - w0 )))
        other_w=$(pct_of_core $(( (x1 - x0) - (c1 - c0) )) $(( w1 - w0 )))
    fi
    echo "$name $scen $rps $p50 $p99 $(( bytes / reqs )) $srv $wrkc $other_s $other_w" >>"$TMP/results"
}

rss_kib() {  # rss_kib PID...: sum of VmRSS in KiB
    local total=0 pid v
    for pid in "$@"; do
        v="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
        total=$(( total + ${v:-0} ))
    done
    echo "$total"
}

# ---------------------------------------------------------------- run
: >"$TMP/results"
bench_server() {  # bench_server NAME V3_URL
    local name="$1" v3="$2" token
    token="$(get_token "$v3")"
    [ -n "$token" ] || die "$name: no X-Subject-Token in the token response"
    check_200 "$v3/auth/tokens" "$token" yes
    check_200 "$v3/projects" "$token" no
    log "$name: GET /v3/projects lists $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["projects"]))' "$TMP/check.json") project(s)"
    write_lua "$TMP/$name-validate.lua" "$token" yes
    write_lua "$TMP/$name-projects.lua" "$token" no
    run_wrk "$name" validate "$v3/auth/tokens" "$TMP/$name-validate.lua"
    run_wrk "$name" projects "$v3/projects" "$TMP/$name-projects.lua"
    # The same token must still validate after the run (no silent failure mid-run).
    check_200 "$v3/auth/tokens" "$token" yes
}

bench_server ciel "$CIEL_V3"
bench_server keystone "$KS_V3"

KS_PIDS="$(server_pids keystone)"
CIEL_RSS="$(rss_kib "$CIEL_PID")"
# shellcheck disable=SC2086
KS_RSS="$(rss_kib $KS_PIDS)"
KS_NPROC="$(wc -w <<<"$KS_PIDS")"

# ---------------------------------------------------------------- report
echo
echo "Ciel vs Keystone identity benchmark"
echo "  ciel:      $CIEL_BIN ($("$CIEL_BIN" --version 2>/dev/null || echo '?')), tokio runtime pinned to CPUs $SERVER_CPUS"
echo "  keystone:  $KVERSION on gunicorn $GVERSION, --workers $CORES --worker-class $WORKER_CLASS$([ "$WORKER_CLASS" = gthread ] && echo " --threads $THREADS"), cache=$KEYSTONE_CACHE, sqlite, fernet; CPUs $SERVER_CPUS"
echo "  wrk:       -t $WRK_THREADS -c $CONNECTIONS -d ${DURATION}s (after ${WARMUP}s warm-up), CPUs $WRK_CPUS"
echo "  machine:   $NPROC CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo
awk -v crss="$CIEL_RSS" -v krss="$KS_RSS" -v knp="$KS_NPROC" '
    { rps[$1, $2] = $3; p50[$1, $2] = $4 / 1000; p99[$1, $2] = $5 / 1000; sz[$1, $2] = $6
      cpu[$1, $2] = $7; wcpu[$1, $2] = $8; oth[$1, $2] = $9 "/" $10; seen[$2] = 1
      if ($9 > maxs) maxs = $9; if ($10 != "-" && $10 > maxw) maxw = $10 }
    END {
        fmt = "%-9s %-9s %10s %8s %8s %10s %9s %9s %9s\n"
        printf fmt, "scenario", "server", "req/s", "p50 ms", "p99 ms", "bytes/rsp", "srv CPU%", "wrk CPU%", "other%"
        printf fmt, "--------", "------", "-----", "------", "------", "---------", "--------", "--------", "-------"
        n = split("validate projects", sc, " ")
        for (i = 1; i <= n; i++) {
            s = sc[i]
            if (!(s in seen)) continue
            for (j = 1; j <= 2; j++) {
                srv = (j == 1) ? "ciel" : "keystone"
                printf "%-9s %-9s %10.1f %8.2f %8.2f %10d %9d %9d %9s\n", s, srv, rps[srv, s], p50[srv, s], p99[srv, s], sz[srv, s], cpu[srv, s], wcpu[srv, s], oth[srv, s]
            }
            printf "%-9s %-9s %9.1fx %7.1fx %7.1fx\n", s, "ratio", \
                rps["ciel", s] / rps["keystone", s], p50["keystone", s] / p50["ciel", s], p99["keystone", s] / p99["ciel", s]
        }
        print "  ratio: throughput = ciel/keystone; latency = keystone/ciel; >1 means Ciel is better"
        print "  CPU columns: % of one core during the measured run: the server, wrk, and other"
        print "  processes on the server CPUs / on the wrk CPUs (other% should be ~0/~0)"
        if (maxs > 10)
            printf "  WARNING: other processes took up to %d%% of a core on the server CPUs; figures are skewed\n", maxs
        if (maxw > 30)
            printf "  WARNING: other processes took up to %d%% of a core on the wrk CPUs; figures may be skewed\n", maxw
        print ""
        printf "RSS after the run: ciel %.1f MiB (1 process); keystone %.1f MiB (gunicorn master + %d worker(s)); keystone/ciel %.1fx\n", \
            crss / 1024, krss / 1024, knp - 1, krss / crss
    }' "$TMP/results"
if [ -s "$TMP/warmup-errors" ]; then
    echo "Non-2xx during warm-up (tolerated; measured runs were all 2xx):"
    sed 's/^/  /' "$TMP/warmup-errors"
fi

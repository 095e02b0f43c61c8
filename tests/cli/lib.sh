# Shared helpers of the CLI acceptance tests (sourced after HERE/REPO/CIEL_BIN/VENV/OPENSTACK/PY are set).
# CIEL_TEST_NAME names the temp dir.

# Nothing from the caller's environment may leak into the clients.
for v in $(env | sed -n 's/^\(OS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export PYTHONWARNINGS=ignore

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ciel-${CIEL_TEST_NAME:-cli-test}.XXXXXX")
DATA=$TMP/data
LOG=$TMP/ciel.log
CIEL_PID=""
EXTRA_PIDS=()
T0=$(date +%s)

cleanup() {
    local pid
    for pid in $CIEL_PID "${EXTRA_PIDS[@]}"; do
        [[ -n $pid ]] || continue
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    [[ ${HOST_CLEANUP:-0} == 1 ]] && host_cleanup
    if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
# What a test's hypervisor agent leaves on the host by design (VMs and their network outlive
# the agent) is removed when the test ends, passed or not: QEMU and dnsmasq processes of
# this test's state, Ciel's devices, DHCP namespaces and nftables tables (tests using them run one at a time).
host_cleanup() {
    pkill -KILL -f "qemu-system-x86_64.*$TMP" 2>/dev/null || true
    pkill -KILL -f "^dnsmasq.*$TMP" 2>/dev/null || true
    local l ns
    for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(cbr-|cvx-|cdh-|ctp)'); do
        ip link del "$l" 2>/dev/null || true
    done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^ciel-dhcp-'); do
        ip netns del "$ns" 2>/dev/null || true
    done
    nft delete table inet ciel 2>/dev/null || true
    nft delete table bridge ciel 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers --
PASSED=0
FAILED=0
FAILURES=()
OUT=""   # stdout of the last check/expect_fail command
ERR=""   # stderr of the last check/expect_fail command

if [[ -t 1 ]]; then G=$'\e[32m' R=$'\e[31m' B=$'\e[1m' N=$'\e[0m'; else G="" R="" B="" N=""; fi

step() { echo; echo "${B}== $*${N}"; }
pass() { PASSED=$((PASSED + 1)); echo "  ${G}PASS${N} $1"; }
fail() {
    FAILED=$((FAILED + 1)); FAILURES+=("$1"); echo "  ${R}FAIL${N} $1"
    shift
    local line
    for line in "$@"; do [[ -n $line ]] && printf '%s\n' "$line" | tail -n 15 | sed 's/^/       | /'; done
    return 0
}

# run CMD... capturing stdout in $OUT and stderr in $ERR
_run() {
    local ef=$TMP/.stderr rc=0
    OUT=$("$@" 2>"$ef") || rc=$?
    ERR=$(cat "$ef")
    return $rc
}
# check DESC CMD...: passes when CMD exits 0.
# expect_fail DESC CMD...: passes when CMD exits non-zero.
# Both always return 0 (set -e safe); `ok` tells whether the last one passed,
# so dependent checks read `check ...; ok && check ...`.
LAST=0
ok() { return $LAST; }
# log_tail FILE [N]: the last N (15) lines of a log under a failed check (CI keeps only the output).
log_tail() { echo "       | last lines of $(basename "$1"):"; tail -n "${2:-15}" "$1" 2>/dev/null | sed 's/^/       |   /'; }
check() {
    local desc=$1; shift
    local rc=0
    _run "$@" || rc=$?
    if ((rc == 0)); then LAST=0; pass "$desc"; else LAST=1; fail "$desc" "exit status $rc from: $*" "$OUT" "$ERR"; fi
}
# assert DESC CMD...: like check, for pure assertions; leaves $OUT/$ERR untouched
assert() {
    local desc=$1; shift
    local o rc=0
    o=$("$@" 2>&1) || rc=$?
    if ((rc == 0)); then LAST=0; pass "$desc"; else LAST=1; fail "$desc" "$o"; fi
}
expect_fail() {
    local desc=$1; shift
    if _run "$@"; then LAST=1; fail "$desc" "unexpectedly succeeded: $*" "$OUT" "$ERR"; else LAST=0; pass "$desc"; fi
}
# assertion commands (use with assert); on failure they print why
eq() { [[ $1 == "$2" ]] || { echo "expected [$2], got [$1]"; return 1; }; }
contains() { grep -qF -- "$2" <<<"$1" || { echo "[$2] not found in: $1"; return 1; }; }
lacks() { ! grep -qF -- "$2" <<<"$1" || { echo "[$2] unexpectedly found in: $1"; return 1; }; }
# has_status CODE TEXT: the CLI error text reports HTTP status CODE
# (keystoneauth says "(HTTP 401)", openstacksdk says "ForbiddenException: 403: Client Error ...")
has_status() { grep -qE -- "HTTP $1|Exception: $1:|\b$1: Client Error" <<<"$2" || { echo "no HTTP $1 in: $2"; return 1; }; }
# debug_resp_after PATTERN TEXT: status of the first "RESP: [NNN]" after the REQ line matching PATTERN in --debug output
debug_resp_after() { awk -v pat="$1" '$0 ~ /^REQ: curl/ && $0 ~ pat {f=1; next} f && /^RESP: \[/ {match($0, /[0-9][0-9][0-9]/); print substr($0, RSTART, 3); exit}' <<<"$2"; }


# jf JSON EXPR: evaluate python EXPR with d = parsed JSON, print the result
jf() { $PY -c 'import json,sys; d=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print(r if not isinstance(r,(dict,list)) else json.dumps(r))' "$1" "$2"; }

osc() { "$OPENSTACK" "$@"; }
adm() { OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=ciel "$OPENSTACK" "$@"; }
# as_user USER PASSWORD PROJECT CMD...: openstack with OS_* env vars (no OS_CLOUD)
as_user() {
    local u=$1 p=$2 pr=$3; shift 3
    OS_AUTH_URL=$AUTH_URL OS_USERNAME=$u OS_PASSWORD=$p OS_PROJECT_NAME=$pr \
        OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3 \
        "$OPENSTACK" "$@"
}

# http METHOD URL [curl args...]: sets HTTP_CODE (000 if no answer), HTTP_BODY, HTTP_HEADERS
HTTP_CODE="" HTTP_BODY="" HTTP_HEADERS=""
http() {
    local method=$1 url=$2; shift 2
    local hf=$TMP/.headers bf=$TMP/.body
    HTTP_CODE=$(curl -sS -o "$bf" -D "$hf" -w '%{http_code}' -X "$method" "$url" "$@") || HTTP_CODE=000
    HTTP_BODY=$(cat "$bf" 2>/dev/null || true)
    HTTP_HEADERS=$(tr -d '\r' <"$hf" 2>/dev/null || true)
}
pw_body() { # USER PASSWORD [PROJECT]
    if [[ -n ${3:-} ]]; then
        printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"name":"Default"},"password":"%s"}}},"scope":{"project":{"name":"%s","domain":{"name":"Default"}}}}}' "$1" "$2" "$3"
    else
        printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"name":"Default"},"password":"%s"}}}}}' "$1" "$2"
    fi
}
# auth_http BASE USER PASSWORD [PROJECT]: POST /v3/auth/tokens, sets HTTP_* and TOKEN
TOKEN=""
auth_http() {
    local base=$1; shift
    http POST "$base/v3/auth/tokens" -H 'Content-Type: application/json' -d "$(pw_body "$@")"
    TOKEN=$(sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: *//p' <<<"$HTTP_HEADERS")
}
code_is() { eq "$HTTP_CODE" "$1" || { echo "body: $HTTP_BODY"; return 1; }; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for_binary() {
    local i
    for i in $(seq 120); do [[ -x $CIEL_BIN ]] && return 0; sleep 0.5; done
    echo "ciel binary $CIEL_BIN missing" >&2; return 1
}
# start_ciel LOGFILE ARGS...: `ciel up ARGS` in the background, sets STARTED_PID
# (waits for the binary, which may briefly be missing while it is being rebuilt)
STARTED_PID=""
start_ciel() {
    local logf=$1; shift
    wait_for_binary || return 1
    local db=()
    [[ -n ${CIEL_TEST_PG_SERVER:-} ]] && { db=(--database "$(pg_database_for "$@")") || return 1; }
    "$CIEL_BIN" up "${db[@]}" "$@" >>"$logf" 2>&1 &
    STARTED_PID=$!
}
# pg_database_for ARGS...: with CIEL_TEST_PG_SERVER set (a PostgreSQL server URL), the
# database of the `ciel up ARGS` about to start: one per data dir (or config file), created
# on first use, so a test that restarts Ciel on its data dir finds its cloud again.
pg_database_for() {
    local key="" prev=""
    for a in "$@"; do
        [[ $prev == --data-dir || $prev == --config ]] && key+="$a|"
        prev=$a
    done
    local name="ciel_$(printf '%s' "${key:-default}" | md5sum | cut -c1-16)"
    psql -qAt "$CIEL_TEST_PG_SERVER" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 ||
        psql -q "$CIEL_TEST_PG_SERVER" -c "CREATE DATABASE $name" >/dev/null || return 1
    echo "${CIEL_TEST_PG_SERVER%/*}/$name"
}
wait_ready() { # BASE_URL PID: until GET BASE_URL/identity/v3 answers 200 (15 s max)
    local i
    for i in $(seq 150); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$1/identity/v3" 2>/dev/null) == 200 ]] && return 0
        kill -0 "$2" 2>/dev/null || { echo "ciel (pid $2) exited before becoming ready"; return 1; }
        sleep 0.1
    done
    echo "not ready after 15 s"; return 1
}
# stop_ciel PID: SIGTERM, wait up to 10 s; sets STOP_RC (exit status); returns 1 (and SIGKILLs) if still running
STOP_RC=""
stop_ciel() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then STOP_RC=timeout; kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; return 1; fi
    STOP_RC=0; wait "$pid" || STOP_RC=$?
}

abort() { echo "${R}ABORT${N}: $*"; print_diag_logs; exit 1; }

# The DIAG_LOGS files (besides $LOG) whose warnings and errors a failed run prints.
DIAG_LOGS=()
# finish: prints the summary; on failure also the failed checks and the last warnings and
# errors of Ciel's logs (CI keeps only the output), then exits 1.
finish() {
    echo
    echo "${B}$PASSED passed, $FAILED failed${N} in $(( $(date +%s) - T0 )) s"
    ((FAILED)) || return 0
    local f l
    for f in "${FAILURES[@]}"; do echo "  ${R}FAIL${N} $f"; done
    print_diag_logs
    exit 1
}
print_diag_logs() {
    local l
    for l in "$LOG" "${DIAG_LOGS[@]}"; do
        [[ -f $l ]] || continue
        echo "-- the last warnings and errors in $(basename "$l"):"
        grep -aE 'WARN|ERROR' "$l" | tail -n 25 | sed 's/^/   /'
    done
}

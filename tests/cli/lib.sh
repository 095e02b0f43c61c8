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
    if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
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

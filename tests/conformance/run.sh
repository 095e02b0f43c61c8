#!/usr/bin/env bash
# Tempest conformance harness for Ciel: starts a throw-away Ciel server, writes
# a tempest.conf for it, runs the selected Tempest tests and summarizes them.
#
# Usage: tests/conformance/run.sh [--suite identity,image,network,compute,volume,octavia|interop|all|migration] [--regex R]...
# See tests/conformance/README.md for the suites and environment variables.
set -euo pipefail

# --- Keystone security-compliance settings --------------------------------
# These must equal what Ciel's bootstrap configures by default: an account is
# locked after 2 failed logins for 5 seconds, the last 2 passwords may not be
# reused, and there is no minimum password age. Tempest's
# security-compliance tests (e.g. test_user_account_lockout,
# test_password_history_check_self_service_api) depend on the exact values.
LOCKOUT_FAILURE_ATTEMPTS=2
LOCKOUT_DURATION=5
UNIQUE_LAST_PASSWORD_COUNT=2
MINIMUM_PASSWORD_AGE=0

REGION=RegionOne
START_TIMEOUT=60          # seconds to wait for Ciel to answer
STOP_TIMEOUT=10           # seconds to wait after SIGTERM before SIGKILL

# --- helpers ---------------------------------------------------------------
log() { printf '[conformance] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
    cat <<'EOF'
Usage: tests/conformance/run.sh [--suite identity,image,network,compute,volume,octavia|interop|all|migration] [--regex R]...

  --suite identity  the interop-guideline identity tests plus every test
                    matching ^tempest\.api\.identity\.(v3|admin\.v3)\.  (default)
  --suite image     the interop image tests plus ^tempest\.api\.image\.v2\.
  --suite network   the interop network tests plus ^tempest\.api\.network\.
  --suite compute   the interop compute tests plus ^tempest\.api\.compute\. (boots the
                    small test guest under QEMU/TCG; builds it with tests/guest/build-small.sh)
  --suite volume    the interop volume tests plus ^tempest\.api\.volume\.
  --suite octavia   octavia-tempest-plugin: a smoke subset (octavia_smoke.txt) of its API and
                    VM-less scenario tests, on a network node (haproxy in namespaces); with
                    CIEL_OCTAVIA_FULL=1 every test of api.v2 and of the VM-less scenarios
  --suite interop   all tests of os-powered-compute-2022.11.txt
  --suite all       identity, image, network, compute, volume and interop (not octavia)
  --suite migration (alone) two compute hosts: the local agent and a second `ciel agent` in a
                    network namespace of its own on an underlay, a Ceph cluster (volumes on RBD),
                    and Tempest's live and cold migration and multi-node tests; with
                    CIEL_MIGRATION_SMOKE=1 only its smoke subset (migration_smoke.txt)
  --cold-migration  tell Tempest that cold migration works ([compute-feature-enabled]
                    cold_migration = true; the migration suite's cold migration tests run)
  --volume-backend rbd
                    a Ceph cluster (scripts/lib/ceph.sh, on loopback) and the default volume
                    type's volumes on RBD: the volume suite then runs on Ceph (snapshots as RBD
                    snapshots, clones, backups as RBD diffs to the directory target)
  --regex R         also select tests matching the regex R (repeatable)
  --only R          select only the tests matching R (repeatable), with the set-up of the
                    suites given (e.g. --suite compute --only 'test_server_tags')

Environment: CIEL_TEST_CACHE, CIEL_GUEST_DIR, CIEL_TEST_OUT, CIEL_TEMPEST_CONCURRENCY,
CIEL_IDENTITY_EXTENSIONS, CIEL_ADMIN_PASSWORD, CIEL_STRICT, CIEL_KEEP, CIEL_OCTAVIA_FULL,
CIEL_VOLUME_MAX_MICROVERSION, CIEL_MIGRATION_SMOKE
(see tests/conformance/README.md).
EOF
}

# --- arguments -------------------------------------------------------------
SUITE=identity
REGEXES=()
ONLY=()
COLD_MIGRATION=false
VOLUME_BACKEND=file
ARGS=("$@")
while [ $# -gt 0 ]; do
    case $1 in
        --suite) [ $# -ge 2 ] || die "--suite needs a value"; SUITE=$2; shift 2 ;;
        --suite=*) SUITE=${1#--suite=}; shift ;;
        --regex) [ $# -ge 2 ] || die "--regex needs a value"; REGEXES+=("$2"); shift 2 ;;
        --regex=*) REGEXES+=("${1#--regex=}"); shift ;;
        --only) [ $# -ge 2 ] || die "--only needs a value"; ONLY+=("$2"); shift 2 ;;
        --only=*) ONLY+=("${1#--only=}"); shift ;;
        --cold-migration) COLD_MIGRATION=true; shift ;;
        --volume-backend) [ $# -ge 2 ] || die "--volume-backend needs a value"; VOLUME_BACKEND=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
case $VOLUME_BACKEND in file|rbd) ;; *) die "--volume-backend is file or rbd, not '$VOLUME_BACKEND'" ;; esac
# SUITE is a comma-separated list of identity, image, network, compute, interop, all.
IFS=, read -r -a SUITES <<<"$SUITE"
for s in "${SUITES[@]}"; do
    case $s in
        identity|image|network|compute|volume|octavia|interop|all|migration) ;;
        *) die "unknown suite '$s' (expected identity, image, network, compute, volume, octavia, interop, all or migration)" ;;
    esac
done
has_suite() { local s; for s in "${SUITES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
# Two compute hosts, a Ceph cluster and the default volume type on RBD: a different cloud
# from the one the other suites are written for, so the migration suite runs alone.
WANT_MIGRATION=false
if has_suite migration; then
    [ ${#SUITES[@]} -eq 1 ] || die "--suite migration runs alone (its cloud has two compute hosts and volumes on Ceph)"
    WANT_MIGRATION=true
fi
# The compute tests boot real guests: they need the test guest images registered.
WANT_COMPUTE=false
if has_suite compute || has_suite volume || has_suite interop || has_suite all || has_suite migration; then WANT_COMPUTE=true; fi
# Load balancers run on a network node: the local agent with the provider network `public`
# on a veth of the run's own network namespace (haproxy in a namespace per load balancer).
WANT_OCTAVIA=false
if has_suite octavia; then WANT_OCTAVIA=true; fi

# --- locations -------------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

# Tempest logs into the guests it boots (run_validation) over floating IPs: the run gets
# network namespaces of its own, where an external LAN is cabled to the local agent's
# provider interface and this side holds the external gateway address 172.24.4.1.
VALIDATION=false
PROVIDER_LAN=false
if [ "$WANT_COMPUTE" = true ] || [ "$WANT_OCTAVIA" = true ]; then
    if [ -z "${CIEL_CONFORMANCE_ISOLATED:-}" ]; then
        exec env CIEL_CONFORMANCE_ISOLATED=1 "$SCRIPT_DIR/../cli/isolated.sh" "$0" "${ARGS[@]}"
    fi
    ip link add ciel-ext type veth peer name ciel-lan
    ip link set ciel-ext up
    ip addr add 172.24.4.1/24 dev ciel-lan
    ip link set ciel-lan up
    PROVIDER_LAN=true
    [ "$WANT_COMPUTE" = true ] && VALIDATION=true
fi
# Where Ciel listens. The migration suite's second compute host needs it on an underlay: a
# bridge with 192.168.100.1 here (Ciel, its local agent's tunnels and the Ceph monitor) and
# the namespace hv2 cabled to it (tests/cli/hv2_lib.sh), where a `ciel agent` runs as on a
# host of its own.
LISTEN_HOST=127.0.0.1
if [ "$WANT_MIGRATION" = true ]; then
    LISTEN_IP=192.168.100.1 HV2_IP=192.168.100.12 HV2_PORT=8779 HV2_NAME=conformance-hv2
    # shellcheck source=tests/cli/hv2_lib.sh
    . "$SCRIPT_DIR/../cli/hv2_lib.sh"
    # shellcheck source=scripts/lib/ceph.sh
    . "$SCRIPT_DIR/../../scripts/lib/ceph.sh"
    make_underlay
    LISTEN_HOST=$LISTEN_IP
fi
REPO=$(cd "$SCRIPT_DIR/../.." && pwd -P)
INTEROP_LIST=$SCRIPT_DIR/os-powered-compute-2022.11.txt
CIEL_BIN=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
VENV=$CACHE/venv
OUT=${CIEL_TEST_OUT:-$REPO/target/test-output}/conformance
CONCURRENCY=${CIEL_TEMPEST_CONCURRENCY:-2}
# Exactly the value of CIEL_IDENTITY_EXTENSIONS when set (even if empty).
IDENTITY_EXTENSIONS=${CIEL_IDENTITY_EXTENSIONS-OS-INHERIT}

[ -f "$INTEROP_LIST" ] || die "interop list not found: $INTEROP_LIST"
[ -x "$CIEL_BIN" ] || die "$CIEL_BIN not found or not executable; build it first (cargo build --release)"
command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required"

# Do not let the caller's OS_* variables redirect the openstack CLI.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^OS_' || true)

# --- Python venv with tempest and the openstack CLI ------------------------
venv_ok() {
    [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/openstack" ] &&
        [ -x "$VENV/bin/tempest" ] && [ -x "$VENV/bin/stestr" ] &&
        [ -x "$VENV/bin/subunit2csv" ] &&
        "$VENV/bin/python" -c 'import tempest' >/dev/null 2>&1
}
if ! venv_ok; then
    log "installing tempest, python-openstackclient and openstacksdk into $VENV"
    mkdir -p "$CACHE"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        tempest python-openstackclient openstacksdk
    venv_ok || die "the venv at $VENV is still incomplete after pip install"
fi
PY=$VENV/bin/python
export PATH="$VENV/bin:$PATH"
# The octavia suite's tests (the same pin as scripts/lib/deps.sh).
OCTAVIA_PLUGIN_VERSION=3.5.0
if [ "$WANT_OCTAVIA" = true ] &&
    [ "$("$PY" -c 'import importlib.metadata as m; print(m.version("octavia-tempest-plugin"))' 2>/dev/null)" != "$OCTAVIA_PLUGIN_VERSION" ]; then
    log "installing octavia-tempest-plugin $OCTAVIA_PLUGIN_VERSION into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check "octavia-tempest-plugin==$OCTAVIA_PLUGIN_VERSION" ||
        die "pip install octavia-tempest-plugin failed"
fi

# --- temp dirs, cleanup ----------------------------------------------------
mkdir -p "$OUT"
rm -f "$OUT"/{tempest.log,results.csv,results.subunit,failing.txt,include.lst,selected.txt,tempest.conf,ciel.log,summary.txt,hv2-agent.log}

CIEL_PID=""
DATA_DIR=""
TMP_TEMPEST=""
CEPH_DIR=""
# stop_pid PID: SIGTERM, then SIGKILL after STOP_TIMEOUT seconds.
stop_pid() {
    local i
    kill -0 "$1" 2>/dev/null || return 0
    kill -TERM "$1" 2>/dev/null
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}
# kill_guests DIR: the QEMU processes whose pid files are DIR/vms/*/qemu.pid.
kill_guests() {
    local pidfile pid
    for pidfile in "$1"/vms/*/qemu.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        # Only a QEMU of this run (a stale pid file may name a reused pid).
        grep -qF "$DATA_DIR" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
    return 0
}
# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
    local rc=$?
    set +e
    if [ -n "$CIEL_PID" ] && kill -0 "$CIEL_PID" 2>/dev/null; then
        kill -TERM "$CIEL_PID" 2>/dev/null
        local i
        for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
            kill -0 "$CIEL_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$CIEL_PID" 2>/dev/null; then
            log "ciel (pid $CIEL_PID) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$CIEL_PID" 2>/dev/null
        fi
        wait "$CIEL_PID" 2>/dev/null
    fi
    # Guests are daemonized QEMU processes that outlive the agent by design: stop the
    # ones this run started (their pid files are under the data dir).
    [ -z "$DATA_DIR" ] || kill_guests "$DATA_DIR/agent"
    # The second compute host: its agent, its guests, the process holding its namespaces;
    # then the Ceph cluster (after the guests: a guest blocks on a cluster that is gone).
    if [ -n "${HV2_AGENT:-}" ]; then stop_pid "$HV2_AGENT"; fi
    [ -z "${HV2_DIR:-}" ] || kill_guests "$HV2_DIR"
    if [ -n "${HV2_PID:-}" ]; then kill -KILL "$HV2_PID" 2>/dev/null; wait "$HV2_PID" 2>/dev/null; fi
    [ -z "$CEPH_DIR" ] || ceph_temp_stop "$CEPH_DIR"
    if [ -n "$DATA_DIR" ] && [ -f "$DATA_DIR/ciel.log" ]; then
        cp "$DATA_DIR/ciel.log" "$OUT/ciel.log" 2>/dev/null
    fi
    if [ -n "${HV2_LOG:-}" ] && [ -f "$HV2_LOG" ]; then cp "$HV2_LOG" "$OUT/hv2-agent.log" 2>/dev/null; fi
    if [ "${CIEL_KEEP:-0}" = 1 ]; then
        log "CIEL_KEEP=1: keeping data dir $DATA_DIR and tempest dir $TMP_TEMPEST"
    else
        [ -n "$DATA_DIR" ] && rm -rf "$DATA_DIR"
        [ -n "$TMP_TEMPEST" ] && rm -rf "$TMP_TEMPEST"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ciel-data.XXXXXX")
TMP_TEMPEST=$(mktemp -d "${TMPDIR:-/tmp}/ciel-tempest.XXXXXX")
W=$TMP_TEMPEST/workspace

# --- start Ciel --------------------------------------------------------------
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
# The "Ciel-" prefix keeps a random password from starting with '-'.
ADMIN_PASSWORD=${CIEL_ADMIN_PASSWORD:-Ciel-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')}
BASE=http://$LISTEN_HOST:$PORT
IDENTITY_URL=$BASE/identity/v3

# Tempest's image tests upload random bytes declared as qcow2/vhd; it skips them when the cloud
# enforces that data matches disk_format. Ciel enforces by default; this run turns only that
# check off (backing files, data files and size caps stay refused) and tells Tempest so.
FORMAT_ENFORCEMENT=${CIEL_IMAGE_FORMAT_ENFORCEMENT:-false}
# The local agent runs guests under TCG: KVM hangs stock guest kernels on nested machines
# like the CI hosts (see /work/shared/testing.md); a real host would use kvm.
cat >"$DATA_DIR/ciel.toml" <<TOML
[image]
require_format_match = $FORMAT_ENFORCEMENT

[compute]
virt_type = "qemu"
hostname = "conformance-hv1"
TOML
[ "$PROVIDER_LAN" = true ] && echo 'provider_interfaces = { public = "ciel-ext" }' >>"$DATA_DIR/ciel.toml"
# The migration suite: the local agent's tunnels on the underlay, and a Ceph cluster (one
# monitor on the underlay, one OSD; scripts/lib/ceph.sh) that both hosts use for volumes.
# Root disks stay qcow2 files on each host: Tempest's live migration tests then move them
# by block migration, and its volume-backed test moves only memory.
if [ "$WANT_MIGRATION" = true ]; then
    echo "underlay_ip = \"$LISTEN_IP\"" >>"$DATA_DIR/ciel.toml"
    CEPH_DIR=$TMP_TEMPEST/ceph
    ceph_start=$SECONDS
    ceph_temp_start "$CEPH_DIR" "$LISTEN_IP" >&2 || die "the Ceph cluster did not start (scripts/lib/ceph.sh; ensure_ceph_deps installs it)"
    log "Ceph cluster on $LISTEN_IP usable in $((SECONDS - ceph_start)) s"
    printf '\n[ceph]\nconf = "%s"\n' "$CEPH_TEMP_CONF" >>"$DATA_DIR/ciel.toml"
elif [ "$VOLUME_BACKEND" = rbd ]; then
    # shellcheck source=scripts/lib/ceph.sh
    . "$SCRIPT_DIR/../../scripts/lib/ceph.sh"
    CEPH_DIR=$TMP_TEMPEST/ceph
    ceph_start=$SECONDS
    ceph_temp_start "$CEPH_DIR" 127.0.0.1 >&2 || die "the Ceph cluster did not start (scripts/lib/ceph.sh; ensure_ceph_deps installs it)"
    log "Ceph cluster on 127.0.0.1 usable in $((SECONDS - ceph_start)) s"
    printf '\n[ceph]\nconf = "%s"\n' "$CEPH_TEMP_CONF" >>"$DATA_DIR/ciel.toml"
fi
log "starting ciel on $LISTEN_HOST:$PORT (data dir $DATA_DIR)"
"$CIEL_BIN" up --data-dir "$DATA_DIR" --listen "$LISTEN_HOST:$PORT" --config "$DATA_DIR/ciel.toml" \
    --admin-password "$ADMIN_PASSWORD" >"$DATA_DIR/ciel.log" 2>&1 &
CIEL_PID=$!

start_failed() {
    log "ERROR: $*"
    log "last lines of $DATA_DIR/ciel.log:"
    tail -n 40 "$DATA_DIR/ciel.log" >&2 || true
    exit 1
}
CLOUDS_YAML=$DATA_DIR/clouds.yaml
deadline=$((SECONDS + START_TIMEOUT))
while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$IDENTITY_URL" || true)
    [ "$code" = 200 ] && [ -f "$CLOUDS_YAML" ] && break
    kill -0 "$CIEL_PID" 2>/dev/null || start_failed "ciel exited before answering on $IDENTITY_URL"
    if [ "$SECONDS" -ge "$deadline" ]; then
        [ "$code" = 200 ] || start_failed "GET $IDENTITY_URL did not return 200 within ${START_TIMEOUT}s (last status: $code)"
        start_failed "ciel answers but did not write $CLOUDS_YAML within ${START_TIMEOUT}s"
    fi
    sleep 0.5
done
log "ciel answers on $IDENTITY_URL"
osc() { OS_CLIENT_CONFIG_FILE=$CLOUDS_YAML OS_CLOUD=ciel openstack "$@"; }

# --- the migration suite's second compute host -------------------------------------------
# `ciel agent` in the namespace hv2, joining with the local agent's join token, with the Ceph
# cluster; both hosts up before Tempest looks. The default volume type's volumes go to RBD,
# which both hosts open: Tempest's volumes then attach on either host and follow a server
# that migrates (volumes of the host-local `file` backend cannot).
if [ "$WANT_MIGRATION" = true ]; then
    HV2_DIR=$DATA_DIR/hv2
    HV2_LOG=$DATA_DIR/hv2-agent.log
    JOIN_TOKEN=$(cat "$DATA_DIR/agent-join-token") || start_failed "no join token in $DATA_DIR/agent-join-token"
    hv2_host_start || start_failed "the host process of namespace hv2 did not start"
    hv2_agent_start --ceph-conf "$CEPH_TEMP_CONF"
    hosts_up() {
        [ "$(osc compute service list --service nova-compute -f value -c Host -c State 2>/dev/null |
            awk '$2 == "up"' | wc -l)" -ge 2 ]
    }
    deadline=$((SECONDS + START_TIMEOUT))
    until hosts_up; do
        kill -0 "$HV2_AGENT" 2>/dev/null || { tail -n 40 "$HV2_LOG" >&2; start_failed "the agent of $HV2_NAME exited"; }
        [ "$SECONDS" -lt "$deadline" ] || { tail -n 40 "$HV2_LOG" >&2; start_failed "two compute hosts are not up after ${START_TIMEOUT}s"; }
        sleep 1
    done
    log "compute hosts up: $(osc compute service list --service nova-compute -f value -c Host | sort | tr '\n' ' ')"
    osc volume type set --property volume_backend_name=rbd __DEFAULT__ ||
        start_failed "setting the default volume type's backend to rbd failed"
    # Tempest's migration classes ask for project_manager credentials and fail their set-up
    # when Keystone has no role "manager" (Keystone's bootstrap makes it since 2024.2, and
    # Ciel's too; a database bootstrapped before may lack it). With enforce_scope off the
    # role grants nothing here.
    osc role show manager >/dev/null 2>&1 || osc role create manager >/dev/null ||
        start_failed "creating the role manager failed"
fi
if [ "$VOLUME_BACKEND" = rbd ] && [ "$WANT_MIGRATION" != true ]; then
    osc volume type set --property volume_backend_name=rbd __DEFAULT__ ||
        start_failed "setting the default volume type's backend to rbd failed"
    log "the default volume type's volumes go to RBD"
fi

# --- discovery ---------------------------------------------------------------
TOKEN=$(osc token issue -f value -c id) ||
    start_failed "'openstack token issue' failed with the admin credentials of $CLOUDS_YAML"
osc catalog list -f json >"$DATA_DIR/catalog.json" ||
    start_failed "'openstack catalog list' failed"

# Prints "<type> <public url>" per catalog entry (the endpoint of $REGION if
# there is one, else the first public endpoint).
catalog_urls() {
    "$PY" - "$DATA_DIR/catalog.json" "$REGION" <<'EOF'
import json, sys
region = sys.argv[2]
for svc in json.load(open(sys.argv[1])) or []:
    eps = [e for e in (svc.get("Endpoints") or []) if e.get("interface") == "public"]
    pick = [e for e in eps if (e.get("region_id") or e.get("region")) == region] or eps
    if pick and svc.get("Type"):
        print(svc["Type"], pick[0]["url"])
EOF
}
CATALOG=$(catalog_urls)
log "catalog:"
printf '%s\n' "$CATALOG" | sed 's/^/    /' >&2

# service name in tempest's [service_available] -> catalog type
SERVICES=(nova glance neutron cinder octavia)
declare -A SERVICE_TYPE=([nova]=compute [glance]=image [neutron]=network
                         [cinder]=block-storage [octavia]=load-balancer)
declare -A AVAILABLE=()
for svc in "${SERVICES[@]}"; do
    AVAILABLE[$svc]=false
    url=$(printf '%s\n' "$CATALOG" | awk -v t="${SERVICE_TYPE[$svc]}" '$1 == t { print $2; exit }')
    [ -n "$url" ] || continue
    # The endpoint must answer with its version document (200, or 300 for a
    # version list); a catalog entry alone is not enough.
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        -H "X-Auth-Token: $TOKEN" "$url" || true)
    if [ "$code" = 200 ] || [ "$code" = 300 ]; then
        AVAILABLE[$svc]=true
    else
        log "warning: $svc (${SERVICE_TYPE[$svc]}) is in the catalog but GET $url returned $code; treating it as unavailable"
    fi
done
for svc in "${SERVICES[@]}"; do
    log "service_available.$svc = ${AVAILABLE[$svc]}"
done

# json_pick FILE MODE: print up to two ids (one per line) from openstack -f json output
json_pick() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
rows, mode = json.load(open(sys.argv[1])) or [], sys.argv[2]
if mode == "flavor":   # smallest flavors first
    rows.sort(key=lambda r: (r.get("RAM") or 0, r.get("VCPUs") or 0, r.get("Disk") or 0))
ids = list(dict.fromkeys(r["ID"] for r in rows if r.get("ID")))
if mode == "network":
    ids = ids[:1]
    for r in rows:
        if r.get("ID") == (ids or [None])[0]:
            print(r["ID"]); print(r.get("Name") or "")
    sys.exit(0)
for i in ids[:2]:
    print(i)
EOF
}

IMAGE_REF="" IMAGE_REF_ALT="" FLAVOR_REF="" FLAVOR_REF_ALT=""
PUBLIC_NETWORK_ID="" PUBLIC_NETWORK_NAME=""
if [ "${AVAILABLE[glance]}" = true ]; then
    if osc image list --status active -f json >"$DATA_DIR/images.json"; then
        mapfile -t ids < <(json_pick "$DATA_DIR/images.json" image)
        IMAGE_REF=${ids[0]:-}
        IMAGE_REF_ALT=${ids[1]:-$IMAGE_REF}
    fi
    [ -n "$IMAGE_REF" ] || [ "$WANT_COMPUTE" = true ] || log "warning: glance is available but has no active image"
    [ -z "$IMAGE_REF" ] || [ "$IMAGE_REF" != "$IMAGE_REF_ALT" ] ||
        log "warning: only one active image; image_ref_alt = image_ref"
fi
if [ "${AVAILABLE[nova]}" = true ]; then
    # Tempest runs the tests of every microversion up to the one configured: the one the
    # compute version document advertises.
    COMPUTE_URL=$(printf '%s\n' "$CATALOG" | awk '$1 == "compute" { print $2; exit }')
    COMPUTE_MAX=$(curl -s --max-time 10 -H "X-Auth-Token: $TOKEN" "${COMPUTE_URL%/}/" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["version"]["version"])') ||
        start_failed "GET the compute version document failed"
    log "compute max microversion: $COMPUTE_MAX"
    if osc flavor list --all -f json >"$DATA_DIR/flavors.json"; then
        mapfile -t ids < <(json_pick "$DATA_DIR/flavors.json" flavor)
        FLAVOR_REF=${ids[0]:-}
        FLAVOR_REF_ALT=${ids[1]:-$FLAVOR_REF}
    fi
    [ -n "$FLAVOR_REF" ] || log "warning: nova is available but has no flavor"
    [ -z "$FLAVOR_REF" ] || [ "$FLAVOR_REF" != "$FLAVOR_REF_ALT" ] ||
        log "warning: only one flavor; flavor_ref_alt = flavor_ref"
fi
# Compute: the small test guest registered the way users register AMI-style images (kernel
# aki + ramdisk ari, and a root disk pointing at both), public so that Tempest's per-test
# projects can boot it; twice, for image_ref and image_ref_alt. Flavors m1.nano and m1.micro.
if [ "$WANT_COMPUTE" = true ] && [ "${AVAILABLE[nova]}" = true ] && [ "${AVAILABLE[glance]}" = true ]; then
    GUEST=${CIEL_GUEST_DIR:-$CACHE/guest}
    "$REPO/tests/guest/build-small.sh" "$GUEST" >&2 || start_failed "building the test guest failed"
    image_id() { osc image create --public "$@" -f value -c id; }
    KID=$(image_id --file "$GUEST/vmlinuz" --disk-format aki --container-format aki cirros-kernel) ||
        start_failed "registering the guest kernel failed"
    RID=$(image_id --file "$GUEST/initrd.img" --disk-format ari --container-format ari cirros-ramdisk) ||
        start_failed "registering the guest ramdisk failed"
    for name in ciel-guest ciel-guest-alt; do
        id=$(image_id --file "$GUEST/root.qcow2" --disk-format qcow2 --container-format bare \
            --property "kernel_id=$KID" --property "ramdisk_id=$RID" \
            --property "os_command_line=console=ttyS0 quiet" "$name") ||
            start_failed "registering the guest image $name failed"
        if [ "$name" = ciel-guest ]; then IMAGE_REF=$id; else IMAGE_REF_ALT=$id; fi
    done
    log "test guest images: image_ref $IMAGE_REF, image_ref_alt $IMAGE_REF_ALT"
    if osc flavor show 42 >/dev/null 2>&1 && osc flavor show 84 >/dev/null 2>&1; then
        FLAVOR_REF=42 FLAVOR_REF_ALT=84
    fi
fi
if [ "${AVAILABLE[neutron]}" = true ]; then
    if osc network list --external -f json >"$DATA_DIR/networks.json"; then
        mapfile -t net < <(json_pick "$DATA_DIR/networks.json" network)
        PUBLIC_NETWORK_ID=${net[0]:-}
        PUBLIC_NETWORK_NAME=${net[1]:-}
    fi
    [ -n "$PUBLIC_NETWORK_ID" ] || log "warning: neutron is available but has no router:external network"
    # Tempest runs the tests of exactly the extensions the server lists.
    NETWORK_URL=$(printf '%s\n' "$CATALOG" | awk '$1 == "network" { print $2; exit }')
    NETWORK_EXTENSIONS=$(curl -s --max-time 10 -H "X-Auth-Token: $TOKEN" "${NETWORK_URL%/}/v2.0/extensions" |
        "$PY" -c 'import json,sys; print(",".join(sorted(e["alias"] for e in json.load(sys.stdin)["extensions"])))') ||
        start_failed "GET /v2.0/extensions of the network service failed"
    log "network extensions: $NETWORK_EXTENSIONS"
fi

if [ "${AVAILABLE[cinder]}" = true ]; then
    VOLUME_URL=$(printf '%s\n' "$CATALOG" | awk '$1 == "block-storage" { print $2; exit }')
    VOLUME_EXTENSIONS=$(curl -s --max-time 10 -H "X-Auth-Token: $TOKEN" "${VOLUME_URL%/}/extensions" |
        "$PY" -c 'import json,sys; print(",".join(e["alias"] for e in json.load(sys.stdin)["extensions"]))') ||
        start_failed "GET /extensions of the volume service failed"
    log "volume extensions: $VOLUME_EXTENSIONS"
fi

# Load balancers: the provider the plugin creates them with and, exactly as the server lists
# them, its providers and its provider's flavor and availability zone capabilities (the
# plugin compares descriptions; its DictOpt splits on commas, so they must have none).
LB_PROVIDER=ciel
if [ "${AVAILABLE[octavia]}" = true ] && [ "$WANT_OCTAVIA" = true ]; then
    LB_URL=$(printf '%s\n' "$CATALOG" | awk '$1 == "load-balancer" { print $2; exit }')
    lb_pairs() {  # lb_pairs PATH KEY: "name:description,..." of GET $LB_URL/v2/PATH
        curl -sf --max-time 10 -H "X-Auth-Token: $TOKEN" "${LB_URL%/}/v2/$1" | "$PY" -c '
import json, sys
rows = json.load(sys.stdin)[sys.argv[1]]
bad = [r["name"] for r in rows if "," in r["description"]]
if bad:  # tempest cannot parse them: the test comparing them then fails, as it should
    print("warning: a comma in the description of %s" % bad, file=sys.stderr)
print(",".join("%s:%s" % (r["name"], r["description"].replace(",", ";")) for r in rows))' "$2"
    }
    LB_PROVIDERS=$(lb_pairs providers providers) || start_failed "GET /v2/providers failed"
    LB_FLAVOR_CAPS=$(lb_pairs "providers/$LB_PROVIDER/flavor_capabilities" flavor_capabilities) ||
        start_failed "GET the flavor capabilities of provider $LB_PROVIDER failed"
    LB_AZ_CAPS=$(lb_pairs "providers/$LB_PROVIDER/availability_zone_capabilities" availability_zone_capabilities) ||
        start_failed "GET the availability zone capabilities of provider $LB_PROVIDER failed"
    log "load balancer providers: $LB_PROVIDERS"
fi

# --- tempest workspace and tempest.conf -------------------------------------
# A global config dir of this run's own: without one, two runs started together race to
# create ~/.tempest/etc on a fresh machine, and the second `tempest init` fails.
mkdir -p "$TMP_TEMPEST/global-etc"
tempest init --config-dir "$TMP_TEMPEST/global-etc" --workspace-path "$TMP_TEMPEST/workspace.yaml" "$W" \
    >"$TMP_TEMPEST/init.log" 2>&1 || { cat "$TMP_TEMPEST/init.log" >&2; die "tempest init failed"; }

GEN_ARGS=(
    --output "$W/etc/tempest.conf" --workspace "$W"
    --identity-uri "$IDENTITY_URL" --region "$REGION"
    --admin-password "$ADMIN_PASSWORD"
    --lockout-failure-attempts "$LOCKOUT_FAILURE_ATTEMPTS"
    --lockout-duration "$LOCKOUT_DURATION"
    --unique-last-password-count "$UNIQUE_LAST_PASSWORD_COUNT"
    --minimum-password-age "$MINIMUM_PASSWORD_AGE"
    --identity-extensions "$IDENTITY_EXTENSIONS"
    --image-format-enforcement "$FORMAT_ENFORCEMENT"
)
for svc in "${SERVICES[@]}"; do GEN_ARGS+=(--service "$svc=${AVAILABLE[$svc]}"); done
[ -z "$IMAGE_REF" ] || GEN_ARGS+=(--image-ref "$IMAGE_REF" --image-ref-alt "$IMAGE_REF_ALT")
[ -z "$FLAVOR_REF" ] || GEN_ARGS+=(--flavor-ref "$FLAVOR_REF" --flavor-ref-alt "$FLAVOR_REF_ALT")
[ -z "${COMPUTE_MAX:-}" ] || GEN_ARGS+=(--compute-max-microversion "$COMPUTE_MAX")
[ -z "${CIEL_VOLUME_MAX_MICROVERSION:-}" ] || GEN_ARGS+=(--volume-max-microversion "$CIEL_VOLUME_MAX_MICROVERSION")
[ -z "$PUBLIC_NETWORK_ID" ] || GEN_ARGS+=(--public-network-id "$PUBLIC_NETWORK_ID")
[ -z "$PUBLIC_NETWORK_NAME" ] || GEN_ARGS+=(--public-network-name "$PUBLIC_NETWORK_NAME")
[ -z "${NETWORK_EXTENSIONS:-}" ] || GEN_ARGS+=(--network-extensions "$NETWORK_EXTENSIONS")
[ -z "${VOLUME_EXTENSIONS:-}" ] || GEN_ARGS+=(--volume-extensions "$VOLUME_EXTENSIONS")
# On Ceph the host's files are a second backend: Tempest's multi-backend tests run.
[ "$VOLUME_BACKEND" != rbd ] || GEN_ARGS+=(--volume-backends file,rbd)
if [ -n "${LB_PROVIDERS:-}" ]; then
    GEN_ARGS+=(--lb-provider "$LB_PROVIDER" --lb-providers "$LB_PROVIDERS"
               --lb-flavor-capability "$LB_FLAVOR_CAPS" --lb-az-capability "$LB_AZ_CAPS")
fi
# Two compute hosts: Tempest's multi-node tests, live migration (block migration of the
# qcow2 root disks; volume-backed: the boot volume is on RBD), cold migration when asked.
if [ "$WANT_MIGRATION" = true ]; then
    GEN_ARGS+=(--compute-nodes 2 --live-migration true --block-migration true
               --volume-backed-live-migration true --cold-migration "$COLD_MIGRATION"
               --migration-hosts "conformance-hv1,$HV2_NAME")
    # A floating IP that never reaches the status a scenario waits for fails in 1 minute,
    # not Tempest's 5 (Ciel applies network changes within a second).
    GEN_ARGS+=(--set network.build_timeout=60)
fi
# The main run does not SSH into guests (under TCG that would multiply its time); the interop
# tests it skipped for that reason run again afterwards with run_validation (see below). The
# migration suite's few tests log into their guests at once: that is what proves a guest
# still answers on the host it moved to.
if [ "$WANT_MIGRATION" = true ]; then
    GEN_ARGS+=(--run-validation true)
else
    GEN_ARGS+=(--run-validation false)
fi
"$PY" "$SCRIPT_DIR/gen_tempest_conf.py" "${GEN_ARGS[@]}"
sed 's/^\(admin_password[[:space:]]*=\).*/\1 <redacted>/' "$W/etc/tempest.conf" >"$OUT/tempest.conf"

# --- test selection ------------------------------------------------------------
IDENTITY_REGEX='^tempest\.api\.identity\.(v3|admin\.v3)\.'
# interop_regexes ERE: the interop-list lines whose test id matches ERE, each
# turned into an exact regex (tempest\.api\...\.test_x\[).
interop_regexes() {
    grep -v '^#' "$INTEROP_LIST" | grep . | { grep -E "$1" || true; } |
        sed -e 's/\[.*$//' -e 's/\./\\./g' -e 's/$/\\[/'
}
IMAGE_REGEX='^tempest\.api\.image\.v2\.'
NETWORK_REGEX='^tempest\.api\.network\.'
COMPUTE_REGEX='^tempest\.api\.compute\.'
VOLUME_REGEX='^tempest\.api\.volume\.'
INTEROP_PREFIXES=()
SUITE_REGEXES=()
if has_suite interop || has_suite all; then INTEROP_PREFIXES+=(tempest.); fi
if has_suite identity || has_suite all; then INTEROP_PREFIXES+=(tempest.api.identity.); SUITE_REGEXES+=("$IDENTITY_REGEX"); fi
if has_suite image || has_suite all; then INTEROP_PREFIXES+=(tempest.api.image.); SUITE_REGEXES+=("$IMAGE_REGEX"); fi
if has_suite network || has_suite all; then INTEROP_PREFIXES+=(tempest.api.network.); SUITE_REGEXES+=("$NETWORK_REGEX"); fi
if has_suite compute || has_suite all; then INTEROP_PREFIXES+=(tempest.api.compute.); SUITE_REGEXES+=("$COMPUTE_REGEX"); fi
if has_suite volume || has_suite all; then INTEROP_PREFIXES+=(tempest.api.volume.); SUITE_REGEXES+=("$VOLUME_REGEX"); fi
# The migration suite: live migration (and its negative tests), the migrations list, cold
# migration, servers placed on several hosts, and the scenarios that check a guest's network
# through a live or cold migration. (tempest.scenario.test_server_advanced_ops has no
# migration test in this Tempest, only suspend/resume.)
MIGRATION_REGEXES=(
    '^tempest\.api\.compute\.admin\.test_live_migration\.'
    '^tempest\.api\.compute\.admin\.test_live_migration_negative\.'
    '^tempest\.api\.compute\.admin\.test_migrations\.'
    '^tempest\.api\.compute\.admin\.test_servers_on_multinodes\.'
    '^tempest\.scenario\.test_network_advanced_server_ops\.[A-Za-z]+\.test_server_connectivity_(live|cold)_migration'
)
if has_suite migration; then
    if [ "${CIEL_MIGRATION_SMOKE:-0}" = 1 ]; then
        while read -r t; do SUITE_REGEXES+=("$t"); done < <(grep -v '^#' "$SCRIPT_DIR/migration_smoke.txt" | grep .)
    else
        SUITE_REGEXES+=("${MIGRATION_REGEXES[@]}")
    fi
fi
# octavia-tempest-plugin: its API tests and the scenarios that boot no VM (the traffic
# scenarios need web-server guests; barbican, active/standby and spare pool ones are out).
OCTAVIA_REGEX='^octavia_tempest_plugin\.tests\.(api\.v2\.|scenario\.v2\.test_(load_balancer|listener|pool|member|healthmonitor|l7policy|l7rule)\.)'
if has_suite octavia; then
    if [ "${CIEL_OCTAVIA_FULL:-0}" = 1 ]; then
        SUITE_REGEXES+=("$OCTAVIA_REGEX")
    else
        while read -r t; do SUITE_REGEXES+=("$t"); done < <(grep -v '^#' "$SCRIPT_DIR/octavia_smoke.txt" | grep .)
    fi
fi
INTEROP_ERE="^($(printf '%s|' "${INTEROP_PREFIXES[@]}" | sed -e 's/|$//' -e 's/\./\\./g'))"
# No interop prefix (the octavia suite alone): no interop test.
[ ${#INTEROP_PREFIXES[@]} -gt 0 ] || INTEROP_ERE='^$NONE'
EXPECT_INTEROP_ARGS=()
for pre in "${INTEROP_PREFIXES[@]}"; do EXPECT_INTEROP_ARGS+=(--expect-interop "$pre"); done
{
    interop_regexes "$INTEROP_ERE"
    if [ ${#SUITE_REGEXES[@]} -gt 0 ]; then printf '%s\n' "${SUITE_REGEXES[@]}"; fi
    if [ ${#REGEXES[@]} -gt 0 ]; then printf '%s\n' "${REGEXES[@]}"; fi
} >"$W/include.lst"
if [ ${#ONLY[@]} -gt 0 ]; then printf '%s\n' "${ONLY[@]}" >"$W/include.lst"; fi
INTEROP_EXPECTED=$(interop_regexes "$INTEROP_ERE" | wc -l)
log "suite '$SUITE': $(wc -l <"$W/include.lst") include regexes, $INTEROP_EXPECTED of them from the interop list"

(cd "$W" && tempest run --list-tests --include-list include.lst) >"$W/list.out" 2>"$W/list.err" || {
    cat "$W/list.err" >&2
    die "tempest run --list-tests failed"
}
grep -E '^(tempest|octavia_tempest_plugin)\.' "$W/list.out" >"$W/selected.txt" || true
SELECTED=$(wc -l <"$W/selected.txt")
grep -v '^#' "$INTEROP_LIST" | grep . | sed 's/\[.*$//' | sort -u >"$W/interop.ids"
INTEROP_SELECTED=$(sed 's/\[.*$//' "$W/selected.txt" | sort -u | comm -12 - "$W/interop.ids" | wc -l)
log "selected $SELECTED tests, $INTEROP_SELECTED of them from the interop list"
[ "$SELECTED" -gt 0 ] || die "no tests selected"
[ "$INTEROP_SELECTED" -ge "$INTEROP_EXPECTED" ] ||
    log "warning: only $INTEROP_SELECTED of $INTEROP_EXPECTED interop tests are known to this tempest"
cp "$W/include.lst" "$W/selected.txt" "$OUT/"

# --- run -------------------------------------------------------------------------
log "running tempest (concurrency $CONCURRENCY) in $W"
TEMPEST_RC=0
(cd "$W" && tempest run --include-list include.lst --concurrency "$CONCURRENCY") || TEMPEST_RC=$?
log "tempest run exited with $TEMPEST_RC"

# --- results ---------------------------------------------------------------------
(cd "$W" && stestr last --subunit >results.subunit) || log "warning: stestr last --subunit failed"
# subunit2csv exits 1 when the stream contains failures; that is expected.
subunit2csv <"$W/results.subunit" >"$W/results.csv" || true
[ -s "$W/results.csv" ] || log "warning: no results could be read from the stestr repository"
for f in logs/tempest.log results.csv results.subunit; do
    [ ! -f "$W/$f" ] || cp "$W/$f" "$OUT/"
done

# Second pass: the interop tests skipped above (other than known gaps) again, now logging into
# their guests over floating IPs; their results replace the skips.
VALIDATION_RESULTS=()
if [ "$VALIDATION" = true ] && [ -s "$W/results.csv" ]; then
    "$PY" - "$W/results.csv" "$INTEROP_LIST" "$SCRIPT_DIR/known_gaps.txt" >"$W/validation.lst" <<'PY'
import csv, re, sys
results, interop, gaps = sys.argv[1:4]
base = lambda t: re.sub(r"\[.*\]$", "", t.strip())
wanted = {base(l.split()[0]) for l in open(interop) if l.strip() and not l.startswith("#")}
known = {l.split()[0] for l in open(gaps) if l.strip() and not l.lstrip().startswith("#")}
for row in csv.DictReader(open(results, newline="")):
    tid = base(row.get("test") or "")
    if row.get("status") == "skip" and tid in wanted and tid not in known:
        print(re.escape(tid) + r"\[")
PY
    if [ -s "$W/validation.lst" ]; then
        log "second pass with run_validation: $(wc -l <"$W/validation.lst") interop tests that need SSH into their guests"
        "$PY" "$SCRIPT_DIR/gen_tempest_conf.py" "${GEN_ARGS[@]}" --run-validation true
        (cd "$W" && tempest run --include-list validation.lst --concurrency "$CONCURRENCY") || TEMPEST_RC=$?
        (cd "$W" && stestr last --subunit >results-validation.subunit) || true
        subunit2csv <"$W/results-validation.subunit" >"$W/results-validation.csv" || true
        cp "$W/results-validation.csv" "$OUT/" 2>/dev/null || true
        VALIDATION_RESULTS=(--results "$W/results-validation.csv")
    fi
fi

SUM_ARGS=(--selected "$W/selected.txt" --results "$W/results.csv" "${VALIDATION_RESULTS[@]}"
          --interop "$INTEROP_LIST" "${EXPECT_INTEROP_ARGS[@]}"
          --failing-out "$OUT/failing.txt" --known-gaps "$SCRIPT_DIR/known_gaps.txt")
# The migration suite has no interop test: its failures fail the run (strict) unless they
# are known gaps of migration_known_gaps.txt.
if [ "$WANT_MIGRATION" = true ]; then
    SUM_ARGS+=(--known-gap-patterns "$SCRIPT_DIR/migration_known_gaps.txt" --known-gap-scope tempest. --strict)
else
    SUM_ARGS+=(--known-gap-patterns "$SCRIPT_DIR/octavia_known_gaps.txt")
fi
[ "${CIEL_STRICT:-0}" != 1 ] || SUM_ARGS+=(--strict)
RC=0
"$PY" "$SCRIPT_DIR/summarize.py" "${SUM_ARGS[@]}" | tee "$OUT/summary.txt" || RC=$?
log "results in $OUT"
log "suite '$SUITE' took $SECONDS s"
exit "$RC"

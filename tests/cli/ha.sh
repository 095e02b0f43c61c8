#!/usr/bin/env bash
# HA fault injection: three `ciel controller`s on a Patroni-managed PostgreSQL pair, under load,
# lose a controller and then the database primary.
#
# Topology, all on this machine, in network and mount namespaces of the test's own (loopback
# there is private; 127.0.0.0/8 is all on lo):
#   etcd            127.0.0.1:2379              (one member, v3 API; Patroni's DCS)
#   Patroni pg1     127.0.0.21:5432, REST :8008 (PostgreSQL 15, primary at start)
#   Patroni pg2     127.0.0.22:5432, REST :8008 (synchronous streaming standby)
#   HAProxy         127.0.0.1:5432 -> the node whose Patroni answers 200 on /primary
#                   127.0.0.1:8080 -> c1..c3 (GET /healthz), the cloud's public URL
#   controllers     127.0.0.11-13:8080 (ciel controller, one shared dir, distinct data dirs)
#   agent           fake1, --driver fake, given the three controller URLs
# Load: tests/cli/tools/ha_load.py, 20 clients (a member user each) for 2 minutes creating and
# deleting networks (+ subnet), ports and servers through HAProxy. At 30 s the controller that
# served the most sessions is killed with SIGKILL (restarted at 45 s); at 60 s the PostgreSQL
# postmaster of the Patroni leader is killed with SIGKILL and Patroni promotes the standby.
# Then: the longest window of failed requests per fault, acknowledged writes lost, duplicate
# fixed IPs, quota usage against counted resources, the agent's applied generation.
#
# Why synchronous_mode: a commit is acknowledged only once the standby has flushed it, so the
# standby Patroni promotes has every write a client was told succeeded (asynchronous streaming
# may lose the last commits of a dead primary). Patroni only promotes the synchronous standby
# then, so maximum_lag_on_failover is set large: the lag check must not veto that promotion.
# It is not strict: alone, the new primary accepts writes rather than blocking on a missing
# standby. primary_start_timeout 0: a crashed primary is failed over at once instead of being
# restarted in place (the default waits up to 300 s for it).
#
# Usage: CIEL_BIN=… tests/cli/isolated.sh tests/cli/ha.sh   (or tests/cli/ha.sh, which isolates
# itself). KEEP_TMP=1 keeps the temp dir (logs). HA_LOAD_SECONDS (120), HA_CLIENTS (20).
# HA_HOLD=SECONDS leaves everything running that long after an abort (nsenter -t PID -n -m).
# HA_REAL_VM=1 adds a second agent in a namespace of its own booting a real QEMU guest (TCG)
# before the load starts, which must still run, reachable on its console, after the faults.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/pg.sh
. "$REPO/scripts/lib/pg.sh"

# ------------------------------------------------------------------ dependencies --
# shellcheck source=scripts/lib/deps.sh
. "$REPO/scripts/lib/deps.sh"
ensure_ha_deps

# In namespaces of its own (isolated.sh mounts a tmpfs named ciel-isolated on /run/netns).
if ! findmnt -n -o SOURCE /run/netns 2>/dev/null | grep -qx ciel-isolated && [[ -z ${CIEL_HA_ISOLATED:-} ]]; then
    exec env CIEL_HA_ISOLATED=1 "$HERE/isolated.sh" "$0" "$@"
fi

CIEL_TEST_NAME=ha-test
CIEL_BIN=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
VENV=$CACHE/venv
OPENSTACK=$VENV/bin/openstack
PY=python3
LOADPY=python3
[[ -x $VENV/bin/python ]] && LOADPY=$VENV/bin/python
$LOADPY -c 'import requests' 2>/dev/null || { echo "ha.sh: $LOADPY lacks requests (scripts/test makes the venv)" >&2; exit 2; }
for c in etcd etcdctl patroni haproxy curl psql setpriv; do
    command -v "$c" >/dev/null || { echo "ha.sh: $c is required" >&2; exit 2; }
done
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"
export NO_COLOR=1   # plain logs
LOAD_SECONDS=${HA_LOAD_SECONDS:-120}
CLIENTS=${HA_CLIENTS:-20}
T_CTL=$((LOAD_SECONDS / 4))       # 30 s: kill -9 of the busiest controller
T_CTL_BACK=$((LOAD_SECONDS * 3 / 8)) # 45 s: it is restarted
T_DB=$((LOAD_SECONDS / 2))        # 60 s: kill -9 of the PostgreSQL primary

PGUSER_OS=$(_pg_user)
chmod 711 "$TMP"   # the postgres user reaches its directories below
LB=127.0.0.1
BASE=http://$LB:8080
AUTH_URL=$BASE/identity/v3
ADMIN_PW="Adm1n-$RANDOM$RANDOM"
SUPER_PW="su-$RANDOM$RANDOM" REPL_PW="repl-$RANDOM$RANDOM" DB_PW="ciel-$RANDOM$RANDOM"
DB_URL="postgres://ciel:$DB_PW@$LB:5432/ciel"
SU_URL="postgres://postgres:$SUPER_PW@$LB:5432/postgres"
NODES=(pg1 pg2)
declare -A NODE_IP=([pg1]=127.0.0.21 [pg2]=127.0.0.22)
CTLS=(c1 c2 c3)
declare -A CTL_IP=([c1]=127.0.0.11 [c2]=127.0.0.12 [c3]=127.0.0.13)
declare -A CTL_PID=() PATRONI_PID=()
SHARED=$TMP/shared
CONTROLLER_URLS=http://127.0.0.11:8080,http://127.0.0.12:8080,http://127.0.0.13:8080
ETCD_PID="" HAPROXY_PID="" AGENT_PID="" LOAD_PID=""
HEALTH_PATH=/healthz
FAULTS=$TMP/faults.txt
: >"$FAULTS"
DIAG_LOGS+=("$TMP/c1.log" "$TMP/c2.log" "$TMP/c3.log" "$TMP/agent.log" "$TMP/pg1/patroni.log" "$TMP/pg2/patroni.log")
echo "ciel: $CIEL_BIN  tmp: $TMP  load: $CLIENTS clients, $LOAD_SECONDS s"

# stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS
stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
# Everything the test started, in order: clients first, then Ciel, the balancer, Patroni (which
# stops its PostgreSQL), any postmaster left, etcd.
ha_cleanup() {
    local c n pid
    stop_pid "$LOAD_PID" 2
    [[ ${HA_REAL_VM:-0} == 1 ]] && declare -F vm_cleanup >/dev/null && vm_cleanup
    stop_pid "$AGENT_PID" 5
    for c in "${CTLS[@]}"; do stop_pid "${CTL_PID[$c]:-}" 10; done
    stop_pid "$HAPROXY_PID" 5
    for n in "${NODES[@]}"; do stop_pid "${PATRONI_PID[$n]:-}" 20; done
    for n in "${NODES[@]}"; do
        [[ -f $TMP/$n/data/postmaster.pid ]] || continue
        pid=$(head -n 1 "$TMP/$n/data/postmaster.pid")
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            _pg_as_user "$PG_BIN/pg_ctl" -D "$TMP/$n/data" -m immediate stop >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    stop_pid "$ETCD_PID" 5
}
trap 'ha_cleanup; cleanup' EXIT
# HA_HOLD=SECONDS: on an abort, leave everything running that long for a look (debugging).
if [[ -n ${HA_HOLD:-} ]]; then
    eval "lib_$(declare -f abort)"
    abort() { echo "holding for $HA_HOLD s: tmp $TMP, netns of pid $$"; sleep "$HA_HOLD"; lib_abort "$@"; }
fi

now() { date +%s.%N; }
# sleep_until EPOCH
sleep_until() { local d; d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; if (d < 0) d = 0; printf("%.3f\n", d) }'); sleep "$d"; }
# le A B: A <= B (numbers)
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' || { echo "$1 > $2"; return 1; }; }
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while true; do
        "$@" && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
code_of() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true; }
# patroni NODE PATH: GET on the node's Patroni REST API answers 200
patroni_is() { [[ $(code_of "http://${NODE_IP[$1]}:8008/$2") == 200 ]]; }
# The node Patroni's cluster view names as leader.
leader() { curl -s -m 3 "http://${NODE_IP[pg1]}:8008/cluster" 2>/dev/null | $PY -c \
    'import json,sys; print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"), ""))' 2>/dev/null ||
    curl -s -m 3 "http://${NODE_IP[pg2]}:8008/cluster" 2>/dev/null | $PY -c \
    'import json,sys; print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"), ""))' 2>/dev/null; }
haproxy_cmd() { $PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b"\n"); print(s.makefile().read(), end="")' "$TMP/haproxy.sock" "$1"; }
# haproxy_status BACKEND SERVER: UP, DOWN, ...
haproxy_status() { haproxy_cmd "show stat" | awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s { print $18 }'; }
haproxy_is() { [[ $(haproxy_status "$1" "$2") == "$3"* ]]; }
pg_sql() { psql -qAt "$SU_URL" -c "$1"; }
# HAProxy starts with every server up until its checks say otherwise: the standby must be out.
pg_lb_ready() {
    local l; l=$(leader)
    [[ -n $l ]] && for n in "${NODES[@]}"; do
        if [[ $n == "$l" ]]; then haproxy_is postgres "$n" UP || return 1; else haproxy_is postgres "$n" DOWN || return 1; fi
    done
}

# ---------------------------------------------------------------- configuration --
write_patroni_conf() { # NODE
    local n=$1 ip=${NODE_IP[$1]} dir=$TMP/$1
    mkdir -p "$dir"
    cat >"$dir/patroni.yml" <<EOF
scope: ciel
namespace: /ciel-ha/
name: $n
log:
  level: INFO
restapi:
  listen: $ip:8008
  connect_address: $ip:8008
etcd3:
  hosts: 127.0.0.1:2379
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1073741824
    primary_start_timeout: 0
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 300
        wal_log_hints: "on"
        wal_keep_size: 256MB
  initdb:
    - encoding: UTF8
    - no-locale
postgresql:
  listen: $ip:5432
  connect_address: $ip:5432
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
      password: $SUPER_PW
    replication:
      username: replicator
      password: $REPL_PW
  parameters:
    unix_socket_directories: $dir
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.0/8 scram-sha-256
    - host all all 127.0.0.0/8 scram-sha-256
watchdog:
  mode: "off"
EOF
    chown -R "$PGUSER_OS" "$dir"
    chmod 700 "$dir"
}

write_haproxy_conf() {
    cat >"$TMP/haproxy.cfg" <<EOF
global
    maxconn 4000
    stats socket $TMP/haproxy.sock mode 600 level admin
    log stdout format raw local0

defaults
    log global
    retries 3
    option redispatch
    timeout connect 2s
    timeout check 2s

# PostgreSQL: only the node whose Patroni says it is the primary gets connections; when that
# changes, the sessions to the old one are cut so that clients reconnect to the new one.
listen postgres
    bind $LB:5432
    mode tcp
    timeout client 30m
    timeout server 30m
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server pg1 ${NODE_IP[pg1]}:5432 maxconn 280 check port 8008
    server pg2 ${NODE_IP[pg2]}:5432 maxconn 280 check port 8008

# The cloud's API: any controller whose /healthz answers (it reaches the database). The server
# timeout exceeds the agents' long poll; the tunnel timeout is for console websockets.
frontend ciel_api
    bind $LB:8080
    mode http
    option httplog
    timeout client 2m
    default_backend ciel

backend ciel
    mode http
    balance roundrobin
    option httpchk GET $HEALTH_PATH
    timeout server 60s
    timeout tunnel 1h
    default-server inter 1s fall 2 rise 1
    server c1 ${CTL_IP[c1]}:8080 check
    server c2 ${CTL_IP[c2]}:8080 check
    server c3 ${CTL_IP[c3]}:8080 check
EOF
}

start_haproxy() {
    haproxy -db -f "$TMP/haproxy.cfg" >>"$TMP/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
}
start_controller() { # NAME
    local c=$1
    wait_for_binary || return 1
    "$CIEL_BIN" controller --data-dir "$TMP/$c" --database "$DB_URL" --shared-dir "$SHARED" \
        --listen "${CTL_IP[$c]}:8080" --public-url "$BASE" --admin-password "$ADMIN_PW" \
        --config "$TMP/ciel.toml" >>"$TMP/$c.log" 2>&1 &
    CTL_PID[$c]=$!
    disown "${CTL_PID[$c]}"   # its kill -9 is the test's doing, not news
}
healthy() { [[ $(code_of "http://${CTL_IP[$1]}:8080/healthz") == 200 ]]; }

# --------------------------------------------------------------------- the run --
step "0. etcd, Patroni (pg1 primary, pg2 synchronous standby), HAProxy"
etcd --name e1 --data-dir "$TMP/etcd" --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
    --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster e1=http://127.0.0.1:2380 \
    --initial-cluster-state new >"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!
check "etcd answers (v3 API)" wait_until 20 etcdctl --endpoints=127.0.0.1:2379 endpoint health
for n in "${NODES[@]}"; do write_patroni_conf "$n"; done
start_patroni() { # NODE
    (cd / && exec setpriv --reuid="$PGUSER_OS" --regid="$PGUSER_OS" --init-groups \
        patroni "$TMP/$1/patroni.yml") >>"$TMP/$1/patroni.log" 2>&1 &
    PATRONI_PID[$1]=$!
}
start_patroni pg1
check "pg1 bootstraps the cluster and is the primary" wait_until 60 patroni_is pg1 primary
    ok || abort "no primary; $(tail -n 20 "$TMP/pg1/patroni.log")"
start_patroni pg2
check "pg2 clones it and streams as the synchronous standby" wait_until 90 patroni_is pg2 sync
    ok || abort "no standby; $(tail -n 20 "$TMP/pg2/patroni.log")"
write_haproxy_conf
start_haproxy
check "HAProxy routes $LB:5432 to pg1 only (its first checks took pg2 out)" wait_until 20 pg_lb_ready
check "  through it, PostgreSQL is the primary" pg_sql "SELECT NOT pg_is_in_recovery()"
    ok && assert "  it is the primary" eq "$OUT" t
check "create role ciel and database ciel (LOCALE 'C' TEMPLATE template0)" bash -c \
    "psql -q '$SU_URL' -c \"CREATE ROLE ciel LOGIN PASSWORD '$DB_PW'\" &&
     psql -q '$SU_URL' -c \"CREATE DATABASE ciel OWNER ciel LOCALE 'C' TEMPLATE template0\""

step "1. three controllers on the database behind HAProxy, a fake-driver agent"
mkdir -p "$SHARED"
printf '# ciel controller (c1..c3): only the scheduler settings differ from the defaults\n[scheduler]\nhost_down_after = 20\n' >"$TMP/ciel.toml"
for c in "${CTLS[@]}"; do start_controller "$c"; done
answers() { [[ $(code_of "http://${CTL_IP[$1]}:8080/identity/v3") == 200 ]]; }
# await_controller NAME: until it answers (0), its process exits (1) or 60 s pass (2)
await_controller() {
    local i
    for ((i = 0; i < 120; i++)); do
        answers "$1" && return 0
        kill -0 "${CTL_PID[$1]}" 2>/dev/null || { echo "exited: $(tail -n 3 "$TMP/$1.log" | sed 's/\x1b\[[0-9;]*m//g')"; return 1; }
        sleep 0.5
    done
    return 2
}
for c in "${CTLS[@]}"; do
    check "controller $c (${CTL_IP[$c]}:8080), started with the two others, answers" await_controller "$c"
    if ! ok; then
        # Not hidden: the FAIL stands; started again alone, the run goes on.
        start_controller "$c"
        check "  $c started again (alone) answers" await_controller "$c"
            ok || abort "$c did not start: $(tail -n 20 "$TMP/$c.log")"
    fi
done
HEALTH_OK=1
for c in "${CTLS[@]}"; do
    check "  $c: GET /healthz answers 200 (the database is reachable)" wait_until 10 healthy "$c"
        ok || { HEALTH_OK=0; echo "       | GET /healthz: $(curl -s -m 3 -w ' HTTP %{http_code}' "http://${CTL_IP[$c]}:8080/healthz")"; }
done
if ((!HEALTH_OK)); then
    # Not silent: the FAILs above stand. Without it HAProxy would take every controller out
    # of rotation, and nothing else could be measured.
    echo "  ${R}WORKAROUND${N}: /healthz refuses while the database answers; HAProxy checks GET /identity/v3 instead"
    echo "  (a controller cut off from its database then stays in rotation)"
    HEALTH_PATH=/identity/v3
    # HAProxy starts with every server up until checked: the controllers stop meanwhile, so
    # that none of them connects to the standby.
    for c in "${CTLS[@]}"; do stop_pid "${CTL_PID[$c]}" 10; done
    write_haproxy_conf
    stop_pid "$HAPROXY_PID" 5
    start_haproxy
    check "  HAProxy (restarted) routes $LB:5432 to the primary only" wait_until 20 pg_lb_ready
    for c in "${CTLS[@]}"; do start_controller "$c"; done
    for c in "${CTLS[@]}"; do
        check "  controller $c started again answers" await_controller "$c"
            ok || abort "$c did not start: $(tail -n 20 "$TMP/$c.log")"
    done
fi
check "  they migrated once: one row per migration" psql -qAt "$DB_URL" -c \
    "SELECT count(*) > 0 AND count(*) = count(DISTINCT version) FROM _sqlx_migrations"
    ok && assert "  no migration twice" eq "$OUT" t
check "  and seeded once: one external network 'public'" psql -qAt "$DB_URL" -c "SELECT count(*) FROM networks WHERE name = 'public'"
    ok && assert "  one 'public' network" eq "$OUT" 1
lb_up() { for c in "${CTLS[@]}"; do haproxy_is ciel "$c" UP || return 1; done; }
check "HAProxy has c1, c2 and c3 up" wait_until 20 lb_up
check "the cloud answers through HAProxy ($BASE/identity/v3)" wait_until 20 bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' $AUTH_URL) == 200 ]]"
check "the join token is in the shared dir" test -s "$SHARED/agent-join-token"
"$CIEL_BIN" agent --controller "$CONTROLLER_URLS" --join-token "$(cat "$SHARED/agent-join-token")" \
    --hostname fake1 --state-dir "$TMP/agent" --driver fake --listen 127.0.0.31:8779 >>"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
check "the fake agent (fake1) registers" wait_until 30 grep -q "registered with the controller" "$TMP/agent.log"
    ok || log_tail "$TMP/agent.log"
hyp_up() {
    auth_http "$BASE/identity" admin "$ADMIN_PW" admin
    http GET "$BASE/compute/v2.1/os-hypervisors/detail" -H "X-Auth-Token: $TOKEN"
    [[ $HTTP_CODE == 200 ]] && [[ $(jf "$HTTP_BODY" '[h["state"] for h in d["hypervisors"] if h["hypervisor_hostname"] == "fake1"]') == '["up"]' ]]
}
check "  os-hypervisors shows fake1 up" wait_until 30 hyp_up

if [[ ${HA_REAL_VM:-0} == 1 ]]; then
    # shellcheck source=tests/cli/ha_vm.sh
    . "$HERE/ha_vm.sh"
    real_vm_start
fi

step "2. load: $CLIENTS clients for $LOAD_SECONDS s; kill -9 of a controller at ${T_CTL} s, of the PostgreSQL primary at ${T_DB} s"
check "load setup (project, $CLIENTS member users, quotas, shared network, image)" \
    $LOADPY "$HERE/tools/ha_load.py" setup --base "$BASE" --admin-password "$ADMIN_PW" --clients "$CLIENTS" --out "$TMP/setup.json"
    ok || abort "load setup failed"
$LOADPY "$HERE/tools/ha_load.py" run --setup "$TMP/setup.json" --duration "$LOAD_SECONDS" \
    --out "$TMP/records.json" --started "$TMP/started" &
LOAD_PID=$!
wait_until 60 test -s "$TMP/started" || abort "the load did not start"
START=$(cat "$TMP/started")

sleep_until "$(awk -v s="$START" -v d="$T_CTL" 'BEGIN { printf "%.3f", s + d }')"
VICTIM=$($LOADPY "$HERE/tools/ha_load.py" haproxy-top "$TMP/haproxy.sock" ciel 2>"$TMP/top.txt")
sed 's/^/  /' "$TMP/top.txt"
echo "controller $(now) $VICTIM" >>"$FAULTS"
kill -KILL "${CTL_PID[$VICTIM]}"
echo "  t+${T_CTL} s: kill -9 controller $VICTIM (pid ${CTL_PID[$VICTIM]}), the one with the most sessions"
K0=$SECONDS
check "  HAProxy marks $VICTIM down" wait_until 10 haproxy_is ciel "$VICTIM" DOWN
    ok && echo "  ... after $((SECONDS - K0)) s"

sleep_until "$(awk -v s="$START" -v d="$T_CTL_BACK" 'BEGIN { printf "%.3f", s + d }')"
start_controller "$VICTIM"
echo "controller-restart $(now) $VICTIM" >>"$FAULTS"
echo "  t+${T_CTL_BACK} s: controller $VICTIM restarted"

sleep_until "$(awk -v s="$START" -v d="$T_DB" 'BEGIN { printf "%.3f", s + d }')"
OLD_LEADER=$(leader)
[[ -n $OLD_LEADER ]] || abort "no Patroni leader before the database fault"
PM_PID=$(head -n 1 "$TMP/$OLD_LEADER/data/postmaster.pid")
echo "database $(now) $OLD_LEADER" >>"$FAULTS"
kill -KILL "$PM_PID"
echo "  t+${T_DB} s: kill -9 postmaster of the primary $OLD_LEADER (pid $PM_PID)"
NEW_LEADER=$([[ $OLD_LEADER == pg1 ]] && echo pg2 || echo pg1)
K0=$SECONDS
check "  Patroni promotes $NEW_LEADER" wait_until 60 patroni_is "$NEW_LEADER" primary
    ok && echo "  ... after $((SECONDS - K0)) s"
check "  HAProxy sends PostgreSQL to $NEW_LEADER" wait_until 20 haproxy_is postgres "$NEW_LEADER" UP
    ok && echo "  ... after $((SECONDS - K0)) s"
check "controller $VICTIM is back in HAProxy's pool" wait_until 30 haproxy_is ciel "$VICTIM" UP

wait "$LOAD_PID" || true
LOAD_PID=""
check "the load ran to its end and recorded every request" test -s "$TMP/records.json"
    ok || abort "no records"

step "3. after the faults"
check "  $OLD_LEADER rejoins as a streaming replica of $NEW_LEADER" wait_until 90 patroni_is "$OLD_LEADER" replica
check "  and becomes the synchronous standby again" wait_until 60 patroni_is "$OLD_LEADER" sync
in_service() { [[ $(code_of "http://${CTL_IP[$1]}:8080$HEALTH_PATH") == 200 ]]; }
all_in_service() { local c; for c in "${CTLS[@]}"; do in_service "$c" || return 1; done; }
check "  all three controllers answer GET $HEALTH_PATH" wait_until 30 all_in_service
echo
echo "${B}== figures${N}"
$LOADPY "$HERE/tools/ha_load.py" check --setup "$TMP/setup.json" --records "$TMP/records.json" \
    --faults "$FAULTS" --out "$TMP/summary.json" || abort "the check failed"
S=$(cat "$TMP/summary.json")
sj() { jf "$S" "$1"; }
# The agent's host: the generation it applied against the one desired (hosts table).
converged() {
    GEN=$(psql -qAt "$DB_URL" -F ' ' -c "SELECT hostname, generation, applied_generation FROM hosts ORDER BY hostname")
    [[ -n $GEN ]] && awk '$2 != $3 { exit 1 }' <<<"$GEN"
}
wait_until 60 converged || true
echo "  agents (host desired applied): $(tr '\n' ';' <<<"${GEN:-none}")"
echo "  HAProxy 5xx answers by controller: $(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^ciel\/c[0-9]$/ && $(i + 2) ~ /^5[0-9][0-9]$/) n[$i " " $(i + 2)]++ } END { for (k in n) printf "%s x%d; ", k, n[k] }' "$TMP/haproxy.log")"
echo "  controller log lines at ERROR: $(for c in "${CTLS[@]}"; do printf '%s %s; ' "$c" "$(grep -ac ' ERROR ' "$TMP/$c.log" || true)"; done)"

echo
assert "no failed request before the faults" eq "$(sj 'd["phases"][0]["failed"]')" 0
assert "controller kill: longest window of failed requests <= 5 s ($(sj 'd["phases"][1]["longest_failure_window"]') s)" \
    le "$(sj 'd["phases"][1]["longest_failure_window"]')" 5
assert "database failover: longest window of failed requests <= 30 s ($(sj 'd["phases"][2]["longest_failure_window"]') s)" \
    le "$(sj 'd["phases"][2]["longest_failure_window"]')" 30
assert "acknowledged writes lost: 0 ($(sj 'd["write_violations"]'))" eq "$(sj 'd["write_violations"]')" 0
assert "duplicate fixed IPs per subnet: 0 ($(sj 'len(d["duplicate_ips"])'))" eq "$(sj 'len(d["duplicate_ips"])')" 0
assert "quota usage equals the resources counted" eq "$(sj 'd["quota_matches"]')" True
assert "no server left building or deleting" eq "$(sj 'len(d["servers_unsettled"])')" 0
assert "no server in ERROR on the fake host" eq "$(sj 'd["server_status"].get("ERROR", 0)')" 0
assert "no compute port outlives its server" eq "$(sj 'len(d["leaked_server_ports"])')" 0
assert "the agent converged: applied generation = desired generation" converged
[[ ${HA_REAL_VM:-0} == 1 ]] && real_vm_check
finish

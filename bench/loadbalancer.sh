#!/usr/bin/env bash
# Load balancers on the real data plane (haproxy in a namespace on the network node, two QEMU
# guests as members), measured from an external LAN through floating IPs:
#   (a) fully populated create (listener HTTP:80, pool HTTP ROUND_ROBIN, 2 members, HTTP
#       monitor) -> ACTIVE, and -> the first HTTP 200 through the VIP's floating IP; then
#       cascade delete -> 404; N=20 (LB_N), p50/p95;
#   (b) batch update of 100 members (PUT pools/{id}/members) -> ACTIVE, BATCH_RUNS=5 runs;
#   (c) requests/s with wrk from the external LAN: through the load balancer and directly to
#       one member (its own floating IP), WRK_ROUNDS=2 alternating rounds of WRK_DURATION=10 s
#       with WRK_CONNECTIONS=8, their ratio; once with both guests in the pool, once with
#       web1 alone (the cost of the extra hop on the same member).
# Setup (not timed): `ciel up` with its local agent (hv1: hypervisor and network node, TCG),
# the external LAN "ext" (172.24.4.1) on its provider interface, a tenant network behind a
# router, two guests (the small test guest, busybox httpd serving its name) on hv1.
# Runs in network and mount namespaces of its own (tests/cli/isolated.sh). Needs root, haproxy,
# the test venv and QEMU as tests/cli/loadbalancer.sh does; installs wrk with apt-get when it
# is missing. Prints figures; asserts nothing about time.
#   bench/loadbalancer.sh            (CIEL_BIN, CIEL_TEST_CACHE; BENCH_KEEP=1 keeps the temp dir)
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${BENCH_LB_INNER:-} != 1 ]]; then
    command -v wrk >/dev/null || {
        echo "wrk is missing: apt-get install -y wrk"
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    }
    exec "$BENCH/../tests/cli/isolated.sh" env BENCH_LB_INNER=1 "$0" "$@"
fi
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || { echo "haproxy is required" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 2; }

LB_N=${LB_N:-20}
BATCH_RUNS=${BATCH_RUNS:-5}
WRK_ROUNDS=${WRK_ROUNDS:-2}
WRK_DURATION=${WRK_DURATION:-10}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-8}
export KEEP_TMP=${BENCH_KEEP:-0}
CIEL_BIN=${CIEL_BIN:-/work/main/target/release/ciel}
export CIEL_BIN

HERE=$BENCH/../tests/cli
CIEL_TEST_NAME=lb-bench
LISTEN_IP=192.168.100.1
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"
BPY=$VENV/bin/python

# haproxy runs detached from the agent: the agent stops first, then each haproxy of this run.
bench_cleanup() {
    local f pid
    kill -TERM "$CIEL_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$CIEL_PID" 2>/dev/null || break; sleep 0.1; done
    for f in "$AGENT_DIR"/lb/*/haproxy.pid; do
        [[ -f $f ]] || continue
        pid=$(head -n 1 "$f")
        [[ $pid =~ ^[0-9]+$ ]] && grep -qa haproxy "/proc/$pid/cmdline" 2>/dev/null || continue
        # shellcheck disable=SC2046
        kill -KILL "$pid" $(pgrep -P "$pid") 2>/dev/null || true
    done
    cleanup
}
trap bench_cleanup EXIT
need() { ok || abort "$1"; }
from_ext() { ip netns exec ext "$@"; }

step "setup: ciel up (hv1, TCG, the network node), the external LAN, a tenant network, two guests"
echo "  $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(haproxy -v | head -n 1), $(wrk -v 2>&1 | head -n 1)"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"; need "no guest image"
ip link add ul0 type bridge && ip link set ul0 up && ip addr add "$LISTEN_IP/24" dev ul0
ip netns add ext
ip link add ext0 type veth peer name eth0 netns ext
ip link set ext0 up
ip -n ext addr add 172.24.4.1/24 dev eth0 && ip -n ext link set eth0 up && ip -n ext link set lo up
start_cloud "underlay_ip = \"$LISTEN_IP\"" 'provider_interfaces = { public = "ext0" }'
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network, subnet 10.80.0.0/24" cmp_ network create lbnet -f json; need "network"
check "subnet" cmp_ subnet create --network lbnet --subnet-range 10.80.0.0/24 lbsub -f value -c id; need "subnet"
SUBNET=$OUT
make_router() { cmp_ router create r1 >/dev/null && cmp_ router set --external-gateway public r1 && cmp_ router add subnet r1 lbsub; }
check "router r1 to public" make_router; need "router"
PUBLIC=$(cmp_ network show public -f value -c id)
# The load balancer's health checks and traffic come from the subnet; the direct measurement
# from the external LAN through a member's own floating IP.
check "security group: tcp from 10.80.0.0/24" cmp_ security group rule create --ingress --protocol tcp \
    --remote-ip 10.80.0.0/24 default
check "security group: tcp/80 from 172.24.4.0/24" cmp_ security group rule create --ingress --protocol tcp \
    --dst-port 80 --remote-ip 172.24.4.0/24 default
IP1=10.80.0.11 IP2=10.80.0.12
for i in 1 2; do
    ip_var=IP$i
    check "port p$i" cmp_ port create --network lbnet --fixed-ip "ip-address=${!ip_var}" p$i -f value -c id; need "port"
    printf '#!/bin/sh\nmkdir -p /www && echo web%s >/www/index.html\nhttpd -p 80 -h /www && echo "CIEL-GUEST httpd started"\n' \
        "$i" >"$TMP/ud$i"
    check "server create web$i" cmp_ server create --image guest --flavor m1.micro --port "p$i" \
        --user-data "$TMP/ud$i" "web$i" -f value -c id; need "server"
    printf -v "VM$i" '%s' "$OUT"
done
check "web1 serves" wait_until 300 console_has "$VM1" "CIEL-GUEST httpd started"; need "web1"
check "web2 serves" wait_until 300 console_has "$VM2" "CIEL-GUEST httpd started"; need "web2"
check "floating IP for the load balancers" cmp_ floating ip create public -f json; need "floating IP"
LB_FIP_ID=$(jf "$OUT" 'd["id"]')
check "floating IP on web1 (the direct path)" cmp_ floating ip create public --port p1 -f json; need "floating IP"
DIRECT=$(jf "$OUT" 'd["floating_ip_address"]')
check "web1 answers on $DIRECT from the external LAN" wait_until 60 from_ext curl -sS -f --max-time 2 "http://$DIRECT/"
need "direct path"

step "(a) fully populated create -> ACTIVE -> first HTTP 200 through the floating IP; cascade delete (N=$LB_N)"
(cd "$BENCH" && $BPY loadbalancer_bench.py create "$BASE" "$ADMIN_PW" "$SUBNET" "$LB_FIP_ID" "$IP1,$IP2" "$LB_N") |
    tee "$TMP/a.json" || abort "(a) failed"

step "(b) batch update of 100 members (PUT pools/{id}/members) -> ACTIVE ($BATCH_RUNS runs)"
(cd "$BENCH" && $BPY loadbalancer_bench.py batch "$BASE" "$ADMIN_PW" "$SUBNET" "$LB_FIP_ID" "$IP1,$IP2" "$BATCH_RUNS" \
    "$TMP/c.json") | tee "$TMP/b.json" || abort "(b) failed"
LB_ID=$(jf "$(cat "$TMP/c.json")" 'd["lb"]')
LB_FIP=$(jf "$(cat "$TMP/c.json")" 'd["fip"]')

step "(c) requests/s from the external LAN: through the load balancer ($LB_FIP, 2 members) vs web1 ($DIRECT)"
both_answer() { [[ $(for _ in 1 2 3 4; do from_ext curl -sS -f --max-time 2 "http://$LB_FIP/"; done | sort -u | tr '\n' ' ') == "web1 web2 " ]]; }
check "the load balancer answers, from web1 and web2" wait_until 60 both_answer; need "load balancer path"
# wrk_run URL: requests/s and p50 (ms) of one wrk run; non-2xx answers or socket errors abort
wrk_run() {
    local out rps p50
    out=$(from_ext wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_DURATION}s" --timeout 5s --latency "$1")
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then echo "$out" >&2; abort "wrk saw errors on $1"; fi
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
    echo "$rps $p50"
}
from_ext wrk -t1 -c"$WRK_CONNECTIONS" -d2s "http://$LB_FIP/" >/dev/null   # warm-up
from_ext wrk -t1 -c"$WRK_CONNECTIONS" -d2s "http://$DIRECT/" >/dev/null
# rounds LABEL: WRK_ROUNDS alternating runs through the load balancer and direct to web1;
# prints each and a JSON line with the means and their ratio
rounds() {
    local r res rps p50 lbr=() dir=()
    for r in $(seq "$WRK_ROUNDS"); do
        res=$(wrk_run "http://$LB_FIP/") || abort "wrk through the load balancer"
        read -r rps p50 <<<"$res"; lbr+=("$rps")
        echo "  round $r  load balancer ($1): $rps req/s, p50 $p50 ms"
        res=$(wrk_run "http://$DIRECT/") || abort "wrk to web1"
        read -r rps p50 <<<"$res"; dir+=("$rps")
        echo "  round $r  web1 direct: $rps req/s, p50 $p50 ms"
    done
    $PY - "$1" "${lbr[*]}" "${dir[*]}" <<'EOF'
import json, statistics, sys
lb = [float(x) for x in sys.argv[2].split()]
direct = [float(x) for x in sys.argv[3].split()]
print(json.dumps({"figure": "requests/s", "pool": sys.argv[1], "load_balancer": round(statistics.mean(lb), 1),
                  "direct_one_member": round(statistics.mean(direct), 1),
                  "ratio_lb_over_direct": round(statistics.mean(lb) / statistics.mean(direct), 2)}))
EOF
}
rounds "web1+web2"
# The same with web1 alone in the pool: what the load balancer's hop costs on one member.
POOL_ID=$(jf "$(cat "$TMP/c.json")" 'd["pool"]')
(cd "$BENCH" && $BPY loadbalancer_bench.py members "$BASE" "$ADMIN_PW" "$LB_ID" "$POOL_ID" "$SUBNET" "$IP1") ||
    abort "batch update to web1 alone"
only_web1() { [[ $(for _ in 1 2 3 4; do from_ext curl -sS -f --max-time 2 "http://$LB_FIP/"; done | sort -u) == web1 ]]; }
check "the load balancer answers from web1 alone" wait_until 30 only_web1; need "web1 alone"
rounds "web1 only"
sleep 5
echo "  haproxy's stats (as last reported): $(cmp_ loadbalancer stats show "$LB_ID" -f json | tr -d '\n ')"
(cd "$BENCH" && $BPY loadbalancer_bench.py delete "$BASE" "$ADMIN_PW" "$LB_ID")
echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

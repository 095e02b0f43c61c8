#!/usr/bin/env bash
# Load balancers on the real data plane: Octavia's API (`openstack loadbalancer`) in front of
# haproxy in a namespace `ciel-lb-<id>` on the network node, balancing two real QEMU guests
# (TCG) on two hypervisors, reached through a floating IP from an external LAN. The test runs
# in network and mount namespaces of its own:
#   hv1  this namespace: `ciel up` (controller + its in-process agent), underlay 192.168.100.1,
#        the network node (its provider interface ext0 carries the external network "public")
#   hv2  a namespace with its own `ciel agent` (and its own /run/netns), 192.168.100.12
#   ext  the external LAN (172.24.4.1), cabled to hv1's ext0
# It proves: a load balancer, listener, pool, two members (one guest per hypervisor) and an
# HTTP health monitor go ACTIVE; round robin across both guests through the VIP's floating
# IP; a member whose server stops is marked ERROR within the monitor's budget while traffic
# goes to the other; Octavia's 409 while the load balancer is PENDING_UPDATE; allowed_cidrs
# closes a listener to other sources; kill -9 of `ciel up` leaves traffic flowing (haproxy
# runs detached) and the restarted agent adopts it; a failover on demand moves it to hv2, and
# hv2's loss brings it back to hv1 (outages printed); an L7 redirect; X-Forwarded-For and
# PROXYV2 show the client's address to members; a UDP listener balances round robin and its
# UDP-CONNECT monitor takes a stopped member out; a cascade delete leaves nothing behind but
# the (disassociated) floating IP.
#
# Usage: tests/cli/loadbalancer.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The datacenter lives in namespaces of its own, with its own namespace registry.
if [[ ${CIEL_LB_INNER:-} != 1 ]]; then
    exec "$HERE/isolated.sh" env CIEL_LB_INNER=1 "$0" "$@"
fi
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || { echo "haproxy is required" >&2; exit 2; }

CIEL_TEST_NAME=loadbalancer-test
LISTEN_IP=192.168.100.1
HV2_IP=192.168.100.12
HV2_PORT=8779
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"
HV2_DIR=$TMP/hv2
HV2_LOG=$TMP/hv2-agent.log
DIAG_LOGS+=("$HV2_LOG")
HV2_PID=""   # the host: a process holding hv2's network and mount namespaces
AGENT2_PID=""

# haproxy runs detached from the agents (by design): the agents stop first (or they would
# start it again), then every haproxy master of this test's state, by its pid file, with its
# workers; then lib.sh's cleanup.
lb_cleanup() {
    local pid f pids
    for pid in $CIEL_PID $AGENT2_PID; do
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for f in "$AGENT_DIR"/lb/*/haproxy.pid "$HV2_DIR"/lb/*/haproxy.pid; do
        [[ -f $f ]] || continue
        pid=$(head -n 1 "$f")
        [[ $pid =~ ^[0-9]+$ ]] && grep -qa haproxy "/proc/$pid/cmdline" 2>/dev/null || continue
        pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
        kill -TERM "$pid" 2>/dev/null || true
        sleep 0.5
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    done
    cleanup
}
trap lb_cleanup EXIT

start_hv2_host() {
    ip netns exec hv2 unshare --mount --propagation private \
        bash -c 'mount -t tmpfs hv2-netns /run/netns && exec sleep infinity' &
    HV2_PID=$!
    EXTRA_PIDS+=("$HV2_PID")
    sleep 0.5
}
start_hv2_agent() {
    nsenter -t "$HV2_PID" -m -n \
        "$CIEL_BIN" agent --controller "$BASE" --join-token "$JOIN_TOKEN" --hostname hv2 \
        --underlay-interface eth0 --listen "$HV2_IP:$HV2_PORT" --state-dir "$HV2_DIR" --driver qemu --virt-type qemu \
        >>"$HV2_LOG" 2>&1 &
    AGENT2_PID=$!
    EXTRA_PIDS+=("$AGENT2_PID")
}
hv2_console_has() { grep -qa -- "$2" "$HV2_DIR/vms/$1/console.log" 2>/dev/null; }
field() { awk -F'|' -v f="$1" '{k=$2; gsub(/ /,"",k)} k==f {v=$3; gsub(/ /,"",v); print v}'; }
from_ext() { ip netns exec ext "$@"; }
now_ms() { date +%s%3N; }
# poll_until SECONDS CMD...: wait_until, polling every 0.1 s (for timed waits)
poll_until() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# The Octavia API with a token, for what must be timed or raced closer than the CLI can.
LB_API=$BASE/load-balancer/v2/lbaas
new_token() { TOKEN=$(cmp_ token issue -f value -c id); [[ -n $TOKEN ]]; }
lb_http() { # METHOD PATH [JSON]
    local args=(-H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json')
    [[ -n ${3:-} ]] && args+=(-d "$3")
    http "$1" "$LB_API/$2" "${args[@]}"
}
# lb_get PATH EXPR: python EXPR on the JSON of GET PATH
lb_get() { lb_http GET "$1" && [[ $HTTP_CODE == 200 ]] && jf "$HTTP_BODY" "$2"; }
member_status() { lb_get "pools/$POOL/members/$1" 'd["member"]["operating_status"]'; }
member_is() { [[ $(member_status "$1") == "$2" ]]; }
lb_is() { # PROVISIONING OPERATING
    [[ $(lb_get "loadbalancers/$LB" 'd["loadbalancer"]["provisioning_status"]+"/"+d["loadbalancer"]["operating_status"]') == "$1/$2" ]]
}

# get_fip [PORT]: one HTTP GET of the VIP's floating IP from the external LAN; the body
get_fip() { from_ext curl -sS -f --max-time 3 "http://$FIP:${1:-80}/"; }
# requests N [PORT]: N requests from the external LAN; their bodies, one a line (ERR for a failed one)
requests() {
    local i b
    for i in $(seq "$1"); do
        b=$(get_fip "${2:-80}" 2>/dev/null) || b=ERR
        echo "$b"
    done
}
# answered_by N NAMES...: N requests, all answered, and by exactly the NAMES (sorted, space-separated)
answered_by() {
    local n=$1 out want got; shift
    out=$(requests "$n")
    want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
    got=$(sort -u <<<"$out" | tr '\n' ' ')
    echo "  answers: $(sort <<<"$out" | uniq -c | awk '{printf "%s x%s  ", $2, $1}')"
    [[ $got == "$want" ]] || { echo "expected answers from [$want], got [$got]"; return 1; }
}

step "0. the underlay, hv1 (ciel up, the network node) and hv2 (ciel agent), the external LAN"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
make_underlay
check "hv2 reaches hv1 over the underlay" ip netns exec hv2 ping -c 1 -W 2 "$LISTEN_IP"
# The external LAN: a namespace "ext" (172.24.4.1) cabled to hv1's provider interface ext0;
# ciel up's external network "public" is 172.24.4.0/24 on physnet "public".
ip netns add ext
ip link add ext0 type veth peer name eth0 netns ext
ip link set ext0 up
ip -n ext addr add 172.24.4.1/24 dev eth0 && ip -n ext link set eth0 up && ip -n ext link set lo up
HV1_METRICS_PORT=$(free_port)
CLOUD_SETTINGS=("underlay_ip = \"$LISTEN_IP\"" 'provider_interfaces = { public = "ext0" }' '[scheduler]' 'host_down_after = 10'
    '[metrics]' "listen = \"127.0.0.1:$HV1_METRICS_PORT\"")
# agent_metric NAME TEXT: the value of hv1's agent's first series NAME whose labels contain TEXT.
agent_metric() {
    curl -sf "http://127.0.0.1:$HV1_METRICS_PORT/metrics" |
        awk -v n="$1{" -v m="$2" 'index($1, n) == 1 && index($1, m) { print $2; exit }'
}
# agent_metric_is NAME TEXT VALUE / agent_metric_at_least NAME TEXT MIN
agent_metric_is() { [[ $(agent_metric "$1" "$2") == "$3" ]]; }
agent_metric_at_least() {
    local v
    v=$(agent_metric "$1" "$2")
    [[ -n $v ]] && awk -v v="$v" -v m="$3" 'BEGIN { exit !(v + 0 >= m + 0) }'
}
start_cloud "${CLOUD_SETTINGS[@]}"
start_hv2_host
check "ciel join-token create --ttl 1h" "$CIEL_BIN" join-token create --data-dir "$DATA" --ttl 1h --description hv2
    ok && JOIN_TOKEN=$(field token <<<"$OUT")
start_hv2_agent
check "ciel agent on hv2 joins" wait_until 30 grep -q "registered with the controller" "$HV2_LOG"
both_hypervisors() { [[ $(cmp_ hypervisor list -f value -c 'Hypervisor Hostname' | sort | tr '\n' ' ') == "hv1 hv2 " ]]; }
check "hypervisor list shows hv1 and hv2" wait_until 20 both_hypervisors
check "the load-balancer service is in the catalog" cmp_ loadbalancer provider list -f value -c name
new_token || true
assert "an admin token for the API" test -n "$TOKEN"

step "1. a tenant network with a router, a web server on each hypervisor"
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create lbnet" cmp_ network create lbnet -f json
    ok && NET=$(jf "$OUT" 'd["id"]')
check "subnet create 10.80.0.0/24" cmp_ subnet create --network lbnet --subnet-range 10.80.0.0/24 lbsub -f json
    ok && SUBNET=$(jf "$OUT" 'd["id"]')
NET=${NET:-none} SUBNET=${SUBNET:-none}
make_router() { cmp_ router create r1 >/dev/null && cmp_ router set --external-gateway public r1 && cmp_ router add subnet r1 lbsub; }
check "router create r1, set --external-gateway public, add subnet lbsub" make_router
# Members and the load balancer's health checks come from the subnet (the VIP's address);
# port 9999 is each guest's switch for its web server (below).
check "security group rule create: tcp from 10.80.0.0/24" cmp_ security group rule create --ingress --protocol tcp \
    --remote-ip 10.80.0.0/24 default
IP1=10.80.0.11 IP2=10.80.0.12
make_ports() { cmp_ port create --network lbnet --fixed-ip "ip-address=$IP1" p1 >/dev/null &&
    cmp_ port create --network lbnet --fixed-ip "ip-address=$IP2" p2 >/dev/null; }
check "port create p1 ($IP1), p2 ($IP2)" make_ports
# web NAME: a user-data script serving NAME at / on port 80 (busybox httpd); each connection
# to port 9999 stops the server, or starts it again.
web() {
    cat <<EOF
#!/bin/sh
mkdir -p /www && echo $1 >/www/index.html
httpd -p 80 -h /www && echo "CIEL-GUEST httpd started"
(while true; do
    nc -l -p 9999 </dev/null >/dev/null 2>&1
    if pidof httpd >/dev/null; then killall httpd; echo "CIEL-GUEST httpd stopped"
    else httpd -p 80 -h /www && echo "CIEL-GUEST httpd started again"; fi
done) &
EOF
}
web web1 >"$TMP/ud1"
web web2 >"$TMP/ud2"
check "server create web1 --availability-zone nova:hv1 --wait" cmp_ server create --image guest --flavor m1.micro \
    --port p1 --availability-zone nova:hv1 --user-data "$TMP/ud1" --wait web1 -f json
    ok && VM1=$(jf "$OUT" 'd["id"]')
check "server create web2 --availability-zone nova:hv2 --wait" cmp_ server create --image guest --flavor m1.micro \
    --port p2 --availability-zone nova:hv2 --user-data "$TMP/ud2" --wait web2 -f json
    ok && VM2=$(jf "$OUT" 'd["id"]')
VM1=${VM1:-none} VM2=${VM2:-none}
check "  web1 serves (on hv1)" wait_until 300 console_has "$VM1" "CIEL-GUEST httpd started"
check "  web2 serves (on hv2)" wait_until 300 hv2_console_has "$VM2" "CIEL-GUEST httpd started"

step "2. a load balancer: listener HTTP:80, pool ROUND_ROBIN, two members, an HTTP monitor"
# The CLI waits in the background while the API is polled every 0.1 s: from the load
# balancer's first sight (PENDING_CREATE, the POST done) to ACTIVE (the network node reported
# its namespace, VIP leg and firewall applied).
lb1_state() { lb_get "loadbalancers?name=lb1" '(d["loadbalancers"] or [{}])[0].get("provisioning_status", "")'; }
lb1_seen() { [[ -n $(lb1_state) ]]; }
lb1_active() { [[ $(lb1_state) == ACTIVE ]]; }
T0_MS=$(now_ms)
cmp_ loadbalancer create --name lb1 --vip-subnet-id "$SUBNET" --wait -f json >"$TMP/lb1.json" 2>"$TMP/lb1.err" &
CLI_PID=$!
poll_until 30 lb1_seen && SEEN_MS=$(now_ms) && poll_until 60 lb1_active && ACTIVE_MS=$(now_ms) || true
CLI_RC=0; wait "$CLI_PID" || CLI_RC=$?
CLI_MS=$(( $(now_ms) - T0_MS ))
check "loadbalancer create --name lb1 --vip-subnet-id lbsub --wait" bash -c "exit $CLI_RC"
    ok || cat "$TMP/lb1.err"
OUT=$(cat "$TMP/lb1.json")
LB=$(jf "$OUT" 'd["id"]' 2>/dev/null || echo none) VIP=$(jf "$OUT" 'd["vip_address"]' 2>/dev/null || echo none)
VIP_PORT=$(jf "$OUT" 'd["vip_port_id"]' 2>/dev/null || echo none)
assert "  lb1 went ACTIVE" test -n "${ACTIVE_MS:-}"
    ok && echo "  PENDING_CREATE -> ACTIVE: $(( ACTIVE_MS - SEEN_MS )) ms (API polled every 0.1 s); the CLI's --wait returned after $CLI_MS ms"
check "  loadbalancer show lb1: ACTIVE" cmp_ loadbalancer show lb1 -f value -c provisioning_status
    ok && assert "  ACTIVE" eq "$OUT" ACTIVE
check "  the VIP port is a Neutron port (device_owner Octavia) with $VIP" cmp_ port show "$VIP_PORT" -f json
    ok && assert "  owner" eq "$(jf "$OUT" 'd["device_owner"]')" Octavia
check "  hv1 (the network node: it has the provider network) runs it in namespace ciel-lb-$LB" wait_until 10 \
    bash -c "ip netns list | grep -q 'ciel-lb-$LB'"
assert "  hv2 (no provider network) does not" bash -c "! nsenter -t $HV2_PID -m -n ip netns list | grep -q ciel-lb-"
# From the VIP's namespace (on the tenant network, hv1): the guests serve their names.
from_lb() { ip netns exec "ciel-lb-$LB" "$@"; }
check "  from lb1's namespace, web1 (hv1) answers its name" wait_until 30 from_lb curl -sS -f --max-time 2 "http://$IP1/"
    ok && assert "  web1" eq "$OUT" web1
check "  and web2 (hv2, across the overlay)" wait_until 30 from_lb curl -sS -f --max-time 2 "http://$IP2/"
    ok && assert "  web2" eq "$OUT" web2
# toggle IP: flips the web server of the guest at IP (a connection to its port 9999)
toggle() { from_lb timeout 3 bash -c "exec 3<>/dev/tcp/$1/9999; exec 3>&-"; }
check "loadbalancer listener create --protocol HTTP --protocol-port 80 --wait" cmp_ loadbalancer listener create \
    --name l80 --protocol HTTP --protocol-port 80 --wait lb1 -f json
    ok && L80=$(jf "$OUT" 'd["id"]')
check "  haproxy runs for it" wait_until 10 test -f "$AGENT_DIR/lb/$LB/haproxy.pid"
    ok && HAPROXY_PID=$(head -n 1 "$AGENT_DIR/lb/$LB/haproxy.pid")
HAPROXY_PID=${HAPROXY_PID:-none}
assert "  haproxy (master $HAPROXY_PID) runs in lb1's network namespace" bash -c \
    "[ \"\$(readlink /proc/$HAPROXY_PID/ns/net)\" = \"\$(ip netns exec ciel-lb-$LB readlink /proc/self/ns/net)\" ]"
check "loadbalancer pool create --lb-algorithm ROUND_ROBIN --wait" cmp_ loadbalancer pool create --name pool1 \
    --lb-algorithm ROUND_ROBIN --listener l80 --protocol HTTP --wait -f json
    ok && POOL=$(jf "$OUT" 'd["id"]')
POOL=${POOL:-none}
check "loadbalancer member create web1 ($IP1:80) --wait" cmp_ loadbalancer member create --name m1 --address "$IP1" \
    --protocol-port 80 --subnet-id "$SUBNET" --wait pool1 -f json
    ok && M1=$(jf "$OUT" 'd["id"]')
check "loadbalancer member create web2 ($IP2:80) --wait" cmp_ loadbalancer member create --name m2 --address "$IP2" \
    --protocol-port 80 --subnet-id "$SUBNET" --wait pool1 -f json
    ok && M2=$(jf "$OUT" 'd["id"]')
M1=${M1:-none} M2=${M2:-none}
check "loadbalancer healthmonitor create --type HTTP --delay 1 --timeout 1 --max-retries 2 --wait" cmp_ loadbalancer \
    healthmonitor create --name hm1 --type HTTP --delay 1 --timeout 1 --max-retries 2 --url-path / --wait pool1 -f json
    ok && RETRIES_DOWN=$(jf "$OUT" 'd["max_retries_down"]')
RETRIES_DOWN=${RETRIES_DOWN:-3}
both_online() { member_is "$M1" ONLINE && member_is "$M2" ONLINE; }
check "  both members ONLINE" wait_until 20 both_online
check "  lb1 ACTIVE/ONLINE" wait_until 10 lb_is ACTIVE ONLINE
check "  loadbalancer status show: the tree" cmp_ loadbalancer status show lb1
    ok && assert "  both members in it" bash -c "grep -q '$IP1' <<<'$OUT' && grep -q '$IP2' <<<'$OUT'"

step "3. a floating IP on the VIP: round robin across both hypervisors, from the external LAN"
check "floating ip create public --port <vip_port_id>" cmp_ floating ip create public --port "$VIP_PORT" -f json
    ok && FIP=$(jf "$OUT" 'd["floating_ip_address"]') FIP_ID=$(jf "$OUT" 'd["id"]')
FIP=${FIP:-none} FIP_ID=${FIP_ID:-none}
check "  the external LAN gets an answer from http://$FIP/" wait_until 20 get_fip
check "  10 requests: answered by web1 (hv1) and web2 (hv2)" answered_by 10 web1 web2
    ok && echo "$OUT"
ORDER=$(requests 10 | tr '\n' ' ')
echo "  in order: $ORDER"
assert "  round robin alternates" grep -qE '^(web1 web2 )+$|^(web2 web1 )+$' <<<"$ORDER"
check "  hv1's agent metrics: the listener's connections counted (at least the 20 requests)" \
    wait_until 40 agent_metric_at_least ciel_lb_listener_connections_total "loadbalancer=\"$LB\"" 20
check "  and both members up" agent_metric_is ciel_lb_member_up "member=\"$M2\"" 1

step "4. web2 stops serving: its member goes ERROR, web1 takes all the traffic"
echo "  monitor budget: delay 1 s x max_retries_down $RETRIES_DOWN (+ timeout 1 s)"
check "  web2's server stops (a connection to its port 9999)" toggle "$IP2"
T0_MS=$(now_ms)
# (A bound with slack for a loaded machine: the monitor's budget plus 10 s.)
check "  m2's operating_status becomes ERROR" poll_until $((RETRIES_DOWN + 1 + 10)) member_is "$M2" ERROR
DETECT_MS=$(( $(now_ms) - T0_MS ))
echo "  stop -> member ERROR in the API: $DETECT_MS ms"
check "  web2 did stop" wait_until 10 hv2_console_has "$VM2" "CIEL-GUEST httpd stopped"
check "  m1 stays ONLINE" member_is "$M1" ONLINE
check "  hv1's agent metrics: m2 down, m1 up" wait_until 30 agent_metric_is ciel_lb_member_up "member=\"$M2\"" 0
    ok && assert "  m1 up" agent_metric_is ciel_lb_member_up "member=\"$M1\"" 1
check "  lb1 is DEGRADED" wait_until 10 lb_is ACTIVE DEGRADED
check "  10 requests: all answered, by web1" answered_by 10 web1
    ok && echo "$OUT"
check "  web2's server starts again" toggle "$IP2"
T0_MS=$(now_ms)
check "  m2 is ONLINE again" poll_until 30 member_is "$M2" ONLINE
echo "  start -> member ONLINE in the API: $(( $(now_ms) - T0_MS )) ms"
check "  lb1 ONLINE again" wait_until 10 lb_is ACTIVE ONLINE

step "5. Octavia's 409: no change while the load balancer is PENDING_UPDATE"
# Two POSTs back to back through the API (the CLI takes longer to start than the network
# node takes to apply a change).
member_body() { printf '{"member": {"name": "%s", "address": "%s", "protocol_port": 80, "subnet_id": "%s"}}' "$1" "$2" "$SUBNET"; }
lb_http POST "pools/$POOL/members" "$(member_body m3 10.80.0.99)"
T0_MS=$(now_ms)
FIRST_CODE=$HTTP_CODE FIRST_BODY=$HTTP_BODY
lb_http POST "pools/$POOL/members" "$(member_body m4 10.80.0.98)"
assert "  member create m3 (10.80.0.99:80): HTTP 201" eq "$FIRST_CODE" 201
M3=$(jf "$FIRST_BODY" 'd["member"]["id"]' 2>/dev/null || echo none)
assert "  right after it, member create m4: HTTP 409" code_is 409
assert "  with Octavia's fault body (the load balancer is immutable)" contains "$HTTP_BODY" "is immutable and cannot be updated"
echo "  $HTTP_BODY"
m3_active() { [[ $(lb_get "pools/$POOL/members/$M3" 'd["member"]["provisioning_status"]') == ACTIVE ]]; }
check "  m3 goes ACTIVE" poll_until 20 m3_active
echo "  member create -> ACTIVE (applied by haproxy on hv1): $(( $(now_ms) - T0_MS )) ms"
check "  m4 was not created" cmp_ loadbalancer member list pool1 -f value -c name
    ok && assert "  no m4" lacks "$OUT" m4
check "loadbalancer member delete m3 --wait" cmp_ loadbalancer member delete --wait pool1 "$M3"
check "  lb1 ACTIVE/ONLINE" wait_until 20 lb_is ACTIVE ONLINE

step "6. allowed_cidrs: a listener open to 198.51.100.0/24 only"
check "loadbalancer listener create --protocol-port 8080 --allowed-cidr 198.51.100.0/24 --wait" cmp_ loadbalancer \
    listener create --name l8080 --protocol HTTP --protocol-port 8080 --allowed-cidr 198.51.100.0/24 --wait lb1 -f json
    ok && L8080=$(jf "$OUT" 'd["id"]')
L8080=${L8080:-none}
# (8080 has no pool: haproxy answers 503 to whoever gets through.)
http_code_8080() { from_ext curl -sS -o /dev/null -w '%{http_code}' --max-time 3 "http://$FIP:8080/" 2>/dev/null || true; }
assert "  the external LAN gets no answer from $FIP:8080" eq "$(http_code_8080)" 000
check "  while $FIP:80 serves" get_fip 80
check "loadbalancer listener set --allowed-cidr 172.24.4.0/24 (the external LAN) --wait" cmp_ loadbalancer listener set \
    --allowed-cidr 172.24.4.0/24 --wait l8080
answers_8080() { [[ $(http_code_8080) == 503 ]]; }
check "  now haproxy answers on 8080 (503: no pool)" wait_until 10 answers_8080

step "7. kill -9 of ciel up (controller and hv1's agent): the load balancer serves on"
kill -KILL "$CIEL_PID"; wait "$CIEL_PID" 2>/dev/null || true
check "  with ciel up dead, 10 requests answered by web1 and web2" answered_by 10 web1 web2
    ok && echo "$OUT"
assert "  the same haproxy master ($HAPROXY_PID)" bash -c "grep -qa haproxy /proc/$HAPROXY_PID/cmdline"
start_ciel "$LOG" --data-dir "$DATA" --listen "$LISTEN_IP:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
CIEL_PID=$STARTED_PID
check "  ciel up restarts on the same data" wait_ready "$BASE" "$CIEL_PID"
check "  its agent registers again" wait_until 30 bash -c "[ \$(grep -c 'registered with the controller' $LOG) -ge 2 ]"
new_token || true
assert "  a new token" test -n "$TOKEN"
sleep 3
check "  lb1 ACTIVE/ONLINE" wait_until 20 lb_is ACTIVE ONLINE
check "  members ONLINE" both_online
assert "  the restarted agent adopted haproxy: same master pid" eq "$(head -n 1 "$AGENT_DIR/lb/$LB/haproxy.pid")" "$HAPROXY_PID"
check "  10 requests: web1 and web2" answered_by 10 web1 web2
    ok && echo "$OUT"
check "  loadbalancer stats show lb1" cmp_ loadbalancer stats show lb1 -f json
    ok && echo "  stats (as last reported by hv1): $(jf "$OUT" 'd')"
    ok && assert "  connections were counted (across haproxy reloads and the agent's restart)" \
        test "$(jf "$OUT" 'd["total_connections"]')" -gt 20

step "8. failover: on demand to hv2, then hv2 lost: the load balancer serves from hv1 again"
# watch_start TAG / watch_stop: a request from the external LAN every 0.1 s (0.5 s timeout),
# one line each, "<ms> ok|fail"; outage TAG: the longest run of failures, in ms.
watch_start() {
    (while true; do
        t=$(now_ms)
        if from_ext curl -s -o /dev/null -f --max-time 0.5 "http://$FIP/"; then echo "$t ok"; else echo "$t fail"; fi
        sleep 0.1
    done) >"$TMP/watch.$1" 2>/dev/null &
    WATCH_PID=$!
}
watch_stop() { kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null || true; }
outage() { awk '$2 == "fail" && !s { s = $1 } $2 == "ok" && s { d = $1 - s; if (d > m) m = d; s = 0 }
    END { if (s) print "unrecovered"; else print m + 0 }' "$TMP/watch.$1"; }
lb_on_hv1() { ip netns list | grep -q "ciel-lb-$LB"; }
lb_on_hv2() { nsenter -t "$HV2_PID" -m -n ip netns list | grep -q "ciel-lb-$LB"; }
moved_to_hv2() { lb_on_hv2 && ! lb_on_hv1 && lb_is ACTIVE ONLINE; }
watch_start ondemand
check "loadbalancer failover lb1" cmp_ loadbalancer failover lb1
T0_MS=$(now_ms)
check "  lb1 ACTIVE/ONLINE, served by hv2 (the only other live host), gone from hv1" wait_until 60 moved_to_hv2
echo "  failover request -> ACTIVE/ONLINE on hv2: $(( $(now_ms) - T0_MS )) ms"
check "  the external LAN is answered again" wait_until 20 get_fip
sleep 1; watch_stop
echo "  longest outage seen from the external LAN (a request every 0.1 s): $(outage ondemand) ms"
check "  10 requests: web1 and web2" answered_by 10 web1 web2
    ok && echo "$OUT"
# hv2 lost: its agent killed, and what its death takes: the load balancer's haproxy and
# namespace (its guest web2 runs on: a QEMU outlives its agent, and here its host too).
watch_start lost
kill -KILL "$AGENT2_PID"; wait "$AGENT2_PID" 2>/dev/null || true
HV2_PROXY=$(cat "$HV2_DIR/lb/$LB/haproxy.pid" 2>/dev/null || echo none)
pkill -KILL -f "$HV2_DIR/lb/$LB/" 2>/dev/null || true
nsenter -t "$HV2_PID" -m -n ip netns del "ciel-lb-$LB" 2>/dev/null || true
T0_MS=$(now_ms)
check "  hv2's haproxy ($HV2_PROXY) is dead" wait_until 5 bash -c "! kill -0 $HV2_PROXY 2>/dev/null"
check "  the external LAN is answered again (host_down_after = 10 s, then a failover)" poll_until 60 get_fip
echo "  hv2 lost -> the load balancer answers again: $(( $(now_ms) - T0_MS )) ms"
sleep 1; watch_stop
echo "  longest outage seen from the external LAN: $(outage lost) ms"
check "  lb1 ACTIVE on hv1 again" wait_until 20 bash -c "ip netns list | grep -q ciel-lb-$LB"
lb_provisioning_is() { [[ $(lb_get "loadbalancers/$LB" 'd["loadbalancer"]["provisioning_status"]') == "$1" ]]; }
check "  lb1 ACTIVE" wait_until 20 lb_provisioning_is ACTIVE
check "  10 requests answered" answered_by 10 web1 web2
    ok && echo "$OUT"
start_hv2_agent
check "  hv2's agent back" wait_until 30 bash -c "[ \$(grep -c 'registered with the controller' $HV2_LOG) -ge 2 ]"
check "  lb1 ACTIVE/ONLINE, both members up" wait_until 30 lb_is ACTIVE ONLINE
HAPROXY_PID=$(head -n 1 "$AGENT_DIR/lb/$LB/haproxy.pid" 2>/dev/null || echo none)

step "9. L7 policy: a redirect"
check "loadbalancer l7policy create --action REDIRECT_TO_URL --wait" cmp_ loadbalancer l7policy create --name moved \
    --action REDIRECT_TO_URL --redirect-url http://example.org/new/ --wait l80 -f json
check "loadbalancer l7rule create --type PATH --compare-type STARTS_WITH --value /old --wait" cmp_ loadbalancer \
    l7rule create --type PATH --compare-type STARTS_WITH --value /old --wait moved -f json
redirected() { from_ext curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 3 "http://$FIP/old/page"; }
is_redirected() { [[ $(redirected) == "302 http://example.org/new/" ]]; }
check "  GET /old/page: 302 to http://example.org/new/" wait_until 10 is_redirected
check "  GET / still served by the pool" get_fip

step "10. X-Forwarded-For and PROXYV2 show the client's address"
# Members that tell what reached them, on the subnet's gateway address (the tenant router's
# namespace on hv1): an HTTP one, one behind a PROXY protocol v2 header, two UDP ones.
RNS=$(ip netns list | awk '/^ciel-r-/ { print $1; exit }')
GW=10.80.0.1
backend() { ip netns exec "$RNS" python3 "$REPO/tests/cli/tools/lb_backend.py" "$@" >>"$TMP/backends.log" 2>&1 & EXTRA_PIDS+=("$!"); }
backend http "$GW" 8001 echo
backend proxy "$GW" 8002 proxied
backend udp "$GW" 5001 udp1
backend udp "$GW" 5002 udp2
UDP2_PID=$!
check "  the members listen in $RNS" wait_until 10 bash -c "ip netns exec $RNS ss -lntu | grep -q ':5002'"
mk_l() { # NAME PROTOCOL PORT [LISTENER ARGS...]: a listener
    local n=$1 p=$2 port=$3; shift 3
    cmp_ loadbalancer listener create --name "$n" --protocol "$p" --protocol-port "$port" "$@" --wait lb1 -f json
}
mk_pool() { # NAME LISTENER PROTOCOL ALGORITHM
    cmp_ loadbalancer pool create --name "$1" --listener "$2" --protocol "$3" --lb-algorithm "$4" --wait -f json
}
mk_m() { cmp_ loadbalancer member create --address "$GW" --protocol-port "$2" --subnet-id "$SUBNET" --wait "$1" -f json; }
check "listener l81 HTTP:81 --insert-headers X-Forwarded-For=true" mk_l l81 HTTP 81 --insert-headers X-Forwarded-For=true
make_p81() { mk_pool p81 l81 HTTP ROUND_ROBIN && mk_m p81 8001; }
check "  pool p81 HTTP, member $GW:8001" make_p81
check "  GET http://$FIP:81/ from the external LAN (172.24.4.1)" wait_until 10 from_ext curl -sS -f --max-time 3 "http://$FIP:81/"
    ok && assert "  the member saw X-Forwarded-For: 172.24.4.1" eq "$OUT" "echo xff=172.24.4.1"
check "listener l82 TCP:82" mk_l l82 TCP 82
make_p82() { mk_pool p82 l82 PROXYV2 ROUND_ROBIN && mk_m p82 8002; }
check "  pool p82 PROXYV2, member $GW:8002" make_p82
check "  GET http://$FIP:82/ from the external LAN" wait_until 10 from_ext curl -sS -f --max-time 3 "http://$FIP:82/"
    ok && assert "  the member read the client's address in the PROXY v2 header" eq "$OUT" "proxied proxy=v2:172.24.4.1"

step "11. a UDP listener: round robin, a UDP-CONNECT monitor takes a stopped member out"
# udp_ask: one datagram from a new source port; the answer (or nothing).
udp_ask() { from_ext python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(b"hi", (sys.argv[1], 53))
try: print(s.recv(100).decode().strip())
except OSError: print("ERR")' "$FIP"; }
udp_answers() { local i; for ((i = 0; i < $1; i++)); do udp_ask; done; }
check "listener l53 UDP:53" mk_l l53 UDP 53
    ok && L53=$(jf "$OUT" 'd["id"]')
make_p53() { mk_pool p53 l53 UDP ROUND_ROBIN && mk_m p53 5001 && mk_m p53 5002; }
check "  pool p53 UDP ROUND_ROBIN, members $GW:5001 and $GW:5002" make_p53
check "  healthmonitor UDP-CONNECT --delay 3 --timeout 1 --max-retries 1 --max-retries-down 1" cmp_ loadbalancer \
    healthmonitor create --name hm53 --type UDP-CONNECT --delay 3 --timeout 1 --max-retries 1 --max-retries-down 1 \
    --wait p53 -f json
check "  no haproxy frontend for it: nftables in lb1's namespace" wait_until 10 bash -c \
    "ip netns exec ciel-lb-$LB nft list table ip ciel_lb_udp | grep -q 'dport 53'"
udp_both() { [[ $(udp_answers 6 | sort -u | tr '\n' ' ') == "udp1 udp2 " ]]; }
check "  6 datagrams from the external LAN: answered by udp1 and udp2" wait_until 20 udp_both
ORDER=$(udp_answers 6 | tr '\n' ' ')
echo "  in order: $ORDER"
assert "  round robin alternates" grep -qE '^(udp1 udp2 )+$|^(udp2 udp1 )+$' <<<"$ORDER"
kill "$UDP2_PID" 2>/dev/null || true
T0_MS=$(now_ms)
p53_member_down() { [[ $(cmp_ loadbalancer member list p53 -f value -c protocol_port -c operating_status | sort | tr '\n' ' ') == "5001 ONLINE 5002 ERROR " ]]; }
check "  udp2 stopped: its member goes ERROR (port unreachable to the UDP-CONNECT check)" poll_until 30 p53_member_down
echo "  stop -> member ERROR in the API: $(( $(now_ms) - T0_MS )) ms (delay 3 s x 1 retry)"
only_udp1() { [[ $(udp_answers 6 | sort -u) == udp1 ]]; }
check "  6 datagrams: all answered by udp1" only_udp1
check "  loadbalancer listener stats show l53: flows counted" cmp_ loadbalancer listener stats show l53 -f json
    ok && echo "  $(jf "$OUT" 'd')"

step "12. what Kubernetes' cloud provider (OCCM) does for a Service of type LoadBalancer (openstacksdk)"
# tests/cli/tools/occm_flow.py: find by name, one fully populated create with tags and
# timeouts, wait ACTIVE, a floating IP on the VIP port, batch member updates as nodes leave
# and join (traffic checked after each), cascade delete; its own PASS/FAIL lines.
occm() {
    OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel "$VENV/bin/python" "$REPO/tests/cli/tools/occm_flow.py" \
        --subnet-id "$SUBNET" --floating-network-id "$(cmp_ network show public -f value -c id)" \
        --members "web1=$IP1,web2=$IP2" --ports 80:80,8080:80 --expect-names \
        --check-cmd "ip netns exec ext curl -sS -f --max-time 3 http://{fip}/"
}
check "  occm_flow.py: Service web (ports 80 and 8080) on nodes web1 and web2" occm
    echo "$OUT" | sed 's/^/    /'

step "13. cascade delete"
check "loadbalancer delete --cascade --wait lb1" cmp_ loadbalancer delete --cascade --wait lb1
check "  no namespace ciel-lb-* on hv1" wait_until 20 bash -c "! ip netns list | grep -q ciel-lb-"
check "  no haproxy process left" wait_until 10 bash -c "! kill -0 $HAPROXY_PID 2>/dev/null && ! pgrep -f '[h]aproxy.*$LB' >/dev/null"
check "  lb1's state directory is gone" wait_until 10 bash -c "[ ! -e $AGENT_DIR/lb/$LB ]"
expect_fail "  the VIP port is gone" cmp_ port show "$VIP_PORT"
check "  the floating IP still exists" cmp_ floating ip show "$FIP_ID" -f json
    ok && assert "  disassociated" eq "$(jf "$OUT" 'd["port_id"]')" None
expect_fail "  lb1 is gone" cmp_ loadbalancer show "$LB"
expect_fail "  the external LAN gets no answer from $FIP" get_fip

finish

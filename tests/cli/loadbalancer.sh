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
# runs detached) and the restarted agent adopts it; a cascade delete leaves nothing behind
# but the (disassociated) floating IP.
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
ip link add ul0 type bridge && ip link set ul0 up && ip addr add "$LISTEN_IP/24" dev ul0
ip netns add hv2
ip link add ul-hv2 type veth peer name eth0 netns hv2
ip link set ul-hv2 master ul0 up
ip -n hv2 addr add "$HV2_IP/24" dev eth0 && ip -n hv2 link set eth0 up && ip -n hv2 link set lo up
check "hv2 reaches hv1 over the underlay" ip netns exec hv2 ping -c 1 -W 2 "$LISTEN_IP"
# The external LAN: a namespace "ext" (172.24.4.1) cabled to hv1's provider interface ext0;
# ciel up's external network "public" is 172.24.4.0/24 on physnet "public".
ip netns add ext
ip link add ext0 type veth peer name eth0 netns ext
ip link set ext0 up
ip -n ext addr add 172.24.4.1/24 dev eth0 && ip -n ext link set eth0 up && ip -n ext link set lo up
CLOUD_SETTINGS=("underlay_ip = \"$LISTEN_IP\"" 'provider_interfaces = { public = "ext0" }')
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
check "  web1 serves (on hv1)" wait_until 120 console_has "$VM1" "CIEL-GUEST httpd started"
check "  web2 serves (on hv2)" wait_until 120 hv2_console_has "$VM2" "CIEL-GUEST httpd started"

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

step "8. cascade delete"
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

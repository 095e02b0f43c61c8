#!/usr/bin/env bash
# The multi-host data plane on a simulated datacenter, with real QEMU guests (TCG) and real
# packets. The whole test runs in network and mount namespaces of its own:
#   hv1  this namespace: `ciel up` (controller + its agent), underlay address 192.168.100.1
#   hv2  a namespace with its own `ciel agent` (and its own /run/netns), 192.168.100.12
#   ul0  the underlay: a bridge joining both hosts
# It proves: hv2 joins with an admin-made join token; VM1 on hv1 and VM2 on hv2 in one
# network ping each other; the overlay is l2-populated from desired state; between the hosts
# the underlay carries only VXLAN (UDP 4789); security groups and anti-spoofing hold; a
# router gives floating IPs, SNAT and metadata; an agent killed, or a host down for a while,
# converges when back; a VM of another project with the identical CIDR reaches nothing of
# project A.
#
# Usage: tests/cli/datacenter.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The datacenter lives in namespaces of its own, with its own namespace registry.
if [[ ${CIEL_DC_INNER:-} != 1 ]]; then
    exec "$HERE/isolated.sh" env CIEL_DC_INNER=1 "$0" "$@"
fi
command -v tcpdump >/dev/null || { echo "tcpdump is required" >&2; exit 2; }

CIEL_TEST_NAME=datacenter-test
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

# hv2 is a host: a network namespace and a mount namespace with its own /run/netns that
# outlive its agent, as a real host's do.
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

step "0. the underlay, hv1 (ciel up) and hv2 (ciel agent)"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
make_underlay
check "hv2 reaches hv1 over the underlay" ip netns exec hv2 ping -c 1 -W 2 "$LISTEN_IP"
tcpdump -i ul0 -nn -U -w "$TMP/underlay.pcap" 2>/dev/null &
EXTRA_PIDS+=("$!")
# The external LAN: a namespace "ext" (its gateway, 172.24.4.1) cabled to hv1's provider
# interface ext0; ciel up's external network "public" is 172.24.4.0/24 on physnet "public".
ip netns add ext
ip link add ext0 type veth peer name eth0 netns ext
ip link set ext0 up
ip -n ext addr add 172.24.4.1/24 dev eth0 && ip -n ext link set eth0 up && ip -n ext link set lo up
start_cloud "underlay_ip = \"$LISTEN_IP\"" 'provider_interfaces = { public = "ext0" }' '[scheduler]' 'host_down_after = 10'
start_hv2_host
field() { awk -F'|' -v f="$1" '{k=$2; gsub(/ /,"",k)} k==f {v=$3; gsub(/ /,"",v); print v}'; }
check "ciel join-token create --ttl 1h (admin, on the controller)" "$CIEL_BIN" join-token create --data-dir "$DATA" \
    --ttl 1h --description hv2
    ok && JOIN_TOKEN=$(field token <<<"$OUT") JOIN_ID=$(field id <<<"$OUT")
check "  ciel join-token list shows it active" "$CIEL_BIN" join-token list --data-dir "$DATA"
    ok && assert "  listed" contains "$OUT" "${JOIN_ID:-none} | active"
start_hv2_agent
check "ciel agent on hv2 joins with the join token" wait_until 30 grep -q "registered with the controller" "$HV2_LOG"
both_hypervisors() { [[ $(cmp_ hypervisor list -f value -c 'Hypervisor Hostname' | sort | tr '\n' ' ') == "hv1 hv2 " ]]; }
check "hypervisor list shows hv1 and hv2" wait_until 20 both_hypervisors
check "  hv2's host IP is its underlay interface's address" cmp_ hypervisor show hv2 -f json
    ok && assert "  host_ip $HV2_IP" eq "$(jf "$OUT" 'd["host_ip"]')" "$HV2_IP"

step "1. one network, a VM on each host"
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create dcnet" cmp_ network create dcnet -f json
    ok && VNI=$(jf "$OUT" 'd["provider:segmentation_id"]') && NET=$(jf "$OUT" 'd["id"]')
check "subnet create 10.70.0.0/24" cmp_ subnet create --network dcnet --subnet-range 10.70.0.0/24 dcsub
ssh-keygen -q -t ed25519 -N '' -C dc-key -f "$TMP/key"
check "keypair create dk" cmp_ keypair create --public-key "$TMP/key.pub" dk
IP1=10.70.0.11 IP2=10.70.0.12
check "port create p1 ($IP1)" cmp_ port create --network dcnet --fixed-ip "ip-address=$IP1" p1
check "port create p2 ($IP2)" cmp_ port create --network dcnet --fixed-ip "ip-address=$IP2" p2
# Each guest pings the other until it answers (the other may still be booting).
# pinger IP [TRIES]: a user-data script pinging IP until it answers (TRIES times, 3 s each).
pinger() { printf '#!/bin/sh\nfor i in $(seq %s); do if ping -c 1 -W 2 %s >/dev/null; then echo "CIEL-GUEST ping %s ok"; exit 0; fi; sleep 1; done\necho "CIEL-GUEST ping %s failed"\n' "${2:-60}" "$1" "$1" "$1"; }
pinger "$IP2" >"$TMP/ud1"
pinger "$IP1" >"$TMP/ud2"
check "server create vm1 --availability-zone nova:hv1 --wait" cmp_ server create --image guest --flavor m1.micro \
    --port p1 --availability-zone nova:hv1 --key-name dk --user-data "$TMP/ud1" --wait vm1 -f json
    ok && VM1=$(jf "$OUT" 'd["id"]')
check "server create vm2 --availability-zone nova:hv2 --wait" cmp_ server create --image guest --flavor m1.micro \
    --port p2 --availability-zone nova:hv2 --key-name dk --user-data "$TMP/ud2" --wait vm2 -f json
    ok && VM2=$(jf "$OUT" 'd["id"]')
VM1=${VM1:-none} VM2=${VM2:-none}
check "  vm1 is on hv1" cmp_ server show vm1 -f value -c OS-EXT-SRV-ATTR:host
    ok && assert "  hv1" eq "$OUT" hv1
check "  vm2 is on hv2" cmp_ server show vm2 -f value -c OS-EXT-SRV-ATTR:host
    ok && assert "  hv2" eq "$OUT" hv2
in_hv2() {
    local pid; pid=$(pgrep -f "qemu-system-x86_64.*$1" | head -n 1)
    [[ -n $pid && "$(readlink "/proc/$pid/ns/net")" == "$(readlink "/proc/$HV2_PID/ns/net")" ]] ||
        { echo "QEMU pid [$pid] net $(readlink "/proc/$pid/ns/net" 2>&1), agent $HV2_PID net $(readlink "/proc/$HV2_PID/ns/net" 2>&1)"; return 1; }
}
assert "  vm2's QEMU runs in hv2's network namespace" in_hv2 "$VM2"

step "2. l2 population: each host's VXLAN device knows the other's port"
MAC1=$(cmp_ port show p1 -f value -c mac_address) MAC2=$(cmp_ port show p2 -f value -c mac_address)
check "  hv1: vm2's MAC ($MAC2) behind hv2's VTEP, flooding to hv2" wait_until 20 bash -c \
    "bridge fdb show dev cvx-$VNI | grep -q '$MAC2 dst $HV2_IP' && bridge fdb show dev cvx-$VNI | grep -q '00:00:00:00:00:00 dst $HV2_IP'"
check "  hv2: vm1's MAC ($MAC1) behind hv1's VTEP" wait_until 20 bash -c \
    "nsenter -t $HV2_PID -m -n bridge fdb show dev cvx-$VNI | grep -q '$MAC1 dst $LISTEN_IP'"
check "  hv2 answers ARP for vm1 from its neighbour table" bash -c "nsenter -t $HV2_PID -m -n ip neigh show dev cvx-$VNI | grep -q '$IP1 lladdr $MAC1 PERMANENT'"
assert "  VXLAN MAC learning is off on both hosts" bash -c \
    "ip -d link show cvx-$VNI | grep -q nolearning && nsenter -t $HV2_PID -m -n ip -d link show cvx-$VNI | grep -q nolearning"

step "3. vm1 (hv1) and vm2 (hv2) ping each other"
check "  vm1 gets its address by DHCP on hv1" wait_until 120 console_has "$VM1" "CIEL-GUEST dhcp eth0 $IP1"
check "  vm2 gets its address by DHCP on hv2" wait_until 120 hv2_console_has "$VM2" "CIEL-GUEST dhcp eth0 $IP2"
check "  vm2 reads its own hostname from hv2's metadata service" wait_until 60 hv2_console_has "$VM2" "CIEL-GUEST metadata hostname vm2"
check "  vm1 pings vm2 across hosts" wait_until 120 console_has "$VM1" "CIEL-GUEST ping $IP2 ok"
check "  vm2 pings vm1 across hosts" wait_until 120 hv2_console_has "$VM2" "CIEL-GUEST ping $IP1 ok"

step "4. between the hosts the underlay carries only VXLAN"
sleep 1
# (An ICMP port-unreachable answers a VXLAN packet that arrives before its device exists.)
HOSTS_FILTER="ip and host $LISTEN_IP and host $HV2_IP and not tcp port $PORT and not tcp port $HV2_PORT and not icmp[icmptype] == icmp-unreach"
ALL=$(tcpdump -r "$TMP/underlay.pcap" -nn "$HOSTS_FILTER" 2>/dev/null | wc -l)
VXLAN=$(tcpdump -r "$TMP/underlay.pcap" -nn "$HOSTS_FILTER and udp port 4789" 2>/dev/null | wc -l)
echo "  host-to-host packets: $ALL, of which VXLAN: $VXLAN (control traffic on ports $PORT/$HV2_PORT excluded)"
assert "  there is VXLAN traffic between hv1 and hv2" bash -c "[ $VXLAN -gt 0 ]"
assert "  and nothing else" eq "$ALL" "$VXLAN"
tcpdump -r "$TMP/underlay.pcap" -nn "$HOSTS_FILTER and not udp port 4789" 2>/dev/null | head -n 5 | sed 's/^/     other: /'
check "  the tunnelled packets are the guests' ICMP echoes" bash -c \
    "tcpdump -r $TMP/underlay.pcap -nn 'udp port 4789' 2>/dev/null | grep -q 'ICMP echo request'"

step "5. security groups in nftables: ingress is denied until a rule allows it"
# The network's DHCP namespace on hv1 sits on the same bridge with an address of the subnet,
# and is not in the VMs' default group: a stranger on vm1's network.
from_net() { ip netns exec "ciel-dhcp-$NET" "$@"; }
pings_vm1() { from_net ping -c 1 -W 1 "$IP1" >/dev/null 2>&1; }
check "  hv1 has the firewall tables (bridge ciel, inet ciel)" bash -c "nft list table bridge ciel >/dev/null && nft list table inet ciel >/dev/null"
check "  br_netfilter is on for hv1's bridges" bash -c "[ \"\$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)\" = 1 ]"
expect_fail "  without a rule, a ping from the network to vm1 fails" pings_vm1
check "security group rule create --protocol icmp default" cmp_ security group rule create --protocol icmp --ingress default -f json
    ok && RULE=$(jf "$OUT" 'd["id"]')
T0_MS=$(date +%s%3N)
check "  now the ping passes" wait_until 10 pings_vm1
SG_MS=$(( $(date +%s%3N) - T0_MS ))
echo "  rule create -> first answered ping: ${SG_MS} ms"
check "  vm1's established flows: vm1 and vm2 still reach each other (remote group rule)" wait_until 10 bash -c \
    "grep -qa 'ping $IP2 ok' $AGENT_DIR/vms/$VM1/console.log"
check "security group rule delete" cmp_ security group rule delete "${RULE:-none}"
T0_MS=$(date +%s%3N)
check "  the ping is cut again" wait_until 10 bash -c "! ip netns exec ciel-dhcp-$NET ping -c 1 -W 1 $IP1 >/dev/null 2>&1"
echo "  rule delete -> first lost ping: $(( $(date +%s%3N) - T0_MS )) ms"
check "  hv2 enforces too: vm2's ingress chain has no ICMP rule from anywhere" bash -c \
    "nsenter -t $HV2_PID -m -n nft list table inet ciel | grep -q 'chain ingress_'"

step "6. a router: floating IPs from the external LAN, SNAT to the outside"
from_ext() { ip netns exec ext "$@"; }
check "router create r1" cmp_ router create r1
check "router set --external-gateway public r1" cmp_ router set --external-gateway public r1
check "router add subnet r1 dcsub" cmp_ router add subnet r1 dcsub
check "  r1's external address" cmp_ router show r1 -f json
    ok && RTR_IP=$(jf "$OUT" 'd["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]')
RTR_IP=${RTR_IP:-none}
check "  hv1 (the network node) runs r1 in a namespace" wait_until 20 bash -c "ip netns list | grep -q ciel-r-"
check "  the external LAN reaches r1's gateway leg at $RTR_IP" wait_until 20 from_ext ping -c 1 -W 1 "$RTR_IP"
R1=$(cmp_ router show r1 -f value -c id)
MAC1=$(cmp_ port show p1 -f value -c mac_address) MAC2=$(cmp_ port show p2 -f value -c mac_address)
# router_neigh IP MAC: r1's namespace has a permanent neighbour entry IP -> MAC
router_neigh() { ip -n "ciel-r-$R1" neigh show "$1" | grep -qi "lladdr $2 .*PERMANENT"; }
check "  r1 knows vm1 (hv1) at its MAC, as a permanent neighbour" wait_until 20 router_neigh "$IP1" "$MAC1"
check "  and vm2 (hv2, from l2 population)" wait_until 20 router_neigh "$IP2" "$MAC2"
check "floating ip create public" cmp_ floating ip create public -f json
    ok && FIP=$(jf "$OUT" 'd["floating_ip_address"]')
FIP=${FIP:-none}
check "server add floating ip vm2 $FIP (vm2 is on hv2)" cmp_ server add floating ip vm2 "$FIP"
expect_fail "  without a rule, ping from the external LAN to $FIP fails" from_ext ping -c 2 -W 1 "$FIP"
check "security group rule create --protocol icmp default" cmp_ security group rule create --protocol icmp --ingress default -f json
    ok && RULE=$(jf "$OUT" 'd["id"]')
check "  the external LAN pings vm2 at $FIP" wait_until 15 from_ext ping -c 1 -W 1 "$FIP"
check "security group rule delete" cmp_ security group rule delete "${RULE:-none}"
check "  and no longer" wait_until 10 bash -c "! ip netns exec ext ping -c 1 -W 1 $FIP >/dev/null 2>&1"
ssh_fip() { from_ext ssh -i "$TMP/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    -o ConnectTimeout=4 -o LogLevel=ERROR "root@$FIP" "$@"; }
expect_fail "  without a tcp/22 rule, ssh root@$FIP fails" ssh_fip true
check "security group rule create --protocol tcp --dst-port 22 default" cmp_ security group rule create --protocol tcp \
    --dst-port 22 --ingress default -f json
    ok && RULE=$(jf "$OUT" 'd["id"]')
check "  ssh -i key root@$FIP hostname runs in vm2" wait_until 20 ssh_fip hostname
    ok && assert "  it answers vm2" eq "$OUT" vm2
check "security group rule delete (tcp/22)" cmp_ security group rule delete "${RULE:-none}"
expect_fail "  ssh is cut again" ssh_fip true
printf '#!/bin/sh\nfor i in $(seq 30); do if ping -c 1 -W 2 172.24.4.1 >/dev/null; then echo "CIEL-GUEST outside ok"; exit 0; fi; sleep 1; done\necho "CIEL-GUEST outside failed"\n' >"$TMP/udo"
from_ext tcpdump -i eth0 -nn -U -w "$TMP/ext.pcap" icmp 2>/dev/null &
EXTRA_PIDS+=("$!")
check "server create outbound (hv2, no floating IP, pings the external LAN) --wait" cmp_ server create --image guest \
    --flavor m1.micro --network dcnet --availability-zone nova:hv2 --user-data "$TMP/udo" --wait outbound -f json
    ok && VMO=$(jf "$OUT" 'd["id"]')
VMO=${VMO:-none}
check "  it reaches the external LAN" wait_until 120 hv2_console_has "$VMO" "CIEL-GUEST outside ok"
check "  dcsub is routed now: hv2's DHCP pushes no metadata route" bash -c "! grep -q 169.254 $HV2_DIR/dhcp/$NET/opts"
check "  so it read its own metadata through r1 on hv1" hv2_console_has "$VMO" "CIEL-GUEST metadata hostname outbound"
sleep 1
check "  the external LAN saw it as r1's address $RTR_IP (SNAT)" bash -c \
    "tcpdump -r $TMP/ext.pcap -nn 'icmp[icmptype] == icmp-echo' 2>/dev/null | grep -q '$RTR_IP > 172.24.4.1'"
OUTIP=$(cmp_ server show outbound -f json | jf "$(cat)" 'list(d["addresses"].values())[0][0]' 2>/dev/null || echo none)
check "  r1 has its address $OUTIP as a permanent neighbour" wait_until 10 bash -c "ip -n ciel-r-$R1 neigh show $OUTIP | grep -q PERMANENT"
check "server delete outbound" cmp_ server delete --wait outbound
check "  r1 forgets it: no stale MAC for the next port with that address" wait_until 20 bash -c "! ip -n ciel-r-$R1 neigh show $OUTIP | grep -q PERMANENT"

step "7. anti-spoofing: forged source addresses and MACs get nothing through"
cat >"$TMP/uds" <<EOF
#!/bin/sh
if ping -c 2 -W 2 $IP1 >/dev/null; then echo "CIEL-GUEST legit ping ok"; fi
ip addr add 10.70.0.99/24 dev eth0
ping -c 3 -W 1 -I 10.70.0.99 $IP1 >/dev/null; echo "CIEL-GUEST forged-ip done"
ip link set eth0 down; ip link set eth0 address fa:16:3e:de:ad:01; ip link set eth0 up
ping -c 3 -W 1 $IP1 >/dev/null; echo "CIEL-GUEST forged-mac done"
EOF
check "server create spoofer (hv2) --wait" cmp_ server create --image guest --flavor m1.micro --network dcnet \
    --availability-zone nova:hv2 --user-data "$TMP/uds" --wait spoofer -f json
    ok && VMS=$(jf "$OUT" 'd["id"]')
VMS=${VMS:-none}
check "  with its own address it reaches vm1 on hv1" wait_until 120 hv2_console_has "$VMS" "CIEL-GUEST legit ping ok"
check "  it sends from a forged IP, then from a forged MAC" wait_until 60 hv2_console_has "$VMS" "CIEL-GUEST forged-mac done"
sleep 1
FORGED=$(tcpdump -r "$TMP/underlay.pcap" -nn -e 'udp port 4789' 2>/dev/null | grep -cE '10\.70\.0\.99|fa:16:3e:de:ad:01' || true)
assert "  no frame with the forged IP or MAC crossed the underlay" eq "$FORGED" 0
check "server delete spoofer" cmp_ server delete --wait spoofer

step "8. kill -9 of hv2's agent: traffic flows on, the restarted agent changes nothing"
# hv2's data plane as counts: Ciel's devices, tunnel and ARP entries, nftables lines,
# namespaces, dnsmasq processes.
hv2_state() {
    nsenter -t "$HV2_PID" -m -n sh -c 'echo "devices $(ip -o link show | grep -cE "cbr-|cvx-|ctp|cdh-") fdb $(bridge fdb show | grep -c " dst ") neigh $(ip neigh show nud permanent | wc -l) nft $(nft list ruleset | wc -l) netns $(ip netns list | wc -l)"'
    echo "dnsmasq $(pgrep -c -f "^dnsmasq.*$HV2_DIR" || true)"
}
check "security group rule create --protocol icmp default" cmp_ security group rule create --protocol icmp --ingress default -f json
    ok && RULE=$(jf "$OUT" 'd["id"]')
check "  the external LAN pings vm2 ($FIP)" wait_until 15 from_ext ping -c 1 -W 1 "$FIP"
BEFORE=$(hv2_state)
echo "  hv2 before: $BEFORE" | tr '\n' ' '; echo
kill -9 "$AGENT2_PID"; wait "$AGENT2_PID" 2>/dev/null || true
check "  with hv2's agent dead, 20 pings to vm2 all answered" from_ext ping -c 20 -i 0.2 -W 1 "$FIP"
    ok && assert "  0% loss" contains "$OUT" " 0% packet loss"
start_hv2_agent
check "  the restarted agent registers again" wait_until 30 bash -c "[ \$(grep -c 'registered with the controller' $HV2_LOG) -ge 2 ]"
sleep 3
AFTER=$(hv2_state)
echo "  hv2 after:  $AFTER" | tr '\n' ' '; echo
assert "  the same devices, entries, rules, namespaces and DHCP servers" eq "$AFTER" "$BEFORE"
check "  and vm2 still answers" from_ext ping -c 3 -W 1 "$FIP"
check "security group rule delete" cmp_ security group rule delete "${RULE:-none}"

step "8b. hv2 down for a while, changed meanwhile: back, it converges"
check "server create leftover (hv2) --wait" cmp_ server create --image guest --flavor m1.micro --network dcnet \
    --availability-zone nova:hv2 --wait leftover -f json
    ok && VML=$(jf "$OUT" 'd["id"]')
VML=${VML:-none}
LTAP=$(cmp_ port list --server leftover -f value -c ID | tr -d - | cut -c1-11)
check "  its tap is on hv2" wait_until 20 nsenter -t "$HV2_PID" -m -n ip link show "ctp$LTAP"
kill -9 "$AGENT2_PID"; wait "$AGENT2_PID" 2>/dev/null || true
hv2_down() { [[ $(cmp_ hypervisor show hv2 -f value -c state) == down ]]; }
check "  with its agent gone, hv2 is down (host_down_after = 10 s)" wait_until 40 hv2_down
expect_fail "  a server asked of nova:hv2 does not land there" cmp_ server create --image guest --flavor m1.micro \
    --network dcnet --availability-zone nova:hv2 --wait elsewhere
cmp_ server delete --wait elsewhere >/dev/null 2>&1 || true
check "server delete leftover (while hv2 is down)" cmp_ server delete leftover
check "security group rule create --protocol icmp default (while hv2 is down)" cmp_ security group rule create \
    --protocol icmp --ingress default -f json
    ok && RULE=$(jf "$OUT" 'd["id"]')
check "ciel join-token delete (hv2 comes back with its own host credential)" "$CIEL_BIN" join-token delete \
    --data-dir "$DATA" "${JOIN_ID:-none}"
start_hv2_agent
check "  hv2's agent registers again" wait_until 30 bash -c "[ \$(grep -c 'registered with the controller' $HV2_LOG) -ge 3 ]"
hv2_up() { [[ $(cmp_ hypervisor show hv2 -f value -c state) == up ]]; }
check "  hv2 is up" wait_until 20 hv2_up
check "  leftover's QEMU is gone from hv2" wait_until 30 bash -c "! pgrep -f '[q]emu-system-x86_64.*$VML' >/dev/null"
check "  and its tap" wait_until 10 bash -c "! nsenter -t $HV2_PID -m -n ip link show ctp$LTAP >/dev/null 2>&1"
check "  the rule made meanwhile holds on hv2: the external LAN pings vm2" wait_until 15 from_ext ping -c 1 -W 1 "$FIP"
check "security group rule delete" cmp_ security group rule delete "${RULE:-none}"

step "9. project B, identical CIDR on hv2, reaches nothing of project A"
UB=dc-user-b PB=dc-proj-b PW_B="Pw-$RANDOM$RANDOM"
ub() { as_user "$UB" "$PW_B" "$PB" "$@"; }
check "project create $PB" cmp_ project create "$PB"
check "user create $UB" cmp_ user create --password "$PW_B" "$UB"
check "role add member $UB@$PB" cmp_ role add --user "$UB" --project "$PB" member
check "B: network create bnet" ub network create bnet
check "B: subnet create 10.70.0.0/24 (A's CIDR)" ub subnet create --network bnet --subnet-range 10.70.0.0/24 bsub
check "B: port with vm1's address $IP1" ub port create --network bnet --fixed-ip "ip-address=$IP1" pb -f json
pinger "$IP2" 10 >"$TMP/udb"
check "B: server create vmb (on hv2, pings $IP2) --wait" ub server create --image "$IMAGE_ID" --flavor m1.micro --port pb \
    --user-data "$TMP/udb" --wait vmb -f json
    ok && VMB=$(jf "$OUT" 'd["id"]')
VMB=${VMB:-none}
vmb_console_has() { console_has "$1" "$2" || hv2_console_has "$1" "$2"; }
check "  vmb boots with A's address $IP1 in its own network" wait_until 120 vmb_console_has "$VMB" "CIEL-GUEST dhcp eth0 $IP1"
check "  vmb cannot reach A's vm2 at $IP2" wait_until 90 vmb_console_has "$VMB" "CIEL-GUEST ping $IP2 failed"
check "  B's network has another VNI" cmp_ network show bnet -f value -c provider:segmentation_id
    ok && assert "  not $VNI" bash -c "[ '$OUT' != '$VNI' ]"

step "10. deleting the servers empties the overlay"
check "server delete vm1 vm2 vmb --wait" cmp_ server delete --wait vm1 vm2 "$VMB"
remove_router() { cmp_ floating ip delete "$FIP" && cmp_ router remove subnet r1 dcsub && cmp_ router delete r1; }
check "floating ip delete, router remove subnet, router delete" remove_router
check "  r1's namespace is gone" wait_until 20 bash -c "! ip netns list | grep -q ciel-r-"
check "  no tunnel entries left on hv1" wait_until 30 bash -c "! ip -o link show | grep -q cvx-"
check "  nor on hv2" wait_until 30 bash -c "! nsenter -t $HV2_PID -m -n ip -o link show | grep -q cvx-"

finish

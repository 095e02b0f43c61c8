#!/usr/bin/env bash
# Acceptance test of VM networking on one host, with real QEMU guests (TCG) and the real
# `openstack` CLI: the bridge, VXLAN device and taps the agent wires, DHCP (dnsmasq in the
# network's namespace) giving each guest its port's fixed IP, the metadata service at
# 169.254.169.254 answering each guest with its own hostname, key and user data, the config
# drive, two guests pinging each other, ports going ACTIVE, and deletion leaving no device,
# namespace or DHCP server behind. Proven from the guests' serial consoles.
#
# Usage: tests/cli/vm_network.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=vm-network-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

# Ciel's devices and namespaces on this host (its name prefixes).
ciel_links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(cbr-|cvx-|cdh-|ctp)' | sort || true; }
ciel_netns() { ip netns list | awk '{print $1}' | grep '^ciel-dhcp-' | sort || true; }
port_status() { cmp_ port show "$1" -f value -c status; }

# Devices of an earlier, interrupted run would be taken over (and removed) by this agent.
[[ -z $(ciel_links) && -z $(ciel_netns) ]] ||
    { echo "this host already has Ciel network devices (another agent runs here?):" >&2; ciel_links >&2; ciel_netns >&2; exit 2; }

step "0. the test guest, ciel up (local agent, TCG)"
check "build the small guest (Debian kernel + busybox initramfs)" "$REPO/tests/guest/build-small.sh" "$GUEST"
start_cloud

step "1. images, a key pair, a network"
register_guest "$GUEST" guest "console=ttyS0 quiet"
ssh-keygen -q -t ed25519 -N '' -C "vmnet-test-key" -f "$TMP/key"
check "keypair create --public-key" cmp_ keypair create --public-key "$TMP/key.pub" k1
check "network create" cmp_ network create net1 -f json
    ok && NET=$(jf "$OUT" 'd["id"]') && VNI=$(jf "$OUT" 'd["provider:segmentation_id"]')
check "subnet create 10.30.0.0/24" cmp_ subnet create --network net1 --subnet-range 10.30.0.0/24 sub1

step "2. a server gets its address by DHCP and its identity from the metadata service"
printf '#!/bin/sh\necho "CIEL-GUEST says hello from user-data"\n' >"$TMP/ud1"
check "server create vm-one --key-name k1 --user-data --wait" \
    cmp_ server create --image guest --flavor m1.micro --network net1 --key-name k1 --user-data "$TMP/ud1" --wait vm-one -f json
    ok && VM1=$(jf "$OUT" 'd["id"]')
VM1=${VM1:-none}
check "  its port" cmp_ port list --server "$VM1" -f json
    ok && P1=$(jf "$OUT" 'd[0]["ID"]') && IP1=$(jf "$OUT" 'd[0]["Fixed IP Addresses"][0]["ip_address"]')
P1=${P1:-none} IP1=${IP1:-none}
assert "  the network's bridge cbr-v$VNI exists" ip link show "cbr-v$VNI"
assert "  its VXLAN device cvx-$VNI (VNI $VNI, learning off) is in the bridge" \
    bash -c "ip -d link show cvx-$VNI | grep -q 'vxlan id $VNI' && ip -d link show cvx-$VNI | grep -q nolearning && ip link show cvx-$VNI | grep -q 'master cbr-v$VNI'"
TAP1=ctp$(echo "$P1" | tr -d - | cut -c1-11)
assert "  the port's tap $TAP1 is in the bridge" bash -c "ip link show $TAP1 | grep -q 'master cbr-v$VNI'"
check "  the DHCP namespace exists" wait_until 20 bash -c "ip netns list | grep -q ciel-dhcp-$NET"
check "  dnsmasq serves in it" wait_until 20 pgrep -f "dnsmasq.*$NET"
check "  the port becomes ACTIVE" wait_until 30 bash -c "[ \"\$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK port show $P1 -f value -c status)\" = ACTIVE ]"
check "  the network has a DHCP port (network:dhcp)" cmp_ port list --network net1 --device-owner network:dhcp -f json
    ok && assert "  exactly one" eq "$(jf "$OUT" 'len(d)')" 1
check "  the guest gets its fixed IP $IP1 by DHCP" wait_until 120 console_has "$VM1" "CIEL-GUEST dhcp eth0 $IP1"
check "  the guest reads its hostname from the metadata service" wait_until 60 console_has "$VM1" "CIEL-GUEST metadata hostname vm-one"
assert "  and its key" console_has "$VM1" "CIEL-GUEST metadata key ssh-ed25519 vmnet-test-key"
check "  and runs its user data" wait_until 30 console_has "$VM1" "CIEL-GUEST says hello from user-data"
check "console log show vm-one shows the same" cmp_ console log show vm-one
    ok && assert "  hostname line" contains "$OUT" "metadata hostname vm-one"

step "3. a second server pings the first (same network, same host)"
printf '#!/bin/sh\nif ping -c 3 -W 3 %s >/dev/null; then echo "CIEL-GUEST ping %s ok"; else echo "CIEL-GUEST ping %s failed"; fi\n' "$IP1" "$IP1" "$IP1" >"$TMP/ud2"
check "server create vm-two --config-drive True --user-data (ping vm-one) --wait" \
    cmp_ server create --image guest --flavor m1.micro --network net1 --key-name k1 --config-drive True --user-data "$TMP/ud2" --wait vm-two -f json
    ok && VM2=$(jf "$OUT" 'd["id"]')
VM2=${VM2:-none}
check "  the guest reads its hostname from the config drive" wait_until 120 console_has "$VM2" "CIEL-GUEST config-drive hostname vm-two"
check "  vm-two pings vm-one at $IP1" wait_until 60 console_has "$VM2" "CIEL-GUEST ping $IP1 ok"
assert "  the config drive is an ISO labelled config-2" bash -c "blkid -o value -s LABEL $AGENT_DIR/vms/$VM2/config.iso | grep -qx config-2"

step "4. the metadata service answers each instance with its own data only"
NS=ciel-dhcp-$NET
check "  from vm-one's address: vm-one" ip netns exec "$NS" true
# A client inside the namespace, using vm-one's address, sees vm-one; an unknown address sees nothing.
ip -n "$NS" addr add "$IP1/32" dev lo 2>/dev/null || true
check "  GET /latest/meta-data/hostname from $IP1" ip netns exec "$NS" curl -s --fail --interface "$IP1" http://169.254.169.254/latest/meta-data/hostname
    ok && assert "  is vm-one" eq "$OUT" vm-one
check "  GET /openstack/latest/meta_data.json from $IP1" ip netns exec "$NS" curl -s --fail --interface "$IP1" http://169.254.169.254/openstack/latest/meta_data.json
    ok && assert "  uuid of vm-one" eq "$(jf "$OUT" 'd["uuid"]')" "$VM1"
ip -n "$NS" addr del "$IP1/32" dev lo 2>/dev/null || true
ip -n "$NS" addr add 10.30.0.250/32 dev lo 2>/dev/null || true
expect_fail "  an address no instance has gets 404" ip netns exec "$NS" curl -s --fail --interface 10.30.0.250 http://169.254.169.254/latest/meta-data/hostname
ip -n "$NS" addr del 10.30.0.250/32 dev lo 2>/dev/null || true

step "4b. the VNC console through the console proxy (websocket)"
check "console url show --novnc vm-one" cmp_ console url show --novnc vm-one -f json
    ok && CURL=$(jf "$OUT" 'd["url"]')
check "  the websocket reaches QEMU's VNC server (RFB greeting)" $PY "$HERE/tools/ws_first_message.py" "${CURL:-none}"
    ok && assert "  RFB 003.008" contains "$OUT" "RFB 003.008"
expect_fail "  a made-up token is refused" $PY "$HERE/tools/ws_first_message.py" "$BASE/compute/console/vnc?token=nope"

step "5. interfaces hot-plug into a running server (os-interface)"
tap_of() { echo "ctp$(echo "$1" | tr -d - | cut -c1-11)"; }
check "network create net2 + subnet" cmp_ network create net2 -f json
    ok && VNI2=$(jf "$OUT" 'd["provider:segmentation_id"]')
check "subnet create 10.31.0.0/24" cmp_ subnet create --network net2 --subnet-range 10.31.0.0/24 sub2
check "server add network vm-one net2" cmp_ server add network vm-one net2
check "  vm-one has two ports" cmp_ port list --server "$VM1" -f json
    ok && assert "  two" eq "$(jf "$OUT" 'len(d)')" 2
P2=$(cmp_ port list --server "$VM1" --network net2 -f value -c ID)
check "  the new port's tap is in net2's bridge and QEMU holds it (carrier up)" wait_until 30 bash -c \
    "ip link show $(tap_of "$P2") | grep -q 'master cbr-v$VNI2' && ip link show $(tap_of "$P2") | grep -q LOWER_UP"
check "  the port becomes ACTIVE" wait_until 30 bash -c "[ \"\$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK port show $P2 -f value -c status)\" = ACTIVE ]"
check "server remove network vm-one net2" cmp_ server remove network vm-one net2
check "  the port Nova created is deleted" wait_until 20 bash -c "! OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK port show $P2 >/dev/null 2>&1"
check "  its tap is gone" wait_until 20 bash -c "! ip link show $(tap_of "$P2") >/dev/null 2>&1"
check "port create own-port on net2 (the user's)" cmp_ port create --network net2 own-port -f json
    ok && P3=$(jf "$OUT" 'd["id"]')
check "server add port vm-one own-port" cmp_ server add port vm-one own-port
check "  QEMU holds its tap" wait_until 30 bash -c "ip link show $(tap_of "$P3") 2>/dev/null | grep -q LOWER_UP"
check "server remove port vm-one own-port" cmp_ server remove port vm-one own-port
check "  the user's port is kept, unbound" wait_until 20 bash -c "[ -z \"\$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK port show $P3 -f value -c device_id)\" ]"
check "port delete own-port" cmp_ port delete own-port
check "  no ports left on net2 but its DHCP port; subnet and network delete" bash -c \
    "OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK subnet delete sub2 && OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK network delete net2"
check "  net2's bridge is gone" wait_until 20 bash -c "! ip link show cbr-v$VNI2 >/dev/null 2>&1"

step "6. an agent restart changes nothing that is right"
BEFORE=$(ciel_links; ciel_netns; pgrep -f "dnsmasq.*$NET")
kill -KILL "$CIEL_PID"; wait "$CIEL_PID" 2>/dev/null || true
start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
CIEL_PID=$STARTED_PID
check "ciel up restarts (kill -9 before)" wait_ready "$BASE" "$CIEL_PID"
check "  the agent reconciles again" wait_until 30 bash -c "[ \$(grep -c 'registered with the controller' $LOG) -ge 2 ]"
sleep 2
assert "  same devices, namespace and dnsmasq process" eq "$(ciel_links; ciel_netns; pgrep -f "dnsmasq.*$NET")" "$BEFORE"

step "7. deleting the servers removes taps; deleting the network removes the rest"
check "server delete --wait vm-one vm-two" cmp_ server delete --wait vm-one vm-two
check "  no tap left" wait_until 20 bash -c "! ip -o link show | grep -q ctp"
check "  bridge, VXLAN device, DHCP namespace and dnsmasq gone" wait_until 20 bash -c \
    "[ -z \"\$(ip -o link show | grep -E 'cbr-|cvx-|cdh-')\" ] && ! ip netns list | grep -q ciel-dhcp- && ! pgrep -f '^dnsmasq.*$NET' >/dev/null"
check "subnet delete (the DHCP port does not keep it in use)" cmp_ subnet delete sub1
check "network delete" cmp_ network delete net1

finish

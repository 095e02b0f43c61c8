#!/usr/bin/env bash
# A hostile tenant against the data plane, on real QEMU guests (TCG) and real packets:
#  - ports with hostile allowed address pairs (not an IP, a number, an object, nftables
#    syntax) are refused by the API with Neutron's 400 and nothing is created;
#  - a hostile value forced into the database behind the API's back is isolated at the
#    agent: that one port fails closed (no traffic, status ERROR) while another project's
#    VM on the same host still gets its security groups (a blocked port stays blocked, a new
#    rule opens it, removing the rule closes it again), measured with real pings;
#  - the agent removes only what it made: namespaces named like its own but made by someone
#    else survive its reconciles.
#
# Usage: tests/cli/hostile_port.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as elsewhere)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=hostile-port-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

FOREIGN_R="ciel-r-00000000-f00f-4000-8000-$(printf '%012d' $RANDOM)"
FOREIGN_D="ciel-dhcp-00000000-f00f-4000-8000-$(printf '%012d' $RANDOM)"
foreign_cleanup() { ip netns del "$FOREIGN_R" 2>/dev/null || true; ip netns del "$FOREIGN_D" 2>/dev/null || true; }
trap 'foreign_cleanup; cleanup' EXIT

step "0. the test guest, ciel up (local agent, TCG), a second project"
check "build the small guest (Debian kernel + busybox initramfs)" "$REPO/tests/guest/build-small.sh" "$GUEST"
# Someone else's namespaces with Ciel's names (another agent's, a test's): never ours to remove.
ip netns add "$FOREIGN_R"
ip netns add "$FOREIGN_D"
start_cloud
register_guest "$GUEST" guest "console=ttyS0 quiet"
add_other_project
# The other project's token, for raw API calls.
ou_token() { ou token issue -f value -c id; }
check "  a token of the other project" ou_token
    ok && OTOK=$OUT
NET_URL=$BASE/network/v2.0

step "1. the API refuses hostile allowed address pairs (400, nothing created)"
check "network create bnet (other project)" ou network create bnet -f json
    ok && BNET=$(jf "$OUT" 'd["id"]')
check "subnet create 10.41.0.0/24" ou subnet create --network bnet --subnet-range 10.41.0.0/24 bsub
ports_of_bnet() { ou port list --network bnet -f value -c ID | wc -l; }
BEFORE=$(ports_of_bnet)
expect_fail "port create --allowed-address ip-address=not-an-ip" ou port create --network bnet --allowed-address ip-address=not-an-ip evil1
assert "  the CLI shows HTTP 400" has_status 400 "$ERR"
for aap in '"not-an-ip"' '12' '{"x": 1}' '"} ; flush ruleset ; table inet x {"' '"10.0.0.1\n"' '"10.0.0.0/33"'; do
    http POST "$NET_URL/ports" -H "X-Auth-Token: $OTOK" -H 'Content-Type: application/json' \
        -d "{\"port\": {\"network_id\": \"${BNET:-none}\", \"allowed_address_pairs\": [{\"ip_address\": $aap}]}}"
    assert "  ip_address $aap: 400 with a NeutronError body" bash -c \
        "[ '$HTTP_CODE' = 400 ] && grep -q NeutronError <<<'${HTTP_BODY//\'/}' || { echo '$HTTP_CODE ${HTTP_BODY//\'/}'; false; }"
done
http POST "$NET_URL/ports" -H "X-Auth-Token: $OTOK" -H 'Content-Type: application/json' \
    -d "{\"port\": {\"network_id\": \"${BNET:-none}\", \"allowed_address_pairs\": [{\"ip_address\": \"10.41.0.9\", \"mac_address\": \"01:00:5e:00:00:01\"}]}}"
assert "  a multicast MAC in a pair: 400" code_is 400
http POST "$NET_URL/ports" -H "X-Auth-Token: $OTOK" -H 'Content-Type: application/json' \
    -d "{\"port\": {\"network_id\": \"${BNET:-none}\", \"allowed_address_pairs\": \"10.41.0.9\"}}"
assert "  pairs that are not a list: 400" code_is 400
assert "  no port was created" eq "$(ports_of_bnet)" "$BEFORE"

step "2. the other project's VM, reachable while its rules allow it"
check "port create pb with a valid pair (10.41.0.100)" ou port create --network bnet --allowed-address ip-address=10.41.0.100 pb -f json
    ok && PB=$(jf "$OUT" 'd["id"]') && IPB=$(jf "$OUT" 'd["fixed_ips"][0]["ip_address"]')
PB=${PB:-none} IPB=${IPB:-none}
check "its default group allows ICMP in" ou security group rule create --protocol icmp --ingress default
check "server create bad (other project) --wait" ou server create --image guest --flavor m1.micro --port pb --wait bad -f json
    ok && VMB=$(jf "$OUT" 'd["id"]')
VMB=${VMB:-none}
check "  it gets its address" wait_until 120 console_has "$VMB" "CIEL-GUEST dhcp eth0 $IPB"
from_bnet() { ip netns exec "ciel-dhcp-$BNET" ping -c 1 -W 1 "$IPB" >/dev/null 2>&1; }
check "  it answers pings from its network" wait_until 20 from_bnet

step "3. the admin's VM on the same host, behind its default group"
check "network create anet" cmp_ network create anet -f json
    ok && ANET=$(jf "$OUT" 'd["id"]')
check "subnet create 10.40.0.0/24" cmp_ subnet create --network anet --subnet-range 10.40.0.0/24 asub
ADMIN_PROJECT=$(cmp_ project show admin -f value -c id)
ASG=$(cmp_ security group list --project "$ADMIN_PROJECT" -f value -c ID -c Name | awk '$2 == "default" {print $1}')
check "server create victim1 --wait" cmp_ server create --image guest --flavor m1.micro --network anet --wait victim1 -f json
    ok && V1=$(jf "$OUT" 'd["id"]')
V1=${V1:-none}
check "  its address" cmp_ port list --server "$V1" -f json
    ok && IPV1=$(jf "$OUT" 'd[0]["Fixed IP Addresses"][0]["ip_address"]')
check "  it boots" wait_until 120 console_has "$V1" "CIEL-GUEST dhcp eth0 ${IPV1:-none}"
from_anet() { ip netns exec "ciel-dhcp-$ANET" ping -c 1 -W 1 "$1" >/dev/null 2>&1; }
expect_fail "  no rule lets the network ping it" from_anet "${IPV1:-none}"

step "4. a hostile pair forced into the database: only that port is cut off"
# Behind the API's back, as a bug or an old release might have stored it.
check "force nftables syntax and a non-address into pb's pairs" "$VENV/bin/python" - "$DATA/ciel.db" "$PB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
bad = '[{"ip_address": "} ; flush ruleset ; table inet x {", "mac_address": "zz"}, {"ip_address": "not-an-ip"}]'
n = db.execute("UPDATE ports SET allowed_address_pairs = ? WHERE id = ?", (bad, sys.argv[2])).rowcount
db.commit()
sys.exit(0 if n == 1 else 1)
PY
# A new VM on the host makes a new desired state, with the bad port in it.
check "server create victim2 --wait" cmp_ server create --image guest --flavor m1.micro --network anet --wait victim2 -f json
    ok && V2=$(jf "$OUT" 'd["id"]')
V2=${V2:-none}
check "  its address" cmp_ port list --server "$V2" -f json
    ok && IPV2=$(jf "$OUT" 'd[0]["Fixed IP Addresses"][0]["ip_address"]') && PV2=$(jf "$OUT" 'd[0]["ID"]')
IPV2=${IPV2:-none}
check "  it boots" wait_until 120 console_has "$V2" "CIEL-GUEST dhcp eth0 $IPV2"
check "  the bad port goes to ERROR" wait_until 20 bash -c "[ \"\$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=other $OPENSTACK port show $PB -f value -c status)\" = ERROR ]"
check "  the agent reports why" grep -qa "$PB" "$LOG"
check "  the bad port gets no traffic any more (fails closed, although its rules allow ICMP)" wait_until 20 bash -c "! ip netns exec ciel-dhcp-$BNET ping -c 1 -W 1 $IPB >/dev/null 2>&1"
assert "  the host's ruleset holds no injected table" bash -c "! nft list tables | grep -q 'inet x'"
expect_fail "  victim2 (booted after the bad value) still gets its security group: no ping" from_anet "$IPV2"
expect_fail "  victim1 neither" from_anet "${IPV1:-none}"
check "security group rule create --protocol icmp (admin's default group)" cmp_ security group rule create --protocol icmp --ingress "${ASG:-default}" -f json
    ok && RULE=$(jf "$OUT" 'd["id"]')
check "  rule changes still apply: victim2 answers" wait_until 15 from_anet "$IPV2"
check "  and victim1" wait_until 15 from_anet "${IPV1:-none}"
check "security group rule delete" cmp_ security group rule delete "${RULE:-none}"
check "  victim2 is cut off again" wait_until 15 bash -c "! ip netns exec ciel-dhcp-$ANET ping -c 1 -W 1 $IPV2 >/dev/null 2>&1"
check "  the admin's port is ACTIVE" wait_until 20 bash -c "[ \"\$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK port show ${PV2:-none} -f value -c status)\" = ACTIVE ]"
expect_fail "  a port update with a bad pair is refused at the API" ou port set --name renamed --allowed-address ip-address=also-bad pb
check "  setting valid pairs through the API repairs the port" ou port set --no-allowed-address --allowed-address ip-address=10.41.0.100 pb
check "  and its traffic flows again" wait_until 20 from_bnet
check "  its status leaves ERROR" wait_until 20 bash -c "[ \"\$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=other $OPENSTACK port show $PB -f value -c status)\" = ACTIVE ]"

step "5. the agent removed only what it made"
assert "  the foreign router-like namespace survived" bash -c "ip netns list | grep -q '^$FOREIGN_R'"
assert "  the foreign DHCP-like namespace survived" bash -c "ip netns list | grep -q '^$FOREIGN_D'"
check "server delete bad victim1 victim2 --wait" cmp_ server delete --wait "$VMB" "$V1" "$V2"
check "network delete (pb, bnet, anet)" bash -c "OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=other $OPENSTACK port delete $PB && OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=other $OPENSTACK network delete bnet && OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK network delete anet"
check "  the agent removes its own DHCP namespaces" wait_until 30 bash -c "! ip netns list | grep -qE 'ciel-dhcp-($BNET|$ANET)'"
assert "  and still not the foreign ones" bash -c "ip netns list | grep -q '^$FOREIGN_R' && ip netns list | grep -q '^$FOREIGN_D'"
finish

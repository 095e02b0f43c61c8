#!/usr/bin/env bash
# End-to-end acceptance test of the Ciel network service (Neutron v2.0 API), driven by
# the real `openstack` CLI (python-openstackclient) plus curl for exact HTTP checks.
#
# Usage: tests/cli/network.sh
#   CIEL_BIN         ciel binary            (default: <repo>/target/release/ciel)
#   CIEL_TEST_CACHE  holds venv/ with python-openstackclient (default: ~/.cache/ciel-test)
#   KEEP_TMP=1       keep the temp dir (data dir, logs) for inspection
#
# Prints PASS/FAIL per check and a summary; exits non-zero if any check failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CIEL_BIN=${CIEL_BIN:-$REPO/target/release/ciel}
VENV=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}/venv
OPENSTACK=$VENV/bin/openstack
PY=python3

[[ -x $OPENSTACK ]] || { echo "openstack CLI not found at $OPENSTACK" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

CIEL_TEST_NAME=network-test
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"

# ------------------------------------------------------------- fixtures --
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
NET=$BASE/network/v2.0
AUTH_URL=$BASE/identity/v3
ADMIN_PW="Adm1n-$RANDOM$RANDOM"
SFX=$RANDOM
PA=net-a-$SFX PB=net-b-$SFX
UA=net-ua-$SFX UB=net-ub-$SFX
PW_A="ua-pw-$SFX" PW_B="ub-pw-$SFX"
echo "ciel: $CIEL_BIN  port: $PORT  tmp: $TMP"

# as project A's / B's member
ua() { as_user "$UA" "$PW_A" "$PA" "$@"; }
ub() { as_user "$UB" "$PW_B" "$PB" "$@"; }
# neutron_error TYPE STATUS: the last curl answer is a NeutronError of TYPE with STATUS
neutron_error() {
    eq "$HTTP_CODE" "$2" || { echo "body: $HTTP_BODY"; return 1; }
    eq "$(jf "$HTTP_BODY" 'd["NeutronError"]["type"]')" "$1"
}
id_of() { jf "$1" 'd["id"]'; }

step "0. ciel up with its default external network"
start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW"
CIEL_PID=$STARTED_PID
wait_ready "$BASE" "$CIEL_PID" || { cat "$LOG"; abort "ciel did not start"; }
pass "ciel up answers"
check "catalog lists the network service" adm catalog show network -f json
    ok && assert "  endpoint is $BASE/network" contains "$OUT" "$BASE/network"
check "network list --external" adm network list --external -f json
    ok && assert "  exactly the network 'public'" eq "$(jf "$OUT" '[n["Name"] for n in d]')" '["public"]'
PUBLIC=$(jf "$OUT" 'd[0]["ID"]' 2>/dev/null || echo "")
check "subnet list --network public" adm subnet list --network public -f json
    ok && assert "  public subnet 172.24.4.0/24" eq "$(jf "$OUT" '[s["Subnet"] for s in d]')" '["172.24.4.0/24"]'

step "1. projects and members"
for p in "$PA" "$PB"; do check "project create $p" adm project create "$p"; done
check "user create $UA" adm user create --password "$PW_A" "$UA"
check "user create $UB" adm user create --password "$PW_B" "$UB"
check "role add member $UA@$PA" adm role add --user "$UA" --project "$PA" member
check "role add member $UB@$PB" adm role add --user "$UB" --project "$PB" member

step "2. the OpenStack CLI workflow as project A"
check "network create netA" ua network create netA -f json
    ok && NETA=$(id_of "$OUT") && assert "  vxlan MTU 1450" eq "$(jf "$OUT" 'd["mtu"]')" 1450
check "subnet create --subnet-range 10.0.0.0/24" ua subnet create --network netA --subnet-range 10.0.0.0/24 subA -f json
    ok && SUBA=$(id_of "$OUT") && assert "  gateway 10.0.0.1" eq "$(jf "$OUT" 'd["gateway_ip"]')" 10.0.0.1
check "router create rA" ua router create rA -f json
    ok && ROUTER=$(id_of "$OUT")
check "router set --external-gateway public" ua router set --external-gateway public rA
check "router show: gateway on public with an address in 172.24.4.0/24" ua router show rA -f json
    ok && assert "  external_fixed_ips in 172.24.4.x" contains \
        "$(jf "$OUT" '[f["ip_address"] for f in d["external_gateway_info"]["external_fixed_ips"]]')" '"172.24.4.'
check "router add subnet rA subA" ua router add subnet rA subA
check "port create --fixed-ip ip-address=10.0.0.50" ua port create --network netA --fixed-ip subnet=subA,ip-address=10.0.0.50 pA -f json
    ok && PORTA=$(id_of "$OUT") && assert "  fixed IP 10.0.0.50" contains "$OUT" '10.0.0.50'
check "security group create sgA" ua security group create sgA -f json
    ok && SGA=$(id_of "$OUT")
check "security group rule create --protocol tcp --dst-port 22" ua security group rule create --protocol tcp --dst-port 22 sgA -f json
    ok && RULEA=$(id_of "$OUT") && assert "  22:22 tcp ingress" eq \
        "$(jf "$OUT" '[d["protocol"], d["port_range_min"], d["port_range_max"], d["direction"]]')" '["tcp", 22, 22, "ingress"]'
expect_fail "the same rule again is refused (409)" ua security group rule create --protocol tcp --dst-port 22 sgA
    assert "  SecurityGroupRuleExists 409" has_status 409 "$ERR"
check "port set --security-group sgA" ua port set --security-group sgA pA
check "floating ip create public" ua floating ip create public -f json
    ok && FIP=$(id_of "$OUT") && FIPADDR=$(jf "$OUT" 'd["floating_ip_address"]')
check "floating ip set --port pA" ua floating ip set --port pA "$FIP"
check "floating ip show: mapped to 10.0.0.50 via rA" ua floating ip show "$FIP" -f json
    ok && assert "  fixed_ip_address 10.0.0.50, router rA" eq \
        "$(jf "$OUT" '[d["fixed_ip_address"], d["router_id"]]')" "[\"10.0.0.50\", \"$ROUTER\"]"
for what in "network list" "subnet list" "router list" "port list" "security group list" \
    "security group rule list" "floating ip list"; do
    # shellcheck disable=SC2086
    check "$what" ua $what -f json
done
check "network show netA" ua network show netA -f json
    ok && assert "  lists subA" contains "$OUT" "$SUBA"
check "port list --fixed-ip ip-address=10.0.0.50" ua port list --fixed-ip ip-address=10.0.0.50 -f json
    ok && assert "  exactly pA" eq "$(jf "$OUT" '[p["ID"] for p in d]')" "[\"$PORTA\"]"

step "3. deleting what is in use is refused with Neutron's 409"
TOKA=""
auth_http "$BASE/identity" "$UA" "$PW_A" "$PA"; TOKA=$TOKEN
http DELETE "$NET/subnets/$SUBA" -H "X-Auth-Token: $TOKA"
assert "DELETE subnet with ports: 409 SubnetInUse" neutron_error SubnetInUse 409
http DELETE "$NET/networks/$NETA" -H "X-Auth-Token: $TOKA"
assert "DELETE network with ports: 409 NetworkInUse" neutron_error NetworkInUse 409
expect_fail "subnet delete subA via the CLI fails" ua subnet delete subA
    assert "  reports 409" has_status 409 "$ERR"
http DELETE "$NET/routers/$ROUTER" -H "X-Auth-Token: $TOKA"
assert "DELETE router with interfaces: 409 RouterInUse" neutron_error RouterInUse 409

step "4. 100 concurrent port creations on a /24"
check "network create busy" ua network create busy -f json
    ok && BUSY=$(id_of "$OUT")
# 10.1.0.0/24 with a 100-address pool: exactly 100 ports fit
check "subnet create with a 100-address pool" ua subnet create --network busy --subnet-range 10.1.0.0/24 \
    --allocation-pool start=10.1.0.10,end=10.1.0.109 busy-sub
check "quota set --ports 300 (default 500 leaves room anyway)" adm quota set --ports 300 "$PA"
mkdir -p "$TMP/ports"
CURLS=()
for i in $(seq 100); do
    curl -s -o "$TMP/ports/$i.json" -w '%{http_code}' -X POST "$NET/ports" -H "X-Auth-Token: $TOKA" \
        -H 'Content-Type: application/json' -d "{\"port\":{\"network_id\":\"$BUSY\",\"name\":\"p$i\"}}" \
        >"$TMP/ports/$i.code" &
    CURLS+=($!)
done
wait "${CURLS[@]}"
assert "all 100 answered 201" eq "$(for f in "$TMP"/ports/*.code; do cat "$f"; echo; done | sort | uniq -c | awk '{print $1" "$2}')" "100 201"
ADDRS=$(cat "$TMP"/ports/*.json | $PY -c 'import json,sys
for line in sys.stdin.read().replace("}{", "}\n{").splitlines():
    print(json.loads(line)["port"]["fixed_ips"][0]["ip_address"])' | sort -u | wc -l)
assert "100 distinct addresses" eq "$ADDRS" 100
http POST "$NET/ports" -H "X-Auth-Token: $TOKA" -H 'Content-Type: application/json' \
    -d "{\"port\":{\"network_id\":\"$BUSY\",\"name\":\"one-too-many\"}}"
assert "the 101st gets 409 IpAddressGenerationFailure" neutron_error IpAddressGenerationFailure 409
check "port list --network busy" ua port list --network busy -f json
    ok && assert "  still exactly 100 ports (nothing half-created)" eq "$(jf "$OUT" 'len(d)')" 100
    assert "  no port named one-too-many" lacks "$OUT" one-too-many

step "5. project B cannot see or use project A's resources"
check "B: network list" ub network list -f json
    ok && assert "  no netA" lacks "$OUT" "$NETA" && assert "  sees public (external)" contains "$OUT" "$PUBLIC"
expect_fail "B: network show netA" ub network show "$NETA"
expect_fail "B: port create on netA" ub port create --network "$NETA" intruder
check "B: port list" ub port list -f json
    ok && assert "  no pA" lacks "$OUT" "$PORTA"
expect_fail "B: port show pA" ub port show "$PORTA"
expect_fail "B: port delete pA" ub port delete "$PORTA"
check "B: security group list" ub security group list -f json
    ok && assert "  no sgA" lacks "$OUT" "$SGA"
expect_fail "B: security group rule delete of A's rule" ub security group rule delete "$RULEA"
expect_fail "B: port create with A's security group" ub port create --network public --security-group "$SGA" x
check "B: router list" ub router list -f json
    ok && assert "  no rA" lacks "$OUT" "$ROUTER"
expect_fail "B: router show rA" ub router show "$ROUTER"
expect_fail "B: router set rA --name stolen" ub router set --name stolen "$ROUTER"
check "B: floating ip list" ub floating ip list -f json
    ok && assert "  no A's floating IP" lacks "$OUT" "$FIP"
expect_fail "B: floating ip show A's" ub floating ip show "$FIP"
expect_fail "B: floating ip unset --port on A's" ub floating ip unset --port "$FIP"
check "admin: network create --share shared-net" adm network create --share shared-net -f json
    ok && SHARED=$(id_of "$OUT")
check "admin: subnet on shared-net" adm subnet create --network shared-net --subnet-range 10.9.0.0/24 shared-sub
check "B: sees shared-net" ub network show "$SHARED" -f json
check "B: port create on shared-net" ub port create --network shared-net b-port -f json
    ok && assert "  owned by B" eq "$(jf "$OUT" 'd["project_id"]')" "$(adm project show "$PB" -f value -c id)"
check "A: port list does not show B's port on the shared network" ua port list --network shared-net -f json
    ok && assert "  empty" eq "$(jf "$OUT" 'len(d)')" 0

step "6. subnet pools, tags"
check "subnet pool create" ua subnet pool create --pool-prefix 10.50.0.0/16 --default-prefix-length 26 poolA -f json
check "subnet create --subnet-pool (no range)" ua subnet create --network busy --subnet-pool poolA --ip-version 4 fromPool -f json
    ok && assert "  a /26 out of 10.50.0.0/16" eq "$(jf "$OUT" 'd["cidr"]')" 10.50.0.0/26
check "second subnet from the pool gets the next block" ua subnet create --network netA --subnet-pool poolA fromPool2 -f json
    ok && assert "  10.50.0.64/26" eq "$(jf "$OUT" 'd["cidr"]')" 10.50.0.64/26
expect_fail "subnet pool delete while in use" ua subnet pool delete poolA
check "network set --tag blue --tag prod netA" ua network set --tag blue --tag prod netA
check "network list --tags blue" ua network list --tags blue -f json
    ok && assert "  exactly netA" eq "$(jf "$OUT" '[n["ID"] for n in d]')" "[\"$NETA\"]"
check "network list --not-tags prod" ua network list --not-tags prod -f json
    ok && assert "  not netA" lacks "$OUT" "$NETA"

step "7. clean up in the right order"
check "floating ip delete" ua floating ip delete "$FIP"
check "port delete pA" ua port delete pA
check "router remove subnet" ua router remove subnet rA subA
check "router unset --external-gateway" ua router unset --external-gateway rA
check "router delete" ua router delete rA
check "subnet delete subA" ua subnet delete subA
check "network delete netA" ua network delete netA
check "security group delete sgA" ua security group delete sgA
expect_fail "the default security group cannot be deleted" ua security group delete default

# ------------------------------------------------------------------ summary --
finish

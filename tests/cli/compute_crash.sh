#!/usr/bin/env bash
# Crash convergence of compute on real QEMU (TCG): a controller-only `ciel up` and a separate
# `ciel agent`; ten servers are created and the agent, then (separately) `ciel up`, is killed
# with SIGKILL in the middle of booting them. After a restart every server must reach ACTIVE or
# ERROR, and no QEMU process, tap or VM directory may exist without its server. Also: a
# project with a quota of 3 instances gets exactly 3 out of 10 parallel creates.
#
# Usage: tests/cli/compute_crash.sh   (CIEL_BIN, CIEL_TEST_CACHE, CIEL_GUEST_DIR, KEEP_TMP=1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=compute-crash-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"
APORT=$(free_port)
AGENT_DIR=$TMP/agent-state
AGENT_LOG=$TMP/agent.log
DIAG_LOGS+=("$AGENT_LOG")
AGENT_PID=""

start_agent() {
    "$CIEL_BIN" agent --controller "$BASE" --join-token "$(cat "$DATA/agent-join-token")" --hostname hv1 \
        --state-dir "$AGENT_DIR" --driver qemu --virt-type qemu --listen "127.0.0.1:$APORT" >>"$AGENT_LOG" 2>&1 &
    AGENT_PID=$!
    EXTRA_PIDS+=("$AGENT_PID")
}
start_controller() {
    start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
    CIEL_PID=$STARTED_PID
    wait_ready "$BASE" "$CIEL_PID"
}
# Every server settled: none in BUILD (or any other transitional state).
settled() {
    local s
    s=$(cmp_ server list -f value -c Status) || return 1
    [[ -n $s ]] && ! grep -qvE '^(ACTIVE|ERROR)$' <<<"$s"
}
# QEMU processes, VM directories and taps compared with the servers the API has.
no_orphans() {
    local ids qemus dirs taps ports
    ids=$(cmp_ server list -f value -c ID | sort)
    qemus=$(pgrep -af "qemu-system-x86_64.*$AGENT_DIR" | sed -n 's/.*-uuid \([0-9a-f-]*\).*/\1/p' | sort)
    dirs=$(ls "$AGENT_DIR/vms" 2>/dev/null | sort)
    taps=$(ip -o link show | awk -F': ' '{print $2}' | grep '^ctp' | sort)
    ports=$(cmp_ port list --device-owner compute:nova -f value -c ID | tr -d - | cut -c1-11 | sed 's/^/ctp/' | sort)
    [[ $qemus == "$ids" ]] || { echo "QEMU processes [$qemus] vs servers [$ids]"; return 1; }
    [[ $dirs == "$ids" ]] || { echo "VM directories [$dirs] vs servers [$ids]"; return 1; }
    [[ $taps == "$ports" ]] || { echo "taps [$taps] vs ports [$ports]"; return 1; }
}

step "0. the test guest, a controller-only ciel up and a separate ciel agent"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
printf '[compute]\nagent = false\n' >"$TMP/ciel.toml"
start_controller || { cat "$LOG"; abort "ciel did not start"; }
pass "ciel up (no local agent) answers"
cp "$DATA/clouds.yaml" "$TMP/clouds.yaml"
start_agent
check "ciel agent joins with the join token" wait_until 30 grep -q "registered with the controller" "$AGENT_LOG"
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create" cmp_ network create crashnet
check "subnet create" cmp_ subnet create --network crashnet --subnet-range 10.40.0.0/24 crashsub
check "quota set --instances 20 --cores 20 admin" cmp_ quota set --instances 20 --cores 20 admin

step "1. kill -9 of the agent while ten servers boot"
check "server create --min 10 --max 10" cmp_ server create --image guest --flavor m1.nano --network crashnet --min 10 --max 10 a -f json
sleep 1
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
pass "agent killed (SIGKILL) with $(pgrep -fc "qemu-system-x86_64.*$AGENT_DIR" || true) of 10 QEMUs started"
check "  ten servers exist" bash -c "[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK server list -f value -c ID | wc -l) = 10 ]"
start_agent
check "  restarted agent: every server ACTIVE or ERROR" wait_until 240 settled
check "  all ten ACTIVE" bash -c "[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK server list --status ACTIVE -f value -c ID | wc -l) = 10 ]"
check "  no QEMU, VM directory or tap without its server" wait_until 30 no_orphans

step "2. kill -9 of ciel up while ten more servers boot"
check "server create --min 10 --max 10" cmp_ server create --image guest --flavor m1.nano --network crashnet --min 10 --max 10 b -f json
sleep 1
kill -KILL "$CIEL_PID"; wait "$CIEL_PID" 2>/dev/null || true
pass "ciel up killed (SIGKILL)"
start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
CIEL_PID=$STARTED_PID
check "ciel up restarts on the same data" wait_ready "$BASE" "$CIEL_PID"
check "  every server ACTIVE or ERROR" wait_until 240 settled
check "  all twenty ACTIVE" bash -c "[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK server list --status ACTIVE -f value -c ID | wc -l) = 20 ]"
check "  no QEMU, VM directory or tap without its server" wait_until 30 no_orphans

step "3. deleting everything leaves nothing behind"
# shellcheck disable=SC2046
check "server delete --wait (20)" cmp_ server delete --wait $(cmp_ server list -f value -c ID)
check "  no QEMU, VM directory or tap left" wait_until 60 no_orphans
assert "  no QEMU process at all" bash -c "! pgrep -f '[q]emu-system-x86_64.*$AGENT_DIR'"

step "4. quota of 3 instances, 10 parallel creates: exactly 3 succeed"
check "project create q3" cmp_ project create q3
check "role add admin on q3" cmp_ role add --user admin --project q3 admin
check "quota set --instances 3 q3" cmp_ quota set --instances 3 q3
sed "s|project_name: admin|project_name: q3|" "$TMP/clouds.yaml" >"$TMP/clouds-q3.yaml"
q3() { OS_CLIENT_CONFIG_FILE=$TMP/clouds-q3.yaml OS_CLOUD=ciel "$OPENSTACK" "$@"; }
check "network create in q3" q3 network create qnet
check "subnet create in q3" q3 subnet create --network qnet --subnet-range 10.41.0.0/24 qsub
CREATES=()
for i in $(seq 10); do
    (q3 server create --image guest --flavor m1.nano --network qnet "q-$i" >/dev/null 2>&1 && echo ok || echo refused) >"$TMP/q-$i" &
    CREATES+=($!)
done
for p in "${CREATES[@]}"; do wait "$p" || true; done
assert "  3 accepted" eq "$(cat "$TMP"/q-* | grep -c '^ok$')" 3
assert "  7 refused" eq "$(cat "$TMP"/q-* | grep -c '^refused$')" 7
check "  q3 has exactly 3 servers" q3 server list -f value -c ID
    ok && assert "  3" eq "$(grep -c . <<<"$OUT")" 3
# shellcheck disable=SC2046
check "clean up q3" q3 server delete --wait $(q3 server list -f value -c ID)

finish

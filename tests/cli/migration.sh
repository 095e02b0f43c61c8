#!/usr/bin/env bash
# Live migration with real QEMU guests (TCG) between two hypervisors: hv1 (`ciel up`, this
# namespace, 192.168.100.1, root disks as files) and hv2 (`ciel agent` in a namespace,
# 192.168.100.12, root disks on RBD), both on a real Ceph cluster (scripts/lib/ceph.sh). Each
# migrating guest pings a peer guest every 100 ms and rereads a mark it wrote on its disk
# every 2 s. It proves:
# - shared storage (an RBD root disk, hv2 -> hv1): only memory moves, the RBD image stays
#   (now owned by hv1, which deletes it with the server), the guest keeps running on hv1
#   with its data, its port follows (binding, l2 population), few pings are lost; and back
#   to hv2, the host it came from;
# - block migration (a local qcow2 root disk, hv1 -> hv2): the disk is mirrored over NBD,
#   the guest runs on hv2 with its data, hv1 keeps no copy;
# - the migration records (`server migration list`), and the API's refusals (to itself, a
#   shared-storage migration of a local disk);
# - cold migration: a qcow2 root disk is copied hv2 -> hv1 (the guest boots there from
#   the copy, its mark there), then reverted (it boots on hv2 again, hv1 drops its copy);
#   an RBD root disk moves hv2 -> hv1 without a copy and is confirmed (hv2 drops its stopped
#   copy, the RBD image kept and owned by hv1);
# - evacuation: hv2's agent and QEMUs are killed (kill -9), hv2 is forced down
#   (`compute service set --down`), and its server with an RBD root disk is rebuilt on hv1
#   from that disk, data kept; hv2's claim on the disk is broken (its client blocklisted),
#   and once hv2 is back it drops its stale copy without deleting the disk.
# Lost pings and QEMU's switchover downtime are printed.
#
# Usage: tests/cli/migration.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${CIEL_MIGRATION_INNER:-} != 1 ]]; then
    exec "$HERE/isolated.sh" env CIEL_MIGRATION_INNER=1 "$0" "$@"
fi

CIEL_TEST_NAME=migration-test
LISTEN_IP=192.168.100.1
HV2_IP=192.168.100.12
HV2_PORT=8779
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"
# shellcheck source=scripts/lib/ceph.sh
. "$REPO/scripts/lib/ceph.sh"
HV2_DIR=$TMP/hv2
HV2_LOG=$TMP/hv2-agent.log
CEPH_DIR=$TMP/ceph
DIAG_LOGS+=("$HV2_LOG")
HV2_PID=""

hv2_console_has() { grep -qa -- "$2" "$HV2_DIR/vms/$1/console.log" 2>/dev/null; }
rbd_() { rbd -c "$CEPH_TEMP_CONF" --id admin "$@"; }
host_of() { cmp_ server show "$1" -f value -c OS-EXT-SRV-ATTR:host 2>/dev/null; }
on_host() { [[ $(host_of "$1") == "$2" ]] && status_is "$1" ACTIVE; }
# in_ns PID_NS_OWNER VM: the VM's QEMU runs in that process's network namespace.
qemu_netns() { local pid; pid=$(pgrep -f "qemu-system-x86_64.*guest=$1" | head -n 1); [[ -n $pid ]] && readlink "/proc/$pid/ns/net"; }
in_hv2() { [[ $(qemu_netns "$1") == "$(readlink "/proc/$HV2_PID/ns/net")" ]]; }
in_hv1() { [[ $(qemu_netns "$1") == "$(readlink /proc/self/ns/net)" ]]; }
# Pings lost and sent on the host a VM migrated to: the sums over the guest's ping batches
# logged there (the batch running at the switchover ends there too), "LOST of SENT".
lost_pings() {
    grep -ha "CIEL-GUEST ping-batch" "$1" 2>/dev/null | tr -d '\r' |
        awk '{for (i = 1; i <= NF; i++) {if ($(i+1) == "packets" && $(i+2) == "transmitted,") t += $i;
              if ($(i+1) == "packets" && $(i+2) == "received,") r += $i}} END {if (t) print t - r " of " t}'
}
# figures LOG: the switchover downtime and total time of the last migration a host's log
# reports (its source side), colours stripped.
figures() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -a "ciel_agent.*live migration completed" | tail -n 1 |
        grep -oE '(downtime_ms|total_ms)=[0-9]+' | tr '\n' ' ' || true
}
# mover PEER MARK: writes MARK on its disk (at each boot: "mark already there" when the disk
# has it, e.g. after a cold migration copied it), then pings PEER every 100 ms in batches of 100
# (each batch's summary on the console) and rereads the mark from the disk (page cache
# dropped) every 2 s.
mover() {
    cat <<EOS
#!/bin/sh
if [ "\$(dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -n 1)" = "$2" ]; then echo "CIEL-GUEST mark already there"
else printf '%s\n' "$2" | dd of=/dev/vda bs=512 seek=8 conv=sync 2>/dev/null && sync && echo "CIEL-GUEST wrote mark"; fi
for i in \$(seq 120); do ping -c 1 -W 1 $1 >/dev/null && break; sleep 1; done
echo "CIEL-GUEST pinging $1"
( while true; do ping -i 0.1 -c 100 -W 1 $1 >/tmp/ping.out 2>&1
  echo "CIEL-GUEST ping-batch \$(grep 'packets transmitted' /tmp/ping.out)"; done ) &
( n=0; while true; do n=\$((n+1)); echo 3 >/proc/sys/vm/drop_caches
  echo "CIEL-GUEST tick \$n \$(dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -n 1)"; sleep 2; done ) &
EOS
}

step "0. the underlay, a Ceph cluster, hv1 (ciel up, file root disks) and hv2 (ciel agent, RBD root disks)"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
make_underlay
ceph_start=$SECONDS
if ceph_temp_start "$CEPH_DIR" "$LISTEN_IP"; then
    pass "a Ceph cluster on $LISTEN_IP is usable ($((SECONDS - ceph_start)) s)"
else
    abort "the Ceph cluster did not start"
fi
trap 'pkill -KILL -f "qemu-system-x86_64.*$TMP" 2>/dev/null || true; ceph_temp_stop "$CEPH_DIR" 2>/dev/null || true; cleanup' EXIT
start_cloud "underlay_ip = \"$LISTEN_IP\"" '[ceph]' "conf = \"$CEPH_TEMP_CONF\""
hv2_host_start || abort "hv2 did not start"
EXTRA_PIDS+=("$HV2_PID")
JOIN_TOKEN=$(cat "$DATA/agent-join-token")
start_hv2() {
    hv2_agent_start --ceph-conf "$CEPH_TEMP_CONF" --images-type rbd
    EXTRA_PIDS+=("$HV2_AGENT")
}
start_hv2
both_hypervisors() { [[ $(cmp_ hypervisor list -f value -c 'Hypervisor Hostname' | sort | tr '\n' ' ') == "hv1 hv2 " ]]; }
check "hypervisor list shows hv1 and hv2" wait_until 30 both_hypervisors
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create" cmp_ network create mnet
check "subnet create 10.46.0.0/24" cmp_ subnet create --network mnet --subnet-range 10.46.0.0/24 msub
PEER_IP=10.46.0.10
check "port create ppeer ($PEER_IP)" cmp_ port create --network mnet --fixed-ip "ip-address=$PEER_IP" ppeer
check "port create pshared" cmp_ port create --network mnet pshared
check "server create peer --availability-zone nova:hv1 --wait" cmp_ server create --image guest --flavor m1.micro \
    --port ppeer --availability-zone nova:hv1 --wait peer -f json
MARK_A="ciel-shared-$RANDOM$RANDOM" MARK_C="ciel-block-$RANDOM$RANDOM"
mover "$PEER_IP" "$MARK_A" >"$TMP/ud-a"
mover "$PEER_IP" "$MARK_C" >"$TMP/ud-c"
check "server create shared --availability-zone nova:hv2 (RBD root disk) --wait" cmp_ server create --image guest \
    --flavor m1.micro --port pshared --availability-zone nova:hv2 --user-data "$TMP/ud-a" --wait shared -f json
    ok && VA=$(jf "$OUT" 'd["id"]')
check "server create local --availability-zone nova:hv1 (file root disk) --wait" cmp_ server create --image guest \
    --flavor m1.micro --network mnet --availability-zone nova:hv1 --user-data "$TMP/ud-c" --wait local -f json
    ok && VC=$(jf "$OUT" 'd["id"]')
VA=${VA:-none} VC=${VC:-none}
check "  shared's root disk is vms/${VA}_disk" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls vms | grep -qx ${VA}_disk"
check "  shared pings the peer every 100 ms" wait_until 300 hv2_console_has "$VA" "CIEL-GUEST pinging $PEER_IP"
check "  local pings the peer every 100 ms" wait_until 300 console_has "$VC" "CIEL-GUEST pinging $PEER_IP"

step "1. live migration on shared storage: shared, hv2 -> hv1 (memory only)"
check "server migrate --live-migration --host hv1 shared (2.30)" cmp_ --os-compute-api-version 2.30 server migrate \
    --live-migration --host hv1 shared
check "  ACTIVE on hv1" wait_until 180 on_host shared hv1
check "  its QEMU runs in hv1's namespace" wait_until 30 in_hv1 "$VA"
check "  and no longer in hv2's" wait_until 30 bash -c "! pgrep -f 'qemu-system-x86_64.*guest=$VA' | xargs -r -I{} readlink /proc/{}/ns/net | grep -qx '$(readlink "/proc/$HV2_PID/ns/net")'"
check "  the guest goes on and rereads its mark from the RBD disk on hv1" wait_until 60 console_has "$VA" "tick [0-9]* $MARK_A"
check "  the RBD image is still there" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls vms | grep -qx ${VA}_disk"
check "  port pshared is bound to hv1" cmp_ port show pshared -f value -c binding_host_id
    ok && assert "  hv1" eq "$OUT" hv1
check "  port pshared ACTIVE" wait_until 30 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK port show pshared -f value -c status) == ACTIVE ]]"
check "  two ping batches end on hv1" wait_until 120 bash -c "[[ \$(grep -ac 'CIEL-GUEST ping-batch' $AGENT_DIR/vms/$VA/console.log) -ge 2 ]]"
LOST_A=$(lost_pings "$AGENT_DIR/vms/$VA/console.log" || true)
DOWN_A=$(figures "$HV2_LOG")
echo "  shared storage: lost pings ${LOST_A:-?} (at 100 ms); QEMU: ${DOWN_A:-?}"
assert "  at most 10 pings lost" bash -c "[[ -n '$LOST_A' && ${LOST_A%% *} -le 10 ]]"
check "server migration list --server shared: completed live-migration" cmp_ --os-compute-api-version 2.59 \
    server migration list --server shared -f json
    ok && assert "  completed, hv2 -> hv1" eq "$(jf "$OUT" '[(m["Status"], m["Source Node"], m["Dest Node"], m["Type"]) for m in d]')" \
        '[["completed", "hv2", "hv1", "live-migration"]]'

check "server migrate --live-migration --host hv2 shared: back where it came from" cmp_ --os-compute-api-version 2.30 \
    server migrate --live-migration --host hv2 shared
check "  ACTIVE on hv2" wait_until 180 on_host shared hv2
check "  its QEMU runs in hv2's namespace" wait_until 30 in_hv2 "$VA"
ticks_a=$(grep -ac "tick [0-9]* $MARK_A" "$HV2_DIR/vms/$VA/console.log" 2>/dev/null || true)
# A guest ticks every 2 s; a busy CI machine runs it under TCG beside other suites' guests.
check "  the guest goes on on hv2 with its mark" wait_until 120 bash -c \
    "[[ \$(grep -ac 'tick [0-9]* $MARK_A' $HV2_DIR/vms/$VA/console.log 2>/dev/null) -gt ${ticks_a:-0} ]]"
    ok || { echo "       | ticks before: ${ticks_a:-none}"; log_tail "$HV2_DIR/vms/$VA/console.log" 8
        grep -a "$VA" "$HV2_LOG" | tail -n 12 | sed 's/^/       | hv2: /'; grep -a "$VA" "$LOG" | tail -n 12 | sed 's/^/       | ciel: /'; }
check "  hv1 lets it go" wait_until 30 test ! -e "$AGENT_DIR/vms/$VA"
check "  the RBD image is still there" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls vms | grep -qx ${VA}_disk"

step "2. block migration: local, hv1 -> hv2 (the qcow2 overlay mirrored over NBD)"
expect_fail "server migrate --live-migration --shared-migration local: refused (its disk is local)" \
    cmp_ --os-compute-api-version 2.30 server migrate --live-migration --shared-migration --host hv2 local
    assert "  400" has_status 400 "$ERR"
expect_fail "server migrate --live-migration --host hv1 local: refused (its own host)" \
    cmp_ --os-compute-api-version 2.30 server migrate --live-migration --host hv1 local
    assert "  400" has_status 400 "$ERR"
check "server migrate --live-migration --block-migration --host hv2 local" cmp_ --os-compute-api-version 2.30 \
    server migrate --live-migration --block-migration --host hv2 local
check "  ACTIVE on hv2" wait_until 180 on_host local hv2
check "  its QEMU runs in hv2's namespace" wait_until 30 in_hv2 "$VC"
check "  the guest goes on and rereads its mark from the copied disk" wait_until 60 hv2_console_has "$VC" "tick [0-9]* $MARK_C"
check "  hv2 has the disk" test -f "$HV2_DIR/vms/$VC/disk.qcow2"
check "  hv1 keeps nothing of it" wait_until 30 test ! -e "$AGENT_DIR/vms/$VC"
check "  two ping batches end on hv2" wait_until 120 bash -c "[[ \$(grep -ac 'CIEL-GUEST ping-batch' $HV2_DIR/vms/$VC/console.log) -ge 2 ]]"
LOST_C=$(lost_pings "$HV2_DIR/vms/$VC/console.log" || true)
DOWN_C=$(figures "$LOG")
echo "  block migration: lost pings ${LOST_C:-?} (at 100 ms); QEMU: ${DOWN_C:-?}"
assert "  at most 10 pings lost" bash -c "[[ -n '$LOST_C' && ${LOST_C%% *} -le 10 ]]"
check "os-migrations lists all three (2.23)" cmp_ --os-compute-api-version 2.23 server migration list -f json
    ok && assert "  three completed live migrations" eq "$(jf "$OUT" 'sorted((m["Status"], m["Type"]) for m in d)')" \
        '[["completed", "live-migration"], ["completed", "live-migration"], ["completed", "live-migration"]]'

step "3. cold migration: local (qcow2 file) hv2 -> hv1 and reverted; shared (RBD) hv2 -> hv1 and confirmed"
check "server migrate --host hv1 local (2.56)" cmp_ --os-compute-api-version 2.56 server migrate --host hv1 local
check "  VERIFY_RESIZE on hv1" wait_until 240 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK server show local -f value -c status -c OS-EXT-SRV-ATTR:host | tr '\n' ' ') == 'hv1 VERIFY_RESIZE ' ]]"
check "  its QEMU runs in hv1's namespace" wait_until 30 in_hv1 "$VC"
check "  it booted on hv1 from the copied disk: its mark is there" wait_until 300 console_has "$VC" "CIEL-GUEST mark already there"
check "  hv2 keeps its stopped copy" test -f "$HV2_DIR/vms/$VC/disk.qcow2"
check "  no QEMU of it on hv2" bash -c "! pgrep -f 'qemu-system-x86_64.*guest=$VC' | xargs -r -I{} readlink /proc/{}/ns/net | grep -qx '$(readlink "/proc/$HV2_PID/ns/net")'"
check "  no disk server left on hv2" bash -c "! pgrep -f '[q]emu-nbd.*$VC'"
check "server migration list --server local: a migration hv2 -> hv1, finished" cmp_ --os-compute-api-version 2.59 \
    server migration list --server local -f json
    ok && assert "  finished, hv2 -> hv1, migration" eq "$(jf "$OUT" '[(m["Status"], m["Source Node"], m["Dest Node"], m["Type"]) for m in d if m["Type"] == "migration"]')" \
        '[["finished", "hv2", "hv1", "migration"]]'
check "server migrate revert local" cmp_ server migrate revert local
check "  ACTIVE on hv2" wait_until 240 on_host local hv2
check "  its QEMU runs in hv2's namespace again" wait_until 30 in_hv2 "$VC"
check "  it booted on hv2 from its own disk, mark there" wait_until 300 hv2_console_has "$VC" "CIEL-GUEST mark already there"
check "  hv1 drops its copy" wait_until 60 test ! -e "$AGENT_DIR/vms/$VC"
check "  the migration is reverted" cmp_ --os-compute-api-version 2.59 server migration list --server local -f json
    ok && assert "  reverted" eq "$(jf "$OUT" '[m["Status"] for m in d if m["Type"] == "migration"]')" '["reverted"]'
pings_a=$(grep -ac 'CIEL-GUEST pinging' "$AGENT_DIR/vms/$VA/console.log" 2>/dev/null || true)
check "server migrate shared (the scheduler picks hv1)" cmp_ server migrate shared
check "  VERIFY_RESIZE on hv1" wait_until 240 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK server show shared -f value -c status -c OS-EXT-SRV-ATTR:host | tr '\n' ' ') == 'hv1 VERIFY_RESIZE ' ]]"
check "  it booted on hv1 from the same RBD disk, mark there" wait_until 300 console_has "$VA" "CIEL-GUEST mark already there"
check "  hv1 owns the RBD disk now" test -f "$AGENT_DIR/vms/$VA/root-rbd"
check "server migrate confirm shared" cmp_ server migrate confirm shared
check "  ACTIVE on hv1" wait_until 60 on_host shared hv1
check "  hv2 drops its stopped copy" wait_until 60 test ! -e "$HV2_DIR/vms/$VA"
check "  without deleting the RBD disk" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls vms | grep -qx ${VA}_disk"
check "  port pshared is bound to hv1" cmp_ port show pshared -f value -c binding_host_id
    ok && assert "  hv1" eq "$OUT" hv1
check "  shared pings the peer again" wait_until 120 bash -c "[[ \$(grep -ac 'CIEL-GUEST pinging' $AGENT_DIR/vms/$VA/console.log) -gt ${pings_a:-0} ]]"

step "4. evacuation: hv2 dies (kill -9 of its agent and QEMUs) and is forced down; its server on RBD runs on hv1 with its data"
MARK_E="ciel-evacuated-$RANDOM$RANDOM"
mover "$PEER_IP" "$MARK_E" >"$TMP/ud-e"
check "server create ev --availability-zone nova:hv2 (RBD root disk) --wait" cmp_ server create --image guest \
    --flavor m1.micro --network mnet --availability-zone nova:hv2 --user-data "$TMP/ud-e" --wait ev -f json
    ok && VE=$(jf "$OUT" 'd["id"]')
VE=${VE:-none}
check "  it rereads its mark on hv2" wait_until 300 hv2_console_has "$VE" "tick [0-9]* $MARK_E"
kill -9 "$HV2_AGENT" 2>/dev/null || true
pkill -9 -f "qemu-system-x86_64.*$HV2_DIR" 2>/dev/null || true
check "  hv2's agent and QEMUs are gone" wait_until 10 bash -c "! pgrep -f '[q]emu-system-x86_64.*$HV2_DIR' >/dev/null"
expect_fail "server evacuate ev while hv2 still counts as up: refused" cmp_ server evacuate ev
    assert "  400" has_status 400 "$ERR"
check "compute service set --down hv2 nova-compute (2.11)" cmp_ --os-compute-api-version 2.11 compute service set --down hv2 nova-compute
check "  hv2 is down, forced" cmp_ --os-compute-api-version 2.11 compute service list --long --host hv2 -f json
    ok && assert "  down, forced_down" eq "$(jf "$OUT" '[(s["State"], s["Forced Down"]) for s in d]')" '[["down", true]]'
check "server evacuate ev" cmp_ server evacuate ev
check "  ACTIVE on hv1" wait_until 180 on_host ev hv1
check "  its QEMU runs in hv1's namespace" wait_until 30 in_hv1 "$VE"
check "  the guest rereads its mark from the same RBD disk on hv1" wait_until 300 console_has "$VE" "tick [0-9]* $MARK_E"
check "  hv2's claim on the disk was broken (its QEMU's client is blocklisted)" bash -c \
    "ceph -c $CEPH_TEMP_CONF --id admin osd blocklist ls 2>&1 | grep -q '$HV2_IP'"
check "server migration list --server ev: an evacuation hv2 -> hv1" cmp_ --os-compute-api-version 2.59 \
    server migration list --server ev -f json
    ok && assert "  done, hv2 -> hv1" eq "$(jf "$OUT" '[(m["Status"], m["Source Node"], m["Dest Node"], m["Type"]) for m in d]')" \
        '[["done", "hv2", "hv1", "evacuation"]]'
start_hv2
check "compute service set --up hv2 nova-compute" cmp_ --os-compute-api-version 2.11 compute service set --up hv2 nova-compute
check "  hv2 back: it drops its stale copy of ev" wait_until 120 test ! -e "$HV2_DIR/vms/$VE"
check "  without deleting ev's RBD disk" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls vms | grep -qx ${VE}_disk"
ticks_now=$(grep -ac "tick [0-9]* $MARK_E" "$AGENT_DIR/vms/$VE/console.log" || true)
check "  ev keeps running on hv1" wait_until 30 bash -c "[[ \$(grep -ac 'tick [0-9]* $MARK_E' $AGENT_DIR/vms/$VE/console.log) -gt $ticks_now ]]"

step "5. deleting: hv1 now owns shared's and ev's RBD disks and deletes them"
check "server delete shared local peer ev --wait" cmp_ server delete --wait shared local peer ev
check "  the vms pool is empty" wait_until 60 bash -c "[[ -z \$(rbd -c $CEPH_TEMP_CONF --id admin ls vms) ]]"

finish

#!/usr/bin/env bash
# Acceptance test of compute on real QEMU: `ciel up` with its embedded hypervisor agent (TCG),
# the small test guest registered as kernel + ramdisk + root disk images, and the real
# `openstack` CLI creating, stopping, starting, pausing, suspending, rebooting and deleting
# servers.
# The CLI finds the compute service through the Keystone catalog.
#
# Usage: tests/cli/compute.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=compute-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

# vm_pid ID: the QEMU process of server ID, if running
vm_pid() { pgrep -f "guest=$1" | head -n 1; }
count_markers() { grep -ac -- "$2" "$AGENT_DIR/vms/$1/console.log" 2>/dev/null || echo 0; }

step "0. the test guest, ciel up (local agent, TCG)"
check "build the small guest (Debian kernel + busybox initramfs)" "$REPO/tests/guest/build-small.sh" "$GUEST"
start_cloud
check "catalog lists compute at /compute/v2.1" cmp_ catalog show compute -f json
    ok && assert "  public endpoint" contains "$OUT" "$BASE/compute/v2.1"

step "1. images and a network"
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create" cmp_ network create vmnet
check "subnet create" cmp_ subnet create --network vmnet --subnet-range 10.20.0.0/24 vmsub
check "flavor list has m1.micro" cmp_ flavor show m1.micro

step "2. server create --wait reaches ACTIVE with a running QEMU"
# A counter that lives in the guest's memory only, printed every 2 s (step 4a: a resumed guest
# goes on counting from where it was suspended).
printf '%s\n' '#!/bin/sh' \
    '( n=0; while :; do n=$((n+1)); echo "CIEL-GUEST tick $n"; sleep 2; done ) </dev/null >/dev/console 2>&1 &' \
    >"$TMP/ticker"
check "server create --image guest --flavor m1.micro --network vmnet --user-data ticker --wait" \
    cmp_ server create --image guest --flavor m1.micro --network vmnet --user-data "$TMP/ticker" --wait vm1 -f json
    ok && VM=$(jf "$OUT" 'd["id"]') && assert "  ACTIVE" eq "$(jf "$OUT" 'd["status"]')" ACTIVE
VM=${VM:-none}
assert "a qemu-system-x86_64 process runs for it" test -n "$(vm_pid "$VM")"
check "the guest boots (console: CIEL-GUEST ready)" wait_until 90 console_has "$VM" "CIEL-GUEST ready"
assert "its root disk is the flavor's 1 GiB overlay" console_has "$VM" "vda 2097152 sectors"
check "hypervisor list" cmp_ hypervisor list -f json
    ok && assert "  hv1 is up, QEMU" eq "$(jf "$OUT" '[(h["Hypervisor Hostname"], h["State"], h["Hypervisor Type"]) for h in d]')" '[["hv1", "up", "QEMU"]]'
check "compute service list" cmp_ compute service list -f json
    ok && assert "  nova-compute on hv1 up" contains "$OUT" '"Host": "hv1"'
check "availability zone list --compute" cmp_ availability zone list --compute -f json
    ok && assert "  nova available" contains "$OUT" '"Zone Name": "nova"'
check "limits show --absolute" cmp_ limits show --absolute -f json
    ok && assert "  one instance, 1 core and 192 MiB used" eq \
        "$(jf "$OUT" '[r["Value"] for r in d if r["Name"] in ("total_cores_used","total_instances_used","total_ram_used")]')" '[1, 1, 192]'
check "quota set --instances 3 admin (os-quota-sets)" cmp_ quota set --instances 3 admin
check "limits show --absolute reflects it" cmp_ limits show --absolute -f json
    ok && assert "  max_total_instances 3" eq "$(jf "$OUT" '[r["Value"] for r in d if r["Name"] == "max_total_instances"]')" '[3]'
expect_fail "server create --min 3 --max 3 beyond the quota is refused" \
    cmp_ server create --image guest --flavor m1.micro --network vmnet --min 3 --max 3 over
    assert "  403" has_status 403 "$ERR"
check "  and created nothing" cmp_ server list -f json
    ok && assert "  still one server" eq "$(jf "$OUT" 'len(d)')" 1
check "console log show vm1 (os-getConsoleOutput through the agent)" cmp_ console log show vm1
    ok && assert "  shows the guest booting" contains "$OUT" "CIEL-GUEST ready"
check "console log show --lines 1" cmp_ console log show --lines 1 vm1
    ok && assert "  exactly one line" eq "$(printf '%s\n' "$OUT" | grep -c .)" 1
check "server list shows it" cmp_ server list -f json
    ok && assert "  vm1 ACTIVE with its port address" contains "$OUT" "10.20.0."
check "port list --server vm1" cmp_ port list --server "$VM" -f json
    ok && assert "  one port" eq "$(jf "$OUT" 'len(d)')" 1

step "3. another project cannot see, act on or read the console of it"
add_other_project
check "other: server list" ou server list -f json
    ok && assert "  does not show vm1" lacks "$OUT" "$VM"
expect_fail "other: server show vm1" ou server show "$VM"
    assert "  not found (the API answers 404)" contains "$ERR" "No Server found"
expect_fail "other: console log show vm1" ou console log show "$VM"
    assert "  not found" contains "$ERR" "No Server found"
expect_fail "other: server stop vm1" ou server stop "$VM"
expect_fail "other: server delete vm1" ou server delete "$VM"
check "vm1 is still ACTIVE" status_is vm1 ACTIVE

step "4. power actions change the QEMU process"
check "server stop" cmp_ server stop vm1
check "  SHUTOFF" wait_until 30 status_is vm1 SHUTOFF
assert "  no QEMU process" test -z "$(vm_pid "$VM")"
check "server start" cmp_ server start vm1
check "  ACTIVE" wait_until 30 status_is vm1 ACTIVE
assert "  QEMU runs again" test -n "$(vm_pid "$VM")"
check "server pause" cmp_ server pause vm1
check "  PAUSED" wait_until 30 status_is vm1 PAUSED
check "server unpause" cmp_ server unpause vm1
check "  ACTIVE" wait_until 30 status_is vm1 ACTIVE
check "  booted twice so far" wait_until 90 bash -c '[ "$(grep -ac "CIEL-GUEST booting" "$1")" -ge 2 ]' _ "$AGENT_DIR/vms/$VM/console.log"
PID_BEFORE=$(vm_pid "$VM")
check "server reboot --hard" cmp_ server reboot --hard vm1
check "  ACTIVE" wait_until 30 status_is vm1 ACTIVE
check "  the guest boots a third time (system_reset)" wait_until 90 bash -c '[ "$(grep -ac "CIEL-GUEST booting" "$1")" -ge 3 ]' _ "$AGENT_DIR/vms/$VM/console.log"
assert "  same QEMU process" eq "$(vm_pid "$VM")" "$PID_BEFORE"
expect_fail "unpause of an active server is refused (409)" cmp_ server unpause vm1
    assert "  409" has_status 409 "$ERR"

step "4a. suspend saves the guest's state to a file and ends QEMU; resume restores it"
# last_tick VM: the counter's last value since the guest last booted (0 before its first tick)
last_tick() {
    awk '/CIEL-GUEST booting/ {t = 0} match($0, /CIEL-GUEST tick [0-9]+/) {t = substr($0, RSTART + 16, RLENGTH - 16)}
        END {print t + 0}' "$AGENT_DIR/vms/$1/console.log"
}
ticked_to() { (($(last_tick "$1") >= $2)); }
# first_tick_after VM LINE WANT: the first counter line after console line LINE is WANT
first_tick_after() {
    [[ $(tail -n "+$(($2 + 1))" "$AGENT_DIR/vms/$1/console.log" | grep -ao "CIEL-GUEST tick [0-9]*" | head -n 1) == "CIEL-GUEST tick $3" ]]
}
check "  the guest's counter runs since its last boot (user-data)" wait_until 60 ticked_to "$VM" 3
BOOTS=$(count_markers "$VM" "CIEL-GUEST booting")
check "server suspend" cmp_ server suspend vm1
check "  SUSPENDED" wait_until 60 status_is vm1 SUSPENDED
assert "  no QEMU process" test -z "$(vm_pid "$VM")"
assert "  the guest's state is saved in the VM's directory" test -s "$AGENT_DIR/vms/$VM/suspended.state"
TICK=$(last_tick "$VM")
LINES=$(wc -l <"$AGENT_DIR/vms/$VM/console.log")
expect_fail "  pause of a suspended server is refused (409)" cmp_ server pause vm1
    assert "  409" has_status 409 "$ERR"
check "server resume" cmp_ server resume vm1
check "  ACTIVE" wait_until 60 status_is vm1 ACTIVE
assert "  QEMU runs again" test -n "$(vm_pid "$VM")"
check "  the counter goes on from ${TICK:-?} (memory restored, not rebooted)" \
    wait_until 30 first_tick_after "$VM" "$LINES" "$((${TICK:-0} + 1))"
assert "  no boot since the suspend" eq "$(count_markers "$VM" "CIEL-GUEST booting")" "$BOOTS"
assert "  the saved state is gone" test ! -e "$AGENT_DIR/vms/$VM/suspended.state"

step "4b. resize, rebuild and snapshot reach the hypervisor"
vm_args() { tr '\0' ' ' <"/proc/$(vm_pid "$1")/cmdline" 2>/dev/null; }
check "server resize --flavor m1.nano --wait" cmp_ server resize --flavor m1.nano --wait vm1
check "  VERIFY_RESIZE" wait_until 30 status_is vm1 VERIFY_RESIZE
assert "  QEMU restarted with the new flavor's 128 MiB" contains "$(vm_args "$VM")" "-m 128 "
check "server resize revert" cmp_ server resize revert vm1
check "  ACTIVE" wait_until 30 status_is vm1 ACTIVE
assert "  QEMU back at 192 MiB" contains "$(vm_args "$VM")" "-m 192 "
check "server resize --flavor m1.nano --wait, then confirm" cmp_ server resize --flavor m1.nano --wait vm1
check "server resize confirm" cmp_ server resize confirm vm1
check "  ACTIVE" wait_until 30 status_is vm1 ACTIVE
assert "  still 128 MiB" contains "$(vm_args "$VM")" "-m 128 "
check "image create guest-alt (same disk)" cmp_ image create --file "$GUEST/root.qcow2" --disk-format qcow2 \
    --container-format bare --property "kernel_id=$KID" --property "ramdisk_id=$RID" \
    --property "os_command_line=console=ttyS0 quiet" guest-alt -f json
    ok && ALT=$(jf "$OUT" 'd["id"]')
BOOTS=$(count_markers "$VM" "CIEL-GUEST booting")
check "server rebuild --image guest-alt --wait" cmp_ server rebuild --image guest-alt --wait vm1
check "  ACTIVE on guest-alt" cmp_ server show vm1 -f json
    ok && assert "  image is guest-alt" contains "$OUT" "${ALT:-none}"
check "  the guest boots again from the new disk" wait_until 90 bash -c '[ "$(grep -ac "CIEL-GUEST booting" "$1")" -gt "$2" ]' _ "$AGENT_DIR/vms/$VM/console.log" "$BOOTS"
check "server image create --wait (snapshot through the agent)" cmp_ server image create --name vm1-snap --wait vm1 -f json
    ok && SNAP=$(jf "$OUT" 'd["id"]')
check "  the snapshot is an active qcow2 image" cmp_ image show "${SNAP:-none}" -f json
    ok && assert "  active" eq "$(jf "$OUT" 'd["status"]')" active
check "  vm1 ACTIVE again" wait_until 30 status_is vm1 ACTIVE
check "server create --image vm1-snap --wait (the snapshot is bootable)" cmp_ server create --image vm1-snap \
    --flavor m1.micro --network vmnet --wait fromsnap -f json
    ok && SNAPVM=$(jf "$OUT" 'd["id"]')
check "  it boots" wait_until 90 console_has "${SNAPVM:-none}" "CIEL-GUEST booting"
check "  server delete fromsnap" cmp_ server delete --wait fromsnap

step "5. delete leaves nothing behind"
check "server delete --wait" cmp_ server delete --wait vm1
check "  no QEMU process" wait_until 20 bash -c '! pgrep -f "guest=$1" >/dev/null' _ "$VM"
check "  its directory (disk, sockets, log) is gone" wait_until 20 test ! -e "$AGENT_DIR/vms/$VM"
check "  its port is gone" cmp_ port list --network vmnet --device-owner compute:nova -f json
    ok && assert "  none" eq "$(jf "$OUT" 'len(d)')" 0

step "6. VMs outlive a crash of ciel up and are re-adopted"
check "server create vm2 --wait" cmp_ server create --image guest --flavor m1.micro --network vmnet --wait vm2 -f json
    ok && VM2=$(jf "$OUT" 'd["id"]')
VM2=${VM2:-none}
PID2=$(vm_pid "$VM2")
assert "vm2 runs" test -n "$PID2"
kill -KILL "$CIEL_PID"; wait "$CIEL_PID" 2>/dev/null || true
assert "kill -9 of ciel up: vm2's QEMU still runs" eq "$(vm_pid "$VM2")" "$PID2"
start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
CIEL_PID=$STARTED_PID
check "ciel up restarts on the same data dir" wait_ready "$BASE" "$CIEL_PID"
check "  vm2 still ACTIVE" wait_until 30 status_is vm2 ACTIVE
assert "  the same QEMU process (re-adopted, not restarted)" eq "$(vm_pid "$VM2")" "$PID2"
check "server delete vm2 --wait" cmp_ server delete --wait vm2
check "  no QEMU process" wait_until 20 bash -c '! pgrep -f "guest=$1" >/dev/null' _ "$VM2"

finish

#!/usr/bin/env bash
# Acceptance test of block storage with the real `openstack` CLI and real QEMU guests (TCG):
# a volume attached to a running VM appears in the guest as a new disk, the guest writes to
# it, it moves to a second VM which reads the same data back; it grows while attached and
# the guest sees the new size; snapshots and volumes made from them and from images; volume
# to image; the rules Cinder has (no delete while attached or with snapshots); another
# project can neither see nor touch it; deleting leaves no file behind.
#
# Usage: tests/cli/volume.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=volume-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

vol_status() { [[ $(cmp_ volume show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
snap_status() { [[ $(cmp_ volume snapshot show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
VOLDIR=$AGENT_DIR/volumes

step "0. the test guest, ciel up (local agent, TCG)"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
start_cloud
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create" cmp_ network create vnet
check "subnet create 10.40.0.0/24" cmp_ subnet create --network vnet --subnet-range 10.40.0.0/24 vsub

step "1. a volume"
check "volume create --size 1 data" cmp_ volume create --size 1 data -f json
    ok && VOL=$(jf "$OUT" 'd["id"]')
VOL=${VOL:-none}
check "  it becomes available" wait_until 30 vol_status data available
check "  its qcow2 file is on the host" test -f "$VOLDIR/$VOL.qcow2"
check "volume show data" cmp_ volume show data -f json
    ok && assert "  1 GiB, type __DEFAULT__, zone nova" eq "$(jf "$OUT" '"%s %s %s" % (d["size"], d["type"], d["availability_zone"])')" "1 __DEFAULT__ nova"
check "volume list" cmp_ volume list -f json
    ok && assert "  lists it" contains "$OUT" "$VOL"

step "2. attached to a running VM, the guest sees a new disk and writes to it"
MARK="ciel-volume-data-$RANDOM$RANDOM"
# The guest waits for the hot-plugged disk (vdb), writes the mark at its start, then reports
# every size change of the disk.
cat >"$TMP/writer" <<EOF
#!/bin/sh
for i in \$(seq 300); do [ -e /sys/block/vdb ] && break; sleep 1; done
echo "CIEL-GUEST volume vdb \$(cat /sys/block/vdb/size) sectors"
printf '%s\n' "$MARK" | dd of=/dev/vdb bs=512 conv=sync 2>/dev/null && sync && echo "CIEL-GUEST volume written"
last=\$(cat /sys/block/vdb/size)
( while [ -e /sys/block/vdb ]; do s=\$(cat /sys/block/vdb/size); [ "\$s" != "\$last" ] && echo "CIEL-GUEST volume vdb now \$s sectors" && last=\$s; sleep 1; done
  echo "CIEL-GUEST volume vdb gone" ) &
EOF
check "server create writer --wait" cmp_ server create --image guest --flavor m1.micro --network vnet \
    --user-data "$TMP/writer" --wait writer -f json
    ok && VM1=$(jf "$OUT" 'd["id"]')
VM1=${VM1:-none}
check "  the guest is up (its user data waits for the disk)" wait_until 120 console_has "$VM1" "CIEL-GUEST user-data start"
check "server add volume writer data" cmp_ server add volume writer data
check "  the volume goes in-use" wait_until 30 vol_status data in-use
check "volume show data" cmp_ volume show data -f json
    ok && assert "  attached to writer" eq "$(jf "$OUT" 'd["attachments"][0]["server_id"]')" "$VM1"
check "  the guest sees a 1 GiB disk vdb" wait_until 60 console_has "$VM1" "CIEL-GUEST volume vdb 2097152 sectors"
check "  and writes to it" wait_until 30 console_has "$VM1" "CIEL-GUEST volume written"
check "server volume list writer" cmp_ server volume list writer -f json
    ok && assert "  shows data on /dev/vdb" eq "$(jf "$OUT" '[(a["Volume ID"], a["Device"]) for a in d] == [("'"$VOL"'", "/dev/vdb")]')" True
expect_fail "volume delete data (attached)" cmp_ volume delete data
    assert "  refused with 400" has_status 400 "$ERR"
assert "  the volume is still there" vol_status data in-use

step "3. it grows while attached; the guest sees the new size"
check "volume set --size 2 data (microversion 3.42: extending in-use volumes)" cmp_ --os-volume-api-version 3.42 volume set --size 2 data
vol_size() { [[ $(cmp_ volume show "$1" -f value -c size 2>/dev/null) == "$2" ]]; }
check "  in-use again" wait_until 30 vol_status data in-use
assert "  at 2 GiB" vol_size data 2
check "  the guest's vdb is 2 GiB now" wait_until 30 console_has "$VM1" "CIEL-GUEST volume vdb now 4194304 sectors"

step "4. detached, then attached to a second VM that reads the same data"
check "server remove volume writer data" cmp_ server remove volume writer data
check "  available again" wait_until 30 vol_status data available
check "  the disk left the guest" wait_until 30 console_has "$VM1" "CIEL-GUEST volume vdb gone"
cat >"$TMP/reader" <<'EOF'
#!/bin/sh
for i in $(seq 300); do [ -e /sys/block/vdb ] && break; sleep 1; done
echo "CIEL-GUEST volume read $(dd if=/dev/vdb bs=512 count=1 2>/dev/null | head -n 1)"
( while [ -e /sys/block/vdb ]; do sleep 1; done; echo "CIEL-GUEST volume vdb gone" ) &
EOF
check "server create reader --wait" cmp_ server create --image guest --flavor m1.micro --network vnet \
    --user-data "$TMP/reader" --wait reader -f json
    ok && VM2=$(jf "$OUT" 'd["id"]')
VM2=${VM2:-none}
check "  the guest is up (its user data waits for the disk)" wait_until 120 console_has "$VM2" "CIEL-GUEST user-data start"
check "server add volume reader data" cmp_ server add volume reader data
check "  in-use" wait_until 30 vol_status data in-use
check "  the second guest reads what the first wrote" wait_until 60 console_has "$VM2" "CIEL-GUEST volume read $MARK"

step "4b. kill -9 of ciel up and its agent: the volume stays attached"
QPID=$(pgrep -f "guest=$VM2" | head -n 1)
kill -KILL "$CIEL_PID"; wait "$CIEL_PID" 2>/dev/null || true
start_ciel "$LOG" --data-dir "$DATA" --listen "$LISTEN_IP:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
CIEL_PID=$STARTED_PID
check "ciel up restarts on the same data dir" wait_ready "$BASE" "$CIEL_PID"
check "  the agent registers again" wait_until 20 bash -c "[ \$(grep -c 'registered with the controller' $LOG) -ge 2 ]"
sleep 3
assert "  the reader's QEMU is the same process" eq "$(pgrep -f "guest=$VM2" | head -n 1)" "${QPID:-none}"
check "  the volume is still in-use" wait_until 10 vol_status data in-use
assert "  the guest never lost the disk" bash -c "! grep -qa 'CIEL-GUEST volume vdb gone' $AGENT_DIR/vms/$VM2/console.log"

step "5. snapshots, and volumes from a snapshot, a volume and an image"
check "volume snapshot create --volume data snap (in use: --force)" cmp_ volume snapshot create --force --volume data snap -f json
    ok && SNAP=$(jf "$OUT" 'd["id"]')
SNAP=${SNAP:-none}
check "  available" wait_until 30 snap_status snap available
check "  taken by the reader's QEMU at a point in time (blockdev-backup), not copied beside it" \
    grep -aq "snapshot of an attached volume taken by its VM at a point in time" "$LOG"
check "volume backup create --force --name bk data (in use)" cmp_ volume backup create --force --name bk data -f json
bk_status() { [[ $(cmp_ volume backup show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
check "  available" wait_until 120 bk_status bk available
check "  read from a point-in-time copy the reader's QEMU made" grep -aq "read from a point-in-time copy its VM made" "$LOG"
check "volume backup delete bk" cmp_ volume backup delete bk
check "volume create --snapshot snap --size 3 fromsnap" cmp_ volume create --snapshot snap --size 3 fromsnap -f json
    ok && FROMSNAP=$(jf "$OUT" 'd["id"]')
check "  available" wait_until 30 vol_status fromsnap available
check "volume show fromsnap" cmp_ volume show fromsnap -f json
    ok && assert "  3 GiB, from the snapshot" eq "$(jf "$OUT" '"%s %s" % (d["size"], d["snapshot_id"])')" "3 $SNAP"
check "  its data is the volume's" bash -c "qemu-img convert -O raw $VOLDIR/${FROMSNAP:-none}.qcow2 $TMP/fromsnap.raw && head -c 200 $TMP/fromsnap.raw | grep -q $MARK"
check "volume create --source fromsnap clone" cmp_ volume create --source fromsnap clone
check "  available" wait_until 30 vol_status clone available
check "volume create --image guest --size 1 bootvol" cmp_ volume create --image guest --size 1 bootvol
check "  available" wait_until 60 vol_status bootvol available
check "volume show bootvol" cmp_ volume show bootvol -f json
    ok && assert "  bootable, with the image's metadata" eq "$(jf "$OUT" '"%s %s" % (str(d["bootable"]).lower(), d["volume_image_metadata"]["image_name"])')" "true guest"
expect_fail "volume delete data (it has a snapshot)" cmp_ volume delete data
    assert "  refused with 400" has_status 400 "$ERR"

step "6. a volume as an image"
check "image create --volume clone img-from-volume" cmp_ image create --volume clone --disk-format qcow2 img-from-volume -f json
check "  the image becomes active" wait_until 60 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK image show img-from-volume -f value -c status) == active ]]"
check "  the volume is available again" wait_until 30 vol_status clone available

step "6b. servers boot from volumes"
check "server create --image guest --boot-from-volume 1 bfv1 --wait" cmp_ server create --image guest --boot-from-volume 1 \
    --flavor m1.micro --network vnet --wait bfv1 -f json
    ok && BFV1=$(jf "$OUT" 'd["id"]')
BFV1=${BFV1:-none}
check "  it boots from its 1 GiB volume" wait_until 120 console_has "$BFV1" "CIEL-GUEST disk vda 2097152 sectors"
check "server show bfv1" cmp_ server show bfv1 -f json
    ok && ROOTVOL=$(jf "$OUT" 'd["volumes_attached"][0]["id"]')
ROOTVOL=${ROOTVOL:-none}
check "  its root volume is in-use, made from the image" cmp_ volume show "$ROOTVOL" -f json
    ok && assert "  in-use, bootable, attached to bfv1 as /dev/vda" eq \
        "$(jf "$OUT" '"%s %s %s %s" % (d["status"], str(d["bootable"]).lower(), d["attachments"][0]["server_id"], d["attachments"][0]["device"])')" "in-use true $BFV1 /dev/vda"
assert "  no local disk was made for it" bash -c "[ ! -e $AGENT_DIR/vms/$BFV1/disk.qcow2 ]"
check "server delete bfv1" cmp_ server delete --wait bfv1
check "  its volume stays, available" wait_until 30 vol_status "$ROOTVOL" available
check "server create --volume bootvol bfv2 (an existing volume)" cmp_ server create --volume bootvol \
    --flavor m1.micro --network vnet --wait bfv2 -f json
    ok && BFV2=$(jf "$OUT" 'd["id"]')
check "  it boots" wait_until 120 console_has "${BFV2:-none}" "CIEL-GUEST dhcp eth0"
assert "  bootvol is in-use" vol_status bootvol in-use
expect_fail "volume delete bootvol (a server boots from it)" cmp_ volume delete bootvol
check "server delete bfv2" cmp_ server delete --wait bfv2
check "  bootvol is available again" wait_until 30 vol_status bootvol available
check "volume delete the root volume of bfv1" cmp_ volume delete "$ROOTVOL"

step "7. another project cannot see, attach, snapshot or delete it"
add_other_project
check "other: volume list" ou volume list -f json
    ok && assert "  does not show data" lacks "$OUT" "$VOL"
expect_fail "other: volume show data" ou volume show "$VOL"
expect_fail "other: volume snapshot create of data" ou volume snapshot create --volume "$VOL" theirs
expect_fail "other: volume delete data" ou volume delete "$VOL"
check "other: network + server of its own" ou network create onet
check "  subnet" ou subnet create --network onet --subnet-range 10.41.0.0/24 osub
check "  server create ovm" ou server create --image guest --flavor m1.micro --network onet ovm
expect_fail "other: server add volume ovm data" ou server add volume ovm "$VOL"
assert "  data is untouched (in-use by reader)" vol_status data in-use
check "other: server delete ovm" ou server delete --wait ovm

step "7b. Cinder's attachment API (3.27): an attachment attaches for real, deleting it detaches"
v327() { cmp_ --os-volume-api-version 3.27 "$@"; }
check "volume attachment create clone --server writer" v327 volume attachment create clone --server writer -f json
    ok && ATT=$(jf "$OUT" 'd["ID"]')
ATT=${ATT:-none}
check "  the volume goes in-use (the writer's host hot-plugs it)" wait_until 30 vol_status clone in-use
check "volume attachment list" v327 volume attachment list -f json
    ok && assert "  lists it, attached to writer" eq "$(jf "$OUT" '("'"$ATT"'", "'"$VM1"'", "attached") in [(a["ID"], a["Server ID"], a["Status"]) for a in d]')" True
check "volume attachment show" v327 volume attachment show "$ATT" -f json
    ok && assert "  rw, local connection info" eq "$(jf "$OUT" '"%s %s" % (d["Attach Mode"], d["Properties"]["driver_volume_type"] if isinstance(d["Properties"], dict) else d["Properties"])')" "rw local"
check "other: volume attachment list" ou --os-volume-api-version 3.27 volume attachment list -f json
    ok && assert "  shows nothing of this project" eq "$OUT" "[]"
# (The CLI exits 0 even when the API answers 404 here, so the effect is what is checked.)
ou --os-volume-api-version 3.27 volume attachment delete "$ATT" >/dev/null 2>&1 || true
check "after other's volume attachment delete: the attachment is still there" v327 volume attachment show "$ATT" -f json
    ok && assert "  and attached" eq "$(jf "$OUT" 'd["Status"]')" attached
assert "  the volume is still in-use" vol_status clone in-use
expect_fail "volume attachment list at 3.0 (no such API below 3.27)" cmp_ --os-volume-api-version 3.0 volume attachment list
check "volume attachment delete" v327 volume attachment delete "$ATT"
check "  the volume is available again" wait_until 30 vol_status clone available

step "8. quotas"
check "quota set --volumes 4 (4 exist)" cmp_ quota set --volumes 4 admin
expect_fail "volume create --size 1 (a 5th volume)" cmp_ volume create --size 1 fifth
    assert "  refused with 413" has_status 413 "$ERR"

step "9. deleting everything leaves no file"
check "server remove volume reader data" cmp_ server remove volume reader data
check "  available" wait_until 30 vol_status data available
check "volume snapshot delete snap" cmp_ volume snapshot delete snap
check "  gone" wait_until 30 bash -c "! OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK volume snapshot show snap >/dev/null 2>&1"
check "volume delete data fromsnap clone bootvol" cmp_ volume delete data fromsnap clone bootvol
check "  all gone" wait_until 30 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK volume list -f value | wc -l) == 0 ]]"
check "  no volume or snapshot file is left" wait_until 10 bash -c "[[ \$(find $VOLDIR $AGENT_DIR/volume-snapshots -type f | wc -l) == 0 ]]"
check "server delete writer reader" cmp_ server delete --wait writer reader

finish

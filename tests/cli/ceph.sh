#!/usr/bin/env bash
# Shared storage on a real Ceph cluster (one monitor, one manager, one BlueStore OSD, cephx;
# scripts/lib/ceph.sh) with the real `openstack` CLI and real QEMU guests (TCG) on two
# hypervisors: hv1 (`ciel up`, this namespace, 192.168.100.1, where the monitor listens too)
# and hv2 (`ciel agent` in a namespace, 192.168.100.12), both with the cluster and
# `images_type = rbd`, and the image service's store in the images pool. It proves: images
# are RBD images with a protected snapshot; root disks are RBD images of the vms pool (no file
# on the host), copy-on-write clones of raw images; volumes of a `volume_backend_name=rbd` type are RBD images, grown while in use (the
# guest sees it); data a guest on hv1 writes is read by a guest on hv2 after detach/attach;
# snapshots are protected RBD snapshots, volumes from snapshots and from volumes are clones
# (`rbd info` shows their parents), a parent's deletion flattens its clones; volume to image;
# deleting everything empties the pools, and an image Ciel did not make is never touched;
# volume backups (`[backup] target = "rbd"`) are RBD snapshot diffs in the backups pool.
#
# Usage: tests/cli/ceph.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${CIEL_CEPH_INNER:-} != 1 ]]; then
    exec "$HERE/isolated.sh" env CIEL_CEPH_INNER=1 "$0" "$@"
fi

CIEL_TEST_NAME=ceph-test
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

vol_status() { [[ $(cmp_ volume show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
snap_status() { [[ $(cmp_ volume snapshot show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
gone() { ! cmp_ "$@" >/dev/null 2>&1; }
hv2_console_has() { grep -qa -- "$2" "$HV2_DIR/vms/$1/console.log" 2>/dev/null; }
# rbd as the test's admin (client.admin), and its JSON answers.
rbd_() { rbd -c "$CEPH_TEMP_CONF" --id admin "$@"; }
# parent_of POOL/IMAGE: "IMAGE@SNAPSHOT" of its parent, or nothing.
parent_of() {
    local j
    j=$(rbd_ info --format json "$1") || return 1
    jf "$j" '(d["parent"]["image"] + "@" + d["parent"]["snapshot"]) if "parent" in d else ""'
}

step "0. the underlay, a Ceph cluster on it, hv1 (ciel up) and hv2 (ciel agent), both with images_type rbd"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
make_underlay
ceph_start=$SECONDS
if ceph_temp_start "$CEPH_DIR" "$LISTEN_IP"; then
    pass "a Ceph cluster on $LISTEN_IP is usable ($((SECONDS - ceph_start)) s)"
else
    abort "the Ceph cluster did not start"
fi
# QEMU first (a guest blocks on a gone cluster), then the cluster, then the usual cleanup.
trap 'pkill -KILL -f "qemu-system-x86_64.*$TMP" 2>/dev/null || true; ceph_temp_stop "$CEPH_DIR" 2>/dev/null || true; cleanup' EXIT
check "rbd ls volumes works from hv2's namespace" ip netns exec hv2 rbd -c "$CEPH_TEMP_CONF" --id ciel ls volumes
# An image of the pool Ciel did not make: it must survive everything below.
check "rbd create volumes/not-ciel (someone else's image)" rbd_ create --size 16M volumes/not-ciel
HV1_METRICS_PORT=$(free_port)
start_cloud "underlay_ip = \"$LISTEN_IP\"" 'images_type = "rbd"' '[image]' 'store = "rbd"' '[ceph]' "conf = \"$CEPH_TEMP_CONF\"" '[backup]' 'target = "rbd"' \
    '[metrics]' "listen = \"127.0.0.1:$HV1_METRICS_PORT\""
ip netns exec hv2 unshare --mount --propagation private \
    bash -c 'mount -t tmpfs hv2-netns /run/netns && exec sleep infinity' &
HV2_PID=$!
EXTRA_PIDS+=("$HV2_PID")
sleep 0.5
JOIN_TOKEN=$(cat "$DATA/agent-join-token")
nsenter -t "$HV2_PID" -m -n "$CIEL_BIN" agent --controller "$BASE" --join-token "$JOIN_TOKEN" --hostname hv2 \
    --underlay-interface eth0 --listen "$HV2_IP:$HV2_PORT" --state-dir "$HV2_DIR" --driver qemu --virt-type qemu \
    --ceph-conf "$CEPH_TEMP_CONF" --images-type rbd --backup-target rbd >>"$HV2_LOG" 2>&1 &
EXTRA_PIDS+=("$!")
both_hypervisors() { [[ $(cmp_ hypervisor list -f value -c 'Hypervisor Hostname' | sort | tr '\n' ' ') == "hv1 hv2 " ]]; }
check "hypervisor list shows hv1 and hv2" wait_until 30 both_hypervisors
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "  the image is in the images pool, with its protected snapshot" bash -c \
    "rbd -c $CEPH_TEMP_CONF --id admin snap ls --format json images/$IMAGE_ID | grep -q '\"name\":\"snap\".*\"protected\":\"true\"'"
qemu-img convert -O raw "$GUEST/root.qcow2" "$TMP/root.raw"
check "image create guest-raw (raw: clones need raw data)" cmp_ image create --file "$TMP/root.raw" --disk-format raw \
    --container-format bare --property "kernel_id=$KID" --property "ramdisk_id=$RID" \
    --property "os_command_line=console=ttyS0 quiet" guest-raw -f json
    ok && RAW=$(jf "$OUT" 'd["id"]')
RAW=${RAW:-none}
check "network create" cmp_ network create cnet
check "subnet create 10.44.0.0/24" cmp_ subnet create --network cnet --subnet-range 10.44.0.0/24 csub
check "volume type create ceph (volume_backend_name=rbd)" cmp_ volume type create --property volume_backend_name=rbd ceph

step "1. a server's root disk is an RBD image of the vms pool: a clone of a raw image"
MARK="ciel-rbd-data-$RANDOM$RANDOM"
cat >"$TMP/writer" <<EOF
#!/bin/sh
echo "CIEL-GUEST root \$(cat /sys/block/vda/size) sectors"
for i in \$(seq 300); do [ -e /sys/block/vdb ] && break; sleep 1; done
echo "CIEL-GUEST volume vdb \$(cat /sys/block/vdb/size) sectors"
printf '%s\n' "$MARK" | dd of=/dev/vdb bs=512 conv=sync 2>/dev/null && sync && echo "CIEL-GUEST volume written"
last=\$(cat /sys/block/vdb/size)
( while [ -e /sys/block/vdb ]; do s=\$(cat /sys/block/vdb/size); [ "\$s" != "\$last" ] && echo "CIEL-GUEST volume vdb now \$s sectors" && last=\$s; sleep 1; done
  echo "CIEL-GUEST volume vdb gone" ) &
EOF
check "server create writer --image guest-raw --availability-zone nova:hv1 --wait" cmp_ server create --image guest-raw --flavor m1.micro \
    --network cnet --availability-zone nova:hv1 --user-data "$TMP/writer" --wait writer -f json
    ok && VM1=$(jf "$OUT" 'd["id"]')
VM1=${VM1:-none}
check "  it boots from RBD" wait_until 300 console_has "$VM1" "CIEL-GUEST user-data start"
check "  rbd ls vms: ${VM1}_disk" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls vms | grep -qx ${VM1}_disk"
assert "  no disk file on hv1" test ! -e "$AGENT_DIR/vms/$VM1/disk.qcow2"
check "  rbd info: a clone of images/$RAW@snap" parent_of "vms/${VM1}_disk"
    ok && assert "  parent" eq "$OUT" "$RAW@snap"
assert "  hv1 did not fetch the image (the clone reads nothing there)" test ! -e "$AGENT_DIR/images/$RAW"
check "  QEMU opened it with the rbd driver" bash -c "tr '\\0' ' ' </proc/\$(pgrep -f 'guest=$VM1' | head -n 1)/cmdline | grep -q '\"driver\":\"rbd\"'"

step "2. a volume on RBD, attached, written, grown while in use"
check "volume create --type ceph --size 1 data" cmp_ volume create --type ceph --size 1 data -f json
    ok && VOL=$(jf "$OUT" 'd["id"]')
VOL=${VOL:-none}
check "  available" wait_until 60 vol_status data available
check "  rbd info volumes/volume-$VOL: 1 GiB" bash -c "rbd -c $CEPH_TEMP_CONF --id admin info --format json volumes/volume-$VOL | grep -q '\"size\":1073741824'"
check "server add volume writer data" cmp_ server add volume writer data
check "  in-use" wait_until 30 vol_status data in-use
check "  the guest sees a 1 GiB disk" wait_until 60 console_has "$VM1" "CIEL-GUEST volume vdb 2097152 sectors"
check "  and writes to it" wait_until 30 console_has "$VM1" "CIEL-GUEST volume written"
check "volume set --size 2 data (in use, 3.42)" cmp_ --os-volume-api-version 3.42 volume set --size 2 data
check "  the guest sees 2 GiB" wait_until 60 console_has "$VM1" "CIEL-GUEST volume vdb now 4194304 sectors"
check "  rbd info: 2 GiB" bash -c "rbd -c $CEPH_TEMP_CONF --id admin info --format json volumes/volume-$VOL | grep -q '\"size\":2147483648'"
check "  in-use again" wait_until 30 vol_status data in-use
# rbd_pool_metric KIND: hv1's agent's ciel_storage_bytes of the rbd backend (ceph df, as client.ciel).
rbd_pool_metric() {
    curl -sf "http://127.0.0.1:$HV1_METRICS_PORT/metrics" |
        awk -v k="kind=\"$1\"" 'index($1, "ciel_storage_bytes{") == 1 && index($1, "backend=\"rbd\"") && index($1, k) { print $2 }'
}
RBD_FREE=$(rbd_pool_metric free)
ADMIN_FREE=$(ceph -c "$CEPH_TEMP_CONF" --id admin df --format json |
    $PY -c 'import json,sys; print([p["stats"]["max_avail"] for p in json.load(sys.stdin)["pools"] if p["name"] == "volumes"][0])')
echo "  hv1's agent: volumes pool size $(rbd_pool_metric size), free $RBD_FREE; ceph df as admin: free $ADMIN_FREE"
assert "hv1's agent metrics: the volumes pool's free space is what ceph df (as admin) says, within 5 %" \
    $PY -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if b > 0 and abs(a - b) <= 0.05 * b else 1)' "${RBD_FREE:-0}" "${ADMIN_FREE:-0}"

step "3. detached on hv1, attached to a server on hv2: the data is there"
check "server remove volume writer data" cmp_ server remove volume writer data
check "  available" wait_until 30 vol_status data available
check "  the disk left the guest" wait_until 30 console_has "$VM1" "CIEL-GUEST volume vdb gone"
# The reader reads the first block of every disk attached as vdb, each time one comes.
cat >"$TMP/reader" <<'EOF'
#!/bin/sh
( while true; do
    for i in $(seq 300); do [ -e /sys/block/vdb ] && break; sleep 1; done
    echo "CIEL-GUEST volume read $(dd if=/dev/vdb bs=512 count=1 2>/dev/null | head -n 1)"
    while [ -e /sys/block/vdb ]; do sleep 1; done; echo "CIEL-GUEST volume vdb gone"
  done ) &
EOF
check "server create reader --availability-zone nova:hv2 --wait" cmp_ server create --image guest --flavor m1.micro \
    --network cnet --availability-zone nova:hv2 --user-data "$TMP/reader" --wait reader -f json
    ok && VM2=$(jf "$OUT" 'd["id"]')
VM2=${VM2:-none}
check "  it boots on hv2 from RBD" wait_until 300 hv2_console_has "$VM2" "CIEL-GUEST user-data start"
check "  its disk (from the qcow2 image) is a copy, no clone" parent_of "vms/${VM2}_disk"
    ok && assert "  no parent" eq "$OUT" ""
check "server add volume reader data" cmp_ server add volume reader data
check "  in-use" wait_until 30 vol_status data in-use
check "  the guest on hv2 reads what the guest on hv1 wrote" wait_until 60 hv2_console_has "$VM2" "CIEL-GUEST volume read $MARK"
check "server remove volume reader data" cmp_ server remove volume reader data
check "  available" wait_until 30 vol_status data available
check "  the disk left the guest on hv2" wait_until 30 hv2_console_has "$VM2" "CIEL-GUEST volume vdb gone"

step "4. snapshots are RBD snapshots; volumes from them and from volumes are clones"
check "volume snapshot create --volume data snap" cmp_ volume snapshot create --volume data snap -f json
    ok && SNAP=$(jf "$OUT" 'd["id"]')
SNAP=${SNAP:-none}
check "  available" wait_until 30 snap_status snap available
check "  rbd snap ls: snapshot-$SNAP, protected" bash -c "rbd -c $CEPH_TEMP_CONF --id admin snap ls --format json volumes/volume-$VOL | grep -q '\"name\":\"snapshot-$SNAP\".*\"protected\":\"true\"'"
check "volume create --snapshot snap fromsnap" cmp_ volume create --snapshot snap fromsnap -f json
    ok && FROMSNAP=$(jf "$OUT" 'd["id"]')
FROMSNAP=${FROMSNAP:-none}
check "  available" wait_until 60 vol_status fromsnap available
check "  rbd info: its parent is volume-$VOL@snapshot-$SNAP" parent_of "volumes/volume-$FROMSNAP"
    ok && assert "  parent" eq "$OUT" "volume-$VOL@snapshot-$SNAP"
check "volume create --source data fromvol" cmp_ volume create --source data fromvol -f json
    ok && FROMVOL=$(jf "$OUT" 'd["id"]')
FROMVOL=${FROMVOL:-none}
check "  available" wait_until 60 vol_status fromvol available
check "  rbd info: its parent is volume-$VOL@clone-$FROMVOL" parent_of "volumes/volume-$FROMVOL"
    ok && assert "  parent" eq "$OUT" "volume-$VOL@clone-$FROMVOL"
check "server add volume reader fromsnap" cmp_ server add volume reader fromsnap
check "  the clone holds the data (read on hv2)" wait_until 60 bash -c "grep -ac 'CIEL-GUEST volume read $MARK' $HV2_DIR/vms/$VM2/console.log | grep -qx 2"
check "server remove volume reader fromsnap" cmp_ server remove volume reader fromsnap
check "  available" wait_until 30 vol_status fromsnap available

step "5. volume to image, image to volume"
check "volume create --image guest-raw --type ceph --size 1 fromimg" cmp_ volume create --image guest-raw --type ceph --size 1 fromimg -f json
    ok && FROMIMG=$(jf "$OUT" 'd["id"]')
FROMIMG=${FROMIMG:-none}
check "  available" wait_until 120 vol_status fromimg available
check "  rbd info: a clone of images/$RAW@snap" parent_of "volumes/volume-$FROMIMG"
    ok && assert "  parent" eq "$OUT" "$RAW@snap"
check "image create --volume fromimg img-of-volume" cmp_ image create --volume fromimg --disk-format qcow2 img-of-volume
check "  the image becomes active" wait_until 120 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK image show img-of-volume -f value -c status) == active ]]"
IOV=$(cmp_ image show img-of-volume -f value -c id 2>/dev/null || echo none)
check "  it is in the images pool" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls images | grep -qx $IOV"
check "image save img-of-volume (served from the pool's copy)" cmp_ image save --file "$TMP/iov.qcow2" img-of-volume
check "  the same bytes as the volume" qemu-img compare -f qcow2 -F raw "$TMP/iov.qcow2" "$TMP/root.raw"
check "  fromimg is available again" wait_until 60 vol_status fromimg available

step "5a. an image snapshot of a server on RBD is made inside the cluster (raw, flattened, no copy over HTTP)"
check "server image create --wait --name writer-snap writer" cmp_ server image create --wait --name writer-snap writer -f json
SNAPIMG=$(cmp_ image show writer-snap -f value -c id 2>/dev/null || echo none)
check "  active, raw" bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK image show writer-snap -f value -c status -c disk_format | tr '\\n' ' ') == 'raw active ' ]]"
check "  rbd ls images: $SNAPIMG" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls images | grep -qx $SNAPIMG"
check "  flattened: no parent" parent_of "images/$SNAPIMG"
    ok && assert "  no parent" eq "$OUT" ""
check "  with its protected snapshot" bash -c "rbd -c $CEPH_TEMP_CONF --id admin snap ls --format json images/$SNAPIMG | grep -q '\"name\":\"snap\".*\"protected\":\"true\"'"
check "  the root disk keeps no snapshot" bash -c "[[ \$(rbd -c $CEPH_TEMP_CONF --id admin snap ls --format json vms/${VM1}_disk) == '[]' ]]"
check "  the server's snapshot task is over" wait_until 30 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK server show writer -f value -c OS-EXT-STS:task_state) == None ]]"
check "image save writer-snap" cmp_ image save --file "$TMP/snap.raw" writer-snap
check "  the root disk's data (the image the guest booted from)" qemu-img compare -f raw -F raw "$TMP/snap.raw" "$TMP/root.raw"

step "5b. backups in the Ceph backups pool: RBD volumes as snapshot diffs in one chain image, restored whole"
bk_status() { [[ $(cmp_ volume backup show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
rbd_sum() { rbd_ export --no-progress "$1" - | sha256sum | cut -d' ' -f1; }
RBD_DATA="rbd:volumes/volume-$VOL:conf=$CEPH_TEMP_CONF:id=admin"
check "write 1 MiB of 0x55 at 64 MiB into volume-$VOL (qemu-io)" qemu-io -f raw -c "write -P 0x55 64M 1M" "$RBD_DATA"
AT_FULL=$(rbd_sum "volumes/volume-$VOL")
check "volume backup create --name rbfull data" cmp_ volume backup create --name rbfull data -f json
    ok && BFULL=$(jf "$OUT" 'd["id"]')
BFULL=${BFULL:-none}
check "  available" wait_until 120 bk_status rbfull available
check "  rbd ls backups: backup-$BFULL" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls backups | grep -qx backup-$BFULL"
check "  the volume keeps its snapshot backup-$BFULL for the next incremental" bash -c \
    "rbd -c $CEPH_TEMP_CONF --id admin snap ls volumes/volume-$VOL | grep -q backup-$BFULL"
check "write 1 MiB of 0x66 at 128 MiB" qemu-io -f raw -c "write -P 0x66 128M 1M" "$RBD_DATA"
check "volume backup create --incremental --name rbinc data" cmp_ volume backup create --incremental --name rbinc data -f json
    ok && BINC=$(jf "$OUT" 'd["id"]')
BINC=${BINC:-none}
check "  available" wait_until 120 bk_status rbinc available
check "  one chain image with two backup snapshots" bash -c \
    "[[ \$(rbd -c $CEPH_TEMP_CONF --id admin ls backups | wc -l) == 1 && \$(rbd -c $CEPH_TEMP_CONF --id admin snap ls backups/backup-$BFULL | grep -c backup-) == 2 ]]"
check "volume backup show rbinc" cmp_ volume backup show rbinc -f json
    ok && assert "  incremental" eq "$(jf "$OUT" 'd["is_incremental"]')" True
expect_fail "volume backup delete rbfull (rbinc builds on it)" cmp_ volume backup delete rbfull
    assert "  refused with 400" has_status 400 "$ERR"
check "volume backup restore rbinc rbrestored" cmp_ volume backup restore rbinc rbrestored
check "  available" wait_until 120 vol_status rbrestored available
RBR=$(cmp_ volume show rbrestored -f value -c id 2>/dev/null || echo none)
check "  an RBD volume with the source's bytes" eq "$(rbd_sum "volumes/volume-$RBR")" "$(rbd_sum "volumes/volume-$VOL")"
check "volume backup restore --force rbfull rbrestored (onto it)" cmp_ volume backup restore --force rbfull rbrestored
check "  available" wait_until 120 vol_status rbrestored available
check "  the bytes of the volume at the full backup" eq "$(rbd_sum "volumes/volume-$RBR")" "$AT_FULL"
check "volume create --size 1 filevol (a file volume, backed up to the pool too)" cmp_ volume create --size 1 filevol
check "  available" wait_until 60 vol_status filevol available
check "volume backup create --name fbk filevol" cmp_ volume backup create --name fbk filevol -f json
    ok && FBK=$(jf "$OUT" 'd["id"]')
FBK=${FBK:-none}
check "  available, an image of its own" wait_until 120 bk_status fbk available
check "  rbd ls backups: backup-$FBK" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls backups | grep -qx backup-$FBK"
check "volume backup delete rbinc fbk" cmp_ volume backup delete rbinc fbk
backups_gone() { gone volume backup show rbinc && gone volume backup show fbk; }
check "  gone" wait_until 60 backups_gone
check "volume backup delete rbfull" cmp_ volume backup delete rbfull
check "  gone" wait_until 60 gone volume backup show rbfull
check "  the backups pool is empty" wait_until 30 bash -c "[[ -z \$(rbd -c $CEPH_TEMP_CONF --id admin ls backups) ]]"
check "  the volume's backup snapshots went with them" bash -c "! rbd -c $CEPH_TEMP_CONF --id admin snap ls volumes/volume-$VOL | grep -q backup-"
check "volume delete rbrestored filevol" cmp_ volume delete rbrestored filevol
restored_gone() { gone volume show rbrestored && gone volume show filevol; }
check "  gone" wait_until 60 restored_gone

step "6. deleting: a parent snapshot's clone is flattened first; everything goes, nothing else"
check "volume snapshot delete snap (fromsnap is its clone)" cmp_ volume snapshot delete snap
check "  the snapshot is gone" wait_until 60 gone volume snapshot show snap
check "  fromsnap was flattened: no parent" parent_of "volumes/volume-$FROMSNAP"
    ok && assert "  no parent" eq "$OUT" ""
check "volume delete data (fromvol is its clone)" cmp_ volume delete data
check "  gone" wait_until 60 gone volume show data
check "  fromvol was flattened: no parent" parent_of "volumes/volume-$FROMVOL"
    ok && assert "  no parent" eq "$OUT" ""
check "volume delete fromsnap fromvol fromimg" cmp_ volume delete fromsnap fromvol fromimg
check "  gone" wait_until 60 bash -c "! OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK volume list -f value -c Name | grep -q ."
check "  the volumes pool holds only the image Ciel did not make" wait_until 30 bash -c "[[ \$(rbd -c $CEPH_TEMP_CONF --id admin ls volumes | tr '\\n' ' ') == 'not-ciel ' ]]"
check "server delete --wait writer reader" cmp_ server delete --wait writer reader
check "  the vms pool is empty" wait_until 30 bash -c "[[ -z \$(rbd -c $CEPH_TEMP_CONF --id admin ls vms) ]]"
check "image delete guest-raw img-of-volume writer-snap" cmp_ image delete guest-raw img-of-volume writer-snap
check "  they left the images pool" bash -c "! rbd -c $CEPH_TEMP_CONF --id admin ls images | grep -qE '^($RAW|$IOV|$SNAPIMG)\$'"

finish

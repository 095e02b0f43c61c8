#!/usr/bin/env bash
# Acceptance test of the LVM thin storage backend with the real `openstack` CLI. The test
# machines' kernel has no device-mapper, so the LVM host is a storage-node guest (Debian's
# kernel under TCG, tests/guest/build-storage.sh): its disk is an LVM thin pool, and it runs
# `ciel agent` with `--lvm-volume-group/--lvm-thin-pool` (and the fake hypervisor driver: it
# runs no VMs, only its storage is under test), joined to `ciel up` over QEMU's user network.
# The guest prints its logical volumes on its console whenever they change; the test reads
# them there. hv1 (ciel up's own agent) offers only the file backend.
#
# Usage: tests/cli/isolated.sh tests/cli/volume_lvm.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=volume-lvm-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

STORAGE_GUEST=${CIEL_STORAGE_GUEST_DIR:-$CACHE/storage-guest}
CONSOLE=$TMP/storage-console.log
DIAG_LOGS+=("$CONSOLE")
vol_status() { [[ $(cmp_ volume show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
snap_status() { [[ $(cmp_ volume snapshot show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
# The storage guest's logical volumes, as it last printed them: "[ name size name size ]".
lvs_now() { grep -a "CIEL-LVS" "$CONSOLE" | tail -n 1 | tr -d '\r'; }
lvs_has() { [[ $(lvs_now) == *"$1 $2"* ]]; }
lvs_lacks() { [[ $(lvs_now) != *"$1"* ]]; }
lvs_is() { [[ $(lvs_now) == "CIEL-LVS [$1]" ]]; }

step "0. ciel up (hv1: file backend) and a storage node with an LVM thin pool"
check "build the storage guest (Debian kernel with dm-thin-pool, LVM tools, this ciel)" \
    "$REPO/tests/guest/build-storage.sh" "$CIEL_BIN" "$STORAGE_GUEST"
# Samples every 5 s: the storage node's graphs show its thin pool soon.
start_cloud '[usage]' 'interval = 5'
FWD=$(free_port)
qemu-img create -q -f qcow2 "$TMP/pv.qcow2" 4G
qemu-system-x86_64 -accel tcg -m 1024 -nodefaults -display none -no-user-config \
    -kernel "$STORAGE_GUEST/vmlinuz" -initrd "$STORAGE_GUEST/initrd.img" \
    -append "console=ttyS0 quiet ciel.controller=http://10.0.2.2:$PORT ciel.join=$(cat "$DATA/agent-join-token") ciel.hostname=storage1 ciel.agent_url=http://127.0.0.1:$FWD" \
    -serial "file:$CONSOLE" -drive "file=$TMP/pv.qcow2,if=virtio,format=qcow2" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$FWD-:8779" -device virtio-net-pci,netdev=n0 \
    >"$TMP/storage-qemu.log" 2>&1 &
EXTRA_PIDS+=($!)
check "  the guest makes its thin pool" wait_until 120 grep -qa "CIEL-STORAGE thin pool ready" "$CONSOLE"
check "  its agent joins the controller" wait_until 60 grep -qa "registered with the controller" "$CONSOLE"
if ! grep -qa "CIEL-STORAGE thin pool ready" "$CONSOLE" || ! grep -qa "registered with the controller" "$CONSOLE"; then
    # Nothing after this can pass without the storage node: say why it is missing and stop.
    echo "-- the storage guest's console (last 40 lines):"; tail -n 40 "$CONSOLE" | tr -d '\r' | sed 's/^/   /'
    echo "-- its QEMU:"; tail -n 10 "$TMP/storage-qemu.log" | sed 's/^/   /'
    finish
fi
check "hypervisor list" cmp_ hypervisor list -f json
    ok && STORAGE_HOST=$(jf "$OUT" '[h["ID"] for h in d if h["Hypervisor Hostname"] == "storage1"][0]') \
    && HV1=$(jf "$OUT" '[h["ID"] for h in d if h["Hypervisor Hostname"] == "hv1"][0]')
STORAGE_HOST=${STORAGE_HOST:-none} HV1=${HV1:-none}
assert "  storage1 and hv1 are up" eq "$(jf "$OUT" '" ".join(sorted("%s:%s" % (h["Hypervisor Hostname"], h["State"]) for h in d))')" "hv1:up storage1:up"

step "1. a volume type selects the backend"
check "volume type create lvm --property volume_backend_name=lvm" cmp_ volume type create lvm --property volume_backend_name=lvm
expect_fail "volume type create ceph --property volume_backend_name=ceph (no such backend)" \
    cmp_ volume type create ceph --property volume_backend_name=ceph
    assert "  refused with 400" has_status 400 "$ERR"
check "volume create --size 1 plain (default type)" cmp_ volume create --size 1 plain -f json
    ok && PLAIN=$(jf "$OUT" 'd["id"]')
check "  available" wait_until 30 vol_status plain available
check "volume show plain" cmp_ volume show plain -f json
    ok && assert "  on hv1's file backend" eq "$(jf "$OUT" 'd["os-vol-host-attr:host"]')" "hv1@file#file"

step "2. an LVM volume is a thin logical volume of the pool"
check "volume create --type lvm --size 1 thin1" cmp_ volume create --type lvm --size 1 thin1 -f json
    ok && V1=$(jf "$OUT" 'd["id"]')
V1=${V1:-none}
check "  available" wait_until 60 vol_status thin1 available
check "volume show thin1" cmp_ volume show thin1 -f json
    ok && assert "  on storage1's lvm backend, type lvm" eq "$(jf "$OUT" '"%s %s" % (d["os-vol-host-attr:host"], d["type"])')" "storage1@lvm#lvm lvm"
check "  the guest's pool holds ciel-volume-$V1 of 1 GiB" wait_until 20 lvs_has "ciel-volume-$V1" 1.00g
check "volume set --size 2 thin1" cmp_ volume set --size 2 thin1
check "  available again at 2 GiB" wait_until 60 vol_status thin1 available
check "  the logical volume is 2 GiB" wait_until 20 lvs_has "ciel-volume-$V1" 2.00g

step "3. data: image -> volume -> thin snapshot -> clones -> image, the bytes survive"
MARK="ciel-lvm-mark-$RANDOM$RANDOM"
{ printf '%s\n' "$MARK"; head -c 1048000 /dev/zero; } >"$TMP/mark.raw"
check "image create mark (raw, starts with the mark)" cmp_ image create --file "$TMP/mark.raw" --disk-format raw --container-format bare mark
check "volume create --type lvm --image mark --size 1 fromimage" cmp_ volume create --type lvm --image mark --size 1 fromimage -f json
    ok && V2=$(jf "$OUT" 'd["id"]')
V2=${V2:-none}
check "  available" wait_until 60 vol_status fromimage available
assert "  bootable" eq "$(cmp_ volume show fromimage -f json | jf "$(cat)" 'str(d["bootable"]).lower()')" "true"
check "volume snapshot create --volume fromimage snap" cmp_ volume snapshot create --volume fromimage snap -f json
    ok && S1=$(jf "$OUT" 'd["id"]')
S1=${S1:-none}
check "  available" wait_until 60 snap_status snap available
check "  a thin snapshot ciel-snapshot-$S1 in the pool" wait_until 20 lvs_has "ciel-snapshot-$S1" 1.00g
check "volume create --snapshot snap --size 2 fromsnap" cmp_ volume create --snapshot snap --size 2 fromsnap -f json
    ok && V3=$(jf "$OUT" 'd["id"]')
V3=${V3:-none}
check "  available" wait_until 60 vol_status fromsnap available
check "  its logical volume is 2 GiB" wait_until 20 lvs_has "ciel-volume-$V3" 2.00g
check "volume create --source fromimage clone" cmp_ volume create --source fromimage clone -f json
    ok && V4=$(jf "$OUT" 'd["id"]')
V4=${V4:-none}
check "  available" wait_until 60 vol_status clone available
check "  its logical volume is 1 GiB" wait_until 20 lvs_has "ciel-volume-$V4" 1.00g
check "image create --volume clone back (volume -> image)" cmp_ image create --volume clone --disk-format raw back
img_active() { [[ $(cmp_ image show back -f value -c status 2>/dev/null) == active ]]; }
# 1 GiB from a TCG guest through QEMU's user network: about 2 minutes alone, several when the
# other block storage suites share the two cores.
check "  the image becomes active (the guest streams the device through qemu-img)" wait_until 600 img_active
check "image save back" cmp_ image save --file "$TMP/back.raw" back
assert "  its first line is the mark" eq "$(head -n 1 "$TMP/back.raw")" "$MARK"
assert "  it is the volume's size (1 GiB)" eq "$(stat -c %s "$TMP/back.raw")" 1073741824
check "  the clone is available again" wait_until 60 vol_status clone available

# storage1_storage: the latest "size used" of storage1's graph (the file and lvm backends summed).
storage1_storage() {
    local token
    token=$(cmp_ token issue -f value -c id) || return 1
    curl -sf -H "X-Auth-Token: $token" "$BASE/ciel/v1/hosts/storage1/samples?period=hour" |
        $PY -c 'import json,sys; p=json.load(sys.stdin)["points"]; print(p[-1]["storage_size_bytes"], p[-1]["storage_used_bytes"]) if p else sys.exit(1)'
}
check "storage1's graph counts its thin pool (ciel/v1/hosts/storage1/samples)" wait_until 30 storage1_storage
    ok && echo "  size and used: $OUT bytes"
    ok && assert "  over 3 GiB in all (the 3.6 GiB pool), some of it used" \
        $PY -c 'import sys; s, u = map(int, sys.argv[1].split()); sys.exit(0 if s > 3 * 2**30 and 0 < u < s else 1)' "$OUT"

step "4. rules"
expect_fail "volume delete fromimage (it has a snapshot)" cmp_ volume delete fromimage
    assert "  refused with 400" has_status 400 "$ERR"
expect_fail "volume retype thin1 to __DEFAULT__ (the data would move to another backend)" \
    cmp_ volume set --type __DEFAULT__ --retype-policy never thin1
    assert "  refused with 400 (another backend)" has_status 400 "$ERR"
assert "  thin1 stays of type lvm" eq "$(cmp_ volume show thin1 -f value -c type)" lvm

step "5. deleting leaves nothing in the pool"
check "volume delete fromsnap clone thin1" cmp_ volume delete fromsnap clone thin1
check "volume snapshot delete snap" cmp_ volume snapshot delete snap
gone_snap() { ! cmp_ volume snapshot show snap >/dev/null 2>&1; }
check "  the snapshot is gone" wait_until 60 gone_snap
check "volume delete fromimage plain" cmp_ volume delete fromimage plain
no_volumes() { [[ $(cmp_ volume list -f value -c ID | wc -l) == 0 ]]; }
check "  no volume is left" wait_until 60 no_volumes
check "  the pool holds no Ciel logical volume" wait_until 30 lvs_is ""
assert "  no volume file left on hv1" eq "$(find "$AGENT_DIR/volumes" -type f 2>/dev/null | wc -l)" 0

finish

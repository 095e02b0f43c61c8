#!/usr/bin/env bash
# Cinder volume migration with real data, the real `openstack` CLI and a real Ceph cluster
# (scripts/lib/ceph.sh) on two hypervisors: hv1 (`ciel up`, this namespace, 192.168.100.1)
# and hv2 (`ciel agent` in a namespace, 192.168.100.12), both with `file` and `rbd` volumes
# and RBD root disks. A volume gets data written at three places (qemu-io) and a raw copy of
# its whole contents is kept; after each move the volume's new place holds exactly those
# contents (`qemu-img compare`) and the old copy is gone. It proves:
# - file -> rbd on the holding host (`volume set --type ceph --retype-policy on-demand`);
#   `--retype-policy never` is refused;
# - rbd -> file on the other host (`volume migrate --host`): that host reads the pool, the
#   old owner removes the RBD image;
# - file on one host -> file on the other (`volume migrate --host`): the holding host serves
#   the volume over NBD (qemu-nbd) to the copying host, and stops serving after;
# - the API's refusals (same host, unknown host, an attached volume to another host's disk);
# - the way to live migration for a server with a local volume: refused while the volume is
#   local, then the volume moves to rbd while attached (retyped: the guest's QEMU mirrors the
#   disk into the pool and switches to it, the same QEMU process, the guest reading on) and
#   the server live-migrates to hv2, where the guest reads the volume's mark.
#
# Usage: tests/cli/volume_migration.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${CIEL_VOLMIG_INNER:-} != 1 ]]; then
    exec "$HERE/isolated.sh" env CIEL_VOLMIG_INNER=1 "$0" "$@"
fi

CIEL_TEST_NAME=volume-migration-test
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

rbd_() { rbd -c "$CEPH_TEMP_CONF" --id admin "$@"; }
hv2_console_has() { grep -qa -- "$2" "$HV2_DIR/vms/$1/console.log" 2>/dev/null; }
vol_field() { cmp_ volume show "$1" -f value -c "$2" 2>/dev/null; }
vol_status() { [[ $(vol_field "$1" status) == "$2" ]]; }
# migrated VOLUME HOST: the volume's migration succeeded and it is on HOST (host@backend#pool)
# (openstacksdk shows Cinder's `migration_status` under its admin attribute's name).
migrated() { [[ $(vol_field "$1" os-vol-mig-status-attr:migstat) == success && $(vol_field "$1" os-vol-host-attr:host) == "$2" ]] && vol_status "$1" available; }
# place_of VOLUME: what qemu-img opens for its data where the API says it is.
place_of() {
    local id host
    id=$(vol_field "$1" id)
    host=$(vol_field "$1" os-vol-host-attr:host)
    case $host in
        hv1@file*) echo "$AGENT_DIR/volumes/$id.qcow2" ;;
        hv2@file*) echo "$HV2_DIR/volumes/$id.qcow2" ;;
        *@rbd*) echo "rbd:volumes/volume-$id:conf=$CEPH_TEMP_CONF:id=admin" ;;
        *) echo "unknown-place-$host" ;;
    esac
}
# same_data VOLUME: its data where the API says it is are the contents kept in $TMP/VOLUME.raw.
same_data() { qemu-img compare -q -U -f raw "$TMP/$1.raw" "$(place_of "$1")"; }
other_host() { [[ $1 == hv1 ]] && echo hv2 || echo hv1; }

step "0. the underlay, a Ceph cluster, hv1 (ciel up) and hv2 (ciel agent), both with file and rbd volumes"
check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
make_underlay
ceph_start=$SECONDS
if ceph_temp_start "$CEPH_DIR" "$LISTEN_IP"; then
    pass "a Ceph cluster on $LISTEN_IP is usable ($((SECONDS - ceph_start)) s)"
else
    abort "the Ceph cluster did not start"
fi
# The NBD servers the agents started for migrations, by their pid files.
stop_exports() { local f; for f in "$AGENT_DIR"/volume-migrations/*.pid "$HV2_DIR"/volume-migrations/*.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null; done; return 0; }
trap 'pkill -KILL -f "qemu-system-x86_64.*$TMP" 2>/dev/null || true; stop_exports || true; ceph_temp_stop "$CEPH_DIR" 2>/dev/null || true; cleanup' EXIT
start_cloud "underlay_ip = \"$LISTEN_IP\"" 'images_type = "rbd"' '[ceph]' "conf = \"$CEPH_TEMP_CONF\""
ip netns exec hv2 unshare --mount --propagation private \
    bash -c 'mount -t tmpfs hv2-netns /run/netns && exec sleep infinity' &
HV2_PID=$!
EXTRA_PIDS+=("$HV2_PID")
sleep 0.5
JOIN_TOKEN=$(cat "$DATA/agent-join-token")
nsenter -t "$HV2_PID" -m -n "$CIEL_BIN" agent --controller "$BASE" --join-token "$JOIN_TOKEN" --hostname hv2 \
    --underlay-interface eth0 --listen "$HV2_IP:$HV2_PORT" --state-dir "$HV2_DIR" --driver qemu --virt-type qemu \
    --ceph-conf "$CEPH_TEMP_CONF" --images-type rbd >>"$HV2_LOG" 2>&1 &
EXTRA_PIDS+=("$!")
both_hypervisors() { [[ $(cmp_ hypervisor list -f value -c 'Hypervisor Hostname' | sort | tr '\n' ' ') == "hv1 hv2 " ]]; }
check "hypervisor list shows hv1 and hv2" wait_until 30 both_hypervisors
check "volume type create local (volume_backend_name=file)" cmp_ volume type create --property volume_backend_name=file local
check "volume type create ceph (volume_backend_name=rbd)" cmp_ volume type create --property volume_backend_name=rbd ceph
check "volume service list: file and rbd on both hosts" cmp_ volume service list -f value -c Host
    ok && assert "  hv1@file hv1@rbd hv2@file hv2@rbd" eq "$(grep @ <<<"$OUT" | sort | tr '\n' ' ')" "hv1@file hv1@rbd hv2@file hv2@rbd "

step "1. a local volume with data: file -> rbd on its host (retype, on-demand)"
check "volume create --type local --size 1 v1" cmp_ volume create --type local --size 1 v1 -f json
check "  available" wait_until 60 vol_status v1 available
H1=$(vol_field v1 os-vol-host-attr:host | cut -d@ -f1)
H1=${H1:-hv1}
H2=$(other_host "$H1")
echo "  v1 is on $H1"
V1_FILE=$(place_of v1)
check "write three patterns into v1 (qemu-io, on $H1's qcow2 file)" qemu-io -f qcow2 \
    -c "write -P 0x5a 0 64k" -c "write -P 0xa5 300M 1M" -c "write -P 0x3c 1023M 64k" "$V1_FILE"
check "  keep a raw copy of v1's whole contents" qemu-img convert -f qcow2 -O raw "$V1_FILE" "$TMP/v1.raw"
expect_fail "volume set --type ceph --retype-policy never v1: refused (the data would move)" \
    cmp_ volume set --type ceph --retype-policy never v1
    assert "  400" has_status 400 "$ERR"
check "volume set --type ceph --retype-policy on-demand v1" cmp_ volume set --type ceph --retype-policy on-demand v1
check "  migration_status success, on $H1@rbd#rbd, available" wait_until 120 migrated v1 "$H1@rbd#rbd"
check "  its type is ceph" vol_field v1 type
    ok && assert "  ceph" eq "$OUT" ceph
V1_ID=$(vol_field v1 id)
check "  rbd ls volumes: volume-$V1_ID" bash -c "rbd -c $CEPH_TEMP_CONF --id admin ls volumes | grep -qx volume-$V1_ID"
check "  the RBD image holds v1's contents" same_data v1
check "  the qcow2 file on $H1 is gone" wait_until 30 test ! -e "$V1_FILE"

step "2. rbd -> file on the other host ($H2, volume migrate --host): it reads the pool, $H1 removes the image"
expect_fail "volume migrate --host $H1@rbd#rbd v1: refused (its own place)" cmp_ volume migrate --host "$H1@rbd#rbd" v1
    assert "  400" has_status 400 "$ERR"
expect_fail "volume migrate --host nowhere@file v1: refused (no such service)" cmp_ volume migrate --host nowhere@file v1
    assert "  400" has_status 400 "$ERR"
check "volume migrate --host $H2@file#file v1" cmp_ volume migrate --host "$H2@file#file" v1
check "  migration_status success, on $H2@file#file, available" wait_until 120 migrated v1 "$H2@file#file"
check "  the qcow2 file on $H2 holds v1's contents" same_data v1
check "  the RBD image is removed by its old owner" wait_until 60 bash -c "! rbd -c $CEPH_TEMP_CONF --id admin ls volumes | grep -qx volume-$V1_ID"

step "3. file on $H2 -> file on $H1 (volume migrate --host): $H2 serves it over NBD, $H1 copies it"
V1_OLD=$(place_of v1)
check "volume migrate --host $H1@file v1" cmp_ volume migrate --host "$H1@file" v1
check "  migration_status success, on $H1@file#file, available" wait_until 120 migrated v1 "$H1@file#file"
check "  the qcow2 file on $H1 holds v1's contents" same_data v1
check "  the file on $H2 is gone" wait_until 30 test ! -e "$V1_OLD"
check "  no qemu-nbd serves it any more" wait_until 30 bash -c "! pgrep -f '[q]emu-nbd.*$V1_ID'"
EXPORTED=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" "$HV2_LOG" | grep -ac "serving the disk to the migration's destination" || true)
assert "  the volume was served over NBD" test "${EXPORTED:-0}" -ge 1

step "4. a server with a local volume: live migration refused; the volume moves to rbd; then the server live-migrates"
MARK="ciel-volmig-$RANDOM$RANDOM"
cat >"$TMP/reader" <<EOF
#!/bin/sh
( while [ ! -e /dev/vdb ]; do sleep 1; done
  printf '%s\n' "$MARK" | dd of=/dev/vdb bs=512 conv=sync,fsync 2>/dev/null && echo "CIEL-GUEST wrote the mark"
  while true; do echo 3 >/proc/sys/vm/drop_caches
    [ -e /dev/vdb ] && echo "CIEL-GUEST vdb \$(dd if=/dev/vdb bs=512 count=1 2>/dev/null | head -n 1)"; sleep 2; done ) &
EOF
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create" cmp_ network create vnet
check "subnet create 10.47.0.0/24" cmp_ subnet create --network vnet --subnet-range 10.47.0.0/24 vsub
check "server create srv --availability-zone nova:hv1 --wait" cmp_ server create --image guest --flavor m1.micro \
    --network vnet --availability-zone nova:hv1 --user-data "$TMP/reader" --wait srv -f json
check "volume create --type local --size 1 v2" cmp_ volume create --type local --size 1 v2 -f json
check "  available" wait_until 60 vol_status v2 available
if [[ $(vol_field v2 os-vol-host-attr:host) != hv1@file#file ]]; then
    check "volume migrate --host hv1@file v2 (to the server's host)" cmp_ volume migrate --host hv1@file v2
    check "  on hv1" wait_until 120 migrated v2 hv1@file#file
fi
check "server add volume srv v2" cmp_ server add volume srv v2
check "  in-use" wait_until 120 vol_status v2 in-use
SRV=$(cmp_ server show srv -f value -c id 2>/dev/null || echo none)
check "  the guest writes its mark on the volume and reads it back" wait_until 300 console_has "$SRV" "CIEL-GUEST vdb $MARK"
expect_fail "server migrate --live-migration --block-migration --host hv2 srv: refused (a local volume)" \
    cmp_ --os-compute-api-version 2.30 server migrate --live-migration --block-migration --host hv2 srv
    assert "  400" has_status 400 "$ERR"
expect_fail "volume migrate --host hv2@file v2 while attached on hv1: refused (hv1's QEMU could not reach it)" \
    cmp_ volume migrate --host hv2@file v2
    assert "  400" has_status 400 "$ERR"
# The move while attached: the guest's QEMU mirrors the disk into the pool and switches to it.
# (The guest wrote its mark with fsync: the qcow2 file read beside QEMU holds it.)
V2_FILE=$(place_of v2)
check "  keep a raw copy of v2's whole contents (the guest only reads it now)" \
    qemu-img convert -U -f qcow2 -O raw "$V2_FILE" "$TMP/v2.raw"
QPID=$(pgrep -f "guest=$SRV" | head -n 1)
check "volume set --type ceph --retype-policy on-demand v2 (attached: its QEMU mirrors it)" \
    cmp_ volume set --type ceph --retype-policy on-demand v2
in_use_on() { [[ $(vol_field v2 os-vol-mig-status-attr:migstat) == success && $(vol_field v2 os-vol-host-attr:host) == "$1" ]] && vol_status v2 in-use; }
check "  migration_status success, on hv1@rbd#rbd, still in-use" wait_until 120 in_use_on hv1@rbd#rbd
check "  its type is ceph" vol_field v2 type
    assert "  ceph" eq "$OUT" ceph
assert "  the same QEMU process runs the guest (pid ${QPID:-none})" eq "$(pgrep -f "guest=$SRV" | head -n 1)" "${QPID:-none}"
check "  the RBD image holds v2's contents" same_data v2
check "  its first sector holds the guest's mark (rbd export)" \
    bash -c "rbd -c $CEPH_TEMP_CONF --id admin export volumes/volume-$(vol_field v2 id) - 2>/dev/null | head -c 512 | grep -qa '$MARK'"
check "  the qcow2 file on hv1 is gone" wait_until 30 test ! -e "$V2_FILE"
V2_ID=$(vol_field v2 id)
check "  QEMU has the RBD image open (rbd status: a watcher)" bash -c "rbd -c $CEPH_TEMP_CONF --id admin status volumes/volume-$V2_ID | grep -q 'watcher='"
check "  hv1's agent says the disk moved under the running guest" grep -aq "attached volume moved" "$LOG"
    ok && echo "  ... mirror and switch took $(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -a 'attached volume moved' | grep -o 'ms=[0-9]*' | head -n 1 | cut -d= -f2) ms (1 GiB volume, TCG guest)"
MARKS=$(grep -ac "CIEL-GUEST vdb $MARK" "$AGENT_DIR/vms/$SRV/console.log" || true)
more_marks() { (($(grep -ac "CIEL-GUEST vdb $MARK" "$AGENT_DIR/vms/$SRV/console.log" || true) > MARKS + 1)); }
check "  the guest reads its mark from the RBD copy (page cache dropped)" wait_until 60 more_marks
check "server migrate --live-migration --host hv2 srv" cmp_ --os-compute-api-version 2.30 server migrate --live-migration --host hv2 srv
check "  ACTIVE on hv2" wait_until 240 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK server show srv -f value -c status -c OS-EXT-SRV-ATTR:host | tr '\n' ' ') == 'hv2 ACTIVE ' ]]"
check "  the guest on hv2 reads the volume's mark" wait_until 120 hv2_console_has "$SRV" "CIEL-GUEST vdb $MARK"

step "5. cleaning up: deleting the server and the volumes empties the volumes pool"
check "server delete --wait srv" cmp_ server delete --wait srv
check "volume delete v1 v2" cmp_ volume delete v1 v2
check "  the volumes pool is empty" wait_until 60 bash -c "[[ -z \$(rbd -c $CEPH_TEMP_CONF --id admin ls volumes) ]]"

finish

#!/usr/bin/env bash
# Volume backups with the real `openstack` CLI and the real data plane, `dir` target (the
# RBD target is proven in ceph.sh): data written into a volume on the host is backed up
# whole, then an incremental backup stores only the chunk that changed; restoring the
# incremental to a new volume gives the volume's bytes back (the chain is read through), and
# restoring the full backup onto an existing volume gives the earlier bytes, zeros where the
# target had other data; Cinder's rules hold (no delete of a backup with an incremental
# child, another project sees nothing); deleting in order leaves the backup directory empty.
# No guest boots: the volumes' qcow2 files are written and compared on the host.
#
# Usage: tests/cli/backup.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for the other scripts)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=backup-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"
command -v qemu-io >/dev/null || { echo "qemu-io is required" >&2; exit 2; }

vol_status() { [[ $(cmp_ volume show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
bk_status() { [[ $(cmp_ volume backup show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }
gone() { ! cmp_ "$@" >/dev/null 2>&1; }
VOLDIR=$AGENT_DIR/volumes
STORE=$TMP/backup-store
# write VOLUME_ID PATTERN OFFSET LENGTH: writes bytes into the volume's qcow2 file on the host.
write() { qemu-io -f qcow2 -c "write -P $2 $3 $4" "$VOLDIR/$1.qcow2" >/dev/null; }
same() { qemu-img compare -q "$@"; }

step "0. ciel up with [backup] target = \"dir\" in $STORE"
start_cloud '[backup]' 'target = "dir"' "dir = \"$STORE\""

step "1. a volume with data, backed up whole"
check "volume create --size 1 src" cmp_ volume create --size 1 src -f json
    ok && SRC=$(jf "$OUT" 'd["id"]')
SRC=${SRC:-none}
check "  available" wait_until 30 vol_status src available
check "write 4 MiB of 0x11 at 0 and 1 MiB of 0x22 at 100 MiB into it (qemu-io on the host)" \
    bash -c "qemu-io -f qcow2 -c 'write -P 0x11 0 4M' -c 'write -P 0x22 100M 1M' $VOLDIR/$SRC.qcow2 >/dev/null"
check "keep a raw copy of it as it is now" qemu-img convert -O raw "$VOLDIR/$SRC.qcow2" "$TMP/at-full.raw"
check "volume backup create --name full src" cmp_ volume backup create --name full src -f json
    ok && FULL=$(jf "$OUT" 'd["id"]')
FULL=${FULL:-none}
check "  available" wait_until 60 bk_status full available
check "  the volume is available again" wait_until 10 vol_status src available
check "volume backup show full" cmp_ volume backup show full -f json
    ok && assert "  2 objects (the two 4 MiB chunks with data), 1 GiB, not incremental" \
        eq "$(jf "$OUT" '"%s %s %s" % (d["object_count"], d["size"], d["is_incremental"])')" "2 1 False"
check "  its manifest is in $STORE" test -f "$STORE/$FULL/manifest.json"
assert "  two chunk files" eq "$(find "$STORE/$FULL" -name 'chunk-*' | wc -l)" 2

step "2. more data, an incremental backup stores only what changed"
check "write 1 MiB of 0x33 at 200 MiB" write "$SRC" 0x33 200M 1M
check "volume backup create --incremental --name inc src" cmp_ volume backup create --incremental --name inc src -f json
    ok && INC=$(jf "$OUT" 'd["id"]')
INC=${INC:-none}
check "  available" wait_until 60 bk_status inc available
check "volume backup show inc" cmp_ volume backup show inc -f json
    ok && assert "  incremental, 1 object" eq "$(jf "$OUT" '"%s %s" % (d["is_incremental"], d["object_count"])')" "True 1"
assert "  one chunk file of its own" eq "$(find "$STORE/$INC" -name 'chunk-*' | wc -l)" 1
check "volume backup show full" cmp_ volume backup show full -f json
    ok && assert "  the full backup has a dependent now" eq "$(jf "$OUT" 'd["has_dependent_backups"]')" True
expect_fail "volume backup delete full (an incremental builds on it)" cmp_ volume backup delete full
    assert "  refused with 400" has_status 400 "$ERR"

step "3. restores: the chain to a new volume, the full backup onto an existing one"
check "volume backup restore inc restored (a new volume)" cmp_ volume backup restore inc restored -f json
check "  the volume restored is available" wait_until 60 vol_status restored available
check "  the backup is available again" wait_until 10 bk_status inc available
RESTORED=$(cmp_ volume show restored -f value -c id 2>/dev/null || echo none)
check "  its bytes are the source's (qemu-img compare)" same "$VOLDIR/$SRC.qcow2" "$VOLDIR/$RESTORED.qcow2"
check "volume create --size 2 dst" cmp_ volume create --size 2 dst -f json
    ok && DST=$(jf "$OUT" 'd["id"]')
DST=${DST:-none}
check "  available" wait_until 30 vol_status dst available
check "write 1 MiB of 0x44 at 300 MiB of dst (the full backup has zeros there)" write "$DST" 0x44 300M 1M
check "volume backup restore --force full dst (onto an existing volume)" cmp_ volume backup restore --force full dst
check "  dst is available again" wait_until 60 vol_status dst available
check "  its first GiB is the source as it was at the full backup" \
    qemu-img compare -q -f raw -F qcow2 "$TMP/at-full.raw" "$VOLDIR/$DST.qcow2"
add_other_project
check "another project lists no backup" ou volume backup list -f value
    ok && assert "  empty" eq "$OUT" ""
expect_fail "  nor shows one" ou volume backup show "$FULL"
    assert "  not found" contains "$ERR" "No Backup found"

step "4. deleting in order leaves nothing behind"
check "volume backup delete inc" cmp_ volume backup delete inc
check "  gone" wait_until 30 gone volume backup show "$INC"
check "volume backup delete full" cmp_ volume backup delete full
check "  gone" wait_until 30 gone volume backup show "$FULL"
check "  $STORE is empty" wait_until 10 bash -c "[[ -z \$(ls -A $STORE) ]]"
check "volume delete src restored dst" cmp_ volume delete src restored dst
check "  all gone" wait_until 30 bash -c "[[ \$(OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel $OPENSTACK volume list -f value | wc -l) == 0 ]]"

finish

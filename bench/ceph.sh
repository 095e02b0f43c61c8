#!/usr/bin/env bash
# Root disks on Ceph RBD vs on the host's files: time from `server create` to the server's
# QEMU running, for a 2 GiB image, on one cloud with two hypervisors and a real one-OSD Ceph
# cluster (scripts/lib/ceph.sh), the image service's store in the Ceph images pool:
#   hv1 (`ciel up`)     images_type = file: a qcow2 overlay over the host's cached copy
#   hv2 (`ciel agent`)  images_type = rbd:  a clone of the raw image's RBD copy (nothing
#                       copied), or for a qcow2 image a copy written into the vms pool
# Per case BOOT_N servers (default 3) one after another, each deleted before the next; the
# first one of a case also fetches the image into the host's cache (said apart). Prints
# figures and the ratio; asserts nothing about time. Runs in namespaces of its own.
#   bench/ceph.sh   (CIEL_BIN, CIEL_TEST_CACHE, BOOT_N; BENCH_KEEP=1 keeps the temp dir)
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${BENCH_CEPH_INNER:-} != 1 ]]; then
    exec "$BENCH/../tests/cli/isolated.sh" env BENCH_CEPH_INNER=1 "$0" "$@"
fi
BOOT_N=${BOOT_N:-3}
export KEEP_TMP=${BENCH_KEEP:-0}
HERE=$BENCH/../tests/cli
CIEL_TEST_NAME=ceph-bench
LISTEN_IP=192.168.100.1
HV2_IP=192.168.100.12
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"
# shellcheck source=scripts/lib/ceph.sh
. "$REPO/scripts/lib/ceph.sh"
CEPH_DIR=$TMP/ceph

make_underlay
ceph_temp_start "$CEPH_DIR" "$LISTEN_IP" || abort "the Ceph cluster did not start"
trap 'pkill -KILL -f "qemu-system-x86_64.*$TMP" 2>/dev/null || true; ceph_temp_stop "$CEPH_DIR" 2>/dev/null || true; cleanup' EXIT
"$REPO/tests/guest/build-small.sh" "$GUEST" >/dev/null
start_cloud "underlay_ip = \"$LISTEN_IP\"" '[image]' 'store = "rbd"' '[ceph]' "conf = \"$CEPH_TEMP_CONF\""
ip netns exec hv2 unshare --mount --propagation private \
    bash -c 'mount -t tmpfs hv2-netns /run/netns && exec sleep infinity' &
EXTRA_PIDS+=("$!")
HV2_HOST=$!
sleep 0.5
nsenter -t "$HV2_HOST" -m -n "$CIEL_BIN" agent --controller "$BASE" --join-token "$(cat "$DATA/agent-join-token")" \
    --hostname hv2 --underlay-interface eth0 --listen "$HV2_IP:8779" --state-dir "$TMP/hv2" --driver qemu \
    --virt-type qemu --ceph-conf "$CEPH_TEMP_CONF" --images-type rbd >>"$TMP/hv2.log" 2>&1 &
EXTRA_PIDS+=("$!")
both() { [[ $(cmp_ hypervisor list -f value -c 'Hypervisor Hostname' | sort | tr '\n' ' ') == "hv1 hv2 " ]]; }
wait_until 30 both || abort "hv2 did not join"
register_guest "$GUEST" guest "console=ttyS0 quiet" >/dev/null
# The 2 GiB images: the guest's disk grown to 2 GiB (sparse), as raw and as qcow2.
qemu-img convert -O raw "$GUEST/root.qcow2" "$TMP/big.raw" && qemu-img resize -q -f raw "$TMP/big.raw" 2G
qemu-img convert -O qcow2 "$TMP/big.raw" "$TMP/big.qcow2"
for f in raw qcow2; do
    cmp_ image create --file "$TMP/big.$f" --disk-format "$f" --container-format bare --property "kernel_id=$KID" \
        --property "ramdisk_id=$RID" --property "os_command_line=console=ttyS0 quiet" "big-$f" >/dev/null
done
cmp_ flavor create --ram 128 --vcpus 1 --disk 2 b.2g >/dev/null
cmp_ network create bnet >/dev/null && cmp_ subnet create --network bnet --subnet-range 10.45.0.0/24 bsub >/dev/null

# boot IMAGE HOST: seconds from `server create` to its QEMU process, then deletes it.
boot() {
    local t0 id t
    t0=$(date +%s.%N)
    id=$(cmp_ server create --image "$1" --flavor b.2g --network bnet --availability-zone "nova:$2" -f value -c id b)
    wait_until 600 pgrep -f "guest=$id" >/dev/null || { echo "no QEMU for $id" >&2; return 1; }
    t=$(python3 -c "import time; print(f'{time.time() - $t0:.2f}')")
    cmp_ server delete --wait "$id" >/dev/null
    echo "$t"
}
declare -A first rest
for c in "big-raw hv1" "big-raw hv2" "big-qcow2 hv2"; do
    set -- $c
    times=()
    for _ in $(seq "$BOOT_N"); do times+=("$(boot "$1" "$2")"); done
    first[$c]=${times[0]}
    rest[$c]=$(printf '%s\n' "${times[@]:1}" | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "-")}')
    echo "$1 on $2: ${times[*]} s"
done
echo
echo "server create -> QEMU running, 2 GiB image ($BOOT_N boots per case; the first also fills the host's image cache)"
printf '%-44s %10s %16s\n' case first "median of rest"
printf '%-44s %10s %16s\n' "file: qcow2 overlay on hv1 (raw image)" "${first[big-raw hv1]} s" "${rest[big-raw hv1]} s"
printf '%-44s %10s %16s\n' "rbd: clone of the raw image on hv2" "${first[big-raw hv2]} s" "${rest[big-raw hv2]} s"
printf '%-44s %10s %16s\n' "rbd: copy of the qcow2 image on hv2" "${first[big-qcow2 hv2]} s" "${rest[big-qcow2 hv2]} s"
python3 - "${rest[big-raw hv1]}" "${rest[big-raw hv2]}" "${rest[big-qcow2 hv2]}" <<'EOF'
import sys
f, clone, copy = (float(x) for x in sys.argv[1:])
print(f"ratio rbd clone / file: {clone / f:.2f}   rbd copy / file: {copy / f:.2f}")
EOF

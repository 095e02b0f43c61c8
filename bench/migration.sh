#!/usr/bin/env bash
# Live migration figures: total time and QEMU's switchover downtime for 256 MiB and 1 GiB
# guests, shared storage (an RBD root disk: memory only) vs block migration (a local qcow2
# overlay mirrored over NBD), between two TCG hypervisors on one machine (hv1 `ciel up`
# with file root disks, hv2 `ciel agent` with RBD root disks) and a real one-OSD Ceph
# cluster. Each guest keeps 32 MiB of memory dirty-ish (a busy loop rewriting a tmpfs file)
# and migrates back and forth MIG_N times (default 2) per case. Also the API's view: from
# `server migrate` to the server ACTIVE on the other host. Prints figures, asserts nothing.
#   bench/migration.sh   (CIEL_BIN, CIEL_TEST_CACHE, MIG_N; BENCH_KEEP=1 keeps the temp dir)
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${BENCH_MIG_INNER:-} != 1 ]]; then
    exec "$BENCH/../tests/cli/isolated.sh" env BENCH_MIG_INNER=1 "$0" "$@"
fi
MIG_N=${MIG_N:-2}
export KEEP_TMP=${BENCH_KEEP:-0}
HERE=$BENCH/../tests/cli
CIEL_TEST_NAME=migration-bench
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
start_cloud "underlay_ip = \"$LISTEN_IP\"" '[ceph]' "conf = \"$CEPH_TEMP_CONF\""
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
cmp_ flavor create --ram 256 --vcpus 1 --disk 1 b.256 >/dev/null
cmp_ flavor create --ram 1024 --vcpus 1 --disk 1 b.1g >/dev/null
cmp_ network create bnet >/dev/null && cmp_ subnet create --network bnet --subnet-range 10.47.0.0/24 bsub >/dev/null
cat >"$TMP/busy" <<'EOS'
#!/bin/sh
mkdir -p /run/busy && mount -t tmpfs -o size=40m tmpfs /run/busy
( while true; do dd if=/dev/urandom of=/run/busy/f bs=1M count=32 2>/dev/null; done ) &
echo "CIEL-GUEST busy"
EOS
on_host() { [[ $(cmp_ server show "$1" -f value -c OS-EXT-SRV-ATTR:host 2>/dev/null) == "$2" ]] && status_is "$1" ACTIVE; }
# The last completed migration's figures in a host's log (its source side).
figures() { sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -a "ciel_agent.*live migration completed" | tail -n 1 | grep -oE '(downtime_ms|total_ms)=[0-9]+' | tr '\n' ' '; }

declare -a rows
# case NAME FLAVOR FIRST_HOST: one server, migrated MIG_N times each way.
run_case() {
    local name=$1 flavor=$2 first=$3 id from to log t0 t
    id=$(cmp_ server create --image guest --flavor "$flavor" --network bnet --availability-zone "nova:$first" \
        --user-data "$TMP/busy" --wait -f value -c id "m-$name")
    local console=$AGENT_DIR/vms/$id/console.log
    [[ $first == hv2 ]] && console=$TMP/hv2/vms/$id/console.log
    wait_until 300 grep -qa "CIEL-GUEST busy" "$console" || { echo "$name: the guest did not start its load"; return; }
    from=$first
    for i in $(seq $((MIG_N * 2))); do
        to=$([[ $from == hv1 ]] && echo hv2 || echo hv1)
        log=$LOG
        [[ $from == hv2 ]] && log=$TMP/hv2.log
        t0=$(date +%s.%N)
        cmp_ --os-compute-api-version 2.30 server migrate --live-migration --host "$to" "$id" >/dev/null
        wait_until 300 on_host "$id" "$to" || { echo "$name: migration $i did not complete"; return; }
        t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
        rows+=("$(printf '%-26s %s -> %s  API %.2f s  QEMU %s' "$name" "$from" "$to" "$t" "$(figures "$log")")")
        from=$to
    done
    cmp_ server delete --wait "$id" >/dev/null
}
# Shared storage needs the RBD root disk (made on hv2); block migration the file one (hv1).
run_case shared-256MiB b.256 hv2
run_case shared-1GiB b.1g hv2
run_case block-256MiB b.256 hv1
run_case block-1GiB b.1g hv1
echo
echo "live migration, TCG guests with 32 MiB rewritten in a loop, $(date -u +%F):"
printf '  %s\n' "${rows[@]}"

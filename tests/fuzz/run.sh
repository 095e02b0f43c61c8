#!/usr/bin/env bash
# The API fuzzer (api_fuzz.py) against `ciel up` with its real local agent (QEMU on TCG, real
# bridges, taps and nftables): a canary VM of the admin carries the security group whose probe
# rules prove, after every accepted write, that the host still applies its desired state.
#
# Usage: tests/fuzz/run.sh   (FUZZ_REQUESTS, FUZZ_SEED, CIEL_BIN, KEEP_TMP=1 as elsewhere)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../cli" && pwd)
CIEL_TEST_NAME=fuzz-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

step "0. ciel up with its local agent (TCG), a canary VM"
start_cloud
# Any bootable-looking disk will do: the canary only needs a port on this host.
qemu-img create -q -f qcow2 "$TMP/blank.qcow2" 64M
check "image create blank" cmp_ image create --file "$TMP/blank.qcow2" --disk-format qcow2 --container-format bare --public blank -f json
    ok && IMG=$(jf "$OUT" 'd["id"]')
check "flavor create fz.tiny" cmp_ flavor create --ram 64 --vcpus 1 --disk 1 fz.tiny -f json
    ok && FLAVOR=$(jf "$OUT" 'd["id"]')
check "network create canary" cmp_ network create canary
check "subnet create canary" cmp_ subnet create --network canary --subnet-range 10.88.0.0/24 canary
check "security group create canary" cmp_ security group create canary -f json
    ok && SG=$(jf "$OUT" 'd["id"]')
check "server create canary --wait" cmp_ server create --image blank --flavor fz.tiny --network canary --security-group canary --wait canary
ssh-keygen -q -t ed25519 -N '' -C fuzz -f "$TMP/key"
((FAILED == 0)) || finish

step "1. fuzzing"
check "the fuzzer finds no 5xx, panic or hang, and the host keeps applying its desired state" \
    "$VENV/bin/python" "$REPO/tests/fuzz/api_fuzz.py" --base "$BASE" --admin-password "$ADMIN_PW" --pid "$CIEL_PID" \
    --log "$LOG" --image "$IMG" --flavor "$FLAVOR" --canary-sg "$SG" --public-key "$(cat "$TMP/key.pub")"
echo "$OUT"
assert "no panic in the controller's log" bash -c "! grep -a 'panicked at' '$LOG'"
finish

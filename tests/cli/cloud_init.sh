#!/usr/bin/env bash
# The cloud-init proof: a Debian bookworm guest built from Debian packages, with unmodified
# cloud-init, boots on `ciel up` (QEMU TCG) and applies its hostname, SSH key and a user-data
# `runcmd` — once from the metadata service, once from the config drive — as its serial
# console shows.
#
# Usage: tests/cli/cloud_init.sh   (CIEL_BIN, CIEL_TEST_CACHE, CIEL_DEBIAN_DIR, KEEP_TMP=1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CIEL_BIN=${CIEL_BIN:-$REPO/target/release/ciel}
CACHE=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}
VENV=$CACHE/venv
OPENSTACK=$VENV/bin/openstack
PY=python3

[[ -x $OPENSTACK ]] || { echo "openstack CLI not found at $OPENSTACK" >&2; exit 2; }
for c in qemu-system-x86_64 qemu-img curl dnsmasq genisoimage ip; do
    command -v "$c" >/dev/null || { echo "$c is required" >&2; exit 2; }
done

CIEL_TEST_NAME=cloud-init-test
HOST_CLEANUP=1
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ADMIN_PW="Adm1n-$RANDOM$RANDOM"
AGENT_DIR=$DATA/agent
DEBIAN=${CIEL_DEBIAN_DIR:-$CACHE/debian}
BOOT_TIMEOUT=${CIEL_CLOUD_INIT_TIMEOUT:-600}
echo "ciel: $CIEL_BIN  port: $PORT  tmp: $TMP"

cmp_() { OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel "$OPENSTACK" "$@"; }
console_has() { grep -qa -- "$2" "$AGENT_DIR/vms/$1/console.log" 2>/dev/null; }
wait_until() {
    local t=$1; shift
    local i
    for i in $(seq $((t * 2))); do "$@" && return 0; sleep 0.5; done
    return 1
}

step "0. the Debian cloud-init guest (mmdebstrap), ciel up (local agent, TCG)"
check "build the Debian guest from Debian packages" "$REPO/tests/guest/build-debian.sh" "$DEBIAN"
printf '[compute]\nvirt_type = "qemu"\nhostname = "hv1"\n' >"$TMP/ciel.toml"
start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
CIEL_PID=$STARTED_PID
wait_ready "$BASE" "$CIEL_PID" || { cat "$LOG"; abort "ciel did not start"; }
pass "ciel up answers"
sed "s|^\(\s*\)region_name:.*|&\n\1compute_endpoint_override: $BASE/compute/v2.1|" "$DATA/clouds.yaml" >"$TMP/clouds.yaml"
check "image create debian-kernel" cmp_ image create --file "$DEBIAN/vmlinuz" --disk-format aki --container-format aki debian-kernel -f json
    ok && KID=$(jf "$OUT" 'd["id"]')
check "image create debian-initrd" cmp_ image create --file "$DEBIAN/initrd.img" --disk-format ari --container-format ari debian-initrd -f json
    ok && RID=$(jf "$OUT" 'd["id"]')
check "image create debian (cloud-init)" cmp_ image create --file "$DEBIAN/root.qcow2" --disk-format qcow2 --container-format bare \
    --property "kernel_id=$KID" --property "ramdisk_id=$RID" --property "os_command_line=console=ttyS0 root=/dev/vda rw" debian
ssh-keygen -q -t ed25519 -N '' -C "ciel-cloud-init-key" -f "$TMP/key"
check "keypair create" cmp_ keypair create --public-key "$TMP/key.pub" ck
check "network create" cmp_ network create cinet
check "subnet create" cmp_ subnet create --network cinet --subnet-range 10.50.0.0/24 --dns-nameserver 10.50.0.1 cisub

# The user data: a runcmd that reports, on the serial console, what cloud-init applied.
cat >"$TMP/user-data" <<'EOF'
#cloud-config
runcmd:
  - echo "CIEL-CLOUDINIT runcmd hostname=$(hostname) key=$(cut -d' ' -f3 /home/debian/.ssh/authorized_keys) source=$(cloud-init query subplatform | cut -d' ' -f1)" > /dev/ttyS0
EOF

boot_and_check() { # NAME SOURCE [server create args...]
    local name=$1 source=$2; shift 2
    local id=""
    check "server create $name $* --wait" cmp_ server create --image debian --flavor m1.small --network cinet \
        --key-name ck --user-data "$TMP/user-data" "$@" --wait "$name" -f json
    ok && id=$(jf "$OUT" 'd["id"]')
    id=${id:-none}
    check "  cloud-init's runcmd runs (up to ${BOOT_TIMEOUT}s under TCG)" wait_until "$BOOT_TIMEOUT" console_has "$id" "CIEL-CLOUDINIT runcmd"
    assert "  the hostname is the server's: $name" console_has "$id" "CIEL-CLOUDINIT runcmd hostname=$name "
    assert "  the key pair is the default user's authorized key" console_has "$id" "key=ciel-cloud-init-key "
    assert "  the data came from the $source" console_has "$id" "source=$source"
    check "  console log show has it too" cmp_ console log show "$name"
        ok && assert "  runcmd line" contains "$OUT" "CIEL-CLOUDINIT runcmd hostname=$name"
    check "  server delete" cmp_ server delete --wait "$name"
}

step "1. through the metadata service"
boot_and_check ci-metadata metadata

step "2. through the config drive"
boot_and_check ci-configdrive config-disk --config-drive True

echo
echo "${B}$PASSED passed, $FAILED failed${N} in $(( $(date +%s) - T0 )) s"
if ((FAILED)); then
    for f in "${FAILURES[@]}"; do echo "  ${R}FAIL${N} $f"; done
    exit 1
fi

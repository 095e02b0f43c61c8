#!/usr/bin/env bash
# The cloud-init proof: a Debian bookworm guest built from Debian packages, with unmodified
# cloud-init, boots on `ciel up` (QEMU TCG) and applies its hostname, SSH key and a user-data
# `runcmd` — once from the metadata service, once from the config drive — as its serial
# console shows.
#
# Usage: tests/cli/cloud_init.sh   (CIEL_BIN, CIEL_TEST_CACHE, CIEL_DEBIAN_DIR, KEEP_TMP=1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=cloud-init-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"
DEBIAN=${CIEL_DEBIAN_DIR:-$CACHE/debian}
BOOT_TIMEOUT=${CIEL_CLOUD_INIT_TIMEOUT:-600}

step "0. the Debian cloud-init guest (mmdebstrap), ciel up (local agent, TCG)"
check "build the Debian guest from Debian packages" "$REPO/tests/guest/build-debian.sh" "$DEBIAN"
start_cloud
register_guest "$DEBIAN" debian "console=ttyS0 root=/dev/vda rw"
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

finish

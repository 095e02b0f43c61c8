#!/usr/bin/env bash
# Builds the Debian + cloud-init test guest from Debian packages (mmdebstrap, no prebuilt
# image): a bookworm root filesystem with systemd, cloud-init, ifupdown and openssh-server as an
# ext4 disk, plus its kernel and initrd for direct kernel boot (images registered with
# kernel_id/ramdisk_id, like the small guest). Unmodified cloud-init: it finds the config drive
# by its label and the metadata service by the SMBIOS product "OpenStack Nova" QEMU reports.
#
# Usage: tests/guest/build-debian.sh [OUT_DIR]   (default ~/.cache/ciel-test/debian)
# Writes OUT_DIR/{vmlinuz,initrd.img,root.qcow2}. Rebuilt only when this script changes.
set -euo pipefail

OUT=${1:-${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}/debian}
STAMP=$(sha256sum "$0" | cut -c1-16)
if [[ -f $OUT/stamp && $(cat "$OUT/stamp") == "$STAMP" ]]; then
    echo "$OUT is up to date"
    exit 0
fi
for c in mmdebstrap mkfs.ext4 qemu-img; do
    command -v "$c" >/dev/null || { echo "$c is required (apt-get install mmdebstrap e2fsprogs qemu-utils)" >&2; exit 2; }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
PACKAGES=systemd-sysv,udev,cloud-init,linux-image-amd64,ifupdown,isc-dhcp-client,openssh-server,iproute2,netbase,sudo,ca-certificates
echo "building the Debian cloud-init guest in $OUT (mmdebstrap bookworm: $PACKAGES)"
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
    --customize-hook='echo "/dev/vda / ext4 defaults 0 1" >"$1/etc/fstab"' \
    --customize-hook=': >"$1/etc/hostname"' \
    --customize-hook='printf "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n" >"$1/etc/network/interfaces"' \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
    bookworm "$ROOT"

mkdir -p "$OUT"
cp "$(ls "$ROOT"/boot/vmlinuz-* | sort -V | tail -n 1)" "$WORK/vmlinuz"
cp "$(ls "$ROOT"/boot/initrd.img-* | sort -V | tail -n 1)" "$WORK/initrd.img"
rm -rf "$ROOT"/boot/* "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
mkfs.ext4 -q -F -L root -d "$ROOT" "$WORK/root.raw" 2G
qemu-img convert -q -c -f raw -O qcow2 "$WORK/root.raw" "$WORK/root.qcow2"
mv "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/root.qcow2" "$OUT/"
echo "$STAMP" >"$OUT/stamp"
echo "built the Debian cloud-init guest in $OUT ($(du -h "$OUT/root.qcow2" | cut -f1) root disk)"

#!/usr/bin/env bash
# Builds the storage-node test guest: the small guest (tests/guest/build-small.sh) with the
# device-mapper thin-pool modules (and the crc32c they use), plus Debian's LVM tools, qemu-img and this `ciel` binary.
# It turns its disk vda into an LVM thin pool and runs `ciel agent` with the `lvm` storage
# backend, joining the controller given on its kernel command line. It exists because the
# LVM backend needs device-mapper, which the test machines' own kernel lacks; the guest runs
# Debian's kernel, which has it. Its agent uses the fake hypervisor driver (the guest cannot
# run VMs itself): only its storage is under test.
#
# Kernel command line: ciel.controller=URL ciel.join=TOKEN ciel.hostname=NAME ciel.agent_url=URL
# (the URL the controller reaches the agent's API at, e.g. through a QEMU hostfwd)
# Usage: tests/guest/build-storage.sh CIEL_BIN [OUT_DIR]   (default ~/.cache/ciel-test/storage-guest)
# Writes OUT_DIR/vmlinuz and OUT_DIR/initrd.img.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CIEL_BIN=$1
OUT=${2:-${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}/storage-guest}
for c in /usr/sbin/lvm qemu-img cpio; do
    command -v "$c" >/dev/null || { echo "$c is required (apt-get install lvm2 qemu-utils cpio)" >&2; exit 2; }
done
GUEST_EXTRA_MODULES="crc32c_generic dm-thin-pool dm-snapshot" "$HERE/build-small.sh" "$OUT/base" >/dev/null

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"/{etc/lvm,run/lock/lvm,run/lvm,var/lib,usr/sbin,usr/bin}
# Each program with the shared libraries it links.
add_program() {
    local src=$1 dst=$2 lib
    install -D "$src" "$R$dst"
    for lib in $(ldd "$src" | grep -oE '/[^ ]+\.so[^ ]*'); do
        [[ -e $R$lib ]] || install -D "$lib" "$R$lib"
    done
}
add_program /usr/sbin/lvm /usr/sbin/lvm
add_program "$(command -v qemu-img)" /usr/bin/qemu-img
add_program "$CIEL_BIN" /usr/bin/ciel
# No udev in the guest: LVM makes its device nodes itself; no thin_check either.
cat >"$R/etc/lvm/lvm.conf" <<'CONF'
activation {
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}
devices {
    obtain_device_list_from_udev = 0
}
global {
    use_lvmetad = 0
    thin_check_executable = ""
}
CONF

cat >"$R/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
echo "CIEL-STORAGE booting $(uname -r)"
while read -r m; do insmod "/lib/modules/$m.ko" 2>/dev/null || [ -d "/sys/module/${m//-/_}" ] || echo "CIEL-STORAGE insmod $m failed: $(insmod /lib/modules/$m.ko 2>&1)"; done </lib/modules/order
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -q -n -t 5 -T 2 -s /usr/share/udhcpc/default.script || echo "CIEL-STORAGE dhcp failed"
for w in $(cat /proc/cmdline); do
    case $w in
        ciel.controller=*) CONTROLLER=${w#*=} ;;
        ciel.join=*) JOIN=${w#*=} ;;
        ciel.hostname=*) NAME=${w#*=} ;;
        ciel.agent_url=*) AGENT_URL=${w#*=} ;;
    esac
done
export LVM_SUPPRESS_FD_WARNINGS=1
lvm pvcreate -q /dev/vda && lvm vgcreate -q ciel /dev/vda && lvm lvcreate -q -T -l 90%FREE ciel/pool \
    && echo "CIEL-STORAGE thin pool ready" || echo "CIEL-STORAGE thin pool failed"
# What the pool holds, whenever it changes: the test reads it from the console.
( last=""; while true; do
    now=$(lvm lvs --noheadings --units g -o lv_name,lv_size ciel 2>/dev/null | grep ciel- | sort | tr -s ' \n' ' ')
    [ "$now" != "$last" ] && echo "CIEL-LVS [${now}]" && last=$now
    sleep 1
  done ) &
mkdir -p /var/lib/ciel-agent
echo "CIEL-STORAGE agent starting"
/usr/bin/ciel agent --controller "$CONTROLLER" --join-token "$JOIN" --hostname "$NAME" --driver fake \
    --lvm-volume-group ciel --lvm-thin-pool pool --listen 0.0.0.0:8779 \
    --advertise-url "$AGENT_URL" --log warn,ciel_agent=info
echo "CIEL-STORAGE agent stopped $?"
while true; do sleep 3600; done
INIT
chmod +x "$R/init"

# A second archive after the small guest's: the kernel unpacks both, the later one wins.
(cat "$OUT/base/initrd.img"; cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd.img.part"
mv "$OUT/initrd.img.part" "$OUT/initrd.img"
cp "$OUT/base/vmlinuz" "$OUT/vmlinuz"
echo "built the storage guest in $OUT"

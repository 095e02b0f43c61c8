#!/usr/bin/env bash
# Builds the small test guest from Debian packages: the host's Debian kernel plus a busybox
# initramfs whose init loads the virtio drivers, prints markers on the serial console
# (CIEL-GUEST ...), asks DHCP for its address on each NIC, reads its hostname and key from the
# config drive (a `config-2` ISO) or else the metadata service, runs a user-data script, and
# serves SSH (Debian's dropbear) to root with that key.
#
# Usage: tests/guest/build-small.sh [OUT_DIR]   (default ~/.cache/ciel-test/guest)
# GUEST_EXTRA_MODULES="m1 m2": more kernel modules to load at boot (with their dependencies).
# Writes OUT_DIR/vmlinuz, OUT_DIR/initrd.img and OUT_DIR/root.qcow2 (an empty 64 MiB disk, the
# image servers boot with kernel_id/ramdisk_id pointing at the other two). Rebuilt only when
# the kernel or this script changes.
set -euo pipefail

OUT=${1:-${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}/guest}
KVER=$(ls /lib/modules | sort -V | tail -n 1)
[[ -n $KVER && -f /boot/vmlinuz-$KVER ]] || { echo "no Debian kernel found (apt-get install linux-image-amd64)" >&2; exit 2; }
command -v busybox >/dev/null || { echo "busybox is required (apt-get install busybox-static)" >&2; exit 2; }
[[ -x /usr/sbin/dropbear ]] || { echo "dropbear is required (apt-get install dropbear-bin)" >&2; exit 2; }
STAMP="$KVER $(sha256sum "$0" | cut -c1-16) ${GUEST_EXTRA_MODULES:-}"
if [[ -f $OUT/stamp && $(cat "$OUT/stamp") == "$STAMP" ]]; then
    echo "$OUT is up to date"
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,lib/modules,usr/share/udhcpc}
cp "$(command -v busybox)" "$R/bin/busybox"
for app in $("$R/bin/busybox" --list); do [[ $app == busybox ]] || ln -sf busybox "$R/bin/$app"; done

# dropbear with the shared libraries it links, root with busybox's shell (key logins only)
install -D /usr/sbin/dropbear "$R/usr/sbin/dropbear"
for lib in $(ldd /usr/sbin/dropbear | grep -oE '/[^ ]+\.so[^ ]*'); do
    install -D "$lib" "$R$lib"
done
mkdir -p "$R/etc/dropbear" "$R/root/.ssh" "$R/dev/pts"
chmod 700 "$R/root" "$R/root/.ssh"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo '/bin/sh' >"$R/etc/shells"

# virtio drivers, each after its dependencies (modules.dep lists them; their order changes
# between kernel releases, so it is resolved here rather than written down)
MODS=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net virtio_blk cdrom isofs)
declare -A ADDED=()
add_module() {
    local m=$1 line f dep src
    [[ -n ${ADDED[$m]:-} ]] && return 0
    ADDED[$m]=1
    line=$(grep -E "/$m\.ko(\.xz|\.zst)?:" "/lib/modules/$KVER/modules.dep" | head -n 1)
    [[ -n $line ]] || return 0   # built into the kernel
    f=${line%%:*}
    for dep in ${line#*:}; do
        dep=${dep##*/}
        add_module "${dep%%.ko*}"
    done
    src=/lib/modules/$KVER/$f
    case $src in
        *.xz) xz -dc "$src" >"$R/lib/modules/$m.ko" ;;
        *.zst) zstd -qdc "$src" >"$R/lib/modules/$m.ko" ;;
        *) cp "$src" "$R/lib/modules/$m.ko" ;;
    esac
    echo "$m" >>"$R/lib/modules/order"
}
# shellcheck disable=SC2206
MODS+=(${GUEST_EXTRA_MODULES:-})
for m in "${MODS[@]}"; do add_module "$m"; done

# curl URL: a GET to stdout through busybox's wget, for scripts written for CirrOS's curl
# (Tempest's metadata downtime meter runs `curl http://169.254.169.254/...` in the guest);
# the other arguments (options) are ignored. (`timeout`, not wget's -T: busybox 1.35's wget
# segfaults with -T.)
cat >"$R/bin/curl" <<'CURL'
#!/bin/sh
url=""
for a in "$@"; do case $a in -*) ;; *) url=$a ;; esac; done
exec timeout 10 wget -q -O - "$url"
CURL
chmod +x "$R/bin/curl"

cat >"$R/usr/share/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
        if [ -n "$staticroutes" ]; then
            # option 121 (classless routes: the default one, and on subnets without a
            # router the metadata route)
            set -- $staticroutes
            while [ $# -ge 2 ]; do ip route add "$1" via "$2" dev "$interface"; shift 2; done
        else
            for r in $router; do ip route add default via "$r" dev "$interface"; break; done
        fi
        echo "CIEL-GUEST dhcp $interface $ip" >/dev/console
        ;;
esac
exit 0
SCRIPT
chmod +x "$R/usr/share/udhcpc/default.script"

cat >"$R/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1
echo "CIEL-GUEST booting $(uname -r)"
while read -r m; do insmod "/lib/modules/$m.ko" 2>/dev/null; done </lib/modules/order
ip link set lo up
for n in /sys/class/net/eth*; do
    [ -e "$n" ] || continue
    i=${n##*/}
    ip link set "$i" up
    udhcpc -i "$i" -q -n -t 5 -T 2 -O mtu -O staticroutes -s /usr/share/udhcpc/default.script || echo "CIEL-GUEST dhcp $i failed"
done
[ -e /sys/block/vda ] && echo "CIEL-GUEST disk vda $(cat /sys/block/vda/size) sectors"
# Instance data: the config drive when there is one, else the metadata service.
MD=http://169.254.169.254
for d in /dev/vd[b-z]; do
    [ -e "$d" ] || continue
    mount -t iso9660 -o ro "$d" /mnt 2>/dev/null || continue
    if [ -f /mnt/openstack/latest/meta_data.json ]; then
        name=$(sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p' /mnt/openstack/latest/meta_data.json)
        echo "CIEL-GUEST config-drive hostname $name"
        hostname "$name"
        sed -n 's/.*"public_keys": *{[^}]*"[^"]*": *"\([^"]*\)".*/\1/p' /mnt/openstack/latest/meta_data.json >/root/.ssh/authorized_keys
        [ -f /mnt/openstack/latest/user_data ] && cp /mnt/openstack/latest/user_data /tmp/user-data
        break
    fi
    umount /mnt
done
# (Through the DHCP server's route on router-less subnets, else through the default gateway.)
if [ ! -f /tmp/user-data ] && ip route get 169.254.169.254 >/dev/null 2>&1; then
    # (Retried as cloud-init does: the first packets of a new VM may meet a neighbour
    # cache that still holds the previous owner of its address.)
    for try in 1 2 3 4; do
        name=$(timeout 10 wget -q -O - "$MD/latest/meta-data/hostname" 2>/dev/null)
        [ -n "$name" ] && break
        sleep 2
    done
    if [ -n "$name" ]; then
        echo "CIEL-GUEST metadata hostname $name"
        hostname "$name"
        key=$(timeout 10 wget -q -O - "$MD/latest/meta-data/public-keys/0/openssh-key" 2>/dev/null)
        [ -n "$key" ] && echo "CIEL-GUEST metadata key ${key%% *} ${key##* }" && echo "$key" >/root/.ssh/authorized_keys
        timeout 10 wget -q -O /tmp/user-data "$MD/latest/user-data" 2>/dev/null || rm -f /tmp/user-data
    else
        echo "CIEL-GUEST metadata unavailable"
    fi
fi
chmod 600 /root/.ssh/authorized_keys 2>/dev/null
/usr/sbin/dropbear -R -E -s -p 22 2>/dev/null && echo "CIEL-GUEST sshd started"
if [ -f /tmp/user-data ] && head -c 2 /tmp/user-data | grep -q '#!'; then
    chmod +x /tmp/user-data
    echo "CIEL-GUEST user-data start"
    /tmp/user-data
    echo "CIEL-GUEST user-data done $?"
fi
echo "CIEL-GUEST ready"
while true; do sleep 3600; done
INIT
chmod +x "$R/init"

mkdir -p "$OUT"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -9) >"$OUT/initrd.img"
cp "/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
rm -f "$OUT/root.qcow2"
qemu-img create -q -f qcow2 "$OUT/root.qcow2" 64M
echo "$STAMP" >"$OUT/stamp"
echo "built the small guest in $OUT (kernel $KVER)"

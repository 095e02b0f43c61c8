# Shared install helpers for scripts/up and scripts/test (sourced, not run).

# apt-get install the given Debian packages when any is missing (needs root or sudo).
apt_ensure() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> apt-get install ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_build_deps() {
    command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; exit 1; }
    apt_ensure gcc libc6-dev curl ca-certificates qemu-utils openssh-client openssl
}

# QEMU for the hypervisor agent `ciel up` runs.
ensure_qemu() {
    apt_ensure qemu-system-x86
    # Debian's QEMU may replace a newer qemu-utils it conflicts with: keep qemu-img.
    command -v qemu-img >/dev/null || apt_ensure qemu-utils
}

# What a hypervisor host runs: QEMU, iproute2 for bridges/taps/namespaces, dnsmasq for DHCP,
# genisoimage for config drives, nftables for security groups; and what a network node runs
# for load balancers: haproxy, arping (gratuitous ARP from a VIP) and ping (PING monitors).
ensure_hypervisor_deps() {
    ensure_qemu
    apt_ensure dnsmasq-base genisoimage iproute2 nftables haproxy iputils-arping iputils-ping
}

# The hypervisor's tools and what the test guests are built from (Debian's kernel and busybox).
ensure_vm_deps() {
    ensure_hypervisor_deps
    apt_ensure busybox-static dropbear-bin linux-image-amd64 cpio mmdebstrap e2fsprogs iputils-ping tcpdump util-linux
    # LVM tools for the storage-node guest of the LVM backend's test (tests/guest/build-storage.sh)
    apt_ensure lvm2
}

# The Python venv with the OpenStack clients and Tempest, cached outside the work tree.
ensure_test_venv() {
    local cache="${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}"
    mkdir -p "$cache"
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        apt_ensure python3-venv
    fi
    if [ ! -x "$cache/venv/bin/openstack" ] || ! "$cache/venv/bin/python" -c 'import tempest' 2>/dev/null; then
        echo "==> creating $cache/venv (tempest, python-openstackclient, openstacksdk)" >&2
        python3 -m venv "$cache/venv"
        "$cache/venv/bin/pip" install -q --upgrade pip
        "$cache/venv/bin/pip" install -q tempest python-openstackclient openstacksdk
    fi
    # `openstack loadbalancer …` (the Octavia plugin of the CLI).
    if ! "$cache/venv/bin/python" -c 'import octaviaclient' 2>/dev/null; then
        "$cache/venv/bin/pip" install -q python-octaviaclient
    fi
    # octavia-tempest-plugin for the conformance harness's `octavia` suite; 3.5.0 works with
    # the tempest the venv has (it requires tempest>=17.1.0 and changes no installed package).
    if [ "$("$cache/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("octavia-tempest-plugin"))' 2>/dev/null)" != 3.5.0 ]; then
        echo "==> installing octavia-tempest-plugin 3.5.0 into $cache/venv" >&2
        "$cache/venv/bin/pip" install -q octavia-tempest-plugin==3.5.0
    fi
}

# install_without_services WHO UNITS PACKAGE...: apt-get installs the packages that are not
# installed yet, as root, with no service starting (a policy-rc.d while installing, then the
# systemd UNITS, a space-separated list, disabled). apt runs in PID 1's network namespace when
# this one has no route out (a test in a namespace of its own). WHO names the caller in errors.
install_without_services() {
    local who=$1 units=$2; shift 2
    local missing=() p u
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) == 0 ]] || { echo "$who: needs root to install ${missing[*]}" >&2; exit 2; }
    echo "==> apt-get install ${missing[*]}" >&2
    local in_ns=()
    ip route show default 2>/dev/null | grep -q . || in_ns=(nsenter --net=/proc/1/ns/net)
    local policy=/usr/sbin/policy-rc.d made=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made=1; fi
    local rc=0
    { "${in_ns[@]}" apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive "${in_ns[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
    ((made)) && rm -f "$policy"
    for u in $units; do
        if [[ -d /run/systemd/system ]]; then
            systemctl disable --now --quiet "$u" 2>/dev/null || true
        elif command -v systemctl >/dev/null; then
            systemctl disable --quiet "$u" 2>/dev/null || true
        fi
    done
    ((rc == 0)) || { echo "$who: apt-get install failed" >&2; exit 2; }
}

# Prometheus and promtool (Debian's package) for tests/cli/metrics.sh; its service does not run.
ensure_monitoring_deps() {
    install_without_services ensure_monitoring_deps "prometheus" prometheus
}

# What tests/cli/ha.sh runs: etcd (server and etcdctl), Patroni, HAProxy, PostgreSQL 15 (Debian 12's packages).
# scripts/test installs them up front: inside a test's network namespace there is no route out,
# and entering PID 1's may be refused. None of their services may run: a policy-rc.d refuses
# the starts while installing (unless the machine already has one), and the units are disabled
# afterwards.
ensure_ha_deps() {
    local extra=()
    command -v setpriv >/dev/null || extra+=(util-linux)
    install_without_services ensure_ha_deps "patroni etcd haproxy postgresql" \
        patroni etcd-server etcd-client haproxy postgresql-15 "${extra[@]}"
}

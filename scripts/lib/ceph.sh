# Throwaway Ceph clusters for tests (sourced, not run): one monitor, one manager, one OSD,
# cephx on, RBD pools images/volumes/vms/backups, everything under DIR as plain processes
# (no systemd unit, nothing in /etc/ceph or /var/lib/ceph).
#   ensure_ceph_deps
#   ceph_temp_start DIR MON_ADDR   # exports CEPH_TEMP_CONF, CEPH_TEMP_CLIENT, CEPH_TEMP_KEYRING,
#                                  # CEPH_TEMP_ADMIN_KEYRING, CEPH_TEMP_MON
#   ceph_temp_stop DIR
#
# MON_ADDR is an address of this network namespace: 127.0.0.1, or an underlay address
# (e.g. 192.168.100.1) so that clients in other namespaces reach the cluster. The monitor
# takes 3300 (msgr v2) and 6789 (v1) on it when free, else two free ports from 3300 up; the
# OSD and the manager take ports from 6800 up on the same address.
#
# The client Ciel is given is client.ciel with the caps an OpenStack deployment gives its
# RBD user; DIR/ceph.conf names its keyring ([client] keyring = DIR/ceph.$name.keyring), so
# `--id ciel` (or QEMU's "user": "ciel") needs no keyring argument:
#   rbd -c "$CEPH_TEMP_CONF" --id ciel ls volumes
#   qemu-img info "rbd:volumes/IMG:conf=$CEPH_TEMP_CONF:id=ciel"
#   ceph -c "$CEPH_TEMP_CONF" health          # client.admin, DIR/ceph.client.admin.keyring
# QEMU 7.2's rbd -blockdev has no "keyring" key: the key comes from the conf's keyring, or
# from "key-secret" naming a secret object that holds the key (checked with this cluster):
#   -blockdev '{"driver":"rbd","pool":"volumes","image":"IMG","conf":"CONF","user":"ciel","node-name":"d0"}'
#   -object secret,id=ciel-key,data=KEY_BASE64,format=base64   (KEY: ceph-authtool -p -n client.ciel KEYRING;
#           or file=PATH holding it, format=base64)
#   -blockdev '{"driver":"rbd",…,"user":"ciel","key-secret":"ciel-key","node-name":"d0"}'
# The rbd: filename form takes any librados option, keyring too: rbd:POOL/IMG:conf=C:id=ciel:keyring=K
#
# The daemons are children of the calling shell, tracked by pid files in DIR/pids. A
# watchdog ends them when the process CEPH_TEMP_OWNER_PID (default: the test script, $$)
# is gone, so a killed test leaves no cluster behind; it may be called from a subshell
# (`$(…)`, a test's `check`), but then the exports are lost: the paths above are fixed.

# The Ceph 16 daemons and tools (Debian 12's), and QEMU's rbd block driver. As ensure_ha_deps:
# apt runs in PID 1's network namespace when this one has no route out; no service may start
# (policy-rc.d while installing, units disabled afterwards).
ensure_ceph_deps() {
    local extra=()
    command -v uuidgen >/dev/null || extra+=(uuid-runtime)
    command -v ss >/dev/null || extra+=(iproute2)
    # shellcheck source=scripts/lib/deps.sh
    declare -F install_without_services >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
    install_without_services ensure_ceph_deps "ceph.target ceph-mon.target ceph-osd.target ceph-mgr.target ceph-crash.service" \
        ceph-mon ceph-osd ceph-mgr ceph-common qemu-block-extra "${extra[@]}"
}

# _ceph_port_free ADDR PORT: nothing listens on ADDR:PORT (nor on the wildcard) in this namespace.
_ceph_port_free() {
    # Read whole first: under pipefail a grep -q that stops early fails the pipe (SIGPIPE).
    local listening
    listening=$(ss -Hltn 2>/dev/null | awk '{print $4}')
    ! grep -qE "^(\[?::\]?|\*|0\.0\.0\.0|$1):$2\$" <<<"$listening"
}

# _ceph DIR ARGS...: the ceph CLI as client.admin of the cluster in DIR, never waiting long.
_ceph() {
    local dir=$1; shift
    timeout 60 ceph -c "$dir/ceph.conf" -n client.admin --connect-timeout 15 "$@"
}

# _ceph_spawn DIR NAME CMD...: CMD in the background, its output in DIR/log/NAME.out, its pid
# in DIR/pids/NAME.pid.
_ceph_spawn() {
    local dir=$1 name=$2; shift 2
    "$@" </dev/null >>"$dir/log/$name.out" 2>&1 &
    echo $! >"$dir/pids/$name.pid"
}

# _ceph_logs DIR: the end of each daemon's log, for a failure report.
_ceph_logs() {
    local f
    for f in "$1"/log/*; do
        [[ -s $f ]] || continue
        echo "--- end of $f" >&2
        # Without the monitor's audit lines (one per CLI command, the status polls').
        grep -v 'audit \[\|log_channel(audit)' "$f" | tail -n 25 >&2
    done
}

# _ceph_phase T0 WHAT: with CEPH_TEMP_TRACE=1, the time since T0 at the end of a phase.
_ceph_phase() {
    [[ ${CEPH_TEMP_TRACE:-} == 1 ]] || return 0
    awk -v a="$1" -v b="$EPOCHREALTIME" -v w="$2" 'BEGIN{printf "ceph_temp_start: %5.1f s %s\n", b-a, w}' >&2
}

_ceph_fail() {
    local dir=$1; shift
    echo "ceph_temp_start: $*" >&2
    _ceph_logs "$dir"
    return 1
}

# _ceph_alive PID: the process exists and is not a zombie.
_ceph_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# _ceph_kill DIR [WAIT_S]: SIGTERM to every daemon of DIR (and its watchdog), SIGKILL after
# WAIT_S seconds. The OSD goes first: once the monitor is gone, a stopping OSD waits 5 s to
# tell it. A pid is only signalled while its command line still names DIR.
_ceph_kill() {
    local dir=$1 wait_s=${2:-10} group n f pid pids i
    for group in "osd" "mgr mon watchdog"; do
        pids=()
        for n in $group; do
            f=$dir/pids/$n.pid
            [[ -f $f ]] || continue
            pid=$(<"$f")
            [[ $pid =~ ^[0-9]+$ ]] || continue
            if _ceph_alive "$pid" && grep -qF -- "$dir" <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"; then
                kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
            fi
        done
        for ((i = 0; i < wait_s * 20 && ${#pids[@]}; i++)); do
            local left=()
            for pid in "${pids[@]}"; do _ceph_alive "$pid" && left+=("$pid"); done
            pids=("${left[@]}")
            ((${#pids[@]})) && sleep 0.05
        done
        for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    done
    # Reap the ones that are this shell's children (no zombie left to the test).
    for f in "$dir"/pids/*.pid; do
        if [[ -f $f ]]; then wait "$(<"$f")" 2>/dev/null || true; fi
    done
    return 0
}

ceph_temp_start() {
    local dir="${1:?usage: ceph_temp_start DIR MON_ADDR}" addr="${2:?usage: ceph_temp_start DIR MON_ADDR}"
    local t0=$EPOCHREALTIME
    local c
    for c in ceph-mon ceph-osd ceph-mgr ceph ceph-authtool monmaptool rbd uuidgen ss; do
        command -v "$c" >/dev/null || { echo "ceph_temp_start: $c not found (ensure_ceph_deps)" >&2; return 1; }
    done
    [[ $(id -u) == 0 ]] || { echo "ceph_temp_start: needs root" >&2; return 1; }
    if [[ $addr != 127.* ]] && ! grep -qF " $addr/" <<<"$(ip -o addr show 2>/dev/null)"; then
        echo "ceph_temp_start: $addr is not an address of this network namespace" >&2
        return 1
    fi
    mkdir -p "$dir" || return 1
    dir="$(cd "$dir" && pwd)"
    if [[ -e $dir/ceph.conf ]]; then
        echo "ceph_temp_start: $dir already holds a cluster (ceph_temp_stop it first)" >&2
        return 1
    fi
    mkdir -p "$dir"/{mon,mgr,osd,log,run,pids} || return 1

    # The monitor's ports: the standard ones when free, else the first free pair from 3300 up.
    local v2=3300 v1=6789
    if ! _ceph_port_free "$addr" $v2 || ! _ceph_port_free "$addr" $v1; then
        for ((v2 = 3301; v2 < 3400; v2 += 2)); do
            v1=$((v2 + 1))
            _ceph_port_free "$addr" $v2 && _ceph_port_free "$addr" $v1 && break
        done
        ((v2 < 3400)) || { echo "ceph_temp_start: no free monitor ports on $addr" >&2; return 1; }
    fi

    # The OSD's store: BlueStore on a sparse file (data on disk, not in RAM) where the
    # directory takes O_DIRECT; MemStore where it does not (tmpfs).
    local store=bluestore block_gib=${CEPH_TEMP_OSD_GIB:-20}
    if ! dd if=/dev/zero of="$dir/osd/.direct" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
        store=memstore
    fi
    rm -f "$dir/osd/.direct"
    ((block_gib >= 2)) || block_gib=2

    local fsid
    fsid=$(uuidgen)
    local pools=(images volumes vms backups)
    local osd_caps="" mgr_caps="" p
    for p in "${pools[@]}"; do
        osd_caps+="${osd_caps:+, }profile rbd pool=$p"
        mgr_caps+="${mgr_caps:+, }profile rbd pool=$p"
    done

    # Options for one small machine: one replica, no redundancy warnings, small caches and
    # few threads. Daemon paths are in the daemons' sections so clients (rbd, QEMU) read
    # the same file and write nothing under DIR.
    cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:$addr:$v2,v1:$addr:$v1]
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
ms bind ipv6 = false
run dir = $dir/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
mon osd full ratio = 0.97
mon osd backfillfull ratio = 0.96
mon osd nearfull ratio = 0.95
ms async op threads = 1

[client]
keyring = $dir/ceph.\$name.keyring

[mon]
mon data = $dir/mon
keyring = $dir/mon/keyring
log file = $dir/log/mon.log
public addr = $addr
mon cluster log file = $dir/log/cluster.log
paxos propose interval = 0.1
mgr initial modules = iostat

[mgr]
mgr data = $dir/mgr
keyring = $dir/mgr/keyring
log file = $dir/log/mgr.log
public addr = $addr

[osd]
osd data = $dir/osd
keyring = $dir/osd/keyring
log file = $dir/log/osd.log
public addr = $addr
cluster addr = $addr
osd objectstore = $store
osd crush update on start = true
osd op num shards = 1
osd op num threads per shard = 2
osd memory target = 939524096
osd memory cache min = 67108864
osd max backfills = 1
osd scrub during recovery = false
osd scrub begin hour = 0
osd scrub end hour = 0
bluestore block path = $dir/osd-block
bluestore block create = true
bluestore block size = $((block_gib * 1024 * 1024 * 1024))
bluestore cache autotune = false
bluestore cache size = 67108864
bluestore fsck on mount = false
bluestore rocksdb options = compression=kNoCompression,max_write_buffer_number=2,min_write_buffer_number_to_merge=1,recycle_log_file_num=2,write_buffer_size=33554432,writable_file_max_buffer_size=0,compaction_readahead_size=2097152,max_background_compactions=1,max_total_wal_size=268435456
memstore device bytes = $((block_gib * 1024 * 1024 * 1024))
EOF

    # Keys: the monitor's keyring holds every entity's key and caps, so `ceph-mon --mkfs`
    # puts them all in the auth database at once.
    local kr=$dir/initial.keyring
    {
        ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *' &&
            ceph-authtool --create-keyring "$dir/ceph.client.admin.keyring" --gen-key -n client.admin \
                --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' &&
            ceph-authtool --create-keyring "$dir/ceph.client.ciel.keyring" --gen-key -n client.ciel \
                --cap mon 'profile rbd' --cap osd "$osd_caps" --cap mgr "$mgr_caps" &&
            ceph-authtool --create-keyring "$dir/mgr/keyring" --gen-key -n mgr.x \
                --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *' &&
            ceph-authtool --create-keyring "$dir/osd/keyring" --gen-key -n osd.0 \
                --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' &&
            ceph-authtool "$kr" --import-keyring "$dir/ceph.client.admin.keyring" &&
            ceph-authtool "$kr" --import-keyring "$dir/ceph.client.ciel.keyring" &&
            ceph-authtool "$kr" --import-keyring "$dir/mgr/keyring" &&
            ceph-authtool "$kr" --import-keyring "$dir/osd/keyring" &&
            monmaptool --create --fsid "$fsid" --addv a "[v2:$addr:$v2,v1:$addr:$v1]" "$dir/monmap"
    } >"$dir/log/mkfs.out" 2>&1 || _ceph_fail "$dir" "keyrings or monmap failed" || return 1
    chmod 600 "$dir"/ceph.client.*.keyring "$kr" "$dir"/{mgr,osd}/keyring

    # The monitor.
    ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$kr" >>"$dir/log/mkfs.out" 2>&1 ||
        _ceph_fail "$dir" "ceph-mon --mkfs failed" || return 1
    _ceph_watchdog "$dir"
    _ceph_spawn "$dir" mon ceph-mon -f -c "$dir/ceph.conf" -i a
    local i
    for ((i = 0; i < 100; i++)); do
        _ceph_alive "$(<"$dir/pids/mon.pid")" || break
        _ceph_port_free "$addr" $v2 || break
        sleep 0.1
    done
    _ceph "$dir" mon stat >/dev/null 2>&1 || { _ceph_fail "$dir" "the monitor does not answer on $addr:$v2"; return 1; }
    _ceph_phase "$t0" "monitor answers"

    # The manager (for PG states, health and rbd_support), started before the OSD so it
    # loads its modules while the OSD formats its store.
    _ceph_spawn "$dir" mgr ceph-mgr -f -c "$dir/ceph.conf" -i x

    # The OSD: registered with its key (already known to the monitor), then formatted.
    local osd_uuid osd_key id
    osd_uuid=$(uuidgen)
    osd_key=$(ceph-authtool -p -n osd.0 "$dir/osd/keyring")
    id=$(printf '{"cephx_secret": "%s"}' "$osd_key" | _ceph "$dir" osd new "$osd_uuid" 0 -i - 2>>"$dir/log/mkfs.out") ||
        { _ceph_fail "$dir" "ceph osd new failed"; return 1; }
    [[ $id == 0 ]] || { _ceph_fail "$dir" "ceph osd new gave id '$id', not 0"; return 1; }
    if ! ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/mkfs.out" 2>&1; then
        if [[ $store == bluestore ]]; then
            # BlueStore on a file cannot work here: MemStore, which keeps the data in RAM.
            echo "ceph_temp_start: bluestore --mkfs failed, falling back to memstore" >&2
            store=memstore
            sed -i 's/^osd objectstore = bluestore$/osd objectstore = memstore/' "$dir/ceph.conf"
            find "$dir/osd" -mindepth 1 ! -name keyring -delete; rm -f "$dir/osd-block"
            ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/mkfs.out" 2>&1 ||
                { _ceph_fail "$dir" "ceph-osd --mkfs failed"; return 1; }
        else
            _ceph_fail "$dir" "ceph-osd --mkfs failed"; return 1
        fi
    fi
    _ceph_spawn "$dir" osd ceph-osd -f -c "$dir/ceph.conf" -i 0
    _ceph_phase "$t0" "OSD formatted"

    # Up and in, and a manager active.
    for ((i = 0; i < 600; i++)); do
        local st
        st=$(_ceph "$dir" osd dump -f json 2>/dev/null | grep -o '"up":[01],"in":[01]' | head -1)
        [[ $st == '"up":1,"in":1' ]] && break
        _ceph_alive "$(<"$dir/pids/osd.pid")" || { _ceph_fail "$dir" "ceph-osd exited"; return 1; }
        sleep 0.2
    done
    ((i < 600)) || { _ceph_fail "$dir" "the OSD is not up and in after 120 s"; return 1; }
    _ceph_phase "$t0" "OSD up and in"

    # The RBD pools, small and with no autoscaler, made side by side: each waits for the
    # monitor to commit a new OSD map, and `rbd pool init` for its PGs to be active.
    local jobs=() rc=0 j
    for p in "${pools[@]}"; do
        {
            _ceph "$dir" osd pool create "$p" 8 8 replicated &&
                timeout 120 rbd -c "$dir/ceph.conf" -n client.admin pool init "$p"
        } >>"$dir/log/pools.out" 2>&1 &
        jobs+=($!)
    done
    for j in "${jobs[@]}"; do wait "$j" || rc=1; done
    ((rc == 0)) || { _ceph_fail "$dir" "creating the pools ${pools[*]} failed"; return 1; }
    _ceph_phase "$t0" "pools initialised"

    # Usable: HEALTH_OK, and client.ciel creates and removes an image.
    local health=""
    for ((i = 0; i < 300; i++)); do
        health=$(_ceph "$dir" health 2>/dev/null)
        [[ $health == HEALTH_OK* ]] && break
        sleep 0.2
    done
    if [[ $health != HEALTH_OK* ]]; then
        _ceph "$dir" health detail >&2 2>&1
        _ceph_fail "$dir" "not HEALTH_OK after 60 s: $health"
        return 1
    fi
    _ceph_phase "$t0" "HEALTH_OK"
    local probe=ceph-temp-probe-$$
    if ! timeout 60 rbd -c "$dir/ceph.conf" --id ciel create "volumes/$probe" --size 8M >>"$dir/log/mkfs.out" 2>&1 ||
        ! timeout 60 rbd -c "$dir/ceph.conf" --id ciel rm --no-progress "volumes/$probe" >>"$dir/log/mkfs.out" 2>&1; then
        _ceph_fail "$dir" "client.ciel cannot create and remove an image in volumes"
        return 1
    fi

    export CEPH_TEMP_DIR="$dir"
    export CEPH_TEMP_CONF="$dir/ceph.conf"
    export CEPH_TEMP_CLIENT=ciel
    export CEPH_TEMP_KEYRING="$dir/ceph.client.ciel.keyring"
    export CEPH_TEMP_ADMIN_KEYRING="$dir/ceph.client.admin.keyring"
    export CEPH_TEMP_MON="$addr:$v2"
    local size_desc="$block_gib GiB file"
    [[ $store == memstore ]] && size_desc="$block_gib GiB in RAM"
    local t1=$EPOCHREALTIME
    printf 'ceph: cluster usable in %.1f s (mon %s:%s, 1 osd %s %s)\n' \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$addr" "$v2" "$store" "$size_desc"
}

# _ceph_watchdog DIR: a process that ends the daemons of DIR when the owner
# (CEPH_TEMP_OWNER_PID, default $$) is gone. Its own pid file names DIR in its command line.
_ceph_watchdog() {
    local dir=$1 owner=${CEPH_TEMP_OWNER_PID:-$$}
    _ceph_spawn "$dir" watchdog bash -c '
        dir=$1 owner=$2
        ours() { pid=$(cat "$dir/pids/$1.pid" 2>/dev/null) && grep -qF -- "$dir" "/proc/$pid/cmdline" 2>/dev/null; }
        while kill -0 "$owner" 2>/dev/null; do sleep 1; done
        # The OSD first (it waits 5 s for a monitor that is gone), then the others.
        for group in osd "mgr mon"; do
            for n in $group; do ours "$n" && kill -TERM "$pid"; done
            for i in 1 2 3 4 5 6 7 8 9 10; do
                alive=0
                for n in $group; do ours "$n" && alive=1; done
                ((alive)) || break
                sleep 0.5
            done
            for n in $group; do ours "$n" && kill -KILL "$pid"; done
        done' ceph-temp-watchdog "$dir" "$owner"
}

ceph_temp_stop() {
    local dir="${1:?usage: ceph_temp_stop DIR}"
    [[ -d $dir ]] || return 0
    dir="$(cd "$dir" && pwd)"
    _ceph_kill "$dir" 10
    rm -rf "$dir"
    if [[ ${CEPH_TEMP_DIR:-} == "$dir" ]]; then
        unset CEPH_TEMP_DIR CEPH_TEMP_CONF CEPH_TEMP_CLIENT CEPH_TEMP_KEYRING CEPH_TEMP_ADMIN_KEYRING CEPH_TEMP_MON
    fi
    return 0
}

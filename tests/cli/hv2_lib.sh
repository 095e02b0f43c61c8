# The second hypervisor of the two-host tests (sourced, not run): an underlay between this
# namespace (the controller and its local agent, hv1) and a network namespace hv2 where a
# `ciel agent` runs as on a host of its own. Sourced by tests/cli/vm_lib.sh (so by
# migration.sh and the other two-host tests) and by tests/conformance/run.sh (--suite migration).
#
# The caller sets LISTEN_IP (this side's underlay address, where the controller listens) and
# HV2_IP; for the agent also CIEL_BIN, BASE (the controller's URL), JOIN_TOKEN, HV2_PORT,
# HV2_DIR (its state dir), HV2_LOG and optionally HV2_NAME (its hostname, default hv2).

# make_underlay: the two-hypervisor tests' underlay: a bridge ul0 with LISTEN_IP in this
# namespace, and a namespace hv2 cabled to it (its eth0 with HV2_IP) for the second host.
# Both hosts reserve the live migration ports (49152-49215, where the controller has a
# destination listen) from the kernel's ephemeral ports, as a Ciel hypervisor must today
# (docs/migration/qmp-recipe.md, "Ports"): an outgoing connection (a guest's Ceph client, an
# HTTP client) that got one of them as its local port, or still holds it in TIME_WAIT, makes
# QEMU's migrate-incoming fail with "Address already in use".
MIGRATION_PORTS=49152-49215
make_underlay() {
    ip link add ul0 type bridge && ip link set ul0 up && ip addr add "$LISTEN_IP/24" dev ul0
    ip netns add hv2
    ip link add ul-hv2 type veth peer name eth0 netns hv2
    ip link set ul-hv2 master ul0 up
    ip -n hv2 addr add "$HV2_IP/24" dev eth0 && ip -n hv2 link set eth0 up && ip -n hv2 link set lo up
    sysctl -qw "net.ipv4.ip_local_reserved_ports=$MIGRATION_PORTS" &&
        ip netns exec hv2 sysctl -qw "net.ipv4.ip_local_reserved_ports=$MIGRATION_PORTS"
}

# hv2_host_start: hv2 as a host: a process in namespace hv2 with a mount namespace and a
# /run/netns of its own (the agent's DHCP and router namespaces are hv2's only), which
# outlives its agent as a real host does. Sets HV2_PID (`nsenter -t $HV2_PID -m -n CMD` runs
# CMD on hv2); returns once the process holds its /run/netns.
HV2_PID=""
hv2_host_start() {
    ip netns exec hv2 unshare --mount --propagation private \
        bash -c 'mount -t tmpfs hv2-netns /run/netns && exec sleep infinity' &
    HV2_PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        # (The same process all along: ip, unshare and bash exec, bash once it has mounted.)
        [[ $(cat "/proc/$HV2_PID/comm" 2>/dev/null) == sleep ]] && return 0
        kill -0 "$HV2_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "hv2_host_start: the host process of namespace hv2 did not start" >&2
    return 1
}

# hv2_agent_start [AGENT ARGS...]: `ciel agent` on hv2 (TCG, the underlay on its eth0),
# joining the controller with JOIN_TOKEN, its output appended to HV2_LOG; the arguments are
# added to its command line (e.g. --ceph-conf FILE). Sets HV2_AGENT (its pid).
HV2_AGENT=""
hv2_agent_start() {
    nsenter -t "$HV2_PID" -m -n "$CIEL_BIN" agent --controller "$BASE" --join-token "$JOIN_TOKEN" \
        --hostname "${HV2_NAME:-hv2}" --underlay-interface eth0 --listen "$HV2_IP:$HV2_PORT" \
        --state-dir "$HV2_DIR" --driver qemu --virt-type qemu "$@" >>"$HV2_LOG" 2>&1 &
    HV2_AGENT=$!
}

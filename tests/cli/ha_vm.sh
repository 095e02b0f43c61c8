# The optional real-VM part of tests/cli/ha.sh (HA_REAL_VM=1; sourced by it, not run): a second
# agent, "hvq", with the QEMU driver (TCG) in the test's namespace, given the three controller
# URLs like the fake one, boots the small test guest before the load. A ping from the network's
# DHCP namespace runs through both faults. Afterwards the guest must be the same QEMU process,
# ACTIVE, answering, with its console reachable through HAProxy.
# (The load's servers stay on fake1: the scheduler puts them where most RAM is free.)

GUEST=${CIEL_GUEST_DIR:-$CACHE/guest}
QAGENT_PID="" VMPING_PID="" VM_ID="" VM_IP="" VM_NET="" VM_QEMU=""
HOST_CLEANUP=1   # lib.sh removes QEMU, dnsmasq and Ciel's devices of this test at exit
DIAG_LOGS+=("$TMP/agent-qemu.log")

cmp_() { OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel "$OPENSTACK" "$@"; }
console_has() { grep -qa -- "$2" "$TMP/agent-qemu/vms/$1/console.log" 2>/dev/null; }
qemu_of() { pgrep -f "qemu-system-x86_64.*$1" | head -n 1; }

vm_cleanup() {
    stop_pid "$VMPING_PID" 2
    stop_pid "$QAGENT_PID" 5
}

real_vm_start() {
    step "1b. a real QEMU guest (TCG) on a second agent, hvq"
    local c
    for c in qemu-system-x86_64 dnsmasq genisoimage nft; do
        command -v "$c" >/dev/null || abort "HA_REAL_VM=1 needs $c (scripts/test installs it)"
    done
    [[ -x $OPENSTACK ]] || abort "HA_REAL_VM=1 needs the openstack CLI at $OPENSTACK"
    check "build the small guest" "$REPO/tests/guest/build-small.sh" "$GUEST"
    cat >"$TMP/clouds.yaml" <<EOF
clouds:
  ciel:
    auth:
      auth_url: $AUTH_URL
      username: admin
      password: $ADMIN_PW
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
EOF
    "$CIEL_BIN" agent --controller "$CONTROLLER_URLS" --join-token "$(cat "$SHARED/agent-join-token")" \
        --hostname hvq --state-dir "$TMP/agent-qemu" --driver qemu --virt-type qemu \
        --listen 127.0.0.32:8779 >>"$TMP/agent-qemu.log" 2>&1 &
    QAGENT_PID=$!
    check "the QEMU agent (hvq) registers" wait_until 30 grep -q "registered with the controller" "$TMP/agent-qemu.log"
        ok || log_tail "$TMP/agent-qemu.log"
    local kid rid
    check "image create guest-kernel (aki)" cmp_ image create --file "$GUEST/vmlinuz" --disk-format aki --container-format aki guest-kernel -f json
        ok && kid=$(jf "$OUT" 'd["id"]')
    check "image create guest-ramdisk (ari)" cmp_ image create --file "$GUEST/initrd.img" --disk-format ari --container-format ari guest-ramdisk -f json
        ok && rid=$(jf "$OUT" 'd["id"]')
    check "image create guest" cmp_ image create --file "$GUEST/root.qcow2" --disk-format qcow2 --container-format bare \
        --property "kernel_id=${kid:-none}" --property "ramdisk_id=${rid:-none}" --property "os_command_line=console=ttyS0 quiet" guest
    check "network create vmnet + subnet 10.77.0.0/24" cmp_ network create vmnet -f json
        ok && VM_NET=$(jf "$OUT" 'd["id"]')
    check "  subnet" cmp_ subnet create --network vmnet --subnet-range 10.77.0.0/24 vmsub
    check "security group rule create --protocol icmp default" cmp_ security group rule create --protocol icmp --ingress default
    check "server create vm1 --availability-zone nova:hvq --wait" cmp_ server create --image guest --flavor m1.micro \
        --network vmnet --availability-zone nova:hvq --wait vm1 -f json
        ok || abort "no VM"
    VM_ID=$(jf "$OUT" 'd["id"]')
    VM_IP=$(jf "$OUT" 'list(d["addresses"].values())[0][0] if isinstance(d["addresses"], dict) else d["addresses"].split("=")[1].split(",")[0]')
    check "  vm1 gets $VM_IP by DHCP" wait_until 120 console_has "$VM_ID" "CIEL-GUEST dhcp eth0 $VM_IP"
    VM_QEMU=$(qemu_of "$VM_ID")
    check "  the network's DHCP namespace pings vm1" wait_until 20 ip netns exec "ciel-dhcp-$VM_NET" ping -c 1 -W 1 "$VM_IP"
    # Five pings a second through both faults.
    ip netns exec "ciel-dhcp-$VM_NET" ping -i 0.2 -W 1 "$VM_IP" >"$TMP/vm-ping.log" 2>&1 &
    VMPING_PID=$!
}

real_vm_check() {
    step "4. the real guest after the faults"
    stop_pid "$VMPING_PID" 2
    local url="" i got="" loss
    # Sequence numbers of the echoes answered: the ones missing were lost.
    loss=$(grep -ao 'icmp_seq=[0-9]*' "$TMP/vm-ping.log" | cut -d= -f2 | sort -n | uniq | awk '
        NR == 1 { first = $1 } { if (NR > 1 && $1 - prev - 1 > gap) gap = $1 - prev - 1; lost += (NR > 1) ? $1 - prev - 1 : 0; prev = $1; n++ }
        END { printf "%d answered, %d lost (longest run of lost echoes %d, at 5 a second)", n, lost, gap }')
    echo "  ping from the DHCP namespace to vm1 during the run: $loss"
    assert "  vm1 answered every ping through both faults" contains "$loss" " 0 lost"
    check "server show vm1" cmp_ server show vm1 -f value -c status
        ok && assert "  ACTIVE" eq "$OUT" ACTIVE
    assert "  still the same QEMU process (pid ${VM_QEMU:-none})" eq "$(qemu_of "$VM_ID")" "$VM_QEMU"
    check "console url show --novnc vm1 (through HAProxy)" cmp_ console url show --novnc vm1 -f json
        ok && url=$(jf "$OUT" 'd["url"]')
    # A console token is a row: the websocket may reach any controller behind HAProxy.
    for i in 1 2 3; do
        got=$($PY "$HERE/tools/ws_first_message.py" "${url:-none}" 2>&1 || true)
        [[ $got == *"RFB 003.008"* ]] || break
    done
    assert "  the websocket reaches QEMU's VNC server, three times in a row" contains "$got" "RFB 003.008"
    check "server delete vm1 --wait" cmp_ server delete --wait vm1
    qemu_gone() { [[ -z $(qemu_of "$VM_ID") ]]; }
    check "  its QEMU is gone" wait_until 30 qemu_gone
}

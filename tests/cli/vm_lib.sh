# Helpers of the tests that boot real QEMU guests (sourced by them instead of lib.sh).
# The caller sets HERE and CIEL_TEST_NAME; this sets REPO, CIEL_BIN, CACHE, the CLI, the
# controller's port and the agent's state dir, and sources lib.sh.

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

# What the agent leaves on the host by design is removed when the test ends (lib.sh).
HOST_CLEANUP=1
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"

PORT=$(free_port)
# The controller's address (a test with several simulated hosts puts it on their underlay).
LISTEN_IP=${LISTEN_IP:-127.0.0.1}
BASE=http://$LISTEN_IP:$PORT
AUTH_URL=$BASE/identity/v3
ADMIN_PW="Adm1n-$RANDOM$RANDOM"
AGENT_DIR=$DATA/agent
GUEST=${CIEL_GUEST_DIR:-$CACHE/guest}
echo "ciel: $CIEL_BIN  port: $PORT  tmp: $TMP"

# The openstack CLI as the admin of the test's cloud.
cmp_() { OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=ciel "$OPENSTACK" "$@"; }
# console_has ID TEXT: the serial console of server ID shows TEXT
console_has() { grep -qa -- "$2" "$AGENT_DIR/vms/$1/console.log" 2>/dev/null; }
console_line() { grep -a -- "$2" "$AGENT_DIR/vms/$1/console.log" 2>/dev/null | head -n 1 | tr -d '\r'; }
# wait_until SECONDS CMD...: retries CMD every 0.5 s until SECONDS of wall time have passed
# (a deadline, not a count: a CLI call takes seconds itself on a loaded machine).
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while true; do
        "$@" && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
status_is() { [[ $(cmp_ server show "$1" -f value -c status 2>/dev/null) == "$2" ]]; }

# make_underlay, hv2_host_start, hv2_agent_start: the second hypervisor of two-host tests.
# shellcheck source=tests/cli/hv2_lib.sh
. "$HERE/hv2_lib.sh"

# start_cloud [COMPUTE SETTINGS...]: `ciel up` with its local agent "hv1" on TCG (KVM hangs
# stock guests on this kind of nested machine; a real host would use kvm) and any further
# [compute] settings, the admin's clouds.yaml, the agent registered.
start_cloud() {
    printf '[compute]\nvirt_type = "qemu"\nhostname = "hv1"\n' >"$TMP/ciel.toml"
    local line
    for line in "$@"; do printf '%s\n' "$line" >>"$TMP/ciel.toml"; done
    start_ciel "$LOG" --data-dir "$DATA" --listen "$LISTEN_IP:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
    CIEL_PID=$STARTED_PID
    wait_ready "$BASE" "$CIEL_PID" || { cat "$LOG"; abort "ciel did not start"; }
    pass "ciel up answers"
    cp "$DATA/clouds.yaml" "$TMP/clouds.yaml"
    check "the local agent registers" wait_until 20 grep -q "registered with the controller" "$LOG"
}

# add_other_project: a second project "other-N" with a member user, reachable as cloud
# `other` of the test's clouds.yaml; `ou` runs the CLI as that user. Sets OTHER.
OTHER=""
add_other_project() {
    check "project create other" cmp_ project create "other-$RANDOM" -f json
    ok && OTHER=$(jf "$OUT" 'd["name"]')
    check "user create" cmp_ user create --password other-pw "ou-$OTHER"
    check "role add member" cmp_ role add --user "ou-$OTHER" --project "$OTHER" member
    cat >>"$TMP/clouds.yaml" <<YAML
  other:
    auth:
      auth_url: $AUTH_URL
      username: ou-$OTHER
      password: other-pw
      project_name: $OTHER
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
YAML
}
ou() { OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml OS_CLOUD=other "$OPENSTACK" "$@"; }

# register_guest DIR NAME [CMDLINE]: the kernel, ramdisk and root disk in DIR as the images
# NAME-kernel (aki), NAME-ramdisk (ari) and NAME (public qcow2 booting that kernel); sets KID, RID and IMAGE_ID.
IMAGE_ID=""
register_guest() {
    local dir=$1 name=$2 cmdline=${3:-} props=()
    KID="" RID=""
    check "image create $name-kernel (aki)" cmp_ image create --file "$dir/vmlinuz" --disk-format aki --container-format aki "$name-kernel" -f json
    ok && KID=$(jf "$OUT" 'd["id"]')
    check "image create $name-ramdisk (ari)" cmp_ image create --file "$dir/initrd.img" --disk-format ari --container-format ari "$name-ramdisk" -f json
    ok && RID=$(jf "$OUT" 'd["id"]')
    [[ -n $cmdline ]] && props=(--property "os_command_line=$cmdline")
    check "image create $name" cmp_ image create --file "$dir/root.qcow2" --disk-format qcow2 --container-format bare --public \
        --property "kernel_id=$KID" --property "ramdisk_id=$RID" "${props[@]}" "$name" -f json
    ok && IMAGE_ID=$(jf "$OUT" 'd["id"]')
}

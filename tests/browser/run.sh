#!/usr/bin/env bash
# The web dashboard in a real browser: `ciel up` with its embedded hypervisor agent on real
# QEMU (TCG), the small test guest registered as an image, and Chromium driven by Playwright
# (tests/browser/dashboard.test.mjs) through login, image upload, networks, a router, launching
# three instances at once, console log, VNC console, floating IP, the monitoring graphs of an
# instance and of the hypervisor and the overview's metered usage (the cloud samples every 5 s),
# a load balancer (Octavia: fully populated create, status tree, floating IP on the VIP, cascade
# delete), and deleting it all again.
# Screenshots of each main page land in $CIEL_TEST_OUT/browser/.
#
# Usage: tests/browser/run.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1 as for tests/cli;
#        CIEL_DASHBOARD_DIR=dashboard/dist serves the dashboard from disk instead of the
#        copy built into the binary). Runs in network namespaces of its own (tests/cli/isolated.sh).
set -euo pipefail

BROWSER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -z ${CIEL_BROWSER_ISOLATED:-} ]]; then
    export CIEL_BROWSER_ISOLATED=1
    exec "$BROWSER_DIR/../cli/isolated.sh" "$BROWSER_DIR/run.sh" "$@"
fi

# The CLI tests' helpers (start_cloud, register_guest, check/assert) expect HERE=tests/cli.
HERE=$(cd "$BROWSER_DIR/../cli" && pwd)
CIEL_TEST_NAME=browser-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

OUT_DIR=${CIEL_TEST_OUT:-$REPO/target/test-output}/browser
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.png
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -x $CHROMIUM ]] || abort "chromium is required at $CHROMIUM (scripts/lib/dashboard-deps.sh installs it)"
[[ -d $REPO/dashboard/node_modules/playwright-core ]] || abort "playwright-core is missing: run scripts/build-dashboard"
# Chromium runs with TMPDIR=$TMP (its profile is there): whatever is left of it ends with the test.
host_cleanup_browser() { pkill -KILL -f "chromium.*$TMP" 2>/dev/null || true; }

step "0. the test guest, ciel up (local agent, TCG; samples and metering every 5 s)"
check "build the small guest (Debian kernel + busybox initramfs)" "$REPO/tests/guest/build-small.sh" "$GUEST"
start_cloud '[usage]' 'interval = 5'
check "the dashboard is served at /" curl -sf "$BASE/"
    ok && assert "  it is the built dashboard (not the how-to-build page)" contains "$OUT" '<div id="root">'

step "1. the guest image (the CLI registers it; the browser uploads another)"
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "project create demo (for the project switcher)" cmp_ project create demo
check "role add member for admin on demo" cmp_ role add --user admin --project demo member
check "user create alice (a member of demo, for the non-admin view)" cmp_ user create --password alice-pw alice
check "role add member for alice on demo" cmp_ role add --user alice --project demo member
# A raw disk of 24 MiB for the browser to upload: large enough for the progress bar to move.
truncate -s 24M "$TMP/browser-upload.raw"
# A public key for the browser to import.
ssh-keygen -q -t ed25519 -N "" -C browser-test -f "$TMP/import-key"

step "2. the dashboard in Chromium (Playwright)"
T_BROWSER=$(date +%s)
rc=0
CIEL_URL=$BASE CIEL_ADMIN_PASSWORD=$ADMIN_PW CIEL_UPLOAD_FILE=$TMP/browser-upload.raw CIEL_SHOTS=$OUT_DIR \
    CIEL_PUBLIC_KEY="$(cat "$TMP/import-key.pub")" \
    CHROMIUM=$CHROMIUM TMPDIR=$TMP \
    node "$BROWSER_DIR/dashboard.test.mjs" || rc=$?
host_cleanup_browser
if ((rc == 0)); then pass "the browser scenario ($(( $(date +%s) - T_BROWSER )) s; screenshots in $OUT_DIR)"; else fail "the browser scenario (exit $rc; screenshots in $OUT_DIR)"; fi

step "3. what the browser did, seen through the API"
check "server list is empty" cmp_ server list -f value -c ID
    ok && assert "  no server left" eq "$OUT" ""
check "floating ip list is empty" cmp_ floating ip list -f value -c ID
    ok && assert "  no floating IP left" eq "$OUT" ""
check "loadbalancer list is empty" cmp_ loadbalancer list -f value -c id
    ok && assert "  no load balancer left" eq "$OUT" ""
check "image list" cmp_ image list -f value -c Name
    ok && assert "  the uploaded image is gone" lacks "$OUT" "browser-upload"
    ok && assert "  the snapshot is gone" lacks "$OUT" "web-3-snap"
check "router list" cmp_ router list -f value -c Name
    ok && assert "  the router is gone" lacks "$OUT" "web-router"
check "network list" cmp_ network list -f value -c Name
    ok && assert "  the network is gone" lacks "$OUT" "web-net"
check "keypair list" cmp_ keypair list -f value -c Name
    ok && assert "  the key pairs are gone" eq "$OUT" ""

finish

#!/usr/bin/env bash
# Runs a test (or any command) in network and mount namespaces of its own, with a private
# /run/netns: its bridges, taps, DHCP namespaces and nftables tables cannot meet those of
# another test or of a Ciel running on the machine, and vanish with it.
#   tests/cli/isolated.sh tests/cli/vm_network.sh
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
exec unshare --net --mount --propagation private bash -c \
    'mkdir -p /run/netns && mount -t tmpfs ciel-isolated /run/netns && ip link set lo up && exec "$@"' _ "$@"

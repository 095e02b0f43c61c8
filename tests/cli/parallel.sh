#!/usr/bin/env bash
# Runs CLI acceptance scripts side by side (each starts its own Ciel on its own ports), then
# prints each one's output in turn; fails if any failed. For suites that use only loopback.
#   tests/cli/parallel.sh tests/cli/identity.sh tests/cli/image.sh …
set -uo pipefail
dir=$(mktemp -d)
pids=()
for t in "$@"; do
    "$t" >"$dir/$(basename "$t").log" 2>&1 &
    pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || rc=1
done
for t in "$@"; do
    echo "================ $t"
    cat "$dir/$(basename "$t").log"
done
echo "================ totals"
for t in "$@"; do
    printf '%-28s %s\n' "$(basename "$t")" "$(grep -E '^.*[0-9]+ passed, [0-9]+ failed' "$dir/$(basename "$t").log" | tail -n1)"
done
rm -rf "$dir"
exit $rc

#!/usr/bin/env bash
# Runs CLI acceptance scripts side by side (each starts its own Ciel on its own ports), then
# prints each one's output in turn; fails if any failed. For suites that use only loopback,
# or that run in namespaces of their own: an argument may be a command with its arguments
# in one word ("tests/cli/isolated.sh tests/cli/hostile_port.sh"), named by its last word
# that is not an option.
#   tests/cli/parallel.sh tests/cli/identity.sh tests/cli/image.sh …
set -uo pipefail
dir=$(mktemp -d)
pids=()
name_of() {
    local w last=""
    for w in $1; do [[ $w == -* ]] || last=$w; done
    basename -- "$last"
}
# Numbered: two commands may end in the same word (the same suite on two databases).
log_of() { echo "$dir/$1-$(name_of "$2").log"; }
n=0
for t in "$@"; do
    n=$((n + 1))
    # shellcheck disable=SC2086 # a command with its arguments, split on purpose
    $t >"$(log_of "$n" "$t")" 2>&1 &
    pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || rc=1
done
n=0
for t in "$@"; do
    n=$((n + 1))
    echo "================ $t"
    cat "$(log_of "$n" "$t")"
done
echo "================ totals"
n=0
for t in "$@"; do
    n=$((n + 1))
    printf '%-28s %s\n' "$(name_of "$t")" \
        "$(grep -E '[0-9]+ passed, [0-9]+ failed|^Tempest results \(all selected tests\)' "$(log_of "$n" "$t")" | tail -n1)"
done
rm -rf "$dir"
exit $rc

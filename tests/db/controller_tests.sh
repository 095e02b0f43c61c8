#!/usr/bin/env bash
# Runs the controller's test binaries that `cargo test --release --locked` built (the whole
# workspace's feature set, so nothing is rebuilt) with the environment given, e.g. on
# PostgreSQL:  CIEL_TEST_DATABASE=postgres://… tests/db/controller_tests.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
mapfile -t bins < <(cargo test --release --locked -q --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "/crates/ciel-controller/" in m["target"]["src_path"]:
        print(m["executable"])
')
[ ${#bins[@]} -gt 0 ] || { echo "no controller test binaries (run cargo test --release first)" >&2; exit 1; }
rc=0
for b in "${bins[@]}"; do
    echo "== $(basename "$b")"
    (cd crates/ciel-controller && "$b" -q) || rc=1
done
exit $rc

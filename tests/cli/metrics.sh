#!/usr/bin/env bash
# Observability acceptance: Debian's Prometheus scrapes a `ciel up` (controller /metrics and
# its agent's [metrics] listen) running a real QEMU guest that burns CPU and sends packets.
# PromQL shows the guest's CPU time and network bytes growing, the API request count
# matching the requests made, and the operator kit's host-down alert (deploy/monitoring,
# its `for:` shortened) firing when an agent is killed; `promtool check metrics` parses both
# endpoints. Then metering: `ciel usage` and os-simple-tenant-usage give the server's known
# lifetime, the audit log lists the test's writes with the right user and project, no secret
# appears in any log, and `ciel status` shows the hosts.
#
# The killed agent is a second `ciel agent` with the fake driver: the host-down path is the
# controller's (reports stop), and killing the all-in-one's own agent would kill the
# controller with it.
#
# Usage: tests/cli/isolated.sh tests/cli/metrics.sh   (CIEL_BIN, CIEL_TEST_CACHE, KEEP_TMP=1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CIEL_TEST_NAME=metrics-test
# shellcheck source=tests/cli/vm_lib.sh
. "$HERE/vm_lib.sh"

for c in prometheus promtool; do
    command -v "$c" >/dev/null || { echo "$c is required (Debian package prometheus)" >&2; exit 2; }
done

AGENT_METRICS_PORT=$(free_port)
PROM_PORT=$(free_port)
HV2_METRICS_PORT=$(free_port)
PROM=http://127.0.0.1:$PROM_PORT

# promql QUERY: the first value of an instant query ("" when there is none)
promql() {
    curl -sf --get "$PROM/api/v1/query" --data-urlencode "query=$1" |
        $PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# promql_at_least QUERY MIN: the query's value is at least MIN
promql_at_least() {
    local v
    v=$(promql "$1")
    [[ -n $v ]] && $PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$v" "$2"
}
# promql_is QUERY VALUE: the query's value is VALUE
promql_is() { [[ $(promql "$1") == "$2" ]]; }
# scraped_since JOB T: Prometheus scraped JOB after Unix time T
scraped_since() {
    promql_at_least "timestamp(up{job=\"$1\"})" "$2"
}

step "0. the test guest; ciel up with its agent's metrics and a 5 s metering interval"
check "build the small guest (Debian kernel + busybox initramfs)" "$REPO/tests/guest/build-small.sh" "$GUEST"
start_cloud '[metrics]' "listen = \"127.0.0.1:$AGENT_METRICS_PORT\"" '[usage]' 'interval = 5' \
    '[scheduler]' 'host_down_after = 10'
register_guest "$GUEST" guest "console=ttyS0 quiet"
check "network create" cmp_ network create metricsnet
check "subnet create" cmp_ subnet create --network metricsnet --subnet-range 10.31.0.0/24 metricssub

step "1. the metrics text parses with Prometheus' own parser"
check "controller /metrics from loopback (no token)" curl -sf "$BASE/metrics" -o "$TMP/controller.prom"
check "  promtool check metrics" promtool check metrics <"$TMP/controller.prom"
check "agent /metrics" curl -sf "http://127.0.0.1:$AGENT_METRICS_PORT/metrics" -o "$TMP/agent.prom"
check "  promtool check metrics" promtool check metrics <"$TMP/agent.prom"
assert "  the agent reports host hv1's CPU" grep -q '^ciel_host_cpu_seconds_total{host="hv1",mode="user"}' "$TMP/agent.prom"

step "2. Prometheus scrapes both, with the operator kit's rules"
# The kit's alert rules, waiting 5 s instead of minutes before firing.
sed -E 's/^( +for: ).*/\15s/' "$REPO/deploy/monitoring/alerts.yml" >"$TMP/alerts.yml"
cat >"$TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: ciel-controller
    static_configs: [{targets: ["127.0.0.1:$PORT"]}]
  - job_name: ciel-agent
    static_configs: [{targets: ["127.0.0.1:$AGENT_METRICS_PORT", "127.0.0.1:$HV2_METRICS_PORT"]}]
YAML
check "promtool check config" promtool check config "$TMP/prometheus.yml"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
EXTRA_PIDS+=($!)
check "Prometheus scrapes the controller" wait_until 30 promql_at_least 'up{job="ciel-controller"}' 1
check "Prometheus scrapes the agent" wait_until 30 promql_at_least "up{instance=\"127.0.0.1:$AGENT_METRICS_PORT\"}" 1

step "3. a guest burning CPU and sending packets"
# Burns one vCPU and sends a ping a second to an address on its subnet (ARP and ICMP out of
# its port whether or not anyone answers).
printf '%s\n' '#!/bin/sh' \
    '( while :; do :; done ) </dev/null >/dev/null 2>&1 &' \
    '( while :; do ping -c 1 -W 1 10.31.0.1 >/dev/null 2>&1; sleep 0.2; done ) </dev/null >/dev/null 2>&1 &' \
    '# and pings from an address not its own (the anti-spoofing rules drop them)' \
    'ip addr add 10.31.0.250/24 dev eth0' \
    '( while :; do ping -c 1 -W 1 -I 10.31.0.250 10.31.0.1 >/dev/null 2>&1; sleep 0.5; done ) </dev/null >/dev/null 2>&1 &' \
    'echo "CIEL-GUEST load started"' >"$TMP/load"
check "server create --wait (user data: the load)" \
    cmp_ server create --image guest --flavor m1.micro --network metricsnet --user-data "$TMP/load" --wait loadvm -f json
ok && VM=$(jf "$OUT" 'd["id"]')
VM=${VM:-none}
PROJECT=$(cmp_ project show admin -f value -c id)
check "the load runs in the guest" wait_until 120 console_has "$VM" "CIEL-GUEST load started"
sel="server=\"$VM\",project=\"$PROJECT\",host=\"hv1\""
check "its CPU time is scraped with server, project and host labels" \
    wait_until 30 promql_at_least "ciel_server_cpu_seconds_total{$sel}" 0
CPU1=$(promql "ciel_server_cpu_seconds_total{$sel}")
TX1=$(promql "sum(ciel_port_transmit_bytes_total{$sel})")
sleep 12
check "PromQL: the guest uses over a third of a core (rate over 10 s)" \
    wait_until 20 promql_at_least "rate(ciel_server_cpu_seconds_total{$sel}[10s])" 0.33
CPU2=$(promql "ciel_server_cpu_seconds_total{$sel}")
TX2=$(promql "sum(ciel_port_transmit_bytes_total{$sel})")
assert "  its CPU time rose ($CPU1 -> $CPU2 s)" $PY -c 'import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) + 3 else 1)' "$CPU1" "$CPU2"
assert "  its transmitted bytes grew ($TX1 -> $TX2)" $PY -c 'import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) else 1)' "${TX1:-0}" "${TX2:-0}"
check "PromQL: bytes sent by its port per second > 0" \
    promql_at_least "sum(rate(ciel_port_transmit_bytes_total{$sel}[10s]))" 1
check "PromQL: its disk reads are counted (it booted from its root disk)" \
    promql_at_least "sum(ciel_server_disk_read_bytes_total{$sel})" 1
check "PromQL: its memory: RSS and the flavor's 192 MiB" \
    promql_at_least "ciel_server_memory_bytes{$sel}" $((192 * 1024 * 1024))
check "PromQL: the agent counts one running VM" promql_at_least 'ciel_agent_vms{host="hv1",state="running"}' 1
check "PromQL: the controller counts one ACTIVE server (vm_state active)" \
    promql_at_least 'max(ciel_resources{type="server",state="active"})' 1
check "PromQL: its port's anti-spoofing rules drop the pings from a forged address" \
    wait_until 20 promql_at_least "sum(ciel_port_dropped_packets_total{$sel,rule=\"anti_spoofing\"})" 3
check "  its security group drops nothing it sends (egress open; the counter is there, at 0)" \
    promql_is "sum(ciel_port_dropped_packets_total{$sel,rule=\"security_group_egress\"})" 0
check "PromQL: QMP latencies are observed" promql_at_least 'sum(ciel_agent_qmp_duration_seconds_count{host="hv1"})' 1

step "4. API request counts match the requests made"
TOKEN=$(cmp_ token issue -f value -c id)
q='sum(ciel_http_requests_total{action="compute:flavors:list",status="200"})'
before_t=$(date +%s)
check "Prometheus has scraped since" wait_until 10 scraped_since ciel-controller "$((before_t + 1))"
BEFORE=$(promql "$q")
for _ in 1 2 3 4 5 6 7; do
    curl -sf -H "X-Auth-Token: $TOKEN" "$BASE/compute/v2.1/flavors" >/dev/null
done
after_t=$(date +%s)
check "Prometheus has scraped after the calls" wait_until 10 scraped_since ciel-controller "$((after_t + 1))"
AFTER=$(promql "$q")
assert "  exactly 7 more GET /compute/v2.1/flavors counted (${BEFORE:-0} -> $AFTER)" \
    eq "$((${AFTER:-0} - ${BEFORE:-0}))" 7
check "PromQL: their latency histogram has them" \
    promql_at_least 'sum(ciel_http_request_duration_seconds_count{action="compute:flavors:list"})' 7
# Loopback may read without a token (the default [metrics] allow); the token check itself is
# covered by the controller's integration tests (no peer address there).
assert "the admin token is accepted as Bearer (what Prometheus sends)" \
    eq "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/metrics")" 200
MEMBER_PW="m-pw-$RANDOM$RANDOM"
check "a project and a member user (audited writes)" cmp_ project create metrics-other
check "  user create" cmp_ user create --password "$MEMBER_PW" metrics-member

step "5. a killed agent's host goes down and the kit's CielHostDown alert fires"
JOIN=$(cat "$DATA/agent-join-token")
"$CIEL_BIN" agent --controller "$BASE" --join-token "$JOIN" --hostname hv2 --driver fake \
    --state-dir "$TMP/hv2" --listen 127.0.0.1:0 --metrics-listen "127.0.0.1:$HV2_METRICS_PORT" \
    >"$TMP/hv2.log" 2>&1 &
HV2_PID=$!
EXTRA_PIDS+=("$HV2_PID")
check "hv2 is up (ciel_host_up)" wait_until 30 promql_at_least 'max(ciel_host_up{host="hv2"})' 1
check "Prometheus scrapes hv2's agent" wait_until 30 promql_at_least "up{instance=\"127.0.0.1:$HV2_METRICS_PORT\"}" 1
kill -KILL "$HV2_PID"; wait "$HV2_PID" 2>/dev/null || true
check "ciel_host_up{host=\"hv2\"} drops to 0 (host_down_after = 10 s)" \
    wait_until 40 promql_is 'max(ciel_host_up{host="hv2"})' 0
check "ALERTS: CielHostDown fires for hv2" \
    wait_until 60 promql_at_least 'ALERTS{alertname="CielHostDown",host="hv2",alertstate="firing"}' 1
check "ALERTS: CielAgentUnreachable is pending or firing for hv2's agent" \
    wait_until 20 promql_at_least "ALERTS{alertname=\"CielAgentUnreachable\",instance=\"127.0.0.1:$HV2_METRICS_PORT\"}" 1
check "  hv1 raises no CielHostDown" eq "$(promql 'ALERTS{alertname="CielHostDown",host="hv1"}')" ""
check "ciel status (admin-openrc of the data dir)" "$CIEL_BIN" status --data-dir "$DATA" -f json
ok && assert "  hv1 up, hv2 down" eq "$(jf "$OUT" 'sorted((h["hostname"], h["up"]) for h in d["hosts"])')" \
    '[["hv1", true], ["hv2", false]]'
ok && assert "  one controller, alive, this one" eq "$(jf "$OUT" '[(c["alive"], c["this"]) for c in d["controllers"]]')" '[[true, true]]'
check "ciel status (table)" "$CIEL_BIN" status --data-dir "$DATA"
ok && assert "  says one of two hosts is down" contains "$OUT" "2 hosts, 1 down"

step "6. metering: the server's known lifetime, in ciel usage and os-simple-tenant-usage"
START_ISO=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S)
CREATED=$(date -u -d "$(cmp_ server show "$VM" -f value -c created)" +%s)
check "server delete --wait" cmp_ server delete --wait "$VM"
DELETED=$(date +%s)
END_ISO=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S)
LIFE=$((DELETED - CREATED))
check "ciel usage -f json (the period around it)" \
    "$CIEL_BIN" usage --data-dir "$DATA" --start "$START_ISO" --end "$END_ISO" --project "$PROJECT" -f json
ok && HOURS=$(jf "$OUT" '[p["server_hours"] for p in d["projects"]][0]')
assert "  server hours match its ${LIFE} s of life within 3 %" $PY -c \
    'import sys; h=float(sys.argv[1])*3600; l=float(sys.argv[2]); sys.exit(0 if abs(h-l) <= 0.03*l else 1)' "${HOURS:-0}" "$LIFE"
ok && assert "  vCPU hours = hours x 1 vCPU" eq "$(jf "$OUT" 'round(d["projects"][0]["vcpu_hours"] - d["projects"][0]["server_hours"], 9)')" 0.0
check "ciel usage -f csv has the header and the project" \
    "$CIEL_BIN" usage --data-dir "$DATA" --start "$START_ISO" --end "$END_ISO" -f csv
ok && assert "  header" contains "$OUT" "project_id,server_hours,vcpu_hours,ram_gib_hours,disk_gib_hours,volume_gib_hours,floating_ip_hours,load_balancer_hours"
ok && assert "  the admin project's row" contains "$OUT" "$PROJECT,"
check "openstack usage show (os-simple-tenant-usage, yesterday to tomorrow)" \
    cmp_ usage show --project admin --start "$(date -u -d '-1 day' +%Y-%m-%d)" \
    --end "$(date -u -d '+1 day' +%Y-%m-%d)" -f json
ok && assert "  the same CPU hours within 3 %" $PY -c \
    'import json,sys; d=json.loads(sys.argv[1]); h=float(d["CPU Hours"])*3600; l=float(sys.argv[2]); sys.exit(0 if abs(h-l) <= 0.03*l+36 else 1)' "$OUT" "$LIFE"

step "7. the audit log lists the test's writes; no secret in any log"
AUDIT=$DATA/audit.log
ADMIN_ID=$(cmp_ user show admin -f value -c id)
assert "the server's creation: by admin in project admin, with its request id" $PY - "$AUDIT" "$ADMIN_ID" "$PROJECT" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
creates = [l for l in lines if l["policy_action"] == "compute:servers:create"]
assert creates, "no server creation audited"
c = creates[-1]
assert c["initiator"]["id"] == sys.argv[2], c
assert c["initiator"]["project_id"] == sys.argv[3], c
assert c["outcome"] == "success" and c["reason"]["reasonCode"] == "202", c
assert c["request_id"].startswith("req-"), c
assert c["typeURI"] == "http://schemas.dmtf.org/cloud/audit/1.0/event", c
deletes = [l for l in lines if l["policy_action"] == "compute:servers:delete"]
assert deletes and deletes[-1]["target"]["id"], "no server deletion with its id"
PY
assert "  the member's project and user creation are there too" grep -q '"policy_action":"identity:create_user"' "$AUDIT"
for secret in "$ADMIN_PW" "$MEMBER_PW" "$TOKEN"; do
    assert "  a password or token of the test is in no log" \
        bash -c '! grep -rqF -- "$1" "$2" "$3" "$4"' _ "$secret" "$AUDIT" "$LOG" "$TMP/hv2.log"
done

finish

#!/usr/bin/env bash
# The `moat k8s` command line end to end on real manifests (src/k8s/testdata/mixed: Helm and
# kustomize output, a dashboard's RBAC, a node exporter, a file with a malformed document): exit
# codes (0 / --exit-code N / 2 on errors), stdin, every output format (SARIF and JUnit checked
# against their schema/shape), check selection, and `moat k8s node` on a prepared host root.
# Usage: tests/k8s_cli_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
start_cli_test "$@"
MIXED=$HERE/../src/k8s/testdata/mixed

# --- exit codes ---------------------------------------------------------------------------------
expect findings-default-0 0 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml"
expect findings-exit-code 3 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml" --exit-code 3
expect selected-check-passes 0 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml" --exit-code 3 \
  --checks rbac-wildcard
expect malformed-is-error 2 "$MOAT" k8s manifests "$MIXED" -f json -o "$WORK/mixed.json"
is malformed-names-file-line grep -q "broken.yaml:15:1" "$WORK/malformed-is-error.err"
# The malformed document does not hide the others: the rest of that file and the other files.
is others-still-assessed jq -e '.summary.assessed == 10 and .summary.errors == 1 and
  ([.resources[] | select(.file | endswith("broken.yaml"))] | length) >= 1 and
  ([.resources[] | select(.file | endswith("node-exporter.yaml")) | .findings[]] | length) > 0' \
  "$WORK/mixed.json"
expect no-such-file 2 "$MOAT" k8s manifests "$WORK/none.yaml"
expect bad-pss-version 2 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml" --pss-version 2.0

# --- stdin and selection ------------------------------------------------------------------------
expect stdin 0 sh -c "'$MOAT' k8s manifests - -f json <'$MIXED/helm-redis.yaml'"
is stdin-findings jq -e '.summary.findings > 0' "$WORK/stdin.out"
expect pss-group 0 "$MOAT" k8s manifests "$MIXED/node-exporter.yaml" --checks pss-baseline -f json
is pss-group-only jq -e '[.resources[].findings[].checkId] | length > 0 and
  all(startswith("pss-baseline-"))' "$WORK/pss-group.out"
is pss-host-namespaces jq -e '[.resources[].findings[].checkId] | index("pss-baseline-host-namespaces")' \
  "$WORK/pss-group.out"
expect severity 0 "$MOAT" k8s manifests "$MIXED/dashboard-rbac.json" "$MIXED/node-exporter.yaml" --severity CRITICAL -f json --exclude-namespaces ""
is severity-only-critical jq -e '[.resources[].findings[].severity] | length > 0 and
  all(. == "CRITICAL")' "$WORK/severity.out"

# --- formats ------------------------------------------------------------------------------------
expect sarif 0 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml" -f sarif -o "$WORK/k8s.sarif"
is sarif-schema /usr/bin/python3 "$HERE/validate_schema.py" sarif "$WORK/k8s.sarif"
is sarif-file-line jq -e '[.runs[0].results[].locations[0].physicalLocation |
  select(.artifactLocation.uri | endswith("helm-redis.yaml")) | .region.startLine > 0] |
  length > 0 and all' "$WORK/k8s.sarif"
expect junit 0 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml" -f junit -o "$WORK/k8s.xml"
is junit-parses /usr/bin/python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall(".//testcase")
assert cases and any(c.find("failure") is not None for c in cases), "no failing testcase"' \
  "$WORK/k8s.xml"
expect table 0 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml"
is table-summary grep -q "Namespaces" "$WORK/table.out"
expect checks-list 0 "$MOAT" k8s checks -f json
is checks-ids jq -e '[.[].id // .checks[].id] | index("pss-restricted-run-as-non-root") and
  index("rbac-wildcard")' "$WORK/checks-list.out"
is checks-optional jq -e '[.[] | select(.optional) | .id] | index("wl-image-digest") and
  (map(select(. == "rbac-wildcard")) | length == 0)' "$WORK/checks-list.out"

# --- node checks on a prepared host root --------------------------------------------------------
NODE=$WORK/node
mkdir -p "$NODE/proc/4242" "$NODE/var/lib/kubelet" "$NODE/etc/kubernetes/pki"
printf '/usr/bin/kubelet\0--config=/var/lib/kubelet/config.yaml\0--anonymous-auth=true\0' \
  >"$NODE/proc/4242/cmdline"
echo kubelet >"$NODE/proc/4242/comm"
cat >"$NODE/var/lib/kubelet/config.yaml" <<'YAML'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authorization: {mode: AlwaysAllow}
readOnlyPort: 10255
YAML
chmod 0666 "$NODE/var/lib/kubelet/config.yaml"
expect node 4 "$MOAT" k8s node --host-root "$NODE" -f json -o "$WORK/node.json" --exit-code 4
is node-anonymous-auth jq -e '[.. | objects | select(.id? == "4.2.1")][0].result == "FAIL"' \
  "$WORK/node.json"
is node-authorization-mode jq -e '[.. | objects | select(.id? == "4.2.2")][0].result == "FAIL"' \
  "$WORK/node.json"
is node-config-permissions jq -e '[.. | objects | select(.id? == "4.1.9")][0] |
  .result == "FAIL" and (.evidence | tostring | test("666"))' "$WORK/node.json"

finish_cli_test k8s_cli

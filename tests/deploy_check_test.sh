#!/usr/bin/env bash
# The Kubernetes manifests of the security center (deploy/server, deploy/agent) pass Moat's own
# Kubernetes checks: no finding and no error with --exit-code 1, every object assessed, and the
# only exemptions are the ones deploy/README.md justifies. A copy with one hardening setting
# removed fails, so the checks really look at these files.
# Usage: tests/deploy_check_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
start_cli_test "$@"
DEPLOY=$HERE/../deploy

expect manifests-pass 0 "$MOAT" k8s manifests "$DEPLOY/server" "$DEPLOY/agent" --exit-code 1
expect manifests-json 0 "$MOAT" k8s manifests "$DEPLOY/server" "$DEPLOY/agent" --exit-code 1 \
  --format json -o "$WORK/report.json"
is no-findings-no-errors jq -e '.summary.findings == 0 and .summary.errors == 0' "$WORK/report.json"
# Namespace, 2 Deployments + StatefulSet + agent Deployment, Services, PDB, policies, RBAC: a file
# that stopped parsing would lower the count.
is every-object-read jq -e '.summary.objects >= 17 and .summary.assessed >= 13' "$WORK/report.json"
is workloads-assessed jq -e '[.resources[] | select(.kind == "Deployment" or .kind == "StatefulSet")]
  | length == 4' "$WORK/report.json"

# Exemptions: exactly the checks deploy/README.md justifies, each named there.
jq -r '.checks[] | select(.exempt > 0) | .id' "$WORK/report.json" | sort >"$WORK/exempt.txt"
printf '%s\n' wl-liveness-probe wl-readiness-probe >"$WORK/exempt.want"
is only-justified-exemptions diff "$WORK/exempt.want" "$WORK/exempt.txt"
while read -r check; do
  is "readme-justifies-$check" grep -q -- "$check" "$DEPLOY/README.md"
done <"$WORK/exempt.txt"

# The checks can fail on these files: the server without a read-only root filesystem, and the
# agent's ClusterRole reading Secrets.
mkdir -p "$WORK/broken"
sed '/readOnlyRootFilesystem: true/d' "$DEPLOY/server/server.yaml" >"$WORK/broken/server.yaml"
expect broken-server-fails 1 "$MOAT" k8s manifests "$WORK/broken/server.yaml" --exit-code 1
is broken-server-names-check grep -q wl-readonly-rootfs "$WORK/broken-server-fails.out"
sed 's/resources: \[namespaces, nodes, pods,/resources: [secrets, namespaces, nodes, pods,/' \
  "$DEPLOY/agent/agent.yaml" >"$WORK/broken/agent.yaml"
expect broken-agent-fails 1 "$MOAT" k8s manifests "$WORK/broken/agent.yaml" --exit-code 1
is broken-agent-names-check grep -q rbac-secrets-read "$WORK/broken-agent-fails.out"

finish_cli_test deploy_check

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

# The admission webhook (deploy/admission): the restricted profile and every best practice, no
# exemption; its webhook configurations leave out its own namespace and have no side effects.
ADMISSION=$DEPLOY/admission
expect admission-pss-restricted 0 "$MOAT" k8s manifests "$ADMISSION" --checks pss-restricted --exit-code 1
expect admission-manifests-pass 0 "$MOAT" k8s manifests "$ADMISSION" --exit-code 1 --format json \
  -o "$WORK/admission.json"
is admission-no-findings jq -e '.summary.findings == 0 and .summary.errors == 0
  and ([.checks[] | select(.exempt > 0)] | length == 0)' "$WORK/admission.json"
is admission-deployment-assessed jq -e '[.resources[] | select(.kind == "Deployment" and .status == "pass")]
  | length == 1' "$WORK/admission.json"
for kind in ValidatingWebhookConfiguration MutatingWebhookConfiguration; do
  is "admission-$kind-safe" python3 - "$ADMISSION/webhook-configuration.yaml" "$kind" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == sys.argv[2]]
assert len(docs) == 1, docs
for w in docs[0]["webhooks"]:
    assert w["sideEffects"] == "None" and 1 <= w["timeoutSeconds"] <= 10, w
    assert w["failurePolicy"] in ("Fail", "Ignore"), w
    excluded = [e for e in w["namespaceSelector"]["matchExpressions"]
                if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn"]
    assert excluded and "moat-admission" in excluded[0]["values"], w
PY
done
sed '/runAsNonRoot: true/d' "$ADMISSION/webhook.yaml" >"$WORK/broken/webhook.yaml"
expect broken-admission-fails 1 "$MOAT" k8s manifests "$WORK/broken/webhook.yaml" --checks pss-restricted --exit-code 1
# scripts/admission-certs.sh: a CA and a serving certificate for the Service, the caBundle filled.
is admission-certs bash "$HERE/../scripts/admission-certs.sh" "$WORK/certs" >/dev/null
is admission-cert-verifies openssl verify -CAfile "$WORK/certs/ca.crt" "$WORK/certs/tls.crt"
is admission-cert-names-service sh -c "openssl x509 -noout -ext subjectAltName -in '$WORK/certs/tls.crt' | grep -q 'DNS:moat-admission.moat-admission.svc'"
is admission-cabundle-filled python3 -c 'import base64, sys
ca = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
assert open(sys.argv[2]).read().count(f"caBundle: \"{ca}\"") == 2' "$WORK/certs/ca.crt" "$WORK/certs/webhook-configuration.yaml"

# The node sensor (deploy/sensor): no finding; exactly the exemptions deploy/README.md "The node
# sensor" justifies (hostPID, the BPF capabilities, root, unconfined seccomp/AppArmor, the BTF and
# runtime-socket host paths), and none of them hides a setting that could be hardened: the same
# DaemonSet made privileged fails.
SENSOR=$DEPLOY/sensor
expect sensor-manifests-pass 0 "$MOAT" k8s manifests "$SENSOR" --exit-code 1 --format json \
  -o "$WORK/sensor.json"
is sensor-no-findings jq -e '.summary.findings == 0 and .summary.errors == 0' "$WORK/sensor.json"
is sensor-daemonset-assessed jq -e '[.resources[] | select(.kind == "DaemonSet")] | length == 1' \
  "$WORK/sensor.json"
jq -r '.checks[] | select(.exempt > 0) | .id' "$WORK/sensor.json" | sort >"$WORK/sensor-exempt.txt"
printf '%s\n' pss-baseline-apparmor pss-baseline-host-namespaces pss-baseline-hostpath-volumes \
  pss-restricted-capabilities pss-restricted-run-as-non-root pss-restricted-run-as-non-root-user \
  pss-restricted-seccomp pss-restricted-volume-types wl-allowed-capabilities wl-apparmor \
  wl-host-namespaces wl-host-paths wl-run-as-non-root wl-seccomp wl-volume-types |
  sort >"$WORK/sensor-exempt.want"
is sensor-only-justified-exemptions diff "$WORK/sensor-exempt.want" "$WORK/sensor-exempt.txt"
while read -r check; do
  is "readme-justifies-sensor-$check" grep -q -- "$check" "$DEPLOY/README.md"
done <"$WORK/sensor-exempt.txt"
sed 's/privileged: false/privileged: true/' "$SENSOR/sensor.yaml" >"$WORK/broken/sensor.yaml"
expect broken-sensor-fails 1 "$MOAT" k8s manifests "$WORK/broken/sensor.yaml" --exit-code 1
is broken-sensor-names-check grep -q privileged "$WORK/broken-sensor-fails.out"

finish_cli_test deploy_check

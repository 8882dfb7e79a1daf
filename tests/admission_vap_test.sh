#!/usr/bin/env bash
# ValidatingAdmissionPolicies in `moat admission serve --policy DIR` over real HTTPS (a CA and a
# serving certificate made here with openssl), driven with curl: the Kubernetes documentation's
# examples (src/admission/testdata/vap) judged on AdmissionReviews in v1 and v1beta1 with the API
# server's own messages, status codes, warnings and audit annotations; a policy added to the
# directory picked up without a restart and a broken one refused while the server goes on;
# `check-config --policy` and `audit --policy` on manifests.
# Usage: tests/admission_vap_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
# shellcheck source=lib/admission_webhook.sh
. "$HERE/lib/admission_webhook.sh"
start_cli_test "$@"
VAP=$HERE/../src/admission/testdata/vap
for tool in curl openssl jq; do
  command -v "$tool" >/dev/null || { echo "FAIL missing $tool (scripts/install-deps.sh test)"; exit 1; }
done
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

make_webhook_certs

# Three of the documentation's examples, whose names do not collide, in one directory.
mkdir -p policies
cp "$VAP/message-expression/policy.yaml" policies/replicas.yaml
cp "$VAP/configmap-params/policy.yaml" policies/configmap.yaml
cp "$VAP/audit-annotation/policy.yaml" policies/audit.yaml

expect check-config-policies 0 "$MOAT" admission check-config --policy policies
is check-config-counts grep -q 'OK: 3 ValidatingAdmissionPolicies, 3 bindings, 4 param objects' \
  check-config-policies.out
mkdir -p broken
sed 's/object.spec.replicas <= params.maxReplicas/object.spec.replicas <= (params.maxReplicas/' \
  "$VAP/message-expression/policy.yaml" >broken/replicas.yaml
expect check-config-broken 2 "$MOAT" admission check-config --policy broken
is check-config-names-file-field-position grep -q \
  "broken/replicas.yaml:18: ValidatingAdmissionPolicy \"deploy-replica-policy.example.com\": spec.validations\[0\].expression: 1:.*syntax error" \
  check-config-broken.err

start_webhook serve.log --policy policies

# review VERSION NAMESPACE OBJECT_JSON [GROUP RESOURCE KIND]: POSTs an AdmissionReview CREATE.
review() {
  local version=$1 ns=$2 object=$3 group=${4-apps} resource=${5-deployments} kind=${6-Deployment}
  jq -n --arg v "admission.k8s.io/$version" --arg ns "$ns" --argjson o "$object" \
    --arg g "$group" --arg r "$resource" --arg k "$kind" '{apiVersion: $v, kind: "AdmissionReview",
      request: {uid: "e911857d-c318-11e8-bbad-025000000001",
        kind: {group: $g, version: "v1", kind: $k}, resource: {group: $g, version: "v1", resource: $r},
        requestKind: {group: $g, version: "v1", kind: $k},
        requestResource: {group: $g, version: "v1", resource: $r},
        name: $o.metadata.name, namespace: $ns, operation: "CREATE",
        userInfo: {username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"]},
        object: $o, oldObject: null, dryRun: false,
        options: {kind: "CreateOptions", apiVersion: "meta.k8s.io/v1"}}}' >req.json
  curl -sS --cacert ca.crt -H 'Content-Type: application/json' --data-binary @req.json \
    "$URL/validate"
}
deployment() {  # deployment NAME REPLICAS
  jq -n --arg n "$1" --argjson r "$2" '{apiVersion: "apps/v1", kind: "Deployment",
    metadata: {name: $n, labels: {app: $n}}, spec: {replicas: $r,
    selector: {matchLabels: {app: $n}}, template: {metadata: {labels: {app: $n}},
    spec: {containers: [{name: "nginx", image: "nginx:1.27"}]}}}}'
}

review v1 default "$(deployment nginx 5)" >five.json
is deny-message-expression jq -e '.response.allowed == false and .response.status.code == 422
  and .response.status.reason == "Invalid" and .response.status.message ==
  "ValidatingAdmissionPolicy '"'"'deploy-replica-policy.example.com'"'"' with binding '"'"'demo-binding-test.example.com'"'"' denied request: object.spec.replicas must be no greater than 3"' five.json
review v1 default "$(deployment nginx 2)" >two.json
is allow-within-limit jq -e '.response.allowed == true and (.response | has("warnings") | not)' two.json
review v1beta1 default "$(deployment nginx 5)" >beta.json
is v1beta1-answered-in-v1beta1 jq -e '.apiVersion == "admission.k8s.io/v1beta1" and
  .response.uid == "e911857d-c318-11e8-bbad-025000000001" and .response.allowed == false' beta.json
# ConfigMap params selected by label in shop (10 and 4): 4 passes, 5 fails with reason Forbidden.
review v1 shop "$(deployment web 3)" >shop-ok.json
is configmap-params-allow jq -e '.response.allowed == true' shop-ok.json
# (3 replicas also pass the ReplicaLimit in default.) In shop, 4 is over the ReplicaLimit: both
# policies deny, and the first reason (Invalid, 422) is the status.
review v1 shop "$(deployment web 5)" >shop-five.json
is configmap-params-deny jq -e '.response.allowed == false and
  (.response.status.message | contains("at most 4 replicas (ConfigMap quota-limit)"))' shop-five.json
# 60 replicas: the Warn+Audit binding warns and writes both audit annotations.
review v1 default "$(deployment big 60)" >sixty.json
is warn-audit jq -e '(.response.warnings | index("Validation failed for ValidatingAdmissionPolicy '"'"'demo-policy.example.com'"'"' with binding '"'"'demo-binding.example.com'"'"': Deployment spec.replicas set to 60")) != null
  and .response.auditAnnotations["demo-policy.example.com_high-replica-count"] == "Deployment spec.replicas set to 60"
  and (.response.auditAnnotations["validation.policy.admission.k8s.io_validation_failure"] | fromjson | .[0].validationActions == ["Warn", "Audit"])' sixty.json
# Kinds no policy matches are allowed at once.
review v1 default '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"forbidden"}}' "" configmaps ConfigMap >cm.json
is unmatched-allowed jq -e '.response.allowed == true' cm.json

# A policy added to the directory is served without a restart.
cat >policies/names.yaml <<'YAML'
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: forbidden-names.example.com
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [configmaps]
  validations:
  - expression: object.metadata.name != 'forbidden'
    messageExpression: "'the name ' + object.metadata.name + ' is reserved'"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: forbidden-names-binding
spec:
  policyName: forbidden-names.example.com
  validationActions: [Deny]
YAML
reloaded=no
for _ in $(seq 60); do
  review v1 default '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"forbidden"}}' "" configmaps ConfigMap >cm.json
  if jq -e '.response.allowed == false' cm.json >/dev/null; then reloaded=yes; break; fi
  sleep 0.2
done
is policy-added-reloaded test "$reloaded" = yes
is reloaded-policy-message jq -e '.response.status.code == 403 and .response.status.message ==
  "ValidatingAdmissionPolicy '"'"'forbidden-names.example.com'"'"' with binding '"'"'forbidden-names-binding'"'"' denied request: the name forbidden is reserved"' cm.json
# A broken policy is refused; the current policies keep serving.
printf 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: x}\nspec:\n  matchConstraints: {resourceRules: [{resources: ["*"]}]}\n  validations: [{expression: "1 +"}]\n' >policies/zz-broken.yaml
failed_reload=no
for _ in $(seq 60); do
  if curl -sS --cacert ca.crt "$URL/metrics" | grep -q 'moat_admission_config_reloads_total{result="failed"} [1-9]'; then
    failed_reload=yes; break
  fi
  sleep 0.2
done
is broken-policy-refused test "$failed_reload" = yes
is broken-policy-logged grep -q 'zz-broken.yaml:6: ValidatingAdmissionPolicy "x": spec.validations\[0\].expression' serve.log
review v1 default '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"forbidden"}}' "" configmaps ConfigMap >cm2.json
is still-serving-previous jq -e '.response.allowed == false' cm2.json
rm -f policies/zz-broken.yaml

# The audit of manifests with the same policies.
mkdir -p manifests
deployment nginx 5 | jq '.metadata.namespace = "default"' >manifests/too-many.json
deployment nginx 2 | jq '.metadata.namespace = "default"' >manifests/fine.json
expect audit-exit-code 1 "$MOAT" admission audit --policy policies manifests --exit-code 1 -f json
is audit-finding jq -e '[.. | objects | select(.checkId? == "deploy-replica-policy.example.com")]
  | length == 1 and (.[0].message | startswith("[deny] object.spec.replicas must be no greater than 3"))' \
  audit-exit-code.out
expect audit-clean 0 "$MOAT" admission audit --policy policies manifests/fine.json --exit-code 1

kill "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
finish_cli_test admission_vap

#!/usr/bin/env bash
# Mutations on `moat admission serve`'s /mutate over real HTTPS (a CA and serving certificate made
# here with openssl): every PSA fixture of the newest version, as a Pod, a Deployment and a
# CronJob, and the captured AdmissionReviews are posted; the returned JSON Patch is applied with
# python3-jsonpatch (an independent RFC 6902 implementation); the mutated objects go through
# `moat k8s manifests --checks pss-restricted`: those mutation can fix pass, the others (explicit
# privileged, host namespaces, hostPath, added capabilities, runAsNonRoot false, runAsUser 0,
# seccomp Unconfined, ...) still fail; re-posting a mutated object gives no patch; dryRun, v1beta1,
# selectors, DELETE and subresources, /metrics; `check-config` on the mutations section.
# Usage: tests/admission_mutate_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
# shellcheck source=lib/admission_webhook.sh
. "$HERE/lib/admission_webhook.sh"
start_cli_test "$@"
DATA=${MOAT_SHARED_DATA_DIR:-$HERE/../../shared/data}
REVIEWS=$DATA/k8s/admission-review
PSA=$DATA/k8s/psa
for tool in curl openssl jq python3; do
  command -v "$tool" >/dev/null || { echo "FAIL missing $tool (scripts/install-deps.sh test)"; exit 1; }
done
python3 -c 'import jsonpatch, yaml' 2>/dev/null ||
  { echo "FAIL missing python3-jsonpatch or python3-yaml (scripts/install-deps.sh test)"; exit 1; }
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

make_webhook_certs

# --- the configuration: every mutation in team-* namespaces, Moat's names and Azure's mixed ------
cat >"$WORK/mutate.yaml" <<'EOF'
mutations:
- mutate: [drop-capabilities, read-only-root-filesystem, automount-service-account-token,
           run-as-non-root, run-as-user, seccomp-runtime-default, no-privilege-escalation,
           MutateResourceCPULimits, MutateResourceMemoryLimits, pdb-max-unavailable]
  namespaces: ["team-*"]
  parameters: {cpuLimit: 250m}
EOF
expect check-config-mutations 0 "$MOAT" admission check-config "$WORK/mutate.yaml"
is check-config-counts-mutations grep -q '1 mutation rules' "$WORK/check-config-mutations.out"
printf 'mutations:\n- mutate: [drop-capabilities]\n  parameters:\n    cpuLimit: 1\n' >"$WORK/bad-param.yaml"
expect check-config-bad-parameter 2 "$MOAT" admission check-config "$WORK/bad-param.yaml"
is check-config-bad-parameter-line grep -q 'bad-param.yaml:4: parameter "cpuLimit"' \
  "$WORK/check-config-bad-parameter.err"
printf 'mutations:\n- mutate:\n  - drop-capabilities\n  - drop-everything\n' >"$WORK/bad-name.yaml"
expect check-config-bad-name 2 "$MOAT" admission check-config "$WORK/bad-name.yaml"
is check-config-bad-name-line grep -q 'bad-name.yaml:4: unknown mutation "drop-everything"' \
  "$WORK/check-config-bad-name.err"

# --- serve (mutations only: no validating policy is needed) --------------------------------------
start_webhook "$WORK/serve.log" --config "$WORK/mutate.yaml"
C=(curl -sS --cacert "$WORK/ca.crt")
mutate() {  # mutate FILE: POSTs an AdmissionReview to /mutate; the body on stdout
  "${C[@]}" -H 'Content-Type: application/json' --data-binary "@$1" "$URL/mutate"
}
metric() {  # metric NAME: the value of one /metrics line (0 when absent)
  "${C[@]}" "$URL/metrics" | awk -v n="$1" '$1 == n {v = $2} END {print v + 0}'
}

# --- the PSA fixtures of the newest version over one keep-alive connection ------------------------
latest=$(awk -F'\t' 'NR > 1 {sub(/^v1\./, "", $2); if ($2 + 0 > max) max = $2 + 0} END {print "v1." max}' "$PSA/INDEX.tsv")
cat >"$WORK/psa_mutate.py" <<'EOF'
# Each fixture as a Pod, a Deployment and a CronJob through /mutate on one TLS connection: the
# patch applied with jsonpatch, the result written to mutated/LEVEL/, posted again (no patch
# expected), and whether the restricted level should now pass (expectations.json): fixtures that
# pass stay passing; a failing restricted fixture passes after mutation when what fails is a
# missing field or one the Azure definitions replace (allowPrivilegeEscalation true) or a drop
# list without ALL; every other violation is an explicit choice mutation never overrides.
import base64, http.client, json, os, ssl, sys
import jsonpatch, yaml
port, ca, psa, latest, work = sys.argv[1:6]
conn = http.client.HTTPSConnection("127.0.0.1", int(port),
                                   context=ssl.create_default_context(cafile=ca))
sockets = set()

def post(review):
    conn.request("POST", "/mutate", json.dumps(review), {"Content-Type": "application/json"})
    response = conn.getresponse()
    sockets.add(id(conn.sock))
    body = json.loads(response.read())
    assert response.status == 200, body
    return body

def review(obj, uid):
    group, _, version = obj["apiVersion"].rpartition("/")
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": uid, "kind": {"group": group, "version": version, "kind": obj["kind"]},
                        "resource": {"group": group, "version": version,
                                     "resource": obj["kind"].lower() + "s"},
                        "namespace": "team-a", "operation": "CREATE",
                        "userInfo": {"username": "alice"}, "object": obj, "dryRun": False}}

def contexts(spec):
    out = [spec.get("securityContext") or {}]
    for field in ("containers", "initContainers", "ephemeralContainers"):
        out += [c.get("securityContext") or {} for c in spec.get(field) or []]
    return out

def mutation_can_fix(check, spec):
    sc = contexts(spec)
    if check == "allowprivilegeescalation":
        return True
    if check == "capabilities_restricted":
        return not any(a != "NET_BIND_SERVICE" for s in sc
                       for a in (s.get("capabilities") or {}).get("add") or [])
    if check == "runasnonroot":
        return not any(s.get("runAsNonRoot") is False for s in sc)
    if check == "seccompprofile_restricted":
        return not any((s.get("seccompProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost")
                       for s in sc)
    return False

expectations, failures, patched, reposted = {}, [], 0, 0
for line in list(open(f"{psa}/INDEX.tsv"))[1:]:
    level, version, expected, check, path = line.rstrip("\n").split("\t")
    if version != latest:
        continue
    pod = yaml.safe_load(open(f"{psa}/{path}"))
    should_pass = expected == "pass" or (level == "restricted" and mutation_can_fix(check, pod["spec"]))
    # The pod's metadata goes into the templates: AppArmor fixtures are annotations.
    template = {"metadata": dict(pod["metadata"], labels={"app": "d"}), "spec": pod["spec"]}
    wrappers = {
        "pod": pod,
        "deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                       "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": template}},
        "cronjob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                    "spec": {"schedule": "@daily",
                             "jobTemplate": {"spec": {"template": template}}}},
    }
    for wrapper, obj in wrappers.items():
        name = f"{wrapper}-{expected}-{os.path.basename(path)[:-5]}"
        answer = post(review(obj, name))["response"]
        if answer.get("uid") != name or answer.get("allowed") is not True:
            failures.append(f"{name}: answer {answer}")
            continue
        mutated = obj
        if "patch" in answer:
            patched += 1
            if answer.get("patchType") != "JSONPatch":
                failures.append(f"{name}: patchType {answer.get('patchType')}")
            mutated = jsonpatch.apply_patch(obj, json.loads(base64.b64decode(answer["patch"])))
        again = post(review(mutated, name + "-again"))["response"]
        reposted += 1
        if "patch" in again or "patchType" in again:
            failures.append(f"{name}: a second review still patches: "
                            f"{base64.b64decode(again['patch']).decode()}")
        out = f"{work}/mutated/{level}/{name}.json"
        os.makedirs(os.path.dirname(out), exist_ok=True)
        json.dump(mutated, open(out, "w"))
        expectations[out] = {"pass": should_pass, "check": check, "expected": expected}
json.dump(expectations, open(f"{work}/expectations.json", "w"))
for f in failures:
    print(f)
print(f"{len(expectations)} objects, {patched} patched, {reposted} re-posted, "
      f"{len(failures)} failures, {len(sockets)} connection(s)")
sys.exit(1 if failures or len(sockets) != 1 or patched < len(expectations) // 2 else 0)
EOF
is psa-fixtures-mutated-and-idempotent-over-keepalive \
  python3 "$WORK/psa_mutate.py" "$PORT" "$WORK/ca.crt" "$PSA" "$latest" "$WORK"
tail -n 1 "$WORK/assert.out"

for level in baseline restricted; do
  # Each level's fixtures against their level: restricted ones must pass pss-restricted where
  # mutation can fix them; baseline ones keep their baseline verdict (mutation never fixes an
  # explicit baseline violation, and never breaks a passing pod).
  "$MOAT" k8s manifests "$WORK/mutated/$level" --checks "pss-$level" --pss-version "$latest" \
    --format json -o "$WORK/k8s-$level.json" 2>"$WORK/k8s-$level.err"
done
cat >"$WORK/verdicts.py" <<'EOF'
# moat k8s manifests' verdict on every mutated object against the expectation: prints the
# fixtures still failing by check (the ones mutation cannot fix, and why the check fails).
import collections, json, sys
work = sys.argv[1]
expectations = json.load(open(f"{work}/expectations.json"))
findings = {}
for level in ("baseline", "restricted"):
    for r in json.load(open(f"{work}/k8s-{level}.json"))["resources"]:
        findings[r["file"]] = r.get("findings", [])
wrong, fixed, kept, still = [], 0, 0, collections.defaultdict(set)
for path, e in expectations.items():
    if path not in findings:
        wrong.append(f"{path}: not in moat k8s' report")
        continue
    passes = not findings[path]
    if passes != e["pass"]:
        wrong.append(f"{path}: {'passes' if passes else 'fails'} its level, expected "
                     f"{'pass' if e['pass'] else 'fail'}: "
                     + "; ".join(f["checkId"] + " " + f["path"] for f in findings[path]))
    elif e["expected"] == "pass":
        kept += 1
    elif passes:
        fixed += 1
    else:
        still[e["check"]].update(f["checkId"] for f in findings[path])
for w in wrong:
    print(w)
for check, ids in sorted(still.items()):
    print(f"still failing (explicit values mutation keeps): {check}: {', '.join(sorted(ids))}")
print(f"{len(expectations)} objects: {fixed} failing ones fixed, {kept} passing kept passing, "
      f"{sum(1 for e in expectations.values() if not e['pass'] and e['expected'] == 'fail')} still "
      f"failing as expected, {len(wrong)} wrong")
sys.exit(1 if wrong or fixed == 0 else 0)
EOF
is mutated-objects-pass-their-level-where-fixable python3 "$WORK/verdicts.py" "$WORK"
sed -n '/^still failing/p; $p' "$WORK/assert.out"

# --- the captured AdmissionReviews ------------------------------------------------------------------
for f in "$REVIEWS"/canonical/request_*.json "$REVIEWS"/kubewarden/*.json; do
  name=$(basename "$f" .json)
  if jq -e 'has("request")' "$f" >/dev/null; then cp "$f" "$WORK/req.json"
  else jq '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' "$f" >"$WORK/req.json"; fi
  # In a team-* namespace, so that the mutations' selector takes every one in.
  jq '.request.namespace = "team-a" | if .request.object then .request.object.metadata.namespace = "team-a" else . end' \
    "$WORK/req.json" >"$WORK/$name.req"
  mutate "$WORK/$name.req" >"$WORK/$name.resp"
  is "uid-echoed-allowed-$name" jq -e --slurpfile r "$WORK/$name.req" \
    '.response.uid == $r[0].request.uid and .apiVersion == $r[0].apiVersion and .response.allowed' \
    "$WORK/$name.resp"
  if jq -e '.response.patch' "$WORK/$name.resp" >/dev/null; then
    python3 - "$WORK/$name.req" "$WORK/$name.resp" "$WORK/$name.again" <<'EOF'
import base64, json, sys
import jsonpatch
review, answer = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["response"]
review["request"]["object"] = jsonpatch.apply_patch(
    review["request"]["object"], json.loads(base64.b64decode(answer["patch"])))
json.dump(review, open(sys.argv[3], "w"))
EOF
    is "captured-idempotent-$name" jq -e '.response | has("patch") or has("patchType") | not' \
      <(mutate "$WORK/$name.again")
  fi
done
is captured-create-pod-patched jq -e '.response.patchType == "JSONPatch"' "$WORK/request_create_pod.resp"
is captured-privileged-keeps-escalation sh -c "jq -r .response.patch '$WORK/request_create_pod.resp' |
  base64 -d | jq -e 'map(.path) | any(test(\"allowPrivilegeEscalation\")) | not'"
is captured-deployment-update-patched jq -e '.response.patch' "$WORK/echo__update_accept.resp"
for name in request_delete_configmap echo__delete_accept pod-runtime-class-policy__PodDeleteRequest \
  request_update_scale_subresource disallow-service-nodeport-policy__service_nodeport; do
  is "no-patch-$name" jq -e '.response | has("patch") | not' "$WORK/$name.resp"
done
is cpu-limit-parameter sh -c "jq -r .response.patch '$WORK/image-cve-policy__deployment.resp' |
  base64 -d | grep -q '\"250m\"'"

# v1beta1 answered in v1beta1 with the same patch.
jq '.apiVersion = "admission.k8s.io/v1beta1"' "$WORK/request_create_pod.req" >"$WORK/beta.json"
mutate "$WORK/beta.json" >"$WORK/beta.resp"
is v1beta1-patch jq -e --slurpfile v1 "$WORK/request_create_pod.resp" \
  '.apiVersion == "admission.k8s.io/v1beta1" and .response.patch == $v1[0].response.patch' "$WORK/beta.resp"
# dryRun: the same patch, and no count in /metrics.
before=$(metric 'moat_admission_mutations_total{mutation="drop-capabilities"}')
jq '.request.dryRun = true' "$WORK/request_create_pod.req" >"$WORK/dry.json"
mutate "$WORK/dry.json" >"$WORK/dry.resp"
is dry-run-patch jq -e --slurpfile v1 "$WORK/request_create_pod.resp" \
  '.response.patch == $v1[0].response.patch' "$WORK/dry.resp"
is dry-run-not-counted test "$(metric 'moat_admission_mutations_total{mutation="drop-capabilities"}')" = "$before"
is mutations-counted test "$before" -gt 100
# Outside the selector's namespaces: nothing.
jq '.request.namespace = "other" | .request.object.metadata.namespace = "other"' \
  "$WORK/request_create_pod.req" >"$WORK/other.json"
is other-namespace-no-patch jq -e '.response | has("patch") | not' <(mutate "$WORK/other.json")
# /validate is not changed by mutations: no policy, so everything is allowed without a patch.
is validate-unchanged jq -e '.response.allowed and (.response | has("patch") | not)' \
  <("${C[@]}" -H 'Content-Type: application/json' --data-binary "@$WORK/request_create_pod.req" "$URL/validate")

finish_cli_test admission_mutate

#!/usr/bin/env bash
# `moat audit-log scan` end to end on Falco's k8saudit fixtures (release 0.34.1) and Moat's test
# rules (src/rules/testdata/k8s_audit): alerts as JSON lines with the event's identity, exit codes
# (0 whether or not alerts fired, --exit-code N when they did, 2 on errors), gzip and stdin,
# --since/--until, -o, and malformed lines and wrong API versions counted on stderr, never fatal.
# Usage: tests/audit_log_scan_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
start_cli_test "$@"
DATA=${MOAT_SHARED_DATA_DIR:-$HERE/../../shared/data}
FIX=$DATA/runtime/k8saudit/falco-0.34.1-fixtures
RULES=$HERE/../src/rules/testdata/k8s_audit/rules.yaml

# One log of many events: every fixture line, in file order, plus broken lines.
LOG=$WORK/audit.log
cat "$FIX"/exec_pod.json "$FIX"/create_nginx_pod_privileged.json "$FIX"/delete_secret.json \
  "$FIX"/create_configmap_sensitive_values.json >"$LOG"
{
  echo 'not json at all'
  sed 's#"kind":"Event"#"kind":"Event","apiVersion":"audit.k8s.io/v2"#' "$FIX/delete_service.json"
  echo
  cat "$FIX/fal_01_003.json"
  echo  # the fixture has no final newline
  cat "$FIX/create_nginx_service_nodeport.json"
} >>"$LOG"

scan() { "$MOAT" audit-log scan --no-builtin-rules --rules "$RULES" "$@"; }

# --- alerts and their fields ---------------------------------------------------------------------
expect alerts-exit-0 0 scan "$LOG"
is alert-count jq -s -e 'length == 17' "$WORK/alerts-exit-0.out"
is rules-fired jq -s -e '[.[].rule] | group_by(.) | map({(.[0]): length}) | add ==
  {"Attach/Exec Pod": 1, "Create Privileged Pod": 1, "K8s Secret Deleted": 1,
   "Create/Modify Configmap With Private Credentials": 6, "K8s ConfigMap Created": 6,
   "Create NodePort Service": 1, "K8s Service Created": 1}' "$WORK/alerts-exit-0.out"
is exec-alert-shape jq -s -e '.[0] | .rule == "Attach/Exec Pod" and .priority == "Notice" and
  .source == "k8s_audit" and .k8s.user == "minikube-user" and .k8s.namespace == "default" and
  .k8s.pod == "nginx-deployment-7998647bdf-phvq7" and
  .output_fields["ka.auditid"] == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6" and
  .output_fields["ka.verb"] == "create" and .output_fields["ka.target.subresource"] == "exec" and
  .mitre == [{"tactic": "execution", "technique_id": "T1609"}] and
  (.time | test("^2018-10-26T13:38:34\\.[0-9]{9}Z$"))' "$WORK/alerts-exit-0.out"
is summary-counts grep -q "^moat audit-log scan: 10 events, 17 alerts, 3 malformed lines$" \
  "$WORK/alerts-exit-0.err"
is malformed-names-line grep -q "audit.log:10: offset 0: unexpected character" "$WORK/alerts-exit-0.err"
is wrong-version-named grep -q 'audit.log:11: apiVersion "audit.k8s.io/v2" is not' \
  "$WORK/alerts-exit-0.err"
is bad-kind-named grep -q 'audit.log:13: kind "" is not Event' "$WORK/alerts-exit-0.err"

# The built-in audit rules load and run with the test rules after them.
expect builtin-and-test-rules 0 "$MOAT" audit-log scan --rules "$RULES" "$LOG"
is builtin-adds-alerts jq -s -e 'length > 17 and ([.[].tags[]] | any(startswith("K8S_")))' \
  "$WORK/builtin-and-test-rules.out"

# --- exit codes ----------------------------------------------------------------------------------
expect exit-code-when-alerts 4 scan "$LOG" --exit-code 4
expect exit-code-no-alerts 0 scan "$FIX/create_nginx_pod_unprivileged.json" --exit-code 4
is no-alerts-empty test ! -s "$WORK/exit-code-no-alerts.out"
expect missing-file 2 scan "$WORK/nothing.log"
printf -- '- rule: broken\n  desc: d\n  condition: ka.verb =\n  output: o\n  priority: info\n  source: k8s_audit\n' >"$WORK/broken.yaml"
expect broken-rules 2 "$MOAT" audit-log scan --no-builtin-rules --rules "$WORK/broken.yaml" "$LOG"
is broken-rules-file-line grep -q "broken.yaml:1: rule \"broken\": condition: column 10" \
  "$WORK/broken-rules.err"
expect bad-since 2 scan "$LOG" --since yesterday
expect no-files 2 "$MOAT" audit-log scan --no-builtin-rules --rules "$RULES"

# --- gzip, stdin, -o -----------------------------------------------------------------------------
gzip -c "$LOG" >"$WORK/audit.log.gz"
expect gzip 0 scan "$WORK/audit.log.gz"
is gzip-same-alerts cmp "$WORK/gzip.out" "$WORK/alerts-exit-0.out"
expect stdin 0 sh -c "'$MOAT' audit-log scan --no-builtin-rules --rules '$RULES' - <'$WORK/audit.log.gz'"
is stdin-same-alerts cmp "$WORK/stdin.out" "$WORK/alerts-exit-0.out"
expect output-file 0 scan "$LOG" "$WORK/audit.log.gz" -o "$WORK/alerts.jsonl"
is output-file-both-inputs jq -s -e 'length == 34' "$WORK/alerts.jsonl"
is output-file-stdout-empty test ! -s "$WORK/output-file.out"

# --- --since / --until (the fixtures are from October 2018, delete_secret from April 2020) ---------
expect since 0 scan "$LOG" --since 2018-10-26T00:00:00Z
is since-only-later jq -s -e 'length > 0 and all(.time >= "2018-10-26")' "$WORK/since.out"
is since-counted grep -q "outside --since/--until" "$WORK/since.err"
expect until 0 scan "$LOG" --until 2018-10-26T00:00:00Z
is until-only-earlier jq -s -e 'length > 0 and all(.time < "2018-10-26")' "$WORK/until.out"
is since-until-partition test "$(( $(wc -l <"$WORK/since.out") + $(wc -l <"$WORK/until.out") ))" = 17
expect window-empty 0 scan "$LOG" --since 2021-01-01T00:00:00Z --until 2h
is window-empty-no-alerts test ! -s "$WORK/window-empty.out"

finish_cli_test audit_log_scan

#!/usr/bin/env bash
# `moat k8s manifests` at cluster scale: wall time and peak memory for 10,000 and 100,000 objects
# in every output format (target: 100,000 objects under 10 s and under 1 GB in each).
#   bench/k8s_scale.sh [MOAT]        MOAT defaults to build/moat (a release build)
# Environment: COUNTS ("10000 100000"), FORMATS ("json sarif junit table"; json first, the
# findings column is read from its report), RUNS (3; the median wall and CPU (user + system)
# times and the largest peak RSS of the runs are reported; on a shared machine the CPU time is
# the steadier figure), WORK (a directory for the generated manifests and the reports; default a
# temporary one, removed at the end).
# The manifests come from bench/make_k8s_manifests.py (Deployments, StatefulSets, CronJobs, Pods,
# Services, RBAC, ConfigMaps, HPAs, Ingresses, one file per namespace). Output: a Markdown table.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MOAT=$(realpath "${1:-$HERE/../build/moat}")
COUNTS=${COUNTS:-"10000 100000"}
FORMATS=${FORMATS:-"json sarif junit table"}
RUNS=${RUNS:-3}
if [[ -n "${WORK:-}" ]]; then
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
[[ -x "$MOAT" ]] || { echo "k8s_scale.sh: $MOAT is not an executable" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "k8s_scale.sh: /usr/bin/time (package time) is needed" >&2; exit 2; }

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# run_once DIR FORMAT OUT: prints "WALL CPU KB" (wall time, user + system time, max RSS) of one run.
run_once() {
  local stats="$WORK/time.txt" status=0
  /usr/bin/time -v "$MOAT" k8s manifests "$1" -f "$2" -o "$3" 2>"$stats" >/dev/null || status=$?
  # 0, or the exit code for findings/input errors; anything else (a crash, OOM kill) is a failure.
  if ((status > 2)); then
    echo "k8s_scale.sh: moat exited with $status on $1 -f $2" >&2
    tail -n 5 "$stats" >&2
    exit 1
  fi
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
                for (i = 1; i <= n; i++) s = s * 60 + t[i] }
              /User time|System time/ { cpu += $2 }
              /Maximum resident set size/ { kb = $2 }
              END { printf "%.2f %.2f %d\n", s, cpu, kb }' "$stats"
}

echo "| objects | YAML | findings | format | report | wall time | CPU time | peak RSS |"
echo "|---|---|---|---|---|---|---|---|"
for count in $COUNTS; do
  dir="$WORK/manifests-$count"
  [[ -d "$dir" ]] || python3 "$HERE/make_k8s_manifests.py" "$count" "$dir"
  objects=$(cat "$dir"/*.yaml | grep -c '^kind:')
  yaml_mb=$(du -sm "$dir" | cut -f1)
  findings=""
  for format in $FORMATS; do
    out="$WORK/report-$count.$format"
    walls=() cpus=() peak=0
    for ((run = 0; run < RUNS; run++)); do
      read -r wall cpu kb < <(run_once "$dir" "$format" "$out")
      walls+=("$wall")
      cpus+=("$cpu")
      ((kb > peak)) && peak=$kb
    done
    if [[ -z "$findings" && "$format" == json ]]; then
      findings=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"]["findings"])' "$out")
    fi
    report_mb=$(du -m "$out" | cut -f1)
    printf '| %s | %s MB | %s | %s | %s MB | %s s | %s s | %s MB |\n' "$objects" "$yaml_mb" \
      "${findings:-}" "$format" "$report_mb" "$(median "${walls[@]}")" "$(median "${cpus[@]}")" \
      "$((peak / 1024))"
    rm -f "$out"
  done
done

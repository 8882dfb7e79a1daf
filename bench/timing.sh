# shellcheck shell=bash
# Timing helpers shared by the end-to-end benchmark scripts (bench/*.sh). Sourced.

# median_seconds CMD...: runs CMD $RUNS times (output discarded), prints the median wall time in
# seconds with three decimals.
median_seconds() {
  local times=() i start end
  for ((i = 0; i < RUNS; i++)); do
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }'
}

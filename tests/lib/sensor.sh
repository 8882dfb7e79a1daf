# shellcheck shell=bash
# The start of every test of `moat sensor` on the real kernel (tests/sensor_test.sh,
# tests/sensor_attacks_test.sh): skip (exit 77, ctest's SKIP_RETURN_CODE) where BPF cannot load,
# saying why, then a work directory that a later run reaps if this one dies. Sourced after
# common.sh. start_sensor_test NAME PATH/TO/moat sets MOAT and WORK.
start_sensor_test() {
  local name=$1 check
  MOAT=$(realpath "$2")
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP $name: loading BPF programs needs root"
    exit 77
  fi
  if ! check=$("$MOAT" sensor --check 2>&1); then
    echo "$check"
    echo "SKIP $name: BPF cannot load here (see above)"
    exit 77
  fi
  install_cleanup_trap
  reap_stale_runs "${TMPDIR:-/tmp}/moat-$name-it.*"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-$name-it.XXXXXX")
  echo $$ >"$WORK/owner.pid"
  if [ "${MOAT_TEST_KEEP:-}" = 1 ]; then
    push_cleanup "rm -f '$WORK/owner.pid'; log 'work dir kept: $WORK'"
  else
    push_cleanup "rm -rf '$WORK'"
  fi
}

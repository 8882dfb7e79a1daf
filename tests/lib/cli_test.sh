# shellcheck shell=bash
# Assertions for the scripted command-line tests (tests/*_cli_test.sh, cli_flags_test.sh,
# readme_test.sh). start_cli_test sets MOAT and WORK; each assertion prints PASS/FAIL and counts;
# finish_cli_test prints the totals and sets the exit status.

passed=0
failed=0
# start_cli_test "$@": the script's one argument is the moat binary; sets MOAT to it and WORK to a
# scratch directory removed on exit (a script that needs more cleanup replaces the EXIT trap).
start_cli_test() {
  [ $# -eq 1 ] || { echo "usage: $0 PATH/TO/moat" >&2; exit 2; }
  # shellcheck disable=SC2034  # read by the sourcing script
  MOAT=$(realpath "$1")
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
}
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
# expect NAME WANT_RC CMD...: runs CMD (stdout/stderr kept in $WORK/NAME.out/.err), checks rc.
expect() {
  local name=$1 want=$2 rc; shift 2
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  rc=$?
  if [ "$rc" = "$want" ]; then pass "$name (exit $rc)"; else fail "$name" "exit $rc, want $want: $(tail -n 2 "$WORK/$name.err")"; fi
}
# is NAME CMD...: a plain assertion.
is() {
  local name=$1; shift
  if "$@" >"$WORK/assert.out" 2>&1; then pass "$name"; else fail "$name" "$(tail -n 3 "$WORK/assert.out")"; fi
}
# finish_cli_test NAME: the totals; returns non-zero when an assertion failed.
finish_cli_test() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

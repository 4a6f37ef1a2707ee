# shellcheck shell=bash
# Check counting shared by the integration tests (source it after lib.sh). Each check prints
# "ok: NAME" or "FAIL NAME: reason"; the last line of a run is "N passed, M failed".
#   ok NAME | bad NAME REASON... | check NAME COMMAND... REASON | has STR SUB | lacks STR SUB
#   info TEXT            an indented note
#   fail TEXT            a setup step that cannot go on (the harness's expect_* call it too):
#                        counted as a failure, then exit 1
#   summary              the closing line (printed once)
#   on_exit_summary      register with `kod_on_exit on_exit_summary` after kod_stack_start, so an
#                        aborted run still ends with the closing line
# shellcheck disable=SC2034 # PASSED and FAILED are read by the tests that source this
PASSED=0
FAILED=0
SUMMARY_DONE=0
ok() { PASSED=$((PASSED + 1)); printf 'ok: %s\n' "$*"; }
bad() { FAILED=$((FAILED + 1)); printf 'FAIL %s: %s\n' "$1" "${*:2}"; }
info() { printf '  info: %s\n' "$*"; }
check() {
  local name=$1 reason=${!#}
  if "${@:2:$#-2}"; then ok "$name"; else bad "$name" "$reason"; fi
}
has() { [[ $1 == *"$2"* ]]; }
lacks() { [[ $1 != *"$2"* ]]; }
summary() {
  ((SUMMARY_DONE)) && return 0
  SUMMARY_DONE=1
  printf '%s passed, %s failed\n' "$PASSED" "$FAILED"
}
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL %s: %s\n' "$KOD_TEST_NAME" "$*"
  exit 1
}
# Runs inside the harness's cleanup (kod_stack_stop, whose local `rc` is visible here).
on_exit_summary() {
  if [[ ${rc:-0} != 0 && $FAILED == 0 ]]; then
    FAILED=1
    printf 'FAIL %s: aborted (exit status %s)\n' "$KOD_TEST_NAME" "${rc:-?}"
  fi
  summary
}

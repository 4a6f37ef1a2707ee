#!/usr/bin/env bash
# Workflow runs against a hostile user (issue 9, defects 3 and 8), on the real stack:
#   1. no command line shows a secret: while a step that uses {env.MY_SECRET} sleeps, no
#      /proc/<pid>/cmdline holds the value (the script reaches the shell on stdin);
#   2. {branch} cannot inject: a run of the branch q'$(touch${IFS}/tmp/…)' prints the branch name
#      in single quotes, double quotes and unquoted, and the sentinel file is never created.
# Each check prints "ok: NAME" or "FAIL NAME: reason"; the last line is "N passed, M failed".
# shellcheck disable=SC2016 # single-quoted shell text is meant literally
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"
# shellcheck source=tests/integration/runs.sh
source "$(dirname "$0")/runs.sh"

kod_stack_start
kod_on_exit on_exit_summary
UNIQ=$((RANDOM * 32768 + RANDOM))
SENTINEL=/tmp/kod-pwned-$UNIQ
kod_on_exit "rm -f $SENTINEL"

# ---------------------------------------------------------------------------------------------
# 1. No secret in a command line while its step runs.
new_repo hard
SECRET=proc-$(kod_random_alnum 24)
put_secret hard MY_SECRET "$SECRET"
mkdir -p "$KOD_TEST_DIR/hard/.kod/workflows"
cat >"$KOD_TEST_DIR/hard/.kod/workflows/ci.toml" <<EOF
[step:uses the secret]
run: echo "{env.MY_SECRET}" >/dev/null; sleep 3.$UNIQ

[step:branch]
run:
  printf '%s\n' '{branch}'
  printf '%s\n' "branch=[{branch}]"
  printf '%s\n' {branch}
  printf '%s\n' "\$(printf '%s' '{branch}')"
EOF
push_commit hard "workflow using a secret"
check secret.run-queued test -n "$RUN_ID" "no run queued; push said: $PUSH_OUT"
saw_sleep=0 leaked=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  for f in /proc/[0-9]*/cmdline; do
    line=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
    [[ $line == *"sleep 3.$UNIQ"* ]] && saw_sleep=1
    [[ $line == *"$SECRET"* ]] && leaked="${f%/cmdline}: $line"
  done
  [[ -n $leaked ]] && break
  st=$(run_status hard "$RUN_ID")
  [[ $st == completed || $st == failed ]] && break
  sleep 0.1
done
check secret.step-observed test "$saw_sleep" = 1 "never saw the step's sleep in /proc: the scan tested nothing"
check secret.not-in-cmdline test -z "$leaked" "the secret is in a command line: $leaked"
st=$(wait_status hard "$RUN_ID" 60 completed failed) || true
run_json hard "$RUN_ID"
check secret.run-completed test "$st" = completed "run $RUN_ID: $st; $(steps_summary)"

# ---------------------------------------------------------------------------------------------
# 2. A branch name is data, never code, whatever the quoting around {branch}.
BRANCH="q'\$(touch\${IFS}$SENTINEL)'"
push_commit hard "same workflow on a hostile branch" "$BRANCH"
check branch.run-queued test -n "$RUN_ID" "no run queued for $BRANCH; push said: $PUSH_OUT"
st=$(wait_status hard "$RUN_ID" 60 completed failed) || true
run_json hard "$RUN_ID"
check branch.run-completed test "$st" = completed "run $RUN_ID: $st; $(steps_summary)"
out=$(step output branch)
want=$(printf '%s\n' "$BRANCH" "branch=[$BRANCH]" "$BRANCH" "$BRANCH")
check branch.output-is-the-name test "$out" = "$want" "output: '$out', want '$want'"
check branch.nothing-ran test ! -e "$SENTINEL" "$SENTINEL exists: the branch name ran as a command"

summary
((FAILED == 0))

#!/usr/bin/env bash
# Workflow runs end to end (issue 6 "What it must show", docs/api.md#workflow-runs, docs/workflows.md, README "Workflows"):
#   1. a push of a commit with .kod/workflows/*.toml queues a `push` run (the pusher sees
#      "remote: Kod: queued workflow run <id> for main") that completes with the steps' output;
#   2. README's workflow example, copied verbatim from README.md, runs as written: secret masked
#      ("token is ***"), $KOD_COMMIT set ("hello from <sha>"), the "main only" step fails with
#      "Exit code: 1" under continue_on_error and the run is `completed`;
#   3. SIGTERM to kod-runner while a step runs `sleep 30.<marker>`: the run becomes `failed` with
#      a step saying the runner stopped, the runner exits within a few seconds and no step
#      process is left; a restarted runner then runs a new run to completion.
# Every check is counted; a failed check prints `FAIL <name>: <reason>` and the script exits 1.
# shellcheck disable=SC2016,SC2317 # hooks expand at exit; check() calls helpers indirectly
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"
# shellcheck source=tests/integration/runs.sh
source "$(dirname "$0")/runs.sh"

finish() {
  summary
  ((FAILED == 0)) || exit 1
  exit 0
}

kod_stack_start
TIMEFORMAT=%R

# ---------------------------------------------------------------------------------------------
# 1. A push queues a `push` run that completes with its steps' output.
new_repo pushed
mkdir -p "$KOD_TEST_DIR/pushed/.kod/workflows"
cat >"$KOD_TEST_DIR/pushed/.kod/workflows/ci.toml" <<'EOF'
# a plain two-step workflow
[step:first]
run: echo "first step of {repo} on {branch}"

[step:second step]
run:
  echo "second: $KOD_BRANCH"
  echo "to stderr" >&2
EOF
push_commit pushed "add a workflow"
check push.remote-line test -n "$RUN_ID" "git push did not print 'remote: Kod: queued workflow run <id> for main'; output: $PUSH_OUT"
if [[ -n $RUN_ID ]]; then
  st=$(wait_status pushed "$RUN_ID" 60 completed failed) || true
  run_json pushed "$RUN_ID"
  check push.completed test "$st" = completed "run $RUN_ID: status '$st', steps: $(steps_summary)"
  check push.trigger test "$(field trigger)" = push "trigger is '$(field trigger)', want push"
  check push.branch test "$(field branch)" = main "branch is '$(field branch)'"
  check push.commit test "$(field commit)" = "$SHA" "commit is '$(field commit)', pushed $SHA"
  out1=$(step output first)
  check push.step1-output has "$out1" "first step of pushed on main" "step 'first' output: '$out1'"
  out2=$(step output 'second step')
  check push.step2-stdout has "$out2" "second: main" "step 'second step' output: '$out2'"
  check push.step2-stderr has "$out2" "to stderr" "stderr not captured; output: '$out2'"
  check push.steps-success test "$(step success first),$(step success 'second step')" = "true,true" \
    "steps: $(steps_summary)"
fi

# ---------------------------------------------------------------------------------------------
# 2. README's example, verbatim, with the DEPLOY_TOKEN secret set first.
example=$(python3 - "$KOD_SOURCE/README.md" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
sec = text.split("## Workflows", 1)[1]
for block in re.findall(r"^```[^\n]*\n(.*?)^```", sec, re.S | re.M):
    if block.startswith("# .kod/workflows/build.toml"):
        sys.stdout.write(block)
        break
EOF
)
[[ -n $example ]] || fail "README.md's Workflows section has no block starting '# .kod/workflows/build.toml'"
new_repo hello2
SECRET=s3cr3t-$(kod_random_alnum 8)
expect_status PUT /repos/hello2/secrets/DEPLOY_TOKEN 200 -H 'Content-Type: application/json' \
  -d "{\"value\":\"$SECRET\"}"
mkdir -p "$KOD_TEST_DIR/hello2/.kod/workflows"
printf '%s\n' "$example" >"$KOD_TEST_DIR/hello2/.kod/workflows/build.toml"
push_commit hello2 ci
check readme.remote-line test -n "$RUN_ID" "no 'remote: Kod: queued workflow run <id> for main'; output: $PUSH_OUT"
if [[ -n $RUN_ID ]]; then
  st=$(wait_status hello2 "$RUN_ID" 60 completed failed) || true
  run_json hello2 "$RUN_ID"
  check readme.completed test "$st" = completed "run $RUN_ID: status '$st', steps: $(steps_summary)"
  out=$(step output greet)
  check readme.greet has "$out" "building hello2 on main" "greet output: '$out'"
  out=$(step output test)
  check readme.token-masked has "$out" "token is ***" "test output lacks 'token is ***': '$out'"
  check readme.secret-not-leaked lacks "$(cat "$KOD_TEST_DIR/run.json")" "$SECRET" \
    "the secret value appears in the run: $(cat "$KOD_TEST_DIR/run.json")"
  check readme.hello-commit has "$out" "hello from $SHA" "test output lacks 'hello from $SHA': '$out'"
  check readme.test-success test "$(step success test)" = true "steps: $(steps_summary)"
  check readme.main-only-failed test "$(step success 'main only')" = false "steps: $(steps_summary)"
  check readme.main-only-exit test "$(step error 'main only')" = "Exit code: 1" "steps: $(steps_summary)"
fi

# ---------------------------------------------------------------------------------------------
# 3. SIGTERM while a step runs.
MARK=30.$((RANDOM % 90000 + 10000))$$
new_repo slow
mkdir -p "$KOD_TEST_DIR/slow/.kod/workflows"
printf '[step:nap]\nrun:\n  echo napping\n  sleep %s\n' "$MARK" >"$KOD_TEST_DIR/slow/.kod/workflows/slow.toml"
push_commit slow nap
[[ -n $RUN_ID ]] || fail "slow: no run queued by the push: $PUSH_OUT"
SLOW_ID=$RUN_ID
kod_on_exit 'for p in $(pgrep -f -- "sleep $MARK"); do kill -9 "$p"; done'
st=$(wait_status slow "$SLOW_ID" 30 running completed failed) || true
[[ $st == running ]] || fail "slow run $SLOW_ID: status '$st', expected running"
for ((i = 0; i < 100; i++)); do [[ -n $(procs "sleep $MARK") ]] && break; sleep 0.1; done
check sigterm.step-started test -n "$(procs "sleep $MARK")" "no 'sleep $MARK' process while the run is running"
pid=$KOD_RUNNER_PID
t0=$(date +%s%N)
kill -TERM "$pid"
for ((i = 0; i < 300; i++)); do kod_pid_alive "$pid" || break; sleep 0.05; done
t1=$(date +%s%N)
exited_ms=$(((t1 - t0) / 1000000))
if kod_pid_alive "$pid"; then
  bad sigterm.runner-exits "kod-runner (pid $pid) still alive ${exited_ms} ms after SIGTERM"
  kod_runner_stop KILL 5
else
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  KOD_RUNNER_PID=""
  if ((exited_ms <= 5000)); then ok "sigterm.runner-exits (${exited_ms} ms, status $rc)"; else
    bad sigterm.runner-exits "kod-runner took ${exited_ms} ms to exit after SIGTERM (want <= 5000)"
  fi
  check sigterm.exit-status test "$rc" = 0 "kod-runner exited with status $rc after SIGTERM"
fi
# The step's processes must be gone (allow a moment for the kernel to finish the kill).
for ((i = 0; i < 20; i++)); do [[ -z $(procs "sleep $MARK") ]] && break; sleep 0.1; done
left=$(procs "sleep $MARK")
check sigterm.no-leftover test -z "$left" "step process(es) still alive after the runner stopped: $(
  [[ -n $left ]] && ps -o pid,ppid,pgid,sid,args -p "$left" | tr '\n' '|')"
# No runner is running now: the status must already be final, not `running`.
run_json slow "$SLOW_ID"
check sigterm.run-failed test "$(field status)" = failed "status '$(field status)' after SIGTERM; steps: $(steps_summary)"
reason=$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
for s in (r.get("result") or {}).get("steps") or []:
    t = ("%s %s" % (s.get("name"), s.get("error") or "")).lower()
    if not s.get("success") and "runner" in t and "stop" in t:
        print(s.get("name"), "-", s.get("error")); break' "$KOD_TEST_DIR/run.json")
printf 'info: SIGTERM run %s steps: %s\n' "$SLOW_ID" "$(steps_summary)"
check sigterm.reason-step test -n "$reason" "no failed step saying the runner stopped; steps: $(steps_summary)"
check sigterm.completedAt test "$(field completedAt)" != '<absent>' "failed run has no completedAt: $(cat "$KOD_TEST_DIR/run.json")"
# The run must stay failed (nothing finishes it later, nothing re-runs it).
sleep 1
check sigterm.stays-failed test "$(run_status slow "$SLOW_ID")" = failed "status changed to '$(run_status slow "$SLOW_ID")'"

# Restart: a new runner picks up new work.
kod_runner_start
expect_status POST /repos/pushed/workflows 202 -H 'Content-Type: application/json' -d '{"branch":"main"}'
API_ID=$(json_field id)
st=$(wait_status pushed "$API_ID" 60 completed failed) || true
run_json pushed "$API_ID"
check restart.api-run-completed test "$st" = completed "run $API_ID after the restart: status '$st'; steps: $(steps_summary)"
check restart.trigger-api test "$(field trigger)" = api "trigger '$(field trigger)', want api"
check restart.slow-still-failed test "$(run_status slow "$SLOW_ID")" = failed \
  "the SIGTERM'd run is '$(run_status slow "$SLOW_ID")' after the restart"

# ---------------------------------------------------------------------------------------------
# Steps run as their own uid (runner.step_uid_base): they cannot read the repositories, the
# stack's keys and passwords, nor write into another repository.
new_repo isolated
mkdir -p "$KOD_TEST_DIR/isolated/.kod/workflows"
cat >"$KOD_TEST_DIR/isolated/.kod/workflows/probe.toml" <<EOF
[step:probe]
run:
  echo "uid=\$(id -u)"
  if ls $KOD_TEST_DIR/repos >/dev/null 2>&1; then echo LISTED-REPOS; fi
  if cat $KOD_TEST_INI >/dev/null 2>&1; then echo READ-CONFIG; fi
  if cat $KOD_TEST_ENCRYPTION_KEY_FILE >/dev/null 2>&1; then echo READ-KEY; fi
  if git -C $KOD_TEST_DIR/repos/pushed.git update-ref refs/heads/planted HEAD 2>/dev/null; then echo WROTE-REPO; fi
  echo probe-done
EOF
push_commit isolated "probe the step's reach"
st=$(wait_status isolated "$RUN_ID" 60 completed failed) || true
run_json isolated "$RUN_ID"
out=$(step output probe)
check isolation.ran test "$st" = completed "probe run: status '$st'; steps: $(steps_summary)"
step_uid=$(sed -n 's/^uid=\([0-9]*\)$/\1/p' <<<"$out" | head -n1)
check isolation.own-uid test "${step_uid:-0}" -ge 60100 "step uid '${step_uid}' (want one of runner.step_uid_base + slot): $out"
for leak in LISTED-REPOS READ-CONFIG READ-KEY WROTE-REPO; do
  check "isolation.no-$leak" lacks "$out" "$leak" "a step could do it: $out"
done
check isolation.no-planted-branch test -z "$(kod_git ls-remote "$(kod_repo_url pushed)" refs/heads/planted)" \
  "the step created a branch in another repository"

finish

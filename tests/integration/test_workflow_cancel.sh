#!/usr/bin/env bash
# Cancel, re-run, repository delete and step resources (issue 13, issue 9 defect 4):
#   1. cancel of a running `sleep`: 202, the run is `cancelled` within 7 s with its step failing
#      "Cancelled", and no process of the step is left;
#   2. the same for a step that ignores SIGTERM and left a `setsid` child ignoring it too;
#   3. cancel of a queued run (queued behind a running one of the same repository): cancelled at
#      once; a finished run: 409 "Run already finished";
#   4. re-run: 202 {"id","status":"queued"}, a new run of the same commit with trigger "rerun" and
#      rerunOf, which completes; resources of a CPU- and memory-hungry step are reported;
#   5. deleting a repository whose step is running: the delete answers 204, nothing of the step
#      is left, a later step never started, and the runner logged no database error (1452);
#   6. GET /workflows/status: counts, recent runs without outputs and the runner's liveness for
#      an admin; a linked token seeing no repository gets zeros and no runners.
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
U=$((RANDOM * 32768 + RANDOM))
kod_on_exit "pkill -KILL -f 'sleep 7[0-9].$U' || true"
kod_on_exit "rm -f /tmp/kod-later-ran.$U"
J=(-H 'Content-Type: application/json')

# cancel_within REPO ID SECS: POST cancel (202), then wait for `cancelled`; prints the status.
cancel_within() {
  expect_status POST "/repos/$1/workflows/$2/cancel" 202 "${J[@]}"
  wait_status "$1" "$2" "$3" cancelled completed failed || true
}

# ---------------------------------------------------------------------------------------------
# 1. A running sleep.
new_repo cx
mkdir -p "$KOD_TEST_DIR/cx/.kod/workflows"
printf '[step:nap]\nrun: sleep 71.%s\n\n[step:after]\nrun: echo must-not-run\n' "$U" >"$KOD_TEST_DIR/cx/.kod/workflows/ci.toml"
push_commit cx "a long sleep"
wait_status cx "$RUN_ID" 30 running >/dev/null || true
for _ in $(seq 1 50); do [[ -n $(procs "sleep 71.$U") ]] && break; sleep 0.1; done
check sleep.started test -n "$(procs "sleep 71.$U")" "the step's sleep never started"
t0=$SECONDS
st=$(cancel_within cx "$RUN_ID" 7)
check sleep.cancelled-within-7s test "$st" = cancelled "status '$st' after $((SECONDS - t0)) s"
run_json cx "$RUN_ID"
check sleep.step-error test "$(step error nap)" = Cancelled "steps: $(steps_summary)"
check sleep.no-later-step test "$(step name after)" = "<no step after>" "steps: $(steps_summary)"
check sleep.no-process-left test -z "$(procs "sleep 71.$U")" "left: $(procs "sleep 71.$U")"

# ---------------------------------------------------------------------------------------------
# 2. A step ignoring SIGTERM, with a setsid child ignoring it too.
cat >"$KOD_TEST_DIR/cx/.kod/workflows/ci.toml" <<EOF
[step:stubborn]
run: trap '' TERM; setsid sh -c "trap '' TERM; sleep 72.$U" & sleep 73.$U
EOF
push_commit cx "a stubborn tree"
wait_status cx "$RUN_ID" 30 running >/dev/null || true
for _ in $(seq 1 50); do [[ -n $(procs "sleep 72.$U") && -n $(procs "sleep 73.$U") ]] && break; sleep 0.1; done
check tree.started test -n "$(procs "sleep 72.$U")" "the setsid child never started"
t0=$SECONDS
st=$(cancel_within cx "$RUN_ID" 7)
check tree.cancelled-within-7s test "$st" = cancelled "status '$st' after $((SECONDS - t0)) s"
check tree.no-process-left test -z "$(procs "sleep 7[23].$U")" "left: $(procs "sleep 7[23].$U")"

# ---------------------------------------------------------------------------------------------
# 3. A queued run, and a finished one.
printf '[step:nap]\nrun: sleep 74.%s\n' "$U" >"$KOD_TEST_DIR/cx/.kod/workflows/ci.toml"
push_commit cx "first"
FIRST=$RUN_ID
push_commit cx "second, queued behind the first"
SECOND=$RUN_ID
wait_status cx "$FIRST" 30 running >/dev/null || true
check queued.is-queued test "$(run_status cx "$SECOND")" = queued "second run: $(run_status cx "$SECOND")"
expect_status POST "/repos/cx/workflows/$SECOND/cancel" 202 "${J[@]}"
check queued.cancelled-at-once test "$(json_field status)" = cancelled "answer: $KOD_LAST_BODY"
st=$(cancel_within cx "$FIRST" 7)
check queued.first-cancelled test "$st" = cancelled "first run: $st"
expect_status POST "/repos/cx/workflows/$FIRST/cancel" 409 "${J[@]}"
check finished.409 has "$KOD_LAST_BODY" "Run already finished" "answer: $KOD_LAST_BODY"

# ---------------------------------------------------------------------------------------------
# 4. Re-run, and the resources of a hungry step.
cat >"$KOD_TEST_DIR/cx/.kod/workflows/ci.toml" <<'EOF'
[step:hungry]
run: python3 -c 'b = bytearray(64 * 1024 * 1024); s = sum(i * i for i in range(3000000)); print(len(b), s > 0)'
EOF
push_commit cx "a hungry step"
ORIG=$RUN_ID
st=$(wait_status cx "$ORIG" 60 completed failed) || true
check rerun.original-completed test "$st" = completed "run $ORIG: $st"
expect_status POST "/repos/cx/workflows/$ORIG/rerun" 202 "${J[@]}"
NEW=$(json_field id)
check rerun.queued test "$(json_field status)" = queued "answer: $KOD_LAST_BODY"
st=$(wait_status cx "$NEW" 60 completed failed) || true
run_json cx "$NEW"
check rerun.completed test "$st" = completed "re-run $NEW: $st; $(steps_summary)"
check rerun.fields test "$(field trigger) $(field rerunOf) $(field commit)" = "rerun $ORIG $SHA" \
  "trigger/rerunOf/commit: $(field trigger) $(field rerunOf) $(field commit)"
res=$(step resources hungry)
verdict=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("ok" if r["cpuMs"] >= 100 and r["maxRssKb"] >= 60000 and r["outputBytes"] > 0 else r)' "$res" 2>&1)
check resources.hungry-step test "$verdict" = ok "resources: $res"

# ---------------------------------------------------------------------------------------------
# 5. Delete a repository while its step runs.
new_repo gone
put_secret gone GONE_SECRET "gone-$(kod_random_alnum 12)"
mkdir -p "$KOD_TEST_DIR/gone/.kod/workflows"
printf '[step:nap]\nrun: sleep 75.%s\n\n[step:later]\nrun: echo "$GONE_SECRET" > /tmp/kod-later-ran.%s\n' "$U" "$U" \
  >"$KOD_TEST_DIR/gone/.kod/workflows/ci.toml"
push_commit gone "a run to delete"
wait_status gone "$RUN_ID" 30 running >/dev/null || true
for _ in $(seq 1 50); do [[ -n $(procs "sleep 75.$U") ]] && break; sleep 0.1; done
check delete.step-running test -n "$(procs "sleep 75.$U")" "the step never started"
t0=$SECONDS
expect_status DELETE /repos/gone 204
check delete.within-10s test $((SECONDS - t0)) -le 10 "the delete took $((SECONDS - t0)) s"
check delete.no-process-left test -z "$(procs "sleep 75.$U")" "left: $(procs "sleep 75.$U")"
sleep 1
check delete.later-step-never-ran test ! -e "/tmp/kod-later-ran.$U" "a step of the deleted repository ran"
check delete.no-1452 bash -c "! grep -q 1452 '$KOD_TEST_DIR/log/kod-runner.log'" \
  "the runner logged: $(grep 1452 "$KOD_TEST_DIR/log/kod-runner.log" | head -2)"
expect_status GET /repos/gone 404

# ---------------------------------------------------------------------------------------------
# 6. The status board.
expect_status GET /workflows/status 200
verdict=$(python3 - "$KOD_LAST_BODY_FILE" <<'EOF'
import json, sys, time
v = json.load(open(sys.argv[1]))
problems = []
if v["summary"]["cancelled"] < 4: problems.append("summary %s" % v["summary"])
if not 1 <= len(v["recent"]) <= 10: problems.append("%d recent runs" % len(v["recent"]))
if any(s.get("output") for r in v["recent"] for s in (r.get("result") or {}).get("steps") or []):
    problems.append("recent runs carry outputs")
rs = v.get("runners") or []
now = time.time() * 1000
if len(rs) != 1 or rs[0]["capacity"] < 1 or now - rs[0]["lastSeenAt"] > 10000: problems.append("runners %s" % rs)
print("ok" if not problems else "; ".join(problems))
EOF
)
check status.admin-view test "$verdict" = ok "$verdict"
expect_status POST /repos 201 "${J[@]}" -d '{"name":"watched"}'  # a repository without runs
expect_status POST /repos/watched/collaborators 201 "${J[@]}" -d '{"username":"watcher"}'
expect_status POST /tokens 201 "${J[@]}" -d '{"name":"watcher","permissions":["workflow:read"],"username":"watcher"}'
WATCHER=$(json_field token)
expect_status GET /workflows/status 200 -H "Authorization: Bearer $WATCHER"
verdict=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print("ok" if "runners" not in v and sum(v["summary"].values()) == 0 and not v["recent"] else v)' "$KOD_LAST_BODY_FILE")
check status.scoped-view test "$verdict" = ok "a token that sees no repository got: $verdict"

summary
((FAILED == 0))

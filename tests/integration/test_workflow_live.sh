#!/usr/bin/env bash
# Live output, logs and bounded answers of workflow runs (issue 13, issue 9 defect 5):
#   1. while a step runs, the run's JSON lists it with "running": true and the lines it printed
#      (median delay from the step's echo to its visibility at most 1 s);
#   2. GET .../logs: the whole log with "::step <name>" lines, X-Kod-Log-Size and X-Kod-Run-Status,
#      ?offset=N, a 400 for a bad offset; ?follow=1 started mid-run ends by itself when the run
#      ends, with the whole log;
#   3. 100 followers of one run leave the API answering (GET /repos/:name within 2 s each while
#      they are connected), and each gets the whole log;
#   4. 12 steps printing 1.5 MB of NUL bytes each: every step keeps head + marker + tail, the run's
#      JSON stays under 8 MiB and a run list carries at most the last 4 KiB of each output.
# Each check prints "ok: NAME" or "FAIL NAME: reason"; the last line is "N passed, M failed".
# shellcheck disable=SC2016 # single-quoted shell text is meant literally
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"
# shellcheck source=tests/integration/runs.sh
source "$(dirname "$0")/runs.sh"

KOD_TEST_WORKERS=4
kod_stack_start
kod_on_exit on_exit_summary
AUTH=(-H "Authorization: Bearer $KOD_TEST_TOKEN")
ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------------------------------------
# 1. Live output.
new_repo live
mkdir -p "$KOD_TEST_DIR/live/.kod/workflows"
cat >"$KOD_TEST_DIR/live/.kod/workflows/ci.toml" <<'EOF'
[step:quick]
run: echo first step done

[step:ticks]
run:
  for i in 1 2 3 4 5; do echo "tick $i at $(($(date +%s%N) / 1000000))"; sleep 1; done
EOF
push_commit live "a slow step"
LIVE_RUN=$RUN_ID
# The log follower, started before the ticks: it must end by itself with the whole log.
kod_curl -N --max-time 60 "${AUTH[@]}" -D "$KOD_TEST_DIR/follow.h" -o "$KOD_TEST_DIR/follow.body" \
  "$KOD_TEST_URL/repos/live/workflows/$LIVE_RUN/logs?follow=1" &
FOLLOW_PID=$!
delays=() saw_running=0
deadline=$((SECONDS + 60))
declare -A seen=()
while ((SECONDS < deadline)); do
  now=$(ms)
  body=$(kod_curl "${AUTH[@]}" "$KOD_TEST_URL/repos/live/workflows/$LIVE_RUN") || true
  st=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("status",""))' "$body" 2>/dev/null || true)
  running=$(python3 -c 'import json,sys
r = json.loads(sys.argv[1])
for s in (r.get("result") or {}).get("steps") or []:
    if s.get("running"): print(s["name"] + "\t" + s["output"].replace("\n", "|"))' "$body" 2>/dev/null || true)
  if [[ $running == ticks$'\t'* ]]; then
    saw_running=1
    while read -r _ n _ t; do
      [[ -n ${seen[$n]:-} ]] && continue
      seen[$n]=1
      delays+=($((now - t)))
    done < <(tr '|' '\n' <<<"${running#*$'\t'}" | grep '^tick ')
  fi
  [[ $st == completed || $st == failed ]] && break
  sleep 0.1
done
check live.running-step-listed test "$saw_running" = 1 "never saw the step 'ticks' with running: true"
median=$(printf '%s\n' "${delays[@]:-99999}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
info "echo-to-API delays (ms): ${delays[*]:-none}; median $median"
check live.within-1s test "${#delays[@]}" -ge 3 -a "$median" -le 1000 "delays ${delays[*]:-none}: median $median ms > 1000 ms"
st=$(wait_status live "$LIVE_RUN" 60 completed failed) || true
run_json live "$LIVE_RUN"
check live.completed test "$st" = completed "run: $st; $(steps_summary)"
check live.no-step-running-after test "$(step running ticks)" = "<absent>" "the finished step still says running"
res=$(step resources ticks)
check live.resources has "$res" '"outputBytes"' "step resources: $res"

# ---------------------------------------------------------------------------------------------
# 2. Logs.
expect_status GET "/repos/live/workflows/$LIVE_RUN/logs" 200
log=$KOD_LAST_BODY
size=$(sed -n 's/^[Xx]-[Kk]od-[Ll]og-[Ss]ize: *\([0-9]*\).*/\1/p' "$KOD_LAST_HEADERS_FILE")
status_h=$(sed -n 's/^[Xx]-[Kk]od-[Rr]un-[Ss]tatus: *\([a-z]*\).*/\1/p' "$KOD_LAST_HEADERS_FILE")
check logs.step-lines has "$log" $'::step quick\nfirst step done\n::step ticks\ntick 1' "log: ${log:0:300}"
check logs.size-header test "$size" = "$(wc -c <"$KOD_LAST_BODY_FILE")" "X-Kod-Log-Size $size, body $(wc -c <"$KOD_LAST_BODY_FILE") bytes"
check logs.status-header test "$status_h" = completed "X-Kod-Run-Status '$status_h'"
expect_status GET "/repos/live/workflows/$LIVE_RUN/logs?offset=13" 200
check logs.offset test "$(cat "$KOD_LAST_BODY_FILE")" = "$(tail -c +14 <<<"$log")" "offset 13 gave '${KOD_LAST_BODY:0:80}'"
expect_status GET "/repos/live/workflows/$LIVE_RUN/logs?offset=-1" 400
expect_status GET "/repos/live/workflows/nosuchrun000/logs" 404
ok logs.bad-input
wait "$FOLLOW_PID" && frc=0 || frc=$?
check logs.follow-ended test "$frc" = 0 "the follower exited with $frc (curl 28 = still open at 60 s)"
expect_status GET "/repos/live/workflows/$LIVE_RUN/logs" 200
check logs.follow-whole-log cmp -s "$KOD_TEST_DIR/follow.body" "$KOD_LAST_BODY_FILE" \
  "the follower got $(wc -c <"$KOD_TEST_DIR/follow.body") bytes, the log has $size"

# ---------------------------------------------------------------------------------------------
# 3. 100 followers leave the API answering.
cat >"$KOD_TEST_DIR/live/.kod/workflows/ci.toml" <<'EOF'
[step:slow]
run:
  for i in 1 2 3 4 5 6 7 8; do echo "line $i"; sleep 1; done
EOF
push_commit live "a run to follow"
FOLLOWED=$RUN_ID
wait_status live "$FOLLOWED" 30 running >/dev/null || true
mkdir -p "$KOD_TEST_DIR/followers"
pids=()
for i in $(seq 1 100); do
  kod_curl -N --max-time 90 "${AUTH[@]}" -o "$KOD_TEST_DIR/followers/$i" \
    "$KOD_TEST_URL/repos/live/workflows/$FOLLOWED/logs?follow=1" &
  pids+=($!)
done
sleep 1
slow=0 worst=0
for i in $(seq 1 10); do
  t0=$(ms)
  code=$(kod_curl -o /dev/null -w '%{http_code}' --max-time 10 "${AUTH[@]}" "$KOD_TEST_URL/repos/live") || code=timeout
  dt=$(($(ms) - t0))
  ((dt > worst)) && worst=$dt
  [[ $code == 200 && $dt -le 2000 ]] || slow=$((slow + 1))
  sleep 0.2
done
check followers.api-answers test "$slow" = 0 "$slow of 10 GET /repos/live took over 2 s or failed while 100 followers were connected (worst $worst ms)"
info "worst GET /repos/live with 100 followers: $worst ms"
failed_followers=0
for p in "${pids[@]}"; do wait "$p" || failed_followers=$((failed_followers + 1)); done
check followers.all-ended test "$failed_followers" = 0 "$failed_followers followers did not end cleanly"
expect_status GET "/repos/live/workflows/$FOLLOWED/logs" 200
short=0
for i in $(seq 1 100); do cmp -s "$KOD_TEST_DIR/followers/$i" "$KOD_LAST_BODY_FILE" || short=$((short + 1)); done
check followers.whole-log test "$short" = 0 "$short followers did not get the whole log"

# ---------------------------------------------------------------------------------------------
# 4. Bounded answers.
{
  for i in $(seq 1 12); do printf '[step:nul %s]\nrun: head -c 1500000 /dev/zero; echo end-of-%s\n\n' "$i" "$i"; done
} >"$KOD_TEST_DIR/live/.kod/workflows/ci.toml"
push_commit live "twelve steps of NUL bytes"
BIG=$RUN_ID
st=$(wait_status live "$BIG" 120 completed failed) || true
check size.completed test "$st" = completed "run $BIG: $st"
expect_status GET "/repos/live/workflows/$BIG" 200
json_bytes=$(wc -c <"$KOD_LAST_BODY_FILE")
check size.run-json-under-8mib test "$json_bytes" -lt $((8 * 1024 * 1024)) "the run's JSON is $json_bytes bytes"
verdict=$(python3 - "$KOD_LAST_BODY_FILE" <<'EOF'
import json, sys
steps = json.load(open(sys.argv[1]))["result"]["steps"]
bad = [s["name"] for s in steps if not s["output"].endswith("end-of-%s\n" % s["name"].split()[1])]
cut = sum(1 for s in steps if s.get("outputTruncated"))
print("ok" if len(steps) == 12 and not bad and cut > 0 else "steps=%d without their end=%s truncated=%d" % (len(steps), bad, cut))
EOF
)
check size.outputs-keep-their-ends test "$verdict" = ok "$verdict"
# One answer carries at most 8 MiB: read the 12 MiB log in pieces, as a client would.
: >"$KOD_TEST_DIR/big.log"
for _ in 1 2 3 4; do
  expect_status GET "/repos/live/workflows/$BIG/logs?offset=$(wc -c <"$KOD_TEST_DIR/big.log")" 200
  [[ -s $KOD_LAST_BODY_FILE ]] || break
  check "size.log-chunk-bounded" test "$(wc -c <"$KOD_LAST_BODY_FILE")" -le $((8 * 1024 * 1024)) "a log answer of $(wc -c <"$KOD_LAST_BODY_FILE") bytes"
  cat "$KOD_LAST_BODY_FILE" >>"$KOD_TEST_DIR/big.log"
done
log_bytes=$(wc -c <"$KOD_TEST_DIR/big.log")
size=$(sed -n 's/^[Xx]-[Kk]od-[Ll]og-[Ss]ize: *\([0-9]*\).*/\1/p' "$KOD_LAST_HEADERS_FILE")
check size.log-paged-whole test "$log_bytes" = "$size" "read $log_bytes bytes of a $size-byte log"
markers=$(grep -ac 'bytes of output omitted' "$KOD_TEST_DIR/big.log" || true)
check size.log-has-markers test "$markers" = 12 "$markers omission markers in the log, want 12"
check size.log-steps-capped test "$log_bytes" -le $((12 * (1048576 + 200))) "the log is $log_bytes bytes"
expect_status GET "/repos/live/workflows?limit=5" 200
verdict=$(python3 - "$KOD_LAST_BODY_FILE" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))
steps = [s for r in runs for s in (r.get("result") or {}).get("steps") or []]
long = [s["name"] for s in steps if len(s["output"].encode()) > 4096]
flag = [s["name"] for s in steps if len(s["output"].encode()) == 4096 and not s.get("outputTruncated")]
print("ok" if not long and not flag else "over 4 KiB: %s; cut but not flagged: %s" % (long, flag))
EOF
)
check size.list-tails test "$verdict" = ok "$verdict"

summary
((FAILED == 0))

#!/usr/bin/env bash
# kod-runner failure and concurrency (issue 6 "What it must show", docs/api.md#workflow-runs):
#   1. `kill -9` of kod-runner while a step runs `sleep 300.<marker>`; a runner started again
#      fails the run within 20 s with a step that says why (it never stays `running`), and the
#      step's process does not outlive the crash (a leftover step process is a failure);
#   2. two runners on one database never claim the same run: N no-op runs (default 500, knob
#      KOD_TEST_RUNS) queued through the API over 5 repositories, two runners; every run completes
#      exactly once (MariaDB: status, one set of steps each, runner_id; a file each step appends
#      its run id to), the runs of one repository never overlap in time, and both runners
#      claimed some.
# Every check is counted; a failed check prints `FAIL <name>: <reason>` and the script exits 1.
# shellcheck disable=SC2016,SC2034,SC2317 # hooks (and ALL_OK) expand at exit; check() calls helpers indirectly
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

finish() {
  summary
  ((FAILED == 0)) || exit 1
  ALL_OK=1
  exit 0
}

sql() { "$KOD_TEST_MARIADB_CTL" sql "USE kod; $1" || fail "SQL failed: $1"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

run_status() {
  kod_curl -H "Authorization: Bearer $KOD_TEST_TOKEN" "$KOD_TEST_URL/repos/$1/workflows/$2" |
    python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("status",""))
except Exception: print("")' 2>/dev/null || true
}
wait_status() {
  local repo=$1 id=$2 timeout=$3 s="" deadline
  shift 3
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    s=$(run_status "$repo" "$id")
    for want in "$@"; do [[ $s == "$want" ]] && { printf '%s' "$s"; return 0; }; done
    sleep 0.2
  done
  printf '%s' "$s"
  return 1
}
steps_summary() {
  python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print("; ".join("%s success=%s error=%s" % (s.get("name"), s.get("success"), s.get("error"))
                for s in (r.get("result") or {}).get("steps") or []) or "<no steps>")' "$1"
}
procs() { pgrep -f -- "$1" | paste -sd, - || true; }
has_field() { json_field "$1" "$2" >/dev/null; }

new_repo() {
  expect_status POST /repos 201 -H 'Content-Type: application/json' -d "{\"name\":\"$1\"}"
  kod_git clone -q "$(kod_repo_url "$1")" "$KOD_TEST_DIR/$1" 2>/dev/null
}
# push_workflow NAME FILE CONTENT: commits .kod/workflows/FILE and pushes; sets RUN_ID, PUSH_OUT.
push_workflow() {
  local dir=$KOD_TEST_DIR/$1
  mkdir -p "$dir/.kod/workflows"
  printf '%s\n' "$3" >"$dir/.kod/workflows/$2"
  kod_git -C "$dir" add -A
  kod_git -C "$dir" commit -q -m "workflow $2"
  PUSH_OUT=$(kod_git -C "$dir" push origin HEAD:main 2>&1) || fail "git push to $1 failed: $PUSH_OUT"
  RUN_ID=$(sed -n 's/^remote: Kod: queued workflow run \([^ ]*\) for main.*$/\1/p' <<<"$PUSH_OUT" | head -n1)
  [[ -n $RUN_ID ]] || fail "push to $1 queued no run: $PUSH_OUT"
}

# A second runner: the harness's command line (kod_runner_start), its own log.
RUNNER2_PID=""
runner2_start() {
  local env_args
  mapfile -t env_args < <(kod_clean_env_args)
  kod_spawn "$KOD_TEST_DIR/run/kod-runner2.pid" "$KOD_TEST_DIR/log/kod-runner2.log" 0 \
    env "${env_args[@]}" "$KOD_BUILD/kod-runner" --config "$KOD_TEST_INI"
  RUNNER2_PID=$KOD_SPAWNED_PID
}

kod_stack_start
kod_on_exit 'kod_stop_pid "$RUNNER2_PID" TERM 30'
kod_on_exit '[[ ${ALL_OK:-0} == 1 ]] || KOD_TAIL_LINES=40 kod_tail_logs "$KOD_TEST_DIR/log/kod-runner2.log"'

# ---------------------------------------------------------------------------------------------
# 1. kill -9 mid-step.
MARK=300.$((RANDOM % 90000 + 10000))$$
kod_on_exit 'for p in $(pgrep -f -- "sleep $MARK"); do kill -9 "$p"; done'
new_repo crash
push_workflow crash crash.toml "[step:long]
run:
  echo before the crash
  sleep $MARK"
CRASH_ID=$RUN_ID
st=$(wait_status crash "$CRASH_ID" 30 running completed failed) || true
[[ $st == running ]] || fail "crash run $CRASH_ID: status '$st', expected running"
for ((i = 0; i < 100; i++)); do [[ -n $(procs "sleep $MARK") ]] && break; sleep 0.1; done
before=$(procs "sleep $MARK")
check crash.step-started test -n "$before" "no 'sleep $MARK' process while the run is running"
old=$KOD_RUNNER_PID
{ kill -KILL "$old" && wait "$old"; } 2>/dev/null || true # no "Killed" job message
KOD_RUNNER_PID=""
crash_ms=$(ms)
printf 'info: crash run status right after kill -9, before the restart: %s\n' "$(run_status crash "$CRASH_ID")"
kod_runner_start
st=$(wait_status crash "$CRASH_ID" 20 failed completed) || true
took=$(($(ms) - crash_ms))
check crash.failed-within-20s test "$st" = failed "run $CRASH_ID is '$st' ${took} ms after kill -9 + restart (want failed within 20 s)"
expect_status GET "/repos/crash/workflows/$CRASH_ID" 200
cp "$KOD_LAST_BODY_FILE" "$KOD_TEST_DIR/crash.json"
printf 'info: crash run %s after %s ms: %s\n' "$CRASH_ID" "$took" "$(steps_summary "$KOD_TEST_DIR/crash.json")"
reason=$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
steps = (r.get("result") or {}).get("steps") or []
last = steps[-1] if steps else {}
if not last.get("success", True) and "runner" in ("%s %s" % (last.get("name"), last.get("error") or "")).lower():
    print(last.get("name"), "-", last.get("error"))' "$KOD_TEST_DIR/crash.json")
check crash.reason-step test -n "$reason" "the last step does not say the runner was lost: $(steps_summary "$KOD_TEST_DIR/crash.json")"
check crash.completedAt has_field completedAt "$KOD_TEST_DIR/crash.json" "failed run has no completedAt"
# The crashed runner's step must not live on (sleep 300 would otherwise hold on for 5 minutes).
for ((i = 0; i < 50; i++)); do [[ -z $(procs "sleep $MARK") ]] && break; sleep 0.1; done
left=$(procs "sleep $MARK")
check crash.no-orphan-step test -z "$left" "step process(es) of the killed runner still alive $(($(ms) - crash_ms)) ms after kill -9 and restart: $(
  [[ -n $left ]] && ps -o pid,ppid,pgid,sid,args -p "$left" | tr '\n' '|')"
for p in ${left//,/ }; do kill -9 "$p" 2>/dev/null || true; done

# ---------------------------------------------------------------------------------------------
# 2. Two runners, N runs over 5 repositories.
N=${KOD_TEST_RUNS:-500}
REPOS=(load1 load2 load3 load4 load5)
EXEC_LOG=$KOD_TEST_DIR/executions.log
: >"$EXEC_LOG"
chmod 0666 "$EXEC_LOG"
for r in "${REPOS[@]}"; do
  new_repo "$r"
  # One step that appends its run id, repository and its own start and end time (ns) to a file
  # outside the workspace: a run executed twice shows up twice, and two steps of one repository
  # running at once show up as overlapping intervals, whatever the database says.
  push_workflow "$r" noop.toml "[step:noop]
run: s=\$(date +%s%N); echo \"\$KOD_RUN_ID \$KOD_REPO \$s \$(date +%s%N)\" >>$EXEC_LOG"
  PUSH_IDS+=("$r:$RUN_ID")
done
for pr in "${PUSH_IDS[@]}"; do
  st=$(wait_status "${pr%%:*}" "${pr#*:}" 60 completed failed) || true
  [[ $st == completed ]] || fail "push run $pr of the no-op workflow: '$st'"
done
: >"$EXEC_LOG"
runner2_start
sleep 1 # let it bind its wake socket and log in
kod_pid_alive "$RUNNER2_PID" || fail "the second kod-runner exited at start-up"

t_queue=$(ms)
ids_dir=$KOD_TEST_DIR/ids
mkdir -p "$ids_dir"
per=$((N / ${#REPOS[@]}))
extra=$((N % ${#REPOS[@]}))
k=0
for r in "${REPOS[@]}"; do
  n=$per
  ((k < extra)) && n=$((n + 1))
  k=$((k + 1))
  (
    for ((i = 0; i < n; i++)); do
      code=$(kod_curl -o "$ids_dir/$r.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $KOD_TEST_TOKEN" \
        -H 'Content-Type: application/json' -d '{"branch":"main"}' "$KOD_TEST_URL/repos/$r/workflows") || code=curl-error
      if [[ $code != 202 ]]; then echo "POST $r #$i: $code $(cat "$ids_dir/$r.body")" >>"$ids_dir/errors"; continue; fi
      body=$(<"$ids_dir/$r.body")
      if [[ $body =~ \"id\":\"([a-z0-9]+)\" ]]; then echo "${BASH_REMATCH[1]}" >>"$ids_dir/$r.ids"; else
        echo "POST $r #$i: no id in $body" >>"$ids_dir/errors"
      fi
    done
  ) &
  posters+=($!)
done
for p in "${posters[@]}"; do wait "$p"; done
t_queued=$(ms)
check load.posts-accepted test ! -s "$ids_dir/errors" "$(head -n5 "$ids_dir/errors" 2>/dev/null)"
cat "$ids_dir"/*.ids >"$ids_dir/all"
queued=$(sort -u "$ids_dir/all" | wc -l)
check load.ids-distinct test "$queued" = "$N" "$N POSTs returned $queued distinct ids"

# load [ALIAS]: the SQL condition selecting the API-triggered runs of the load repositories.
load() { local a=${1:+$1.}; printf "%srepo_id IN (SELECT id FROM repos WHERE name LIKE 'load%%') AND %strigger_kind = 'api'" "$a" "$a"; }
in_load=$(load)
deadline=$((SECONDS + ${KOD_TEST_LOAD_TIMEOUT:-150}))
while ((SECONDS < deadline)); do
  pending=$(sql "SELECT COUNT(*) FROM workflow_runs WHERE $in_load AND status IN ('queued','running')")
  [[ $pending == 0 ]] && break
  kod_pid_alive "$KOD_RUNNER_PID" || break
  kod_pid_alive "$RUNNER2_PID" || break
  sleep 0.5
done
t_done=$(ms)
check load.runner1-alive kod_pid_alive "$KOD_RUNNER_PID" "the first kod-runner died during the load"
check load.runner2-alive kod_pid_alive "$RUNNER2_PID" "the second kod-runner died during the load"
check load.all-finished test "$pending" = 0 "$pending runs still queued/running after $(((t_done - t_queue) / 1000)) s"
first_created=$(sql "SELECT MIN(created_at) FROM workflow_runs WHERE $in_load")
last_completed=$(sql "SELECT MAX(completed_at) FROM workflow_runs WHERE $in_load")
printf 'info: %s runs: POSTs took %s ms; first createdAt -> last completedAt %s ms; all done %s ms after the first POST\n' \
  "$N" "$((t_queued - t_queue))" "$((last_completed - first_created))" "$((t_done - t_queue))"

total=$(sql "SELECT COUNT(*) FROM workflow_runs WHERE $in_load")
completed=$(sql "SELECT COUNT(*) FROM workflow_runs WHERE $in_load AND status = 'completed'")
check load.run-rows test "$total" = "$N" "$total api runs in the database, $N queued"
check load.all-completed test "$completed" = "$N" "$completed of $N runs completed; by status: $(
  sql "SELECT status, COUNT(*) FROM workflow_runs WHERE $in_load GROUP BY status" | tr '\t\n' '= ')"
db_ids=$(sql "SELECT id FROM workflow_runs WHERE $in_load" | sort)
check load.db-ids-match test "$db_ids" = "$(sort -u "$ids_dir/all")" "the run ids in the database differ from the ids the API returned"

steps_bad=$(sql "SELECT r.seq, COUNT(s.run_seq) c FROM workflow_runs r LEFT JOIN workflow_steps s ON s.run_seq = r.seq
  WHERE $(load r) GROUP BY r.seq HAVING c <> 1" | head -n5 | tr '\t\n' '= ')
check load.one-step-set test -z "$steps_bad" "runs without exactly one step row (run_seq=count): $steps_bad"
step_fail=$(sql "SELECT COUNT(*) FROM workflow_steps s JOIN workflow_runs r ON r.seq = s.run_seq
  WHERE $(load r) AND (s.success <> 1 OR s.name <> 'noop')")
check load.steps-succeeded test "$step_fail" = 0 "$step_fail step rows are not a successful 'noop'"

exec_lines=$(wc -l <"$EXEC_LOG")
exec_dups=$(awk '{print $1}' "$EXEC_LOG" | sort | uniq -d | head -n5 | tr '\n' ' ')
check load.executed-once test "$exec_lines,$exec_dups" = "$N," \
  "the step ran $exec_lines times for $N runs; run ids executed more than once: ${exec_dups:-none}"
check load.executed-ids-match test "$(awk '{print $1}' "$EXEC_LOG" | sort -u)" = "$(sort -u "$ids_dir/all")" \
  "the run ids the steps saw differ from the ids the API returned"

step_overlaps=$(sort -k2,2 -k3,3n "$EXEC_LOG" | awk '$2 == repo && $3 <= end {n++; if (n <= 3) ex = ex $0 " after " prev "|"}
  {if ($2 != repo || $4 > end) end = $4; repo = $2; prev = $0} END {print n + 0, ex}')
check load.steps-never-concurrent test "${step_overlaps%% *}" = 0 \
  "steps of one repository ran at the same time (run repo start end): ${step_overlaps#* }"
overlaps=$(sql "SELECT COUNT(*) FROM workflow_runs a JOIN workflow_runs b ON a.repo_id = b.repo_id AND a.seq < b.seq
  WHERE $(load a) AND a.started_at < b.completed_at AND b.started_at < a.completed_at")
example=$(sql "SELECT a.id, a.runner_id, a.started_at, a.completed_at, b.id, b.runner_id, b.started_at, b.completed_at
  FROM workflow_runs a JOIN workflow_runs b ON a.repo_id = b.repo_id AND a.seq < b.seq
  WHERE $(load a) AND a.started_at < b.completed_at AND b.started_at < a.completed_at LIMIT 3" | tr '\t\n' ' |')
check load.no-overlap test "$overlaps" = 0 "$overlaps pairs of runs of one repository overlap in [started_at, completed_at]: $example"
null_times=$(sql "SELECT COUNT(*) FROM workflow_runs WHERE $in_load AND (started_at IS NULL OR completed_at IS NULL OR completed_at < started_at)")
check load.times-recorded test "$null_times" = 0 "$null_times runs lack started_at/completed_at or end before they start"
order_bad=$(sql "SELECT COUNT(*) FROM workflow_runs a JOIN workflow_runs b ON a.repo_id = b.repo_id AND a.seq < b.seq
  WHERE $(load a) AND b.started_at < a.started_at")
check load.oldest-first test "$order_bad" = 0 "$order_bad pairs of runs of one repository started out of queue order"

by_runner=$(sql "SELECT runner_id, COUNT(*) FROM workflow_runs WHERE $in_load GROUP BY runner_id")
printf 'info: runs per runner: %s\n' "$(tr '\t\n' '= ' <<<"$by_runner")"
host=$(hostname)
n1=$(awk -F'\t' -v p="$host/$KOD_RUNNER_PID/" 'index($1, p) == 1 {s += $2} END {print s + 0}' <<<"$by_runner")
n2=$(awk -F'\t' -v p="$host/$RUNNER2_PID/" 'index($1, p) == 1 {s += $2} END {print s + 0}' <<<"$by_runner")
check load.runner1-claimed test "$n1" -gt 0 "the first runner (pid $KOD_RUNNER_PID) claimed no run: $by_runner"
check load.runner2-claimed test "$n2" -gt 0 "the second runner (pid $RUNNER2_PID) claimed no run: $by_runner"
check load.claims-accounted test "$((n1 + n2))" = "$N" "runner 1 claimed $n1, runner 2 $n2, of $N: $by_runner"

finish

#!/usr/bin/env bash
# A frozen database (MariaDB stopped with SIGSTOP: the connections stay open, nothing answers)
# never hangs Kod (issue 9, defect 2):
#   1. while it is frozen, /health, authenticated API reads and writes, git's info/refs and the
#      git hook each answer within 5 s: 503 with a JSON {"error"} (the hook: a "not queued" line);
#      kod-fcgi's master and workers and kod-runner are the same processes throughout;
#   2. after SIGCONT everything recovers by itself (no restart): /health 200, reads and writes
#      work, and the runner executes a newly triggered run to completion.
# Each check prints "ok: NAME" or "FAIL NAME: reason"; the last line is "N passed, M failed".
# shellcheck disable=SC2317 # functions run from the EXIT trap (kod_on_exit)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

LIMIT_MS=5000 # the spec's bound for an answer while the database is frozen

now_ms() { date +%s%3N; }

# all_threads_stopped PID: every thread of PID is in state T (SIGSTOP reaches them one by one).
all_threads_stopped() {
  local t st
  for t in /proc/"$1"/task/*; do
    st=$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -c1)
    [[ $st == T ]] || return 1
  done
}
freeze() {
  kill -STOP "$KOD_MARIADB_PID"
  for ((i = 0; i < 200; i++)); do all_threads_stopped "$KOD_MARIADB_PID" && return 0; sleep 0.01; done
  fail "MariaDB ($KOD_MARIADB_PID) did not stop"
}
thaw() { kill -CONT "$KOD_MARIADB_PID" 2>/dev/null || true; }

# timed NAME METHOD PATH [curl args...]: one request in the background; writes
# "<status> <ms> <body>" to $KOD_TEST_DIR/t.NAME.
timed() {
  local name=$1 method=$2 path=$3 t0 code
  shift 3
  t0=$(now_ms)
  code=$(curl -sS --max-time 20 -X "$method" -o "$KOD_TEST_DIR/b.$name" -w '%{http_code}' "$@" \
    "$KOD_TEST_URL$path" 2>/dev/null) || code="curl-error"
  printf '%s %s %s' "$code" "$(($(now_ms) - t0))" "$(head -c 300 "$KOD_TEST_DIR/b.$name" 2>/dev/null)" \
    >"$KOD_TEST_DIR/t.$name"
}

fcgi_family() { { echo "$KOD_FCGI_PID"; pgrep -P "$KOD_FCGI_PID" || true; } | sort -n | paste -sd, -; }

kod_stack_start
kod_on_exit thaw
kod_on_exit on_exit_summary
AUTH=(-H "Authorization: Bearer $KOD_TEST_TOKEN")

# A repository with a workflow, for the git route, the hook and the runner.
expect_status POST /repos 201 -H 'Content-Type: application/json' -d '{"name":"cold"}'
kod_git clone -q "$(kod_repo_url cold)" "$KOD_TEST_DIR/cold" 2>/dev/null
mkdir -p "$KOD_TEST_DIR/cold/.kod/workflows"
printf '[step:hello]\nrun: echo thawed\n' >"$KOD_TEST_DIR/cold/.kod/workflows/ci.toml"
kod_git -C "$KOD_TEST_DIR/cold" add -A
kod_git -C "$KOD_TEST_DIR/cold" commit -q -m ci
kod_git -C "$KOD_TEST_DIR/cold" push -q origin HEAD:main 2>/dev/null || fail "push to cold failed"
SHA=$(kod_git -C "$KOD_TEST_DIR/cold" rev-parse HEAD)
REPO_ID=$("$KOD_TEST_MARIADB_CTL" sql "SELECT id FROM kod.repos WHERE name = 'cold'")
BEFORE=$(fcgi_family)

# ---------------------------------------------------------------------------------------------
# 1. Frozen.
freeze
sleep 1.2 # /health and the metadata caches may answer from a check up to 1 s old
names=() pids=()
# bg NAME METHOD PATH [curl args...]: timed in the background (the stack's services are children
# of this shell too: wait only for these).
bg() {
  timed "$@" &
  pids+=($!)
  names+=("$1")
}
for i in 1 2 3 4; do bg "health$i" GET /health; done
for i in 1 2; do bg "list$i" GET /repos "${AUTH[@]}"; done
bg tokens GET /tokens "${AUTH[@]}"
bg details GET /repos/cold "${AUTH[@]}"
bg create POST /repos "${AUTH[@]}" -d '{"name":"while-frozen"}'
bg secret PUT /repos/cold/secrets/S "${AUTH[@]}" -d '{"value":"v"}'
bg refs GET "/repos/cold.git/info/refs?service=git-upload-pack" -u "git:$KOD_TEST_TOKEN"
t0=$(now_ms)
hook_out=$(printf '%s %s refs/heads/main\n' "$(printf '0%.0s' {1..40})" "$SHA" |
  env KOD_CONFIG="$KOD_TEST_INI" KOD_HOOK_REPO_ID="$REPO_ID" KOD_HOOK_REPO_NAME=cold \
    timeout 30 "$KOD_BUILD/kod-hook" 2>&1) || true
hook_ms=$(($(now_ms) - t0))
wait "${pids[@]}"
for n in "${names[@]}"; do
  read -r code ms body <"$KOD_TEST_DIR/t.$n" || true # no trailing newline
  if [[ $code == 503 ]] && ((ms < LIMIT_MS)) && python3 -c 'import json,sys; sys.exit(0 if "error" in json.loads(sys.argv[1]) else 1)' "$body" 2>/dev/null; then
    ok "frozen.$n: 503 in $ms ms"
  else
    bad "frozen.$n" "want 503 with {\"error\"} within $LIMIT_MS ms, got $code in $ms ms: $body"
  fi
done
check frozen.hook-bounded test "$hook_ms" -lt "$LIMIT_MS" "kod-hook took $hook_ms ms"
check frozen.hook-says has "$hook_out" "not queued" "kod-hook printed: $hook_out"
sleep 3 # the runner's heartbeat and claim loop meet the frozen server too
check frozen.same-fcgi test "$(fcgi_family)" = "$BEFORE" "kod-fcgi processes changed: $BEFORE → $(fcgi_family)"
check frozen.runner-alive kod_pid_alive "$KOD_RUNNER_PID" "kod-runner exited"

# ---------------------------------------------------------------------------------------------
# 2. Thawed: recovery without restarting anything.
thaw
t0=$(now_ms)
if kod_wait_http "$KOD_TEST_URL/health" 20; then ok "thawed.health: 200 after $(($(now_ms) - t0)) ms"; else
  bad thawed.health "no 200 from /health within 20 s after SIGCONT"
fi
expect_status GET /repos 200
check thawed.read has "$KOD_LAST_BODY" '"cold"' "GET /repos: $KOD_LAST_BODY"
expect_status POST /repos 201 -d '{"name":"after-thaw"}'
ok "thawed.write: POST /repos 201"
check thawed.same-fcgi test "$(fcgi_family)" = "$BEFORE" "kod-fcgi processes changed: $BEFORE → $(fcgi_family)"
expect_status POST /repos/cold/workflows 202 -d '{}'
run_id=$(json_field id)
st=""
for ((i = 0; i < 300; i++)); do
  st=$(kod_curl "${AUTH[@]}" "$KOD_TEST_URL/repos/cold/workflows/$run_id" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null) || st=""
  [[ $st == completed || $st == failed ]] && break
  sleep 0.2
done
check thawed.runner-runs test "$st" = completed "run $run_id after the thaw: status '$st'"
check thawed.runner-same kod_pid_alive "$KOD_RUNNER_PID" "kod-runner exited"
summary
((FAILED == 0))

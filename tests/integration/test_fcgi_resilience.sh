#!/usr/bin/env bash
# kod-fcgi's process supervision and database resilience, against the whole stack (issue 2,
# "What it must show"):
#   1. kill -9 of a worker under load (wrk on an authenticated GET /tokens): the master replaces
#      it within a second (the pool is back to its configured size), the load keeps being served
#      (only in-flight requests may fail: at most a handful of errors) and requests right after
#      the replacement all succeed;
#   2. MariaDB stopped: after more than 1 s (/health may reuse its check for 1 s), /health answers
#      503 {"status":"unavailable","error":"database unreachable"} and authenticated API calls
#      (read and write, and git's info/refs) answer 503 {"error":...}, each quickly (no hang), with
#      no crash (same master, same workers); MariaDB started again: everything answers 200 again
#      with no restart (same master pid and the same workers, which reconnect by themselves);
#   3. SIGHUP under steady load (wrk plus a curl loop), with kod.ini changed to one more worker:
#      every worker is replaced (new pids), the pool takes the new size, no request fails;
#   4. SIGTERM while a multi-MB git push is in flight: the push completes successfully (and the
#      commit is on the server afterwards), the master and every worker exit within a few seconds
#      after it, a request sent during the drain is not served, and once the master is gone no
#      connection is accepted (nginx answers 502).
# Each check prints "ok: ..." or "FAIL test_fcgi_resilience: ..."; the last line is
# "N passed, M failed" and the exit status is non-zero when a check failed.
# shellcheck disable=SC2317 # functions run from the EXIT trap (kod_on_exit)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

KOD_TEST_WORKERS=3
KOD_TEST_NO_RUNNER=1
PASSED=0
FAILED=0
SUMMARY_DONE=0
FINISHED=0
LOAD_PIDS=()

ok() { PASSED=$((PASSED + 1)); printf '[%3ss] ok: %s\n' "$SECONDS" "$*"; }
bad() { FAILED=$((FAILED + 1)); printf 'FAIL %s: %s\n' "$KOD_TEST_NAME" "$*"; }
flat() { printf '%s' "$1" | tr '\n' ' '; }
summary() {
  ((SUMMARY_DONE)) && return 0
  SUMMARY_DONE=1
  printf '%s passed, %s failed\n' "$PASSED" "$FAILED"
}
# The summary must be the last line, also when the EXIT trap prints the stack's logs (it does
# when the exit status is non-zero): the log dump ends with it. An exit before finish() (a `fail`
# of the harness, or an unexpected error) counts as one more failed check.
eval "$(declare -f kod_dump_logs | sed '1s/^kod_dump_logs/kod__dump_stack_logs/')"
kod_dump_logs() {
  kod__dump_stack_logs
  ((FINISHED)) || FAILED=$((FAILED + 1))
  summary
}
stop_load() {
  local p
  for p in "${LOAD_PIDS[@]}"; do kod_stop_pid "$p" TERM 5; done
  LOAD_PIDS=()
}
finish() {
  FINISHED=1
  stop_load
  if ((FAILED)); then exit 1; fi # the EXIT trap prints the logs, then the summary
  summary
  exit 0
}

now_ms() { date +%s%3N; }

# workers: the live (non-zombie) children of the kod-fcgi master, sorted, one per line.
workers() {
  local c
  for c in $(pgrep -P "$KOD_FCGI_PID" 2>/dev/null || true); do
    if kod_pid_alive "$c"; then echo "$c"; fi
  done | sort -n
}
count_lines() { if [[ -z $1 ]]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }

# descendants PID...: every descendant of the given processes.
descendants() {
  local p c
  for p in "$@"; do
    for c in $(pgrep -P "$p" 2>/dev/null || true); do
      echo "$c"
      descendants "$c"
    done
  done
}

# req METHOD PATH [curl args...]: sets R_CODE, R_BODY, R_MS (admin token unless args carry auth).
req() {
  local method=$1 path=$2 t0 out
  shift 2
  t0=$(now_ms)
  out=$(curl -sS --max-time 15 -X "$method" -H "Authorization: Bearer $KOD_TEST_TOKEN" "$@" \
    -o "$KOD_TEST_DIR/r-body" -w '%{http_code}' "$KOD_TEST_URL$path" 2>&1) || out="curl-error($out)"
  R_MS=$(($(now_ms) - t0))
  R_CODE=$out
  R_BODY=$(cat "$KOD_TEST_DIR/r-body" 2>/dev/null || true)
}

# json_check EXPR LABEL BODY [LABEL BODY...]: prints "LABEL: BODY" for each body that is not JSON
# or for which the Python expression EXPR (over the parsed value `v`) is false. One python run
# for many bodies (starting python costs most of a second on a busy 2-core machine).
json_check() {
  python3 -c 'import json, sys
expr, rest = sys.argv[1], sys.argv[2:]
for label, body in zip(rest[0::2], rest[1::2]):
    try:
        v = json.loads(body)
        good = bool(eval(expr))
    except Exception:
        good = False
    if not good:
        print(f"{label}: {body[:300]}")' "$@"
}

# wrk_errors FILE: non-2xx/3xx responses + socket errors of a wrk run; wrk_requests FILE.
wrk_errors() {
  python3 - "$1" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
n = 0
m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", t)
if m: n += int(m.group(1))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
if m: n += sum(int(x) for x in m.groups())
print(n)
EOF
}
wrk_requests() { sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$1" | head -n1; }

kod_stack_start
kod_on_exit stop_load
AUTH="Authorization: Bearer $KOD_TEST_TOKEN"
MASTER=$KOD_FCGI_PID
echo "stack up at $KOD_TEST_URL (kod-fcgi $MASTER, $KOD_TEST_WORKERS workers)"

# The data for the SIGTERM part (prepared first: committing 32 MB of random data takes a while).
SRC=$KOD_TEST_DIR/src
mkdir -p "$SRC"
(
  cd "$SRC"
  kod_git init -q
  head -c 32000000 /dev/urandom >blob.bin
  kod_git add blob.bin
  kod_git commit -qm "32 MB of random data"
) || fail "could not prepare the local repository for the push"
PUSH_SHA=$(kod_git -C "$SRC" rev-parse HEAD)

# ---------------------------------------------------------------------------------------------
# 1. kill -9 of a worker under load
W0=$(workers)
if [[ $(count_lines "$W0") == "$KOD_TEST_WORKERS" ]]; then
  ok "kod-fcgi runs $KOD_TEST_WORKERS workers ($(flat "$W0"))"
else
  bad "expected $KOD_TEST_WORKERS workers under master $MASTER, found: $(flat "$W0")"
fi

WRK1=$KOD_TEST_DIR/wrk-kill.txt
wrk -t1 -c8 -d6s --timeout 5s -H "$AUTH" "$KOD_TEST_URL/tokens" >"$WRK1" 2>&1 &
LOAD_PIDS+=("$!")
WRK1_PID=$!
sleep 1.5

# kill_and_time: kill -9 one current worker under the load; prints the victim and how long (ms)
# until the pool had KOD_TEST_WORKERS live workers again without it (or "timeout").
kill_and_time() {
  local before victim t0 i now
  before=$(workers)
  victim=$(printf '%s\n' "$before" | head -n1)
  t0=$(now_ms)
  kill -KILL "$victim"
  for ((i = 0; i < 250; i++)); do # 5 s at most
    now=$(workers)
    if ! printf '%s\n' "$now" | grep -qx "$victim" && [[ $(count_lines "$now") == "$KOD_TEST_WORKERS" ]]; then
      echo "$victim $(($(now_ms) - t0))"
      return 0
    fi
    sleep 0.02
  done
  echo "$victim timeout"
}
for round in 1 2; do
  read -r victim ms < <(kill_and_time)
  if [[ $ms == timeout ]]; then
    bad "kill -9 #$round of worker $victim: the pool was not back to $KOD_TEST_WORKERS workers within 5 s (now: $(flat "$(workers)"))"
  elif ((ms <= 1000)); then
    ok "kill -9 #$round of worker $victim under load: replaced in ${ms} ms (workers now: $(flat "$(workers)"))"
  else
    bad "kill -9 #$round of worker $victim: replaced only after ${ms} ms (must be within 1 s)"
  fi
  sleep 1.5
done
wait "$WRK1_PID" || true
LOAD_PIDS=()
total=$(wrk_requests "$WRK1")
errors=$(wrk_errors "$WRK1")
if [[ -n $total ]] && ((total >= 500 && errors <= 8)); then
  ok "the load kept being served through both kills: $total requests, $errors failed (at most 8 allowed)"
else
  bad "load during the kills: ${total:-no} requests, $errors failed (need >= 500 requests and <= 8 errors); wrk said: $(tr '\n' ' ' <"$WRK1")"
fi
if kod_pid_alive "$MASTER"; then ok "the master ($MASTER) survived"; else bad "the master $MASTER died"; fi
fails=0
for i in $(seq 1 30); do
  req GET /tokens
  [[ $R_CODE == 200 ]] || fails=$((fails + 1))
done
if ((fails == 0)); then ok "30 requests after the replacements: all 200"; else bad "$fails of 30 requests after the replacements failed (last: $R_CODE $R_BODY)"; fi
if grep -q 'died (signal 9); replacing it' "$KOD_TEST_DIR/log/kod-fcgi.log"; then
  ok "the master logged the death and the replacement"
else
  bad "no 'died (signal 9); replacing it' line in kod-fcgi.log"
fi

# ---------------------------------------------------------------------------------------------
# 2. MariaDB stopped, then started again
W1=$(workers)
"$KOD_TEST_MARIADB_CTL" stop
if "$KOD_TEST_MARIADB_CTL" status >/dev/null 2>&1; then fail "MariaDB still runs after '$KOD_TEST_MARIADB_CTL stop'"; fi
sleep 1.2 # /health may reuse a check for up to 1 s

# Several rounds of each, so that every worker (each with its own connection and health cache)
# most likely answers at least once.
health_bad=() api_bad=() bodies=()
for i in $(seq 1 8); do
  req GET /health
  if [[ $R_CODE != 503 ]] || ((R_MS > 3000)); then health_bad+=("#$i: $R_CODE in ${R_MS} ms: $R_BODY"); fi
  bodies+=("/health #$i" "$R_BODY")
done
mapfile -t json_bad < <(json_check 'v == {"status": "unavailable", "error": "database unreachable"}' "${bodies[@]}")
health_bad+=("${json_bad[@]}")
if ((${#health_bad[@]} == 0)); then
  ok "MariaDB down: /health answers 503 {\"status\":\"unavailable\",\"error\":\"database unreachable\"} (8 of 8, each < 3 s)"
else
  bad "MariaDB down: /health: ${health_bad[*]}"
fi
for spec in "GET /repos" "GET /tokens" "POST /tokens" "POST /repos" "GET /repos/nope"; do
  read -r m p <<<"$spec"
  for i in 1 2 3 4; do
    case $spec in
      "POST /tokens") req "$m" "$p" -d '{"name":"while-down"}' ;;
      "POST /repos") req "$m" "$p" -d '{"name":"while-down"}' ;;
      *) req "$m" "$p" ;;
    esac
    if [[ $R_CODE != 503 ]] || ((R_MS > 3000)); then api_bad+=("$spec #$i: $R_CODE in ${R_MS} ms: $R_BODY"); fi
    bodies+=("$spec #$i" "$R_BODY")
  done
done
mapfile -t json_bad < <(json_check 'isinstance(v, dict) and isinstance(v.get("error"), str) and v["error"]' "${bodies[@]}")
api_bad+=("${json_bad[@]}")
for i in 1 2; do
  t0=$(now_ms)
  code=$(curl -sS --max-time 15 -o /dev/null -w '%{http_code}' \
    "$(kod_repo_url nope)/info/refs?service=git-upload-pack" 2>&1) || code="curl-error($code)"
  ms=$(($(now_ms) - t0))
  if [[ $code != 503 ]] || ((ms > 3000)); then api_bad+=("git info/refs #$i: $code in $ms ms"); fi
done
if ((${#api_bad[@]} == 0)); then
  ok "MariaDB down: GET/POST /repos, GET/POST /tokens, GET /repos/nope, git info/refs: all 503 {\"error\":...}, each < 3 s"
else
  bad "MariaDB down: ${api_bad[*]}"
fi
W2=$(workers)
if kod_pid_alive "$MASTER" && [[ $W2 == "$W1" ]]; then
  ok "MariaDB down: no crash (master $MASTER and workers $(flat "$W2") unchanged)"
else
  bad "MariaDB down: master alive=$(kod_pid_alive "$MASTER" && echo yes || echo no), workers before: $(flat "$W1"), after: $(flat "$W2")"
fi

"$KOD_TEST_MARIADB_CTL" start
t0=$(now_ms)
recovered=""
while (($(now_ms) - t0 < 15000)); do
  req GET /health
  if [[ $R_CODE == 200 ]]; then
    recovered=$(($(now_ms) - t0))
    break
  fi
  sleep 0.1
done
if [[ -n $recovered ]]; then
  ok "MariaDB back: /health answers 200 after ${recovered} ms"
else
  bad "MariaDB back: /health still $R_CODE $R_BODY after 15 s"
fi
sleep 1.1 # every worker's cached health check is stale now
rec_bad=() health_bodies=() repos_bodies=()
for i in $(seq 1 8); do
  req GET /health
  [[ $R_CODE == 200 ]] || rec_bad+=("/health #$i: $R_CODE $R_BODY")
  health_bodies+=("/health #$i" "$R_BODY")
  req GET /repos
  [[ $R_CODE == 200 ]] || rec_bad+=("/repos #$i: $R_CODE $R_BODY")
  repos_bodies+=("/repos #$i" "$R_BODY")
done
mapfile -t json_bad < <(json_check 'v == {"status": "ok"}' "${health_bodies[@]}")
rec_bad+=("${json_bad[@]}")
mapfile -t json_bad < <(json_check 'isinstance(v, list)' "${repos_bodies[@]}")
rec_bad+=("${json_bad[@]}")
req POST /tokens -d '{"name":"after-recovery"}'
[[ $R_CODE == 201 ]] || rec_bad+=("POST /tokens: $R_CODE $R_BODY")
if ((${#rec_bad[@]} == 0)); then
  ok "MariaDB back: /health, GET /repos (8 each) and POST /tokens all succeed"
else
  bad "MariaDB back: ${rec_bad[*]}"
fi
W3=$(workers)
if kod_pid_alive "$MASTER" && [[ $W3 == "$W1" ]]; then
  ok "MariaDB back: no restart of Kod (same master $MASTER, same workers $(flat "$W3"))"
else
  bad "MariaDB back: master alive=$(kod_pid_alive "$MASTER" && echo yes || echo no), workers before: $(flat "$W1"), now: $(flat "$W3")"
fi

# ---------------------------------------------------------------------------------------------
# 3. SIGHUP: re-read kod.ini (one more worker) and replace every worker, under steady load
OLD=$(workers)
NEW_COUNT=$((KOD_TEST_WORKERS + 1))
sed -i "s/^workers = .*/workers = $NEW_COUNT/" "$KOD_TEST_INI"
grep -qx "workers = $NEW_COUNT" "$KOD_TEST_INI" || fail "could not change workers in $KOD_TEST_INI"

WRK2=$KOD_TEST_DIR/wrk-hup.txt
wrk -t1 -c4 -d5s --timeout 5s -H "$AUTH" "$KOD_TEST_URL/tokens" >"$WRK2" 2>&1 &
WRK2_PID=$!
LOAD_PIDS+=("$WRK2_PID")
LOOP_OUT=$KOD_TEST_DIR/curl-loop.txt
(
  end=$((SECONDS + 5))
  while ((SECONDS < end)); do
    curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' "$KOD_TEST_URL/health" || echo "curl-error"
  done >"$LOOP_OUT"
) &
LOOP_PID=$!
LOAD_PIDS+=("$LOOP_PID")
sleep 1
kill -HUP "$MASTER"
t0=$(now_ms)
replaced=""
while (($(now_ms) - t0 < 15000)); do
  cur=$(workers)
  if [[ $(count_lines "$cur") == "$NEW_COUNT" ]] && [[ -z $(comm -12 <(printf '%s\n' "$OLD") <(printf '%s\n' "$cur")) ]]; then
    replaced=$(($(now_ms) - t0))
    break
  fi
  sleep 0.05
done
wait "$WRK2_PID" || true
wait "$LOOP_PID" || true
LOAD_PIDS=()
NEWW=$(workers)
if [[ -n $replaced ]]; then
  ok "SIGHUP: all workers replaced within ${replaced} ms (old: $(flat "$OLD"); new: $(flat "$NEWW")), pool resized to $NEW_COUNT from kod.ini"
else
  bad "SIGHUP: after 15 s the workers are $(flat "$NEWW") (old: $(flat "$OLD")); expected $NEW_COUNT workers, none of the old ones"
fi
if kod_pid_alive "$MASTER"; then ok "SIGHUP: same master ($MASTER)"; else bad "SIGHUP: the master $MASTER is gone"; fi
total=$(wrk_requests "$WRK2")
errors=$(wrk_errors "$WRK2")
loop_total=$(wc -l <"$LOOP_OUT")
loop_bad=$(grep -vcx 200 "$LOOP_OUT" || true)
if [[ -n $total ]] && ((total >= 200 && errors == 0 && loop_total >= 20 && loop_bad == 0)); then
  ok "SIGHUP under load: no request failed (wrk GET /tokens: $total requests, 0 errors; curl loop /health: $loop_total, all 200)"
else
  bad "SIGHUP under load: wrk ${total:-no} requests with $errors errors, curl loop $loop_total with $loop_bad not 200 ($(sort "$LOOP_OUT" | uniq -c | tr '\n' ' ')); wrk said: $(tr '\n' ' ' <"$WRK2")"
fi
if grep -q 'reloaded configuration' "$KOD_TEST_DIR/log/kod-fcgi.log"; then
  ok "SIGHUP: the master logged 'reloaded configuration'"
else
  bad "SIGHUP: no 'reloaded configuration' line in kod-fcgi.log"
fi

# ---------------------------------------------------------------------------------------------
# 4. SIGTERM drains: a git push of 32 MB in flight completes, then everything exits
req POST /repos -d '{"name":"drain"}'
[[ $R_CODE == 201 ]] || fail "POST /repos drain: $R_CODE $R_BODY"
PUSH_LOG=$KOD_TEST_DIR/push.log
kod_git -C "$SRC" push "$(kod_repo_url drain)" HEAD:refs/heads/main >"$PUSH_LOG" 2>&1 &
PUSH_PID=$!
LOAD_PIDS+=("$PUSH_PID")
# Wait until the pack is being received by the server (git index-pack or unpack-objects running
# under a kod-fcgi worker): the POST git-receive-pack is then in flight through a worker.
# It is stopped (SIGSTOP) as soon as it is seen, so the push cannot finish before the SIGTERM
# however fast the machine and however slow this scan, and continued right after the SIGTERM.
inflight=0
for ((i = 0; i < 1000; i++)); do # 20 s
  for d in $(descendants "$MASTER"); do
    if tr '\0' ' ' <"/proc/$d/cmdline" 2>/dev/null | grep -qE 'index-pack|unpack-objects'; then
      kill -STOP "$d" 2>/dev/null && inflight=$d
    fi
  done
  ((inflight)) && break
  kod_pid_alive "$PUSH_PID" || break
  sleep 0.02
done
((inflight)) || fail "the push never showed up as index-pack/unpack-objects under kod-fcgi (push: $(tr '\n' ' ' <"$PUSH_LOG"))"
kod_on_exit "kill -CONT $inflight 2>/dev/null || true"
DRAIN_WORKERS=$(workers)
kill -TERM "$MASTER"
T_TERM=$(now_ms)
if kod_pid_alive "$PUSH_PID"; then
  ok "SIGTERM sent to the master while the push was in flight"
else
  bad "the push finished before SIGTERM could be sent: the drain is not tested"
fi
kill -CONT "$inflight" 2>/dev/null || true
# A request that arrives during the drain must not be served.
sleep 0.1
DURING=$KOD_TEST_DIR/during-drain.txt
curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' "$KOD_TEST_URL/health" >"$DURING" 2>&1 &
DURING_PID=$!
LOAD_PIDS+=("$DURING_PID")

push_rc=0
wait "$PUSH_PID" || push_rc=$?
T_PUSHED=$(now_ms)
if ((push_rc == 0)); then
  ok "the in-flight push completed successfully during the drain ($((T_PUSHED - T_TERM)) ms after SIGTERM)"
else
  bad "the in-flight push failed with exit status $push_rc after SIGTERM: $(tr '\n' ' ' <"$PUSH_LOG")"
fi
exited=""
while (($(now_ms) - T_PUSHED < 5000)); do
  alive=0
  kod_pid_alive "$MASTER" && alive=1
  for w in $DRAIN_WORKERS; do kod_pid_alive "$w" && alive=1; done
  if ((!alive)); then
    exited=$(($(now_ms) - T_PUSHED))
    break
  fi
  sleep 0.02
done
if [[ -n $exited ]]; then
  ok "the master and all workers ($(flat "$DRAIN_WORKERS")) exited ${exited} ms after the push completed"
else
  bad "5 s after the push completed still alive: master $(kod_pid_alive "$MASTER" && echo yes || echo no), workers: $(for w in $DRAIN_WORKERS; do kod_pid_alive "$w" && echo -n "$w "; done)"
fi
wait "$MASTER" 2>/dev/null || true
wait "$DURING_PID" || true
during=$(cat "$DURING")
if [[ $during != 2* && $during != 000 ]]; then
  ok "a request sent during the drain was not served (nginx answered $during)"
else
  bad "a request sent during the drain: '$during' (expected a refusal such as 502)"
fi
req GET /health
if [[ $R_CODE == 502 ]]; then
  ok "after the drain no connection is accepted: /health through nginx answers 502 (in ${R_MS} ms)"
else
  bad "after the drain /health answered '$R_CODE' in ${R_MS} ms: $R_BODY (expected 502)"
fi
LOAD_PIDS=()
if grep -q "POST /repos/drain.git/git-receive-pack 200" "$KOD_TEST_DIR/log/kod-fcgi.log"; then
  ok "kod-fcgi logged the drained push as 200"
else
  bad "no 'POST /repos/drain.git/git-receive-pack 200' line in kod-fcgi.log"
fi

# The pushed commit is really on the server: start kod-fcgi again and ask it.
kod_fcgi_start
kod_wait_health 30 || fail "kod-fcgi did not come back after the drain"
remote_sha=$(kod_git ls-remote "$(kod_repo_url drain)" refs/heads/main 2>&1 | cut -f1) || true
if [[ $remote_sha == "$PUSH_SHA" ]]; then
  ok "after a restart the server has the drained push (main = ${PUSH_SHA:0:12})"
else
  bad "after a restart main on the server is '$remote_sha', expected $PUSH_SHA"
fi

finish

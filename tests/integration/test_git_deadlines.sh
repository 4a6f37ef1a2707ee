#!/usr/bin/env bash
# No git request holds a worker, and no process serving one outlives it (issue 9, defect 1),
# through nginx with the real nginx/kod.conf and 2 workers:
#   - 4 GETs of info/refs that carry a body (`curl -X GET -d '{}'`) answer at once with the
#     advertisement (the bridge used to pass CONTENT_LENGTH without the body: git spun forever)
#   - a push whose client is killed while git is silent (a pre-receive hook sleeping) has its
#     processes killed within 20 s, long before git.idle_timeout_s (600 s in that phase)
#   - with git.idle_timeout_s = 5: two pushes whose clients stop sending mid-body (the whole
#     pool) and a push whose git stays silent with the client still connected are ended; the
#     workers answer /health again and no process is left, within the timeout plus 20 s
# The hooks directory is the test's own: post-receive is kod-hook, pre-receive sleeps in
# repositories holding a file `kod-test-slow` (a unique `sleep 617`, found by its arguments),
# whose receive.keepAlive is 0 (else receive-pack sends keep-alives while the hook runs).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

KOD_TEST_WORKERS=2
KOD_TEST_NO_RUNNER=1
kod_stack_start
kod_on_exit on_exit_summary
kod_on_exit 'pkill -KILL -f "^sleep 617" || true'
C=$KOD_TEST_DIR/client
mkdir -p "$C"

HOOKS=$KOD_TEST_DIR/hooks
mkdir -p "$HOOKS"
ln -s "$KOD_BUILD/kod-hook" "$HOOKS/post-receive"
# git runs hooks of a bare repository in the repository itself.
printf '#!/bin/sh\ncat >/dev/null\nif [ -e kod-test-slow ]; then exec sleep 617; fi\n' >"$HOOKS/pre-receive"
chmod 0755 "$HOOKS/pre-receive"
cp "$KOD_TEST_INI" "$KOD_TEST_INI.base"

# with_idle_timeout SECONDS: restarts kod-fcgi with that git.idle_timeout_s and our hooks.
with_idle_timeout() {
  { cat "$KOD_TEST_INI.base"; printf '\n[git]\nhooks_dir = %s\nidle_timeout_s = %s\n' "$HOOKS" "$1"; } >"$KOD_TEST_INI"
  kod_fcgi_stop
  kod_fcgi_start
  kod_wait_health 30 || fail "kod-fcgi did not come back with idle_timeout_s = $1"
}

# leftovers: processes serving git requests that are still alive (below kod-fcgi, or the hook's sleep).
leftovers() {
  kod_fcgi_descendants
  pgrep -af '^sleep 617' || true
}

# wait_clean SECONDS: waits until no leftover is alive and /health answers within 2 s; prints
# the seconds it took, or fails with what is left.
wait_clean() {
  local t0=$SECONDS left
  while ((SECONDS - t0 < $1)); do
    left=$(leftovers)
    if [[ -z $left ]] && [[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "$KOD_TEST_URL/health") == 200 ]]; then
      echo $((SECONDS - t0))
      return 0
    fi
    sleep 0.5
  done
  echo "after $1 s still: $(leftovers | tr '\n' ';') health: $(curl -s -m 2 -o /dev/null -w '%{http_code}' "$KOD_TEST_URL/health")"
  return 1
}

# wait_for_sleep SECONDS: until the slow pre-receive hook runs.
wait_for_sleep() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    pgrep -f '^sleep 617' >/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# commit_in DIR: a repository with one commit in DIR.
commit_in() {
  kod_git init -q "$1" && (cd "$1" && echo "$RANDOM" >f && kod_git add f && kod_git commit -qm c) >/dev/null
}

new_repo() { expect_status POST /repos 201 -d "{\"name\":\"$1\"}"; }

with_idle_timeout 600
new_repo fast
new_repo slow
touch "$KOD_TEST_DIR/repos/slow.git/kod-test-slow"
# Silence for real: receive-pack would otherwise send a keep-alive packet every 5 s while the hook runs.
git config -f "$KOD_TEST_DIR/repos/slow.git/config" receive.keepAlive 0
commit_in "$C/w"

# --- 1. GET with a body ---------------------------------------------------------------------------
pids=()
for i in 1 2 3 4; do
  curl -s -m 20 -o "$C/get$i" -w '%{http_code}' -u "git:$KOD_TEST_TOKEN" -X GET -d '{}' \
    "$KOD_TEST_URL/repos/fast.git/info/refs?service=git-upload-pack" >"$C/get$i.code" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
good=0
for i in 1 2 3 4; do
  if [[ $(cat "$C/get$i.code") == 200 ]] && grep -q '# service=git-upload-pack' "$C/get$i"; then good=$((good + 1)); fi
done
check "4 GETs with a body answer with the advertisement" [ "$good" = 4 ] "$good of 4 answered (codes: $(cat "$C"/get*.code | tr '\n' ' '))"
if took=$(wait_clean 20); then ok "no process left after the GETs with a body (${took} s)"; else bad get-body-leftovers "$took"; fi

# --- 2. client killed while git is silent -----------------------------------------------------------
timeout -k 1 120 bash -c "$(declare -f kod_git)"'; kod_git -C "$1" push "$2" HEAD:main' _ "$C/w" \
  "$(kod_repo_url slow)" >"$C/killed.log" 2>&1 &
kpid=$!
if wait_for_sleep 30; then
  kill -KILL -- -"$kpid" 2>/dev/null || true
  wait "$kpid" 2>/dev/null || true
  if took=$(wait_clean 20); then
    ok "client gone while git is silent: its processes killed in ${took} s (idle timeout 600 s)"
  else
    bad client-gone "$took"
  fi
else
  bad client-gone "the slow pre-receive hook never ran: $(cat "$C/killed.log")"
  kill -KILL -- -"$kpid" 2>/dev/null || true
fi

# --- 3. idle timeout: stalled uploads and a silent git ------------------------------------------------
IDLE=5
with_idle_timeout $IDLE
# A push that sends its headers and half a pkt-line, then nothing (but keeps the connection open).
stall() {
  python3 - "${KOD_TEST_URL#http://}" "$KOD_TEST_TOKEN" <<'EOF'
import base64, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
auth = base64.b64encode(("git:" + sys.argv[2]).encode()).decode()
s.sendall(("POST /repos/fast.git/git-receive-pack HTTP/1.1\r\nHost: kod\r\n"
           "Authorization: Basic " + auth + "\r\n"
           "Content-Type: application/x-git-receive-pack-request\r\n"
           "Transfer-Encoding: chunked\r\n\r\n8\r\n00a4abcd\r\n").encode())
time.sleep(120)
EOF
}
stall >/dev/null 2>&1 &
s1=$!
stall >/dev/null 2>&1 &
s2=$!
kod_on_exit "kill $s1 $s2 2>/dev/null || true"
sleep 1
busy=$(kod_fcgi_descendants | wc -l)
info "git processes serving the stalled pushes: $busy"
if took=$(wait_clean $((IDLE + 20))); then
  ok "two stalled pushes (the whole pool) released within ${took} s (idle timeout ${IDLE} s)"
else
  bad stalled-push "$took"
fi
kill "$s1" "$s2" 2>/dev/null || true

t0=$SECONDS
kod_git_timeout 120 -C "$C/w" push "$(kod_repo_url slow)" HEAD:main >"$C/silent.log" 2>&1 && silent_rc=0 || silent_rc=$?
info "push to a silent git ended after $((SECONDS - t0)) s with status $silent_rc"
check "a push whose git stays silent fails instead of hanging" [ "$silent_rc" != 0 ] "the push succeeded"
check "... and ends within the idle timeout plus 20 s" [ $((SECONDS - t0)) -le $((IDLE + 20)) ] "took $((SECONDS - t0)) s"
if took=$(wait_clean 20); then ok "no process left after the silent push (${took} s)"; else bad silent-leftovers "$took"; fi
if grep -q 'no progress for' "$KOD_TEST_DIR/log/kod-fcgi.log"; then
  ok "the worker logged the idle timeout"
else
  bad idle-log "no 'no progress for' line in kod-fcgi.log"
fi

# The pool still serves git.
if kod_git_timeout 60 ls-remote "$(kod_repo_url fast)" >/dev/null 2>&1; then ok "git still served afterwards"; else bad after "ls-remote failed"; fi
summary
[[ $FAILED == 0 ]]

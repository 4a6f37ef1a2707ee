#!/usr/bin/env bash
# The two nginx layouts of docs/nginx.md with the real Kod behind them: a clone, a push and API
# calls through each.
#   1. dedicated server block (nginx/kod.conf, what every other integration test uses too):
#      clone, push, an API call; Kod's access line carries the client address and nginx's
#      request id, and nginx logs the same id;
#   2. Kod under /git beside a static site (nginx/kod-prefix.conf, kod-fcgi restarted with
#      server.base_path=/git): the site still serves /, `git clone .../git/repos/<r>.git` and
#      `GET /git/repos` work, paths outside /git are the site's, Kod's 404 under /git is JSON.
# shellcheck disable=SC2317 # hooks expand at exit
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

KOD_TEST_NO_RUNNER=1
kod_stack_start
kod_on_exit on_exit_summary

# --- 1. dedicated
expect_status POST /repos 201 -d '{"name":"layout"}'
kod_git clone -q "$(kod_repo_url layout)" "$KOD_TEST_DIR/c1" 2>/dev/null
echo hello >"$KOD_TEST_DIR/c1/README"
kod_git -C "$KOD_TEST_DIR/c1" add README
kod_git -C "$KOD_TEST_DIR/c1" commit -q -m one
if kod_git -C "$KOD_TEST_DIR/c1" push -q origin HEAD:main 2>"$KOD_TEST_DIR/push.err"; then ok "dedicated: push"; else bad "dedicated: push" "$(cat "$KOD_TEST_DIR/push.err")"; fi
if kod_git clone -q "$(kod_repo_url layout)" "$KOD_TEST_DIR/c2" 2>"$KOD_TEST_DIR/clone.err" && [[ -f $KOD_TEST_DIR/c2/README ]]; then
  ok "dedicated: clone has the pushed commit"
else
  bad "dedicated: clone" "$(cat "$KOD_TEST_DIR/clone.err")"
fi
expect_status GET /repos/layout 200
check "dedicated: GET /repos/layout lists main" has "$KOD_LAST_BODY" '"branches":["main"]' "$KOD_LAST_BODY"
sleep 0.3
line=$(grep ' GET /repos/layout 200 ' "$KOD_TEST_DIR/log/kod-fcgi.log" | tail -1)
id=$(sed -n 's/.* id=\([0-9a-f]\{32\}\).*/\1/p' <<<"$line")
check "Kod's access line has client=127.0.0.1 and nginx's request id" has "$line client=127.0.0.1 id=$id" "client=127.0.0.1 id=${id:-none}" "line: $line"
check "nginx's access log has the same request id" grep -q "id=$id" "$KOD_TEST_DIR/log/kod-access.log" \
  "no id=$id in kod-access.log"

# --- 2. Kod under /git beside a static site
kod_fcgi_stop
kod__service_env
rm -f "$KOD_TEST_DIR/run/fcgi.sock"
kod_spawn "$KOD_TEST_DIR/run/kod-fcgi.pid" "$KOD_TEST_DIR/log/kod-fcgi.log" 0 \
  env "${KOD__ENV[@]}" KOD_SERVER_BASE_PATH=/git "$KOD_BUILD/kod-fcgi" --config "$KOD_TEST_INI"
KOD_FCGI_PID=$KOD_SPAWNED_PID
for ((i = 0; i < 600; i++)); do [[ -S $KOD_TEST_DIR/run/fcgi.sock ]] && break; sleep 0.05; done
[[ -S $KOD_TEST_DIR/run/fcgi.sock ]] || fail "kod-fcgi (base path /git) did not start"
started=0
for attempt in 1 2 3 4 5; do
  pport=$(kod_free_port)
  kod_nginx_write_conf "$KOD_TEST_DIR/nginx-prefix" "127.0.0.1:$pport" "$KOD_TEST_DIR/run/fcgi.sock" \
    "$KOD_TEST_DIR/run/nginx-prefix.pid" "$KOD_TEST_DIR/log" prefix:/git
  if kod_nginx_start "$KOD_TEST_DIR/nginx-prefix" "$KOD_TEST_DIR/log/nginx-prefix-error.log" "$KOD_TEST_DIR/run/nginx-prefix.pid" 0; then
    started=1
    kod_on_exit "kod_stop_pid $KOD_NGINX_SERVER_PID QUIT 10"
    break
  fi
done
((started)) || fail "the prefix-layout nginx did not start"
site=http://127.0.0.1:$pport
kod_wait_http "$site/git/health" 30 "$KOD_FCGI_PID" || fail "/git/health did not answer"

check "prefix: the static site still answers at /" has "$(curl -sS --max-time 10 "$site/")" "the host site" "no site"
body=$(curl -sS --max-time 10 -H "Authorization: Bearer $KOD_TEST_TOKEN" "$site/git/repos")
check "prefix: GET /git/repos is the API" has "$body" '"name":"layout"' "$body"
body=$(curl -sS --max-time 10 -H "Authorization: Bearer $KOD_TEST_TOKEN" "$site/git/nope")
check "prefix: an unknown path under /git is Kod's JSON 404" has "$body" '"error":"Not found"' "$body"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $KOD_TEST_TOKEN" "$site/repos")
check "prefix: /repos (outside /git) is the site's, not Kod's" [ "$code" = 404 ] "got $code"
url="http://git:$KOD_TEST_TOKEN@127.0.0.1:$pport/git/repos/layout.git"
if kod_git clone -q "$url" "$KOD_TEST_DIR/c3" 2>"$KOD_TEST_DIR/clone3.err" && [[ -f $KOD_TEST_DIR/c3/README ]]; then
  ok "prefix: git clone .../git/repos/layout.git"
else
  bad "prefix: clone" "$(cat "$KOD_TEST_DIR/clone3.err")"
fi
echo two >>"$KOD_TEST_DIR/c3/README"
kod_git -C "$KOD_TEST_DIR/c3" commit -q -am two
if kod_git -C "$KOD_TEST_DIR/c3" push -q origin HEAD:main 2>"$KOD_TEST_DIR/push3.err"; then ok "prefix: push"; else bad "prefix: push" "$(cat "$KOD_TEST_DIR/push3.err")"; fi

summary
((FAILED == 0))

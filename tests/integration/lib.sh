# shellcheck shell=bash
# Helpers for integration tests (tests/integration/test_*.sh). Source it, then start a stack:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   source "$(dirname "$0")/lib.sh"
#   kod_stack_start                       # MariaDB + kod-fcgi + kod-runner + kod-jobs + nginx, healthy
#   expect_status GET /health 200 --noauth
#   expect_status GET /tokens 200         # sends the admin token by default
#   expect_json_field id                  # a field of the last response body
#   kod_git clone "$(kod_repo_url NAME)" "$KOD_TEST_DIR/c"   # git, isolated from your config
#
# ctest passes KOD_BUILD (the build dir) and KOD_SOURCE (the repo root); both default to this
# checkout and its build/. Each stack lives in its own temp dir with its own free ports, so tests
# (and whole test runs) can run in parallel. Everything is stopped and the temp dir removed on
# exit (an EXIT trap: use kod_on_exit CMD to add your own cleanup instead of a trap of your own);
# on failure the logs are printed first. KOD_TEST_KEEP=1 keeps the temp dir.
# Every response expect_status sees is recorded and, when the test passed, checked against
# docs/openapi.yaml (kod_validate_responses; KOD_TEST_SKIP_OPENAPI=1 turns that off).
#
# After kod_stack_start:
#   KOD_TEST_URL           http://127.0.0.1:PORT (nginx with the real nginx/kod.conf)
#   KOD_TEST_TOKEN         the bootstrap admin token
#   KOD_TEST_DIR           the stack's dir (kod.ini, log/, repos/, work/, run/, mysql/)
#   KOD_TEST_INI           its kod.ini          KOD_TEST_ENCRYPTION_KEY_FILE  the secrets key file
#   KOD_FCGI_PID KOD_RUNNER_PID KOD_JOBS_PID KOD_NGINX_PID KOD_MARIADB_PID
#   KOD_TEST_MARIADB_CTL   `$KOD_TEST_MARIADB_CTL stop|start|restart|status|sql "STATEMENT"`
#   KOD_TEST_DB_SOCKET KOD_TEST_DB_PORT KOD_TEST_DB_PASSWORD (user kod, database kod)
# Knobs (before kod_stack_start): KOD_TEST_WORKERS (default 2), KOD_TEST_NO_RUNNER=1,
# KOD_TEST_NO_JOBS=1, KOD_TEST_HEALTH_TIMEOUT (default 60 s), KOD_TEST_EXTRA_INI (lines appended
# to kod.ini, e.g. "[webhooks]\nallowed_hosts = 127.0.0.1").
# Processes: kod_fcgi_start / kod_fcgi_stop [SIGNAL], kod_runner_start / kod_runner_stop [SIGNAL],
# kod_jobs_start [LOG-NAME] / kod_jobs_stop [SIGNAL] (a second kod-jobs: kod_jobs_start jobs2,
# its pid in KOD_SPAWNED_PID).

if [[ -z ${KOD_SOURCE:-} ]]; then
  KOD_SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
KOD_BUILD=${KOD_BUILD:-$KOD_SOURCE/build}
# shellcheck source=scripts/lib.sh
source "$KOD_SOURCE/scripts/lib.sh"

KOD_TEST_NAME=$(basename "${0%.*}")
KOD__EXIT_HOOKS=()
KOD__STACK_UP=0

# ---------------------------------------------------------------------------------------------
# Failing and asserting

# fail MSG: report the failure and exit 1 (the EXIT trap stops the stack and prints its logs).
fail() {
  printf 'FAIL %s: %s\n' "$KOD_TEST_NAME" "$*" >&2
  exit 1
}

# kod_on_exit CMD: run CMD (a string, eval'ed) during cleanup, before the stack is stopped.
kod_on_exit() { KOD__EXIT_HOOKS+=("$1"); }

# kod_curl ARGS...: curl against the stack; no credentials unless the args carry them.
kod_curl() { curl -sS --max-time "${KOD_CURL_TIMEOUT:-30}" "$@"; }

# expect_status METHOD PATH EXPECTED [--noauth] [CURL ARGS...]
# Sends the request (with the admin token as Bearer unless --noauth is given or the args contain
# their own Authorization header), and fails unless the status is EXPECTED. Afterwards:
# KOD_LAST_STATUS, KOD_LAST_BODY (the body as a string), KOD_LAST_BODY_FILE, KOD_LAST_HEADERS_FILE.
expect_status() {
  (($# >= 3)) || fail "expect_status METHOD PATH EXPECTED [--noauth] [curl args...]"
  local method=$1 path=$2 expected=$3 auth=1 a prev=""
  shift 3
  local args=()
  for a in "$@"; do
    if [[ $a == --noauth ]]; then auth=0; continue; fi
    if [[ ($prev == -H || $prev == --header) && ${a,,} == authorization:* ]]; then auth=0; fi
    args+=("$a")
    prev=$a
  done
  if ((auth)); then args+=(-H "Authorization: Bearer $KOD_TEST_TOKEN"); fi
  # HEAD: curl must not wait for the body that Content-Length announces (-I); nothing else is read.
  if [[ $method == HEAD ]]; then args+=(-I); fi
  KOD_LAST_BODY_FILE=$KOD_TEST_DIR/last-body
  KOD_LAST_HEADERS_FILE=$KOD_TEST_DIR/last-headers
  KOD_LAST_STATUS=$(kod_curl -X "$method" -o "$KOD_LAST_BODY_FILE" -D "$KOD_LAST_HEADERS_FILE" \
    -w '%{http_code}' "${args[@]}" "$KOD_TEST_URL$path") || KOD_LAST_STATUS="curl-error-$?"
  if [[ $method == HEAD ]]; then : >"$KOD_LAST_BODY_FILE"; fi  # -I writes the headers there
  KOD_LAST_BODY=$(cat "$KOD_LAST_BODY_FILE" 2>/dev/null || true)
  kod__record_response "$method" "$path"
  if [[ $KOD_LAST_STATUS != "$expected" ]]; then
    fail "$method $path: expected $expected, got $KOD_LAST_STATUS; body: ${KOD_LAST_BODY:0:500}"
  fi
}

# kod__record_response METHOD TARGET: keeps the last response for the check against
# docs/openapi.yaml that kod_stack_stop runs (tests/integration/openapi_validate.py).
kod__record_response() {
  local rec=$KOD_TEST_DIR/openapi n
  mkdir -p "$rec"
  n=$(wc -l <"$rec/index" 2>/dev/null || echo 0)
  cp "$KOD_LAST_BODY_FILE" "$rec/$n.body" 2>/dev/null || : >"$rec/$n.body"
  cp "$KOD_LAST_HEADERS_FILE" "$rec/$n.headers" 2>/dev/null || : >"$rec/$n.headers"
  printf '%s %s %s\n' "$n" "$1" "$2" >>"$rec/index"
}

# kod_validate_responses [--require-all-operations]: checks every response expect_status saw
# against docs/openapi.yaml (status documented, body matching its schema). Prints the failures;
# returns 1 when there is one. kod_stack_stop runs it for every test that passed.
kod_validate_responses() {
  local out
  [[ -s $KOD_TEST_DIR/openapi/index ]] || return 0
  if out=$(/usr/bin/python3 "$KOD_SOURCE/tests/integration/openapi_validate.py" \
    "$KOD_SOURCE/docs/openapi.yaml" "$KOD_TEST_DIR/openapi" "$@" 2>&1); then
    printf 'ok: responses match docs/openapi.yaml (%s)\n' "${out##*$'\n'}"
    return 0
  fi
  grep '^FAIL' <<<"$out" >&2 || printf '%s\n' "$out" >&2
  printf 'FAIL %s: responses do not match docs/openapi.yaml\n' "$KOD_TEST_NAME" >&2
  return 1
}

# expect_eq ACTUAL EXPECTED [WHAT]
expect_eq() {
  [[ $1 == "$2" ]] || fail "${3:-value}: expected '$2', got '$1'"
}

# expect_contains HAYSTACK NEEDLE [WHAT]
expect_contains() {
  [[ $1 == *"$2"* ]] || fail "${3:-value}: expected to contain '$2', got '${1:0:500}'"
}

# json_field FIELD [FILE]: prints a top-level field of a JSON object (default: the last body).
# Strings print raw, other values as JSON. Exits non-zero when the field is absent.
json_field() {
  python3 -c '
import json, sys
v = json.load(open(sys.argv[2]))
if not isinstance(v, dict) or sys.argv[1] not in v:
    sys.exit(1)
v = v[sys.argv[1]]
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$1" "${2:-$KOD_LAST_BODY_FILE}"
}

# expect_json_field FIELD [EXPECTED]: the last body has FIELD (equal to EXPECTED if given;
# strings compare raw, other values as compact JSON, e.g. '["admin"]'). Use json_field to read it.
expect_json_field() {
  local v
  v=$(json_field "$1") || fail "response has no field '$1': ${KOD_LAST_BODY:0:500}"
  if (($# >= 2)); then expect_eq "$v" "$2" "field $1"; fi
  return 0
}

# kod_repo_url NAME [TOKEN]: the clone URL of a repository, the token as Basic password.
kod_repo_url() {
  local url=${KOD_TEST_URL#http://}
  printf 'http://git:%s@%s/repos/%s.git' "${2:-$KOD_TEST_TOKEN}" "$url" "$1"
}

# kod_git ARGS...: git with a private HOME, no system config, no credential prompts.
kod_git() {
  mkdir -p "$KOD_TEST_DIR/git-home"
  HOME=$KOD_TEST_DIR/git-home GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false \
    git -c user.name=kod-test -c user.email=kod-test@example.invalid -c init.defaultBranch=main \
    -c credential.helper= "$@" </dev/null
}

# kod_git_timeout SECONDS ARGS...: kod_git under `timeout` (its own process group, killed whole
# on expiry, SIGKILL 5 s after the SIGTERM).
kod_git_timeout() {
  local t=$1
  shift
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout -k 5 "$t" bash -c "$(declare -f kod_git)"'; kod_git "$@"' kod_git "$@"
}

# kod_fcgi_descendants [REGEX]: "pid args" of every process below $KOD_FCGI_PID whose command
# line matches REGEX (an awk regex; default: the processes git runs for a request).
kod_fcgi_descendants() {
  ps -eo pid=,ppid=,args= | awk -v root="$KOD_FCGI_PID" \
    -v re="${1:-http-backend|upload-pack|receive-pack|pack-objects|index-pack|unpack-objects}" '
    { pid = $1; pp[pid] = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); cmd[pid] = $0 }
    END {
      for (p in pp) {
        q = p; n = 0
        while ((q in pp) && q != root && n++ < 64) q = pp[q]
        if (q == root && p != root && cmd[p] ~ re) print p, cmd[p]
      }
    }'
}

# ---------------------------------------------------------------------------------------------
# The stack

# kod_service_env: `env` arguments for kod-fcgi/kod-runner: none of the caller's configuration.
kod__service_env() {
  mapfile -t KOD__ENV < <(kod_clean_env_args)
}

# kod_fcgi_start: starts kod-fcgi (child of the test) and waits until its socket exists.
kod_fcgi_start() {
  local i
  kod__service_env
  rm -f "$KOD_TEST_DIR/run/fcgi.sock"
  kod_spawn "$KOD_TEST_DIR/run/kod-fcgi.pid" "$KOD_TEST_DIR/log/kod-fcgi.log" 0 \
    env "${KOD__ENV[@]}" KOD_ADMIN_TOKEN="$KOD_TEST_TOKEN" "$KOD_BUILD/kod-fcgi" --config "$KOD_TEST_INI"
  KOD_FCGI_PID=$KOD_SPAWNED_PID
  for ((i = 0; i < 600; i++)); do
    [[ -S $KOD_TEST_DIR/run/fcgi.sock ]] && return 0
    kod_pid_alive "$KOD_FCGI_PID" || fail "kod-fcgi exited during start-up"
    sleep 0.05
  done
  fail "kod-fcgi did not create $KOD_TEST_DIR/run/fcgi.sock within 30 s"
}

# kod_fcgi_stop [SIGNAL=TERM] [TIMEOUT=30]
kod_fcgi_stop() {
  kod_stop_pid "${KOD_FCGI_PID:-}" "${1:-TERM}" "${2:-30}"
  KOD_FCGI_PID=""
}

# kod_runner_start / kod_runner_stop [SIGNAL=TERM] [TIMEOUT=30]
kod_runner_start() {
  kod__service_env
  kod_spawn "$KOD_TEST_DIR/run/kod-runner.pid" "$KOD_TEST_DIR/log/kod-runner.log" 0 \
    env "${KOD__ENV[@]}" "$KOD_BUILD/kod-runner" --config "$KOD_TEST_INI"
  KOD_RUNNER_PID=$KOD_SPAWNED_PID
}
kod_runner_stop() {
  kod_stop_pid "${KOD_RUNNER_PID:-}" "${1:-TERM}" "${2:-30}"
  KOD_RUNNER_PID=""
}

# kod_jobs_start [NAME=kod-jobs]: starts a kod-jobs (logs in log/NAME.log). The first one's pid is
# KOD_JOBS_PID (stopped by kod_jobs_stop and at exit); others are the caller's to stop.
kod_jobs_start() {
  local name=${1:-kod-jobs}
  kod__service_env
  kod_spawn "$KOD_TEST_DIR/run/$name.pid" "$KOD_TEST_DIR/log/$name.log" 0 \
    env "${KOD__ENV[@]}" "$KOD_BUILD/kod-jobs" --config "$KOD_TEST_INI"
  if [[ $name == kod-jobs ]]; then KOD_JOBS_PID=$KOD_SPAWNED_PID; fi
}
kod_jobs_stop() {
  kod_stop_pid "${KOD_JOBS_PID:-}" "${1:-TERM}" "${2:-30}"
  KOD_JOBS_PID=""
}

# kod_wait_health [TIMEOUT_S=60]: waits for 200 from /health through nginx.
kod_wait_health() {
  local pids=()
  [[ -n ${KOD_FCGI_PID:-} ]] && pids+=("$KOD_FCGI_PID")
  [[ -n ${KOD_NGINX_PID:-} ]] && pids+=("$KOD_NGINX_PID")
  kod_wait_http "$KOD_TEST_URL/health" "${1:-60}" "${pids[@]}"
}

# kod_dump_logs: the tails of every log of the stack.
kod_dump_logs() {
  [[ -d ${KOD_TEST_DIR:-} ]] || return 0
  KOD_TAIL_LINES=${KOD_TAIL_LINES:-60} kod_tail_logs "$KOD_TEST_DIR"/log/kod-fcgi.log \
    "$KOD_TEST_DIR"/log/kod-runner.log "$KOD_TEST_DIR"/log/kod-jobs*.log "$KOD_TEST_DIR"/log/nginx-error.log "$KOD_TEST_DIR"/log/mariadb.log
}

kod_stack_start() {
  for b in kod-fcgi kod-runner kod-jobs; do
    [[ -x $KOD_BUILD/$b ]] || fail "$KOD_BUILD/$b is missing (KOD_BUILD=$KOD_BUILD)"
  done
  KOD_TEST_DIR=$(mktemp -d "/tmp/kod-it.$KOD_TEST_NAME.XXXXXX")
  trap 'kod_stack_stop $?' EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  KOD__STACK_UP=1
  kod_stack_layout "$KOD_TEST_DIR"
  KOD_TEST_INI=$KOD_STACK_INI

  KOD_TEST_TOKEN=$(kod_new_token)
  KOD_TEST_DB_PASSWORD=$(kod_random_alnum 24)
  KOD_TEST_ENCRYPTION_KEY_FILE=$KOD_TEST_DIR/encryption-key
  kod_write_secret "$KOD_TEST_DIR/admin-token" "$KOD_TEST_TOKEN"
  kod_write_secret "$KOD_TEST_ENCRYPTION_KEY_FILE" "$(kod_random_alnum 64)"
  kod_write_ini "$KOD_TEST_INI" "$KOD_TEST_DIR" "$KOD_TEST_DB_PASSWORD" "${KOD_TEST_WORKERS:-2}" \
    "$KOD_TEST_ENCRYPTION_KEY_FILE"
  if [[ -n ${KOD_TEST_EXTRA_INI:-} ]]; then printf '\n%b\n' "$KOD_TEST_EXTRA_INI" >>"$KOD_TEST_INI"; fi

  KOD_MDB_PORT=auto
  kod_mariadb_init
  kod_mariadb_start
  KOD_MARIADB_PID=$KOD_MDB_SERVER_PID
  KOD_TEST_DB_SOCKET=$KOD_MDB_SOCK
  KOD_TEST_DB_PORT=$KOD_MDB_PORT
  kod_mariadb_ensure_db kod kod "$KOD_TEST_DB_PASSWORD"
  KOD_TEST_MARIADB_CTL=$KOD_TEST_DIR/mariadb-ctl.sh
  kod_mariadb_write_ctl "$KOD_TEST_MARIADB_CTL"

  kod_fcgi_start
  KOD_RUNNER_PID=""
  if [[ ${KOD_TEST_NO_RUNNER:-0} != 1 ]]; then kod_runner_start; fi
  KOD_JOBS_PID=""
  if [[ ${KOD_TEST_NO_JOBS:-0} != 1 ]]; then kod_jobs_start; fi

  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(kod_free_port)
    kod_nginx_write_conf "$KOD_TEST_DIR/nginx" "127.0.0.1:$port" "$KOD_TEST_DIR/run/fcgi.sock" \
      "$KOD_TEST_DIR/run/nginx.pid" "$KOD_TEST_DIR/log"
    if kod_nginx_start "$KOD_TEST_DIR/nginx" "$KOD_TEST_DIR/log/nginx-error.log" "$KOD_TEST_DIR/run/nginx.pid" 0; then
      KOD_NGINX_PID=$KOD_NGINX_SERVER_PID
      break
    fi
    grep -q 'Address already in use' "$KOD_TEST_DIR/log/nginx-error.log" 2>/dev/null ||
      fail "nginx did not start"
    if ((attempt == 5)); then fail "nginx: no free port after 5 attempts"; fi
  done
  KOD_TEST_URL=http://127.0.0.1:$port
  export KOD_TEST_URL KOD_TEST_TOKEN KOD_TEST_DIR KOD_TEST_INI KOD_TEST_MARIADB_CTL \
    KOD_TEST_DB_SOCKET KOD_TEST_DB_PORT KOD_TEST_DB_PASSWORD KOD_TEST_ENCRYPTION_KEY_FILE \
    KOD_FCGI_PID KOD_RUNNER_PID KOD_JOBS_PID KOD_NGINX_PID KOD_MARIADB_PID
  kod_wait_health "${KOD_TEST_HEALTH_TIMEOUT:-60}" || fail "the stack did not become healthy"
}

# kod_stack_stop [STATUS]: the EXIT trap. Stops everything (nginx, runner, fcgi, MariaDB), reaps
# it, prints the logs when STATUS is non-zero, and removes the temp dir (unless KOD_TEST_KEEP=1).
kod_stack_stop() {
  local rc=${1:-0} hook
  trap - EXIT TERM INT
  ((KOD__STACK_UP)) || exit "$rc"
  KOD__STACK_UP=0
  if ((rc == 0)) && [[ ${KOD_TEST_SKIP_OPENAPI:-0} != 1 ]]; then kod_validate_responses || rc=1; fi
  for hook in "${KOD__EXIT_HOOKS[@]}"; do eval "$hook" || true; done
  kod_stop_pid "${KOD_NGINX_PID:-}" QUIT 10
  kod_jobs_stop TERM 30
  kod_runner_stop TERM 30
  kod_fcgi_stop TERM 30
  kod_mariadb_stop # also a server restarted through KOD_TEST_MARIADB_CTL
  if ((rc != 0)); then
    printf '\n%s failed (exit status %s); logs of %s:\n' "$KOD_TEST_NAME" "$rc" "$KOD_TEST_DIR" >&2
    kod_dump_logs
  fi
  if [[ ${KOD_TEST_KEEP:-0} == 1 ]]; then
    kod_info "kept $KOD_TEST_DIR"
  else
    rm -rf "$KOD_TEST_DIR"
  fi
  exit "$rc"
}

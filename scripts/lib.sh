# shellcheck shell=bash
# Shared shell functions for Kod's operator and developer tooling. Sourced (never executed) by
#   scripts/run, scripts/test, tests/store/with-mariadb.sh and tests/integration/lib.sh.
# One place for each thing: package installation, the Release build, starting and stopping
# processes, a private MariaDB instance, kod.ini, and the nginx wrapper config.
#
# Every function works with `set -euo pipefail` on or off. Nothing here changes shell options.

[[ -n ${KOD_LIB_SH_LOADED:-} ]] && return 0
KOD_LIB_SH_LOADED=1

KOD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The Debian 12 packages everything needs (docs/platform-notes.md#packages).
KOD_APT_PACKAGES=(
  libfcgi-dev libgit2-dev libmysqlcppconn-dev libssl-dev libjsoncpp-dev libinih-dev
  libboost-dev libboost-filesystem-dev libcppunit-dev nginx mariadb-server git wrk hyperfine
  fcgiwrap spawn-fcgi pkg-config cmake g++ python3 curl systemd ca-certificates
  python3-yaml python3-jsonschema libcurl4-openssl-dev
)

# npm tools the tests run, pinned by tools/npm/package-lock.json (docs/openapi.yaml lint).
KOD_NPM_DIR=$KOD_ROOT/tools/npm

# Every environment variable the binaries read as configuration (docs/configuration.md).
KOD_CONFIG_ENV_VARS=(
  KOD_CONFIG KOD_SOCKET KOD_SOCKET_MODE KOD_WORKERS KOD_SERVER_BASE_PATH
  KOD_DB_HOST KOD_DB_PORT KOD_DB_SOCKET KOD_DB_USER KOD_DB_PASSWORD KOD_DB_NAME
  KOD_DATABASE_CONNECT_TIMEOUT_S KOD_DATABASE_TIMEOUT_S
  KOD_REPOS_DIR KOD_DEFAULT_BRANCH KOD_HOOKS_DIR KOD_GIT_IDLE_TIMEOUT_S KOD_ADMIN_TOKEN
  KOD_ENCRYPTION_KEY KOD_ENCRYPTION_KEY_FILE
  KOD_RUNNER_CONCURRENCY KOD_WORKSPACE_DIR KOD_RUNNER_WAKE_DIR KOD_RUNNER_KEEP_RUNS KOD_LOG_LEVEL
  KOD_JOBS_CONCURRENCY KOD_JOBS_WAKE_DIR KOD_WEBHOOKS_ALLOWED_HOSTS KOD_WEBHOOKS_KEEP_DAYS
  KOD_IMPORT_TIMEOUT_S
)

# ---------------------------------------------------------------------------------------------
# Messages

kod_info() { printf '%s\n' "kod: $*" >&2; }
kod_warn() { printf '%s\n' "kod: warning: $*" >&2; }
kod_die() { printf '%s\n' "kod: error: $*" >&2; exit 1; }

# kod_tail_logs FILE... : the last lines of each existing file, with a header.
kod_tail_logs() {
  local f
  for f in "$@"; do
    [[ -f $f ]] || continue
    printf '\n==> %s (last %s lines) <==\n' "$f" "${KOD_TAIL_LINES:-40}" >&2
    tail -n "${KOD_TAIL_LINES:-40}" "$f" >&2 || true
  done
}

# ---------------------------------------------------------------------------------------------
# Packages and build

# kod_install_packages: installs whichever of KOD_APT_PACKAGES is missing. Fast no-op when
# everything is installed (dpkg-query only; no apt-get update). KOD_SKIP_INSTALL=1 skips it.
kod_install_packages() {
  [[ ${KOD_SKIP_INSTALL:-0} == 1 ]] && return 0
  command -v dpkg-query >/dev/null 2>&1 || kod_die "dpkg-query not found: scripts need Debian 12 (or set KOD_SKIP_INSTALL=1)"
  local p installed missing=()
  installed=" $(dpkg-query -W -f='${Package}\t${Status}\n' "${KOD_APT_PACKAGES[@]}" 2>/dev/null |
    awk -F'\t' '$2 == "install ok installed" {printf "%s ", $1}') " || true
  for p in "${KOD_APT_PACKAGES[@]}"; do
    [[ $installed == *" $p "* ]] || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((EUID != 0)); then
    kod_die "missing packages (run as root, or install them): ${missing[*]}"
  fi
  kod_info "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
}

# kod_install_npm_tools: `npm ci` in tools/npm (exact versions of its package-lock.json) unless
# the installed tree already matches the lock file. Installs Debian's nodejs and npm first when
# npm is missing. KOD_SKIP_INSTALL=1 skips it.
kod_install_npm_tools() {
  [[ ${KOD_SKIP_INSTALL:-0} == 1 ]] && return 0
  local stamp=$KOD_NPM_DIR/node_modules/.kod-lock.sha256 want
  want=$(sha256sum "$KOD_NPM_DIR/package-lock.json" | cut -d' ' -f1)
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    ((EUID == 0)) || kod_die "npm is missing (run as root, or install nodejs and npm)"
    kod_info "installing: nodejs npm"
    DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm </dev/null
  fi
  kod_info "npm ci in $KOD_NPM_DIR"
  (cd "$KOD_NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null) ||
    kod_die "npm ci failed in $KOD_NPM_DIR"
  printf '%s\n' "$want" >"$stamp"
}

# kod_build DIR [cmake -D args...]: configures (Release unless an arg says otherwise) and builds
# everything in DIR. Fails loudly when the build fails.
kod_build() {
  local dir=$1
  shift
  kod_info "building $dir"
  cmake -S "$KOD_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" </dev/null
  cmake --build "$dir" -j "$(nproc)" </dev/null
}

# ---------------------------------------------------------------------------------------------
# Small utilities

# kod_random_alnum N: N random characters of [A-Za-z0-9] (CSPRNG).
kod_random_alnum() {
  local n=$1 s
  s=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom 2>/dev/null | head -c "$n") || true
  ((${#s} == n)) || kod_die "could not read $n random characters from /dev/urandom"
  printf '%s' "$s"
}

# kod_new_token: kod_ + 32 alnum, the token format of docs/api.md.
kod_new_token() { printf 'kod_%s' "$(kod_random_alnum 32)"; }

# kod_write_secret FILE VALUE: writes VALUE (no newline) to FILE with mode 0600.
kod_write_secret() {
  local file=$1 value=$2
  (umask 077 && printf '%s' "$value" >"$file.tmp.$$")
  chmod 0600 "$file.tmp.$$"
  mv -f "$file.tmp.$$" "$file"
}

# kod_free_port: a TCP port on 127.0.0.1 that was free a moment ago (callers retry on collision).
kod_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# kod_port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
kod_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# kod_check_socket_path PATH: unix socket paths are limited to 107 bytes (sun_path).
kod_check_socket_path() {
  ((${#1} <= 107)) || kod_die "socket path too long for a unix socket (${#1} > 107 bytes): $1 (use a shorter KOD_VAR_DIR)"
}

# ---------------------------------------------------------------------------------------------
# Processes

# kod_pid_state PID: prints the state letter from /proc/PID/stat (R, S, D, Z, ...) or nothing.
kod_pid_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  printf '%s' "${stat%% *}"
}

# kod_pid_alive PID: running and not a zombie. A zombie counts as stopped: this machine's PID 1
# reaps orphans only after 1-2 s (docs/platform-notes.md#processes-and-pid-1).
kod_pid_alive() {
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  local st
  st=$(kod_pid_state "$1")
  [[ -n $st && $st != Z && $st != X ]]
}

# kod_pid_is PID WORD: alive, and its command name or command line mentions WORD (guards against
# a stale pid file whose number now belongs to something else).
kod_pid_is() {
  kod_pid_alive "$1" || return 1
  local comm cmdline
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [[ $comm == "${2:0:15}"* ]] && return 0
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]]
}

# kod_pidfile_pid FILE: the pid in FILE, or nothing.
kod_pidfile_pid() {
  local pid=""
  [[ -f $1 ]] && read -r pid <"$1" 2>/dev/null
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s' "$pid"
  return 0
}

# kod__close_fds: closes every fd above 2 in the current (sub)shell, so a spawned service
# keeps nothing of the caller's open (pipes from CI, lock files, ...).
kod__close_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then
      eval "exec $fd>&-" 2>/dev/null || true
    fi
  done
}

# kod_spawn PIDFILE LOGFILE SETSID CMD...: starts CMD in the background as a child of this shell
# (so it can be `wait`ed for), stdin from /dev/null, no inherited fds above 2. stdout and stderr
# are appended to LOGFILE, or inherited when LOGFILE is "-". SETSID=1 puts it in its own session
# (no terminal signals, survives the caller). Sets KOD_SPAWNED_PID and writes it to PIDFILE.
kod_spawn() {
  local pidfile=$1 log=$2 new_session=$3
  shift 3
  (
    kod__close_fds
    exec </dev/null
    if [[ $log != - ]]; then exec >>"$log" 2>&1; fi
    if [[ $new_session == 1 ]]; then exec setsid "$@"; else exec "$@"; fi
  ) &
  KOD_SPAWNED_PID=$!
  if [[ -n $pidfile ]]; then printf '%s\n' "$KOD_SPAWNED_PID" >"$pidfile"; fi
}

# kod_stop_pid PID [SIGNAL=TERM] [TIMEOUT_S=30]: signals PID, waits until it is gone (or a zombie),
# SIGKILLs it after TIMEOUT_S, and reaps it when it is our child. Returns 0 in all cases.
kod_stop_pid() {
  local pid=$1 sig=${2:-TERM} timeout=${3:-30} i
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if kod_pid_alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 20; i++)); do
      kod_pid_alive "$pid" || break
      sleep 0.05
    done
    if kod_pid_alive "$pid"; then
      kod_warn "pid $pid did not stop within ${timeout}s after SIG$sig; sending SIGKILL"
      kill -s KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kod_pid_alive "$pid" || break
        sleep 0.05
      done
    fi
  fi
  wait "$pid" 2>/dev/null || true
  return 0
}

# kod_wait_http URL TIMEOUT_S [PID...]: waits until URL answers 200. Returns 1 on timeout, or
# early when one of the PIDs stops running (a service that died will not answer).
kod_wait_http() {
  local url=$1 timeout=$2 code pid deadline
  shift 2
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null) || true
    [[ $code == 200 ]] && return 0
    for pid in "$@"; do
      if ! kod_pid_alive "$pid"; then
        kod_warn "pid $pid exited while waiting for $url"
        return 1
      fi
    done
    sleep 0.2
  done
  kod_warn "no 200 from $url within ${timeout}s (last status: ${code:-none})"
  return 1
}

# ---------------------------------------------------------------------------------------------
# A private MariaDB instance (docs/platform-notes.md#mariadb-in-tests). The instance is described by these variables,
# set by kod_mariadb_layout (or by hand):
#   KOD_MDB_DATA  datadir        KOD_MDB_SOCK  unix socket      KOD_MDB_PID  pid file
#   KOD_MDB_LOG   error log      KOD_MDB_PORT  TCP port on 127.0.0.1 ("0": no TCP, "auto": a free one)
#   KOD_MDB_SETSID 1 to start it in its own session (scripts/run) — default 0 (tests)
# Always --no-defaults (first option!), so /etc/mysql and the system instance are never touched.

# kod_mariadb_layout DIR [PORT]: everything under DIR (data/, mysqld.sock, ...).
kod_mariadb_layout() {
  KOD_MDB_DATA=$1/data
  KOD_MDB_SOCK=$1/mysqld.sock
  KOD_MDB_PID=$1/mysqld.pid
  KOD_MDB_LOG=$1/error.log
  KOD_MDB_PORT=${2:-auto}
}

kod__mdb_user_args() {
  # mariadbd refuses to run as root without --user; root works and needs no chown of the dirs
  # (the mysql user could not traverse a 0700 parent such as /root or a mktemp dir).
  if ((EUID == 0)); then printf '%s\n' --user=root; fi
}

# kod_mariadb_sql SQL...: runs statements as MariaDB's root over the unix socket.
kod_mariadb_sql() {
  mariadb --no-defaults --socket="$KOD_MDB_SOCK" -uroot --batch --skip-column-names -e "$*" </dev/null
}

# kod_mariadb_init: creates the datadir once (a marker file records a completed install, so a
# half-done install is redone instead of being used).
kod_mariadb_init() {
  local marker=$KOD_MDB_DATA/.kod-initialized
  [[ -f $marker ]] && return 0
  if [[ -d $KOD_MDB_DATA && -n $(ls -A "$KOD_MDB_DATA" 2>/dev/null) ]]; then
    if [[ -d $KOD_MDB_DATA/mysql ]]; then
      kod_die "$KOD_MDB_DATA holds a MariaDB datadir not created by these scripts (no $marker); refusing to touch it"
    fi
    rm -rf "$KOD_MDB_DATA"
  fi
  mkdir -p "$KOD_MDB_DATA" "$KOD_MDB_DATA.tmp" "$(dirname "$KOD_MDB_LOG")" "$(dirname "$KOD_MDB_SOCK")"
  local user_args
  user_args=$(kod__mdb_user_args)
  # shellcheck disable=SC2086 # user_args is empty or one word
  # Each instance gets its own tmpdir: a shared /tmp let one instance's cleanup break another's.
  if ! mariadb-install-db --no-defaults $user_args --datadir="$KOD_MDB_DATA" --tmpdir="$KOD_MDB_DATA.tmp" \
    --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
    >"$KOD_MDB_DATA.install.log" 2>&1 </dev/null; then
    cat "$KOD_MDB_DATA.install.log" >&2
    kod_die "mariadb-install-db failed for $KOD_MDB_DATA"
  fi
  rm -f "$KOD_MDB_DATA.install.log"
  : >"$marker"
}

# kod_mariadb_start: starts mariadbd as a child of this shell and waits until it answers.
# Sets KOD_MDB_SERVER_PID and (for PORT=auto) the chosen KOD_MDB_PORT. Retries other ports when
# an automatically chosen one turns out to be taken.
kod_mariadb_start() {
  local auto=0 attempt net_args user_args i
  [[ $KOD_MDB_PORT == auto ]] && auto=1
  kod_check_socket_path "$KOD_MDB_SOCK"
  mkdir -p "$(dirname "$KOD_MDB_SOCK")" "$(dirname "$KOD_MDB_PID")" "$(dirname "$KOD_MDB_LOG")" "$KOD_MDB_DATA.tmp"
  user_args=$(kod__mdb_user_args)
  for attempt in 1 2 3 4 5; do
    if ((auto)); then KOD_MDB_PORT=$(kod_free_port); fi
    if [[ $KOD_MDB_PORT == 0 ]]; then
      net_args=(--skip-networking)
    else
      net_args=(--port="$KOD_MDB_PORT" --bind-address=127.0.0.1)
    fi
    rm -f "$KOD_MDB_SOCK"
    # shellcheck disable=SC2086 # user_args is empty or one word
    kod_spawn "" "$KOD_MDB_LOG" "${KOD_MDB_SETSID:-0}" \
      mariadbd --no-defaults $user_args --datadir="$KOD_MDB_DATA" --tmpdir="$KOD_MDB_DATA.tmp" --socket="$KOD_MDB_SOCK" \
      "${net_args[@]}" --pid-file="$KOD_MDB_PID" --log-error="$KOD_MDB_LOG" --skip-name-resolve \
      --innodb-buffer-pool-size=64M --character-set-server=utf8mb4 --collation-server=utf8mb4_bin
    KOD_MDB_SERVER_PID=$KOD_SPAWNED_PID
    printf '%s\n' "$KOD_MDB_SERVER_PID" >"$KOD_MDB_PID"
    for ((i = 0; i < 600; i++)); do # 30 s
      if mariadb-admin --no-defaults --socket="$KOD_MDB_SOCK" -uroot ping >/dev/null 2>&1 </dev/null; then
        return 0
      fi
      kod_pid_alive "$KOD_MDB_SERVER_PID" || break
      sleep 0.05
    done
    if kod_pid_alive "$KOD_MDB_SERVER_PID"; then
      kod_stop_pid "$KOD_MDB_SERVER_PID" KILL 5
      kod_tail_logs "$KOD_MDB_LOG"
      kod_die "MariaDB ($KOD_MDB_DATA) did not answer within 30 s"
    fi
    wait "$KOD_MDB_SERVER_PID" 2>/dev/null || true
    if ((auto)) && tail -n 20 "$KOD_MDB_LOG" 2>/dev/null | grep -q 'Address already in use'; then
      kod_info "MariaDB port $KOD_MDB_PORT was taken; trying another (attempt $attempt)"
      continue
    fi
    kod_tail_logs "$KOD_MDB_LOG"
    kod_die "MariaDB ($KOD_MDB_DATA) failed to start (see $KOD_MDB_LOG)"
  done
  kod_die "MariaDB: no free port after 5 attempts"
}

# kod_mariadb_stop: stops the instance whose pid is in KOD_MDB_PID (TERM, then KILL after 60 s).
kod_mariadb_stop() {
  local pid
  pid=$(kod_pidfile_pid "$KOD_MDB_PID")
  if [[ -n $pid ]] && kod_pid_is "$pid" mariadbd; then
    kod_stop_pid "$pid" TERM 60
  fi
  rm -f "$KOD_MDB_PID"
}

# kod_mariadb_running: true when the instance's pid file names a live mariadbd.
kod_mariadb_running() {
  local pid
  pid=$(kod_pidfile_pid "$KOD_MDB_PID")
  [[ -n $pid ]] && kod_pid_is "$pid" mariadbd
}

# kod_mariadb_ensure_db DB USER PASSWORD: creates the database (utf8mb4_bin) and the user for
# socket (localhost) and TCP (127.0.0.1) logins; idempotent, and re-syncs the password.
kod_mariadb_ensure_db() {
  local db=$1 user=$2 pw=$3 host sql
  [[ $db =~ ^[A-Za-z0-9_]+$ && $user =~ ^[A-Za-z0-9_]+$ && $pw =~ ^[A-Za-z0-9]+$ ]] ||
    kod_die "kod_mariadb_ensure_db: unexpected characters in database, user or password"
  sql="CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
  for host in localhost 127.0.0.1; do
    sql+=" CREATE USER IF NOT EXISTS '$user'@'$host' IDENTIFIED BY '$pw';"
    sql+=" ALTER USER '$user'@'$host' IDENTIFIED BY '$pw';"
    sql+=" GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'$host';"
  done
  kod_mariadb_sql "$sql"
}

# kod_mariadb_write_ctl FILE: a self-contained control script for the current instance:
#   FILE stop | start | restart | status | sql "STATEMENT"
# so a test can take the database away and bring it back (same datadir, socket and port).
kod_mariadb_write_ctl() {
  local file=$1
  {
    printf '#!/usr/bin/env bash\n# Generated by scripts/lib.sh: controls one throwaway MariaDB instance.\n'
    printf 'set -euo pipefail\n'
    printf 'source %q\n' "$KOD_ROOT/scripts/lib.sh"
    printf 'KOD_MDB_DATA=%q KOD_MDB_SOCK=%q KOD_MDB_PID=%q KOD_MDB_LOG=%q KOD_MDB_PORT=%q\n' \
      "$KOD_MDB_DATA" "$KOD_MDB_SOCK" "$KOD_MDB_PID" "$KOD_MDB_LOG" "$KOD_MDB_PORT"
    cat <<'EOF'
case ${1:-} in
  stop) kod_mariadb_stop ;;
  start) kod_mariadb_running || kod_mariadb_start ;;
  restart) kod_mariadb_stop; kod_mariadb_start ;;
  status) if kod_mariadb_running; then echo running; else echo stopped; exit 1; fi ;;
  sql) shift; kod_mariadb_sql "$@" ;;
  *) echo "usage: $0 stop|start|restart|status|sql STATEMENT" >&2; exit 2 ;;
esac
EOF
  } >"$file"
  chmod 0755 "$file"
}

# ---------------------------------------------------------------------------------------------
# Kod's own processes

# kod_clean_env_args: `env` arguments that remove every config variable, so a service reads only
# its kod.ini plus what the caller adds after them.
kod_clean_env_args() {
  local v
  for v in "${KOD_CONFIG_ENV_VARS[@]}"; do printf '%s\n' "-u" "$v"; done
}

# kod_write_ini FILE VAR_DIR DB_PASSWORD [WORKERS] [KEY_FILE]: the kod.ini of a private stack
# whose runtime paths all live under VAR_DIR (layout: see kod_stack_layout).
kod_write_ini() {
  local file=$1 var=$2 pw=$3 workers=${4:-} keyfile=${5:-}
  {
    printf '; Generated by Kod'\''s scripts for the stack in %s.\n' "$var"
    printf '; Every key is documented in docs/configuration.md; KOD_* environment variables win.\n\n'
    printf '[server]\nsocket = %s\n' "$var/run/fcgi.sock"
    printf '; 0666: nginx'\''s workers (user nobody) connect to it\nsocket_mode = 0666\n'
    if [[ -n $workers ]]; then printf 'workers = %s\n' "$workers"; fi
    printf '\n[database]\n; unix socket of the private MariaDB (var/run); TCP is not used by Kod here\n'
    printf 'socket = %s\nuser = kod\npassword = %s\nname = kod\n' "$var/run/mysqld.sock" "$pw"
    printf '\n[storage]\nrepos_dir = %s\ndefault_branch = main\n' "$var/repos"
    printf '\n[runner]\nconcurrency = 2\nworkspace_dir = %s\nwake_dir = %s\n' "$var/work" "$var/run/runner"
    printf '\n[jobs]\nwake_dir = %s\n' "$var/run/jobs"
    if [[ -n $keyfile ]]; then printf '\n[secrets]\nkey_file = %s\n' "$keyfile"; fi
    printf '\n[log]\nlevel = info\n'
  } >"$file.tmp.$$"
  chmod 0600 "$file.tmp.$$"
  mv -f "$file.tmp.$$" "$file"
}

# kod_stack_layout VAR_DIR: the directory layout shared by scripts/run and the integration tests.
#   VAR/kod.ini  VAR/admin-token  VAR/db-password  VAR/encryption-key
#   VAR/mysql/ (datadir)  VAR/repos/  VAR/work/  VAR/run/ (sockets, pid files, runner/, jobs/)
#   VAR/log/*.log  VAR/nginx/ (generated nginx.conf, kod.conf, temp dirs)
# shellcheck disable=SC2034 # the variables are this function's output
kod_stack_layout() {
  local var=$1
  [[ $var != *[[:space:]]* ]] || kod_die "the state directory must not contain whitespace: '$var' (set KOD_VAR_DIR)"
  KOD_STACK_VAR=$var
  KOD_STACK_RUN=$var/run
  KOD_STACK_LOG=$var/log
  KOD_STACK_INI=$var/kod.ini
  KOD_MDB_DATA=$var/mysql
  KOD_MDB_SOCK=$var/run/mysqld.sock
  KOD_MDB_PID=$var/run/mariadb.pid
  KOD_MDB_LOG=$var/log/mariadb.log
  mkdir -p "$var/repos" "$var/work" "$var/run/runner" "$var/run/jobs" "$var/log" "$var/nginx" "$KOD_MDB_DATA"
  # nginx's workers (nobody) must traverse to run/fcgi.sock; 0711 lets them without listing.
  chmod 0711 "$var"
  chmod 0755 "$var/run"
  # Workflow steps run as their own uid (runner.step_uid_base): they may pass through work/ to
  # their checkout, and must not read the repositories or the logs.
  chmod 0700 "$var/repos" "$var/log" "$KOD_MDB_DATA"
  chmod 0711 "$var/work"
  kod_check_socket_path "$var/run/fcgi.sock"
}

# ---------------------------------------------------------------------------------------------
# nginx

# kod_nginx_snippets SOCKET DIR LOGDIR [BASE_PATH]: the shipped nginx/*.conf files, copied to DIR
# (a `snippets/` dir next to the nginx.conf that includes them) with the FastCGI socket replaced
# by SOCKET, the access log moved from /var/log/nginx/ to LOGDIR, and kod-prefix.conf's /git
# prefix replaced by BASE_PATH when one is given.
kod_nginx_snippets() {
  local socket=$1 dir=$2 logdir=$3 base=${4:-} f name
  grep -q 'unix:/run/kod/fcgi.sock;' "$KOD_ROOT/nginx/kod-fastcgi.conf" ||
    kod_die "nginx/kod-fastcgi.conf no longer names unix:/run/kod/fcgi.sock"
  mkdir -p "$dir"
  for f in "$KOD_ROOT"/nginx/*.conf; do
    name=${f##*/}
    sed -e "s|unix:/run/kod/fcgi.sock;|unix:$socket;|g" -e "s|/var/log/nginx/|$logdir/|g" "$f" >"$dir/$name"
    if [[ -n $base && $name == kod-prefix.conf ]]; then sed -i "s|/git/|$base/|g" "$dir/$name"; fi
  done
}

# kod_nginx_write_conf PREFIX LISTEN SOCKET PIDFILE LOGDIR [LAYOUT]: a complete nginx.conf at
# PREFIX/nginx.conf whose only server listens on LISTEN (e.g. 127.0.0.1:3000) and includes the
# operator snippets from PREFIX/snippets/ (nginx/*.conf, socket substituted) the way operators
# do (docs/nginx.md). LAYOUT:
#   dedicated      (default) the server block is Kod's: `include snippets/kod.conf;`
#   prefix:/PATH   a static site (PREFIX/site/index.html at /) with Kod under /PATH:
#                  `include snippets/kod-prefix.conf;` (kod-fcgi needs server.base_path=/PATH)
# pid, logs and every temp path stay inside PREFIX/LOGDIR (docs/platform-notes.md#nginx).
kod_nginx_write_conf() {
  local prefix=$1 listen=$2 socket=$3 pidfile=$4 logdir=$5 layout=${6:-dedicated} t user_line="" server_body
  mkdir -p "$prefix/tmp" "$logdir" "$(dirname "$pidfile")"
  for t in body fastcgi proxy scgi uwsgi; do mkdir -p "$prefix/tmp/$t"; done
  case $layout in
    dedicated)
      kod_nginx_snippets "$socket" "$prefix/snippets" "$logdir"
      server_body="include snippets/kod.conf;"
      ;;
    prefix:/*)
      kod_nginx_snippets "$socket" "$prefix/snippets" "$logdir" "${layout#prefix:}"
      mkdir -p "$prefix/site"
      printf '<!doctype html><title>host site</title><p>the host site</p>\n' >"$prefix/site/index.html"
      server_body="root $prefix/site;
    location / { try_files \$uri \$uri/ =404; }
    include snippets/kod-prefix.conf;"
      ;;
    *) kod_die "kod_nginx_write_conf: unknown layout '$layout'" ;;
  esac
  # Started as root, nginx's workers run as nobody. When nobody cannot reach the socket (the
  # checkout lives under a 0700 directory such as /root), run them as root instead.
  if ((EUID == 0)) && command -v setpriv >/dev/null 2>&1; then
    if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$(dirname "$socket")" 2>/dev/null; then
      user_line="user root;  # nobody cannot traverse to $(dirname "$socket")"
    fi
  fi
  cat >"$prefix/nginx.conf" <<EOF
# Generated by Kod's scripts: a private nginx in front of kod-fcgi. Not for production.
$user_line
worker_processes 2;
pid $pidfile;
error_log $logdir/nginx-error.log warn;
events { worker_connections 1024; }
http {
  include snippets/kod-log.conf;
  access_log $logdir/nginx-access.log kod_access;
  client_body_temp_path $prefix/tmp/body;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  proxy_temp_path $prefix/tmp/proxy;
  scgi_temp_path $prefix/tmp/scgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  server_tokens off;
  server {
    listen $listen;
    server_name localhost;
    $server_body
  }
}
EOF
}

# kod_nginx_start PREFIX LOGFILE PIDFILE SETSID: runs `nginx -g 'daemon off;'` as a child with the
# config written by kod_nginx_write_conf and waits until it has bound (pid file written).
# Returns 1 (after reaping it) when nginx exits during start-up, e.g. port in use.
kod_nginx_start() {
  local prefix=$1 log=$2 pidfile=$3 new_session=$4 i
  rm -f "$pidfile"
  kod_spawn "" "$log" "$new_session" nginx -p "$prefix/" -c "$prefix/nginx.conf" \
    -e "$log" -g 'daemon off;'
  KOD_NGINX_SERVER_PID=$KOD_SPAWNED_PID
  for ((i = 0; i < 200; i++)); do # 10 s (nginx retries a busy port for 2.5 s)
    if [[ -s $pidfile ]]; then return 0; fi
    kod_pid_alive "$KOD_NGINX_SERVER_PID" || break
    sleep 0.05
  done
  if kod_pid_alive "$KOD_NGINX_SERVER_PID" && [[ -s $pidfile ]]; then return 0; fi
  kod_stop_pid "$KOD_NGINX_SERVER_PID" TERM 5
  return 1
}

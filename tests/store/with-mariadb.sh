#!/usr/bin/env bash
# tests/store/with-mariadb.sh TEST-BINARY [ARGS...]
# Runs a store test against a throwaway MariaDB: a datadir in a fresh temp dir, its unix socket
# there, TCP on a free port of 127.0.0.1, database kod_test (utf8mb4_bin) and a user for it.
# The test gets:
#   KOD_DB_SOCKET KOD_DB_HOST KOD_DB_PORT KOD_DB_USER KOD_DB_PASSWORD KOD_DB_NAME
#   KOD_TEST_MARIADB_DIR    the instance's directory
#   KOD_TEST_MARIADB_CTL    a script: `$KOD_TEST_MARIADB_CTL stop|start|restart|status`, and
#                           `$KOD_TEST_MARIADB_CTL sql "STATEMENT"` (as MariaDB root). A restart
#                           keeps the datadir, socket and port.
# MariaDB is stopped when the test ends (also on failure or a signal); the exit status is the
# test's. KOD_TEST_KEEP=1 keeps the temp dir.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

(($# >= 1)) || kod_die "usage: $0 TEST-BINARY [ARGS...]"

KOD_TEST_MARIADB_DIR=$(mktemp -d /tmp/kod-store.XXXXXX)
chmod 0711 "$KOD_TEST_MARIADB_DIR"
test_pid=""

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $test_pid ]]; then kod_stop_pid "$test_pid" TERM 10; fi
  kod_mariadb_stop
  wait 2>/dev/null || true # reap whatever this script started (the first mariadbd included)
  if ((rc != 0)); then
    kod_tail_logs "$KOD_MDB_LOG"
  fi
  if [[ ${KOD_TEST_KEEP:-0} == 1 ]]; then
    kod_info "kept $KOD_TEST_MARIADB_DIR"
  else
    rm -rf "$KOD_TEST_MARIADB_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

kod_mariadb_layout "$KOD_TEST_MARIADB_DIR" auto
kod_mariadb_init
kod_mariadb_start
password=$(kod_random_alnum 24)
kod_mariadb_ensure_db kod_test kod_test "$password"
kod_mariadb_write_ctl "$KOD_TEST_MARIADB_DIR/ctl.sh"

# Only these reach the test; no other Kod configuration from the caller's environment.
for v in "${KOD_CONFIG_ENV_VARS[@]}"; do unset "$v"; done
export KOD_DB_SOCKET=$KOD_MDB_SOCK KOD_DB_HOST=127.0.0.1 KOD_DB_PORT=$KOD_MDB_PORT
export KOD_DB_USER=kod_test KOD_DB_PASSWORD=$password KOD_DB_NAME=kod_test
export KOD_TEST_MARIADB_DIR KOD_TEST_MARIADB_CTL=$KOD_TEST_MARIADB_DIR/ctl.sh

"$@" &
test_pid=$!
set +e
wait "$test_pid"
rc=$?
set -e
test_pid=""
exit "$rc"

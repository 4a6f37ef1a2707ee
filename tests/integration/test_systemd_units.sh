#!/usr/bin/env bash
# The shipped systemd units (systemd/) pass `systemd-analyze verify` (docs/platform-notes.md#validating-shipped-configs: works
# without systemd as PID 1, with --root and stub executables), carry the settings the design
# asks for, and a deliberately broken copy fails (so this test can fail).
set -euo pipefail

KOD_SOURCE=${KOD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
UNITS=(kod-fcgi.socket kod-fcgi.service kod-runner.service kod-jobs.service)

command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze not installed (package systemd)" >&2; exit 1; }

work=$(mktemp -d /tmp/kod-it.systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# make_root DIR: a fake root with the units and stub executables for every Exec*= binary.
make_root() {
  local root=$1 b
  mkdir -p "$root/etc/systemd/system" "$root/usr/bin" "$root/bin"
  for u in "${UNITS[@]}"; do cp "$KOD_SOURCE/systemd/$u" "$root/etc/systemd/system/"; done
  for b in usr/bin/kod-fcgi usr/bin/kod-runner usr/bin/kod-jobs bin/kill; do
    printf '#!/bin/sh\nexit 0\n' >"$root/$b"
    chmod 0755 "$root/$b"
  done
}

# verify ROOT UNIT: prints systemd-analyze's output; returns its status.
verify() {
  systemd-analyze verify --root="$1" --man=no --recursive-errors=no "$2" 2>&1
}

# 1. Every shipped unit verifies cleanly (no warnings either).
make_root "$work/good"
for u in "${UNITS[@]}"; do
  if out=$(verify "$work/good" "$u"); then
    if [[ -n $out ]]; then fail "$u: systemd-analyze verify warned:"$'\n'"$out"; fi
    echo "ok: $u verifies"
  else
    fail "$u: systemd-analyze verify failed:"$'\n'"$out"
  fi
done

# 2. The settings the design requires.
unit_has() { # UNIT KEY=VALUE
  grep -qxF "$2" "$KOD_SOURCE/systemd/$1" || fail "$1 lacks '$2'"
}
for u in kod-fcgi.service kod-runner.service kod-jobs.service; do
  for kv in User=kod ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes Restart=on-failure \
    KillSignal=SIGTERM "ReadWritePaths=/var/lib/kod /run/kod"; do
    unit_has "$u" "$kv"
  done
  grep -q '^TimeoutStopSec=' "$KOD_SOURCE/systemd/$u" || fail "$u has no TimeoutStopSec="
  grep -q '^PrivatePIDs=' "$KOD_SOURCE/systemd/$u" && fail "$u must not use PrivatePIDs= (the runner kills its descendants)"
done
unit_has kod-fcgi.service "ExecStart=/usr/bin/kod-fcgi --config /etc/kod/kod.ini"
# shellcheck disable=SC2016 # a literal $MAINPID
unit_has kod-fcgi.service 'ExecReload=/bin/kill -HUP $MAINPID'
unit_has kod-fcgi.service RuntimeDirectory=kod
unit_has kod-fcgi.service Requires=kod-fcgi.socket
unit_has kod-runner.service "ExecStart=/usr/bin/kod-runner --config /etc/kod/kod.ini"
unit_has kod-jobs.service "ExecStart=/usr/bin/kod-jobs --config /etc/kod/kod.ini"
unit_has kod-jobs.service RuntimeDirectory=kod/jobs
unit_has kod-fcgi.socket ListenStream=/run/kod/fcgi.sock
unit_has kod-fcgi.socket Accept=no
# The socket the unit creates is the one nginx/kod-fastcgi.conf connects to.
grep -q 'fastcgi_pass unix:/run/kod/fcgi.sock;' "$KOD_SOURCE/nginx/kod-fastcgi.conf" ||
  fail "nginx/kod-fastcgi.conf does not pass to unix:/run/kod/fcgi.sock"

# 3. Broken copies must fail, or the checks above prove nothing.
break_unit() { # NAME UNIT SED-EXPRESSION
  local name=$1 unit=$2 expr=$3 out
  make_root "$work/$name"
  sed -i "$expr" "$work/$name/etc/systemd/system/$unit"
  if out=$(verify "$work/$name" "$unit"); then
    fail "broken copy '$name' of $unit passed systemd-analyze verify"
  else
    echo "ok: broken copy '$name' of $unit fails (${out%%$'\n'*})"
  fi
}
break_unit unknown-key kod-fcgi.service 's/^Type=exec$/Type=exec\nBogusSetting=1/'
break_unit bad-type kod-runner.service 's/^Type=exec$/Type=bogus/'
break_unit missing-binary kod-runner.service 's|/usr/bin/kod-runner|/usr/bin/kod-runner-missing|'
break_unit bad-socket kod-fcgi.socket 's|^ListenStream=.*|ListenStream=|'

if ((failures)); then
  echo "test_systemd_units: $failures failure(s)" >&2
  exit 1
fi
echo "test_systemd_units: ok"

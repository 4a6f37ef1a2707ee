#!/usr/bin/env bash
# docs/openapi.yaml passes `@redocly/cli lint` with docs/redocly.yaml (recommended-strict: any
# warning is an error). The CLI is the pinned one of tools/npm (scripts/test installs it).
set -euo pipefail
KOD_SOURCE=${KOD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
redocly=$KOD_SOURCE/tools/npm/node_modules/.bin/redocly
[[ -x $redocly ]] || { echo "FAIL: $redocly is missing (scripts/test installs it: kod_install_npm_tools)"; exit 1; }
cd "$KOD_SOURCE"
# NO_UPDATE_NOTIFIER/REDOCLY_TELEMETRY: no network calls beyond the lint itself.
if out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1 \
  "$redocly" lint --config docs/redocly.yaml --format=stylish docs/openapi.yaml 2>&1); then
  echo "ok: redocly lint docs/openapi.yaml"
  echo "1 passed, 0 failed"
else
  printf '%s\n' "$out" | grep -v '║\|╔\|╚'
  echo "FAIL: redocly lint docs/openapi.yaml"
  echo "0 passed, 1 failed"
  exit 1
fi

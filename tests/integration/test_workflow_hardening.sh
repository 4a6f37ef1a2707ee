#!/usr/bin/env bash
# Workflow runs against a hostile user (issue 9, defects 3 and 8), on the real stack:
#   1. no command line shows a secret: while a step that uses {env.MY_SECRET} sleeps, no
#      /proc/<pid>/cmdline holds the value (the script reaches the shell on stdin);
#   2. {branch} cannot inject: a run of the branch q'$(touch${IFS}/tmp/…)' prints the branch name
#      in single quotes, double quotes and unquoted, and the sentinel file is never created;
#   3. masking (issue 9 defect 9, issue 13): a step prints a secret's derived forms (base64, URL-safe,
#      inside longer base64 at 3 alignments, percent, JSON, hex) and each is masked; a 1-byte
#      secret is injected but masks nothing ("masked": false); a whitespace-only value is a 400.
# Each check prints "ok: NAME" or "FAIL NAME: reason"; the last line is "N passed, M failed".
# shellcheck disable=SC2016 # single-quoted shell text is meant literally
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"
# shellcheck source=tests/integration/runs.sh
source "$(dirname "$0")/runs.sh"

kod_stack_start
kod_on_exit on_exit_summary
UNIQ=$((RANDOM * 32768 + RANDOM))
SENTINEL=/tmp/kod-pwned-$UNIQ
kod_on_exit "rm -f $SENTINEL"

# ---------------------------------------------------------------------------------------------
# 1. No secret in a command line while its step runs.
new_repo hard
SECRET=proc-$(kod_random_alnum 24)
put_secret hard MY_SECRET "$SECRET"
mkdir -p "$KOD_TEST_DIR/hard/.kod/workflows"
cat >"$KOD_TEST_DIR/hard/.kod/workflows/ci.toml" <<EOF
[step:uses the secret]
run: echo "{env.MY_SECRET}" >/dev/null; sleep 3.$UNIQ

[step:branch]
run:
  printf '%s\n' '{branch}'
  printf '%s\n' "branch=[{branch}]"
  printf '%s\n' {branch}
  printf '%s\n' "\$(printf '%s' '{branch}')"
EOF
push_commit hard "workflow using a secret"
check secret.run-queued test -n "$RUN_ID" "no run queued; push said: $PUSH_OUT"
saw_sleep=0 leaked=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  for f in /proc/[0-9]*/cmdline; do
    line=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
    [[ $line == *"sleep 3.$UNIQ"* ]] && saw_sleep=1
    [[ $line == *"$SECRET"* ]] && leaked="${f%/cmdline}: $line"
  done
  [[ -n $leaked ]] && break
  st=$(run_status hard "$RUN_ID")
  [[ $st == completed || $st == failed ]] && break
  sleep 0.1
done
check secret.step-observed test "$saw_sleep" = 1 "never saw the step's sleep in /proc: the scan tested nothing"
check secret.not-in-cmdline test -z "$leaked" "the secret is in a command line: $leaked"
st=$(wait_status hard "$RUN_ID" 60 completed failed) || true
run_json hard "$RUN_ID"
check secret.run-completed test "$st" = completed "run $RUN_ID: $st; $(steps_summary)"

# ---------------------------------------------------------------------------------------------
# 2. A branch name is data, never code, whatever the quoting around {branch}.
BRANCH="q'\$(touch\${IFS}$SENTINEL)'"
push_commit hard "same workflow on a hostile branch" "$BRANCH"
check branch.run-queued test -n "$RUN_ID" "no run queued for $BRANCH; push said: $PUSH_OUT"
st=$(wait_status hard "$RUN_ID" 60 completed failed) || true
run_json hard "$RUN_ID"
check branch.run-completed test "$st" = completed "run $RUN_ID: $st; $(steps_summary)"
out=$(step output branch)
want=$(printf '%s\n' "$BRANCH" "branch=[$BRANCH]" "$BRANCH" "$BRANCH")
check branch.output-is-the-name test "$out" = "$want" "output: '$out', want '$want'"
check branch.nothing-ran test ! -e "$SENTINEL" "$SENTINEL exists: the branch name ran as a command"

# ---------------------------------------------------------------------------------------------
# 3. Derived forms are masked; short values are not.
new_repo masks
FORMS_SECRET="k/$(kod_random_alnum 14)+\"ü?"
put_secret masks FORMS "$FORMS_SECRET"
check mask.put-masked-true test "$(json_field masked)" = true "PUT answered $KOD_LAST_BODY"
put_secret masks SHORT "e"
check mask.put-short-unmasked test "$(json_field masked)" = false "PUT of a 1-byte value answered $KOD_LAST_BODY"
printf '{"value":" \\t "}' | expect_status PUT /repos/masks/secrets/BLANK 400 -H 'Content-Type: application/json' --data-binary @-
ok mask.put-blank-400
mkdir -p "$KOD_TEST_DIR/masks/.kod/workflows"
cat >"$KOD_TEST_DIR/masks/.kod/workflows/ci.toml" <<'EOF'
[step:forms]
run:
  echo "plain=$FORMS"
  echo "b64=$(printf %s "$FORMS" | base64 -w0)"
  echo "b64nl=$(echo "$FORMS" | base64 -w0)"
  echo "b64url=$(printf %s "$FORMS" | base64 -w0 | tr '+/' '-_' | tr -d =)"
  echo "in0=$(printf '%s and more' "$FORMS" | base64 -w0)"
  echo "in1=$(printf 'x%s and more' "$FORMS" | base64 -w0)"
  echo "in2=$(printf 'xy%s and more' "$FORMS" | base64 -w0)"
  echo "pct=$(python3 -c 'import os, urllib.parse; print(urllib.parse.quote(os.environ["FORMS"], safe=""))')"
  echo "json=$(python3 -c 'import json, os; print(json.dumps(os.environ["FORMS"]))')"
  echo "jsonu=$(python3 -c 'import json, os; print(json.dumps(os.environ["FORMS"], ensure_ascii=False))')"
  echo "hex=$(printf %s "$FORMS" | od -An -tx1 | tr -d ' \n')"
  echo "HEX=$(printf %s "$FORMS" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
  echo "short=[$SHORT] line"
EOF
push_commit masks "print derived forms"
st=$(wait_status masks "$RUN_ID" 60 completed failed) || true
run_json masks "$RUN_ID"
check mask.run-completed test "$st" = completed "run $RUN_ID: $st; $(steps_summary)"
out=$(step output forms)
leaks=$(python3 - "$FORMS_SECRET" "$out" <<'EOF'
import base64, json, sys, urllib.parse
v, out = sys.argv[1].encode(), sys.argv[2]
forms = {"plain": v.decode(), "hex": v.hex(), "HEX": v.hex().upper(),
         "pct": urllib.parse.quote(v, safe=""), "json": json.dumps(v.decode())[1:-1],
         "jsonu": json.dumps(v.decode(), ensure_ascii=False)[1:-1]}
for k in range(3):  # what depends on the value only, inside longer base64 text
    skip = (3 - k) % 3
    body = v[skip:]
    core = body[:len(body) // 3 * 3]
    forms["base64 core %d" % k] = base64.b64encode(core).decode()
    forms["base64url core %d" % k] = base64.urlsafe_b64encode(core).decode()
print(" ".join(k for k, f in forms.items() if f in out))
EOF
)
check mask.no-form-leaks test -z "$leaks" "forms visible in the output: $leaks; output: $out"
for label in plain b64 b64nl b64url pct json jsonu hex HEX; do
  line=$(grep "^$label=" <<<"$out" || true)
  check "mask.$label" has "$line" "***" "line '$line' is not masked"
done
check mask.short-not-masked has "$out" "short=[e] line" "a 1-byte secret changed the output: $out"

summary
((FAILED == 0))

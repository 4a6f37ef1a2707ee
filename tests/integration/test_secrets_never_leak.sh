#!/usr/bin/env bash
# Secret values never leave the encrypted column (issue 4, docs/api.md#secrets, docs/workflows.md):
#   1. PUT four secrets with distinctive values (a long random one, a multi-line one, a unicode
#      one, one with JSON/shell metacharacters); GET /repos/:name/secrets lists the names only;
#   2. a pushed workflow (.kod/workflows/a.toml) echoes "v=$MY_SECRET" and prints the other
#      values and its environment: the run's output shows v=*** and no value, no key, no token;
#      the run's workspace ($KOD_TEST_DIR/work/<id>) is removed afterwards;
#   3. with everything still running, none of the values (nor any line of the multi-line one,
#      nor their JSON-escaped, base64 and hex forms) appears in: every log the stack wrote
#      ($KOD_TEST_DIR/log/*: kod-fcgi, kod-runner, nginx access/error, MariaDB error log), a full
#      mariadb-dump (plain and --hex-blob), the repos dir, the workspace dir, or any other file
#      under the stack's dir (MariaDB's datadir included); the encryption key, the admin token
#      and the database password appear in no log, dump, workspace or run output either;
#   4. the same for the logs after kod-runner and kod-fcgi have been stopped.
# The scanner is checked against a planted file first (so it can fail), and the scanned sources
# are checked to hold what they should (the PUT requests in the access log, the secret names
# and the masked run output in the dump).
# Each check prints "ok NAME" or "FAIL NAME: reason"; the last line is "N passed, M failed".
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

# The closing line, then the scan dir (it lives outside the stack's dir).
on_exit_cleanup() {
  on_exit_summary
  rm -rf "${SCAN:-/nonexistent-kod-scan}"
}

T_START=$SECONDS
kod_stack_start
kod_on_exit on_exit_cleanup
# Dumps and the planted control file live outside the stack's dir, which is scanned whole.
SCAN=$(mktemp -d /tmp/kod-it.secrets-scan.XXXXXX)
C=$KOD_TEST_DIR/client
mkdir -p "$C"

# --- the values ------------------------------------------------------------------------------------
# Kept in shell variables only; sent to curl through a pipe, never written under $KOD_TEST_DIR.
V_LONG=$(kod_random_alnum 200)
V_MULTI="mlineA-$(kod_random_alnum 20)
mlineB $(kod_random_alnum 20) with spaces

mlineC-$(kod_random_alnum 20)"
V_UNI="ünïcødé-ключ-密码-🔑-$(kod_random_alnum 20)-ß"
V_META="q\"u'o\\te\$HOME;\`x\`-$(kod_random_alnum 20)-%41&<>"
declare -A SECRET=([MY_SECRET]=$V_LONG [MULTI_SECRET]=$V_MULTI [UNI_SECRET]=$V_UNI [META_SECRET]=$V_META)
ADMIN_TOKEN=$KOD_TEST_TOKEN
ENC_KEY=$(cat "$KOD_TEST_ENCRYPTION_KEY_FILE")

# Patterns (one per line, exact bytes): for each value the value (each non-blank line for the
# multi-line one), its JSON-escaped, percent-encoded and nginx-log-escaped forms, base64 (whole
# and of a prefix) and hex; the same for each line of the multi-line value. LABELS[i] says what PATS[i] is.
PATS=()
LABELS=()
add_forms() { # LABEL VALUE
  local label=$1 v=$2 f
  while IFS=$'\t' read -r kind f; do
    [[ -n $f ]] || continue
    PATS+=("$f")
    LABELS+=("$label ($kind)")
  done < <(python3 -c '
import base64, json, sys, urllib.parse
v = sys.argv[1].encode()
out = []
if b"\n" not in v:
    out.append(("plain", v.decode()))
out.append(("json-escaped", json.dumps(v.decode(), ensure_ascii=False)[1:-1]))
out.append(("json-ascii-escaped", json.dumps(v.decode())[1:-1]))
out.append(("base64", base64.b64encode(v).decode()))
out.append(("base64url", base64.urlsafe_b64encode(v).decode().rstrip("=")))
# base64 of a 3-byte-aligned prefix (at most 48 bytes: 64 characters, under the line length of
# base64(1)) also matches the encoding of anything that starts with the value (value + newline).
n = min(48, len(v) - len(v) % 3)
if 12 <= n < len(v):
    out.append(("base64 of its first %d bytes" % n, base64.b64encode(v[:n]).decode()))
# as a URL would carry it, and as nginx writes non-ASCII bytes, " and \\ into its logs (\\xHH)
out.append(("percent-encoded", urllib.parse.quote(v, safe="")))
out.append(("nginx-log-escaped", "".join(chr(b) if 0x20 <= b < 0x7f and b not in (0x22, 0x5c)
                                             else "\\x%02X" % b for b in v)))
out.append(("hex", v.hex()))
out.append(("HEX", v.hex().upper()))
seen = set()
for kind, f in out:
    if f and f not in seen:
        seen.add(f)
        print(kind + "\t" + f)' "$v")
}
for name in "${!SECRET[@]}"; do add_forms "$name" "${SECRET[$name]}"; done
i=0
while IFS= read -r line; do
  i=$((i + 1))
  [[ -n ${line// /} ]] || continue
  add_forms "MULTI_SECRET line $i" "$line"
done <<<"$V_MULTI"
N_VALUE_PATS=${#PATS[@]}
# Service credentials: must not reach logs, dumps, workspaces or run output (they legitimately
# live in files of the stack's dir, so the whole-dir scan only uses the value patterns).
PATS+=("$ENC_KEY" "$ADMIN_TOKEN" "$KOD_TEST_DB_PASSWORD")
LABELS+=("the encryption key" "the admin token" "the database password")

# scan WHAT MAXPAT PATH...: every file under PATHs (binary too) for PATS[0..MAXPAT-1]. Prints one
# line per hit "file: label"; returns 0 when nothing was found.
scan() {
  local what=$1 max=$2 f k hits=0
  shift 2
  local files
  files=$(LC_ALL=C grep -rlaF -f <(printf '%s\n' "${PATS[@]:0:max}") -- "$@" 2>/dev/null || true)
  [[ -z $files ]] && return 0
  while IFS= read -r f; do
    for ((k = 0; k < max; k++)); do
      if LC_ALL=C grep -qaF -e "${PATS[k]}" -- "$f"; then
        printf '    %s: %s in %s\n' "$what" "${LABELS[k]}" "$f"
        hits=$((hits + 1))
      fi
    done
  done <<<"$files"
  return 1
}

# --- 0. the scanner finds what is there --------------------------------------------------------------
printf 'prefix %s suffix\n' "${PATS[@]}" >"$SCAN/planted.txt"
planted=$(scan planted "${#PATS[@]}" "$SCAN/planted.txt" || true)
if [[ $(grep -c . <<<"$planted") == "${#PATS[@]}" ]]; then
  ok "scanner finds each of the ${#PATS[@]} patterns in a planted file"
else
  bad scanner "found $(grep -c . <<<"$planted") of ${#PATS[@]} patterns in the planted file"
fi
rm -f "$SCAN/planted.txt"

# --- 1. write and list ---------------------------------------------------------------------------------
expect_status POST /repos 201 -d '{"name":"vault"}'
json_body() { python3 -c 'import json, sys; sys.stdout.write(json.dumps({"value": sys.argv[1]}, ensure_ascii=False))' "$1"; }
for name in MY_SECRET MULTI_SECRET UNI_SECRET META_SECRET; do
  expect_status PUT "/repos/vault/secrets/$name" 200 --data-binary @- \
    -H 'Content-Type: application/json; charset=utf-8' < <(json_body "${SECRET[$name]}")
  expect_json_field name "$name"
done
ok "PUT of 4 secrets (long random, multi-line, unicode, metacharacters)"
# The responses went to $KOD_TEST_DIR/last-body: the whole-dir scan covers them too.

expect_status GET /repos/vault/secrets 200
listed=$(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
print(" ".join(sorted(e["name"] for e in v)))
print(" ".join(sorted({k for e in v for k in e})))' "$KOD_LAST_BODY_FILE")
if [[ $(sed -n 1p <<<"$listed") != "META_SECRET MULTI_SECRET MY_SECRET UNI_SECRET" ]]; then
  bad list "names listed: $(sed -n 1p <<<"$listed")"
elif [[ $(sed -n 2p <<<"$listed") != "createdAt name repoName updatedAt" ]]; then
  bad list "fields of the entries: $(sed -n 2p <<<"$listed")"
elif ! out=$(scan list-body "$N_VALUE_PATS" "$KOD_LAST_BODY_FILE"); then
  bad list "a value is in the listing: $out"
else
  ok "GET secrets lists the 4 names with createdAt/name/repoName/updatedAt only, no value"
fi

# --- 2. a workflow that uses them ------------------------------------------------------------------
kod_git init -q "$C/w"
mkdir -p "$C/w/.kod/workflows"
cat >"$C/w/.kod/workflows/a.toml" <<'EOF'
[step:s]
run: echo "v=$MY_SECRET"

[step:others]
run: printf '%s\n' "m=$MULTI_SECRET" "u=$UNI_SECRET" "x=$META_SECRET"

[step:environment]
run: env | sort
EOF
(cd "$C/w" && kod_git add . && kod_git commit -qm workflow) >/dev/null
export -f kod_git
# shellcheck disable=SC2016 # expanded by the inner bash
push_out=$(timeout -k 5 60 bash -c 'kod_git -C "$1" push "$2" main' _ "$C/w" "$(kod_repo_url vault)" 2>&1) ||
  fail "push of the workflow failed: $push_out"
run_id=$(sed -n 's/.*Kod: queued workflow run \([a-z0-9]\{12\}\) for main.*/\1/p' <<<"$push_out" | head -1)
[[ -n $run_id ]] || fail "the push did not print 'Kod: queued workflow run <id> for main': $push_out"
info "run $run_id"
status=""
for ((i = 0; i < 600; i++)); do # 60 s
  expect_status GET "/repos/vault/workflows/$run_id" 200
  status=$(json_field status)
  [[ $status == completed || $status == failed ]] && break
  sleep 0.1
done
cp "$KOD_LAST_BODY_FILE" "$SCAN/run.json"
if [[ $status != completed ]]; then
  bad run "run $run_id ended '$status': $(head -c 1500 "$SCAN/run.json")"
fi
step_out() { python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
for s in r.get("result", {}).get("steps", []):
    if s["name"] == sys.argv[2]:
        sys.stdout.write(s.get("output", ""))' "$SCAN/run.json" "$1"; }
s_out=$(step_out s)
if [[ $s_out == *'v=***'* ]]; then
  ok "the step's output shows v=*** ($(tr '\n' ' ' <<<"$s_out"))"
else
  bad run-output "step s output: '$s_out'"
fi
o_out=$(step_out others)
if [[ $o_out == *'m=***'* && $o_out == *'u=***'* && $o_out == *'x=***'* ]]; then
  ok "the other values print as *** ($(tr '\n' ' ' <<<"$o_out"))"
else
  bad run-output-others "step 'others' output: '$o_out'"
fi
e_out=$(step_out environment)
if [[ $e_out == *MY_SECRET=* && $e_out == *KOD_RUN_ID=$run_id* ]] && ! grep -q '^KOD_ENCRYPTION_KEY\|^KOD_DB_PASSWORD\|^KOD_ADMIN_TOKEN' <<<"$e_out"; then
  ok "the step's environment has the secrets (masked) and no server configuration variable"
else
  bad run-env "env output: $(tr '\n' ' ' <<<"$e_out" | head -c 1500)"
fi
if out=$(scan run-json "${#PATS[@]}" "$SCAN/run.json"); then
  ok "GET of the run holds no value, key or token"
else
  bad run-json "found:"$'\n'"$out"
fi

for ((i = 0; i < 100; i++)); do # 10 s: the directory goes after the result is recorded
  [[ -e $KOD_TEST_DIR/work/$run_id ]] || break
  sleep 0.1
done
if [[ -e $KOD_TEST_DIR/work/$run_id ]]; then
  bad workspace "$KOD_TEST_DIR/work/$run_id still exists 10 s after the run ended: $(find "$KOD_TEST_DIR/work/$run_id" -maxdepth 2 | head -5)"
elif [[ -n $(find "$KOD_TEST_DIR/work" -mindepth 1 -maxdepth 1 | head -1) ]]; then
  bad workspace "the workspace dir is not empty: $(find "$KOD_TEST_DIR/work" -mindepth 1 -maxdepth 1 | head -5)"
else
  ok "the run's workspace was removed"
fi

# --- 3. scan everything, still running -----------------------------------------------------------------
logs=()
for f in kod-fcgi.log kod-runner.log kod-access.log nginx-error.log mariadb.log; do
  [[ -f $KOD_TEST_DIR/log/$f ]] || bad logs "$KOD_TEST_DIR/log/$f is missing"
done
mapfile -t logs < <(find "$KOD_TEST_DIR/log" -type f)
info "logs: $(for f in "${logs[@]}"; do printf '%s (%s B) ' "${f##*/}" "$(stat -c %s "$f")"; done)"
# Kod's nginx locations log to kod-access.log (nginx/kod-fastcgi.conf, format kod_access).
n_put=$(grep -c 'PUT /repos/vault/secrets/' "$KOD_TEST_DIR/log/kod-access.log" || true)
grep -q "$run_id" "$KOD_TEST_DIR/log/kod-runner.log" || bad logs "kod-runner.log does not mention run $run_id (not the log that ran it?)"
if ((n_put == 4)); then
  ok "the access log has the 4 PUT requests (the logs scanned are the stack's)"
else
  bad logs "kod-access.log has $n_put PUT /repos/vault/secrets lines, expected 4"
fi
if out=$(scan logs "${#PATS[@]}" "${logs[@]}"); then
  ok "no value, line, encoded form, key or token in ${#logs[@]} logs"
else
  bad logs "found in logs:"$'\n'"$out"
fi

mdump() { mariadb-dump --no-defaults --socket="$KOD_TEST_DB_SOCKET" -uroot --all-databases \
  --single-transaction --routines --events "$@" </dev/null; }
mdump >"$SCAN/dump.sql" 2>"$SCAN/dump.err" || fail "mariadb-dump failed: $(cat "$SCAN/dump.err")"
mdump --hex-blob >"$SCAN/dump-hex.sql" 2>"$SCAN/dump.err" || fail "mariadb-dump --hex-blob failed: $(cat "$SCAN/dump.err")"
dump_ok=1
for name in MY_SECRET MULTI_SECRET UNI_SECRET META_SECRET; do
  grep -q "'$name'" "$SCAN/dump.sql" || { bad dump "the dump has no row naming $name"; dump_ok=0; }
done
grep -qF 'v=***' "$SCAN/dump.sql" || { bad dump "the dump lacks the run's masked output v=***"; dump_ok=0; }
((dump_ok)) && ok "the dump holds the 4 secret rows and the masked run output ($(stat -c %s "$SCAN/dump.sql") B)"
if out=$(scan dump "${#PATS[@]}" "$SCAN/dump.sql" "$SCAN/dump-hex.sql"); then
  ok "no value, line, encoded form, key or token in the database dump (plain and --hex-blob)"
else
  bad dump "found in the dump:"$'\n'"$out"
fi

if out=$(scan repos "${#PATS[@]}" "$KOD_TEST_DIR/repos"); then
  ok "nothing in the repos dir ($(find "$KOD_TEST_DIR/repos" -type f | wc -l) files)"
else
  bad repos "found:"$'\n'"$out"
fi
if out=$(scan workspace "${#PATS[@]}" "$KOD_TEST_DIR/work"); then
  ok "nothing in the workspace dir"
else
  bad workspace-scan "found:"$'\n'"$out"
fi
# Everything else the stack wrote (MariaDB's datadir, nginx temp dirs, run/, the API responses
# the harness saved): the values only (the key and the token live in their own files there).
if out=$(scan stack-dir "$N_VALUE_PATS" "$KOD_TEST_DIR"); then
  ok "no value anywhere under the stack's dir ($(du -sh "$KOD_TEST_DIR" | cut -f1), MariaDB datadir included)"
else
  bad stack-dir "found:"$'\n'"$out"
fi

# --- 4. after stopping the services ---------------------------------------------------------------
kod_runner_stop TERM 30
kod_fcgi_stop TERM 30
if out=$(scan logs-after-stop "${#PATS[@]}" "$KOD_TEST_DIR"/log/*); then
  ok "still nothing in the logs after kod-runner and kod-fcgi stopped"
else
  bad logs-after-stop "found:"$'\n'"$out"
fi

info "total $((SECONDS - T_START)) s"
summary
((FAILED == 0))

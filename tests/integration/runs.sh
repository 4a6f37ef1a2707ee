# shellcheck shell=bash
# Workflow-run helpers shared by the integration tests (source it after lib.sh and checks.sh).
#   new_repo NAME                 create the repository, clone it to $KOD_TEST_DIR/NAME
#   push_commit NAME MSG [BRANCH] commit everything in the clone and push it to BRANCH (main);
#                                 sets PUSH_OUT, RUN_ID (from the remote line), SHA
#   run_json REPO ID              GET the run into $KOD_TEST_DIR/run.json (non-200 fails)
#   run_status REPO ID            the run's status ("" when the GET fails)
#   wait_status REPO ID SECS ST.. wait until the run has one of the statuses; prints it
#   step FIELD NAME               a field of step NAME in run.json (JSON for non-strings)
#   steps_summary                 name/success/error of every step of run.json
#   field NAME                    a top-level field of run.json ("<absent>")
#   procs PATTERN                 pids whose command line matches PATTERN (comma-separated)
#   put_secret REPO NAME VALUE    PUT a secret (the value goes to curl on stdin); 200 expected

new_repo() {
  expect_status POST /repos 201 -H 'Content-Type: application/json' -d "{\"name\":\"$1\"}"
  kod_git clone -q "$(kod_repo_url "$1")" "$KOD_TEST_DIR/$1" 2>/dev/null
}

push_commit() {
  local dir=$KOD_TEST_DIR/$1 branch=${3:-main}
  kod_git -C "$dir" add -A
  kod_git -C "$dir" commit -q --allow-empty -m "$2"
  SHA=$(kod_git -C "$dir" rev-parse HEAD)
  PUSH_OUT=$(kod_git -C "$dir" push origin "HEAD:refs/heads/$branch" 2>&1) || fail "git push to $1 failed: $PUSH_OUT"
  RUN_ID=$(sed -n 's/^remote: Kod: queued workflow run \([^ ]*\) for .*$/\1/p' <<<"$PUSH_OUT" | head -n1)
}

run_json() {
  expect_status GET "/repos/$1/workflows/$2" 200
  cp "$KOD_LAST_BODY_FILE" "$KOD_TEST_DIR/run.json"
}

run_status() {
  kod_curl -H "Authorization: Bearer $KOD_TEST_TOKEN" "$KOD_TEST_URL/repos/$1/workflows/$2" |
    python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("status",""))
except Exception: print("")' 2>/dev/null || true
}

wait_status() {
  local repo=$1 id=$2 timeout=$3 s="" deadline
  shift 3
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    s=$(run_status "$repo" "$id")
    for want in "$@"; do [[ $s == "$want" ]] && { printf '%s' "$s"; return 0; }; done
    sleep 0.2
  done
  printf '%s' "$s"
  return 1
}

step() {
  python3 - "$1" "$2" "$KOD_TEST_DIR/run.json" <<'EOF'
import json, sys
field, name, path = sys.argv[1:]
run = json.load(open(path))
for s in (run.get("result") or {}).get("steps") or []:
    if s.get("name") == name:
        v = s.get(field, "<absent>")
        print(v if isinstance(v, str) else json.dumps(v))
        sys.exit(0)
print("<no step %s>" % name)
EOF
}

steps_summary() {
  python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print("; ".join("%s success=%s error=%s" % (s.get("name"), s.get("success"), s.get("error"))
                for s in (r.get("result") or {}).get("steps") or []) or "<no steps>")' "$KOD_TEST_DIR/run.json"
}

field() { json_field "$1" "$KOD_TEST_DIR/run.json" 2>/dev/null || printf '<absent>'; }

procs() { pgrep -f -- "$1" | paste -sd, - || true; }

put_secret() {
  python3 -c 'import json, sys; sys.stdout.write(json.dumps({"value": sys.argv[1]}, ensure_ascii=False))' "$3" |
    expect_status PUT "/repos/$1/secrets/$2" 200 -H 'Content-Type: application/json' --data-binary @-
}

#!/usr/bin/env bash
# Repositories as teams use them (docs/api.md): pagination headers of the list routes, the
# default branch that the first push sets and PATCH changes.
#   1. GET /repos, /tokens, /repos/:name/workflows with ?page/?per_page: that page, X-Total-Count,
#      an RFC 8288 Link header (path and query only); bad values are a 400 naming the parameter;
#      without the parameters the answers are as before (no paging headers).
#   2. The first push of `master` into an empty repository moves HEAD there, and a plain
#      `git clone` checks it out; a first push of other branches picks main, then the first in
#      byte order; PATCH defaultBranch points HEAD at an existing branch (400 otherwise).
#   3. kod-jobs (started with every test stack) stops cleanly on SIGTERM.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

KOD_TEST_NO_RUNNER=1 # runs only need to exist here, not to run
kod_stack_start
kod_on_exit on_exit_summary
J=(-H 'Content-Type: application/json')

# header NAME: the value of a header of the last response ("" when absent).
header() { grep -i "^$1:" "$KOD_LAST_HEADERS_FILE" | head -1 | sed 's/^[^:]*: *//; s/\r$//' || true; }
count() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$KOD_LAST_BODY_FILE"; }
names() { python3 -c 'import json,sys; print(",".join(x["name"] for x in json.load(open(sys.argv[1]))))' "$KOD_LAST_BODY_FILE"; }

# --- 1. pagination
for n in r5 r1 R2 r3 r4; do expect_status POST /repos 201 "${J[@]}" -d "{\"name\":\"$n\"}"; done
expect_status GET /repos 200
check repos.unpaged-all [ "$(count)" = 5 ] "want 5 repositories: $KOD_LAST_BODY"
check repos.unpaged-no-headers [ -z "$(header X-Total-Count)" ] "X-Total-Count without paging: $(header X-Total-Count)"
expect_status GET '/repos?per_page=2' 200
check repos.page1 [ "$(names)" = R2,r1 ] "page 1 by byte order: $(names)"
check repos.total [ "$(header X-Total-Count)" = 5 ] "X-Total-Count: $(header X-Total-Count)"
link=$(header Link)
check repos.link-first-next-last [ "$link" = '</repos?page=1&per_page=2>; rel="first", </repos?page=2&per_page=2>; rel="next", </repos?page=3&per_page=2>; rel="last"' ] "Link: $link"
expect_status GET '/repos?page=3&per_page=2' 200
check repos.page3 [ "$(names)" = r5 ] "page 3: $(names)"
check repos.page3-prev has "$(header Link)" '</repos?page=2&per_page=2>; rel="prev"' "Link: $(header Link)"
check repos.page3-no-next lacks "$(header Link)" 'rel="next"' "Link: $(header Link)"
expect_status GET '/repos?page=9&per_page=2' 200
check repos.past-the-end [ "$(count)" = 0 ] "page 9: $KOD_LAST_BODY"
expect_status GET '/repos?page=0' 400
check repos.bad-page has "$KOD_LAST_BODY" '"page must' "$KOD_LAST_BODY"
expect_status GET '/repos?per_page=101' 400
check repos.bad-per-page has "$KOD_LAST_BODY" '"per_page must' "$KOD_LAST_BODY"
expect_status GET '/repos?page=1&per_page=abc' 400
expect_status GET '/repos?per_page=1&page=2' 200
check repos.page-order-free [ "$(names)" = r1 ] "per_page=1&page=2: $(names)"

# A linked token sees its own count.
expect_status POST /repos/r3/collaborators 201 "${J[@]}" -d '{"username":"alice"}'
expect_status POST /tokens 201 "${J[@]}" -d '{"name":"alice","username":"alice","permissions":["repo:read"]}'
alice=$(json_field token)
expect_status GET '/repos?per_page=10' 200 -H "Authorization: Bearer $alice"
check repos.linked-total [ "$(header X-Total-Count):$(names)" = 1:r3 ] "alice: $(header X-Total-Count) $(names)"

for n in b a c; do expect_status POST /tokens 201 "${J[@]}" -d "{\"name\":\"tok-$n\"}"; done
expect_status GET '/tokens?page=2&per_page=2' 200
check tokens.total [ "$(header X-Total-Count)" = 5 ] "tokens X-Total-Count: $(header X-Total-Count)"
check tokens.by-name [ "$(names)" = "tok-a,tok-b" ] "tokens page 2 (admin, alice, tok-a, tok-b, tok-c): $(names)"
check tokens.link has "$(header Link)" '</tokens?page=3&per_page=2>; rel="next"' "Link: $(header Link)"
expect_status GET '/tokens?per_page=0' 400

# Runs: three API triggers of one commit with a workflow.
kod_git clone -q "$(kod_repo_url r1)" "$KOD_TEST_DIR/r1" 2>/dev/null
mkdir -p "$KOD_TEST_DIR/r1/.kod/workflows"
printf '[step:a]\nrun: true\n' >"$KOD_TEST_DIR/r1/.kod/workflows/ci.toml"
kod_git -C "$KOD_TEST_DIR/r1" add -A
kod_git -C "$KOD_TEST_DIR/r1" commit -q -m ci
kod_git -C "$KOD_TEST_DIR/r1" push -q origin HEAD:main 2>/dev/null
ids=()
for _ in 1 2; do
  expect_status POST /repos/r1/workflows 202 "${J[@]}" -d '{}'
  ids+=("$(json_field id)")
done
expect_status GET '/repos/r1/workflows?per_page=1' 200
check runs.total [ "$(header X-Total-Count)" = 3 ] "runs X-Total-Count (push + 2): $(header X-Total-Count)"
newest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$KOD_LAST_BODY_FILE")
check runs.newest-first [ "$newest" = "${ids[1]}" ] "page 1 holds $newest, want ${ids[1]}"
check runs.link has "$(header Link)" '</repos/r1/workflows?page=3&per_page=1>; rel="last"' "Link: $(header Link)"
expect_status GET '/repos/r1/workflows?limit=2&page=2&per_page=2' 200
check runs.limit-kept-in-link has "$(header Link)" '</repos/r1/workflows?limit=2&page=1&per_page=2>; rel="first"' "Link: $(header Link)"
expect_status GET '/repos/r1/workflows?page=-1' 400

# --- 2. default branch
expect_status POST /repos 201 "${J[@]}" -d '{"name":"mirror"}'
src=$KOD_TEST_DIR/src
kod_git init -q -b master "$src"
echo hello >"$src/README"
kod_git -C "$src" add README
kod_git -C "$src" commit -q -m first
out=$(kod_git -C "$src" push "$(kod_repo_url mirror)" master 2>&1) || fail "push master: $out"
expect_status GET /repos/mirror 200
check head.master [ "$(json_field defaultBranch)" = master ] "defaultBranch after the first push of master: $KOD_LAST_BODY"
clone_out=$(kod_git clone "$(kod_repo_url mirror)" "$KOD_TEST_DIR/mirror-clone" 2>&1) || fail "clone: $clone_out"
check head.clone-checks-out [ -f "$KOD_TEST_DIR/mirror-clone/README" ] "plain clone checked out nothing: $clone_out"
check head.no-warning lacks "$clone_out" "nonexistent ref" "clone said: $clone_out"
check head.clone-branch [ "$(kod_git -C "$KOD_TEST_DIR/mirror-clone" symbolic-ref --short HEAD)" = master ] "clone's branch"

expect_status POST /repos 201 "${J[@]}" -d '{"name":"multi"}'
kod_git -C "$src" branch zeta
kod_git -C "$src" branch alpha
kod_git -C "$src" push -q "$(kod_repo_url multi)" zeta alpha 2>/dev/null
expect_status GET /repos/multi 200
check head.first-in-byte-order [ "$(json_field defaultBranch)" = alpha ] "zeta+alpha: $KOD_LAST_BODY"
# HEAD exists now: a later push of main does not move it.
kod_git -C "$src" push -q "$(kod_repo_url multi)" master:main 2>/dev/null
expect_status GET /repos/multi 200
check head.stays [ "$(json_field defaultBranch)" = alpha ] "after pushing main: $KOD_LAST_BODY"

expect_status PATCH /repos/multi 200 "${J[@]}" -d '{"defaultBranch":"zeta"}'
check patch.answers-details [ "$(json_field defaultBranch)" = zeta ] "$KOD_LAST_BODY"
expect_json_field branches '["alpha","main","zeta"]'
expect_status PATCH /repos/multi 400 "${J[@]}" -d '{"defaultBranch":"nope"}'
check patch.branch-not-found [ "$(json_field error)" = "Branch not found: nope" ] "$KOD_LAST_BODY"
expect_status PATCH /repos/multi 400 "${J[@]}" -d '{"defaultBranch":7}'
expect_status PATCH /repos/multi 400 "${J[@]}" -d '{}'
expect_status PATCH /repos/multi 403 "${J[@]}" -H "Authorization: Bearer $alice" -d '{"defaultBranch":"main"}'
expect_status PATCH /repos/multi 200 "${J[@]}" -d '{"name":"multi2","defaultBranch":"main"}'
check patch.rename-and-branch [ "$(json_field name),$(json_field defaultBranch)" = multi2,main ] "$KOD_LAST_BODY"
rm -rf "$KOD_TEST_DIR/multi-clone"
kod_git clone -q "$(kod_repo_url multi2)" "$KOD_TEST_DIR/multi-clone" 2>/dev/null
check patch.clone-follows [ "$(kod_git -C "$KOD_TEST_DIR/multi-clone" symbolic-ref --short HEAD)" = main ] "clone's branch after PATCH"

# --- 3. kod-jobs stops cleanly on SIGTERM (exit 0, promptly)
jobs_pid=$KOD_JOBS_PID
KOD_JOBS_PID=""
t0=$SECONDS
kill -TERM "$jobs_pid"
jobs_rc=0
wait "$jobs_pid" || jobs_rc=$?
check jobs.sigterm-exit-0 [ "$jobs_rc" = 0 ] "kod-jobs exited with $jobs_rc after SIGTERM"
check jobs.sigterm-prompt [ $((SECONDS - t0)) -le 20 ] "kod-jobs took $((SECONDS - t0)) s to stop"
check jobs.stopped-logged grep -q 'kod-jobs.*stopped' "$KOD_TEST_DIR/log/kod-jobs.log" "no 'stopped' in kod-jobs.log"

summary
((FAILED == 0))

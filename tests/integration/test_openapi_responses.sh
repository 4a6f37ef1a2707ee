#!/usr/bin/env bash
# docs/openapi.yaml against real answers: every documented operation is called here at least
# once with success, plus its usual errors (401, 403, 404, 400, 405, 409), and every answer is
# validated against the document (status documented, body matching the schema, required
# headers present; tests/integration/openapi_validate.py --require-all-operations). HEAD and
# OPTIONS are checked on the way. A new route in docs/openapi.yaml fails this test until it is
# called here.
# shellcheck disable=SC2317 # hooks expand at exit
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

kod_stack_start
kod_on_exit on_exit_summary
KOD_TEST_SKIP_OPENAPI=1 # validated below with --require-all-operations instead

J=(-H 'Content-Type: application/json')

# --- health and tokens
expect_status GET /health 200 --noauth
expect_status GET /tokens 200
expect_status GET /limits 200
check "/limits: maxBodyBytes is 1 MiB" [ "$(json_field maxBodyBytes)" = 1048576 ] "$KOD_LAST_BODY"
expect_status GET /limits 401 --noauth
expect_status GET /tokens 401 --noauth
expect_status POST /tokens 201 "${J[@]}" -d '{"name":"reader","permissions":["repo:read"],"expiresInDays":30}'
reader=$(json_field token)
reader_id=$(json_field id)
expect_status GET /tokens 403 -H "Authorization: Bearer $reader"
expect_status GET /limits 200 -H "Authorization: Bearer $reader"
max_secret=$(json_field maxSecretBytes)
expect_status POST /tokens 400 "${J[@]}" -d '{"name":"x","permissions":["nope"]}'
expect_status POST /tokens 201 "${J[@]}" -d '{"name":"tmp"}'
tmp_id=$(json_field id)
expect_status DELETE "/tokens/$tmp_id" 204
expect_status DELETE "/tokens/$tmp_id" 404
expect_status PUT /tokens 405

# --- repositories
expect_status POST /repos 201 "${J[@]}" -d '{"name":"doc-repo"}'
expect_status POST /repos 409 "${J[@]}" -d '{"name":"doc-repo"}'
expect_status POST /repos 400 "${J[@]}" -d '{"name":"-bad"}'
expect_status POST /repos 400 "${J[@]}" -d '{"name":'
expect_status POST /repos 413 "${J[@]}" --data-binary @<(head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ')
expect_status GET /repos 200
expect_status GET /repos 200 -H "Authorization: Bearer $reader"
expect_status POST /repos 403 "${J[@]}" -H "Authorization: Bearer $reader" -d '{"name":"nope"}'
expect_status GET /repos/doc-repo 200
expect_status GET /repos/missing 404
expect_status PATCH /repos/doc-repo 403 "${J[@]}" -H "Authorization: Bearer $reader" -d '{"name":"x"}'

# A commit with a workflow, pushed over git, so branches and runs exist.
kod_git clone -q "$(kod_repo_url doc-repo)" "$KOD_TEST_DIR/clone" 2>/dev/null
mkdir -p "$KOD_TEST_DIR/clone/.kod/workflows"
printf '[step:hello]\nrun: echo hello\n\n[step:skipped]\nif: branch == '"'"'nope'"'"'\nrun: echo no\n' \
  >"$KOD_TEST_DIR/clone/.kod/workflows/build.toml"
kod_git -C "$KOD_TEST_DIR/clone" add -A
kod_git -C "$KOD_TEST_DIR/clone" commit -q -m ci
kod_git -C "$KOD_TEST_DIR/clone" push -q origin HEAD:main 2>/dev/null

# --- git smart HTTP (the bodies are git's; the content types are checked)
basic=(--noauth -u "git:$KOD_TEST_TOKEN")
expect_status GET '/repos/doc-repo.git/info/refs?service=git-upload-pack' 200 "${basic[@]}"
expect_status GET '/repos/doc-repo.git/info/refs?service=git-receive-pack' 200 "${basic[@]}"
expect_status GET '/repos/doc-repo.git/info/refs?service=git-receive-pack' 403 --noauth -u "git:$reader"
expect_status POST /repos/doc-repo.git/git-upload-pack 200 "${basic[@]}" \
  -H 'Content-Type: application/x-git-upload-pack-request' --data-binary '0000'
expect_status POST /repos/doc-repo.git/git-receive-pack 200 "${basic[@]}" \
  -H 'Content-Type: application/x-git-receive-pack-request' --data-binary '0000'
expect_status POST /repos/missing.git/git-upload-pack 404 "${basic[@]}" --data-binary '0000'

# --- collaborators
expect_status POST /repos/doc-repo/collaborators 201 "${J[@]}" -d '{"username":"alice"}'
expect_status POST /repos/doc-repo/collaborators 409 "${J[@]}" -d '{"username":"alice"}'
expect_status GET /repos/doc-repo/collaborators 200
expect_status DELETE /repos/doc-repo/collaborators/alice 204
expect_status DELETE /repos/doc-repo/collaborators/alice 404

# --- secrets
expect_status PUT /repos/doc-repo/secrets/DEPLOY_TOKEN 200 "${J[@]}" -d '{"value":"s3cr3t-value"}'
# The published limit is the enforced one: maxSecretBytes passes, one byte more does not.
head -c "$max_secret" /dev/zero | tr '\0' 'v' | python3 -c 'import json,sys; print(json.dumps({"value": sys.stdin.read()}))' >"$KOD_TEST_DIR/big.json"
expect_status PUT /repos/doc-repo/secrets/BIG 200 "${J[@]}" --data-binary @"$KOD_TEST_DIR/big.json"
head -c $((max_secret + 1)) /dev/zero | tr '\0' 'v' | python3 -c 'import json,sys; print(json.dumps({"value": sys.stdin.read()}))' >"$KOD_TEST_DIR/big.json"
expect_status PUT /repos/doc-repo/secrets/BIG 400 "${J[@]}" --data-binary @"$KOD_TEST_DIR/big.json"
expect_status PUT /repos/doc-repo/secrets/KOD_X 400 "${J[@]}" -d '{"value":"v"}'
expect_status GET /repos/doc-repo/secrets 200
expect_status DELETE /repos/doc-repo/secrets/DEPLOY_TOKEN 204
expect_status DELETE /repos/doc-repo/secrets/DEPLOY_TOKEN 404

# --- workflow runs: trigger, wait for the end, read it finished (result and steps validated)
expect_status POST /repos/doc-repo/workflows 202 "${J[@]}" -d '{"branch":"main"}'
run_id=$(json_field id)
expect_status POST /repos/doc-repo/workflows 400 "${J[@]}" -d '{"branch":"nope"}'
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
  expect_status GET "/repos/doc-repo/workflows/$run_id" 200
  st=$(json_field status)
  [[ $st == completed || $st == failed ]] && break
  sleep 0.3
done
check "run $run_id finished" [ "$st" = completed ] "status $st: $KOD_LAST_BODY"
expect_status GET "/repos/doc-repo/workflows/$run_id/logs" 200
expect_status GET "/repos/doc-repo/workflows/$run_id/logs?offset=3&follow=1" 200
expect_status GET "/repos/doc-repo/workflows/$run_id/logs?offset=x" 400
expect_status POST "/repos/doc-repo/workflows/$run_id/cancel" 409 "${J[@]}"
expect_status POST "/repos/doc-repo/workflows/$run_id/rerun" 202 "${J[@]}"
# A run that is surely not finished yet: queued behind the 5 s run a push to `slow` queues.
printf '[step:nap]\nrun: sleep 5\n' >"$KOD_TEST_DIR/clone/.kod/workflows/slow.toml"
kod_git -C "$KOD_TEST_DIR/clone" add -A
kod_git -C "$KOD_TEST_DIR/clone" commit -q -m slow
kod_git -C "$KOD_TEST_DIR/clone" push -q origin HEAD:slow 2>/dev/null
expect_status POST /repos/doc-repo/workflows 202 "${J[@]}" -d '{"branch":"slow","files":["slow.toml"]}'
expect_status POST "/repos/doc-repo/workflows/$(json_field id)/cancel" 202 "${J[@]}"
expect_status GET /workflows/status 200
expect_status GET /repos/doc-repo/workflows 200
expect_status GET '/repos/doc-repo/workflows?limit=1' 200
expect_status GET '/repos/doc-repo/workflows?limit=0' 400
expect_status GET /repos/doc-repo/workflows/zzzzzzzzzzzz 404

# --- webhooks (no receiver: the delivery stays pending or fails; the records are what is checked)
expect_status POST /repos/doc-repo/webhooks 201 "${J[@]}" -d '{"url":"https://example.invalid/hook","events":["push"],"secret":"x"}'
hook_id=$(json_field id)
expect_status POST /repos/doc-repo/webhooks 400 "${J[@]}" -d '{"url":"ftp://example.invalid/"}'
expect_status GET /repos/doc-repo/webhooks 200
kod_git -C "$KOD_TEST_DIR/clone" commit -q --allow-empty -m hook
kod_git -C "$KOD_TEST_DIR/clone" push -q origin HEAD:main 2>/dev/null
expect_status GET "/repos/doc-repo/webhooks/$hook_id/deliveries" 200
delivery_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$KOD_LAST_BODY_FILE")
expect_status GET "/repos/doc-repo/webhooks/$hook_id/deliveries?page=0" 400
expect_status POST "/repos/doc-repo/webhooks/$hook_id/deliveries/$delivery_id/retry" 202
expect_status POST "/repos/doc-repo/webhooks/$hook_id/deliveries/zzzzzzzzzzzz/retry" 404
expect_status DELETE "/repos/doc-repo/webhooks/$hook_id" 204
expect_status DELETE "/repos/doc-repo/webhooks/$hook_id" 404

# --- HEAD and OPTIONS
expect_status HEAD /health 200 --noauth
expect_status HEAD /repos/doc-repo 200
expect_status HEAD /repos/doc-repo 401 --noauth
expect_status OPTIONS /repos/doc-repo 204

# --- rename and delete last
expect_status PATCH /repos/doc-repo 200 "${J[@]}" -d '{"defaultBranch":"main"}'
expect_status PATCH /repos/doc-repo 200 "${J[@]}" -d '{"name":"doc-repo2"}'
expect_status DELETE /repos/doc-repo2 204
expect_status DELETE "/tokens/$reader_id" 204

if kod_validate_responses --require-all-operations; then ok "every documented operation answered as documented"; else bad openapi "see the FAIL lines above"; fi
summary
((FAILED == 0))

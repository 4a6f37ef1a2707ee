#!/usr/bin/env bash
# Webhooks (docs/webhooks.md) against the real stack and a local receiver
# (tests/integration/webhook_receiver.py), with webhooks.allowed_hosts = localhost:
#   1. bad input: schemes, credentials, length, refused literal addresses, events → 400; the
#      owner rule; the secret is never shown (hasSecret).
#   2. a push is delivered with headers and an HMAC-SHA256 signature that verifies; a finished run
#      sends a `workflow` event without outputs; a 500 is retried (+30 s) and then succeeds; a
#      receiver that hangs is cut at 5 s, a redirect is not followed, a gigabyte answer is not
#      read; a DNS name resolving to a refused address is not connected to.
#   3. two kod-jobs daemons: every delivery is made exactly once; redelivery queues it again.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

KOD_TEST_EXTRA_INI='[webhooks]\nallowed_hosts = localhost'
kod_stack_start
kod_on_exit on_exit_summary
J=(-H 'Content-Type: application/json')

recv_dir=$KOD_TEST_DIR/received
mkdir -p "$recv_dir"
python3 "$KOD_SOURCE/tests/integration/webhook_receiver.py" "$recv_dir" "$KOD_TEST_DIR/recv-port" &
recv_pid=$!
kod_on_exit "kill $recv_pid 2>/dev/null"
for _ in $(seq 100); do [[ -s $KOD_TEST_DIR/recv-port ]] && break; sleep 0.1; done
R="http://localhost:$(cat "$KOD_TEST_DIR/recv-port")"

# received PATH: the recorded requests to PATH, one JSON object per line.
received() {
  python3 - "$recv_dir" "$1" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")), key=lambda p: int(os.path.basename(p).split(".")[0])):
    r = json.load(open(f))
    if r["path"] == sys.argv[2]:
        print(json.dumps(r))
PY
}
# wait_received PATH N TIMEOUT: until N requests to PATH arrived.
wait_received() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    (($(received "$1" | wc -l) >= $2)) && return 0
    sleep 0.2
  done
  return 1
}
delivery_field() { # HOOK_ID FIELD: the newest delivery's field
  expect_status GET "/repos/hooks/webhooks/$1/deliveries" 200
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]; print(d.get(sys.argv[2], ""))' "$KOD_LAST_BODY_FILE" "$2"
}

# --- 1. bad input
expect_status POST /repos 201 "${J[@]}" -d '{"name":"hooks"}'
long="$R/$(head -c 2100 /dev/zero | tr '\0' a)"
for body in '{"url":"ftp://example.com/x"}' '{"url":"file:///etc/passwd"}' '{"url":"example.com/x"}' \
  '{"url":"http://u:p@example.com/x"}' "{\"url\":\"$long\"}" '{"url":"http://10.1.2.3/x"}' \
  '{"url":"http://127.0.0.1/x"}' '{"url":"http://[::1]/x"}' '{"url":"http://169.254.169.254/x"}' \
  '{"url":"http://[::ffff:127.0.0.1]/x"}' '{}' '{"url":7}'; do
  expect_status POST /repos/hooks/webhooks 400 "${J[@]}" -d "$body"
done
for ev in '[]' '"push"' '["push","nope"]' '[1]'; do
  expect_status POST /repos/hooks/webhooks 400 "${J[@]}" -d "{\"url\":\"$R/ok\",\"events\":$ev}"
  check "bad-events.$ev" [ "$(json_field error)" = "Invalid webhook events" ] "$KOD_LAST_BODY"
done
expect_status POST /tokens 201 "${J[@]}" -d '{"name":"w","permissions":["webhook:read","webhook:write"]}'
other=$(json_field token)
expect_status GET /repos/hooks/webhooks 403 -H "Authorization: Bearer $other"
check owner-rule has "$KOD_LAST_BODY" "Only the repository owner" "$KOD_LAST_BODY"
expect_status POST /tokens 201 "${J[@]}" -d '{"name":"r","permissions":["repo:read"]}'
expect_status GET /repos/hooks/webhooks 403 -H "Authorization: Bearer $(json_field token)"

# --- 2. deliveries
expect_status POST /repos/hooks/webhooks 201 "${J[@]}" -d "{\"url\":\"$R/ok\",\"events\":[\"workflow\",\"push\"],\"secret\":\"s3cret\"}"
ok_id=$(json_field id)
check record.has-secret [ "$(json_field hasSecret)" = true ] "$KOD_LAST_BODY"
check record.no-secret lacks "$KOD_LAST_BODY" s3cret "$KOD_LAST_BODY"
check record.events [ "$(json_field events)" = '["push","workflow"]' ] "$KOD_LAST_BODY"
for path in flaky hang redirect big; do
  expect_status POST /repos/hooks/webhooks 201 "${J[@]}" -d "{\"url\":\"$R/$path\"}"
  declare "hook_$path=$(json_field id)"
done
# A name that resolves to a loopback address but is not the allowed name.
alias_name=$(hostname)
getent ahostsv4 "$alias_name" 2>/dev/null | grep -q '^127\.' || alias_name=localhost.
expect_status POST /repos/hooks/webhooks 201 "${J[@]}" -d "{\"url\":\"http://$alias_name:$(cat "$KOD_TEST_DIR/recv-port")/dns\"}"
hook_dns=$(json_field id)
expect_status GET /repos/hooks/webhooks 200
check list.six [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$KOD_LAST_BODY_FILE")" = 6 ] "$KOD_LAST_BODY"

kod_git clone -q "$(kod_repo_url hooks)" "$KOD_TEST_DIR/hooks" 2>/dev/null
mkdir -p "$KOD_TEST_DIR/hooks/.kod/workflows"
printf '[step:hello]\nrun: echo secret-output\n' >"$KOD_TEST_DIR/hooks/.kod/workflows/ci.toml"
kod_git -C "$KOD_TEST_DIR/hooks" add -A
kod_git -C "$KOD_TEST_DIR/hooks" commit -q -m ci
push_t=$(date +%s.%N)
kod_git -C "$KOD_TEST_DIR/hooks" push -q origin HEAD:main 2>/dev/null
sha=$(kod_git -C "$KOD_TEST_DIR/hooks" rev-parse HEAD)

wait_received /ok 1 30 || fail "no push delivery within 30 s"
push_req=$(received /ok | python3 -c 'import json,sys
push = [l.strip() for l in sys.stdin if json.loads(json.loads(l)["body"])["event"] == "push"]
print(push[0] if push else "{}")')
python3 - "$push_req" "$sha" "$push_t" <<'PY' >"$KOD_TEST_DIR/push-checks" || true
import hashlib, hmac, json, sys
r = json.loads(sys.argv[1]); h = {k.lower(): v for k, v in r["headers"].items()}; b = json.loads(r["body"])
sig = "sha256=" + hmac.new(b"s3cret", r["body"].encode(), hashlib.sha256).hexdigest()
print("signature", h.get("x-kod-signature-256") == sig)
print("event-header", h.get("x-kod-event") == "push" and b["event"] == "push")
print("delivery-id", h.get("x-kod-delivery") == b["deliveryId"] and len(b["deliveryId"]) == 12)
print("content-type", h.get("content-type") == "application/json")
print("user-agent", h.get("user-agent", "").startswith("Kod-Webhooks/"))
ref = b["refs"][0]
print("refs", ref == {"ref": "refs/heads/main", "before": "0" * 40, "after": sys.argv[2], "created": True, "deleted": False, "forced": False})
print("repository", b["repository"] == {"name": "hooks"} and "tokenId" in b["pusher"])
print("latency", r["at"] - float(sys.argv[3]) < 10)
PY
while read -r name result; do check "push.$name" [ "$result" = True ] "$push_req"; done <"$KOD_TEST_DIR/push-checks"
check push.checks-ran [ "$(wc -l <"$KOD_TEST_DIR/push-checks")" = 8 ] "receiver checks did not run: $push_req"

wait_received /ok 2 60 || fail "no workflow delivery within 60 s"
wf=$(received /ok | python3 -c 'import json,sys
for l in sys.stdin:
    b = json.loads(json.loads(l)["body"])
    if b["event"] == "workflow": print(json.dumps(b))')
check workflow.event has "$wf" '"status": "completed"' "$wf"
check workflow.no-output lacks "$wf" 'secret-output' "$wf"
check workflow.no-output-field lacks "$wf" '"output"' "$wf"

# A receiver that hangs: cut at 5 s; a redirect: not followed; a gigabyte: not read.
wait_received /hang 1 30 || fail "no attempt at /hang"
sleep 7
check hang.cut has "$(delivery_field "$hook_hang" error)" "imeout" "hang delivery: $KOD_LAST_BODY"
check hang.bounded [ "$(delivery_field "$hook_hang" durationMs)" -lt 10000 ] "$KOD_LAST_BODY"
check redirect.status [ "$(delivery_field "$hook_redirect" responseStatus)" = 302 ] "$KOD_LAST_BODY"
check redirect.pending [ "$(delivery_field "$hook_redirect" status)" = pending ] "$KOD_LAST_BODY"
check redirect.not-followed [ -z "$(received /target)" ] "/target was requested"
check big.success [ "$(delivery_field "$hook_big" status)" = success ] "$KOD_LAST_BODY"
check big.quick [ "$(delivery_field "$hook_big" durationMs)" -lt 5000 ] "$KOD_LAST_BODY"
check dns.refused has "$(delivery_field "$hook_dns" error)" "loopback" "$KOD_LAST_BODY"
check dns.not-connected [ -z "$(received /dns)" ] "the receiver got a request through $alias_name"

# The 500 is retried about 30 s later and then succeeds.
check flaky.first-500 [ "$(delivery_field "$hook_flaky" responseStatus)" = 500 ] "$KOD_LAST_BODY"
if wait_received /flaky 2 75; then ok flaky.retried; else bad flaky.retried "no second attempt within 75 s"; fi
sleep 1
check flaky.success [ "$(delivery_field "$hook_flaky" status),$(delivery_field "$hook_flaky" attempts)" = success,2 ] "$KOD_LAST_BODY"
gap=$(received /flaky | python3 -c 'import json,sys; t=[json.loads(l)["at"] for l in sys.stdin]; print(int(t[1]-t[0]))')
check flaky.backoff [ "$gap" -ge 25 ] "second attempt after $gap s, want about 30"

# Redelivery: the same id again.
d_id=$(delivery_field "$ok_id" id)
expect_status POST "/repos/hooks/webhooks/$ok_id/deliveries/$d_id/retry" 202
check redeliver.pending [ "$(json_field status)" = pending ] "$KOD_LAST_BODY"
expect_status POST "/repos/hooks/webhooks/$ok_id/deliveries/nope/retry" 404
expect_status GET "/repos/hooks/webhooks/$ok_id/deliveries?per_page=1" 200
check deliveries.paged [ -n "$(grep -i '^link:' "$KOD_LAST_HEADERS_FILE")" ] "no Link header"
expect_status DELETE "/repos/hooks/webhooks/$hook_hang" 204
expect_status DELETE "/repos/hooks/webhooks/$hook_hang" 404

# --- 3. exactly once with two kod-jobs
kod_jobs_start kod-jobs2
jobs2=$KOD_SPAWNED_PID
kod_on_exit "kod_stop_pid $jobs2 TERM 30"
expect_status POST /repos 201 "${J[@]}" -d '{"name":"many"}'
expect_status POST /repos/many/webhooks 201 "${J[@]}" -d "{\"url\":\"$R/count\"}"
kod_git clone -q "$(kod_repo_url many)" "$KOD_TEST_DIR/many" 2>/dev/null
for i in $(seq 12); do
  kod_git -C "$KOD_TEST_DIR/many" commit -q --allow-empty -m "c$i"
  kod_git -C "$KOD_TEST_DIR/many" push -q origin "HEAD:refs/heads/b$i" 2>/dev/null
done
wait_received /count 12 60 || bad once.all-delivered "$(received /count | wc -l) of 12 within 60 s"
sleep 2
ids=$(received /count | python3 -c 'import json,sys; ids=[json.loads(json.loads(l)["body"])["deliveryId"] for l in sys.stdin]; print(len(ids), len(set(ids)))')
check once.exactly [ "$ids" = "12 12" ] "requests, distinct ids: $ids"

summary
((FAILED == 0))

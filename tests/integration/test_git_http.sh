#!/usr/bin/env bash
# Git over HTTP with the real git client, through nginx (nginx/kod.conf) and kod-fcgi's bridge to
# `git http-backend` (issue 5, docs/api.md#git-over-http, docs/access.md, docs/platform-notes.md#git-http-backend):
#   - clone of an empty repository, push, fetch (new commits appear), `--depth 1` clone,
#     `git -c protocol.version=2 ls-remote` ("version 2" in GIT_TRACE_PACKET), no credentials → 401
#   - clone of a repository with 100 branches (made by one `git fast-import`): all 100 refs arrive;
#     whether git gzip-encoded the upload-pack request is printed (GIT_TRACE_CURL), not required
#   - a 50 MB push with http.postBuffer=65536 goes chunked (Transfer-Encoding: chunked in
#     GIT_TRACE_CURL) and a clone gives back a file with the same sha256
#   - a client killed (SIGSTOP, then SIGKILL of its whole process group) mid-clone: within 10 s no
#     http-backend / upload-pack / pack-objects process is left below $KOD_FCGI_PID, and the server
#     still serves a clone
#   - a `repo:read` token cannot push (git fails, 403, refs unchanged) but can fetch; a linked
#     token that is not a collaborator gets 404 (and can clone the repository it collaborates on)
#   - 8 concurrent pushes to 8 branches of one repository all land; `git fsck` on the server is clean
#   - small pushes (which git's default receive.unpackLimit would explode into > 256 loose
#     objects) report no errors, leave no loose objects behind, and a clone still works
# Each check prints "ok NAME" or "FAIL NAME: reason"; the last line is "N passed, M failed".
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$0")/checks.sh"

T_START=$SECONDS
kod_stack_start
kod_on_exit on_exit_summary
info "stack up in $((SECONDS - T_START)) s at $KOD_TEST_URL"

C=$KOD_TEST_DIR/client # everything client-side
mkdir -p "$C"
g() { kod_git_timeout "$@"; }
fcgi_git_children() { kod_fcgi_descendants; }

server_refs() { git -C "$KOD_TEST_DIR/repos/$1.git" for-each-ref --format='%(objectname) %(refname)' 2>&1; }

new_repo() { expect_status POST /repos 201 -d "{\"name\":\"$1\"}"; }

# --- 1. empty clone, push, fetch, --depth 1, protocol v2 ------------------------------------------
new_repo alpha
URL=$(kod_repo_url alpha)
if out=$(g 60 clone "$URL" "$C/a1" 2>&1) && [[ -d $C/a1/.git ]]; then
  if [[ -z $(git -C "$C/a1" for-each-ref) ]]; then
    ok "clone of an empty repository"
  else
    bad empty-clone "refs in a clone of an empty repository: $(git -C "$C/a1" for-each-ref)"
  fi
else
  bad empty-clone "git clone failed: $out"
fi

mkdir -p "$C/a1"
(cd "$C/a1" && echo one >one.txt && kod_git add one.txt && kod_git commit -qm one &&
  echo two >two.txt && kod_git add two.txt && kod_git commit -qm two &&
  echo three >three.txt && kod_git add three.txt && kod_git commit -qm three) >/dev/null
head_a=$(git -C "$C/a1" rev-parse HEAD)
if out=$(g 60 -C "$C/a1" push "$URL" main 2>&1); then
  srv=$(git -C "$KOD_TEST_DIR/repos/alpha.git" rev-parse refs/heads/main 2>&1 || true)
  if [[ $srv == "$head_a" ]]; then ok "push"; else bad push "server main is '$srv', pushed $head_a"; fi
else
  bad push "git push failed: $out"
fi

if out=$(g 60 clone -q "$URL" "$C/a2" 2>&1); then
  (cd "$C/a1" && echo four >four.txt && kod_git add four.txt && kod_git commit -qm four) >/dev/null
  head_a=$(git -C "$C/a1" rev-parse HEAD)
  if ! out=$(g 60 -C "$C/a1" push "$URL" main 2>&1); then
    bad fetch "second push failed: $out"
  elif ! out=$(g 60 -C "$C/a2" fetch origin 2>&1); then
    bad fetch "git fetch failed: $out"
  else
    got=$(git -C "$C/a2" rev-parse refs/remotes/origin/main)
    if [[ $got == "$head_a" ]] && git -C "$C/a2" cat-file -e "$head_a:four.txt"; then
      ok "fetch (new commit $head_a arrived)"
    else
      bad fetch "origin/main is $got after fetch, expected $head_a"
    fi
  fi
else
  bad fetch "clone for the fetch test failed: $out"
fi

if out=$(g 60 clone -q --depth 1 "$URL" "$C/a3" 2>&1); then
  n=$(git -C "$C/a3" rev-list --count HEAD)
  h=$(git -C "$C/a3" rev-parse HEAD)
  if [[ $n == 1 && $h == "$head_a" && -f $C/a3/.git/shallow && -f $C/a3/four.txt ]]; then
    ok "--depth 1 clone (1 commit, shallow, HEAD $h)"
  else
    bad depth1 "commits=$n HEAD=$h (expected 1 and $head_a), shallow file: $([[ -f $C/a3/.git/shallow ]] && echo yes || echo no)"
  fi
else
  bad depth1 "git clone --depth 1 failed: $out"
fi

if out=$(GIT_TRACE_PACKET=1 g 60 -c protocol.version=2 ls-remote "$URL" 2>"$C/v2.trace"); then
  if grep -q 'version 2' "$C/v2.trace" && grep -qP "^$head_a\trefs/heads/main$" <<<"$out" &&
    grep -qP "^$head_a\tHEAD$" <<<"$out"; then
    ok "protocol v2 ls-remote (server answered 'version 2'; HEAD and refs/heads/main listed)"
  else
    bad ls-remote-v2 "no 'version 2' in GIT_TRACE_PACKET or refs missing; refs: $out; trace: $(grep -m3 'version' "$C/v2.trace" || true)"
  fi
else
  bad ls-remote-v2 "ls-remote failed: $(tail -5 "$C/v2.trace")"
fi

# No credentials: 401 (git, with prompts disabled, then gives up).
noauth_url=$KOD_TEST_URL/repos/alpha.git
if GIT_TRACE_CURL=$C/noauth.trace GIT_TRACE_CURL_NO_DATA=1 g 30 ls-remote "$noauth_url" >/dev/null 2>&1; then
  bad no-credentials "ls-remote without credentials succeeded"
elif grep -q '<= Recv header: HTTP/1.1 401' "$C/noauth.trace" &&
  grep -qi '<= Recv header: WWW-Authenticate: Basic realm="Kod"' "$C/noauth.trace"; then
  ok "no credentials: 401 with WWW-Authenticate: Basic realm=\"Kod\""
else
  bad no-credentials "expected 401 + WWW-Authenticate; got: $(grep -m3 'Recv header: HTTP/' "$C/noauth.trace" || true)"
fi

# --- 2. 100 branches ----------------------------------------------------------------------------------
new_repo branches
kod_git init -q "$C/b100"
python3 - >"$C/b100.fi" <<'PY'
import sys
out = ["blob\nmark :1\ndata 6\nhello\n"]
for i in range(100):
    msg = f"branch {i}\n"
    out.append(f"commit refs/heads/b{i:03d}\ncommitter Kod Test <t@example.invalid> {1700000000 + i} +0000\n"
               f"data {len(msg)}\n{msg}M 100644 :1 f{i:03d}.txt\n\n")
sys.stdout.write("".join(out))
PY
(cd "$C/b100" && HOME=$KOD_TEST_DIR/git-home GIT_CONFIG_NOSYSTEM=1 git fast-import --quiet <"$C/b100.fi")
local_refs=$(git -C "$C/b100" for-each-ref --format='%(objectname) %(refname)' refs/heads | sort)
[[ $(wc -l <<<"$local_refs") == 100 ]] || fail "fast-import made $(wc -l <<<"$local_refs") branches, not 100"
if ! out=$(g 90 -C "$C/b100" push "$(kod_repo_url branches)" 'refs/heads/*:refs/heads/*' 2>&1); then
  bad branches100 "push of 100 branches failed: ${out:0:500}"
else
  rm -f "$C/b100.trace"
  if out=$(GIT_TRACE_CURL=$C/b100.trace GIT_TRACE_CURL_NO_DATA=1 g 90 clone -q --no-checkout \
    "$(kod_repo_url branches)" "$C/b100c" 2>&1); then
    got=$(git -C "$C/b100c" for-each-ref --format='%(objectname) %(refname)' refs/remotes/origin |
      grep -v 'refs/remotes/origin/HEAD$' | sed 's|refs/remotes/origin/|refs/heads/|' | sort)
    if [[ $got == "$local_refs" ]]; then
      ok "clone of a repository with 100 branches (all 100 refs arrived with the right commits)"
    else
      bad branches100 "refs differ: $(diff <(echo "$local_refs") <(echo "$got") | head -5)"
    fi
    if awk '/=> Send header: POST .*git-upload-pack/ {p = 1; next} /=> Send header: [A-Z]+ \// {p = 0}
            p && tolower($0) ~ /=> send header: content-encoding: gzip/ {found = 1} END {exit !found}' "$C/b100.trace"; then
      info "the client gzip-encoded an upload-pack request (Content-Encoding: gzip) and the server took it"
    else
      info "the client did not gzip any upload-pack request this time (not an error)"
    fi
  else
    bad branches100 "clone failed: ${out:0:500}"
  fi
fi

# --- 3. 50 MB push, chunked, and clone ---------------------------------------------------------------
new_repo big
kod_git init -q "$C/big"
head -c 50M /dev/urandom >"$C/big/big.bin"
big_sum=$(sha256sum "$C/big/big.bin" | cut -d' ' -f1)
(cd "$C/big" && kod_git add big.bin && kod_git commit -qm big) >/dev/null
rm -f "$C/big/big.bin" # the commit has it; saves disk
t0=$SECONDS
if out=$(GIT_TRACE_CURL=$C/big.trace GIT_TRACE_CURL_NO_DATA=1 g 120 -C "$C/big" -c http.postBuffer=65536 \
  push "$(kod_repo_url big)" main 2>&1); then
  info "50 MB push took $((SECONDS - t0)) s"
  if grep -qi '=> Send header: Transfer-Encoding: chunked' "$C/big.trace"; then
    ok "50 MB push with http.postBuffer=65536 (sent with Transfer-Encoding: chunked)"
  else
    bad push-50mb "the push succeeded but no request was sent chunked: $(grep -i 'Send header: \(POST\|Content-Length\|Transfer\)' "$C/big.trace" | head -6)"
  fi
  t0=$SECONDS
  if out=$(g 120 clone -q "$(kod_repo_url big)" "$C/bigc" 2>&1); then
    info "50 MB clone took $((SECONDS - t0)) s"
    got_sum=$(sha256sum "$C/bigc/big.bin" 2>/dev/null | cut -d' ' -f1)
    if [[ $got_sum == "$big_sum" ]]; then
      ok "clone of the 50 MB repository (sha256 matches)"
    else
      bad clone-50mb "sha256 $got_sum, expected $big_sum"
    fi
    rm -rf "$C/bigc"
  else
    bad clone-50mb "clone failed: ${out:0:500}"
  fi
else
  bad push-50mb "git push failed: ${out:0:500}"
fi

# --- 4. client killed mid-clone ----------------------------------------------------------------------
# timeout(1) makes its own process group, so the whole client (git clone, git-remote-http,
# index-pack) is stopped and killed as one.
leftover=$(fcgi_git_children)
[[ -z $leftover ]] || info "git processes below kod-fcgi before the kill test: $leftover"
# Not kod_git_timeout: $! must be timeout's own pid (and so its process group).
# shellcheck disable=SC2016 # expanded by the inner bash
timeout -k 5 120 bash -c "$(declare -f kod_git)"'; kod_git clone -q "$1" "$2"' kod_git "$(kod_repo_url big)" \
  "$C/bigk" >"$C/bigk.log" 2>&1 &
kpid=$!
received=0
for ((i = 0; i < 1500; i++)); do # 30 s
  s=$(du -sb "$C/bigk/.git/objects/pack" 2>/dev/null | cut -f1 || true)
  if ((${s:-0} > 1048576)); then received=$s; break; fi
  kod_pid_alive "$kpid" || break
  sleep 0.02
done
if ((received == 0)); then
  bad kill-mid-clone "the clone never started receiving (or ended first): $(cat "$C/bigk.log")"
  kill -KILL -- -"$kpid" 2>/dev/null || true
  wait "$kpid" 2>/dev/null || true
else
  kill -STOP -- -"$kpid" # a reader that stopped reading: git on the server blocks writing
  sleep 1
  inflight=$(fcgi_git_children)
  kill -KILL -- -"$kpid" 2>/dev/null || true
  wait "$kpid" 2>/dev/null || true
  if [[ -z $inflight ]]; then
    bad kill-mid-clone "after $received bytes no git process ran below kod-fcgi: the clone was not in flight"
  else
    info "in flight when the client was killed ($received bytes received): $(awk '{print $2, $3}' <<<"$inflight" | tr '\n' ';')"
    t0=$(date +%s%N)
    left=$inflight
    for ((i = 0; i < 100; i++)); do # 10 s
      left=$(fcgi_git_children)
      [[ -z $left ]] && break
      sleep 0.1
    done
    if [[ -z $left ]]; then
      ok "client killed mid-clone: no git process left below kod-fcgi after $((($(date +%s%N) - t0) / 1000000)) ms"
    else
      bad kill-mid-clone "10 s after the client was killed these are still running: $left"
    fi
  fi
fi
rm -rf "$C/bigk"
if out=$(g 120 clone -q "$(kod_repo_url big)" "$C/bigc2" 2>&1) &&
  [[ $(sha256sum "$C/bigc2/big.bin" | cut -d' ' -f1) == "$big_sum" ]]; then
  ok "the server still serves the 50 MB clone after the killed one"
else
  bad clone-after-kill "clone failed or differs: ${out:0:500}"
fi
rm -rf "$C/bigc2"

# --- 5. repo:read token cannot push; linked non-collaborator gets 404 --------------------------------
expect_status POST /tokens 201 -d '{"name":"reader","permissions":["repo:read"]}'
RO=$(json_field token)
before=$(server_refs alpha)
(cd "$C/a1" && echo five >five.txt && kod_git add five.txt && kod_git commit -qm five) >/dev/null
if out=$(GIT_TRACE_CURL=$C/ro.trace GIT_TRACE_CURL_NO_DATA=1 g 60 -C "$C/a1" push "$(kod_repo_url alpha "$RO")" main 2>&1); then
  bad ro-push "a repo:read token pushed: $out"
else
  after=$(server_refs alpha)
  if [[ $out != *403* ]]; then
    bad ro-push "git failed but its stderr does not mention 403: $out"
  elif [[ $after != "$before" ]]; then
    bad ro-push "refs changed: before '$before', after '$after'"
  else
    ok "repo:read token: push refused (403), refs unchanged"
  fi
fi
if out=$(g 60 ls-remote "$(kod_repo_url alpha "$RO")" 2>&1) && [[ $out == *refs/heads/main* ]]; then
  ok "repo:read token can still fetch (ls-remote)"
else
  bad ro-fetch "ls-remote with a repo:read token failed: $out"
fi

new_repo other
expect_status POST /repos/other/collaborators 201 -d '{"username":"linkeduser"}'
expect_status POST /tokens 201 -d '{"name":"linked","username":"linkeduser","permissions":["repo:read","repo:write"]}'
LINKED=$(json_field token)
if out=$(GIT_TRACE_CURL=$C/linked.trace GIT_TRACE_CURL_NO_DATA=1 g 60 clone "$(kod_repo_url alpha "$LINKED")" "$C/linked" 2>&1); then
  bad linked-404 "a linked non-collaborator cloned alpha"
else
  codes=$(grep -o '<= Recv header: HTTP/1.1 [0-9]*' "$C/linked.trace" | awk '{print $NF}' | tr '\n' ' ')
  if [[ " $codes" == *" 404 "* && " $codes" != *" 200 "* && $out == *"not found"* ]]; then
    ok "linked non-collaborator: clone refused with 404 (statuses: ${codes% })"
  else
    bad linked-404 "statuses '$codes', git said: $out"
  fi
fi
if out=$(g 60 clone -q "$(kod_repo_url other "$LINKED")" "$C/linked-other" 2>&1); then
  ok "the linked token clones the repository it collaborates on"
else
  bad linked-collaborator "clone of 'other' with the linked token failed: $out"
fi

# --- 6. 8 concurrent pushes to 8 branches -------------------------------------------------------------
new_repo conc
kod_git init -q "$C/conc"
(cd "$C/conc" && echo base >base.txt && kod_git add base.txt && kod_git commit -qm base) >/dev/null
g 60 -C "$C/conc" push -q "$(kod_repo_url conc)" main >/dev/null 2>&1 || fail "initial push to conc failed"
declare -A want
for n in 1 2 3 4 5 6 7 8; do
  (cd "$C/conc" && kod_git checkout -q -b "c$n" main && head -c 100000 /dev/urandom >"f$n.bin" &&
    kod_git add "f$n.bin" && kod_git commit -qm "c$n") >/dev/null
  want[c$n]=$(git -C "$C/conc" rev-parse "c$n")
done
pids=()
for n in 1 2 3 4 5 6 7 8; do
  g 90 -C "$C/conc" push "$(kod_repo_url conc)" "c$n:refs/heads/c$n" >"$C/conc-$n.log" 2>&1 &
  pids+=($!)
done
push_fail=""
for n in 1 2 3 4 5 6 7 8; do
  wait "${pids[n - 1]}" || push_fail+=" c$n: $(tr '\n' ' ' <"$C/conc-$n.log");"
done
if [[ -n $push_fail ]]; then
  bad concurrent-push "failed pushes:$push_fail"
else
  remote=$(g 60 ls-remote "$(kod_repo_url conc)" 2>&1 || true)
  absent=""
  for n in 1 2 3 4 5 6 7 8; do
    grep -qP "^${want[c$n]}\trefs/heads/c$n$" <<<"$remote" || absent+=" c$n"
  done
  if [[ -z $absent ]]; then
    ok "8 concurrent pushes to 8 branches: all landed (ls-remote)"
  else
    bad concurrent-push "missing or wrong in ls-remote:$absent; ls-remote: $remote"
  fi
fi
if out=$(git -C "$KOD_TEST_DIR/repos/conc.git" fsck --full --strict --no-progress 2>&1); then
  if grep -qiE 'error|missing|broken|corrupt|bad ' <<<"$out"; then
    bad fsck "git fsck exited 0 but reported: $out"
  else
    ok "git fsck --full --strict on the server's bare repository is clean"
  fi
else
  bad fsck "git fsck failed: $out"
fi

# --- 7. many small pushes: no loose objects -------------------------------------------------------
# With git's default receive.unpackLimit (100), four pushes of 80 blobs (+ tree, commit) would
# leave 328 loose objects, which slow every later clone. The bridge sets receive.unpackLimit=1, so
# each push stays a pack; if it did not, git's gc --auto (which estimates the loose count from
# objects/17/; the last push carries two blobs with that prefix) would have to repack them: either
# way no more than a handful of loose objects may remain.
new_repo gcrepo
kod_git init -q "$C/gc"
python3 - "$C/gc" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
def oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
for batch in range(4):
    d = os.path.join(root, f"batch{batch}")
    os.makedirs(d)
    want17 = 2 if batch == 3 else 0
    made = n17 = 0
    nonce = 0
    while made < 80:
        data = f"batch {batch} file {made} nonce {nonce} {os.urandom(8).hex()}\n".encode()
        nonce += 1
        is17 = oid(data).startswith("17")
        if is17 and n17 >= want17:
            continue
        if not is17 and (80 - made) <= (want17 - n17):
            continue
        n17 += is17
        with open(os.path.join(d, f"f{made:03d}.txt"), "wb") as f:
            f.write(data)
        made += 1
PY
gc_dir=$KOD_TEST_DIR/repos/gcrepo.git
gc_errors=""
push_times=""
for b in 0 1 2 3; do
  (cd "$C/gc" && kod_git add "batch$b" && kod_git commit -qm "batch $b") >/dev/null
  t0=$(date +%s%N)
  if out=$(g 60 -C "$C/gc" push "$(kod_repo_url gcrepo)" main 2>&1); then
    push_times+=" $((($(date +%s%N) - t0) / 1000000))ms"
    if grep -qiE 'error|fatal|warning' <<<"$out"; then gc_errors+=" push $b: $out;"; fi
    [[ $b == 3 ]] && last_push_out=$out
  else
    gc_errors+=" push $b failed: $out;"
  fi
done
if [[ -n $gc_errors ]]; then
  bad gc-pushes "$gc_errors"
else
  ok "4 small pushes (328 objects) reported no errors (times:$push_times)"
  grep -qi 'auto packing' <<<"$last_push_out" && info "the last push said: $(grep -i 'auto packing' <<<"$last_push_out" | head -1)"
fi
loose=""
for ((i = 0; i < 300; i++)); do # 30 s
  loose=$(git -C "$gc_dir" count-objects -v 2>/dev/null | awk '$1 == "count:" {print $2}')
  if ((loose < 10)) && [[ ! -e $gc_dir/gc.pid ]]; then break; fi
  sleep 0.1
done
packs=$(git -C "$gc_dir" count-objects -v 2>/dev/null | awk '$1 == "packs:" {print $2}')
if ((loose < 10)) && ((packs >= 1)); then
  ok "no loose objects piled up (loose now $loose, packs $packs)"
else
  bad loose-objects "30 s after the last push: $loose loose objects, $packs packs"
fi
if [[ -s $gc_dir/gc.log ]]; then bad gc-log "gc.log: $(head -c 500 "$gc_dir/gc.log")"; fi
head_gc=$(git -C "$C/gc" rev-parse HEAD)
if out=$(g 60 clone -q "$(kod_repo_url gcrepo)" "$C/gcc" 2>&1) &&
  [[ $(git -C "$C/gcc" rev-parse HEAD) == "$head_gc" ]] &&
  [[ $(git -C "$C/gcc" ls-files | wc -l) == 320 ]]; then
  ok "clone after gc (HEAD and 320 files)"
else
  bad clone-after-gc "${out:0:500}"
fi

# --- end: nothing left behind ------------------------------------------------------------------------
sleep 0.5
left=$(fcgi_git_children)
if [[ -z $left ]]; then ok "no git process left below kod-fcgi"; else bad leftovers "$left"; fi
if grep -qiE 'waitpid.*failed|bridge failed' "$KOD_TEST_DIR/log/kod-fcgi.log"; then
  bad fcgi-log "$(grep -iE 'waitpid.*failed|bridge failed' "$KOD_TEST_DIR/log/kod-fcgi.log" | head -3)"
fi

info "total $((SECONDS - T_START)) s"
summary
((FAILED == 0))

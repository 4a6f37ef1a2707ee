#!/usr/bin/env bash
# nginx/*.conf, the snippets operators include (docs/nginx.md), in both layouts:
#   1. `nginx -t` accepts them inside a wrapper config in a temp prefix: the dedicated layout
#      (kod.conf at server level) as shipped and included in two server blocks, and the prefix
#      layout beside a static site (kod-prefix.conf); broken copies are rejected (so this test
#      can fail);
#   2. static: no fastcgi_param repeats one of /etc/nginx/fastcgi_params (the first value would
#      win), the git locations stream, kod-prefix.conf has no `location /`, no log format records
#      $remote_user or the Authorization header;
#   3. behaviour, through a real nginx and a small FastCGI echo responder: the params the
#      application relies on (REQUEST_ID too), raw REQUEST_URI, large and chunked git bodies
#      streamed through without a size limit, API bodies over 1 MiB reaching the app, git
#      responses streamed; every error nginx raises itself in the dedicated layout (%00,
#      headers over 8 KiB, TRACE, a body over 4 MiB, no upstream) is JSON with the CORS header;
#      a token sent as the Basic username never reaches the access log;
#   4. the prefix layout: the static site at /, Kod's paths under /git with their own errors
#      as JSON, errors raised before a location is chosen left to the host site.
# Needs nginx and python3 only (not the Kod binaries).
set -euo pipefail

KOD_SOURCE=${KOD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=scripts/lib.sh
source "$KOD_SOURCE/scripts/lib.sh"

work=$(mktemp -d /tmp/kod-it.nginx.XXXXXX)
chmod 0711 "$work"
failures=0
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do kod_stop_pid "$p" TERM 5; done
  if ((rc != 0 || failures)); then kod_tail_logs "$work"/log/*.log "$work"/echo.log; fi
  if [[ ${KOD_TEST_KEEP:-0} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
passed=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; passed=$((passed + 1)); }

# nginx_t PREFIX: `nginx -t` on PREFIX/nginx.conf.
nginx_t() { nginx -t -q -p "$1/" -c "$1/nginx.conf" -e "$1/test-error.log" 2>&1; }

# --- 1. nginx -t --------------------------------------------------------------------------------
# As shipped: the wrapper includes the unmodified snippets (socket /run/kod/fcgi.sock; nginx -t
# does not need the socket to exist), apart from the access log path.
mkdir -p "$work/shipped"
kod_nginx_write_conf "$work/shipped" 127.0.0.1:1 /run/kod/fcgi.sock "$work/shipped/nginx.pid" "$work/shipped/log"
for f in "$KOD_SOURCE"/nginx/*.conf; do
  sed "s|/var/log/nginx/|$work/shipped/log/|g" "$f" | cmp -s - "$work/shipped/snippets/${f##*/}" ||
    fail "the wrapper's copy of ${f##*/} differs from nginx/${f##*/} beyond the log path"
done
if out=$(nginx_t "$work/shipped"); then ok "nginx -t accepts the dedicated layout (kod.conf) as shipped"; else fail "nginx -t rejects kod.conf: $out"; fi

# Included twice in one http block (two server blocks, e.g. HTTP and HTTPS) must work too.
sed -i 's|^  server {|  server { listen 127.0.0.1:2; include snippets/kod.conf; }\n  server {|' "$work/shipped/nginx.conf"
if out=$(nginx_t "$work/shipped"); then ok "kod.conf can be included in two server blocks"; else fail "two server blocks: $out"; fi

mkdir -p "$work/shipped-prefix"
kod_nginx_write_conf "$work/shipped-prefix" 127.0.0.1:1 /run/kod/fcgi.sock "$work/shipped-prefix/nginx.pid" \
  "$work/shipped-prefix/log" prefix:/git
if out=$(nginx_t "$work/shipped-prefix"); then ok "nginx -t accepts the prefix layout (kod-prefix.conf beside a static site)"; else fail "nginx -t rejects kod-prefix.conf: $out"; fi

# Broken copies must fail.
broken() { # NAME FILE SED-EXPRESSION
  local d=$work/broken-$1 out
  mkdir -p "$d"
  kod_nginx_write_conf "$d" 127.0.0.1:1 /run/kod/fcgi.sock "$d/nginx.pid" "$d/log"
  sed -i "$3" "$d/snippets/$2"
  if out=$(nginx_t "$d"); then fail "broken copy '$1' passed nginx -t"; else ok "broken copy '$1' fails nginx -t (${out%%$'\n'*})"; fi
}
broken unknown-directive kod-fastcgi.conf 's|^fastcgi_keep_conn off;|fastcgi_keep_conn off; bogus_directive on;|'
broken buffers-too-small kod-fastcgi.conf 's|fastcgi_buffer_size 32k;|fastcgi_buffer_size 256k;|'
broken unbalanced kod.conf 's|^}$||'

# --- 2. static checks ---------------------------------------------------------------------------
mapfile -t std_params < <(awk '$1 == "fastcgi_param" {print $2}' /etc/nginx/fastcgi_params)
while read -r name; do
  for p in "${std_params[@]}"; do
    [[ $name == "$p" ]] && fail "nginx/ sets fastcgi_param $name, which fastcgi_params already sets"
  done
done < <(cat "$KOD_SOURCE"/nginx/*.conf | awk '$1 == "fastcgi_param" {print $2}')
grep -q '^include /etc/nginx/fastcgi_params;' "$KOD_SOURCE/nginx/kod-fastcgi.conf" ||
  fail "kod-fastcgi.conf must include /etc/nginx/fastcgi_params (absolute path)"
for d in 'client_max_body_size 0;' 'fastcgi_request_buffering off;' 'fastcgi_buffering off;' \
  'fastcgi_read_timeout 3600s;' 'send_timeout 3600s;'; do
  grep -qxF "$d" "$KOD_SOURCE/nginx/kod-fastcgi-git.conf" || fail "kod-fastcgi-git.conf lacks '$d'"
done
for f in kod.conf kod-prefix.conf; do
  awk '/location ~ .*\\\.git\//,/}/' "$KOD_SOURCE/nginx/$f" | grep -q 'include snippets/kod-fastcgi-git.conf;' ||
    fail "the git location of $f does not include kod-fastcgi-git.conf"
done
grep -qE '^\s*location\s+/\s*\{' "$KOD_SOURCE/nginx/kod-prefix.conf" && fail "kod-prefix.conf has a 'location /' of its own"
grep -v '^\s*#' "$KOD_SOURCE/nginx/kod-log.conf" | grep -qE '\$(remote_user|http_)' && fail "kod-log.conf logs a credential or a request header"
grep -q 'fastcgi_keep_conn off;' "$KOD_SOURCE/nginx/kod-fastcgi.conf" || fail "kod-fastcgi.conf lacks fastcgi_keep_conn off"
((failures == 0)) && ok "static checks"

# --- 3. behaviour ---------------------------------------------------------------------------------
cat >"$work/echo.py" <<'PY'
# FastCGI responder: answers with a JSON dump of the params ([name, value] pairs, repeats kept) and
# the body size. With ?stream=1 it sends "first", waits 1.5 s, then "second".
import json, os, socket, struct, sys, threading, time

def read_exact(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b

def pairs(data):
    out, i = [], 0
    def length():
        nonlocal i
        if data[i] < 128:
            i += 1
            return data[i - 1]
        v = struct.unpack("!I", data[i:i + 4])[0] & 0x7FFFFFFF
        i += 4
        return v
    while i < len(data):
        n = length(); v = length()
        out.append([data[i:i + n].decode("latin-1"), data[i + n:i + n + v].decode("latin-1")])
        i += n + v
    return out

def send(c, typ, rid, data):
    c.sendall(struct.pack("!BBHHBB", 1, typ, rid, len(data), 0, 0) + data)

def handle(c):
    try:
        params, body, rid = b"", 0, 1
        while True:
            _, typ, rid, clen, plen, _ = struct.unpack("!BBHHBB", read_exact(c, 8))
            data = read_exact(c, clen) if clen else b""
            if plen:
                read_exact(c, plen)
            if typ == 4:
                params += data
            elif typ == 5:
                if not data:
                    break
                body += len(data)
        env = pairs(params)
        if dict(env).get("QUERY_STRING") == "stream=1":
            send(c, 6, rid, b"Content-Type: text/plain\r\n\r\nfirst\n")
            time.sleep(1.5)
            send(c, 6, rid, b"second\n")
        else:
            payload = json.dumps({"params": env, "body_bytes": body}).encode()
            for off in range(0, len(payload), 60000):
                send(c, 6, rid, (b"Content-Type: application/json\r\n\r\n" if off == 0 else b"") + payload[off:off + 60000])
        send(c, 6, rid, b"")
        send(c, 3, rid, struct.pack("!IB3x", 0, 0))
    except (EOFError, ConnectionError):
        pass
    finally:
        c.close()

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
s.listen(64)
while True:
    conn, _ = s.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
PY

sock=$work/run/fcgi.sock
mkdir -p "$work/run" "$work/log"
kod_spawn "" "$work/echo.log" 0 python3 "$work/echo.py" "$sock"
pids+=("$KOD_SPAWNED_PID")
for ((i = 0; i < 100; i++)); do [[ -S $sock ]] && break; sleep 0.05; done
[[ -S $sock ]] || { fail "the FastCGI echo responder did not start"; exit 1; }

started=0
for attempt in 1 2 3 4 5; do
  port=$(kod_free_port)
  kod_nginx_write_conf "$work/nginx" "127.0.0.1:$port" "$sock" "$work/run/nginx.pid" "$work/log"
  if kod_nginx_start "$work/nginx" "$work/log/nginx-error.log" "$work/run/nginx.pid" 0; then
    pids+=("$KOD_NGINX_SERVER_PID")
    started=1
    break
  fi
done
((started)) || { fail "nginx did not start (attempt $attempt)"; exit 1; }
url=http://127.0.0.1:$port

# check NAME PYTHON-EXPR CURL-ARGS...: the echo's JSON as `r` (params as dict `p`, the list as
# `pl`) must satisfy the expression.
check() {
  local name=$1 expr=$2 body
  shift 2
  if ! body=$(curl -sS --max-time 30 -o - -w '\n%{http_code}' "$@"); then
    fail "$name: curl failed"
    return
  fi
  local status=${body##*$'\n'}
  body=${body%$'\n'*}
  if [[ $status != 200 ]]; then
    fail "$name: HTTP $status (nginx answered instead of the app?): ${body:0:300}"
    return
  fi
  if python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
pl = r["params"]; p = dict(pl)
ok = eval(sys.argv[1])
if not ok:
    print(json.dumps(r)[:2000]); sys.exit(1)' "$expr" <<<"$body"; then
    ok "$name"
  else
    fail "$name: expected $expr"
  fi
}

check "API: PATH_INFO, SCRIPT_NAME, REQUEST_URI, QUERY_STRING, REMOTE_ADDR" \
  'p["PATH_INFO"] == "/repos/abc" and p["SCRIPT_NAME"] == "" and p["REQUEST_URI"] == "/repos/abc?x=1" and p["QUERY_STRING"] == "x=1" and p["REQUEST_METHOD"] == "GET" and p["REMOTE_ADDR"] == "127.0.0.1"' \
  "$url/repos/abc?x=1"
check "no param name is sent twice" 'len(pl) == len({n for n, _ in pl})' "$url/health"
check "headers arrive as HTTP_*" \
  'p["HTTP_AUTHORIZATION"] == "Bearer kod_x" and p["HTTP_GIT_PROTOCOL"] == "version=2" and p["HTTP_X_CUSTOM"] == "y"' \
  -H 'Authorization: Bearer kod_x' -H 'Git-Protocol: version=2' -H 'X-Custom: y' "$url/tokens"
check "REQUEST_URI is raw (percent-escapes and // kept)" \
  'p["REQUEST_URI"] == "/repos/a%2Fb//c"' --path-as-is "$url/repos/a%2Fb//c"
check "unknown paths reach the app" 'p["PATH_INFO"] == "/no/such/thing"' "$url/no/such/thing"
check "OPTIONS reaches the app" 'p["REQUEST_METHOD"] == "OPTIONS"' -X OPTIONS "$url/repos"
check "POST /repos with 2 MiB reaches the app (no nginx 413)" \
  'r["body_bytes"] == 2*1024*1024 and p["CONTENT_LENGTH"] == str(2*1024*1024) and p["CONTENT_TYPE"] == "application/json"' \
  -H 'Content-Type: application/json' --data-binary @<(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'x') "$url/repos"
check "git info/refs goes through the git location" \
  'p["PATH_INFO"] == "/repos/r.git/info/refs" and p["QUERY_STRING"] == "service=git-upload-pack"' \
  "$url/repos/r.git/info/refs?service=git-upload-pack"
check "chunked 3 MiB push is streamed (CONTENT_LENGTH empty, whole body read)" \
  'r["body_bytes"] == 3*1024*1024 and p["CONTENT_LENGTH"] == "" and p["HTTP_TRANSFER_ENCODING"] == "chunked" and p["CONTENT_TYPE"] == "application/x-git-receive-pack-request"' \
  -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-git-receive-pack-request' \
  --data-binary @<(head -c $((3 * 1024 * 1024)) /dev/urandom) "$url/repos/r.git/git-receive-pack"

# Response streaming on git routes: "first" must arrive well before the app sends "second".
if python3 - "$port" <<'PY'; then ok "git responses are streamed (not buffered)"; else fail "git responses are buffered"; fi
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
t0 = time.monotonic()
c.request("POST", "/repos/r.git/git-upload-pack?stream=1", body=b"0000")
r = c.getresponse()
first = r.readline()
t1 = time.monotonic() - t0
rest = r.read()
print(f"first line {first!r} after {t1:.2f}s, then {rest!r}")
sys.exit(0 if first == b"first\n" and t1 < 1.0 and rest == b"second\n" else 1)
PY

check "REQUEST_ID is nginx's \$request_id (32 hex digits)" \
  'len(p["REQUEST_ID"]) == 32 and all(c in "0123456789abcdef" for c in p["REQUEST_ID"])' "$url/repos"

# json_error NAME STATUS URL CURL-ARGS...: nginx's own answer is STATUS, JSON {"error"} and CORS.
json_error() {
  local name=$1 want=$2 u=$3 out status
  shift 3
  out=$(curl -sS --max-time 30 -D "$work/h" -o "$work/b" -w '%{http_code}' "$@" "$u") || { fail "$name: curl failed"; return; }
  status=$out
  if [[ $status != "$want" ]]; then fail "$name: HTTP $status, expected $want: $(head -c 200 "$work/b")"; return; fi
  grep -qi '^content-type: application/json' "$work/h" || { fail "$name: not application/json: $(head -c 200 "$work/b")"; return; }
  grep -qi '^access-control-allow-origin: \*' "$work/h" || { fail "$name: no Access-Control-Allow-Origin"; return; }
  if python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); sys.exit(0 if isinstance(v.get("error"), str) and v["error"] else 1)' "$work/b"; then
    ok "$name: $status $(tr -d '\n' <"$work/b")"
  else
    fail "$name: body is not {\"error\": ...}: $(head -c 200 "$work/b")"
  fi
}
json_error "dedicated: %00 in the path" 400 "$url/repos/a%00b" --path-as-is
grep -q '"error":"Bad request"' "$work/b" || fail "dedicated: %00 did not get nginx's JSON 400 ($(cat "$work/b"))"
json_error "dedicated: headers over 8 KiB" 400 "$url/repos" -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)"
json_error "dedicated: TRACE" 405 "$url/repos" -X TRACE
json_error "dedicated: API body over 4 MiB" 413 "$url/repos" --data-binary @<(head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' x)
json_error "dedicated: the internal error locations are not reachable" 404 "$url/.kod-error/400"

# A token sent as the Basic *username* (or password) never reaches the access logs.
curl -sS -o /dev/null --max-time 10 -u "kod_UserNameSecretUserNameSecret1234:kod_PassWordSecretPassWordSecret12" "$url/repos"
curl -sS -o /dev/null --max-time 10 -H "Authorization: Bearer kod_BearerSecretBearerSecretBearer12" "$url/repos"
sleep 0.3 # nginx writes the log line after the response
if grep -rqE 'UserNameSecret|PassWordSecret|BearerSecret' "$work/log"; then
  fail "a credential reached the access log: $(grep -rhE 'UserNameSecret|PassWordSecret|BearerSecret' "$work/log" | head -2)"
elif grep -q ' id=[0-9a-f]\{32\}' "$work/log/kod-access.log" 2>/dev/null; then
  ok "the access log has no credential (Basic user, Basic password, Bearer) and carries the request id"
else
  fail "no kod-access.log line with id=<request id> in $work/log"
fi

# --- 4. the prefix layout beside a static site ---------------------------------------------------
started=0
for attempt in 1 2 3 4 5; do
  pport=$(kod_free_port)
  kod_nginx_write_conf "$work/nginx-prefix" "127.0.0.1:$pport" "$sock" "$work/run/nginx-prefix.pid" "$work/log" prefix:/kod
  if kod_nginx_start "$work/nginx-prefix" "$work/log/nginx-prefix-error.log" "$work/run/nginx-prefix.pid" 0; then
    pids+=("$KOD_NGINX_SERVER_PID")
    started=1
    break
  fi
done
((started)) || { fail "the prefix-layout nginx did not start"; exit 1; }
purl=http://127.0.0.1:$pport
if [[ $(curl -sS --max-time 10 "$purl/") == *"the host site"* ]]; then ok "prefix: the static site answers at /"; else fail "prefix: / is not the static site"; fi
check "prefix: /kod/repos/abc reaches Kod with the raw REQUEST_URI" \
  'p["REQUEST_URI"] == "/kod/repos/abc?x=1" and p["REQUEST_ID"] != ""' "$purl/kod/repos/abc?x=1"
check "prefix: git info/refs under the prefix" 'p["REQUEST_URI"] == "/kod/repos/r.git/info/refs?service=git-upload-pack"' \
  "$purl/kod/repos/r.git/info/refs?service=git-upload-pack"
check "prefix: a 3 MiB chunked push streams through" \
  'r["body_bytes"] == 3*1024*1024 and p["CONTENT_LENGTH"] == ""' -H 'Transfer-Encoding: chunked' \
  -H 'Content-Type: application/x-git-receive-pack-request' \
  --data-binary @<(head -c $((3 * 1024 * 1024)) /dev/urandom) "$purl/kod/repos/r.git/git-receive-pack"
json_error "prefix: API body over 4 MiB under /kod is Kod's JSON 413" 413 "$purl/kod/repos" \
  --data-binary @<(head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' x)
code=$(curl -sS -o "$work/b" -w '%{http_code}' --max-time 10 "$purl/repos/abc")
if [[ $code == 404 ]] && ! grep -q '"error"' "$work/b"; then ok "prefix: /repos/abc (outside the prefix) is the host site's 404"; else fail "prefix: /repos/abc gave $code $(head -c 200 "$work/b")"; fi
code=$(curl -sS -o "$work/b" -w '%{http_code}' --max-time 10 --path-as-is "$purl/kod/a%00b")
if [[ $code == 400 ]] && ! grep -q '"error"' "$work/b"; then ok "prefix: %00 (before a location is chosen) is the host site's 400"; else fail "prefix: %00 gave $code $(head -c 200 "$work/b")"; fi

# --- no upstream: 502 as JSON in both layouts -----------------------------------------------------
kod_stop_pid "${pids[0]}" TERM 5
rm -f "$sock"
json_error "dedicated: kod-fcgi not answering" 502 "$url/repos"
json_error "prefix: kod-fcgi not answering" 502 "$purl/kod/repos"

echo "$passed passed, $failures failed"
((failures == 0))

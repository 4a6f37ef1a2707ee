#!/usr/bin/env bash
# nginx/kod.conf, the snippet operators include in their server {} block:
#   1. `nginx -t` accepts it inside a wrapper config in a temp prefix (as shipped, and with the
#      socket substituted as scripts/run and the integration tests use it), and rejects broken
#      copies (so this test can fail);
#   2. no fastcgi_param repeats one of /etc/nginx/fastcgi_params (the first value would win);
#   3. behaviour, through a real nginx and a small FastCGI echo responder: the params the
#      application relies on, raw REQUEST_URI, large and chunked git bodies streamed through
#      without a size limit (CONTENT_LENGTH empty), API bodies over 1 MiB reaching the app (it
#      answers 413 itself), and git responses streamed without buffering.
# Needs nginx and python3 only (not the Kod binaries).
set -euo pipefail

KOD_SOURCE=${KOD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=scripts/lib.sh
source "$KOD_SOURCE/scripts/lib.sh"
SNIPPET=$KOD_SOURCE/nginx/kod.conf

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
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# nginx_t PREFIX: `nginx -t` on PREFIX/nginx.conf.
nginx_t() { nginx -t -q -p "$1/" -c "$1/nginx.conf" -e "$1/test-error.log" 2>&1; }

# --- 1. nginx -t --------------------------------------------------------------------------------
# As shipped: the wrapper includes the unmodified snippet (socket /run/kod/fcgi.sock; nginx -t
# does not need the socket to exist).
mkdir -p "$work/shipped"
kod_nginx_write_conf "$work/shipped" 127.0.0.1:1 /run/kod/fcgi.sock "$work/shipped/nginx.pid" "$work/shipped/log"
cmp -s "$SNIPPET" "$work/shipped/kod.conf" || fail "the wrapper's copy of the snippet differs from nginx/kod.conf"
if out=$(nginx_t "$work/shipped"); then ok "nginx -t accepts nginx/kod.conf as shipped"; else fail "nginx -t rejects nginx/kod.conf: $out"; fi

# Included twice in one http block (two server blocks, e.g. HTTP and HTTPS) must work too.
sed -i 's|^  server {|  server { listen 127.0.0.1:2; include '"$work"'/shipped/kod.conf; }\n  server {|' "$work/shipped/nginx.conf"
if out=$(nginx_t "$work/shipped"); then ok "the snippet can be included in two server blocks"; else fail "two server blocks: $out"; fi

# Broken copies must fail.
broken() { # NAME SED-EXPRESSION
  local d=$work/broken-$1 out
  mkdir -p "$d"
  kod_nginx_write_conf "$d" 127.0.0.1:1 /run/kod/fcgi.sock "$d/nginx.pid" "$d/log"
  sed -i "$2" "$d/kod.conf"
  if out=$(nginx_t "$d"); then fail "broken copy '$1' passed nginx -t"; else ok "broken copy '$1' fails nginx -t (${out%%$'\n'*})"; fi
}
broken unknown-directive 's|^    fastcgi_keep_conn off;|    fastcgi_keep_conn off; bogus_directive on;|'
broken buffers-too-small 's|fastcgi_buffer_size 32k;|fastcgi_buffer_size 256k;|'
broken unbalanced 's|^}$||'

# --- 2. static checks ---------------------------------------------------------------------------
mapfile -t std_params < <(awk '$1 == "fastcgi_param" {print $2}' /etc/nginx/fastcgi_params)
while read -r name; do
  for p in "${std_params[@]}"; do
    [[ $name == "$p" ]] && fail "nginx/kod.conf sets fastcgi_param $name, which fastcgi_params already sets"
  done
done < <(awk '$1 == "fastcgi_param" {print $2}' "$SNIPPET")
grep -q 'include /etc/nginx/fastcgi_params;' "$SNIPPET" || fail "the snippet must include /etc/nginx/fastcgi_params (absolute path)"
git_block=$(awk '/^location ~ \^\/repos\/\[\^\/\]\+\\\.git\/ \{/,/^}/' "$SNIPPET")
[[ -n $git_block ]] || fail "no 'location ~ ^/repos/[^/]+\\.git/' block"
for d in 'client_max_body_size 0;' 'fastcgi_request_buffering off;' 'fastcgi_buffering off;' \
  'fastcgi_keep_conn off;' 'fastcgi_read_timeout 3600s;' 'send_timeout 3600s;'; do
  grep -qF "$d" <<<"$git_block" || fail "the git location lacks '$d'"
done
ok "static checks"

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

if ((failures)); then
  echo "test_nginx_conf: $failures failure(s)" >&2
  exit 1
fi
echo "test_nginx_conf: ok"

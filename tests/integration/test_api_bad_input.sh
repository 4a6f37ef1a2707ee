#!/usr/bin/env bash
# Bad input to the API, table-driven, against the whole stack (issue 2, "What it must show";
# docs/api.md#conventions, docs/api.md#tokens, docs/api.md#order-of-checks). One row per case; every row names its request and the answer it must
# get: a clear 4xx with a JSON body {"error": "<non-empty string>"} (Content-Type
# application/json), never a 5xx, never a hang (10 s per request). Rows cover
#   - every field of POST /tokens (name, permissions, expiresInDays, username) and the body itself,
#     with a few valid rows as controls at the boundaries (so the table can tell "rejected" from
#     "everything is rejected");
#   - malformed Authorization headers: 401 {"error":"Unauthorized"} with
#     WWW-Authenticate: Basic realm="Kod" (plus the accepted spellings as controls);
#   - oversized (> 1 MiB: 413) and malformed JSON (400 "Invalid JSON body"): truncated, trailing
#     garbage, 100k levels of nesting, invalid UTF-8, raw control characters, NUL in a repo name;
#   - unknown routes (404), wrong methods (405 with an Allow header whose methods do work),
#     `//`, `%2e%2e`, `%00`, 8 KB paths, one trailing `/` accepted.
# Rows marked "fcgi" talk FastCGI straight to kod-fcgi's socket (what nginx would pass), for input
# nginx refuses itself before Kod sees it (a 10 KB header, %00, %zz); the nginx answer to the
# same input is checked as a plain 4xx.
# At the end kod-fcgi must still run with the same workers (no worker crashed).
# Output: "ok: ..." or "FAIL test_api_bad_input: ..." per row, last line "N passed, M failed".
# shellcheck disable=SC2317 # kod_dump_logs is redefined for the EXIT trap
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

KOD_TEST_NO_RUNNER=1
kod_stack_start
KOD_TEST_FCGI_SOCKET=$KOD_TEST_DIR/run/fcgi.sock
KOD_TEST_WORKER_PIDS=$(pgrep -P "$KOD_FCGI_PID" | sort -n | tr '\n' ' ')
export KOD_TEST_FCGI_SOCKET KOD_TEST_WORKER_PIDS KOD_TEST_NAME
SUMMARY=$KOD_TEST_DIR/summary.txt
export KOD_TEST_SUMMARY=$SUMMARY

rc=0
python3 - <<'PY' || rc=$?
import base64, http.client, json, os, socket, struct, sys, time

URL = os.environ["KOD_TEST_URL"]
HOST, PORT = URL[len("http://"):].split(":")
PORT = int(PORT)
TOKEN = os.environ["KOD_TEST_TOKEN"]
FCGI_SOCK = os.environ["KOD_TEST_FCGI_SOCKET"]
MASTER = int(os.environ["KOD_FCGI_PID"])
WORKERS_BEFORE = sorted(int(p) for p in os.environ["KOD_TEST_WORKER_PIDS"].split())
NAME = os.environ["KOD_TEST_NAME"]
TIMEOUT = 10.0
passed = failed = 0


def ok(msg):
    global passed
    passed += 1
    print(f"ok: {msg}", flush=True)


def bad(msg):
    global failed
    failed += 1
    print(f"FAIL {NAME}: {msg}", flush=True)


class Resp:
    def __init__(self, status, headers, body, ms, via):
        self.status, self.headers, self.body, self.ms, self.via = status, headers, body, ms, via

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


# ---- transports -----------------------------------------------------------------------------

def http_request(method, path, headers=None, body=None, chunked=False):
    """Through nginx. path is sent exactly as given. headers: list of (name, value)."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(HOST, PORT, timeout=TIMEOUT)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers or []:
            conn.putheader(k, v)
        if body is not None and not chunked:
            conn.putheader("Content-Length", str(len(body)))
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        if body is not None:
            if chunked:
                step = 65536
                for i in range(0, len(body), step):
                    part = body[i:i + step]
                    conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
                conn.send(b"0\r\n\r\n")
            else:
                conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.getheaders(), data, int((time.monotonic() - t0) * 1000), "nginx")
    finally:
        conn.close()


def _fcgi_record(rtype, content, req_id=1):
    out = b""
    # a record holds at most 65535 bytes
    for i in range(0, max(len(content), 1), 65535):
        part = content[i:i + 65535]
        out += struct.pack("!BBHHBB", 1, rtype, req_id, len(part), 0, 0) + part
        if not content:
            break
    return out


def _fcgi_len(n):
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def fcgi_request(method, path, headers=None, body=None):
    """Straight to kod-fcgi's socket, with the params nginx (nginx/kod.conf) would send."""
    t0 = time.monotonic()
    body = body or b""
    uri = path.encode("latin-1") if isinstance(path, str) else path
    params = {
        b"REQUEST_METHOD": method.encode(), b"REQUEST_URI": uri, b"DOCUMENT_URI": uri.split(b"?")[0],
        b"QUERY_STRING": uri.split(b"?", 1)[1] if b"?" in uri else b"", b"SCRIPT_NAME": b"",
        b"PATH_INFO": uri.split(b"?")[0], b"SERVER_PROTOCOL": b"HTTP/1.1", b"GATEWAY_INTERFACE": b"CGI/1.1",
        b"REMOTE_ADDR": b"127.0.0.1", b"SERVER_NAME": b"localhost", b"SERVER_PORT": str(PORT).encode(),
        b"HTTP_HOST": b"localhost", b"CONTENT_TYPE": b"application/json" if body else b"",
        b"CONTENT_LENGTH": str(len(body)).encode() if body else b"",
    }
    for k, v in headers or []:
        params[b"HTTP_" + k.upper().replace("-", "_").encode()] = v.encode("latin-1") if isinstance(v, str) else v
    blob = b"".join(_fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v for k, v in params.items())
    msg = _fcgi_record(1, struct.pack("!HB5x", 1, 0))  # BEGIN_REQUEST, responder, no keep-conn
    msg += _fcgi_record(4, blob) + _fcgi_record(4, b"")
    if body:
        msg += _fcgi_record(5, body)
    msg += _fcgi_record(5, b"")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    try:
        s.connect(FCGI_SOCK)
        s.sendall(msg)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    out, pos, ended = b"", 0, False
    while pos + 8 <= len(buf):
        _, rtype, _, clen, plen, _ = struct.unpack("!BBHHBB", buf[pos:pos + 8])
        content = buf[pos + 8:pos + 8 + clen]
        pos += 8 + clen + plen
        if rtype == 6:
            out += content
        elif rtype == 3:
            ended = True
    if not ended:
        raise RuntimeError("no FCGI_END_REQUEST from kod-fcgi")
    head, _, data = out.partition(b"\r\n\r\n")
    hdrs, status = [], 200
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        v = v.strip()
        if k.lower() == "status":
            status = int(v.split()[0])
        hdrs.append((k, v))
    return Resp(status, hdrs, data, int((time.monotonic() - t0) * 1000), "fcgi")


# ---- rows -----------------------------------------------------------------------------------

ADMIN = [("Authorization", "Bearer " + TOKEN)]
JSON_CT = [("Content-Type", "application/json")]


def b64(s):
    return base64.b64encode(s.encode("latin-1") if isinstance(s, str) else s).decode()


def body_of(x):
    if x is None or isinstance(x, bytes):
        return x
    return json.dumps(x).encode()


def run_row(r):
    """r: dict(name, method, path, headers, body, status, error=None|str, contains=None|str,
    via='nginx'|'fcgi', json=True, allow=None|set, www=None|bool, chunked=False).
    status may be an int or a set of acceptable ints."""
    name = r["name"]
    via = r.get("via", "nginx")
    headers = r.get("headers", ADMIN)
    try:
        if via == "fcgi":
            resp = fcgi_request(r["method"], r["path"], headers, body_of(r.get("body")))
        else:
            resp = http_request(r["method"], r["path"], headers, body_of(r.get("body")), r.get("chunked", False))
    except Exception as e:  # a timeout is a hang
        bad(f"{name}: no answer within {TIMEOUT:.0f} s ({type(e).__name__}: {e})")
        return None
    want = r["status"] if isinstance(r["status"], (set, frozenset)) else {r["status"]}
    problems = []
    if resp.status not in want:
        problems.append(f"status {resp.status}, expected {'/'.join(map(str, sorted(want)))}")
    if resp.status >= 500:
        problems.append("a 5xx for bad input")
    is_error = resp.status >= 400
    if is_error and r.get("json", True):
        try:
            v = json.loads(resp.body.decode("utf-8"))
        except Exception:
            v = None
        if not (isinstance(v, dict) and isinstance(v.get("error"), str) and v["error"]):
            problems.append("body is not JSON {\"error\": \"...\"}")
        else:
            if r.get("error") is not None and v["error"] != r["error"]:
                problems.append(f"error {v['error']!r}, expected {r['error']!r}")
            if r.get("contains") is not None and r["contains"] not in v["error"]:
                problems.append(f"error {v['error']!r} does not mention {r['contains']!r}")
        ct = resp.header("Content-Type") or ""
        if not ct.startswith("application/json"):
            problems.append(f"Content-Type {ct!r}")
    if r.get("www") or (resp.status == 401 and r.get("www") is not False):
        if resp.header("WWW-Authenticate") != 'Basic realm="Kod"':
            problems.append(f"WWW-Authenticate {resp.header('WWW-Authenticate')!r}")
    if resp.status == 405:
        allow = resp.header("Allow")
        if not allow:
            problems.append("405 without an Allow header")
        else:
            methods = {m.strip() for m in allow.split(",")}
            if r.get("allow") and not r["allow"] <= methods:
                problems.append(f"Allow {allow!r} lacks {sorted(r['allow'] - methods)}")
            if r["method"] in methods:
                problems.append(f"Allow {allow!r} lists the refused method {r['method']}")
    short = resp.body[:160].decode("utf-8", "replace").replace("\n", " ")
    if problems:
        bad(f"{name} [{r['method']} {r['path'][:60]}{'…' if len(r['path']) > 60 else ''} via {resp.via}]: "
            f"{'; '.join(problems)} (body: {short})")
    else:
        ok(f"{name} → {resp.status} {short[:90]} ({resp.ms} ms, {resp.via})")
    return resp


def T(name, body, status=400, error=None, contains=None, **kw):
    """A POST /tokens row."""
    return dict(name="POST /tokens " + name, method="POST", path="/tokens", body=body, status=status,
                error=error, contains=contains, headers=ADMIN + JSON_CT, **kw)


# Setup: a repository with a collaborator, so that a username can be valid.
setup = http_request("POST", "/repos", ADMIN + JSON_CT, b'{"name":"bad-input"}')
if setup.status != 201:
    bad(f"setup: POST /repos bad-input → {setup.status} {setup.body[:200]!r}")
setup = http_request("POST", "/repos/bad-input/collaborators", ADMIN + JSON_CT, b'{"username":"alice"}')
if setup.status != 201:
    bad(f"setup: POST /repos/bad-input/collaborators alice → {setup.status} {setup.body[:200]!r}")

ACCEPT = {201, 400}  # no rule in the spec either way: only "never 5xx" is asserted
rows = []

# -- POST /tokens: name
rows += [
    T("name missing", {}, contains="name"),
    T("name missing (empty body)", b"", contains="name"),
    T('name ""', {"name": ""}, contains="name"),
    T("name of 101 chars", {"name": "a" * 101}, contains="name"),
    T("name of 100 chars (control)", {"name": "a" * 100}, status=201),
    T("name of 100 non-ASCII chars (é: 200 bytes; spec: 1-100 chars)", {"name": "é" * 100}, status=201),
    T("name of 101 non-ASCII chars", {"name": "é" * 101}, contains="name"),
    T("name a number", {"name": 123}, contains="name"),
    T("name null", {"name": None}, contains="name"),
    T("name an array", {"name": ["ci"]}, contains="name"),
    T("name an object", {"name": {"a": "b"}}, contains="name"),
    T("name true", {"name": True}, contains="name"),
]
# -- permissions
rows += [
    T("permissions a string", {"name": "t", "permissions": "repo:read"}, contains="permissions"),
    T("permissions an object", {"name": "t", "permissions": {"repo:read": True}}, contains="permissions"),
    T("permissions null", {"name": "t", "permissions": None}, contains="permissions"),
    T("permissions with a number", {"name": "t", "permissions": ["repo:read", 1]}, contains="permissions"),
    T("permissions with null", {"name": "t", "permissions": [None]}, contains="permissions"),
    T("permissions with a nested array", {"name": "t", "permissions": [["repo:read"]]}, contains="permissions"),
    T("permissions unknown repo:admin", {"name": "t", "permissions": ["repo:admin"]},
      error="Invalid permission: repo:admin"),
    T("permissions wrong case Repo:Read", {"name": "t", "permissions": ["repo:write", "Repo:Read"]},
      error="Invalid permission: Repo:Read"),
    T("permissions empty name", {"name": "t", "permissions": [""]}, error="Invalid permission: "),
    T("permissions [admin] (control)", {"name": "t", "permissions": ["admin"]}, status=201),
    T("permissions duplicated", {"name": "t", "permissions": ["repo:read", "repo:read"]}, status=ACCEPT),
    T("permissions: 20 × collaborator:write (380 chars)", {"name": "t", "permissions": ["collaborator:write"] * 20},
      status=ACCEPT),
]
# -- expiresInDays
for label, v in [("0", 0), ("-1", -1), ("366", 366), ("1.5", 1.5), ('"30"', "30"), ("null", None),
                 ("true", True), ("[30]", [30]), ("{}", {}), ("2^63", 2 ** 63), ("-2^63", -(2 ** 63)),
                 ("2^64+1", 2 ** 64 + 1)]:
    rows.append(T(f"expiresInDays {label}", {"name": "t", "expiresInDays": v}, contains="expiresInDays"))
rows += [
    T("expiresInDays 1e400 (out of range)", b'{"name":"t","expiresInDays":1e400}', status=400),
    T("expiresInDays 1 (control)", {"name": "t", "expiresInDays": 1}, status=201),
    T("expiresInDays 365 (control)", {"name": "t", "expiresInDays": 365}, status=201),
    T("expiresInDays 1e2", b'{"name":"t","expiresInDays":1e2}', status=ACCEPT),
    T("expiresInDays 30.0", b'{"name":"t","expiresInDays":30.0}', status=ACCEPT),
]
# -- username
rows += [
    T("username with invalid chars", {"name": "t", "username": "bad name!"}, contains="username"),
    T("username with a slash", {"name": "t", "username": "../alice"}, contains="username"),
    T("username of 65 chars", {"name": "t", "username": "a" * 65}, contains="username"),
    T('username ""', {"name": "t", "username": ""}, contains="username"),
    T("username a number", {"name": "t", "username": 42}, contains="username"),
    T("username null", {"name": "t", "username": None}, contains="username"),
    T("username an array", {"name": "t", "username": ["alice"]}, contains="username"),
    T("username unknown collaborator", {"name": "t", "username": "ghost"}, error="Collaborator 'ghost' not found"),
    T("username of 64 chars, unknown", {"name": "t", "username": "b" * 64},
      error="Collaborator '" + "b" * 64 + "' not found"),
    T("username wrong case Alice", {"name": "t", "username": "Alice"}, error="Collaborator 'Alice' not found"),
    T("username alice, a collaborator (control)", {"name": "t", "username": "alice"}, status=201),
]
# -- the body as a whole
rows += [
    T("body an array", [], contains="object"),
    T("body a string", "name", contains="object"),
    T("body a number", 42, contains="object"),
    T("body null", b"null", contains="object"),
    T("body with duplicate keys", b'{"name":"a","name":"b"}', status=ACCEPT),
]
# -- malformed JSON
deep = b"[" * 100000 + b"]" * 100000
rows += [
    T("truncated JSON", b'{"name":"x"', error="Invalid JSON body"),
    T("truncated string", b'{"name":"x', error="Invalid JSON body"),
    T("trailing garbage", b'{"name":"x"} xyz', error="Invalid JSON body"),
    T("two objects", b'{"name":"x"}{"name":"y"}', error="Invalid JSON body"),
    T("single quotes", b"{'name':'x'}", error="Invalid JSON body"),
    T("trailing comma", b'{"name":"x",}', error="Invalid JSON body"),
    T("comment", b'{"name":"x"} // c', error="Invalid JSON body"),
    T("NaN", b'{"name":"x","expiresInDays":NaN}', error="Invalid JSON body"),
    T("lone surrogate \\ud800", b'{"name":"\\ud800"}', error="Invalid JSON body"),
    T("100k levels of nesting [[[…]]]", deep, error="Invalid JSON body"),
    T("100k levels of nesting in a field", b'{"name":"t","permissions":' + deep + b"}", error="Invalid JSON body"),
    T("invalid UTF-8 bytes in a string (\\xff\\xfe)", b'{"name":"\xff\xfe"}', status=400),
    T("overlong UTF-8 encoding (\\xc0\\xaf)", b'{"name":"a\xc0\xafb"}', status=400),
    T("raw control character in a string (U+0001)", b'{"name":"a\x01b"}', error="Invalid JSON body"),
    dict(name="POST /repos invalid UTF-8 name", method="POST", path="/repos", body=b'{"name":"\xff\xfe"}',
         status=400, headers=ADMIN + JSON_CT),
    dict(name="POST /repos name with NUL \\u0000", method="POST", path="/repos", body=b'{"name":"a\\u0000b"}',
         status=400, error="Name must be alphanumeric with hyphens and underscores only", headers=ADMIN + JSON_CT),
    dict(name="POST /repos 100k levels of nesting", method="POST", path="/repos", body=deep,
         status=400, error="Invalid JSON body", headers=ADMIN + JSON_CT),
]
# -- oversized bodies (the limit is 1 MiB = 1048576 bytes)
MIB = 1048576


def padded(obj, size):
    raw = json.dumps(obj).encode()
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


rows += [
    T("body of exactly 1 MiB (control)", padded({"name": "big"}, MIB), status=201),
    T("body of 1 MiB + 1 byte", padded({"name": "big"}, MIB + 1), status=413),
    T("body of 2 MiB, chunked (no Content-Length)", padded({"name": "big"}, 2 * MIB), status=413, chunked=True),
    # Over nginx/kod.conf's 4 MiB cap nginx answers 413 itself (JSON from nginx/kod-errors.conf),
    # so an unauthenticated client cannot make nginx spool arbitrarily large bodies to disk.
    T("body of 5 MiB of garbage (through nginx: nginx's own 413, as JSON)", b"x" * (5 * MIB), status=413),
    dict(name="POST /repos body of 1 MiB + 1 byte", method="POST", path="/repos",
         body=padded({"name": "big"}, MIB + 1), status=413, headers=ADMIN + JSON_CT),
]

# -- malformed Authorization headers (GET /tokens; docs/api.md#authentication)
U = "Unauthorized"


def A(name, value, status=401, via="nginx", path="/tokens", **kw):
    headers = [] if value is None else [("Authorization", value)]
    return dict(name="Authorization: " + name, method="GET", path=path, headers=headers, status=status,
                error=U if status == 401 else None, via=via, **kw)


rows += [
    A("absent", None),
    A("empty", ""),
    A("the token alone (no scheme)", TOKEN),
    A("Bearer alone", "Bearer"),
    A("Bearer and spaces", "Bearer    "),
    A("Bearer with an unknown token", "Bearer kod_" + "A" * 32),
    A("Bearer with the valid token plus a trailing char", "Bearer " + TOKEN + "x"),
    A("Bearer with a leading char before the token", "Bearer x" + TOKEN),
    A("Bearer with a truncated token", "Bearer " + TOKEN[:-1]),
    A("tab between scheme and token", "Bearer\t" + TOKEN),
    A("unknown scheme Token", "Token " + TOKEN),
    A("unknown scheme Digest", "Digest " + TOKEN),
    A("Basic without a colon (token alone)", "Basic " + b64(TOKEN)),
    A("Basic without a colon (user alone)", "Basic " + b64("git")),
    A("Basic with an empty password", "Basic " + b64("git:")),
    A("Basic alone", "Basic"),
    A("Basic not base64", "Basic !!!not-base64!!!"),
    A("Basic truncated base64", "Basic " + b64("git:" + TOKEN)[:-2]),
    A("Basic with the token as username", "Basic " + b64(TOKEN + ":x")),
    A("Basic with a wrong password", "Basic " + b64("git:kod_" + "B" * 32)),
    A("Bearer with a 7 KB value", "Bearer " + "a" * 7000),
    A("Bearer with a 10 KB value (to kod-fcgi directly)", "Bearer " + "a" * 10240, via="fcgi"),
    A("Basic with a 10 KB value (to kod-fcgi directly)", "Basic " + b64("git:" + "a" * 7680), via="fcgi"),
    A("Bearer with a 64 KB value (to kod-fcgi directly)", "Bearer " + "a" * 65536, via="fcgi"),
    A("Bearer with a valid token on GET /repos, trailing char", "Bearer " + TOKEN + "x", path="/repos"),
    A("absent on GET /repos", None, path="/repos"),
    # nginx refuses a header line over its 8 KB buffer itself (400 "Request Header Or Cookie Too
    # Large", an HTML page): only a clear 4xx is asserted there; kod-fcgi's own answer to the same
    # header is the "to kod-fcgi directly" row above.
    A("Bearer with a 10 KB value (through nginx: nginx's own 4xx)", "Bearer " + "a" * 10240,
      status={400, 401, 431}, json=False, www=False),
    # controls: the accepted spellings (docs/api.md#authentication)
    A("Bearer <token> (control)", "Bearer " + TOKEN, status=200),
    A("bearer <token>, lower-case scheme (control)", "bearer " + TOKEN, status=200),
    A("BASIC base64(git:<token>) (control)", "BASIC " + b64("git:" + TOKEN), status=200),
    A("Basic base64(:<token>), empty user (control)", "Basic " + b64(":" + TOKEN), status=200),
]

# -- routes and methods
R = lambda name, method, path, status, **kw: dict(name=name, method=method, path=path, status=status,
                                                    headers=kw.pop("headers", ADMIN), **kw)
long_name = "a" * 8000
rows += [
    R("unknown route /nope", "GET", "/nope", 404),
    R("unknown route /", "GET", "/", 404),
    R("unknown route /tokensx", "GET", "/tokensx", 404),
    R("unknown route /repos/x/y/z/w", "GET", "/repos/x/y/z/w", 404),
    R("unknown route /repos/bad-input/nope", "GET", "/repos/bad-input/nope", 404),
    R("unknown route without auth", "GET", "/nope", 404, headers=[]),
    R("PUT /tokens", "PUT", "/tokens", 405, allow={"GET", "POST"}),
    R("DELETE /tokens", "DELETE", "/tokens", 405, allow={"GET", "POST"}),
    R("POST /health", "POST", "/health", 405, allow={"GET"}),
    R("PATCH /health", "PATCH", "/health", 405, allow={"GET"}),
    R("unknown method FOO /health", "FOO", "/health", 405, allow={"GET"}),
    R("GET /tokens/<id> (DELETE only)", "GET", "/tokens/abcdefghijkl", 405, allow={"DELETE"}),
    R("PUT /repos", "PUT", "/repos", 405, allow={"GET", "POST"}),
    R("POST /repos/<name>", "POST", "/repos/bad-input", 405, allow={"GET", "PATCH", "DELETE"}),
    R("PUT /repos/<name>/collaborators", "PUT", "/repos/bad-input/collaborators", 405, allow={"GET", "POST"}),
    R("405 comes before auth (no token)", "PUT", "/tokens", 405, allow={"GET", "POST"}, headers=[]),
    R("//tokens", "GET", "//tokens", 404),
    R("/tokens//", "GET", "/tokens//", 404),
    R("/repos//bad-input", "GET", "/repos//bad-input", 404),
    R("//", "GET", "//", 404),
    R("/tokens/ (one trailing slash accepted)", "GET", "/tokens/", 200),
    R("/health/ (one trailing slash accepted)", "GET", "/health/", 200, headers=[]),
    R("/repos/bad-input/ (one trailing slash accepted)", "GET", "/repos/bad-input/", 200),
    R("/repos/%2e%2e", "GET", "/repos/%2e%2e", 404),
    R("/repos/%2E%2E/collaborators", "GET", "/repos/%2E%2E/collaborators", 404),
    R("/repos/.. (raw)", "GET", "/repos/..", 404),
    R("/repos/a%2fb (encoded slash)", "GET", "/repos/a%2fb", 404),
    R("DELETE /tokens/%2e%2e", "DELETE", "/tokens/%2e%2e", 404),
    R("GET /repos/<8000 chars>", "GET", "/repos/" + long_name, 404),
    R("GET /<8000 chars>", "GET", "/" + long_name, 404),
    R("DELETE /repos/<8000 chars>/collaborators/x", "DELETE", "/repos/" + long_name[:7900] + "/collaborators/x", 404),
    # through kod-fcgi directly: input nginx refuses itself
    R("/repos/a%00b (to kod-fcgi directly)", "GET", "/repos/a%00b", 404, via="fcgi"),
    R("/tokens/%00 DELETE (to kod-fcgi directly)", "DELETE", "/tokens/%00", 404, via="fcgi"),
    R("/repos/%zz bad escape (to kod-fcgi directly)", "GET", "/repos/%zz", 404, via="fcgi"),
    R("/repos/%2 short escape (to kod-fcgi directly)", "GET", "/repos/%2", 404, via="fcgi"),
    R("/%2e%2e/tokens (to kod-fcgi directly)", "GET", "/%2e%2e/tokens", 404, via="fcgi"),
    R("GET /repos/<64 KB> (to kod-fcgi directly)", "GET", "/repos/" + "a" * 65536, 404, via="fcgi"),
    R("empty REQUEST_URI path (to kod-fcgi directly)", "GET", "?x=1", 404, via="fcgi"),
    # the same input through nginx: nginx's own 400 (HTML); only a clear 4xx is asserted
    R("/repos/a%00b (through nginx: nginx's own 4xx)", "GET", "/repos/a%00b", {400, 404}, json=False),
    R("/repos/%zz (through nginx: nginx's own 4xx)", "GET", "/repos/%zz", {400, 404}, json=False),
]

t_start = time.monotonic()
allow_seen = {}  # path -> (Allow header, row name) of the 405 rows through nginx
for r in rows:
    resp = run_row(r)
    if resp is not None and resp.status == 405 and resp.header("Allow") and r.get("via", "nginx") == "nginx":
        allow_seen.setdefault(r["path"], (resp.header("Allow"), r["name"]))

# Every method an Allow header lists must be routed at that path: a listed method that answers
# 405 itself contradicts the header (docs/api.md#authentication). Probed without credentials, so nothing is
# changed: a routed method answers 401 (200 on the public /health), an unrouted one 405.
contradicted = []
for path, (allow, row) in sorted(allow_seen.items()):
    for m in [x.strip() for x in allow.split(",")]:
        if m == "OPTIONS":
            continue
        try:
            x = http_request(m, path, [])
        except Exception as e:
            contradicted.append(f"{m} {path}: {type(e).__name__}")
            continue
        if x.status == 405:
            contradicted.append(f"{m} {path} → 405 (Allow: {allow})")
if contradicted:
    bad(f"405 Allow headers list methods that are themselves refused with 405: {'; '.join(contradicted)}")
else:
    ok(f"every method listed in the Allow headers of {len(allow_seen)} paths is routed there")

# -- kod-fcgi survived all of it: same master, same workers
def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.append(int(d))
    return sorted(out)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


after = children(MASTER)
if alive(MASTER) and after == WORKERS_BEFORE:
    ok(f"kod-fcgi survived every row: master {MASTER} and workers {WORKERS_BEFORE} unchanged")
else:
    bad(f"kod-fcgi after the table: master alive={alive(MASTER)}, workers before {WORKERS_BEFORE}, after {after}")
h = http_request("GET", "/health", [])
if h.status == 200:
    ok("GET /health still answers 200")
else:
    bad(f"GET /health after the table: {h.status} {h.body[:200]!r}")
print(f"({len(rows)} rows in {time.monotonic() - t_start:.1f} s)")
with open(os.environ["KOD_TEST_SUMMARY"], "w") as f:
    f.write(f"{passed} passed, {failed} failed\n")
sys.exit(1 if failed else 0)
PY

if [[ ! -s $SUMMARY ]]; then
  printf 'FAIL %s: the table did not run to its end (python exit status %s)\n' "$KOD_TEST_NAME" "$rc"
  echo "0 passed, 1 failed" >"$SUMMARY"
  rc=1
fi
if ((rc == 0)); then
  cat "$SUMMARY"
  exit 0
fi
# On failure the EXIT trap prints the stack's logs; the summary must still be the last line.
eval "$(declare -f kod_dump_logs | sed '1s/^kod_dump_logs/kod__dump_stack_logs/')"
kod_dump_logs() {
  kod__dump_stack_logs
  cat "$SUMMARY"
}
exit "$rc"

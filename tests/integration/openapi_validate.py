#!/usr/bin/python3
"""Validates real responses of a Kod stack against docs/openapi.yaml.

    openapi_validate.py OPENAPI RECORD_DIR [--require-all-operations]

RECORD_DIR holds what tests/integration/lib.sh's expect_status recorded: `index` with one line
`N METHOD TARGET` per request, and `N.headers` / `N.body` (curl's -D and -o files). For each
response whose path is a documented one:
  - the status is one the operation documents (HEAD: the GET operation's, with an empty body;
    a documented path with another method: 405 with `Allow`);
  - the body matches the schema of that status and Content-Type (JSON Schema 2020-12, with
    Debian's python3-jsonschema), or is empty when the response documents no content;
  - headers the response marks `required` are present, and every answer carries
    `Access-Control-Allow-Origin: *`.
Paths the document does not name (e.g. the 404 of an unknown route) and OPTIONS are skipped.
With --require-all-operations, every documented operation must have been answered with a
validated 2xx at least once (so a new route cannot go unvalidated).
Prints `ok:`/`FAIL` lines and `N passed, M failed`; exits 1 on any failure.
"""
import json
import os
import re
import sys
import warnings

import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "patch")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def compile_paths(doc):
    out = []
    for template in doc["paths"]:
        rx = "^" + re.sub(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}", "[^/]+", re.escape(template)) + "/?$"
        out.append((re.compile(rx), template))
    return out


def parse_headers(path):
    """The last header block curl wrote (after any 100 Continue): status and lower-case headers."""
    status, headers = None, {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("HTTP/"):
                status, headers = int(line.split()[1]), {}
            elif ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
    return status, headers


class Validator:
    def __init__(self, doc):
        self.doc = doc
        self.paths = compile_paths(doc)
        warnings.simplefilter("ignore", DeprecationWarning)
        self.resolver = jsonschema.RefResolver.from_schema(doc)
        self.passed, self.failed = 0, 0
        self.covered = set()

    def fail(self, what, why):
        self.failed += 1
        print(f"FAIL {what}: {why}")

    def template_for(self, path):
        for rx, template in self.paths:
            if rx.match(path):
                return template
        return None

    def check(self, method, target, headers_file, body_file):
        path = target.split("?", 1)[0]
        template = self.template_for(path)
        if template is None or method == "OPTIONS":
            return
        what = f"{method} {target}"
        status, headers = parse_headers(headers_file)
        with open(body_file, "rb") as f:
            body = f.read()
        if status is None:
            return self.fail(what, "no response")
        if headers.get("access-control-allow-origin") != "*":
            return self.fail(what, "no Access-Control-Allow-Origin: *")
        item = self.doc["paths"][template]
        op_method = "get" if method == "HEAD" else method.lower()
        if op_method not in item:
            if status != 405 or "allow" not in headers:
                return self.fail(what, f"{template} has no {method}: expected 405 with Allow, got {status}")
            return self.ok(what, status)
        op = item[op_method]
        responses = op.get("responses", {})
        spec = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if spec is None:
            return self.fail(what, f"status {status} is not documented for {op_method.upper()} {template} "
                                   f"(documented: {', '.join(sorted(responses))}); body {body[:200]!r}")
        spec = resolve(self.doc, spec)
        for name, h in (spec.get("headers") or {}).items():
            if resolve(self.doc, h).get("required") and name.lower() not in headers:
                return self.fail(what, f"missing header {name}")
        if method == "HEAD":
            if body:
                return self.fail(what, f"HEAD answered with a body of {len(body)} bytes")
            return self.ok(what, status)
        content = spec.get("content")
        if not content:
            if body:
                return self.fail(what, f"status {status} documents no body, got {body[:200]!r}")
            return self.ok(what, status, op_method, template)
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if ctype not in content:
            return self.fail(what, f"Content-Type {ctype!r} is not one of {sorted(content)}")
        schema = resolve(self.doc, content[ctype].get("schema", {}))
        if ctype == "application/json" or ctype.endswith("+json"):
            try:
                value = json.loads(body)
            except ValueError as e:
                return self.fail(what, f"body is not JSON ({e}): {body[:200]!r}")
            errors = sorted(jsonschema.Draft202012Validator(schema, resolver=self.resolver).iter_errors(value),
                            key=lambda e: list(e.absolute_path))
            if errors:
                e = errors[0]
                where = "/".join(str(p) for p in e.absolute_path) or "(root)"
                return self.fail(what, f"{status} body does not match the schema at {where}: {e.message}")
        return self.ok(what, status, op_method, template)

    def ok(self, what, status, op_method=None, template=None):
        self.passed += 1
        print(f"ok: {what} -> {status} matches docs/openapi.yaml")
        if op_method and 200 <= status < 300:
            self.covered.add((op_method, template))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    require_all = "--require-all-operations" in sys.argv
    doc = load(args[0])
    rec = args[1]
    v = Validator(doc)
    index = os.path.join(rec, "index")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            for line in f:
                n, method, target = line.rstrip("\n").split(" ", 2)
                v.check(method, target, os.path.join(rec, f"{n}.headers"), os.path.join(rec, f"{n}.body"))
    if require_all:
        for template, item in doc["paths"].items():
            for m in METHODS:
                if m in item and (m, template) not in v.covered:
                    v.fail(f"{m.upper()} {template}",
                           "no validated 2xx answer: call it in tests/integration/test_openapi_responses.sh")
    print(f"{v.passed} passed, {v.failed} failed")
    return 1 if v.failed else 0


if __name__ == "__main__":
    sys.exit(main())

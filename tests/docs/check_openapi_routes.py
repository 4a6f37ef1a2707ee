#!/usr/bin/python3
"""Route-table parity: every row of the route table (printed by route_table_dump) is an
operation of docs/openapi.yaml with the same method, path and `x-kod-permission`, and the
document names no operation the table lacks.

    check_openapi_routes.py DUMP_EXECUTABLE OPENAPI_YAML

Table patterns are written `/repos/:name.git/info/refs`; the document's `/repos/{name}.git/info/refs`.
HEAD and OPTIONS are answered by the dispatcher for every path and are not rows of either.
Prints one line per problem and `N passed, M failed`; exits 1 on any problem.
"""
import re
import subprocess
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def table_rows(dump):
    out = subprocess.run([dump], check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        method, pattern, permission = line.split(" ")
        path = re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", pattern)
        rows[(method.upper(), path)] = permission
    return rows


def document_operations(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    ops = {}
    for p, item in (doc.get("paths") or {}).items():
        for m in METHODS:
            if m in item:
                ops[(m.upper(), p)] = item[m].get("x-kod-permission")
    return ops


def main():
    rows = table_rows(sys.argv[1])
    ops = document_operations(sys.argv[2])
    passed, problems = 0, []
    for key, permission in sorted(rows.items()):
        if key not in ops:
            problems.append(f"{key[0]} {key[1]} is in fcgi/routes.cpp but not in docs/openapi.yaml")
        elif ops[key] != permission:
            problems.append(f"{key[0]} {key[1]}: the route table says {permission}, "
                            f"docs/openapi.yaml x-kod-permission says {ops[key]}")
        else:
            passed += 1
    for key in sorted(set(ops) - set(rows)):
        problems.append(f"{key[0]} {key[1]} is in docs/openapi.yaml but not in fcgi/routes.cpp")
    for p in problems:
        print("FAIL " + p)
    print(f"{passed} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A local webhook receiver for the integration tests: python3 webhook_receiver.py DIR PORTFILE.

Listens on 127.0.0.1 (a free port, written to PORTFILE) and records every POST as DIR/<n>.json
({"path", "headers", "body"}). The path picks the answer:
  /ok        200
  /flaky     500 for the first request of each delivery id, then 200
  /hang      sleeps 30 s before answering (the sender's deadline must cut it)
  /redirect  302 to /target (which must never be requested)
  /big       200 with an endless body (the sender must stop reading)
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
LOCK = threading.Lock()
COUNT = [0]
SEEN_FLAKY = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
            first_flaky = self.path == "/flaky" and self.headers.get("X-Kod-Delivery") not in SEEN_FLAKY
            SEEN_FLAKY.add(self.headers.get("X-Kod-Delivery"))
        with open(os.path.join(DIR, "%d.json.tmp" % n), "w") as f:
            json.dump({"path": self.path, "headers": dict(self.headers), "body": body, "at": time.time()}, f)
        os.rename(os.path.join(DIR, "%d.json.tmp" % n), os.path.join(DIR, "%d.json" % n))
        if self.path == "/hang":
            time.sleep(30)
            return self.answer(200)
        if self.path == "/redirect":
            return self.answer(302, {"Location": "/target"})
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 30))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range((1 << 30) // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        self.answer(500 if first_flaky else 200)

    def answer(self, status, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "2")
        self.end_headers()
        try:
            self.wfile.write(b"ok")
        except OSError:
            pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()

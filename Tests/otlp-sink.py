#!/usr/bin/env python3
"""A throwaway OTLP/HTTP endpoint for the tests (never for users).

    python3 Tests/otlp-sink.py DIR PORT

Listens on 127.0.0.1:PORT and answers every POST with 200 and an empty
protobuf ExportTraceServiceResponse. Each request body is saved as
DIR/<n>.bin (written to a temporary name, then renamed, so a reader never sees
half a body), with "<n> <path> <content-type>" appended to DIR/requests.log.
DIR/ready appears once it listens. Stops on SIGTERM.
"""
import http.server
import os
import signal
import sys
import threading

directory, port = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with lock:
            count += 1
            n = count
        temporary = os.path.join(directory, f".{n}.tmp")
        with open(temporary, "wb") as file:
            file.write(body)
        os.rename(temporary, os.path.join(directory, f"{n}.bin"))
        with lock, open(os.path.join(directory, "requests.log"), "a") as log:
            log.write(f"{n} {self.path} {self.headers.get('Content-Type')}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
open(os.path.join(directory, "ready"), "w").close()
server.serve_forever()

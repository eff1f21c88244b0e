"""A local stand-in for PagerDuty's Events API v2: records events, dedupes by key, fails on request."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class PagerDutyStandIn:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.incidents: dict[str, str] = {}
        self.failures: deque[tuple[int, str | None]] = deque()
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with standin.lock:
                    if standin.failures:
                        status, retry_after = standin.failures.popleft()
                        self.send_response(status)
                        if retry_after:
                            self.send_header("Retry-After", retry_after)
                        self.end_headers()
                        return
                    if self.path != "/v2/enqueue" or not body.get("routing_key"):
                        self.send_response(400)
                        self.end_headers()
                        return
                    standin.events.append(body)
                    state = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}
                    standin.incidents[body["dedup_key"]] = state[body["event_action"]]
                payload = json.dumps({"status": "success", "dedup_key": body["dedup_key"]}).encode()
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/enqueue"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PagerDutyStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = "0") -> None:
        with self.lock:
            self.failures.extend([(status, retry_after)] * times)

    def actions(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(e["event_action"], e["dedup_key"]) for e in self.events]

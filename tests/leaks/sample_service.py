"""A deliberately leaky AI feature for the isolation audit's tests, served on loopback.

It remembers account references a user mentions and repeats them when asked, and caches
answers. Two switches make it leak the way real features do: ``leaky_cache`` keys the
response cache on the question only, ``leaky_memory`` keys the memory on the user id only.
With both off it is the fixed twin: everything keyed by tenant too.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REFERENCE = re.compile(r"\b[A-Z0-9]{10,16}\b")


@dataclass
class Feature:
    leaky_cache: bool = False
    leaky_memory: bool = False
    memory: dict[Any, list[str]] = field(default_factory=dict)
    cache: dict[Any, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def chat(self, tenant: str, user: str, message: str) -> str:
        memory_key = user if self.leaky_memory else (tenant, user)
        cache_key = message if self.leaky_cache else (tenant, message)
        with self.lock:
            if "remember" in message.lower():
                self.memory.setdefault(memory_key, []).extend(REFERENCE.findall(message))
                return "Noted, I will keep that in mind."
            if cache_key in self.cache:
                return self.cache[cache_key]
            refs = self.memory.get(memory_key, [])
            answer = f"Your account reference is {', '.join(dict.fromkeys(refs))}." if refs else "I have none on file."
            self.cache[cache_key] = answer
            return answer


def _handler(feature: Feature) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            try:
                body = json.loads(self.rfile.read(length))
                tenant = self.headers["X-Tenant"]
                answer = feature.chat(tenant, body["user"], body["message"])
                status, payload = 200, {"answer": answer, "tenant": tenant}
            except (KeyError, ValueError, TypeError):
                status, payload = 400, {"error": "need X-Tenant, user and message"}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def serve(feature: Feature) -> Iterator[str]:
    """Serve ``feature`` on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(feature))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

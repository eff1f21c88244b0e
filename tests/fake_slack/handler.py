from __future__ import annotations

import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fake_slack.api import handle_api
from tests.fake_slack.decoding import BadJson, decode_body
from tests.fake_slack.files import receive_upload, serve_file
from tests.fake_slack.responses import receive_response
from tests.fake_slack.state import State
from tests.fake_slack.wire import Reply

_SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Sign in | Slack</title></head><body>Sign in</body></html>"


def route(state: State, verb: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
    """Send one HTTP request to the part of the fake that plays that Slack host."""
    url = urlsplit(target)
    path = url.path
    content_type = headers.get("content-type", "")
    if path.startswith("/api/"):
        try:
            args, is_json = decode_body(content_type, raw, url.query)
        except BadJson:
            return Reply.json(200, {"ok": False, "error": "invalid_json"})
        return handle_api(state, path.removeprefix("/api/"), args, headers, is_json=is_json)
    if verb == "GET" and path.startswith("/files/"):
        return serve_file(state, path, headers)
    if verb == "GET" and path == "/signin":
        return Reply.text(200, _SIGN_IN_PAGE, "text/html; charset=utf-8")
    if verb == "POST" and path.startswith("/upload/v1/"):
        return receive_upload(state, path.removeprefix("/upload/v1/"), content_type, raw)
    if verb == "POST" and path.startswith("/response/"):
        return receive_response(state, path.removeprefix("/response/"), content_type, raw)
    return Reply.text(404, "not found")


class SlackHTTPServer(ThreadingHTTPServer):
    """A threaded loopback server that carries the fake's state to its handlers."""

    daemon_threads = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), RequestHandler)
        self.state = state


class RequestHandler(BaseHTTPRequestHandler):
    """Reads one request, answers it from the shared state under its lock."""

    server: SlackHTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read calls from the fake, not from stderr."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        headers = {key.lower(): value for key, value in self.headers.items()}
        state = self.server.state
        try:
            raw = self._read_body()
            with state.lock:
                reply = route(state, self.command, self.path, headers, raw)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            reply = Reply.text(500, "fake_slack crashed; see the test's stderr")
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

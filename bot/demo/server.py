"""Run the real service in a background thread on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from types import TracebackType

import httpx
import uvicorn
from starlette.applications import Starlette


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackgroundServer:
    """uvicorn on 127.0.0.1 in a thread; used by the demo, benchmarks and end-to-end tests."""

    def __init__(self, app: Starlette, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="afterlaunch-http", daemon=True)

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the afterlaunch service did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_service_process(
    settings_env: dict[str, str], port: int, timeout: float = 60.0, *, workers: int = 1
) -> subprocess.Popen:
    """``afterlaunch serve`` in a process of its own, configured only by ``settings_env`` (the
    caller's own Slack and afterlaunch variables are left out); returns once /healthz answers.
    Benchmarks use it so the service does not share an interpreter with its load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AFTERLAUNCH_", "DATABASE_URL"))}
    env.update(settings_env)
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with code {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the service did not start in time")

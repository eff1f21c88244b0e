"""Kill-switch serving: OFREP bulk evaluation throughput and p99 under 32 concurrent clients on loopback,
and the time from a confirmed toggle to the new value being served.

    .venv/bin/python bench/flags.py [--seconds 10] [--clients 32] [--flags 20] [--toggles 20]

The service runs in its own process (uvicorn, one worker, SQLite in a temp dir);
the load generator is asyncio with keep-alive HTTP/1.1 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from bot.config import load_settings
from bot.demo.server import free_port
from bot.flags.service import Change, apply_change
from bot.services import build_services
from storage import flags as store
from storage import keys as key_store

BODY = orjson.dumps({"context": {"targetingKey": "acme", "intent": "billing", "model": "gpt-4o-mini"}})


def _request(port: int, path: str, key: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY


async def _client(port: int, key: str, deadline: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = _request(port, "/ofrep/v1/evaluate/flags", key)
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode())
        latencies.append(time.perf_counter() - began)
    writer.close()


async def _load(port: int, key: str, clients: int, seconds: float) -> tuple[int, float, list[float]]:
    latencies: list[float] = []
    began = time.perf_counter()
    await asyncio.gather(*(_client(port, key, began + seconds, latencies) for _ in range(clients)))
    return len(latencies), time.perf_counter() - began, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--flags", type=int, default=20)
    parser.add_argument("--toggles", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="afterlaunch-bench-flags-"))
    env = {
        **os.environ,
        "AFTERLAUNCH_DATA_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'afterlaunch.db'}",
        "AFTERLAUNCH_CONFIG": str(folder / "none.toml"),
        "AFTERLAUNCH_SCHEDULER": "false",
        "AFTERLAUNCH_LOG_LEVEL": "WARNING",
    }
    env.pop("SLACK_BOT_TOKEN", None)
    settings = load_settings(data_dir=folder, database_url=env["DATABASE_URL"], config_file=folder / "none.toml")
    services = build_services(settings)
    now = datetime.now(UTC)
    with services.db.write_session() as session:
        for i in range(args.flags):
            store.upsert_config_flag(
                session=session,
                key=f"feature-{i}",
                description="bench",
                owner="",
                require_second_approver=False,
                now=now,
            )
        store.bump_version(session=session)
        _, key = key_store.create_key(session=session, name="bench", tenant=None, scopes={"flags"}, now=now)
    for i in range(0, args.flags, 4):  # some flags carry scoped kills
        apply_change(
            services, Change(f"feature-{i}", "kill", {"tenant": f"t{i}"}, "bench", "U0BENCH01"), approver="", now=now
        )
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        asyncio.run(_load(port, key, args.clients, 1.0))  # warm up
        count, elapsed, latencies = asyncio.run(_load(port, key, args.clients, args.seconds))
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        print(f"bulk evaluation: {args.flags} flags, {args.clients} clients, {args.seconds:.0f} s")
        print(f"  {count / elapsed:,.0f} requests/s   p50 {p50:.1f} ms   p99 {p99:.1f} ms   ({count:,} requests)")
        delays = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            for i in range(args.toggles):
                action = "kill" if i % 2 == 0 else "restore"
                change = Change("feature-1", action, {"tenant": "acme"}, "bench", "U0BENCH01")  # type: ignore[arg-type]
                apply_change(services, change, approver="", now=datetime.now(UTC))
                committed = time.perf_counter()
                want = action == "restore"
                while True:
                    r = client.post("/ofrep/v1/evaluate/flags/feature-1", content=BODY)
                    if r.json()["value"] is want:
                        break
                delays.append((time.perf_counter() - committed) * 1000)
        print(f"toggle to served ({args.toggles} toggles, committed -> next evaluation shows it):")
        print(f"  median {statistics.median(delays):.1f} ms   max {max(delays):.1f} ms")
    finally:
        server.terminate()
        server.wait(timeout=10)
        services.close()


if __name__ == "__main__":
    main()

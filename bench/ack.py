"""Slack ack latency: 50 concurrent signed slash commands against the running service.

    python bench/ack.py [--events 1000000] [--rounds 10]

Fills a SQLite database with 1M logged requests (kept in bench/out/ for the next
run), starts ``afterlaunch serve`` in its own process in Slack mode against the
Web API stand-in, then sends rounds of 50 concurrent signed ``/afterlaunch
status`` commands and measures the time until each HTTP response (the ack).
The work after the ack (reading the rollups, answering via response_url) runs
at the same time, as it would in production.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.demo.server import free_port, start_service_process
from bot.demo.traffic import make_event
from bot.ingest.service import Writer, ingest
from bot.services import build_services
from storage.models import LLMRequest
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, slash_body
from tests.slack_signing import signed_headers

OUT = Path(__file__).parent / "out"


def fill(db_path: Path, events: int) -> int:
    settings = load_settings(
        data_dir=OUT, database_url=f"sqlite:///{db_path}", config_file=OUT / "none.toml", secret_key="bench-secret"
    )
    services = build_services(settings)
    with services.db.session() as s:
        have = s.scalar(select(func.count()).select_from(LLMRequest)) or 0
    rng = random.Random(1)
    now = datetime.now(UTC)
    start = now - timedelta(days=30)
    step = timedelta(days=30) / max(events, 1)
    i = have
    began = time.perf_counter()
    while i < events:
        n = min(2000, events - i)
        batch = [make_event(rng, start + (i + k) * step) for k in range(n)]
        ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=now)
        i += n
        if i % 100_000 < n:
            print(f"  stored {i:,} events ({time.perf_counter() - began:.0f} s)", flush=True)
    services.db.searchable()  # as the service's indexer would have while they were ingested
    with services.db.session() as s:
        total = s.scalar(select(func.count()).select_from(LLMRequest)) or 0
    services.close()
    return total


def run_fake_slack(conn: Connection) -> None:
    """The Web API stand-in in its own process, so its work does not slow the measuring client."""
    with FakeSlack(rate_limit=False) as fake:
        conn.send((fake.token, fake.api_url))
        while (order := conn.recv()) != "stop":
            conn.send([fake.new_response_url() for _ in range(order)])
        conn.send(len(fake.responses()))


def serve(db_path: Path, token: str, api_url: str, port: int) -> subprocess.Popen:
    env = {
        "DATABASE_URL": f"sqlite:///{db_path}",
        "AFTERLAUNCH_DATA_DIR": str(OUT),
        "AFTERLAUNCH_CONFIG": str(OUT / "none.toml"),
        "AFTERLAUNCH_SECRET_KEY": "bench-secret",
        "AFTERLAUNCH_LOG_LEVEL": "WARNING",
        "AFTERLAUNCH_SCHEDULER": "false",
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
    }
    return start_service_process(env, port)


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends prepared bytes and reads one response.

    The load generator must cost little next to what it measures: httpx's async client spends
    about 5 ms of CPU per request here, as much as the service, so on two cores a burst of 50
    would mostly measure the client. Slack sends from its own machines.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def exchange(self, request: bytes) -> tuple[int, float]:
        t0 = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status, time.perf_counter() - t0

    def close(self) -> None:
        self.writer.close()


def prepared(port: int, body: bytes) -> bytes:
    headers = {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
    lines = ["POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def raw_round(conns: list[RawConnection], port: int, slack: Connection) -> list[float]:
    slack.send(len(conns))
    requests = [prepared(port, slash_body("/afterlaunch", "status", response_url=u)) for u in slack.recv()]
    results = await asyncio.gather(*(c.exchange(r) for c, r in zip(conns, requests, strict=True)))
    for status, _ in results:
        if status != 200:
            raise SystemExit(f"ack failed: HTTP {status}")
    return [elapsed for _, elapsed in results]


async def measure_raw(port: int, slack: Connection, rounds: int, concurrency: int) -> list[float]:
    conns = [await RawConnection.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    try:
        await raw_round(conns, port, slack)  # warm-up
        for _ in range(rounds):
            latencies += await raw_round(conns, port, slack)
            await asyncio.sleep(1.0)  # let the answers of the round drain, as separate bursts would
    finally:
        for c in conns:
            c.close()
    return latencies


async def round_of(client: httpx.AsyncClient, url: str, slack: Connection, n: int) -> list[float]:
    slack.send(n)
    bodies = [slash_body("/afterlaunch", "status", response_url=u) for u in slack.recv()]

    async def one(body: bytes) -> float:
        headers = {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        t0 = time.perf_counter()
        r = await client.post(url, content=body, headers=headers)
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"ack failed: {r.status_code} {r.text}")
        return elapsed

    return list(await asyncio.gather(*(one(b) for b in bodies)))


async def measure(port: int, slack: Connection, rounds: int, concurrency: int) -> list[float]:
    url = f"http://127.0.0.1:{port}/slack/events"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await round_of(client, url, slack, concurrency)  # warm-up
        for _ in range(rounds):
            latencies += await round_of(client, url, slack, concurrency)
            await asyncio.sleep(1.0)  # let the answers of the round drain, as separate bursts would
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: prepared bytes, or httpx's async client",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    db_path = OUT / f"ack-{args.events}.db"
    print(f"filling {db_path.name} with {args.events:,} logged requests (kept for later runs)", flush=True)
    stored = fill(db_path, args.events)
    print(f"machine: {os.cpu_count()} cores; {stored:,} requests stored")
    parent, child = multiprocessing.Pipe()
    slack = multiprocessing.get_context("spawn").Process(target=run_fake_slack, args=(child,), daemon=True)
    slack.start()
    token, api_url = parent.recv()
    port = free_port()
    proc = serve(db_path, token, api_url, port)
    try:
        clock = time.process_time()
        run = measure_raw if args.client == "raw" else measure
        latencies = asyncio.run(run(port, parent, args.rounds, args.concurrency))
        client_cpu_ms = (time.process_time() - clock) * 1000 / ((args.rounds + 1) * args.concurrency)
        time.sleep(2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        parent.send("stop")
        answered = parent.recv()
        slack.join(timeout=10)
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    print(f"{len(ms)} signed slash commands in rounds of {args.concurrency}; {answered} answered via response_url")
    print(f"load generator: {args.client}, {client_cpu_ms:.2f} ms of its own CPU per command")
    print(f"ack latency p50 {statistics.median(ms):.0f} ms, p99 {p99:.0f} ms, max {ms[-1]:.0f} ms")


if __name__ == "__main__":
    main()

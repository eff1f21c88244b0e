"""/alerts Ack latency with 10,000 open and 1M closed alerts stored.

    python bench/alerts_ack.py [--open 10000] [--closed 1000000] [--rounds 10] [--concurrency 20]

Fills a SQLite database with alert rows inserted directly (kept in bench/out/
for later runs), starts ``afterlaunch serve`` in its own process in Slack mode
against the Web API stand-in (in a process of its own too), then clicks the Ack
button of the ``/alerts`` list on distinct open alerts: rounds of concurrent
signed ``block_actions`` requests. The figure is the time until each HTTP
response (Slack's ack). The acknowledgement itself (row lock, update, card and
thread line into the outbox) runs right after the ack on the service's work
pool, at the same time as the next requests; the outbox sends the card updates
to the stand-in meanwhile, and the run prints how many acknowledgements landed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import orjson
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ack import RawConnection, prepared
from bot.config import load_settings
from bot.demo.server import free_port, start_service_process
from bot.services import build_services
from storage.alerts_models import Alert
from storage.models import SlackCard
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, block_action, interaction_body

OUT = Path(__file__).parent / "out"
CHUNK = 20_000
SEVERITIES = ("critical", "high", "medium", "low")


def _row(i: int, status: str, now: datetime) -> dict[str, object]:
    start = now - timedelta(minutes=i % 43_200)
    closed = status == "resolved"
    return {
        "fingerprint": f"bench:{status}:{i}",
        "source": ("alertmanager", "grafana", "afterlaunch")[i % 3],
        "status": status,
        "title": f"Bench alert {i}: provider errors above 5% for tenant t{i % 50}",
        "severity": SEVERITIES[i % 4],
        "tenant": f"t{i % 50}",
        "labels": orjson.dumps({"alertname": "ProviderErrors", "tenant": f"t{i % 50}"}).decode(),
        "annotations": "{}",
        "members": "[]",
        "starts_at": start,
        "ends_at": start + timedelta(minutes=7) if closed else None,
        "first_seen": start,
        "last_seen": start + timedelta(minutes=7) if closed else start,
        "deliveries": 1,
        "flips": "[]",
        "flapping": False,
        "channel": "#ai-oncall",
        "card_posted": not closed,
        "acked_by": "U0BENCH001" if closed else None,
        "acked_at": start + timedelta(minutes=2) if closed else None,
        "resolved_at": start + timedelta(minutes=7) if closed else None,
    }


def fill(db_path: Path, open_alerts: int, closed: int) -> tuple[list[int], int]:
    """Insert the alert rows once; return the ids of open, unacknowledged alerts and the total stored."""
    settings = load_settings(
        data_dir=OUT, database_url=f"sqlite:///{db_path}", config_file=OUT / "none.toml", secret_key="bench-secret"
    )
    services = build_services(settings)
    table = Alert.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    with services.db.session() as s:
        have_closed = s.scalar(select(func.count()).select_from(Alert).where(Alert.status == "resolved")) or 0
        have_open = s.scalar(select(func.count()).select_from(Alert).where(Alert.status == "firing")) or 0
    began = time.perf_counter()
    for status, want, have in (("resolved", closed, have_closed), ("firing", open_alerts, have_open)):
        for lo in range(have, want, CHUNK):
            rows = [_row(i, status, now) for i in range(lo, min(want, lo + CHUNK))]
            with services.db.write_engine.begin() as conn:
                conn.execute(table.insert(), rows)
            if (lo + CHUNK) % 200_000 < CHUNK:
                print(f"  stored {lo + len(rows):,} {status} alerts ({time.perf_counter() - began:.0f} s)", flush=True)
    with services.db.write_engine.begin() as conn:  # each open card was posted, so acks update it in Slack
        posted = {row[0] for row in conn.execute(select(SlackCard.card_key))}
        cards = [
            {
                "card_key": f"alert:{i}",
                "channel": "C0ONCALL01",
                "ts": f"1700000000.{i:06d}",
                "created_at": now,
                "updated_at": now,
            }
            for (i,) in conn.execute(select(Alert.id).where(Alert.status == "firing"))
            if f"alert:{i}" not in posted
        ]
        if cards:
            conn.execute(SlackCard.__table__.insert(), cards)  # type: ignore[attr-defined]
    with services.db.session() as s:
        total = s.scalar(select(func.count()).select_from(Alert)) or 0
        ids = list(s.scalars(select(Alert.id).where(Alert.status == "firing", Alert.acked_at.is_(None))))  # type: ignore[union-attr]
    services.close()
    return ids, total


def run_fake_slack(conn: Connection) -> None:
    """The Web API stand-in in its own process, so its work does not slow the measuring client."""
    with FakeSlack(rate_limit=False) as fake:
        conn.send((fake.token, fake.api_url))
        conn.recv()
        conn.send(len(fake.calls("chat.update")) + len(fake.calls("chat.postMessage")))


def serve(db_path: Path, token: str, api_url: str, port: int):  # type: ignore[no-untyped-def]
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


def click(port: int, alert_id: int) -> bytes:
    """The Ack button of one /alerts line, clicked: a signed block_actions request."""
    body = block_action("alert_ack", str(alert_id), user="U0BENCH002", message_ts=f"1700000000.{alert_id:06d}")
    return prepared(port, interaction_body(body))


async def measure(port: int, ids: list[int], rounds: int, concurrency: int) -> list[float]:
    conns = [await RawConnection.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    queue = iter(ids)
    try:
        for n in range(rounds + 1):
            requests = [click(port, next(queue)) for _ in conns]
            results = await asyncio.gather(*(c.exchange(r) for c, r in zip(conns, requests, strict=True)))
            if any(status != 200 for status, _ in results):
                raise SystemExit(f"ack failed: {[s for s, _ in results]}")
            if n:  # the first round warms up
                latencies += [elapsed for _, elapsed in results]
            await asyncio.sleep(1.0)
    finally:
        for c in conns:
            c.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--closed", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    db_path = OUT / f"alerts-ack-{args.open}-{args.closed}.db"
    print(f"filling {db_path.name}: {args.open:,} open and {args.closed:,} closed alerts (kept for later runs)")
    ids, total = fill(db_path, args.open, args.closed)
    needed = (args.rounds + 1) * args.concurrency
    if len(ids) < needed:
        raise SystemExit(f"only {len(ids)} unacknowledged alerts left; delete {db_path} to start afresh")
    parent, child = multiprocessing.Pipe()
    slack = multiprocessing.get_context("spawn").Process(target=run_fake_slack, args=(child,), daemon=True)
    slack.start()
    token, api_url = parent.recv()
    port = free_port()
    proc = serve(db_path, token, api_url, port)
    try:
        latencies = asyncio.run(measure(port, ids, args.rounds, args.concurrency))
        time.sleep(2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        parent.send("stop")
        updates = parent.recv()
        slack.join(timeout=10)
    settings = load_settings(
        data_dir=OUT, database_url=f"sqlite:///{db_path}", config_file=OUT / "none.toml", secret_key="bench-secret"
    )
    services = build_services(settings)
    with services.db.session() as s:
        acked = s.scalar(select(func.count()).select_from(Alert).where(Alert.acked_by == "U0BENCH002")) or 0
    services.close()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{total:,} alerts stored; {len(ms)} Ack clicks in rounds of {args.concurrency}")
    print(
        f"{acked} alerts acknowledged by the bench so far; {updates} card updates and thread lines reached the stand-in"
    )
    print(f"ack latency p50 {statistics.median(ms):.0f} ms, p99 {p99:.0f} ms, max {ms[-1]:.0f} ms (goal p99 <= 300 ms)")


if __name__ == "__main__":
    main()

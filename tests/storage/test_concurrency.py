"""Four writer processes for 30 s against one database: nothing lost, nothing counted twice."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.ingest.pricing import PriceTable
from bot.ingest.service import IngestConfig, Writer, ingest
from bot.services import Services
from storage import rollups
from storage.engine import connect
from storage.models import LLMRequest, RequestBody
from tests.ingest.factory import event

WRITERS = 4
SECONDS = float(os.environ.get("AFTERLAUNCH_CONCURRENCY_SECONDS", "30"))
SHARED_POOL = 400
"""Request ids every writer also sends: the same event arriving from several replicas at once."""


def writer(url: str, number: int, seconds: float, start_ts: float, queue: multiprocessing.Queue) -> None:
    db = connect(url, pool_size=2)
    cfg = IngestConfig(prices=PriceTable.load(), secret_key=b"concurrency")
    rng = random.Random(number)
    base = datetime.fromtimestamp(start_ts, UTC)
    sent: set[str] = set()
    accepted = duplicates = 0
    n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = []
        for _ in range(60):
            n += 1
            batch.append(f"w{number}-{n}")
        batch += [f"shared-{rng.randrange(SHARED_POOL)}" for _ in range(40)]
        events = [
            event(request_id=rid, timestamp=(base + timedelta(seconds=hash(rid) % 3600)).isoformat(), latency_ms=100.0)
            for rid in batch
        ]
        result = ingest(db, events, cfg=cfg, writer=Writer(None, None), now=base + timedelta(hours=2))
        assert result.rejected == 0, result.errors
        accepted += result.accepted
        duplicates += result.duplicates
        sent.update(batch)
    db.dispose()
    queue.put((sorted(sent), accepted, duplicates))


@pytest.mark.slow
def test_four_concurrent_writers_lose_nothing_and_duplicate_nothing(services: Services) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_ts = datetime(2026, 11, 25, tzinfo=UTC).timestamp()
    procs = [ctx.Process(target=writer, args=(services.db.url, i, SECONDS, start_ts, queue)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=SECONDS + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    sent = set().union(*(set(ids) for ids, _, _ in results))
    accepted = sum(a for _, a, _ in results)
    assert accepted == len(sent), "every distinct event is accepted exactly once across writers"
    assert sum(d for _, _, d in results) > 0, "the shared pool really did collide"
    with services.db.session() as s:
        stored = set(s.scalars(select(LLMRequest.request_id)))
        bodies = s.scalar(select(func.count()).select_from(RequestBody))
        stats = rollups.list_cohorts(session=s, start=int(start_ts), end=int(start_ts) + 7200)
    assert stored == sent
    assert bodies == len(sent)
    assert stats[0].totals["requests"] == len(sent)
    assert stats[0].totals["latency_count"] == len(sent)

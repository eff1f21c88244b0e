"""Builders for refusal tests: rollup rows written directly (days of traffic in a second) and real events."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.ingest.service import Writer, ingest
from bot.services import Services
from storage import rollups
from storage.models import COHORT_DIMENSIONS

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""A fixed 'now' for deterministic tests (a Friday noon)."""

Rate = Callable[[datetime], float]


def rollup_row(bucket: int, requests: int, refusals: int, **cohort: str) -> dict[str, Any]:
    """One rollup aggregate for a cohort (unset dimensions are '')."""
    row: dict[str, Any] = {d: cohort.get(d, "") for d in COHORT_DIMENSIONS}
    row.update(
        bucket=bucket, requests=requests, refusals=refusals, input_tokens=0, output_tokens=0, cached_tokens=0,
        cost_usd=0.0, unknown_cost=0, errors=0, timeouts=0, retries=0, latency_count=0, latency_sum_ms=0.0,
        latency_hist="{}",
    )  # fmt: skip
    return row


def write_traffic(
    services: Services,
    *,
    start: datetime,
    end: datetime,
    per_hour: float,
    rate: Rate,
    seed: int,
    category: str,
    tenant: str = "acme",
    model: str = "gpt-4o-mini",
    step_minutes: int = 1,
) -> None:
    """Binomial refusal counts per minute for one cohort, written into both rollup tables."""
    rng = random.Random(seed)
    minute_rows: list[dict[str, Any]] = []
    hours: dict[int, list[int]] = {}
    cohort = {"tenant": tenant, "intent": category, "category": category, "model": model, "prompt_version": "v1"}
    t = start
    while t < end:
        lam = per_hour * step_minutes / 60
        n = max(0, round(rng.gauss(lam, lam**0.5)))
        p = rate(t)
        k = sum(1 for _ in range(n) if rng.random() < p)
        bucket = int(t.timestamp())
        if n:
            minute_rows.append(rollup_row(bucket, n, k, **cohort))
            h = hours.setdefault(bucket // 3600 * 3600, [0, 0])
            h[0] += n
            h[1] += k
        t += timedelta(minutes=step_minutes)
    hour_rows = [rollup_row(b, n, k, **cohort) for b, (n, k) in sorted(hours.items())]
    with services.db.write_session() as session:
        conn = session.connection()
        for i in range(0, len(minute_rows), 5000):
            rollups.upsert(conn, rollups.MINUTE, minute_rows[i : i + 5000])
        rollups.upsert(conn, rollups.HOUR, hour_rows)


def step_rate(before: float, after: float, at: datetime) -> Rate:
    """A refusal rate that jumps at one moment."""
    return lambda t: after if t >= at else before


def send(services: Services, events: Iterable[dict[str, Any]], now: datetime) -> None:
    """Store events through the real ingest path."""
    result = ingest(services.db, list(events), cfg=services.ingest, writer=Writer(None, None), now=now)
    assert not result.errors, result.errors


def event(ts: datetime, n: int, **overrides: Any) -> dict[str, Any]:
    """A small valid event."""
    base: dict[str, Any] = {
        "request_id": f"req_{int(ts.timestamp())}_{n}",
        "timestamp": ts.isoformat().replace("+00:00", "Z"),
        "tenant": "acme",
        "prompt_version": "v1",
        "model": "gpt-4o-mini",
        "model_requested": "gpt-4o-mini",
        "provider": "openai",
        "system_fingerprint": "fp_old",
        "intent": "billing",
        "response": "Your invoice is under Settings > Billing.",
        "finish_reason": "stop",
        # A prompt on every event, as the assistant sends one.
        "prompt": {"system": "You are the help assistant.", "messages": [{"role": "user", "content": "Invoice?"}]},
    }
    base.update(overrides)
    return base

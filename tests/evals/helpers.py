"""Builders for evals tests: logged requests through the real ingest path, keys, feedback and offline runs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.evals import signals
from bot.evals.schema import SignalResult
from bot.ingest.service import Writer, ingest
from bot.services import Services
from storage import keys as key_store
from storage.models import IngestKey

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""A fixed 'now' (a Monday morning)."""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event(request_id: str, at: datetime, *, tenant: str = "acme", intent: str = "billing", version: str = "v1") -> dict:
    return {
        "request_id": request_id,
        "timestamp": iso(at),
        "tenant": tenant,
        "intent": intent,
        "prompt_version": version,
        "model": "gpt-4o-mini",
        "prompt": {"system": "be helpful", "messages": [{"role": "user", "content": f"question {request_id}"}]},
        "context": [{"doc_id": "kb-1", "source": "kb", "text": "the refund policy"}],
        "response": f"answer to {request_id}",
        "input_tokens": 10,
        "output_tokens": 5,
    }


def log_requests(services: Services, events: Iterable[dict[str, Any]], now: datetime = T0) -> None:
    batch = list(events)
    for start in range(0, len(batch), 1000):
        result = ingest(
            services.db,
            batch[start : start + 1000],
            cfg=services.ingest,
            writer=Writer(key_id=None, tenant=None),
            now=now,
        )
        assert result.rejected == 0, result.errors[:3]


def make_key(services: Services, tenant: str | None = None) -> IngestKey:
    with services.db.write_session() as session:
        key, _ = key_store.create_key(
            session=session, name=f"k-{tenant}", tenant=tenant, scopes={"ingest", "read"}, now=T0
        )
    return key


def feedback(services: Services, items: list[dict[str, Any]], *, key: IngestKey, now: datetime = T0) -> SignalResult:
    return signals.store_feedback(services, items, key=key, now=now)


def thumbs(prefix: str, n: int, positive: int, at: datetime) -> list[dict[str, Any]]:
    """n feedback items on requests prefix-0..n-1, the first ``positive`` thumbs up, the rest down."""
    return [
        {"request_id": f"{prefix}-{i}", "score": 1 if i < positive else -1, "timestamp": iso(at + timedelta(seconds=i))}
        for i in range(n)
    ]


def offline_run(
    services: Services, suite: str, started: datetime, cases: dict[str, tuple[int, int]], *, now: datetime = T0
) -> SignalResult:
    """A suite run with, per intent, (passed, total) cases."""
    results = [
        {"case_id": f"{intent}-{i}", "intent": intent, "passed": i < passed}
        for intent, (passed, total) in cases.items()
        for i in range(total)
    ]
    result, header = signals.store_run(services, {"suite": suite, "started_at": iso(started)}, results, now=now)
    assert header is not None
    return result

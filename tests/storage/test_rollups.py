"""Rollups must agree with the raw rows they summarise, on both databases."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import case, func, select
from sqlmodel import Session

from bot.ingest.service import Writer, ingest
from bot.services import Services
from storage import histogram, rollups
from storage.models import LLMRequest
from storage.requests import BODIES, REQUESTS
from tests.ingest.factory import event

BASE = datetime(2026, 11, 20, tzinfo=UTC)
NOW = BASE + timedelta(days=3)

event_strategy = st.fixed_dictionaries(
    {
        "minute": st.integers(min_value=0, max_value=3 * 24 * 60 - 1),
        "tenant": st.sampled_from(["acme", "globex", "initech"]),
        "intent": st.sampled_from([None, "billing", "account"]),
        "path": st.sampled_from([None, "fast", "retrieval"]),
        "prompt_version": st.sampled_from(["v1", "v2"]),
        "model": st.sampled_from(["gpt-4o-mini", "claude-haiku-4-5", "in-house-7b"]),
        "input_tokens": st.integers(min_value=0, max_value=50_000),
        "output_tokens": st.integers(min_value=0, max_value=5_000),
        "latency_ms": st.one_of(st.none(), st.floats(min_value=1, max_value=60_000)),
        "status": st.sampled_from(["ok", "ok", "ok", "error", "timeout"]),
        "refused": st.sampled_from([None, False, True]),
        "attempt": st.sampled_from([1, 1, 2, 3]),
    }
)


def as_event(spec: dict) -> dict:
    spec = dict(spec)
    ts = BASE + timedelta(minutes=spec.pop("minute"), seconds=17)
    return event(timestamp=ts.isoformat(), **spec)


def raw_totals(s: Session, start: int, end: int) -> dict[str, tuple]:
    rows = s.execute(
        select(
            LLMRequest.tenant,
            func.count(),
            func.sum(LLMRequest.input_tokens),
            func.sum(LLMRequest.output_tokens),
            func.coalesce(func.sum(LLMRequest.cost_usd), 0.0),
            func.sum(case((LLMRequest.cost_usd.is_(None), 1), else_=0)),
            func.sum(case((LLMRequest.status == "error", 1), else_=0)),
            func.sum(case((LLMRequest.refused.is_(True), 1), else_=0)),
            func.sum(case((LLMRequest.attempt > 1, 1), else_=0)),
        )
        .where(LLMRequest.ts_ms >= start * 1000, LLMRequest.ts_ms < end * 1000)
        .group_by(LLMRequest.tenant)
    ).all()
    return {t: tuple(rest) for t, *rest in rows}


def raw_latencies(s: Session, tenant: str, start: int, end: int) -> list[float]:
    stmt = select(LLMRequest.latency_ms).where(
        LLMRequest.tenant == tenant,
        LLMRequest.latency_ms.is_not(None),
        LLMRequest.ts_ms >= start * 1000,
        LLMRequest.ts_ms < end * 1000,
    )
    return list(s.scalars(stmt))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(event_strategy, min_size=1, max_size=150), st.integers(min_value=1, max_value=4))
def test_rollup_totals_equal_raw_totals(services: Services, specs: list[dict], batches: int) -> None:
    events = [as_event(s) for s in specs]
    for i in range(batches):
        ingest(services.db, events[i::batches], cfg=services.ingest, writer=Writer(None, None), now=NOW)
    full = (int(BASE.timestamp()), int(NOW.timestamp()))
    ragged = (full[0] + 37 * 60, full[1] - 5 * 3600 - 13 * 60)  # hourly rows inside, minute rows at the edges
    try:
        with services.db.session() as s:
            for start, end in (full, ragged):
                raw = raw_totals(s, start, end)
                stats = rollups.list_cohorts(session=s, start=start, end=end, group_by=["tenant"], with_latency=True)
                got = {x.cohort["tenant"]: x for x in stats}
                assert set(got) == set(raw)
                for tenant, (count, tin, tout, cost, unknown, errors, refusals, retries) in raw.items():
                    t = got[tenant].totals
                    assert (t["requests"], t["input_tokens"], t["output_tokens"]) == (count, tin, tout)
                    assert (t["unknown_cost"], t["errors"], t["refusals"], t["retries"]) == (
                        unknown,
                        errors,
                        refusals,
                        retries,
                    )
                    assert math.isclose(t["cost_usd"], cost, rel_tol=1e-9, abs_tol=1e-12)
                    assert got[tenant].latency == histogram.from_values(raw_latencies(s, tenant, start, end))
    finally:
        # Hypothesis reuses the function-scoped database between examples.
        with services.db.write_session() as s:
            for table in (rollups.MINUTE, rollups.HOUR, BODIES, REQUESTS):
                s.execute(table.delete())


def test_hourly_and_minute_paths_agree(services: Services) -> None:
    rng = random.Random(5)
    events = [
        event(
            timestamp=(BASE + timedelta(minutes=rng.randint(0, 2 * 24 * 60))).isoformat(),
            latency_ms=rng.uniform(10, 5000),
        )
        for _ in range(600)
    ]
    ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=NOW)
    start = int(BASE.timestamp()) + 23 * 60  # not hour-aligned: edges come from minute rows
    end = start + 30 * 3600 + 11 * 60
    with services.db.session() as s:
        mixed = rollups.list_cohorts(session=s, start=start, end=end, with_latency=True)[0]
        assert {t.name for t, _, _ in rollups._pieces(start, end)} == {"rollup_hour", "rollup_minute"}
        expected = sum(1 for e in events if start <= datetime.fromisoformat(e["timestamp"]).timestamp() < end)
    assert mixed.totals["requests"] == expected
    assert sum(mixed.latency.values()) == expected


def test_unknown_dimension_is_refused(services: Services) -> None:
    import pytest

    with services.db.session() as s, pytest.raises(ValueError, match="unknown cohort dimension"):
        rollups.list_cohorts(session=s, start=0, end=60, group_by=["colour"])

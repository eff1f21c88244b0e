"""The batch's rollup aggregates, folded on the ingest path, against the plain definition."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage import histogram, rollups
from storage.engine import Database
from storage.models import COHORT_DIMENSIONS

T0_MS = 1_794_999_600_000  # on an hour boundary

row_strategy = st.fixed_dictionaries(
    {
        "ts_ms": st.integers(min_value=T0_MS, max_value=T0_MS + 3 * 3600 * 1000),
        "tenant": st.sampled_from(["acme", "globex"]),
        "intent": st.sampled_from(["", "billing"]),
        "category": st.sampled_from(["", "billing"]),
        "path": st.sampled_from(["", "retrieval"]),
        "prompt_version": st.just("v1"),
        "model": st.sampled_from(["gpt-4o-mini", "in-house-7b"]),
        "api_key_id": st.sampled_from(["", "key-1"]),
        "input_tokens": st.integers(min_value=0, max_value=50_000),
        "output_tokens": st.integers(min_value=0, max_value=5_000),
        "cached_tokens": st.integers(min_value=0, max_value=100),
        "cost_usd": st.one_of(st.none(), st.floats(min_value=0, max_value=10)),
        "status": st.sampled_from(["ok", "error", "timeout"]),
        "refused": st.sampled_from([None, False, True]),
        "attempt": st.sampled_from([1, 2]),
        "latency_ms": st.one_of(st.none(), st.just(0.0), st.floats(min_value=0, max_value=100_000)),
    }
)


def by_definition(rows: list[dict[str, Any]], bucket_seconds: int) -> dict[tuple, dict[str, Any]]:
    """Each (bucket, cohort) summed row by row, as the rollup columns are defined."""
    out: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (r["ts_ms"] // 1000 // bucket_seconds * bucket_seconds, *(r[d] for d in COHORT_DIMENSIONS))
        a = out.setdefault(key, {c: 0 for c in rollups.SUMMED} | {"latencies": []})
        a["requests"] += 1
        for c in ("input_tokens", "output_tokens", "cached_tokens"):
            a[c] += r[c]
        a["cost_usd"] += r["cost_usd"] or 0.0
        a["unknown_cost"] += r["cost_usd"] is None
        a["errors"] += r["status"] == "error"
        a["timeouts"] += r["status"] == "timeout"
        a["refusals"] += bool(r["refused"])
        a["retries"] += r["attempt"] > 1
        if r["latency_ms"] is not None:
            a["latency_count"] += 1
            a["latency_sum_ms"] += r["latency_ms"]
            a["latencies"].append(r["latency_ms"])
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(row_strategy, max_size=120))
def test_aggregates_are_the_defined_sums_in_lock_order(rows: list[dict[str, Any]]) -> None:
    for folded, bucket_seconds in zip(rollups.aggregate(rows), (60, 3600), strict=True):
        keys = [a[: 1 + len(COHORT_DIMENSIONS)] for a in folded]
        assert keys == sorted(keys)  # one lock order for every writer
        expected = by_definition(rows, bucket_seconds)
        assert set(keys) == set(expected)
        for a in folded:
            got = dict(zip(rollups.WITH_TTFT, a, strict=True))
            want = expected[tuple(a[: 1 + len(COHORT_DIMENSIONS)])]
            for c in rollups.SUMMED:
                assert math.isclose(got[c], want[c], rel_tol=1e-12, abs_tol=1e-12), c
                assert isinstance(got[c], float) == (c in ("cost_usd", "latency_sum_ms")), c
            assert histogram.decode(got["latency_hist"]) == histogram.from_values(want["latencies"])


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.none(), st.just(""), st.lists(st.floats(min_value=0, max_value=1e6), max_size=30)),
    st.one_of(st.none(), st.just(""), st.lists(st.floats(min_value=0, max_value=1e6), max_size=30)),
)
def test_sql_histogram_merge_adds_counts(a: list[float] | str | None, b: list[float] | str | None) -> None:
    def text(values: list[float] | str | None) -> str | None:
        return histogram.encode(histogram.from_values(values)) if isinstance(values, list) else values

    merged = histogram.decode(histogram.merge_encoded(text(a), text(b)))
    counts = [histogram.from_values(v) for v in (a, b) if isinstance(v, list)]
    assert merged == (histogram.merge(*counts) if len(counts) == 2 else counts[0] if counts else {})


def test_upsert_takes_tuples_and_dicts_alike(db: Database) -> None:
    rows = [dict(r, ts_ms=T0_MS + i * 20_000) for i, r in enumerate([ROW] * 6)]
    minute, hour = rollups.aggregate(rows)
    with db.write_session() as session:
        conn = session.connection()
        rollups.upsert(conn, rollups.MINUTE, minute)
        rollups.upsert(conn, rollups.MINUTE, [dict(zip(rollups.WITH_TTFT, a, strict=True)) for a in minute])
        rollups.add_aggregates(conn, ([], hour))
    with db.session() as session:
        stored = session.execute(select(rollups.MINUTE.c.requests, rollups.MINUTE.c.latency_hist)).all()
        hourly = session.execute(select(rollups.HOUR.c.requests)).scalars().all()
    assert [n for n, _ in stored] == [6, 6]  # 3 rows in each of two minutes, written twice
    assert sum(sum(histogram.decode(h).values()) for _, h in stored) == 12
    assert hourly == [6]


ROW: dict[str, Any] = {
    "tenant": "acme",
    "intent": "billing",
    "category": "billing",
    "path": "",
    "prompt_version": "v1",
    "model": "gpt-4o-mini",
    "api_key_id": "",
    "input_tokens": 100,
    "output_tokens": 20,
    "cached_tokens": 0,
    "cost_usd": 0.001,
    "status": "ok",
    "refused": False,
    "attempt": 1,
    "latency_ms": 850.0,
}

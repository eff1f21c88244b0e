"""Rollup rows written straight into storage, for hand-computed burn cases."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.services import Services
from storage import rollups
from storage.models import COHORT_DIMENSIONS

DEFAULTS = {
    "intent": "billing",
    "category": "billing",
    "path": "retrieval",
    "prompt_version": "v1",
    "model": "gpt-4o-mini",
}


def rollup_row(bucket: int, cost: float, requests: int, **dims: str) -> dict[str, Any]:
    row: dict[str, Any] = {"bucket": bucket}
    for d in COHORT_DIMENSIONS:
        row[d] = dims.get(d, DEFAULTS.get(d, ""))
    row.update(dict.fromkeys(rollups.SUMMED, 0))
    row.update(requests=requests, cost_usd=cost, latency_sum_ms=0.0, latency_hist="{}")
    return row


def write_minutes(services: Services, minutes: list[dict[str, Any]]) -> None:
    """Store minute rows and the hour rows they add up to."""
    hours: dict[tuple, dict[str, Any]] = {}
    for m in minutes:
        key = (m["bucket"] // 3600 * 3600, *(m[d] for d in COHORT_DIMENSIONS))
        h = hours.get(key)
        if h is None:
            hours[key] = {**m, "bucket": key[0]}
        else:
            h["requests"] += m["requests"]
            h["cost_usd"] += m["cost_usd"]
    by_key: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for m in minutes:
        by_key[(m["bucket"], *(m[d] for d in COHORT_DIMENSIONS))] = m
    with services.db.write_session() as session:
        conn = session.connection()
        rows = [by_key[k] for k in sorted(by_key)]
        for i in range(0, len(rows), 2000):
            rollups.upsert(conn, rollups.MINUTE, [_values(r) for r in rows[i : i + 2000]])
        hrows = [hours[k] for k in sorted(hours)]
        for i in range(0, len(hrows), 2000):
            rollups.upsert(conn, rollups.HOUR, [_values(r) for r in hrows[i : i + 2000]])


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    """A row as ``rollups.upsert`` takes it: its values in ``UPSERT_COLUMNS`` order."""
    return tuple(row[c] for c in rollups.UPSERT_COLUMNS)

"""The rollup rows N requests over 30 days would leave, with real latency histograms, written straight in.

Cohorts: six tenants x four intents x three paths x two models. Each day's per-minute counts
are Poisson around a daily cycle; every request gets a log-normal latency around its path's
median, and the per-minute and per-hour histograms are the bucket counts of those latencies,
exactly what ingestion's fold would have stored.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from bot.latency.world import FALLBACK, INTENTS, TENANTS
from storage import histogram, rollups

PATHS = (("fast", 450.0, 0.77), ("cached", 120.0, 0.20), (FALLBACK, 2600.0, 0.03))
MODELS = (("gpt-4o-mini", 1.0, 0.7), ("claude-3-5-haiku", 1.3, 0.3))
LOG_GAMMA = math.log(histogram.GAMMA)


def _cycle(start: int) -> np.ndarray:
    hours = np.array([datetime.fromtimestamp(start + m * 60, UTC).hour for m in range(1440)])
    w = 0.35 + 0.65 * np.exp(-(((hours - 14) / 5.0) ** 2))
    return w / w.mean()


def _row(bucket: int, cohort: tuple[str, str, str, str], requests: int, errors: int, hist: str) -> tuple[Any, ...]:
    tenant, intent, path, model = cohort
    dims = {"tenant": tenant, "intent": intent, "category": intent, "path": path, "prompt_version": "v1",
            "model": model, "api_key_id": ""}  # fmt: skip
    summed = {c: 0 for c in rollups.SUMMED}
    summed.update(requests=requests, errors=errors, latency_count=requests, cost_usd=0.0004 * requests)
    return (bucket, *(dims[d] for d in rollups.COHORT_DIMENSIONS), *(summed[c] for c in rollups.SUMMED), hist)


def _hists(cells: np.ndarray, buckets: np.ndarray) -> dict[int, str]:
    """cell id -> encoded histogram of the bucket indices falling in that cell."""
    order = np.lexsort((buckets, cells))
    c, b = cells[order], buckets[order]
    keys = np.stack([c, b], axis=1)
    uniq, counts = np.unique(keys, axis=0, return_counts=True)
    out: dict[int, dict[str, int]] = {}
    for (cell, bucket), n in zip(uniq.tolist(), counts.tolist(), strict=True):
        out.setdefault(cell, {})[str(bucket)] = n
    return {cell: orjson.dumps(h).decode() for cell, h in out.items()}


def write_volume(conn: Any, *, start: int, days: int, requests: int, seed: int = 1) -> tuple[int, int, int]:
    """Write minute and hour rows for ``requests`` over ``days`` from ``start``; (requests, minute rows, hour rows)."""
    rng = np.random.default_rng(seed)
    cohorts, weights, medians = [], [], []
    tw = np.array([1 / (i + 1) ** 0.7 for i in range(len(TENANTS))])
    tw /= tw.sum()
    for ti, t in enumerate(TENANTS):
        for intent in INTENTS:
            for path, median, pw in PATHS:
                for model, factor, mw in MODELS:
                    cohorts.append((t, intent, path, model))
                    weights.append(tw[ti] / len(INTENTS) * pw * mw)
                    medians.append(median * factor)
    wv, med = np.array(weights) / sum(weights), np.array(medians)
    n_c = len(cohorts)
    cycle = _cycle(start)
    per_minute = requests / (days * 1440)
    total = n_min = n_hour = 0
    for d in range(days):
        day0 = start + d * 86400
        counts = rng.poisson(per_minute * cycle[:, None] * wv[None, :])  # [minute, cohort]
        total += int(counts.sum())
        cell_ids = np.repeat(np.arange(1440 * n_c), counts.ravel())
        cohort_of = cell_ids % n_c
        lat = med[cohort_of] * np.exp(rng.normal(0, 0.45, size=cell_ids.size))
        buckets = np.ceil(np.log(lat) / LOG_GAMMA).astype(np.int64)
        minute_h = _hists(cell_ids, buckets)
        hour_cells = (cell_ids // n_c) // 60 * n_c + cohort_of
        hour_h = _hists(hour_cells, buckets)
        errors = rng.binomial(counts, 0.004)
        rows = [
            _row(day0 + int(m) * 60, cohorts[c], int(counts[m, c]), int(errors[m, c]), minute_h[int(m) * n_c + int(c)])
            for m, c in zip(*np.nonzero(counts), strict=True)
        ]
        n_min += _upsert(conn, rollups.MINUTE, rows)
        hc = counts.reshape(24, 60, n_c).sum(axis=1)
        he = errors.reshape(24, 60, n_c).sum(axis=1)
        rows = [
            _row(day0 + int(h) * 3600, cohorts[c], int(hc[h, c]), int(he[h, c]), hour_h[int(h) * n_c + int(c)])
            for h, c in zip(*np.nonzero(hc), strict=True)
        ]
        n_hour += _upsert(conn, rollups.HOUR, rows)
    return total, n_min, n_hour


def _upsert(conn: Any, table: Any, rows: list[tuple[Any, ...]]) -> int:
    for i in range(0, len(rows), 5000):
        rollups.upsert(conn, table, rows[i : i + 5000])
    return len(rows)

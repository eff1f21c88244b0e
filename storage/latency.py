"""Latency queries over the rollups: request counts per path by minute, and histograms by cohort and time.

Everything here reads the per-minute and per-hour rollups, never the raw requests, so a
query costs what its window costs. Histograms come back still encoded: the caller merges
only the groups it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import and_, func, literal, select
from sqlmodel import Session

from storage.models import COHORT_DIMENSIONS, LLMRequest
from storage.rollups import HOUR, MINUTE, _pieces

LATENCY_DIMENSIONS = ("tenant", "intent", "path", "model")
"""The rollup dimensions ``/latency`` and the latency detector group by."""


class LatencyRow(NamedTuple):
    """One stored rollup row's latency share: its time bucket, cohort, counts and encoded histogram."""

    bucket: int
    tenant: str
    intent: str
    path: str
    model: str
    requests: int
    errors: int
    timeouts: int
    hist: str
    ttft: str = "{}"


def _check(where: dict[str, str] | None) -> None:
    unknown = set(where or {}) - set(COHORT_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown cohort dimension(s): {', '.join(sorted(unknown))}")


def list_counts(
    *,
    session: Session,
    start: int,
    end: int,
    bucket_seconds: int = 60,
    dims: Sequence[str] = ("intent", "path"),
    where: dict[str, str] | None = None,
) -> list[tuple[Any, ...]]:
    """``(bucket, *dims, requests, errors, timeouts)`` per time bucket and cohort over [start, end).

    Hour rows serve hour-sized buckets over an hour-aligned window, minute rows everything else;
    ``bucket_seconds=0`` folds the whole window into one bucket (reported as ``start``).
    """
    _check(where)
    unknown = set(dims) - set(COHORT_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown cohort dimension(s): {', '.join(sorted(unknown))}")
    whole_hours = start % 3600 == 0 and end % 3600 == 0
    use_hours = whole_hours and (bucket_seconds % 3600 == 0)
    table = HOUR if use_hours else MINUTE
    native = 3600 if use_hours else 60
    if bucket_seconds == 0:
        slot: Any = literal(start)
    elif bucket_seconds == native:
        slot = table.c.bucket
    else:
        slot = table.c.bucket - (table.c.bucket % bucket_seconds)
    cols = [table.c[d] for d in dims]
    conds = [table.c.bucket >= start, table.c.bucket < end]
    conds += [table.c[k] == v for k, v in (where or {}).items()]
    sums = (func.sum(table.c.requests), func.sum(table.c.errors), func.sum(table.c.timeouts))
    group = [*cols] if bucket_seconds == 0 else [slot, *cols]
    stmt = select(slot, *cols, *sums).where(and_(*conds))
    if group:
        stmt = stmt.group_by(*group)
    out = []
    for row in session.execute(stmt):
        if row[-3] is None:
            continue
        out.append((int(row[0]), *row[1:-3], int(row[-3]), int(row[-2] or 0), int(row[-1] or 0)))
    return out


def list_latency_rows(
    *,
    session: Session,
    start: int,
    end: int,
    where: dict[str, str] | None = None,
    intents: Sequence[str] | None = None,
) -> list[LatencyRow]:
    """Every rollup row of [start, end) with its histogram, reading hour rows for the whole hours
    of a long window: the caller folds them into whatever grouping it shows."""
    _check(where)
    out: list[LatencyRow] = []
    for table, lo, hi in _pieces(start, end):
        cols = [table.c.bucket, *(table.c[d] for d in LATENCY_DIMENSIONS)]
        conds = [table.c.bucket >= lo, table.c.bucket < hi]
        conds += [table.c[k] == v for k, v in (where or {}).items()]
        if intents is not None:
            conds.append(table.c.intent.in_(list(intents)))
        stmt = select(
            *cols, table.c.requests, table.c.errors, table.c.timeouts, table.c.latency_hist, table.c.ttft_hist
        ).where(and_(*conds))
        # A named tuple straight from the driver's tuple: tens of thousands of rows per 7-day view.
        out.extend(map(LatencyRow._make, session.connection().execute(stmt).fetchall()))
    return out


def list_names(
    *,
    session: Session,
    start: int,
    end: int,
    dimensions: Sequence[str] = ("intent", "path"),
    tenant: str | None = None,
) -> dict[str, list[str]]:
    """The values each dimension took over [start, end) in hour rows (one tenant's): what an unknown name is told."""
    out: dict[str, list[str]] = {}
    for d in dimensions:
        col = HOUR.c[d]
        conds = [HOUR.c.bucket >= start, HOUR.c.bucket < end]
        if tenant is not None:
            conds.append(HOUR.c.tenant == tenant)
        stmt = select(col).where(*conds).group_by(col).order_by(col)
        out[d] = [v for (v,) in session.execute(stmt) if v]
    return out


def get_first_bucket(*, session: Session, intent: str | None = None) -> int | None:
    """The first hour any traffic (of one intent) was seen: how young the history is."""
    stmt = select(func.min(HOUR.c.bucket))
    if intent is not None:
        stmt = stmt.where(HOUR.c.intent == intent)
    value = session.execute(stmt).scalar()
    return None if value is None else int(value)


def list_users_hit(*, session: Session, start: int, end: int, intent: str, path: str) -> int:
    """Distinct users (hashed) whose requests took ``path`` for ``intent`` in [start, end): a count, not a latency."""
    t = LLMRequest.__table__
    stmt = select(func.count(func.distinct(t.c.user_hash))).where(
        t.c.ts_ms >= start * 1000, t.c.ts_ms < end * 1000, t.c.intent == intent, t.c.path == path
    )
    return int(session.execute(stmt).scalar() or 0)


def list_slowest(*, session: Session, start: int, end: int, where: dict[str, str], limit: int = 3) -> list[str]:
    """Request ids of the slowest requests in a cohort: samples for the card, never used for percentiles."""
    _check(where)
    t = LLMRequest.__table__
    conds = [t.c.ts_ms >= start * 1000, t.c.ts_ms < end * 1000, t.c.latency_ms.is_not(None)]
    conds += [t.c[k] == v for k, v in where.items()]
    stmt = select(t.c.request_id).where(and_(*conds)).order_by(t.c.latency_ms.desc()).limit(limit)
    return [r for (r,) in session.execute(stmt)]


def list_failures(
    *, session: Session, start: int, end: int, models: Sequence[str], limit: int = 8
) -> list[tuple[str, str, int]]:
    """(status, finish_reason, count) of failed requests on these models: what the provider answered."""
    t = LLMRequest.__table__
    reason = func.coalesce(t.c.finish_reason, "")
    stmt = (
        select(t.c.status, reason, func.count())
        .where(t.c.ts_ms >= start * 1000, t.c.ts_ms < end * 1000, t.c.status != "ok", t.c.model.in_(list(models)))
        .group_by(t.c.status, reason)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [(s, r, int(n)) for s, r, n in session.execute(stmt)]

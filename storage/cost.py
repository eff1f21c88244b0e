"""Queries of the cost capability: budgets and their audit, alarm state, provider costs, spend series."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from storage.cost_models import CostBudget, CostBudgetAudit, ProviderCost
from storage.dialect import upsert_insert
from storage.models import COHORT_DIMENSIONS, LLMRequest
from storage.rollups import HOUR, HOURLY_FROM_SECONDS, MINUTE


def cohort_json(cohort: dict[str, str]) -> str:
    """The canonical text of a cohort, so equal cohorts are equal rows."""
    return json.dumps(dict(sorted(cohort.items())), separators=(",", ":"))


def list_budgets(*, session: Session) -> list[CostBudget]:
    return list(session.scalars(select(CostBudget).order_by(CostBudget.cohort, CostBudget.period)))


def set_budget(
    *, session: Session, cohort: dict[str, str], period: str, usd: float, user_id: str, now: datetime
) -> float | None:
    """Create or change a budget and audit it; returns the previous amount (None when new)."""
    key = cohort_json(cohort)
    row = session.scalars(select(CostBudget).where(CostBudget.cohort == key, CostBudget.period == period)).first()
    old = row.usd if row else None
    if row is None:
        row = CostBudget(cohort=key, period=period, usd=usd, set_by=user_id, updated_at=now)
    else:
        row.usd, row.set_by, row.updated_at = usd, user_id, now
    session.add(row)
    session.add(
        CostBudgetAudit(at=now, user_id=user_id, action="set", cohort=key, period=period, old_usd=old, new_usd=usd)
    )
    return old


def remove_budget(*, session: Session, cohort: dict[str, str], period: str, user_id: str, now: datetime) -> bool:
    """Delete a Slack-set budget and audit it; False when there was none."""
    key = cohort_json(cohort)
    row = session.scalars(select(CostBudget).where(CostBudget.cohort == key, CostBudget.period == period)).first()
    if row is None:
        return False
    session.delete(row)
    session.add(CostBudgetAudit(at=now, user_id=user_id, action="remove", cohort=key, period=period, old_usd=row.usd))
    return True


def list_budget_audit(*, session: Session, limit: int = 20) -> list[CostBudgetAudit]:
    return list(session.scalars(select(CostBudgetAudit).order_by(CostBudgetAudit.id.desc()).limit(limit)))


def upsert_provider_costs(*, session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Store the provider's figures; a re-import of a day replaces it (providers revise recent days)."""
    if not rows:
        return 0
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["provider"], r["day"], r["model"])
        if key in merged:
            merged[key]["usd"] += r["usd"]
        else:
            merged[key] = {**r, "imported_at": now}
    table = ProviderCost.__table__
    conn = session.connection()
    stmt = upsert_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["provider", "day", "model"],
        set_={"usd": stmt.excluded.usd, "source": stmt.excluded.source, "imported_at": stmt.excluded.imported_at},
    )
    conn.execute(stmt, [merged[k] for k in sorted(merged)])
    return len(merged)


def list_provider_costs(*, session: Session, first_day: str, last_day: str) -> list[ProviderCost]:
    stmt = select(ProviderCost).where(ProviderCost.day >= first_day, ProviderCost.day <= last_day)
    return list(session.scalars(stmt.order_by(ProviderCost.day, ProviderCost.model)))


def _conds(table: Any, start: int, end: int, where: dict[str, str] | None) -> list[Any]:
    unknown = set(where or {}) - set(COHORT_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown cohort dimension(s): {', '.join(sorted(unknown))}")
    return [table.c.bucket >= start, table.c.bucket < end, *(table.c[k] == v for k, v in (where or {}).items())]


def list_spend_series(
    *, session: Session, start: int, end: int, bucket_seconds: int, where: dict[str, str] | None = None
) -> list[tuple[int, float]]:
    """Spend per bucket over [start, end): hourly rows for buckets of an hour or more, minute rows otherwise."""
    table = HOUR if bucket_seconds >= 3600 else MINUTE
    stmt = (
        select(table.c.bucket, func.sum(table.c.cost_usd))
        .where(and_(*_conds(table, start, end, where)))
        .group_by(table.c.bucket)
    )
    acc: dict[int, float] = {}
    for bucket, cost in session.execute(stmt):
        b = int(bucket) // bucket_seconds * bucket_seconds
        acc[b] = acc.get(b, 0.0) + float(cost or 0)
    return sorted(acc.items())


def _pieces(start: int, end: int) -> list[tuple[Any, int, int]]:
    """Hourly rows for the whole hours of a long window, minute rows for its edges (as ``rollups.list_cohorts``)."""
    if end - start < HOURLY_FROM_SECONDS:
        return [(MINUTE, start, end)]
    h0, h1 = -(-start // 3600) * 3600, end // 3600 * 3600
    return [(HOUR, h0, h1)] + [(MINUTE, lo, hi) for lo, hi in ((start, h0), (h1, end)) if lo < hi]


def list_spend(
    *,
    session: Session,
    start: int,
    end: int,
    group_by: Sequence[str] = (),
    bucket_seconds: int | None = None,
    where: dict[str, str] | None = None,
) -> list[tuple[int | None, tuple[str, ...], float, int]]:
    """(bucket start or None, cohort values, spend, requests) over [start, end), one pass per rollup table.

    Only the two figures ``/cost`` shows are summed, and per-bucket series come from the same scan.
    """
    acc: dict[tuple[int | None, tuple[str, ...]], list[float]] = {}
    for table, lo, hi in _pieces(start, end):
        # Grouping by bucket first follows the (bucket, ...) unique index, so the database aggregates as it
        # reads instead of sorting every row; the outer query folds those small groups.
        inner = (
            select(
                table.c.bucket.label("bucket"),
                *(table.c[d] for d in group_by),
                func.sum(table.c.cost_usd).label("cost"),
                func.sum(table.c.requests).label("n"),
            )
            .where(and_(*_conds(table, lo, hi, where)))
            .group_by(table.c.bucket, *(table.c[d] for d in group_by))
            .subquery()
        )
        keys: list[Any] = [inner.c[d] for d in group_by]
        if bucket_seconds:
            keys.insert(0, (inner.c.bucket - inner.c.bucket % bucket_seconds).label("b"))
        stmt = select(*keys, func.sum(inner.c.cost), func.sum(inner.c.n)).group_by(*keys)
        for row in session.execute(stmt):
            bucket = int(row[0]) if bucket_seconds else None
            vals = tuple(row[1 if bucket_seconds else 0 : len(keys)])
            a = acc.setdefault((bucket, vals), [0.0, 0])
            a[0] += float(row[-2] or 0)
            a[1] += int(row[-1] or 0)
    return [(b, v, c, int(n)) for (b, v), (c, n) in acc.items()]


def list_hourly_spend(
    *, session: Session, start: int, end: int, dimensions: Sequence[str]
) -> list[tuple[int, tuple[str, ...], float, int]]:
    """(hour, values of ``dimensions``, spend, requests) rows from hourly rollups: the seasonal baseline's input."""
    dims = [HOUR.c[d] for d in dimensions]
    stmt = (
        select(HOUR.c.bucket, *dims, func.sum(HOUR.c.cost_usd), func.sum(HOUR.c.requests))
        .where(and_(*_conds(HOUR, start, end, None)))
        .group_by(HOUR.c.bucket, *dims)
    )
    return [(int(row[0]), tuple(row[1:-2]), float(row[-2] or 0), int(row[-1] or 0)) for row in session.execute(stmt)]


def list_cohort_spend(
    *,
    session: Session,
    start: int,
    end: int,
    dimensions: Sequence[str],
    hourly: bool,
    where: dict[str, str] | None = None,
) -> list[tuple[tuple[str, ...], float, int]]:
    """Spend and requests per cohort over [start, end) from one rollup table (hourly rows need whole hours)."""
    table = HOUR if hourly else MINUTE
    dims = [table.c[d] for d in dimensions]
    stmt = (
        select(*dims, func.sum(table.c.cost_usd), func.sum(table.c.requests))
        .where(and_(*_conds(table, start, end, where)))
        .group_by(*dims)
    )
    return [(tuple(row[:-2]), float(row[-2] or 0), int(row[-1] or 0)) for row in session.execute(stmt)]


def list_window_spend(
    *, session: Session, end: int, starts: dict[str, int], dimensions: Sequence[str]
) -> dict[str, list[tuple[tuple[str, ...], float, int]]]:
    """Spend and requests per cohort of several minute windows ending at ``end``, in one pass over minute rows."""
    dims = [MINUTE.c[d] for d in dimensions]
    sums = []
    for lo in starts.values():
        inside = MINUTE.c.bucket >= lo
        sums += [
            func.sum(case((inside, MINUTE.c.cost_usd), else_=0)),
            func.sum(case((inside, MINUTE.c.requests), else_=0)),
        ]
    stmt = select(*dims, *sums).where(and_(*_conds(MINUTE, min(starts.values()), end, None))).group_by(*dims)
    out: dict[str, list[tuple[tuple[str, ...], float, int]]] = {name: [] for name in starts}
    k = len(dims)
    for row in session.execute(stmt):
        vals = tuple(row[:k])
        for i, name in enumerate(starts):
            cost, n = float(row[k + 2 * i] or 0), int(row[k + 2 * i + 1] or 0)
            if n or cost:
                out[name].append((vals, cost, n))
    return out


def list_daily_cost_by_model(*, session: Session, start: int, end: int) -> list[tuple[int, str, float]]:
    """(day start, model, computed spend) from hourly rollups, for reconciliation with the provider."""
    stmt = (
        select(HOUR.c.bucket, HOUR.c.model, func.sum(HOUR.c.cost_usd))
        .where(HOUR.c.bucket >= start, HOUR.c.bucket < end)
        .group_by(HOUR.c.bucket, HOUR.c.model)
    )
    acc: dict[tuple[int, str], float] = {}
    for bucket, model, cost in session.execute(stmt):
        key = (int(bucket) // 86400 * 86400, model)
        acc[key] = acc.get(key, 0.0) + float(cost or 0)
    return [(d, m, c) for (d, m), c in sorted(acc.items())]


def list_seen_values(
    *, session: Session, dimension: str, start: int, end: int, where: dict[str, str] | None = None
) -> set[str]:
    """Values of a dimension seen in hourly rollups over a window (keys, prompt versions, models known before)."""
    col = HOUR.c[dimension]
    stmt = select(col).where(and_(*_conds(HOUR, start, end, where))).group_by(col)
    return {row[0] for row in session.execute(stmt)}


@dataclass(frozen=True)
class RequestRow:
    """The figures of one request attribution needs."""

    request_id: str
    ts_ms: int
    tenant: str
    session_id: str | None
    trace_id: str | None
    prompt_version: str
    model: str
    model_requested: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    status: str
    attempt: int
    agent_step: int | None
    api_key_id: str
    client_ip: str | None


_ROW_COLUMNS = [LLMRequest.__table__.c[name] for name in RequestRow.__dataclass_fields__]


def list_request_rows(
    *, session: Session, start_ms: int, end_ms: int, where: dict[str, str] | None = None, limit: int = 20_000
) -> list[RequestRow]:
    """The most recent requests of a cohort in a window, capped: attribution reads these only when an alarm fires."""
    table = LLMRequest.__table__
    unknown = set(where or {}) - set(COHORT_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown cohort dimension(s): {', '.join(sorted(unknown))}")
    conds = [table.c.ts_ms >= start_ms, table.c.ts_ms < end_ms, *(table.c[k] == v for k, v in (where or {}).items())]
    stmt = select(*_ROW_COLUMNS).where(and_(*conds)).order_by(table.c.ts_ms.desc()).limit(limit)
    return [
        RequestRow(*row[:10], row[10] or 0, row[11] or 0, float(row[12] or 0), *row[13:])
        for row in session.execute(stmt)
    ]

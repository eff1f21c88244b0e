"""Per-minute and per-hour aggregates per cohort: what every command and detector reads.

Writers add a batch's partial aggregates with one upsert per table; counts add
up and latency histograms merge (``hist_merge``), so concurrent writers and
replicas never overwrite each other. Readers pick hourly rows for the whole
hours of a long window and minute rows for its ragged edges, so a query costs
what its window costs, not what the traffic was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, and_, func, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage import histogram
from storage.models import COHORT_DIMENSIONS, RollupHour, RollupMinute

MINUTE = RollupMinute.__table__
HOUR = RollupHour.__table__
SUMMED = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost_usd",
    "unknown_cost",
    "errors",
    "timeouts",
    "refusals",
    "retries",
    "latency_count",
    "latency_sum_ms",
)
HOURLY_FROM_SECONDS = 6 * 3600
"""Windows at least this long read hourly rows for their whole hours."""


_cohort_of = itemgetter(*COHORT_DIMENSIONS)
UPSERT_COLUMNS = ("bucket", *COHORT_DIMENSIONS, *SUMMED, "latency_hist")
_upsert_values = itemgetter(*UPSERT_COLUMNS)
WITH_TTFT = (*UPSERT_COLUMNS, "ttft_hist")
"""Ingestion's aggregates also carry a time-to-first-token histogram; writers without one leave it empty."""
_upsert_values_ttft = itemgetter(*WITH_TTFT)

Aggregate = tuple[Any, ...]
"""One rollup row to add, its values in ``UPSERT_COLUMNS`` order."""
Aggregates = tuple[list[Aggregate], list[Aggregate]]


def _fold(rows: Iterable[dict[str, Any]], fine: int, coarse: int | None) -> tuple[list[Aggregate], list[Aggregate]]:
    """One aggregate per (bucket, cohort) at one or two resolutions (bucket sizes in seconds).

    The ingest path runs this for every batch: each row becomes one tuple of its summed values
    (in ``SUMMED`` order, then its latency bucket) once, the groups only collect those tuples,
    and the sums are taken column by column in C at the end.
    """
    fine_groups: dict[tuple[int, tuple[str, ...]], list[tuple[Any, ...]]] = {}
    coarse_groups: dict[tuple[int, tuple[str, ...]], list[tuple[Any, ...]]] = {}
    bucket_of = histogram.bucket_of
    for r in rows:
        cost = r["cost_usd"]
        latency = r["latency_ms"]
        status = r["status"]
        values = (
            1,
            r["input_tokens"],
            r["output_tokens"],
            r["cached_tokens"],
            0.0 if cost is None else cost,
            1 if cost is None else 0,
            1 if status == "error" else 0,
            1 if status == "timeout" else 0,
            1 if r["refused"] else 0,
            1 if r["attempt"] > 1 else 0,
            0 if latency is None else 1,
            0.0 if latency is None else latency,
            None if latency is None else bucket_of(latency),
            None if (ttft := r.get("ttft_ms")) is None else bucket_of(ttft),
        )
        cohort = _cohort_of(r)
        seconds = r["ts_ms"] // 1000
        key = (seconds // fine * fine, cohort)
        group = fine_groups.get(key)
        if group is None:
            fine_groups[key] = [values]
        else:
            group.append(values)
        if coarse is not None:
            key = (seconds // coarse * coarse, cohort)
            group = coarse_groups.get(key)
            if group is None:
                coarse_groups[key] = [values]
            else:
                group.append(values)
    # Sorted: one lock order for every writer, so upserts cannot deadlock on PostgreSQL.
    return (
        [_total(key, fine_groups[key]) for key in sorted(fine_groups)],
        [_total(key, coarse_groups[key]) for key in sorted(coarse_groups)],
    )


def _total(key: tuple[int, tuple[str, ...]], group: list[tuple[Any, ...]]) -> Aggregate:
    bucket, cohort = key
    if len(group) == 1:
        values = group[0]
        return (bucket, *cohort, *values[:-2], _single_hist(values[-2]), _single_hist(values[-1]))
    *columns, latency_buckets, ttft_buckets = zip(*group, strict=True)
    return (bucket, *cohort, *map(sum, columns), _hist_of(latency_buckets), _hist_of(ttft_buckets))


def _hist_of(buckets: Iterable[int | None]) -> str:
    hist: dict[int, int] = {}
    for b in buckets:
        if b is not None:
            hist[b] = hist.get(b, 0) + 1
    return histogram.encode(hist)


@lru_cache(maxsize=4096)
def _single_hist(latency_bucket: int | None) -> str:
    # Most minute groups of a batch hold one request: their histogram is one of a few thousand strings.
    return histogram.encode({} if latency_bucket is None else {latency_bucket: 1})


def accumulate(rows: Iterable[dict[str, Any]], *, bucket_seconds: int) -> list[dict[str, Any]]:
    """Fold request rows (as inserted) into one aggregate per (bucket, cohort), as dicts."""
    aggregates, _ = _fold(rows, bucket_seconds, None)
    return [dict(zip(WITH_TTFT, a, strict=True)) for a in aggregates]


@cache
def _upsert_sql(dialect: str, table: str, ttft: bool = False) -> str:
    """Additive upsert as plain SQL (the same text works on SQLite and PostgreSQL): the
    ingest path runs it for hundreds of cohorts per batch, under the write lock."""
    mark = "?" if dialect == "sqlite" else "%s"
    columns = WITH_TTFT if ttft else UPSERT_COLUMNS
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMMED)
    merge_ttft = f", ttft_hist = hist_merge({table}.ttft_hist, excluded.ttft_hist)" if ttft else ""
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT (bucket, {', '.join(COHORT_DIMENSIONS)}) DO UPDATE SET {adds}, "
        f"latency_hist = hist_merge({table}.latency_hist, excluded.latency_hist){merge_ttft}"
    )


def upsert(conn: Connection, table: Table, aggregates: Sequence[Aggregate] | Sequence[dict[str, Any]]) -> None:
    """Add aggregates into the table, creating rows for cohorts not seen in that bucket yet.

    Each aggregate is a tuple in ``UPSERT_COLUMNS`` order, or ``WITH_TTFT`` order (as ``aggregate``
    returns them), or a dict keyed by those columns.
    """
    if not aggregates:
        return
    first = aggregates[0]
    if isinstance(first, dict):
        ttft = "ttft_hist" in first
        getter = _upsert_values_ttft if ttft else _upsert_values
        params = [getter(a) for a in aggregates]
    else:
        ttft = len(first) == len(WITH_TTFT)
        params = list(aggregates)
    conn.exec_driver_sql(_upsert_sql(conn.dialect.name, table.name, ttft), params)


def aggregate(rows: Sequence[dict[str, Any]]) -> Aggregates:
    """A batch's minute and hour aggregates, ready for ``add_aggregates``."""
    return _fold(rows, 60, 3600)


def add_aggregates(conn: Connection, aggregates: Aggregates) -> None:
    minute, hour = aggregates
    upsert(conn, MINUTE, minute)
    upsert(conn, HOUR, hour)


def add_requests(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Count freshly inserted requests into both resolutions."""
    add_aggregates(conn, aggregate(rows))


@dataclass
class CohortStats:
    """Totals of one cohort over a window; percentiles come from the merged histogram."""

    cohort: dict[str, str]
    totals: dict[str, float] = field(default_factory=dict)
    latency: dict[int, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> float:
        try:
            return self.__dict__["totals"][name]
        except KeyError:
            raise AttributeError(name) from None

    def percentile(self, q: float) -> float | None:
        return histogram.quantile(self.latency, q)


def _pieces(start: int, end: int) -> list[tuple[Table, int, int]]:
    if end - start < HOURLY_FROM_SECONDS:
        return [(MINUTE, start, end)]
    h0 = -(-start // 3600) * 3600
    h1 = end // 3600 * 3600
    pieces = [(HOUR, h0, h1)]
    if start < h0:
        pieces.append((MINUTE, start, h0))
    if h1 < end:
        pieces.append((MINUTE, h1, end))
    return pieces


def list_cohorts(
    *,
    session: Session,
    start: int,
    end: int,
    group_by: Sequence[str] = (),
    where: dict[str, str] | None = None,
    with_latency: bool = False,
) -> list[CohortStats]:
    """Aggregate [start, end) (epoch seconds, minute-aligned) grouped by cohort dimensions."""
    unknown = set(group_by) - set(COHORT_DIMENSIONS) or set(where or {}) - set(COHORT_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown cohort dimension(s): {', '.join(sorted(unknown))}")
    merged: dict[tuple, CohortStats] = {}
    for table, lo, hi in _pieces(start, end):
        dims = [table.c[d] for d in group_by]
        conds = [table.c.bucket >= lo, table.c.bucket < hi]
        conds += [table.c[k] == v for k, v in (where or {}).items()]
        stmt = select(*dims, *(func.sum(table.c[c]) for c in SUMMED)).where(and_(*conds)).group_by(*dims)
        for row in session.execute(stmt):
            key = tuple(row[: len(group_by)])
            stats = merged.setdefault(key, CohortStats(cohort=dict(zip(group_by, key, strict=True))))
            for name, value in zip(SUMMED, row[len(group_by) :], strict=True):
                stats.totals[name] = stats.totals.get(name, 0) + (value or 0)
        if with_latency:
            hist_stmt = select(*dims, table.c.latency_hist).where(and_(*conds))
            for row in session.execute(hist_stmt):
                key = tuple(row[: len(group_by)])
                stats = merged[key]
                stats.latency = histogram.merge(stats.latency, histogram.decode(row[-1]))
    return sorted(merged.values(), key=lambda s: -s.totals.get("cost_usd", 0))


def purge(*, session: Session, table: Table, before: int) -> int:
    result = session.execute(table.delete().where(table.c.bucket < before))
    return result.rowcount or 0

"""Queries behind the OTLP retrieval join: store spans, read a trace's spans, attach context late."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from storage.models import LLMRequest, RequestBody
from storage.otlp_models import OtlpSpan

SPANS = OtlpSpan.__table__


COLUMNS = ("tenant", "trace_id", "span_id", "kind", "start_ms", "end_ms", "request_id", "docs", "received_ms")


@cache
def _insert_sql(dialect: str) -> str:
    # Plain SQL with positional rows, as the requests insert: per-row parameter processing
    # in SQLAlchemy cost more than the insert itself on the OTLP path.
    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(COLUMNS))
    verb = "INSERT OR IGNORE" if dialect == "sqlite" else "INSERT"
    tail = "" if dialect == "sqlite" else " ON CONFLICT (tenant, trace_id, span_id) DO NOTHING"
    return f"{verb} INTO otlp_spans ({', '.join(COLUMNS)}) VALUES ({marks}){tail}"


def insert_spans(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Store spans (tuples in ``COLUMNS`` order) once: a resent batch or another replica's copy changes nothing."""
    if rows:
        conn.exec_driver_sql(_insert_sql(conn.dialect.name), list(rows))


def count_trace_spans(conn: Connection, trace_ids: Iterable[str]) -> int:
    """How many spans are kept for these trace ids: unchanged since a read means nothing arrived."""
    ids = sorted(set(trace_ids))
    if not ids:
        return 0
    return conn.execute(select(func.count()).select_from(SPANS).where(SPANS.c.trace_id.in_(ids))).scalar_one()


def list_trace_spans(conn: Connection, traces: Iterable[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """(tenant, trace_id, span_id, kind, start_ms, end_ms, request_id) of every kept span of these
    (tenant, trace id) pairs; documents are read apart, only for the retrievals a join needs."""
    wanted = set(traces)
    if not wanted:
        return []
    ids = sorted({trace for _, trace in wanted})
    c = SPANS.c
    stmt = select(c.tenant, c.trace_id, c.span_id, c.kind, c.start_ms, c.end_ms, c.request_id).where(
        c.trace_id.in_(ids)
    )
    return [tuple(row) for row in conn.execute(stmt) if (row[0], row[1]) in wanted]


def get_docs(conn: Connection, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
    """The stored documents (JSON) of these retrievals, keyed (tenant, trace_id, span_id)."""
    wanted = set(keys)
    if not wanted:
        return {}
    c = SPANS.c
    stmt = select(c.tenant, c.trace_id, c.span_id, c.docs).where(
        c.span_id.in_(sorted({k[2] for k in wanted})), c.docs.is_not(None)
    )
    return {(t, tr, sp): docs for t, tr, sp, docs in conn.execute(stmt) if (t, tr, sp) in wanted}


def set_contexts(conn: Connection, contexts: dict[tuple[str, str], str | None]) -> int:
    """Write the context of stored requests, keyed (tenant, request_id); returns how many were found.

    A request stored without prompt or answer has no body row yet: one is added for the context.
    """
    changed = 0
    for (tenant, request_id), context in contexts.items():
        found = conn.execute(
            select(LLMRequest.id, LLMRequest.ts_ms, RequestBody.id)
            .outerjoin(RequestBody, RequestBody.id == LLMRequest.id)
            .where(LLMRequest.tenant == tenant, LLMRequest.request_id == request_id)
        ).first()
        if found is None:
            continue
        request_pk, ts_ms, body_pk = found
        bodies = RequestBody.__table__
        if body_pk is None:
            if context is None:
                continue
            # Two replicas may add it at once: the second one writes the same context over the first's.
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = insert(bodies).values(id=request_pk, ts_ms=ts_ms, context=context)
            conn.execute(stmt.on_conflict_do_update(index_elements=[bodies.c.id], set_={"context": context}))
        else:
            conn.execute(bodies.update().where(bodies.c.id == request_pk).values(context=context))
        changed += 1
    return changed


def purge_spans(conn: Connection, *, before_ms: int) -> int:
    """Forget spans received before ``before_ms``: past the join window nothing can join them."""
    return conn.execute(delete(SPANS).where(SPANS.c.received_ms < before_ms)).rowcount or 0

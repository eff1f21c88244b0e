"""Queries behind the OTLP retrieval join: store spans, read a trace's spans, attach context late."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from storage.dialect import upsert_insert
from storage.models import LLMRequest, RequestBody
from storage.otlp_models import OtlpSpan

SPANS = OtlpSpan.__table__


def insert_spans(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store spans once: a resent batch or a second replica's copy changes nothing."""
    if rows:
        stmt = upsert_insert(conn, SPANS).on_conflict_do_nothing(index_elements=["tenant", "trace_id", "span_id"])
        conn.execute(stmt, list(rows))


def list_trace_spans(conn: Connection, traces: Iterable[tuple[str, str]]) -> list[OtlpSpan]:
    """Every kept span of these (tenant, trace id) pairs."""
    wanted = set(traces)
    if not wanted:
        return []
    ids = sorted({trace for _, trace in wanted})
    rows = conn.execute(select(SPANS).where(SPANS.c.trace_id.in_(ids))).mappings()
    return [OtlpSpan(**row) for row in rows if (row["tenant"], row["trace_id"]) in wanted]


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
            conn.execute(bodies.insert().values(id=request_pk, ts_ms=ts_ms, context=context))
        else:
            conn.execute(bodies.update().where(bodies.c.id == request_pk).values(context=context))
        changed += 1
    return changed


def purge_spans(conn: Connection, *, before_ms: int) -> int:
    """Forget spans received before ``before_ms``: past the join window nothing can join them."""
    return conn.execute(delete(SPANS).where(SPANS.c.received_ms < before_ms)).rowcount or 0

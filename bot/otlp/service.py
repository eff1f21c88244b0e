"""Export requests to stored events: map spans, join retrievals, store through the ingest service.

Storing goes through ``bot.ingest.service.ingest`` (validation, idempotency, rollups, one
transaction), exactly as ``POST /v1/events`` does. The join is kept in ``otlp_spans``:
spans are written only after the events they name are committed and the trace is read
again afterwards, so of two replicas storing a model call and its retrieval at the same
moment at least one sees the other and writes the context.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from bot.ingest.service import IngestConfig, Writer, ingest
from bot.otlp.attributes import as_dict
from bot.otlp.config import OtlpConfig
from bot.otlp.join import JoinSpan, assign, context_of
from bot.otlp.mapping import LlmCall, Rejected, Retrieval, map_span
from storage import otlp as span_store
from storage.engine import Database

KEEP_SPANS = timedelta(minutes=15)
"""How long spans stay joinable after arrival: the window is 30 s of span time, exporters retry for minutes."""
MAX_REASONS = 10


@dataclass
class ExportResult:
    accepted: int = 0
    duplicates: int = 0
    retrievals: int = 0
    dropped: int = 0
    reasons: list[str] = field(default_factory=list)
    rejected: int = 0
    unknown: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        """``partial_success.error_message``: the first reasons, then how many more."""
        shown = "; ".join(self.reasons[:MAX_REASONS])
        more = len(self.reasons) - MAX_REASONS
        return f"{shown}; and {more} more" if more > 0 else shown


@dataclass
class Mapped:
    calls: list[LlmCall] = field(default_factory=list)
    retrievals: list[Retrieval] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    dropped: int = 0


def map_request(request: Any, cfg: OtlpConfig, *, key_tenant: str | None) -> Mapped:
    """Every span of an export request sorted into model calls, retrievals, rejections and the rest."""
    out = Mapped()
    for resource_spans in request.resource_spans:
        resource = as_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                mapped = map_span(span, resource, cfg, key_tenant=key_tenant)
                if mapped is None:
                    out.dropped += 1
                elif isinstance(mapped, LlmCall):
                    out.calls.append(mapped)
                elif isinstance(mapped, Retrieval):
                    out.retrievals.append(mapped)
                else:
                    out.rejected.append(mapped)
    return out


def store(
    db: Database, mapped: Mapped, *, cfg: OtlpConfig, ingest_cfg: IngestConfig, writer: Writer, now: datetime
) -> ExportResult:
    """Store the model calls as events with their joined context; keep the spans for later joins."""
    result = ExportResult(dropped=mapped.dropped)
    for r in mapped.rejected:
        result.reasons.append(f"span {r.ref.span_id}: {r.reason}")
    window_ms = int(cfg.join_window_seconds * 1000)
    received_ms = int(now.timestamp() * 1000)
    mine = [_join_span(c) for c in mapped.calls] + [_join_span(r) for r in mapped.retrievals]
    traces = {(s.tenant, s.trace_id) for s in mine}
    before = _stored_spans(db, traces)
    joined = assign([*before, *mine], window_ms=window_ms)
    events = []
    for call, span in zip(mapped.calls, mine, strict=False):
        context = context_of(joined.get(span.key, []))
        events.append({**call.event, "context": context} if context else call.event)
    outcome = ingest(db, events, cfg=ingest_cfg, writer=writer, now=now)
    result.accepted, result.duplicates = outcome.accepted, outcome.duplicates
    refused: set[int] = set()
    for err in outcome.errors:
        refused.add(err.index)
        name = err.field.split("]", 1)[1].lstrip(".") if "]" in err.field else err.field
        result.reasons.append(f"span {mapped.calls[err.index].ref.span_id}: {name or 'event'} {err.message}")
    result.rejected = len(mapped.rejected) + len(refused)
    kept = [s for i, s in enumerate(mine[: len(mapped.calls)]) if i not in refused]
    kept += mine[len(mapped.calls) :]
    for i, call in enumerate(mapped.calls):
        if i not in refused:
            for name in call.unknown:
                result.unknown[name] = result.unknown.get(name, 0) + 1
    result.retrievals = len(mapped.retrievals)
    if kept:
        _keep_and_rejoin(db, kept, mine, joined, window_ms=window_ms, received_ms=received_ms)
    return result


def _keep_and_rejoin(
    db: Database,
    kept: list[JoinSpan],
    mine: list[JoinSpan],
    joined: dict[tuple[str, str, str], list[JoinSpan]],
    *,
    window_ms: int,
    received_ms: int,
) -> None:
    rows = [_row(s, received_ms) for s in kept]
    with db.write_session() as session:
        conn = session.connection()
        span_store.insert_spans(conn, rows)
        span_store.purge_spans(conn, before_ms=received_ms - int(KEEP_SPANS.total_seconds() * 1000))
    # Read again after our commit: a retrieval committed meanwhile by another replica is seen here.
    after = _stored_spans(db, {(s.tenant, s.trace_id) for s in kept})
    if not any(s.kind == "retrieval" for s in after):
        return
    rejoined = assign(after, window_ms=window_ms)
    my_keys = {s.key for s in mine}
    fixes: dict[tuple[str, str], str | None] = {}
    for span in after:
        if span.kind != "llm" or span.request_id is None:
            continue
        now_ctx = rejoined.get(span.key, [])
        was = joined.get(span.key, []) if span.key in my_keys else None
        changed = (
            [r.key for r in now_ctx] != [r.key for r in was]
            if was is not None
            else any(r.key in my_keys for r in now_ctx)
        )
        if changed:
            context = context_of(now_ctx)
            fixes[(span.tenant, span.request_id)] = orjson.dumps(context).decode() if context else None
    if fixes:
        with db.write_session() as session:
            span_store.set_contexts(session.connection(), fixes)


def _stored_spans(db: Database, traces: Iterable[tuple[str, str]]) -> list[JoinSpan]:
    with db.session() as session:
        rows = span_store.list_trace_spans(session.connection(), traces)
    return [
        JoinSpan(
            r.tenant,
            r.trace_id,
            r.span_id,
            r.kind,
            r.start_ms,
            r.end_ms,
            r.request_id,
            tuple(orjson.loads(r.docs)) if r.docs else (),
        )
        for r in rows
    ]


def _join_span(item: LlmCall | Retrieval) -> JoinSpan:
    if isinstance(item, LlmCall):
        return JoinSpan(
            item.tenant,
            item.ref.trace_id,
            item.ref.span_id,
            "llm",
            item.start_ms,
            item.start_ms,
            item.event["request_id"],
        )
    return JoinSpan(
        item.tenant,
        item.ref.trace_id,
        item.ref.span_id,
        "retrieval",
        item.start_ms,
        item.end_ms,
        None,
        tuple(item.docs),
    )


def _row(span: JoinSpan, received_ms: int) -> dict[str, Any]:
    return {
        "tenant": span.tenant,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "kind": span.kind,
        "start_ms": span.start_ms,
        "end_ms": span.end_ms,
        "request_id": span.request_id,
        "docs": orjson.dumps(list(span.docs)).decode() if span.docs else None,
        "received_ms": received_ms,
    }
